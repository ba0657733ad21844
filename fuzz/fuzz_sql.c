/*
** fuzz_sql.c: libFuzzer target for random sequences of SQL statements on a
** vec0 table, checked against a plain table that is told the same things.
**
** The input is a program: each byte chooses an operation (INSERT, INSERT OR
** REPLACE / IGNORE, UPDATE of each kind of column and of the rowid, DELETE,
** multi-row writes, KNN, BEGIN/COMMIT/ROLLBACK/SAVEPOINT/RELEASE/ROLLBACK
** TO, the maintenance commands, reads and writes through a second
** connection) and the next bytes its arguments.  Every write runs on the
** vec0 table v and on the model table m, in the same transaction; both must
** succeed or both fail, and after every step the two must hold the same
** rows.  A KNN query on the flat column must return exactly the brute-force
** answer over m (ties at equal distance may come in any order); on the HNSW
** column it must return min(k, matching rows) rows, each a matching row
** with its true distance, nearest first.  'integrity-check' must always pass.
** Each program runs three times: the HNSW column l2, cosine, then l2 on int8 codes.
** A failed check calls abort(), which libFuzzer reports with the input.
*/
#include "vec0Int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sqlite3_vec_init(sqlite3 *db, char **pzErrMsg, const sqlite3_api_routines *pApi);

#define DIM 3
#define MAX_ROWID 24
#define DB_URI "file:/fuzz_sql?vfs=memdb"

typedef struct Prog {
  const uint8_t *a;
  size_t n, i;
} Prog;

static uint8_t next(Prog *p) { return p->i < p->n ? p->a[p->i++] : 0; }

typedef struct Val {
  int eType; /* SQLITE_INTEGER, FLOAT, TEXT, BLOB, NULL */
  sqlite3_int64 i;
  double r;
  const char *z;
  unsigned char aBlob[DIM * 4];
} Val;

typedef struct State {
  sqlite3 *db;  /* connection A: every operation */
  sqlite3 *db2; /* connection B, opened on demand, kept while autocommit */
  int nSave;    /* savepoints open on A */
} State;

static void fail(const char *zFmt, ...) {
  va_list ap;
  va_start(ap, zFmt);
  fprintf(stderr, "fuzz_sql: ");
  vfprintf(stderr, zFmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  abort();
}

static void execOk(sqlite3 *db, const char *zSql) {
  if (sqlite3_exec(db, zSql, 0, 0, 0) != SQLITE_OK) {
    fail("%s: %s", zSql, sqlite3_errmsg(db));
  }
}

/* A vector whose float32 components are small multiples of 1/4: exact. */
static void vecVal(Prog *p, Val *v) {
  v->eType = SQLITE_BLOB;
  for (int i = 0; i < DIM; i++) {
    float f = (float)((int)(next(p) % 33) - 16) / 4.0f;
    memcpy(v->aBlob + 4 * i, &f, 4);
  }
}

static void intVal(Val *v, sqlite3_int64 i) {
  v->eType = SQLITE_INTEGER;
  v->i = i;
}

static void rowidVal(Prog *p, Val *v) { intVal(v, 1 + next(p) % MAX_ROWID); }

/* Metadata: cat integer (or NULL), tag text (or NULL). */
static void catVal(Prog *p, Val *v) {
  uint8_t b = next(p);
  if (b % 7 == 0) {
    v->eType = SQLITE_NULL;
  } else {
    intVal(v, b % 5);
  }
}

static void tagVal(Prog *p, Val *v) {
  static const char *az[] = {"a", "b", "c", 0};
  const char *z = az[next(p) % 4];
  v->eType = z ? SQLITE_TEXT : SQLITE_NULL;
  v->z = z;
}

static void auxVal(Prog *p, Val *v) {
  switch (next(p) % 5) {
    case 0: v->eType = SQLITE_NULL; break;
    case 1: intVal(v, 7); break;
    case 2: v->eType = SQLITE_FLOAT; v->r = 2.5; break;
    case 3: v->eType = SQLITE_TEXT; v->z = "x"; break;
    default: vecVal(p, v); break;
  }
}

static void bindAll(sqlite3_stmt *pStmt, const Val *aVal, int nVal) {
  for (int i = 0; i < nVal; i++) {
    const Val *v = &aVal[i];
    switch (v->eType) {
      case SQLITE_INTEGER: sqlite3_bind_int64(pStmt, i + 1, v->i); break;
      case SQLITE_FLOAT: sqlite3_bind_double(pStmt, i + 1, v->r); break;
      case SQLITE_TEXT: sqlite3_bind_text(pStmt, i + 1, v->z, -1, SQLITE_STATIC); break;
      case SQLITE_BLOB:
        sqlite3_bind_blob(pStmt, i + 1, v->aBlob, sizeof(v->aBlob), SQLITE_STATIC);
        break;
      default: sqlite3_bind_null(pStmt, i + 1);
    }
  }
}

/* FUZZ_TRACE=1 prints every statement with its values (to replay a crash). */
static void trace(sqlite3_stmt *pStmt) {
  static int bTrace = -1;
  if (bTrace < 0) bTrace = getenv("FUZZ_TRACE") != 0;
  if (bTrace) {
    char *z = sqlite3_expanded_sql(pStmt);
    fprintf(stderr, "%s;\n", z);
    sqlite3_free(z);
  }
}

/* Runs zFmt (with %s the table) with the values bound; returns the rc. */
static int run(sqlite3 *db, const char *zFmt, const char *zTable, const Val *aVal,
               int nVal) {
  char *zSql = sqlite3_mprintf(zFmt, zTable, zTable);
  sqlite3_stmt *pStmt = 0;
  int rc = sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0);
  if (rc != SQLITE_OK) fail("prepare %s: %s", zSql, sqlite3_errmsg(db));
  bindAll(pStmt, aVal, nVal);
  trace(pStmt);
  while ((rc = sqlite3_step(pStmt)) == SQLITE_ROW) {
  }
  sqlite3_finalize(pStmt);
  if (rc == SQLITE_DONE) rc = SQLITE_OK;
  if (rc != SQLITE_OK && sqlite3_stricmp(zTable, "v") == 0 &&
      strncmp(sqlite3_errmsg(db), "vec0: ", 6) != 0) {
    fail("%s: an error without the vec0 prefix: %s", zSql, sqlite3_errmsg(db));
  }
  sqlite3_free(zSql);
  return rc;
}

/* The same write on v and on m: both succeed or both fail. */
static void write2(sqlite3 *db, const char *zFmt, const Val *aVal, int nVal) {
  int rcV = run(db, zFmt, "v", aVal, nVal);
  const char *zErr = rcV ? sqlite3_mprintf("%s", sqlite3_errmsg(db)) : 0;
  int rcM = run(db, zFmt, "m", aVal, nVal);
  if ((rcV == SQLITE_OK) != (rcM == SQLITE_OK)) {
    fail("%s: vec0 rc %d (%s), model rc %d (%s)", zFmt, rcV, zErr ? zErr : "",
         rcM, rcM ? sqlite3_errmsg(db) : "");
  }
  sqlite3_free((void *)zErr);
}

/* Every row of a query as text. */
static char *rows(sqlite3 *db, const char *zSql) {
  sqlite3_str *pStr = sqlite3_str_new(0);
  sqlite3_stmt *pStmt = 0;
  int rc;
  if (sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0) != SQLITE_OK) {
    fail("prepare %s: %s", zSql, sqlite3_errmsg(db));
  }
  while ((rc = sqlite3_step(pStmt)) == SQLITE_ROW) {
    for (int i = 0; i < sqlite3_column_count(pStmt); i++) {
      int t = sqlite3_column_type(pStmt, i);
      if (t == SQLITE_BLOB) {
        const unsigned char *a = sqlite3_column_blob(pStmt, i);
        sqlite3_str_appendall(pStr, "x'");
        for (int j = 0; j < sqlite3_column_bytes(pStmt, i); j++) {
          sqlite3_str_appendf(pStr, "%02x", a[j]);
        }
        sqlite3_str_appendall(pStr, "'|");
      } else {
        sqlite3_str_appendf(pStr, "%d:%s|", t, (const char *)sqlite3_column_text(pStmt, i));
      }
    }
    sqlite3_str_appendall(pStr, "\n");
  }
  if (rc != SQLITE_DONE) fail("%s: %s", zSql, sqlite3_errmsg(db));
  sqlite3_finalize(pStmt);
  return sqlite3_str_finish(pStr);
}

static void compareTables(sqlite3 *db, const char *zWhen) {
  char *zV = rows(db, "SELECT rowid, emb, g, part, cat, tag, aux FROM v ORDER BY rowid");
  char *zM = rows(db, "SELECT rowid, emb, g, part, cat, tag, aux FROM m ORDER BY rowid");
  if (strcmp(zV ? zV : "", zM ? zM : "") != 0) {
    fail("after %s, v and m differ:\nv:\n%s\nm:\n%s", zWhen, zV, zM);
  }
  sqlite3_free(zV);
  sqlite3_free(zM);
}

/* Filters that both tables understand, in vec0's terms and the model's. */
static const char *azFilter[] = {
    "", "AND part = 1", "AND cat > 1", "AND cat != 2", "AND tag IN ('a', 'c')",
    "AND rowid IN (1, 2, 3, 5, 8, 13, 21)", "AND part = 2 AND tag = 'b'",
    "AND cat <= 2 AND part != 0", "AND cat IN (0, 4)", "AND tag >= 'b'",
};
#define N_FILTER ((int)(sizeof(azFilter) / sizeof(azFilter[0])))

typedef struct Hit {
  sqlite3_int64 id;
  double d;
} Hit;

static int collect(sqlite3 *db, const char *zSql, const Val *aVal, int nVal, Hit *a,
                   int nMax) {
  sqlite3_stmt *pStmt = 0;
  int n = 0, rc;
  if (sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0) != SQLITE_OK) {
    fail("prepare %s: %s", zSql, sqlite3_errmsg(db));
  }
  bindAll(pStmt, aVal, nVal);
  trace(pStmt);
  while ((rc = sqlite3_step(pStmt)) == SQLITE_ROW) {
    if (n == nMax) fail("%s: more than %d rows", zSql, nMax);
    a[n].id = sqlite3_column_int64(pStmt, 0);
    a[n].d = sqlite3_column_double(pStmt, 1);
    n++;
  }
  if (rc != SQLITE_DONE) fail("%s: %s", zSql, sqlite3_errmsg(db));
  sqlite3_finalize(pStmt);
  return n;
}

static int near(double a, double b) { return fabs(a - b) <= 1e-4 * (1 + fabs(b)); }

/*
** KNN on column zCol (emb: flat, g: hnsw) against the model: k, a filter and
** sometimes ef from the program.
*/
/* The metric of the HNSW column g (runProgram's). */
static const char *zMetricG = "l2";

static void knn(Prog *p, sqlite3 *db, const char *zCol) {
  /* a KNN puts a zero vector at cosine distance 1 (vec_distance_cosine: NULL) */
  const char *zMetric = strcmp(zCol, "g") == 0 && zMetricG[0] == 'c' ? "cosine" : "l2";
  const char *zDist = zMetric[0] == 'c' ? "coalesce(vec_distance_cosine(%s, ?1), 1.0)"
                                        : "vec_distance_l2(%s, ?1)";
  char *zD = sqlite3_mprintf(zDist, zCol);
  Val aVal[2];
  Hit aV[MAX_ROWID + 1], aM[MAX_ROWID + 1];
  int k = next(p) % 9, iFilter = next(p) % N_FILTER, bEf = next(p) & 1;
  int nV, nM, bExact = strcmp(zCol, "emb") == 0;
  char *zV, *zM;
  vecVal(p, &aVal[0]);
  intVal(&aVal[1], k);
  zV = sqlite3_mprintf("SELECT rowid, distance FROM v WHERE %s MATCH ?1 AND k = ?2 %s%s "
                       "ORDER BY distance",
                       zCol, azFilter[iFilter], bEf ? " AND ef = 40" : "");
  zM = sqlite3_mprintf("SELECT rowid, %s AS d FROM m WHERE 1 %s ORDER BY d, rowid LIMIT ?2",
                       zD, azFilter[iFilter]);
  nV = collect(db, zV, aVal, 2, aV, MAX_ROWID + 1);
  nM = collect(db, zM, aVal, 2, aM, MAX_ROWID + 1);
  if (nV != nM) fail("%s: %d rows, the model has %d", zV, nV, nM);
  for (int i = 0; i < nV; i++) {
    Hit *h = &aV[i];
    Hit one;
    char *zOne;
    if (i > 0 && h->d < aV[i - 1].d) fail("%s: not nearest first", zV);
    for (int j = 0; j < i; j++) {
      if (aV[j].id == h->id) fail("%s: row %lld twice", zV, h->id);
    }
    if (bExact && !near(h->d, aM[i].d)) {
      fail("%s: row %d at distance %g, brute force %g", zV, i, h->d, aM[i].d);
    }
    /* The row exists, passes the filter, and is at the distance given. */
    zOne = sqlite3_mprintf("SELECT rowid, %s FROM m WHERE rowid = %lld %s", zD, h->id,
                           azFilter[iFilter]);
    if (collect(db, zOne, aVal, 1, &one, 1) != 1) {
      fail("%s: row %lld is not a matching row", zV, h->id);
    }
    if (!near(h->d, one.d)) fail("%s: row %lld at %g, truly %g", zV, h->id, h->d, one.d);
    sqlite3_free(zOne);
  }
  sqlite3_free(zV);
  sqlite3_free(zM);
  sqlite3_free(zD);
}

static void integrity(sqlite3 *db) {
  if (sqlite3_exec(db, "INSERT INTO v(v) VALUES ('integrity-check')", 0, 0, 0)) {
    fail("integrity-check: %s", sqlite3_errmsg(db));
  }
}

static sqlite3 *openDb(void) {
  sqlite3 *db = 0;
  if (sqlite3_open_v2(DB_URI, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                       SQLITE_OPEN_URI, 0) != SQLITE_OK ||
      sqlite3_vec_init(db, 0, 0) != SQLITE_OK) {
    fail("open: %s", sqlite3_errmsg(db));
  }
  sqlite3_busy_timeout(db, 0);
  return db;
}

/* One row's worth of values: rowid, emb, g, part, cat, tag, aux. */
static void rowVals(Prog *p, Val *a) {
  rowidVal(p, &a[0]);
  vecVal(p, &a[1]);
  vecVal(p, &a[2]);
  intVal(&a[3], next(p) % 3);
  catVal(p, &a[4]);
  tagVal(p, &a[5]);
  auxVal(p, &a[6]);
}

#define INSERT_COLS "(rowid, emb, g, part, cat, tag, aux)"

static void step(State *s, Prog *p, uint8_t op) {
  sqlite3 *db = s->db;
  Val a[16];
  memset(a, 0, sizeof(a));
  switch (op % 20) {
    case 0:
    case 1:
      rowVals(p, a);
      write2(db, "INSERT INTO %s" INSERT_COLS " VALUES (?, ?, ?, ?, ?, ?, ?)", a, 7);
      break;
    case 2:
      rowVals(p, a);
      write2(db,
             op & 32 ? "INSERT OR REPLACE INTO %s" INSERT_COLS " VALUES (?, ?, ?, ?, ?, ?, ?)"
                     : "INSERT OR IGNORE INTO %s" INSERT_COLS " VALUES (?, ?, ?, ?, ?, ?, ?)",
             a, 7);
      break;
    case 3:
      vecVal(p, &a[0]);
      rowidVal(p, &a[1]);
      write2(db, op & 32 ? "UPDATE %s SET emb = ? WHERE rowid = ?"
                         : "UPDATE %s SET g = ? WHERE rowid = ?",
             a, 2);
      break;
    case 4:
      catVal(p, &a[0]);
      tagVal(p, &a[1]);
      intVal(&a[2], next(p) % 3);
      rowidVal(p, &a[3]);
      write2(db, "UPDATE %s SET cat = ?, tag = ?, part = ? WHERE rowid = ?", a, 4);
      break;
    case 5:
      auxVal(p, &a[0]);
      rowidVal(p, &a[1]);
      write2(db, "UPDATE %s SET aux = ? WHERE rowid = ?", a, 2);
      break;
    case 6:
      rowidVal(p, &a[0]);
      rowidVal(p, &a[1]);
      write2(db, op & 32 ? "UPDATE %s SET rowid = ? WHERE rowid = ?"
                         : "UPDATE OR REPLACE %s SET rowid = ? WHERE rowid = ?",
             a, 2);
      break;
    case 7:
      rowidVal(p, &a[0]);
      write2(db, "DELETE FROM %s WHERE rowid = ?", a, 1);
      break;
    case 8:
      catVal(p, &a[0]);
      write2(db, op & 32 ? "DELETE FROM %s WHERE cat = ?"
                         : "UPDATE %s SET cat = cat + 1, g = emb WHERE cat = ?",
             a, 1);
      break;
    case 9:
      /* Several rows in one statement: a conflict in the last undoes all. */
      rowVals(p, a);
      rowVals(p, a + 7);
      write2(db,
             "INSERT INTO %s" INSERT_COLS
             " VALUES (?, ?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?, ?)",
             a, 14);
      break;
    case 10:
    case 11:
      knn(p, db, "emb");
      break;
    case 12:
      knn(p, db, "g");
      break;
    case 13:
      if (sqlite3_get_autocommit(db)) {
        execOk(db, "BEGIN");
      } else if (op & 32) {
        if (sqlite3_exec(db, "COMMIT", 0, 0, 0) != SQLITE_OK) {
          fail("COMMIT: %s", sqlite3_errmsg(db));
        }
      } else {
        execOk(db, "ROLLBACK");
      }
      s->nSave = 0;
      break;
    case 14: {
      /* Savepoints: open one, or release / roll back to the last one. */
      char z[64];
      if (sqlite3_get_autocommit(db)) s->nSave = 0;
      if (s->nSave == 0 || (op & 32)) {
        if (s->nSave < 8) {
          sqlite3_snprintf(sizeof(z), z, "SAVEPOINT s%d", s->nSave);
          execOk(db, z);
          s->nSave++;
        }
      } else if (op & 64) {
        sqlite3_snprintf(sizeof(z), z, "ROLLBACK TO s%d", s->nSave - 1);
        execOk(db, z);
      } else {
        sqlite3_snprintf(sizeof(z), z, "RELEASE s%d", s->nSave - 1);
        s->nSave--;
        if (sqlite3_exec(db, z, 0, 0, 0) != SQLITE_OK) {
          fail("%s: %s", z, sqlite3_errmsg(db));
        }
      }
      if (sqlite3_get_autocommit(db)) s->nSave = 0;
      break;
    }
    case 15:
      integrity(db);
      break;
    case 16: {
      static const char *azCmd[] = {"optimize", "rebuild", "ef_search=3", "ef_search=200"};
      a[0].eType = SQLITE_TEXT;
      a[0].z = azCmd[next(p) % 4];
      if (run(db, "INSERT INTO %s(%s) VALUES (?)", "v", a, 1) != SQLITE_OK) {
        fail("command %s: %s", a[0].z, sqlite3_errmsg(db));
      }
      break;
    }
    case 17:
    case 18:
      /* The other connection reads, or writes (A must see it). */
      if (!sqlite3_get_autocommit(db)) break;
      if (s->db2 == 0) s->db2 = openDb();
      if (op % 20 == 17) {
        compareTables(s->db2, "a read through the second connection");
        knn(p, s->db2, "emb");
      } else {
        rowVals(p, a);
        write2(s->db2, "INSERT OR REPLACE INTO %s" INSERT_COLS
                       " VALUES (?, ?, ?, ?, ?, ?, ?)", a, 7);
        rowidVal(p, &a[0]);
        write2(s->db2, "DELETE FROM %s WHERE rowid = ?", a, 1);
        knn(p, db, "emb");
      }
      break;
    default:
      /* A statement that fails part-way through many rows. */
      write2(db, "UPDATE %s SET emb = CASE WHEN rowid > 12 THEN x'00' ELSE g END", a, 0);
      break;
  }
  compareTables(db, "a step");
}

/* The program on a new database, its HNSW column g with metric zMetric and
** the index options zOpt after m and ef_construction. */
static void runProgram(const uint8_t *aData, size_t nData, const char *zMetric,
                       const char *zOpt) {
  State s;
  Prog p;
  char *zSql;
  memset(&s, 0, sizeof(s));
  p.a = aData;
  p.n = nData;
  p.i = 0;
  s.db = openDb();
  zMetricG = zMetric;
  zSql = sqlite3_mprintf(
      "CREATE VIRTUAL TABLE v USING vec0(emb float[3] indexed by flat(), "
      "g float[3] distance_metric=%s indexed by hnsw(m=2, ef_construction=4%s), "
      "part integer partition key, cat integer, tag text, +aux);"
      "CREATE TABLE m(id INTEGER PRIMARY KEY, emb BLOB NOT NULL, g BLOB NOT NULL, "
      "part INTEGER NOT NULL, cat INTEGER, tag TEXT, aux, "
      "CHECK (length(emb) = 12 AND length(g) = 12))",
      zMetric, zOpt);
  execOk(s.db, zSql);
  sqlite3_free(zSql);
  while (p.i < p.n) step(&s, &p, next(&p));
  if (!sqlite3_get_autocommit(s.db) && sqlite3_exec(s.db, "COMMIT", 0, 0, 0)) {
    fail("final COMMIT: %s", sqlite3_errmsg(s.db));
  }
  compareTables(s.db, "the end");
  integrity(s.db);
  if (s.db2) {
    compareTables(s.db2, "the end, second connection");
    integrity(s.db2);
    sqlite3_close(s.db2);
  }
  sqlite3_close(s.db);
}

/*
** Every program three times: with an l2 graph, a cosine one (a float32
** cosine graph keeps its nodes' sums of squares: NORMS in
** vec0_index_hnswInt.h), and an l2 graph walked on int8 codes (trained by
** the program's 'rebuild' and 'optimize': its rows never reach
** VEC0_CODES_TRAIN), so that every seed covers all three.
*/
int LLVMFuzzerTestOneInput(const uint8_t *aData, size_t nData) {
  if (nData > 2000) return 0;
  runProgram(aData, nData, "l2", "");
  runProgram(aData, nData, "cosine", "");
  runProgram(aData, nData, "l2", ", quantizer=int8");
  return 0;
}
