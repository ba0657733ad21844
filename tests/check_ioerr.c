/*
** check_ioerr.c: a read error at every read of a write statement.
**
** A VFS shim over "unix" fails the Nth xRead with SQLITE_IOERR_READ.  Each
** write below runs on a copy of a prepared database (rollback journal, a
** one-page cache, so that the statement reads the file), for N = 0, 1, ...
** until it completes without reaching the fault.  Then, reopened without
** faults, the table must pass 'integrity-check' and hold the rows before
** the statement (it failed) or after it (it succeeded).  SQLite rolls the
** whole transaction back on an I/O error: a write that went on after one
** (a BLOB handle opened again) lost its first half and reported success,
** and a DELETE lost its T_rows error the same way.
*/
#include "vec0Int.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int sqlite3_vec_init(sqlite3 *db, char **pzErrMsg, const sqlite3_api_routines *pApi);

#define NROW 600
#define MAX_FAULTS 600

/* ---------------------------------------------------------------------- */
/* The shim                                                                */

static sqlite3_vfs *gBase;
static sqlite3_vfs gShim;
static int gCountdown = -1; /* reads until the failing one; -1: none */
static int gFired;

typedef struct ShimFile {
  sqlite3_file base;
  sqlite3_file *pReal; /* follows this struct */
} ShimFile;

static sqlite3_file *real(sqlite3_file *p) { return ((ShimFile *)p)->pReal; }

static int shimRead(sqlite3_file *p, void *a, int n, sqlite3_int64 o) {
  if (gCountdown >= 0 && gCountdown-- == 0) {
    gFired = 1;
    return SQLITE_IOERR_READ;
  }
  return real(p)->pMethods->xRead(real(p), a, n, o);
}
static int shimClose(sqlite3_file *p) { return real(p)->pMethods->xClose(real(p)); }
static int shimWrite(sqlite3_file *p, const void *a, int n, sqlite3_int64 o) {
  return real(p)->pMethods->xWrite(real(p), a, n, o);
}
static int shimTruncate(sqlite3_file *p, sqlite3_int64 n) {
  return real(p)->pMethods->xTruncate(real(p), n);
}
static int shimSync(sqlite3_file *p, int f) { return real(p)->pMethods->xSync(real(p), f); }
static int shimSize(sqlite3_file *p, sqlite3_int64 *pn) {
  return real(p)->pMethods->xFileSize(real(p), pn);
}
static int shimLock(sqlite3_file *p, int l) { return real(p)->pMethods->xLock(real(p), l); }
static int shimUnlock(sqlite3_file *p, int l) { return real(p)->pMethods->xUnlock(real(p), l); }
static int shimReserved(sqlite3_file *p, int *pb) {
  return real(p)->pMethods->xCheckReservedLock(real(p), pb);
}
static int shimControl(sqlite3_file *p, int op, void *a) {
  return real(p)->pMethods->xFileControl(real(p), op, a);
}
static int shimSector(sqlite3_file *p) { return real(p)->pMethods->xSectorSize(real(p)); }
static int shimDevice(sqlite3_file *p) {
  return real(p)->pMethods->xDeviceCharacteristics(real(p));
}

/* Version 1 methods: no WAL, no mmap (the database uses a rollback journal). */
static sqlite3_io_methods gMethods;

static void methodsInit(void) {
  memset(&gMethods, 0, sizeof(gMethods));
  gMethods.iVersion = 1;
  gMethods.xClose = shimClose;
  gMethods.xRead = shimRead;
  gMethods.xWrite = shimWrite;
  gMethods.xTruncate = shimTruncate;
  gMethods.xSync = shimSync;
  gMethods.xFileSize = shimSize;
  gMethods.xLock = shimLock;
  gMethods.xUnlock = shimUnlock;
  gMethods.xCheckReservedLock = shimReserved;
  gMethods.xFileControl = shimControl;
  gMethods.xSectorSize = shimSector;
  gMethods.xDeviceCharacteristics = shimDevice;
}

static int shimOpen(sqlite3_vfs *pVfs, const char *zName, sqlite3_file *pFile, int flags,
                    int *pOut) {
  ShimFile *f = (ShimFile *)pFile;
  int rc;
  (void)pVfs;
  f->pReal = (sqlite3_file *)&f[1];
  rc = gBase->xOpen(gBase, zName, f->pReal, flags, pOut);
  f->base.pMethods = rc == SQLITE_OK ? &gMethods : 0;
  return rc;
}

static void shimRegister(void) {
  if (gBase) return;
  methodsInit();
  gBase = sqlite3_vfs_find("unix");
  ck_assert_ptr_nonnull(gBase);
  gShim = *gBase;
  gShim.zName = "ioerr";
  gShim.szOsFile = (int)sizeof(ShimFile) + gBase->szOsFile;
  gShim.xOpen = shimOpen;
  gShim.pNext = 0;
  ck_assert_int_eq(sqlite3_vfs_register(&gShim, 0), SQLITE_OK);
}

/* ---------------------------------------------------------------------- */
/* Databases                                                               */

static char zBase[64], zTry[64];

static void execOk(sqlite3 *db, const char *zSql) {
  char *zErr = 0;
  int rc = sqlite3_exec(db, zSql, 0, 0, &zErr);
  ck_assert_msg(rc == SQLITE_OK, "%s: %s", zSql, zErr ? zErr : "?");
  sqlite3_free(zErr);
}

static sqlite3 *openDb(const char *zPath, const char *zVfs) {
  sqlite3 *db = 0;
  ck_assert_int_eq(sqlite3_open_v2(zPath, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, zVfs),
                   SQLITE_OK);
  ck_assert_int_eq(sqlite3_vec_init(db, 0, 0), SQLITE_OK);
  return db;
}

static void copyFile(const char *zFrom, const char *zTo) {
  FILE *in = fopen(zFrom, "rb"), *out = fopen(zTo, "wb");
  char a[65536];
  size_t n;
  ck_assert_ptr_nonnull(in);
  ck_assert_ptr_nonnull(out);
  while ((n = fread(a, 1, sizeof(a), in)) > 0) ck_assert_uint_eq(fwrite(a, 1, n, out), n);
  fclose(in);
  ck_assert_int_eq(fclose(out), 0);
}

/* FNV-1a of every column of every row, in rowid order. */
static sqlite3_uint64 contentHash(sqlite3 *db) {
  sqlite3_stmt *pStmt = 0;
  sqlite3_uint64 h = 0xcbf29ce484222325ull;
  ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT id, emb, m, quote(a) FROM t ORDER BY id", -1,
                                      &pStmt, 0),
                   SQLITE_OK);
  while (sqlite3_step(pStmt) == SQLITE_ROW) {
    for (int i = 0; i < 4; i++) {
      const unsigned char *a = i == 1 ? sqlite3_column_blob(pStmt, i)
                                      : sqlite3_column_text(pStmt, i);
      int n = sqlite3_column_bytes(pStmt, i);
      for (int j = 0; j < n; j++) h = (h ^ a[j]) * 0x100000001b3ull;
      h = (h ^ 0xff) * 0x100000001b3ull;
    }
  }
  ck_assert_int_eq(sqlite3_finalize(pStmt), SQLITE_OK);
  return h;
}

static void prepareBase(void) {
  sqlite3 *db;
  snprintf(zBase, sizeof(zBase), "/tmp/vec0-ioerr-base-%ld.db", (long)getpid());
  snprintf(zTry, sizeof(zTry), "/tmp/vec0-ioerr-try-%ld.db", (long)getpid());
  unlink(zBase);
  db = openDb(zBase, 0);
  execOk(db, "CREATE VIRTUAL TABLE t USING vec0(id integer primary key, emb float[16] "
             "indexed by hnsw(m=8, ef_construction=32), m integer, +a text)");
  execOk(db, "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 600) "
             "INSERT INTO t(id, emb, m, a) SELECT i, vec_f32(json_array(i % 97, 1, 2, 3, 4, "
             "5, 6, 7, 8, 9, 10, 11, 12, 13, 14, i % 13)), i, printf('%0100d', i) FROM c");
  execOk(db, "DELETE FROM t WHERE id % 10 = 3");
  ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);
}

/* ---------------------------------------------------------------------- */
/* The sweep                                                               */

static const char *const azStep[] = {
    "DELETE FROM t WHERE id = 500",
    "DELETE FROM t WHERE id BETWEEN 300 AND 320",
    "UPDATE t SET emb = vec_f32('[9,9,9,9,9,9,9,9,9,9,9,9,9,9,9,9]') WHERE id = 500",
    "UPDATE t SET id = 5000 WHERE id = 500",
    "INSERT INTO t(id, emb, m, a) VALUES (4000, "
    "vec_f32('[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]'), 4, 'x')",
    "INSERT OR REPLACE INTO t(id, emb, m, a) VALUES (500, "
    "vec_f32('[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]'), 4, 'x')",
};

START_TEST(read_error_anywhere) {
  const char *zStep = azStep[_i];
  sqlite3_uint64 hBefore, hAfter;
  sqlite3 *db;
  int N, nFailed = 0;
  shimRegister();
  prepareBase();
  db = openDb(zBase, 0);
  hBefore = contentHash(db);
  ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);
  copyFile(zBase, zTry);
  db = openDb(zTry, 0);
  execOk(db, zStep);
  hAfter = contentHash(db);
  ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);
  for (N = 0; N < MAX_FAULTS; N++) {
    char *zErr = 0;
    int rc;
    copyFile(zBase, zTry);
    db = openDb(zTry, "ioerr");
    execOk(db, "PRAGMA cache_size = 1");
    execOk(db, "INSERT INTO t(t) VALUES ('threads=1')");
    execOk(db, "SELECT count(*) FROM t WHERE id = 5");
    gFired = 0;
    gCountdown = N;
    rc = sqlite3_exec(db, zStep, 0, 0, 0);
    gCountdown = -1;
    ck_assert_msg(rc == SQLITE_OK || (rc & 0xff) == SQLITE_IOERR || rc == SQLITE_CORRUPT_VTAB ||
                      rc == SQLITE_ERROR || rc == SQLITE_ABORT,
                  "%s, read %d failing: rc %d (%s)", zStep, N, rc, sqlite3_errmsg(db));
    if (rc != SQLITE_OK) nFailed++;
    ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);
    db = openDb(zTry, 0);
    ck_assert_msg(contentHash(db) == (rc == SQLITE_OK ? hAfter : hBefore),
                  "%s, read %d failing: rc %d, yet the rows are not those %s it", zStep, N,
                  rc, rc == SQLITE_OK ? "after" : "before");
    rc = sqlite3_exec(db, "INSERT INTO t(t) VALUES ('integrity-check')", 0, 0, &zErr);
    ck_assert_msg(rc == SQLITE_OK, "%s, read %d failing: %s", zStep, N, zErr ? zErr : "?");
    ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);
    if (!gFired) break;
  }
  ck_assert_msg(N < MAX_FAULTS, "%s: still reading at read %d", zStep, N);
  ck_assert_int_gt(nFailed, 0);
  unlink(zBase);
  unlink(zTry);
}
END_TEST

int main(void) {
  Suite *s = suite_create("ioerr");
  TCase *tc = tcase_create("ioerr");
  SRunner *sr;
  int nFailed;
  tcase_set_timeout(tc, 300);
  tcase_add_loop_test(tc, read_error_anywhere, 0, (int)(sizeof(azStep) / sizeof(azStep[0])));
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  nFailed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return nFailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
