/*
** build_driver.c: one HNSW build of a SQLite vector extension, driven from
** C (bench/build_scaling.py), so that no Python runs per row.
**
** Creates a new database (WAL, synchronous=NORMAL), loads the extension,
** creates `t(embedding float[D] indexed by hnsw(m=M, ef_construction=E))`,
** runs `INSERT INTO t(t) VALUES ('threads=T')` if --threads is given, then
** inserts the first N rows of a float32 file in one transaction (BEGIN, one
** prepared INSERT stepped per row, the row bound as a BLOB, COMMIT) and
** closes.  Times the inserts, the COMMIT (where a queued bulk insert builds
** its graph) and the whole, through close.
**
**   build_driver --ext PATH --db FILE --base F32 --n N --dim D --m M
**                --efc E [--threads T] --out PREFIX
**
** Output: PREFIX.json {"insert_s", "commit_s", "build_s", "insert_cpu_s",
** "commit_cpu_s", "build_cpu_s", "rss_peak_kb"}: wall and CPU (user + system,
** every thread) seconds.
*/
#include <sqlite3.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define DRIVER_NAME "build_driver"
#include "driver.h"

/* user + system CPU seconds of the process (all threads) so far */
static double cpuNow(void) {
  struct rusage r;
  getrusage(RUSAGE_SELF, &r);
  return (double)r.ru_utime.tv_sec + (double)r.ru_utime.tv_usec * 1e-6 +
         (double)r.ru_stime.tv_sec + (double)r.ru_stime.tv_usec * 1e-6;
}

int main(int argc, char **argv) {
  const char *zExt = opt(argc, argv, "ext", 0), *zDb = opt(argc, argv, "db", 0);
  const char *zOut = opt(argc, argv, "out", 0), *zThreads = opt(argc, argv, "threads", "");
  long n = atol(opt(argc, argv, "n", 0));
  int dim = atoi(opt(argc, argv, "dim", 0));
  int m = atoi(opt(argc, argv, "m", 0)), efc = atoi(opt(argc, argv, "efc", 0));
  const long chunk = 1024;
  float *aRow = malloc(sizeof(float) * (size_t)chunk * dim);
  double t0, t1, t2, t3, c0, c1, c2, c3;
  char *zErr = 0, *z, zPath[4096];
  sqlite3 *db;
  sqlite3_stmt *pIns;
  FILE *f = fopen(opt(argc, argv, "base", 0), "rb");

  if (!aRow || !f) die("cannot read the base", 0);
  unlink(zDb);
  snprintf(zPath, sizeof(zPath), "%s-wal", zDb);
  unlink(zPath);
  snprintf(zPath, sizeof(zPath), "%s-shm", zDb);
  unlink(zPath);
  if (sqlite3_open(zDb, &db) != SQLITE_OK) die("cannot open", zDb);
  sqlite3_enable_load_extension(db, 1);
  if (sqlite3_load_extension(db, zExt, 0, &zErr) != SQLITE_OK) die("cannot load:", zErr);
  exec(db, "PRAGMA journal_mode=WAL");
  exec(db, "PRAGMA synchronous=NORMAL");
  z = sqlite3_mprintf("CREATE VIRTUAL TABLE t USING vec0(embedding float[%d] indexed by "
                      "hnsw(m=%d, ef_construction=%d))", dim, m, efc);
  exec(db, z);
  sqlite3_free(z);
  if (zThreads[0]) {
    z = sqlite3_mprintf("INSERT INTO t(t) VALUES ('threads=%s')", zThreads);
    exec(db, z);
    sqlite3_free(z);
  }
  if (sqlite3_prepare_v2(db, "INSERT INTO t(rowid, embedding) VALUES (?1, ?2)", -1, &pIns,
                         0) != SQLITE_OK) {
    die("prepare:", sqlite3_errmsg(db));
  }

  t0 = now();
  c0 = cpuNow();
  exec(db, "BEGIN");
  for (long s = 0; s < n; s += chunk) {
    long c = n - s < chunk ? n - s : chunk;
    if (fread(aRow, sizeof(float) * dim, (size_t)c, f) != (size_t)c) die("short base", 0);
    for (long i = 0; i < c; i++) {
      sqlite3_bind_int64(pIns, 1, s + i + 1);
      sqlite3_bind_blob(pIns, 2, aRow + (size_t)i * dim, dim * (int)sizeof(float),
                        SQLITE_STATIC);
      if (sqlite3_step(pIns) != SQLITE_DONE) die("insert:", sqlite3_errmsg(db));
      sqlite3_reset(pIns);
    }
  }
  t1 = now();
  c1 = cpuNow();
  exec(db, "COMMIT");
  t2 = now();
  c2 = cpuNow();
  sqlite3_finalize(pIns);
  if (sqlite3_close(db) != SQLITE_OK) die("close", 0);
  t3 = now();
  c3 = cpuNow();
  fclose(f);

  snprintf(zPath, sizeof(zPath), "%s.json", zOut);
  f = fopen(zPath, "w");
  if (!f) die("cannot write", zPath);
  fprintf(f,
          "{\"insert_s\": %.6f, \"commit_s\": %.6f, \"build_s\": %.6f, \"insert_cpu_s\": %.6f, "
          "\"commit_cpu_s\": %.6f, \"build_cpu_s\": %.6f, \"rss_peak_kb\": %ld}\n",
          t1 - t0, t2 - t1, t3 - t0, c1 - c0, c2 - c1, c3 - c0, peakKb());
  fclose(f);
  free(aRow);
  return 0;
}
