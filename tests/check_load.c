/*
** check_load.c: connections on several threads at once, each setting up
** vec0 and using it.  With VEC0_LOAD_EXT naming a build of the loadable
** extension, each thread loads it (sqlite3_load_extension), as programs do:
** `make test-tsan` runs it so against a ThreadSanitizer build of vec0.so,
** where every load used to rewrite the global routine pointer that the other
** threads' calls read.  Without it, the extension built in is registered on
** each connection.  Either way each thread's table answers its own KNN.
*/
#include <check.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

/* Weak: the ThreadSanitizer build links no extension, it loads one. */
__attribute__((weak)) int sqlite3_vec_init(sqlite3 *db, char **pzErrMsg,
                                           const sqlite3_api_routines *pApi);

#define NTHREAD 8
#define NROW 200

typedef struct Job {
  int iThread;
  int rc;            /* 0: all went well */
  char zWhat[200];   /* else what did not */
} Job;

static int jobFail(Job *j, sqlite3 *db, const char *zWhat) {
  snprintf(j->zWhat, sizeof(j->zWhat), "thread %d: %s: %s", j->iThread, zWhat,
           db ? sqlite3_errmsg(db) : "?");
  j->rc = 1;
  return 1;
}

static int setUp(Job *j, sqlite3 *db) {
  const char *zExt = getenv("VEC0_LOAD_EXT");
  char *zErr = 0;
  if (zExt == 0 && sqlite3_vec_init == 0) return jobFail(j, db, "no extension: set VEC0_LOAD_EXT");
  if (zExt == 0) return sqlite3_vec_init(db, 0, 0) != SQLITE_OK && jobFail(j, db, "init");
  if (sqlite3_enable_load_extension(db, 1) != SQLITE_OK) return jobFail(j, db, "enable");
  if (sqlite3_load_extension(db, zExt, 0, &zErr) != SQLITE_OK) {
    snprintf(j->zWhat, sizeof(j->zWhat), "thread %d: load %s: %s", j->iThread, zExt,
             zErr ? zErr : "?");
    sqlite3_free(zErr);
    j->rc = 1;
    return 1;
  }
  return 0;
}

static void *work(void *pArg) {
  Job *j = pArg;
  sqlite3 *db = 0;
  sqlite3_stmt *pStmt = 0;
  if (sqlite3_open(":memory:", &db) != SQLITE_OK) {
    jobFail(j, db, "open");
  } else if (!setUp(j, db)) {
    char zSql[400];
    snprintf(zSql, sizeof(zSql),
             "CREATE VIRTUAL TABLE t USING vec0(v float[4] indexed by hnsw(m=8));"
             "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < %d) "
             "INSERT INTO t(rowid, v) SELECT i, vec_f32(json_array(i, %d, i %% 7, 1)) FROM c;",
             NROW, j->iThread);
    if (sqlite3_exec(db, zSql, 0, 0, 0) != SQLITE_OK) {
      jobFail(j, db, "fill");
    } else if (sqlite3_prepare_v2(db, "SELECT rowid FROM t WHERE v MATCH vec_f32(?) AND k = 1",
                                  -1, &pStmt, 0) != SQLITE_OK) {
      jobFail(j, db, "prepare");
    } else {
      for (int r = 1; r <= NROW && j->rc == 0; r += 17) {
        char zVec[100];
        snprintf(zVec, sizeof(zVec), "[%d, %d, %d, 1]", r, j->iThread, r % 7);
        sqlite3_bind_text(pStmt, 1, zVec, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(pStmt) != SQLITE_ROW || sqlite3_column_int(pStmt, 0) != r) {
          jobFail(j, db, "KNN of a stored row did not find it");
        }
        sqlite3_reset(pStmt);
      }
    }
  }
  sqlite3_finalize(pStmt);
  sqlite3_close(db);
  return 0;
}

START_TEST(threads_load_and_use) {
  pthread_t aThread[NTHREAD];
  Job aJob[NTHREAD];
  for (int i = 0; i < NTHREAD; i++) {
    aJob[i].iThread = i;
    aJob[i].rc = 0;
    aJob[i].zWhat[0] = 0;
    ck_assert_int_eq(pthread_create(&aThread[i], 0, work, &aJob[i]), 0);
  }
  for (int i = 0; i < NTHREAD; i++) pthread_join(aThread[i], 0);
  for (int i = 0; i < NTHREAD; i++) ck_assert_msg(aJob[i].rc == 0, "%s", aJob[i].zWhat);
}
END_TEST

int main(void) {
  Suite *s = suite_create("load");
  TCase *tc = tcase_create("load");
  SRunner *sr;
  int nFailed;
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, threads_load_and_use);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  nFailed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return nFailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
