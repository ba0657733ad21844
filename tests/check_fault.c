/*
** check_fault.c: out-of-memory at every allocation, through the SQL surface.
**
** A SQLITE_CONFIG_MALLOC shim sits under every sqlite3_malloc (the extension
** is linked statically, so its allocations reach it too); it counts live
** blocks and fails allocation number N and, in the persistent mode, every one
** after it.  Each test is one step (a CREATE, a write, a KNN query or a
** command) run against a copy of a prepared database, for N = 1, 2, ...
** until the step completes without reaching a fault.  After every run the
** step must have returned SQLITE_OK or SQLITE_NOMEM (a query that succeeded,
** the right rows), and with the allocator healthy again:
**   - the same connection sees exactly the rows before the step (it failed)
**     or after it (it succeeded): its cache agrees with the tables;
**   - 'integrity-check' passes (it reads the tables, not the cache) and KNN
**     equals a brute-force scan;
**   - a step that failed succeeds when run again on that connection;
**   - closing it frees every block allocated since the database was opened;
**   - a new connection then sees the rows after the step, sound.
** FAULT_STEP, FAULT_FROM and FAULT_STRIDE (below) narrow a run down;
** FAULT_MODE=transient|persistent runs one kind of fault only (make runs the
** two side by side).
*/
#include "vec0Int.h"

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int sqlite3_vec_init(sqlite3 *db, char **pzErrMsg, const sqlite3_api_routines *pApi);

/*
** ck_assert records every check it passes (a write to Check's pipe); this
** test verifies thousands of runs, so it only calls Check when one fails.
*/
#define CHECK(c, ...)                                                          \
  do {                                                                         \
    if (!(c)) ck_abort_msg(__VA_ARGS__);                                       \
  } while (0)

/* ---------------------------------------------------------------------- */
/* The allocator shim                                                      */

static sqlite3_mem_methods gReal;
static struct {
  long failAt;  /* 0: never fail */
  int bPersist; /* fail every allocation after failAt too */
  long nCall;   /* allocations seen since the fault was armed */
  long nFailed; /* allocations refused since armed */
  long nLive;   /* blocks allocated and not yet freed */
} gMem;

/* A place for a debugger's breakpoint: the first refused allocation. */
__attribute__((noinline)) static void faultHere(void) { __asm__ volatile(""); }

static int shouldFail(void) {
  if (gMem.failAt == 0) return 0;
  gMem.nCall++;
  if (gMem.nCall == gMem.failAt || (gMem.bPersist && gMem.nCall > gMem.failAt)) {
    if (gMem.nFailed++ == 0) faultHere();
    return 1;
  }
  return 0;
}

static void *shimMalloc(int n) {
  void *p;
  if (shouldFail()) return 0;
  p = gReal.xMalloc(n);
  if (p) gMem.nLive++;
  return p;
}
static void shimFree(void *p) {
  if (p) gMem.nLive--;
  gReal.xFree(p);
}
static void *shimRealloc(void *p, int n) {
  if (shouldFail()) return 0;
  return gReal.xRealloc(p, n);
}
static int shimSize(void *p) { return gReal.xSize(p); }
static int shimRoundup(int n) { return gReal.xRoundup(n); }
static int shimInit(void *p) { return gReal.xInit(p); }
static void shimShutdown(void *p) { gReal.xShutdown(p); }

static void shimInstall(void) {
  static sqlite3_mem_methods shim = {shimMalloc, shimFree,  shimRealloc,  shimSize,
                                     shimRoundup, shimInit, shimShutdown, 0};
  if (sqlite3_config(SQLITE_CONFIG_GETMALLOC, &gReal) != SQLITE_OK ||
      sqlite3_config(SQLITE_CONFIG_MALLOC, &shim) != SQLITE_OK ||
      /* Lookaside would serve small allocations without the shim. */
      sqlite3_config(SQLITE_CONFIG_LOOKASIDE, 0, 0) != SQLITE_OK ||
      sqlite3_initialize() != SQLITE_OK) {
    fprintf(stderr, "cannot install the allocator shim\n");
    exit(2);
  }
}

static void faultArm(long n, int bPersist) {
  gMem.failAt = n;
  gMem.bPersist = bPersist;
  gMem.nCall = 0;
  gMem.nFailed = 0;
}
static void faultDisarm(void) { gMem.failAt = 0; }

/* ---------------------------------------------------------------------- */
/* Helpers (plain malloc: they must not disturb the counts)                 */

typedef struct Str {
  char *z;
  size_t n, nAlloc;
} Str;

/* Appends n bytes (the verification runs thousands of times: no printf). */
static void strAppend(Str *s, const void *p, size_t n) {
  if (s->n + n + 1 > s->nAlloc) {
    s->nAlloc = (s->n + n + 1) * 2;
    s->z = realloc(s->z, s->nAlloc);
    if (s->z == 0) abort();
  }
  memcpy(s->z + s->n, p, n);
  s->n += n;
  s->z[s->n] = 0;
}

static void strHex(Str *s, const unsigned char *a, int n) {
  static const char hex[] = "0123456789abcdef";
  for (int j = 0; j < n; j++) {
    char x[2] = {hex[a[j] >> 4], hex[a[j] & 15]};
    strAppend(s, x, 2);
  }
}

static char gDir[256];

static void copyFile(const char *zFrom, const char *zTo) {
  char aBuf[65536];
  size_t n;
  FILE *in = fopen(zFrom, "rb"), *out = fopen(zTo, "wb");
  CHECK(in && out, "cannot copy %s to %s", zFrom, zTo);
  while ((n = fread(aBuf, 1, sizeof(aBuf), in)) > 0) {
    CHECK(fwrite(aBuf, 1, n, out) == n, "cannot write %s", zTo);
  }
  fclose(in);
  CHECK(fclose(out) == 0, "cannot write %s", zTo);
}

static sqlite3 *openDb(const char *zPath) {
  sqlite3 *db = 0;
  CHECK(sqlite3_open(zPath, &db) == SQLITE_OK, "cannot open %s", zPath);
  CHECK(sqlite3_vec_init(db, 0, 0) == SQLITE_OK, "cannot register vec0");
  CHECK(sqlite3_exec(db, "PRAGMA synchronous=OFF", 0, 0, 0) == SQLITE_OK, "pragma");
  return db;
}

static void execOk(sqlite3 *db, const char *zSql) {
  char *zErr = 0;
  int rc = sqlite3_exec(db, zSql, 0, 0, &zErr);
  CHECK(rc == SQLITE_OK, "%s: %s", zSql, zErr ? zErr : "?");
  sqlite3_free(zErr);
}

/* Every row of a query, one line per row, values as quote() shows them. */
static void queryRows(sqlite3 *db, const char *zSql, Str *pOut, int *pRc) {
  sqlite3_stmt *pStmt = 0;
  int rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0);
  while (rc == SQLITE_OK || rc == SQLITE_ROW) {
    rc = sqlite3_step(pStmt);
    if (rc != SQLITE_ROW) break;
    for (int i = 0; i < sqlite3_column_count(pStmt); i++) {
      const unsigned char *z;
      switch (sqlite3_column_type(pStmt, i)) {
        case SQLITE_BLOB:
          strAppend(pOut, "x'", 2);
          strHex(pOut, sqlite3_column_blob(pStmt, i), sqlite3_column_bytes(pStmt, i));
          strAppend(pOut, "'|", 2);
          break;
        case SQLITE_NULL:
          strAppend(pOut, "NULL|", 5);
          break;
        default:
          z = sqlite3_column_text(pStmt, i);
          if (z == 0) z = (const unsigned char *)"<nomem>";
          strAppend(pOut, z, strlen((const char *)z));
          strAppend(pOut, "|", 1);
      }
    }
    strAppend(pOut, "\n", 1);
  }
  if (rc == SQLITE_DONE) rc = SQLITE_OK;
  sqlite3_finalize(pStmt);
  *pRc = rc;
}

static char *queryOk(sqlite3 *db, const char *zSql) {
  Str s = {0, 0, 0};
  int rc;
  strAppend(&s, "", 0);
  queryRows(db, zSql, &s, &rc);
  CHECK(rc == SQLITE_OK, "%s: %s", zSql, sqlite3_errmsg(db));
  return s.z;
}

static int tableExists(sqlite3 *db) {
  char *z = queryOk(db, "SELECT count(*) FROM sqlite_schema WHERE name='t'");
  int b = strcmp(z, "1|\n") == 0;
  free(z);
  return b;
}

/* What the database holds: the schema, every row, the persisted settings. */
static char *fingerprint(sqlite3 *db) {
  Str s = {0, 0, 0};
  char *z = queryOk(db, "SELECT name FROM sqlite_schema ORDER BY name");
  strAppend(&s, z, strlen(z));
  if (strncmp(z, "t|\n", 3) == 0 || strstr(z, "\nt|\n")) {
    free(z);
    z = queryOk(db, "SELECT rowid, * FROM t ORDER BY rowid");
    strAppend(&s, z, strlen(z));
    free(z);
    z = queryOk(db, "SELECT key, hex(value) FROM t_config WHERE key LIKE 'ef_search%' "
                    "OR key LIKE 'recall%' ORDER BY key");
    strAppend(&s, z, strlen(z));
  }
  free(z);
  return s.z;
}

/*
** The table is sound: integrity-check passes, and KNN on every vector column
** (with an ef that makes the HNSW walk exhaustive on these small tables)
** returns what a brute-force scan returns.
*/
static void checkSound(sqlite3 *db, char cKind) {
  static const char *azPair[][2] = {
      {"SELECT rowid FROM t WHERE v MATCH '[0.1,0.2,-0.3,0.4]' AND k = 7 AND ef = 200",
       "SELECT rowid FROM t ORDER BY vec_distance_l2(v, '[0.1,0.2,-0.3,0.4]'), rowid "
       "LIMIT 7"},
      {"SELECT rowid FROM t WHERE q MATCH vec_int8('[10,-20,30,5]') AND k = 6 "
       "AND ef = 200",
       "SELECT rowid FROM t ORDER BY vec_distance_l2(q, vec_int8('[10,-20,30,5]')), "
       "rowid LIMIT 6"},
      /* C: every row re-ranked (rescore * k > rows), so the answer is exact */
      {"SELECT rowid FROM t WHERE v MATCH '[0.1,0.2,-0.3,0.4]' AND k = 7 AND rescore = 20",
       "SELECT rowid FROM t ORDER BY vec_distance_l2(v, '[0.1,0.2,-0.3,0.4]'), rowid "
       "LIMIT 7"},
      {"SELECT rowid FROM t WHERE w MATCH '[0.1,0.2,-0.3,0.4]' AND k = 6 AND ef = 200 "
       "AND rescore = 20",
       "SELECT rowid FROM t ORDER BY vec_distance_cosine(w, '[0.1,0.2,-0.3,0.4]'), rowid "
       "LIMIT 6"},
      {"SELECT rowid FROM t WHERE x MATCH '[0.1,0.2,-0.3,0.4]' AND k = 5 AND ef = 200 "
       "AND rescore = 20",
       "SELECT rowid FROM t ORDER BY vec_distance_l2(x, '[0.1,0.2,-0.3,0.4]'), rowid "
       "LIMIT 5"},
  };
  int iFirst = cKind == 'C' ? 2 : 0;
  int iEnd = cKind == 'A' || cKind == 'D' ? 1 : cKind == 'B' ? 2 : 5;
  if (!tableExists(db)) return;
  /* KNN first: integrity-check loads every node, which would hide a graph
  ** that a search cannot read. */
  for (int i = iFirst; i < iEnd; i++) {
    char *zKnn = queryOk(db, azPair[i][0]), *zBrute = queryOk(db, azPair[i][1]);
    CHECK(strcmp(zKnn, zBrute) == 0, "KNN differs from brute force:\n%.300s\nwant\n%.300s",
          zKnn, zBrute);
    free(zKnn);
    free(zBrute);
  }
  execOk(db, "INSERT INTO t(t) VALUES('integrity-check')");
}

/* ---------------------------------------------------------------------- */
/* The steps                                                               */

/* Two tables that between them have every kind of column. */
#define SCHEMA_A                                                               \
  "CREATE VIRTUAL TABLE t USING vec0(id integer primary key, v float[4] "     \
  "indexed by hnsw(m=4, ef_construction=16, quantizer=int8), "                 \
  "p integer partition key, "                                                 \
  "tag text, score float, +note text)"
/* 4000 rows: the recall measurement and the tombstones' rebuild. */
#define SCHEMA_D                                                               \
  "CREATE VIRTUAL TABLE t USING vec0(id integer primary key, v float[4] "     \
  "indexed by hnsw(m=4, ef_construction=16))"
#define SCHEMA_B                                                               \
  "CREATE VIRTUAL TABLE t USING vec0(key text primary key, v float[4] "       \
  "indexed by flat(), q int8[4] indexed by hnsw(m=4, ef_construction=8), "    \
  "p text partition key, n integer, ok boolean, +note)"
/* sqlite-vec 0.1.10's forms (an exact scan of int8 codes, the quantized
** graph) and the quantized graph in low-memory mode. */
#define SCHEMA_C                                                               \
  "CREATE VIRTUAL TABLE t USING vec0(id integer primary key, v float[4] "     \
  "indexed by rescore(quantizer=int8, oversample=2), w float[4] "              \
  "distance_metric=cosine indexed by diskann(neighbor_quantizer=binary, "     \
  "n_neighbors=8, search_list_size=16), x float[4] indexed by hnsw(m=4, "     \
  "ef_construction=16, quantizer=int8, low_memory=1), p integer partition "  \
  "key, tag text)"

/* 70 rows of table A from a recursive CTE, ids from base + 1 */
#define BULK_ROWS(base)                                                        \
  "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE "      \
  "i < 70) SELECT " #base " + i, printf('[%.3f,%.3f,%.3f,%.3f]', "            \
  "(i * 37 % 101) / 101.0, (i * 53 % 97) / 97.0 - 0.5, (i * 29 % 89) / 89.0, " \
  "(i * 71 % 83) / 83.0 - 0.5), i % 3, 'bulk' FROM c"

typedef struct Step {
  const char *zName;
  char cSchema;      /* the template's table: 'A', 'B', 'C', 'D', or 0 for none */
  const char *zSql;  /* the step: a script, or one SELECT if bQuery */
  int eKind;         /* STEP_WRITE, STEP_QUERY or STEP_COMMAND */
} Step;
#define STEP_WRITE 0   /* changes what the table holds */
#define STEP_QUERY 1   /* one SELECT: its rows are compared */
#define STEP_COMMAND 2 /* may change nothing SELECT can see */

static const Step aStep[] = {
    {"create-hnsw", 0, SCHEMA_A, STEP_WRITE},
    {"create-flat-textkey", 0, SCHEMA_B, STEP_WRITE},
    {"insert-a", 'A',
     "INSERT INTO t(id, v, p, tag, score, note) VALUES "
     "(100, '[0.5,0.5,0.5,0.5]', 1, 'x', 1.5, 'n')", STEP_WRITE},
    {"insert-b", 'B',
     "INSERT INTO t(key, v, q, p, n, ok, note) VALUES "
     "('new', '[0.5,0.5,0.5,0.5]', vec_int8('[1,2,3,4]'), 'p1', 7, 1, 'n')", STEP_WRITE},
    {"insert-txn-a", 'A',
     "BEGIN;"
     "INSERT INTO t(id, v, p, tag) VALUES (101, '[0.1,0.1,0.1,0.1]', 0, 'a');"
     "INSERT INTO t(v, p, tag, note) VALUES ('[0.2,-0.1,0.1,0.9]', 1, 'b', 'x');"
     "INSERT INTO t(id, v, p) VALUES (103, '[-0.4,0.1,0.3,0.1]', 2);"
     "COMMIT;", STEP_WRITE},
    {"insert-txn-b", 'B',
     "BEGIN;"
     "INSERT INTO t(key, v, q, p) VALUES ('n1', '[0.1,0.1,0.1,0.1]', "
     "vec_int8('[1,1,1,1]'), 'p0');"
     "INSERT INTO t(key, v, q, p, n) VALUES ('n2', '[0.2,-0.1,0.1,0.9]', "
     "vec_int8('[9,-9,9,-9]'), 'p2', 3);"
     "COMMIT;", STEP_WRITE},
    {"insert-select-a", 'A',
     "INSERT INTO t(id, v, p, tag) SELECT id + 1000, v, p, tag FROM t "
     "WHERE id < 6", STEP_WRITE},
    /* 70 rows at once: one queued batch (vec0_index_hnsw.c, QUEUE), built at
    ** the commit; in the transaction, built by the KNN query in its middle,
    ** then a delete, and 70 more built at COMMIT */
    {"insert-bulk-a", 'A', "INSERT INTO t(id, v, p, tag) " BULK_ROWS(500), STEP_WRITE},
    {"insert-bulk-txn-a", 'A',
     "BEGIN; INSERT INTO t(id, v, p, tag) " BULK_ROWS(500) ";"
     "SELECT id FROM t WHERE v MATCH '[0.3,-0.2,0.1,0.5]' AND k = 3;"
     "DELETE FROM t WHERE id = 505;"
     "INSERT INTO t(id, v, p, tag) " BULK_ROWS(600) "; COMMIT;", STEP_WRITE},
    {"update-vector-a", 'A', "UPDATE t SET v = '[0.9,-0.9,0.9,-0.9]' WHERE id = 7", STEP_WRITE},
    {"update-vector-b", 'B',
     "UPDATE t SET v = '[0.9,-0.9,0.9,-0.9]', q = vec_int8('[5,5,5,5]') "
     "WHERE key = 'k7'", STEP_WRITE},
    {"update-metadata-a", 'A',
     "UPDATE t SET tag = 'zz', score = 2.5, p = 2, note = 'changed' WHERE id = 8", STEP_WRITE},
    {"update-metadata-b", 'B', "UPDATE t SET n = 5, ok = 0, p = 'p9' WHERE key = 'k8'",
     STEP_WRITE},
    {"update-key-a", 'A', "UPDATE t SET id = 200 WHERE id = 9", STEP_WRITE},
    {"update-key-b", 'B', "UPDATE t SET key = 'renamed' WHERE key = 'k9'", STEP_WRITE},
    {"update-many-a", 'A', "UPDATE t SET v = vec_add(v, '[0.01,0,0,0]') WHERE p = 1",
     STEP_WRITE},
    {"delete-a", 'A', "DELETE FROM t WHERE id = 10", STEP_WRITE},
    {"delete-b", 'B', "DELETE FROM t WHERE key = 'k10'", STEP_WRITE},
    {"replace-a", 'A',
     "INSERT OR REPLACE INTO t(id, v, p, tag) VALUES (11, '[0,0,0,1]', 0, 'r')", STEP_WRITE},
    {"replace-b", 'B',
     "INSERT OR REPLACE INTO t(key, v, q, p) VALUES ('k11', '[0,0,0,1]', "
     "vec_int8('[0,0,0,1]'), 'p0')", STEP_WRITE},
    {"savepoint-a", 'A',
     "BEGIN; INSERT INTO t(id, v, p) VALUES (300, '[1,1,1,1]', 0);"
     "SAVEPOINT s; DELETE FROM t WHERE id = 12; ROLLBACK TO s; RELEASE s;"
     "DELETE FROM t WHERE id = 13; COMMIT;", STEP_WRITE},
    {"knn-hnsw", 'A',
     "SELECT id, round(distance, 4) FROM t WHERE v MATCH '[0.3,-0.2,0.1,0.5]' "
     "AND k = 5 AND ef = 100", STEP_QUERY},
    {"knn-hnsw-filtered", 'A',
     "SELECT id, round(distance, 4) FROM t WHERE v MATCH '[0.3,-0.2,0.1,0.5]' "
     "AND k = 4 AND p = 1 AND tag != 'tag3'", STEP_QUERY},
    {"knn-flat-filtered", 'B',
     "SELECT key, round(distance, 4), note FROM t WHERE v MATCH '[0.3,-0.2,0.1,0.5]' "
     "AND k = 4 AND p IN ('p0', 'p2') AND n >= 2", STEP_QUERY},
    {"knn-int8-hnsw", 'B',
     "SELECT key, distance FROM t WHERE q MATCH vec_int8('[3,-2,1,5]') AND k = 5", STEP_QUERY},
    {"knn-rowid-in", 'A',
     "SELECT id, round(distance, 4) FROM t WHERE v MATCH '[0.3,-0.2,0.1,0.5]' "
     "AND k = 3 AND id IN (1, 2, 3, 4, 5, 99)", STEP_QUERY},
    /* the scalar functions on vectors longer than a table takes, and on
    ** stored NaN / infinity, which only the showing functions accept */
    {"functions-long", 'A',
     "SELECT vec_distance_l1(vec_int8(zeroblob(20000)), vec_int8(zeroblob(20000))), "
     "round(vec_distance_cosine(v, v), 3), length(vec_to_json(vec_slice(v, 100, 9000))), "
     "(SELECT count(*) FROM vec_each(v)), vec_to_json(X'0000C07F0000807F'), "
     "vec_length(X'000080FF') FROM (SELECT vec_f32('[' || "
     "substr(replace(hex(zeroblob(9000)), '00', '1.,'), 1, 26999) || ']') AS v)", STEP_QUERY},
    {"integrity-check-a", 'A', "INSERT INTO t(t) VALUES('integrity-check')", STEP_COMMAND},
    {"integrity-check-b", 'B', "INSERT INTO t(t) VALUES('integrity-check')", STEP_COMMAND},
    {"optimize-a", 'A', "INSERT INTO t(t) VALUES('optimize')", STEP_COMMAND},
    {"rebuild-b", 'B', "INSERT INTO t(t) VALUES('rebuild')", STEP_COMMAND},
    {"ef-search-a", 'A', "INSERT INTO t(t) VALUES('ef_search=20')", STEP_WRITE},
    /* D: 4000 rows, 999 deleted: the recall is measured (vec0_recall.c) */
    {"recall-d", 'D', "INSERT INTO t(t) VALUES('recall=0.9')", STEP_WRITE},
    /* the 1000th tombstone: the commit rebuilds the graph and measures */
    {"tombstones-d", 'D', "DELETE FROM t WHERE id = 4000", STEP_WRITE},
    {"create-v010", 0, SCHEMA_C, STEP_WRITE},
    {"insert-txn-c", 'C',
     "BEGIN;"
     "INSERT INTO t(id, v, w, x, p, tag) VALUES (101, '[0.1,0.1,0.1,0.1]', "
     "'[0.1,0.2,0.3,0.4]', '[0.4,0.3,0.2,0.1]', 0, 'a');"
     "INSERT INTO t(v, w, x, p) VALUES ('[0.2,-0.1,0.1,0.9]', '[-0.5,0.1,0.1,0.9]', "
     "'[0.5,0.5,0.1,0.9]', 1);"
     "COMMIT;", STEP_WRITE},
    {"update-vector-c", 'C',
     "UPDATE t SET v = '[0.9,-0.9,0.9,-0.9]', w = '[0.9,0.9,-0.9,0.9]', "
     "x = '[0.3,0.3,0.3,-0.3]' WHERE id = 7",
     STEP_WRITE},
    {"delete-c", 'C', "DELETE FROM t WHERE id IN (10, 11)", STEP_WRITE},
    {"savepoint-c", 'C',
     "BEGIN; INSERT INTO t(id, v, w, x, p) VALUES (300, '[1,1,1,1]', '[1,1,1,1]', "
     "'[1,1,1,1]', 0);"
     "SAVEPOINT s; DELETE FROM t WHERE id = 12; ROLLBACK TO s; RELEASE s;"
     "DELETE FROM t WHERE id = 13; COMMIT;", STEP_WRITE},
    {"knn-rescore", 'C',
     "SELECT id, round(distance, 4) FROM t WHERE v MATCH '[0.3,-0.2,0.1,0.5]' "
     "AND k = 4 AND p = 1 AND tag != 'tag3'", STEP_QUERY},
    {"knn-rescore-override", 'C',
     "SELECT id, round(distance, 4), rescore FROM t WHERE v MATCH '[0.3,-0.2,0.1,0.5]' "
     "AND k = 5 AND rescore = 3", STEP_QUERY},
    {"knn-diskann", 'C',
     "SELECT id, round(distance, 4) FROM t WHERE w MATCH '[0.3,-0.2,0.1,0.5]' "
     "AND k = 5 AND ef = 50", STEP_QUERY},
    {"knn-lowmem", 'C',
     "SELECT id, round(distance, 4) FROM t WHERE x MATCH '[0.3,-0.2,0.1,0.5]' "
     "AND k = 5 AND p = 2", STEP_QUERY},
    {"oversample-c", 'C', "INSERT INTO t(t) VALUES('oversample=3')", STEP_COMMAND},
    {"integrity-check-c", 'C', "INSERT INTO t(t) VALUES('integrity-check')", STEP_COMMAND},
    {"optimize-c", 'C', "INSERT INTO t(t) VALUES('optimize')", STEP_COMMAND},
    /* the whole cache read at once, then written to: a fault in the fill
    ** leaves the cache as the tables say */
    {"warm-a", 'A', "INSERT INTO t(t) VALUES('warm')", STEP_COMMAND},
    {"warm-b", 'B', "INSERT INTO t(t) VALUES('warm')", STEP_COMMAND},
    {"warm-then-write-a", 'A',
     "BEGIN;"
     "INSERT INTO t(t) VALUES('warm');"
     "UPDATE t SET v = '[0.9,-0.9,0.9,-0.9]' WHERE id = 7;"
     "INSERT INTO t(id, v, p, tag) VALUES (100, '[0.5,0.5,0.5,0.5]', 1, 'x');"
     "COMMIT;", STEP_WRITE},
};
#define N_STEP ((int)(sizeof(aStep) / sizeof(aStep[0])))

/* A deterministic vector component in [-1, 1]. */
static double component(unsigned *pSeed) {
  *pSeed = *pSeed * 1103515245u + 12345u;
  return ((double)((*pSeed >> 8) & 0xffff) / 32767.5) - 1.0;
}

/* The template database: the table, 40 rows, 5 of them deleted again. */
static void makeTemplate(const char *zPath, char cSchema) {
  sqlite3 *db;
  unsigned seed = 7;
  unlink(zPath);
  db = openDb(zPath);
  if (cSchema == 'D') {
    execOk(db, SCHEMA_D);
    execOk(db, "BEGIN");
    for (int i = 1; i <= 4000; i++) {
      char zSql[256];
      double a = component(&seed), b = component(&seed), c = component(&seed),
             d = component(&seed);
      sqlite3_snprintf(sizeof(zSql), zSql,
                       "INSERT INTO t(id, v) VALUES (%d, '[%.4f,%.4f,%.4f,%.4f]')", i, a,
                       b, c, d);
      execOk(db, zSql);
    }
    execOk(db, "COMMIT");
    execOk(db, "DELETE FROM t WHERE id % 4 = 0 AND id < 3997");
  } else if (cSchema) {
    execOk(db, cSchema == 'A' ? SCHEMA_A : cSchema == 'B' ? SCHEMA_B : SCHEMA_C);
    execOk(db, "BEGIN");
    for (int i = 1; i <= 40; i++) {
      char zV[128], zSql[512];
      double a = component(&seed), b = component(&seed), c = component(&seed),
             d = component(&seed);
      sqlite3_snprintf(sizeof(zV), zV, "[%.4f,%.4f,%.4f,%.4f]", a, b, c, d);
      if (cSchema == 'C') {
        sqlite3_snprintf(sizeof(zSql), zSql,
                         "INSERT INTO t(id, v, w, x, p, tag) VALUES "
                         "(%d, '%s', '[%.4f,%.4f,%.4f,%.4f]', '[%.4f,%.4f,%.4f,%.4f]', "
                         "%d, 'tag%d')",
                         i, zV, d, c, b, a, b, a, d, c, i % 3, i % 5);
      } else if (cSchema == 'A') {
        sqlite3_snprintf(sizeof(zSql), zSql,
                         "INSERT INTO t(id, v, p, tag, score, note) VALUES "
                         "(%d, '%s', %d, 'tag%d', %d.5, %s)",
                         i, zV, i % 3, i % 5, i, i % 4 ? "'note'" : "NULL");
      } else {
        sqlite3_snprintf(sizeof(zSql), zSql,
                         "INSERT INTO t(key, v, q, p, n, ok, note) VALUES "
                         "('k%d', '%s', vec_int8('[%d,%d,%d,%d]'), 'p%d', %d, %d, "
                         "'note%d')",
                         i, zV, (int)(a * 100), (int)(b * 100), (int)(c * 100),
                         (int)(d * 100), i % 3, i % 7, i % 2, i);
      }
      execOk(db, zSql);
    }
    execOk(db, "COMMIT");
    execOk(db, cSchema != 'B' ? "DELETE FROM t WHERE id IN (3, 17, 18, 25, 40)"
                              : "DELETE FROM t WHERE key IN ('k3', 'k17', 'k18', "
                                "'k25', 'k40')");
    /* rebuild trains A's quantizer: its searches then walk on int8 codes
    ** (a table trains by itself only at 1000 rows) */
    if (cSchema != 'B') execOk(db, "INSERT INTO t(t) VALUES('rebuild')");
  }
  CHECK(sqlite3_close(db) == SQLITE_OK, "close");
}

/* Runs the step; for a query, its rows go to *pzRows (malloc'd). */
static int runStep(sqlite3 *db, const Step *pStep, char **pzRows) {
  int rc;
  *pzRows = 0;
  if (pStep->eKind == STEP_QUERY) {
    Str s = {0, 0, 0};
    strAppend(&s, "", 0);
    queryRows(db, pStep->zSql, &s, &rc);
    *pzRows = s.z;
  } else {
    rc = sqlite3_exec(db, pStep->zSql, 0, 0, 0);
  }
  return rc;
}


static void runFaults(const Step *pStep, int bPersist) {
  char zTemplate[300], zWork[300];
  char *zBefore, *zAfter, *zRows = 0, *zWant = 0;
  char cKind = pStep->cSchema ? pStep->cSchema
                              : strcmp(pStep->zSql, SCHEMA_A) == 0 ? 'A'
                              : strcmp(pStep->zSql, SCHEMA_B) == 0 ? 'B'
                                                                   : 'C';
  sqlite3 *db;
  long nBase, n, nFrom, nTotalFailed = 0, nRuns = 0;
  long nStride = getenv("FAULT_STRIDE") ? atol(getenv("FAULT_STRIDE")) : 1;
  /* the bulk steps make thousands of allocations, ~40 a row: every 7th */
  if (strncmp(pStep->zName, "insert-bulk", 11) == 0) nStride *= 7;
  int rc;
  /* table D's steps read 3000 rows and nodes (~13 000 allocations): every 97th */
  if (pStep->cSchema == 'D') nStride *= 97;

  sqlite3_snprintf(sizeof(zTemplate), zTemplate, "%s/template.db", gDir);
  sqlite3_snprintf(sizeof(zWork), zWork, "%s/work.db", gDir);
  makeTemplate(zTemplate, pStep->cSchema);

  /* The step without faults gives the state after it. */
  copyFile(zTemplate, zWork);
  db = openDb(zWork);
  zBefore = fingerprint(db);
  checkSound(db, cKind);
  rc = runStep(db, pStep, &zWant);
  CHECK(rc == SQLITE_OK, "%s: %s", pStep->zName, sqlite3_errmsg(db));
  zAfter = fingerprint(db);
  checkSound(db, cKind);
  sqlite3_close(db);
  CHECK(pStep->eKind != STEP_WRITE || strcmp(zBefore, zAfter) != 0,
        "%s changes nothing", pStep->zName);

  nBase = gMem.nLive;
  /*
  ** FAULT_FROM=n starts at allocation n (to debug one fault); FAULT_STRIDE=s
  ** tries every s-th allocation only (make test, the sanitizer build).  A
  ** sample starts at an offset that differs from step to step and between
  ** the transient and persistent runs, so that together they reach
  ** allocations of every residue, not only the 1st, (s+1)-th, ...
  */
  nFrom = 1 + ((long)(pStep - aStep) * 5 + bPersist * 3) % nStride;
  if (getenv("FAULT_FROM")) nFrom = atol(getenv("FAULT_FROM"));
  for (n = nFrom;; n += nStride) {
    char *zNow;
    long nFailed;
    copyFile(zTemplate, zWork);
    db = openDb(zWork);
    faultArm(n, bPersist);
    rc = runStep(db, pStep, &zRows);
    nFailed = gMem.nFailed;
    faultDisarm();
    nTotalFailed += nFailed;
    nRuns++;
    CHECK(rc == SQLITE_OK || rc == SQLITE_NOMEM, "%s: fault at %ld: rc %d (%s)",
          pStep->zName, n, rc, sqlite3_errmsg(db));
    CHECK(rc != SQLITE_OK || pStep->eKind != STEP_QUERY || strcmp(zRows, zWant) == 0,
          "%s: fault at %ld: rows\n%.300s\nwant\n%.300s", pStep->zName, n, zRows, zWant);
    free(zRows);
    if (!sqlite3_get_autocommit(db)) execOk(db, "ROLLBACK");

    /* This connection at once: its cache must agree with the tables. */
    zNow = fingerprint(db);
    CHECK(strcmp(zNow, rc == SQLITE_OK ? zAfter : zBefore) == 0,
          "%s: fault at %ld (rc %d): the table does not hold the rows %s the step",
          pStep->zName, n, rc, rc == SQLITE_OK ? "after" : "before");
    free(zNow);
    checkSound(db, cKind);
    if (rc != SQLITE_OK) {
      /* The failed connection can still do the step. */
      rc = runStep(db, pStep, &zRows);
      CHECK(rc == SQLITE_OK, "%s: fault at %ld, then again: %s", pStep->zName, n,
            sqlite3_errmsg(db));
      CHECK(pStep->eKind != STEP_QUERY || strcmp(zRows, zWant) == 0,
            "%s: fault at %ld, then again: other rows", pStep->zName, n);
      free(zRows);
    }
    CHECK(sqlite3_close(db) == SQLITE_OK, "close");
    CHECK(gMem.nLive == nBase, "%s: fault at %ld: %ld blocks leaked", pStep->zName, n,
          gMem.nLive - nBase);
    db = openDb(zWork);
    zNow = fingerprint(db);
    CHECK(strcmp(zNow, zAfter) == 0, "%s: fault at %ld: reopened, not the rows after",
          pStep->zName, n);
    free(zNow);
    checkSound(db, cKind);
    CHECK(sqlite3_close(db) == SQLITE_OK, "close");
    if (nFailed == 0) break; /* the step no longer reaches allocation n */
  }
  printf("fault: %-20s %-10s %5ld runs, %7ld allocations failed\n", pStep->zName,
         bPersist ? "persistent" : "transient", nRuns, nTotalFailed);
  fflush(stdout);
  free(zBefore);
  free(zAfter);
  free(zWant);
}

/* FAULT_STEP=name runs only that step (to debug one), FAULT_MODE one kind. */
static int stepWanted(const Step *pStep, int bPersist) {
  const char *z = getenv("FAULT_STEP"), *zMode = getenv("FAULT_MODE");
  if (zMode && strcmp(zMode, bPersist ? "persistent" : "transient") != 0) return 0;
  return z == 0 || strcmp(z, pStep->zName) == 0;
}

START_TEST(test_fault_transient) {
  if (stepWanted(&aStep[_i], 0)) runFaults(&aStep[_i], 0);
}
END_TEST

START_TEST(test_fault_persistent) {
  if (stepWanted(&aStep[_i], 1)) runFaults(&aStep[_i], 1);
}
END_TEST

/* The shim itself: a fault is reported, and the counts balance. */
START_TEST(test_shim) {
  sqlite3 *db;
  long nBase = gMem.nLive;
  void *p;
  faultArm(1, 0);
  p = sqlite3_malloc(10);
  faultDisarm();
  ck_assert_ptr_null(p);
  p = sqlite3_malloc(10);
  ck_assert_ptr_nonnull(p);
  ck_assert_int_eq(gMem.nLive, nBase + 1);
  sqlite3_free(p);
  ck_assert_int_eq(gMem.nLive, nBase);
  /* A leaked block is seen. */
  db = openDb(":memory:");
  ck_assert_int_gt(gMem.nLive, nBase);
  sqlite3_close(db);
  ck_assert_int_eq(gMem.nLive, nBase);
}
END_TEST

int main(void) {
  Suite *s = suite_create("fault");
  TCase *tc = tcase_create("oom");
  SRunner *sr;
  int nFail;
  const char *zTmp = getenv("TMPDIR");
  shimInstall();
  snprintf(gDir, sizeof(gDir), "%s/vec0-fault-XXXXXX", zTmp ? zTmp : "/tmp");
  if (mkdtemp(gDir) == 0) return 2;
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, test_shim);
  tcase_add_loop_test(tc, test_fault_transient, 0, N_STEP);
  tcase_add_loop_test(tc, test_fault_persistent, 0, N_STEP);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  nFail = srunner_ntests_failed(sr);
  srunner_free(sr);
  {
    char z[400];
    snprintf(z, sizeof(z), "rm -rf '%s'", gDir);
    if (system(z) != 0) nFail++;
  }
  return nFail == 0 ? 0 : 1;
}
