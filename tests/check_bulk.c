/*
** check_bulk.c: the queued bulk insert through SQL (vec0_index_hnsw.c,
** QUEUE), in C so that `make test-tsan` runs it under ThreadSanitizer with
** the extension built in: one transaction of single-row INSERTs with a KNN
** query, deletes, an update, a savepoint rolled back and an INSERT ...
** SELECT in it, on 1, 2 and 3 threads, must give the same shadow tables,
** sound; the worker threads see only the graph and the distance kernels.
** And sqlite3_interrupt() from another thread while the COMMIT builds the
** batch: the COMMIT fails with SQLITE_INTERRUPT, the table is empty again
** and sound.
*/
#include "vec0Int.h"

#include <check.h>
#include <pthread.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sqlite3_vec_init(sqlite3 *db, char **pzErrMsg, const sqlite3_api_routines *pApi);

#define DIM 16
#define NROW 3000

static void execOk(sqlite3 *db, const char *zSql) {
  char *zErr = 0;
  int rc = sqlite3_exec(db, zSql, 0, 0, &zErr);
  ck_assert_msg(rc == SQLITE_OK, "%s: %s", zSql, zErr ? zErr : "?");
  sqlite3_free(zErr);
}

/* A deterministic vector of row r. */
static void rowVector(int r, float *a) {
  unsigned s = (unsigned)r * 2654435761u + 1u;
  for (int i = 0; i < DIM; i++) {
    s = s * 1103515245u + 12345u;
    a[i] = (float)((s >> 8) & 0xffff) / 32768.0f - 1.0f;
  }
}

static void insertRows(sqlite3 *db, int r0, int r1) {
  sqlite3_stmt *pStmt = 0;
  float a[DIM];
  ck_assert_int_eq(sqlite3_prepare_v2(db, "INSERT INTO t(rowid, e) VALUES (?, ?)", -1,
                                      &pStmt, 0), SQLITE_OK);
  for (int r = r0; r < r1; r++) {
    rowVector(r, a);
    sqlite3_bind_int(pStmt, 1, r);
    sqlite3_bind_blob(pStmt, 2, a, (int)sizeof(a), SQLITE_STATIC);
    ck_assert_msg(sqlite3_step(pStmt) == SQLITE_DONE, "insert %d: %s", r, sqlite3_errmsg(db));
    sqlite3_reset(pStmt);
  }
  sqlite3_finalize(pStmt);
}

/* The nearest row to row r's vector. */
static sqlite3_int64 nearest(sqlite3 *db, int r) {
  sqlite3_stmt *pStmt = 0;
  float a[DIM];
  sqlite3_int64 iRowid = -1;
  rowVector(r, a);
  ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT rowid FROM t WHERE e MATCH ? AND k = 1 "
                                      "AND ef = 64", -1, &pStmt, 0), SQLITE_OK);
  sqlite3_bind_blob(pStmt, 1, a, (int)sizeof(a), SQLITE_STATIC);
  if (sqlite3_step(pStmt) == SQLITE_ROW) iRowid = sqlite3_column_int64(pStmt, 0);
  ck_assert_int_eq(sqlite3_finalize(pStmt), SQLITE_OK);
  return iRowid;
}

/* Every shadow table's rows but the transaction counter, as bytes. */
static char *shadowBytes(sqlite3 *db, size_t *pn) {
  sqlite3_stmt *pNames = 0, *pRows = 0;
  size_t n = 0, nAlloc = 1 << 16;
  char *z = malloc(nAlloc);
  ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT name FROM sqlite_schema WHERE type = "
                                      "'table' AND name LIKE 't\\_%' ESCAPE '\\' AND "
                                      "name != 'src' ORDER BY name", -1, &pNames, 0),
                   SQLITE_OK);
  while (sqlite3_step(pNames) == SQLITE_ROW) {
    char *zSql = sqlite3_mprintf("SELECT * FROM \"%w\" %s ORDER BY 1",
                                 sqlite3_column_text(pNames, 0),
                                 strcmp((const char *)sqlite3_column_text(pNames, 0),
                                        "t_config") == 0 ? "WHERE key != 'changes'" : "");
    ck_assert_int_eq(sqlite3_prepare_v2(db, zSql, -1, &pRows, 0), SQLITE_OK);
    sqlite3_free(zSql);
    while (sqlite3_step(pRows) == SQLITE_ROW) {
      for (int i = 0; i < sqlite3_column_count(pRows); i++) {
        const void *p = sqlite3_column_blob(pRows, i);
        size_t nb = (size_t)sqlite3_column_bytes(pRows, i);
        while (n + nb + 2 > nAlloc) z = realloc(z, nAlloc *= 2);
        z[n++] = (char)sqlite3_column_type(pRows, i);
        if (nb) memcpy(z + n, p, nb);
        n += nb;
        z[n++] = 0;
      }
    }
    sqlite3_finalize(pRows);
  }
  sqlite3_finalize(pNames);
  *pn = n;
  return z;
}

/*
** The workload on nThread threads, with zOpt after the column's type (a
** cosine column's walk keeps the vectors' sums of squares, made also on the
** workers); the shadow tables after it.
*/
static char *bulk(int nThread, const char *zOpt, size_t *pn) {
  sqlite3 *db = 0;
  char zSql[160];
  char *z;
  ck_assert_int_eq(sqlite3_open(":memory:", &db), SQLITE_OK);
  ck_assert_int_eq(sqlite3_vec_init(db, 0, 0), SQLITE_OK);
  sqlite3_snprintf(sizeof(zSql), zSql,
                   "CREATE VIRTUAL TABLE t USING vec0(e float[16]%s indexed by hnsw(m=8, "
                   "ef_construction=32))", zOpt);
  execOk(db, zSql);
  sqlite3_snprintf(sizeof(zSql), zSql, "INSERT INTO t(t) VALUES ('threads=%d')", nThread);
  execOk(db, zSql);
  execOk(db, "BEGIN");
  insertRows(db, 1, NROW / 2);
  /* the search builds the queue first, and finds a row just queued */
  ck_assert_int_eq(nearest(db, NROW / 2 - 3), NROW / 2 - 3);
  insertRows(db, NROW / 2, NROW);
  execOk(db, "DELETE FROM t WHERE rowid % 9 = 0 AND rowid > 2000");
  execOk(db, "UPDATE t SET e = (SELECT e FROM t WHERE rowid = 5) WHERE rowid = 2001");
  execOk(db, "SAVEPOINT s");
  insertRows(db, NROW, NROW + 400);
  execOk(db, "ROLLBACK TO s");
  execOk(db, "INSERT INTO t(rowid, e) SELECT rowid + 10000, e FROM t WHERE rowid <= 1200");
  execOk(db, "RELEASE s");
  execOk(db, "COMMIT");
  execOk(db, "INSERT INTO t(t) VALUES ('integrity-check')");
  {
    /* the rows rolled back to the savepoint are gone from the graph too */
    sqlite3_int64 r = nearest(db, NROW + 100);
    ck_assert(r < NROW || r > 10000);
  }
  z = shadowBytes(db, pn);
  ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);
  return z;
}

START_TEST(bulk_same_bytes) {
  static const char *azOpt[] = {"", " distance_metric=cosine"};
  for (int o = 0; o < 2; o++) {
    size_t n1 = 0, n = 0;
    char *z1 = bulk(1, azOpt[o], &n1);
    for (int t = 2; t <= 3; t++) {
      char *z = bulk(t, azOpt[o], &n);
      ck_assert_msg(n == n1 && memcmp(z, z1, n) == 0, "threads=%d%s: other bytes", t,
                    azOpt[o]);
      free(z);
    }
    ck_assert_uint_gt(n1, (size_t)NROW * 40);
    free(z1);
  }
}
END_TEST

typedef struct Interrupter {
  sqlite3 *db;
  long nsDelay;
} Interrupter;

static void *interruptLater(void *pArg) {
  Interrupter *x = pArg;
  struct timespec ts;
  ts.tv_sec = x->nsDelay / 1000000000L;
  ts.tv_nsec = x->nsDelay % 1000000000L;
  nanosleep(&ts, 0);
  sqlite3_interrupt(x->db);
  return 0;
}

static double nowSeconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/*
** 2*NROW rows queued in a transaction on 2 threads, COMMIT with
** sqlite3_interrupt() nsDelay ns after it began (none if 0): the COMMIT's
** code; the table is checked sound and, if it failed, empty.
*/
static int commitInterrupted(long nsDelay, double *pSeconds) {
  sqlite3 *db = 0;
  pthread_t t;
  Interrupter x;
  double t0;
  int rc;
  ck_assert_int_eq(sqlite3_open(":memory:", &db), SQLITE_OK);
  ck_assert_int_eq(sqlite3_vec_init(db, 0, 0), SQLITE_OK);
  execOk(db, "CREATE VIRTUAL TABLE t USING vec0(e float[16] indexed by hnsw(m=8, "
             "ef_construction=32))");
  execOk(db, "INSERT INTO t(t) VALUES ('threads=2')");
  execOk(db, "BEGIN");
  insertRows(db, 1, 2 * NROW + 1);
  x.db = db;
  x.nsDelay = nsDelay;
  if (nsDelay) ck_assert_int_eq(pthread_create(&t, 0, interruptLater, &x), 0);
  t0 = nowSeconds();
  rc = sqlite3_exec(db, "COMMIT", 0, 0, 0);
  *pSeconds = nowSeconds() - t0;
  if (nsDelay) pthread_join(t, 0);
  ck_assert_msg(rc == SQLITE_OK || rc == SQLITE_INTERRUPT, "COMMIT: %d %s", rc,
                sqlite3_errmsg(db));
  ck_assert_int_eq(sqlite3_get_autocommit(db), 1);
  execOk(db, "INSERT INTO t(t) VALUES ('integrity-check')");
  {
    sqlite3_stmt *pStmt = 0;
    ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT count(*) FROM t", -1, &pStmt, 0),
                     SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(pStmt), SQLITE_ROW);
    ck_assert_int_eq(sqlite3_column_int(pStmt, 0), rc == SQLITE_OK ? 2 * NROW : 0);
    sqlite3_finalize(pStmt);
  }
  ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);
  return rc;
}

START_TEST(bulk_interrupted) {
  double took = 0, s = 0;
  int nStopped = 0;
  ck_assert_int_eq(commitInterrupted(0, &took), SQLITE_OK);
  /* a third, a sixth, a twelfth of the way in: one lands in the build */
  for (int d = 3; d <= 12; d *= 2) {
    nStopped += commitInterrupted((long)(took / d * 1e9) + 1, &s) == SQLITE_INTERRUPT;
  }
  ck_assert_int_gt(nStopped, 0);
}
END_TEST

int main(void) {
  Suite *s = suite_create("bulk");
  TCase *tc = tcase_create("bulk");
  SRunner *sr;
  int nFailed;
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, bulk_same_bytes);
  tcase_add_test(tc, bulk_interrupted);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  nFailed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return nFailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
