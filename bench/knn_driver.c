/*
** knn_driver.c: the query loop of a SQLite vector extension, driven from C.
**
** The figures of bench/interleave.py: Python's per-query cost (about 10 us,
** a seventh of a whole HNSW query at recall 0.95) must not be in a ratio
** against a native engine.  The driver opens an existing database, loads
** the extension, prepares the query statement once and, for each ef, binds
** each query vector as a BLOB and steps it, after one untimed warm-up pass
** at the largest ef (a reopened table fills its cache lazily).
**
**   knn_driver --ext PATH --db FILE --queries F32 --dim D --nq N --k K
**              --ef 16,32,... --sql "SELECT rowid FROM t WHERE ... ?1 ?2 ?3"
**              [--journal wal|delete] [--pragma "cache_size=-4000"] --out PREFIX
**
** The SQL takes ?1 the query BLOB, ?2 k and ?3 ef.  Output: PREFIX.json
** ({"passes": [{"ef", "nq", "seconds"}], "journal", "rss_peak_kb"}) and
** PREFIX.ids (int64 rowid - 1, i.e. the base row, k per query and pass, -1
** where fewer came back), as bench/common.py reads them.
*/
#include <sqlite3.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DRIVER_NAME "knn_driver"
#include "driver.h"

/* CPU time of the process: on a shared machine it leaves out the time the
** process waited for a core (cache contention stays in). */
static double cpuNow(void) { return clockOf(CLOCK_PROCESS_CPUTIME_ID); }

/* One pass over the queries at one ef: every result row's id into aIds. */
static double pass(sqlite3_stmt *pStmt, const float *aQ, int nq, int dim, int k, int ef,
                   int64_t *aIds) {
  double t0 = now();
  for (int q = 0; q < nq; q++) {
    int n = 0;
    sqlite3_bind_blob(pStmt, 1, aQ + (size_t)q * dim, dim * (int)sizeof(float), SQLITE_STATIC);
    sqlite3_bind_int(pStmt, 2, k);
    sqlite3_bind_int(pStmt, 3, ef);
    while (sqlite3_step(pStmt) == SQLITE_ROW) {
      if (n < k && aIds) aIds[(size_t)q * k + n] = sqlite3_column_int64(pStmt, 0) - 1;
      n++;
    }
    if (sqlite3_reset(pStmt) != SQLITE_OK) die("query failed:", sqlite3_errmsg(sqlite3_db_handle(pStmt)));
    for (; aIds && n < k; n++) aIds[(size_t)q * k + n] = -1;
  }
  return now() - t0;
}

int main(int argc, char **argv) {
  const char *zExt = opt(argc, argv, "ext", 0), *zDb = opt(argc, argv, "db", 0);
  const char *zSql = opt(argc, argv, "sql", 0), *zOut = opt(argc, argv, "out", 0);
  const char *zJournal = opt(argc, argv, "journal", "");
  int dim = atoi(opt(argc, argv, "dim", 0)), nq = atoi(opt(argc, argv, "nq", 0));
  int k = atoi(opt(argc, argv, "k", 0));
  char *zEfs = strdup(opt(argc, argv, "ef", 0));
  int aEf[64], nEf = 0, efMax = 0;
  float *aQ;
  int64_t *aIds;
  sqlite3 *db;
  sqlite3_stmt *pStmt;
  char *zErr = 0, zPath[4096];
  FILE *f;

  for (char *z = strtok(zEfs, ","); z && nEf < 64; z = strtok(0, ",")) {
    aEf[nEf] = atoi(z);
    if (aEf[nEf] > efMax) efMax = aEf[nEf];
    nEf++;
  }
  aQ = malloc(sizeof(float) * (size_t)nq * dim);
  aIds = malloc(sizeof(int64_t) * (size_t)nq * k);
  if (!aQ || !aIds) die("out of memory", 0);
  f = fopen(opt(argc, argv, "queries", 0), "rb");
  if (!f || fread(aQ, sizeof(float) * dim, (size_t)nq, f) != (size_t)nq) die("cannot read queries", 0);
  fclose(f);

  if (sqlite3_open(zDb, &db) != SQLITE_OK) die("cannot open", zDb);
  sqlite3_enable_load_extension(db, 1);
  if (sqlite3_load_extension(db, zExt, 0, &zErr) != SQLITE_OK) die("cannot load:", zErr);
  if (zJournal[0]) {
    char *z = sqlite3_mprintf("PRAGMA journal_mode=%s", zJournal);
    if (sqlite3_exec(db, z, 0, 0, &zErr) != SQLITE_OK) die("journal:", zErr);
    sqlite3_free(z);
  }
  if (opt(argc, argv, "pragma", "")[0]) {
    char *z = sqlite3_mprintf("PRAGMA %s", opt(argc, argv, "pragma", ""));
    if (sqlite3_exec(db, z, 0, 0, &zErr) != SQLITE_OK) die("pragma:", zErr);
    sqlite3_free(z);
  }
  if (sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0) != SQLITE_OK) die("prepare:", sqlite3_errmsg(db));

  pass(pStmt, aQ, nq, dim, k, efMax, 0); /* warm-up: fills the cache of a reopened table */
  snprintf(zPath, sizeof(zPath), "%s.ids", zOut);
  f = fopen(zPath, "wb");
  if (!f) die("cannot write", zPath);
  snprintf(zPath, sizeof(zPath), "%s.json", zOut);
  {
    FILE *fj = fopen(zPath, "w");
    if (!fj) die("cannot write", zPath);
    fprintf(fj, "{\"journal\": \"%s\", \"passes\": [", zJournal[0] ? zJournal : "as stored");
    for (int i = 0; i < nEf; i++) {
      double c0 = cpuNow(), s = pass(pStmt, aQ, nq, dim, k, aEf[i], aIds);
      double c = cpuNow() - c0;
      fwrite(aIds, sizeof(int64_t), (size_t)nq * k, f);
      fprintf(fj, "%s\n  {\"ef\": %d, \"nq\": %d, \"seconds\": %.6f, \"cpu_seconds\": %.6f}",
              i ? "," : "", aEf[i], nq, s, c);
    }
    /* RssAnon: the process's own memory; RssFile: pages of files it maps
    ** (the database, with PRAGMA mmap_size), which the page cache holds */
    fprintf(fj, "], \"rss_peak_kb\": %ld, \"rss_anon_kb\": %ld, \"rss_file_kb\": %ld}\n",
            peakKb(), statusKb("RssAnon"), statusKb("RssFile"));
    fclose(fj);
  }
  fclose(f);
  sqlite3_finalize(pStmt);
  sqlite3_close(db);
  free(aQ);
  free(aIds);
  free(zEfs);
  return 0;
}
