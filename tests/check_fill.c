/*
** check_fill.c: the fill of a reopened table's vector cache on a helper
** thread with its own read-only connection (vec0_storage_fill.c), in C so
** that `make test-tsan` runs it under ThreadSanitizer with the extension
** built in.  The caller queries and writes while the helper reads; the
** results are a warm connection's, the cache ends complete and equal to
** the table, and a connection closed while its helper runs leaves no
** thread.  (tests/test_coldstart.py checks the same through Python.)
*/
#include "vec0Int.h"
#include "vec0_hnsw.h"
#include "vec0_mem.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int sqlite3_vec_init(sqlite3 *db, char **pzErrMsg, const sqlite3_api_routines *pApi);

#define DIM 256
#define NROW 5000 /* 5 MB of vectors: large enough for a helper (4 MiB) */
#define K 5

static char zPath[256];

static void execOk(sqlite3 *db, const char *zSql) {
  char *zErr = 0;
  int rc = sqlite3_exec(db, zSql, 0, 0, &zErr);
  ck_assert_msg(rc == SQLITE_OK, "%s: %s", zSql, zErr ? zErr : "?");
  sqlite3_free(zErr);
}

/* A deterministic vector of row r. */
static void rowVector(int r, float *a) {
  unsigned s = (unsigned)r * 2654435761u + 7u;
  for (int i = 0; i < DIM; i++) {
    s = s * 1103515245u + 12345u;
    a[i] = (float)((s >> 8) & 0xffff) / 32768.0f - 1.0f;
  }
}

static sqlite3 *openDb(void) {
  sqlite3 *db = 0;
  ck_assert_int_eq(sqlite3_open_v2(zPath, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                                    SQLITE_OPEN_FULLMUTEX, 0),
                   SQLITE_OK);
  ck_assert_int_eq(sqlite3_vec_init(db, 0, 0), SQLITE_OK);
  return db;
}

/* The K nearest rowids to row r's vector, into a. */
static void knn(sqlite3 *db, int r, sqlite3_int64 *a) {
  sqlite3_stmt *pStmt = 0;
  float v[DIM];
  int n = 0;
  rowVector(r, v);
  ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT rowid FROM t WHERE e MATCH ? AND k = 5 "
                                      "AND ef = 32", -1, &pStmt, 0), SQLITE_OK);
  sqlite3_bind_blob(pStmt, 1, v, (int)sizeof(v), SQLITE_STATIC);
  while (sqlite3_step(pStmt) == SQLITE_ROW && n < K) a[n++] = sqlite3_column_int64(pStmt, 0);
  ck_assert_int_eq(sqlite3_finalize(pStmt), SQLITE_OK);
  ck_assert_int_eq(n, K);
}

static sqlite3_int64 infoOf(sqlite3 *db, const char *zCol) {
  sqlite3_stmt *pStmt = 0;
  char *zSql = sqlite3_mprintf("SELECT %s FROM vec0_info('t')", zCol);
  sqlite3_int64 v;
  ck_assert_int_eq(sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0), SQLITE_OK);
  sqlite3_free(zSql);
  ck_assert_int_eq(sqlite3_step(pStmt), SQLITE_ROW);
  v = sqlite3_column_int64(pStmt, 0);
  sqlite3_finalize(pStmt);
  return v;
}

static void removeDb(void) {
  char z[300];
  unlink(zPath);
  snprintf(z, sizeof(z), "%s-wal", zPath);
  unlink(z);
  snprintf(z, sizeof(z), "%s-shm", zPath);
  unlink(z);
}

/*
** A new WAL database at zPath holding table t (its CREATE statement
** zCreate) with rows 1..nRow of nDim dimensions, xVec's vector of each, in
** one transaction.
*/
static void makeTable(const char *zName, const char *zCreate, int nRow, int nDim,
                      void (*xVec)(int, float *)) {
  sqlite3 *db;
  sqlite3_stmt *pStmt = 0;
  float *v = malloc(sizeof(float) * (size_t)nDim);
  ck_assert_ptr_nonnull(v);
  snprintf(zPath, sizeof(zPath), "/tmp/vec0-check-%s-%ld.db", zName, (long)getpid());
  removeDb();
  db = openDb();
  execOk(db, "PRAGMA journal_mode=WAL");
  execOk(db, zCreate);
  execOk(db, "BEGIN");
  ck_assert_int_eq(sqlite3_prepare_v2(db, "INSERT INTO t(rowid, e) VALUES (?, ?)", -1,
                                      &pStmt, 0), SQLITE_OK);
  for (int r = 1; r <= nRow; r++) {
    xVec(r, v);
    sqlite3_bind_int(pStmt, 1, r);
    sqlite3_bind_blob(pStmt, 2, v, (int)sizeof(float) * nDim, SQLITE_STATIC);
    ck_assert_int_eq(sqlite3_step(pStmt), SQLITE_DONE);
    sqlite3_reset(pStmt);
  }
  sqlite3_finalize(pStmt);
  execOk(db, "COMMIT");
  ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);
  free(v);
}

static void build(void) {
  makeTable("fill", "CREATE VIRTUAL TABLE t USING vec0(e float[256] indexed by hnsw(m=8, "
                    "ef_construction=16))", NROW, DIM, rowVector);
}


START_TEST(fill_helper_races_nothing) {
  sqlite3_int64 aWarm[40][K], a[K];
  sqlite3 *warm, *cold;
  double t0 = (double)time(0);
  build();
  warm = openDb();
  /* no helper of its own: it reads the table again after the write below,
  ** and the count of running helpers checked at the end is cold's */
  execOk(warm, "INSERT INTO t(t) VALUES ('threads=1')");
  execOk(warm, "INSERT INTO t(t) VALUES ('warm')");
  for (int q = 0; q < 40; q++) knn(warm, q * 97 + 1, aWarm[q]);
  cold = openDb();
  execOk(cold, "INSERT INTO t(t) VALUES ('threads=2')");
  /* the second statement starts the helper; the caller goes on meanwhile */
  for (int q = 0; q < 40; q++) {
    knn(cold, q * 97 + 1, a);
    ck_assert_msg(memcmp(a, aWarm[q], sizeof(a)) == 0, "query %d differs", q);
    if (q == 20) {
      /* a write of the caller's own while the helper reads */
      float v[DIM];
      sqlite3_stmt *pStmt = 0;
      rowVector(NROW - 1, v);
      ck_assert_int_eq(sqlite3_prepare_v2(cold, "UPDATE t SET e = ? WHERE rowid = 3", -1,
                                          &pStmt, 0), SQLITE_OK);
      sqlite3_bind_blob(pStmt, 1, v, (int)sizeof(v), SQLITE_STATIC);
      ck_assert_int_eq(sqlite3_step(pStmt), SQLITE_DONE);
      sqlite3_finalize(pStmt);
      knn(cold, NROW - 1, a);
      ck_assert(a[0] == 3 || a[0] == NROW - 1);
      ck_assert(a[1] == 3 || a[1] == NROW - 1);
      /* the warm connection sees the commit at its next query */
      knn(warm, NROW - 1, a);
      ck_assert(a[0] == 3 || a[0] == NROW - 1);
      for (int j = q + 1; j < 40; j++) knn(warm, j * 97 + 1, aWarm[j]);
    }
  }
  /* the helper completes the cache with no statement of the caller's */
  while (infoOf(cold, "vectors_cached") < NROW && (double)time(0) - t0 < 120) {
    struct timespec ts = {0, 10000000L};
    nanosleep(&ts, 0);
  }
  ck_assert_int_eq(infoOf(cold, "vectors_cached"), NROW);
  knn(cold, 1, a);
  ck_assert_int_eq(infoOf(cold, "cache_complete"), 1);
  {
    /* every vector as the table holds it */
    sqlite3_stmt *pStmt = 0;
    float v[DIM];
    ck_assert_int_eq(sqlite3_prepare_v2(cold, "SELECT rowid, e FROM t", -1, &pStmt, 0),
                     SQLITE_OK);
    while (sqlite3_step(pStmt) == SQLITE_ROW) {
      int r = sqlite3_column_int(pStmt, 0);
      rowVector(r == 3 ? NROW - 1 : r, v);
      ck_assert_int_eq(sqlite3_column_bytes(pStmt, 1), (int)sizeof(v));
      ck_assert_msg(memcmp(sqlite3_column_blob(pStmt, 1), v, sizeof(v)) == 0, "row %d", r);
    }
    sqlite3_finalize(pStmt);
  }
  ck_assert_int_eq(sqlite3_close(cold), SQLITE_OK);
  /* closed while the helper has just started: it is stopped and joined */
  for (int i = 0; i < 3; i++) {
    cold = openDb();
    execOk(cold, "INSERT INTO t(t) VALUES ('threads=2')");
    knn(cold, 1, a);
    knn(cold, 2, a);
    ck_assert_int_eq(sqlite3_close(cold), SQLITE_OK);
    ck_assert_int_eq(vec0FillHelperRunning(), 0);
  }
  ck_assert_int_eq(sqlite3_close(warm), SQLITE_OK);
  removeDb();
}
END_TEST

/*
** A graph whose link array is large (vec0HnswPrefaultMin, lowered here to
** 2 MiB) has it made resident by a helper thread when it is first walked
** (vec0HnswPrefaultLinks): queries made
** while it runs give a connection's answers without one ('threads=1'),
** and closing, or a write that grows the array, joins it.
*/
#define NLINK 17000 /* 17 000 link rows of 132 bytes: 2.2 MB, 32 768 rows of room */
static void smallVector(int r, float *a) {
  a[0] = (float)(r % 97);
  a[1] = (float)(r % 89);
  a[2] = (float)(r % 83);
  a[3] = (float)(r % 79);
}

START_TEST(link_prefault_races_nothing) {
  sqlite3 *one, *two;
  sqlite3_stmt *pStmt = 0;
  sqlite3_int64 aOne[K], aTwo[K];
  int nStarted;
  vec0HnswPrefaultMin = (size_t)2 << 20;
  makeTable("links", "CREATE VIRTUAL TABLE t USING vec0(e float[4])", NLINK, 4, smallVector);
  for (int i = 0; i < 3; i++) {
    one = openDb();
    execOk(one, "INSERT INTO t(t) VALUES ('threads=1')");
    nStarted = vec0MemPrefaultCount(1);
    two = openDb();
    execOk(two, "INSERT INTO t(t) VALUES ('threads=2')");
    for (int q = 0; q < 20; q++) {
      sqlite3_int64 a[4] = {q, q * 3, q * 7, q * 11};
      float v[4] = {(float)(a[0] % 97), (float)(a[1] % 89), (float)(a[2] % 83), (float)(a[3] % 79)};
      for (int c = 0; c < 2; c++) {
        sqlite3_int64 *aOut = c ? aTwo : aOne;
        int n = 0;
        ck_assert_int_eq(sqlite3_prepare_v2(c ? two : one, "SELECT rowid FROM t WHERE e MATCH ? "
                                            "AND k = 5 AND ef = 32", -1, &pStmt, 0), SQLITE_OK);
        sqlite3_bind_blob(pStmt, 1, v, (int)sizeof(v), SQLITE_STATIC);
        while (sqlite3_step(pStmt) == SQLITE_ROW && n < K) aOut[n++] = sqlite3_column_int64(pStmt, 0);
        ck_assert_int_eq(sqlite3_finalize(pStmt), SQLITE_OK);
        ck_assert_int_eq(n, K);
      }
      ck_assert_msg(memcmp(aOne, aTwo, sizeof(aOne)) == 0, "query %d differs", q);
      /* two's graph, opened by its first statement, had its links made resident */
      if (q == 0) ck_assert_int_gt(vec0MemPrefaultCount(1), nStarted);
      if (i == 1 && q == 0) {
        /* a write that grows the arrays past their capacity at once */
        execOk(two, "INSERT INTO t(rowid, e) SELECT rowid + 100000, e FROM t WHERE rowid <= 16000");
        execOk(one, "SELECT count(*) FROM t");
      }
    }
    ck_assert_int_eq(sqlite3_close(two), SQLITE_OK);
    ck_assert_int_eq(vec0MemPrefaultCount(0), 0);
    {
      /* a column kept lazy ('cache_budget') keeps its links lazy too */
      sqlite3 *lazy = openDb();
      sqlite3_int64 a[K];
      execOk(lazy, "INSERT INTO t(t) VALUES ('cache_budget=0')");
      nStarted = vec0MemPrefaultCount(1);
      ck_assert_int_eq(sqlite3_prepare_v2(lazy, "SELECT rowid FROM t WHERE e MATCH ? AND k = 5",
                                          -1, &pStmt, 0), SQLITE_OK);
      sqlite3_bind_blob(pStmt, 1, (float[4]){1, 2, 3, 4}, 16, SQLITE_TRANSIENT);
      for (int n = 0; n < K; n++) {
        ck_assert_int_eq(sqlite3_step(pStmt), SQLITE_ROW);
        a[n] = sqlite3_column_int64(pStmt, 0);
      }
      ck_assert_int_eq(sqlite3_finalize(pStmt), SQLITE_OK);
      ck_assert_int_gt(a[0], 0);
      ck_assert_int_eq(vec0MemPrefaultCount(1), nStarted);
      ck_assert_int_eq(sqlite3_close(lazy), SQLITE_OK);
    }
    ck_assert_int_eq(sqlite3_close(one), SQLITE_OK);
  }
  removeDb();
}
END_TEST

/*
** A reopened graph whose level-0 rows are kept in read order (arena mode:
** vec0HnswArenaMin, set to 0 here before B's statements and to the largest
** size before A's) answers as one whose rows are at their ids, and the same
** writes (a bulk insert, deletes, a savepoint rolled back, which drops and
** reopens the graph, single inserts) leave the same bytes in every shadow
** table.
*/
#define NARENA 4000
static void useArena(int bArena) {
  vec0HnswArenaMin = bArena ? 0 : (size_t)-1;
}

static void sameKnn(sqlite3 *a, sqlite3 *b) {
  for (int q = 1; q <= 60; q++) {
    sqlite3_int64 aOut[2][K];
    float v[4];
    smallVector(q * 61, v);
    v[1] += 0.5f;
    for (int c = 0; c < 2; c++) {
      sqlite3_stmt *pStmt = 0;
      int n = 0;
      useArena(c);
      ck_assert_int_eq(sqlite3_prepare_v2(c ? b : a, "SELECT rowid FROM t WHERE e MATCH ? "
                                          "AND k = 5 AND ef = 24", -1, &pStmt, 0), SQLITE_OK);
      sqlite3_bind_blob(pStmt, 1, v, (int)sizeof(v), SQLITE_STATIC);
      while (sqlite3_step(pStmt) == SQLITE_ROW && n < K) aOut[c][n++] = sqlite3_column_int64(pStmt, 0);
      ck_assert_int_eq(sqlite3_finalize(pStmt), SQLITE_OK);
      ck_assert_int_eq(n, K);
    }
    ck_assert_msg(memcmp(aOut[0], aOut[1], sizeof(aOut[0])) == 0, "query %d differs", q);
  }
}

static void bothExec(sqlite3 *a, sqlite3 *b, const char *zSql) {
  useArena(0);
  execOk(a, zSql);
  useArena(1);
  execOk(b, zSql);
}

START_TEST(arena_rows_same_answers_and_bytes) {
  char zA[256], zB[256], zSql[600];
  sqlite3 *a, *b;
  sqlite3_stmt *pStmt = 0;
  useArena(0);
  makeTable("arena", "CREATE VIRTUAL TABLE t USING vec0(e float[4] indexed by hnsw(m=8, "
                     "ef_construction=32))", NARENA, 4, smallVector);
  memcpy(zA, zPath, sizeof(zA));
  snprintf(zB, sizeof(zB), "%.200s-b.db", zA);
  a = openDb();
  execOk(a, "PRAGMA journal_mode=DELETE");
  snprintf(zSql, sizeof(zSql), "VACUUM INTO '%.250s'", zB);
  unlink(zB);
  execOk(a, zSql);
  memcpy(zPath, zB, sizeof(zPath));
  b = openDb();
  sameKnn(a, b);
  bothExec(a, b, "BEGIN");
  bothExec(a, b, "INSERT INTO t(rowid, e) SELECT rowid + 10000, vec_f32(json_array("
                 "rowid % 7, rowid % 5, rowid % 3, 0.5)) FROM t WHERE rowid <= 300");
  bothExec(a, b, "DELETE FROM t WHERE rowid % 17 = 0 AND rowid < 3000");
  bothExec(a, b, "SAVEPOINT s");
  bothExec(a, b, "INSERT INTO t(rowid, e) SELECT rowid + 20000, e FROM t WHERE rowid <= 50");
  bothExec(a, b, "ROLLBACK TO s");
  bothExec(a, b, "RELEASE s");
  bothExec(a, b, "COMMIT");
  sameKnn(a, b);
  for (int r = 0; r < 20; r++) {
    snprintf(zSql, sizeof(zSql), "INSERT INTO t(rowid, e) VALUES (%d, '[%d, 1.5, %d, 2]')",
             30000 + r, r % 9, r % 4);
    bothExec(a, b, zSql);
  }
  sameKnn(a, b);
  bothExec(a, b, "INSERT INTO t(t) VALUES ('integrity-check')");
  /* every shadow table the same, row for row */
  useArena(0);
  snprintf(zSql, sizeof(zSql), "ATTACH '%.250s' AS b", zB);
  execOk(a, zSql);
  ck_assert_int_eq(sqlite3_prepare_v2(a, "SELECT name FROM main.sqlite_master WHERE type = "
                                      "'table' AND name LIKE 't\\_%' ESCAPE '\\'", -1, &pStmt, 0),
                   SQLITE_OK);
  for (int nTab = 0;; nTab++) {
    sqlite3_stmt *pDiff = 0;
    const char *zTab;
    if (sqlite3_step(pStmt) != SQLITE_ROW) {
      ck_assert_int_ge(nTab, 5);
      break;
    }
    zTab = (const char *)sqlite3_column_text(pStmt, 0);
    snprintf(zSql, sizeof(zSql), "SELECT (SELECT count(*) FROM (SELECT * FROM main.\"%s\" "
             "EXCEPT SELECT * FROM b.\"%s\")) + (SELECT count(*) FROM (SELECT * FROM "
             "b.\"%s\" EXCEPT SELECT * FROM main.\"%s\")), (SELECT count(*) FROM "
             "main.\"%s\")", zTab, zTab, zTab, zTab, zTab);
    ck_assert_int_eq(sqlite3_prepare_v2(a, zSql, -1, &pDiff, 0), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(pDiff), SQLITE_ROW);
    ck_assert_msg(sqlite3_column_int(pDiff, 0) == 0, "%s differs", zTab);
    ck_assert_int_gt(sqlite3_column_int(pDiff, 1), 0);
    sqlite3_finalize(pDiff);
  }
  sqlite3_finalize(pStmt);
  ck_assert_int_eq(sqlite3_close(a), SQLITE_OK);
  ck_assert_int_eq(sqlite3_close(b), SQLITE_OK);
  removeDb();
  memcpy(zPath, zA, sizeof(zPath));
  removeDb();
  useArena(0);
  vec0HnswArenaMin = (size_t)32 << 20;
}
END_TEST

/*
** With SQLite's shared cache on for the process, the helper's connection
** must not join the caller's cache: its table locks made the caller's own
** write fail with SQLITE_LOCKED, and stopping the helper then, inside the
** caller's step, deadlocked (each waited for the other's mutex).
*/
START_TEST(fill_helper_apart_from_shared_cache) {
  sqlite3 *db, *other;
  build();
  ck_assert_int_eq(sqlite3_enable_shared_cache(1), SQLITE_OK);
  db = openDb();
  for (int it = 0; it < 6; it++) {
    sqlite3_int64 a[K];
    /* another connection's commit drops db's cache: the next queries refill it */
    ck_assert_int_eq(sqlite3_open_v2(zPath, &other, SQLITE_OPEN_READWRITE |
                                                        SQLITE_OPEN_PRIVATECACHE, 0),
                     SQLITE_OK);
    ck_assert_int_eq(sqlite3_vec_init(other, 0, 0), SQLITE_OK);
    execOk(other, "UPDATE t SET e = (SELECT e FROM t WHERE rowid = 2) WHERE rowid = 3");
    ck_assert_int_eq(sqlite3_close(other), SQLITE_OK);
    for (int q = 0; q < 3; q++) knn(db, 11 + q, a);
    execOk(db, "UPDATE t SET e = (SELECT e FROM t WHERE rowid = 12) WHERE rowid = 13");
  }
  execOk(db, "INSERT INTO t(t) VALUES ('integrity-check')");
  ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);
  sqlite3_enable_shared_cache(0);
  removeDb();
}
END_TEST

int main(void) {
  Suite *s = suite_create("fill");
  TCase *tc = tcase_create("fill");
  SRunner *sr;
  int nFailed;
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, fill_helper_races_nothing);
  tcase_add_test(tc, link_prefault_races_nothing);
  tcase_add_test(tc, arena_rows_same_answers_and_bytes);
  tcase_add_test(tc, fill_helper_apart_from_shared_cache);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  nFailed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return nFailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
