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

static void build(void) {
  sqlite3 *db;
  sqlite3_stmt *pStmt = 0;
  float v[DIM];
  snprintf(zPath, sizeof(zPath), "/tmp/vec0-check-fill-%ld.db", (long)getpid());
  unlink(zPath);
  db = openDb();
  execOk(db, "PRAGMA journal_mode=WAL");
  execOk(db, "CREATE VIRTUAL TABLE t USING vec0(e float[256] indexed by hnsw(m=8, "
             "ef_construction=16))");
  execOk(db, "BEGIN");
  ck_assert_int_eq(sqlite3_prepare_v2(db, "INSERT INTO t(rowid, e) VALUES (?, ?)", -1,
                                      &pStmt, 0), SQLITE_OK);
  for (int r = 1; r <= NROW; r++) {
    rowVector(r, v);
    sqlite3_bind_int(pStmt, 1, r);
    sqlite3_bind_blob(pStmt, 2, v, (int)sizeof(v), SQLITE_STATIC);
    ck_assert_int_eq(sqlite3_step(pStmt), SQLITE_DONE);
    sqlite3_reset(pStmt);
  }
  sqlite3_finalize(pStmt);
  execOk(db, "COMMIT");
  ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);
}

static void removeDb(void) {
  char z[300];
  unlink(zPath);
  snprintf(z, sizeof(z), "%s-wal", zPath);
  unlink(z);
  snprintf(z, sizeof(z), "%s-shm", zPath);
  unlink(z);
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

int main(void) {
  Suite *s = suite_create("fill");
  TCase *tc = tcase_create("fill");
  SRunner *sr;
  int nFailed;
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, fill_helper_races_nothing);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  nFailed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return nFailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
