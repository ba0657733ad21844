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
**              [--journal wal|delete] [--pragma "cache_size=-4000"]
**              [--lt 500,100,... --filter-ef E] [--warm N] --out PREFIX
**
** The SQL takes ?1 the query BLOB, ?2 k, ?3 ef and ?4 a label limit (a
** statement need not use them all).  After the passes of --ef (which may be
** empty), one pass per --lt value at ef --filter-ef, binding ?4.  The warm-up
** pass runs the first --warm queries (default all) as the first pass would,
** at the largest ef.  Output: PREFIX.json ({"passes": [{"ef", "filter_lt",
** "nq", "seconds", "cpu_seconds"}], "journal", "rss_peak_kb"}) and PREFIX.ids
** (int64 rowid - 1, i.e. the base row, k per query and pass, -1 where fewer
** came back), as bench/common.py reads them.
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

/* One pass over the queries at one ef (and label limit lt, if bLt): every
** result row's id into aIds.  Binding a parameter the statement does not
** have fails with SQLITE_RANGE, which is ignored. */
static double pass(sqlite3_stmt *pStmt, const float *aQ, int nq, int dim, int k, int ef,
                   int bLt, int lt, int64_t *aIds) {
  double t0 = now();
  for (int q = 0; q < nq; q++) {
    int n = 0;
    sqlite3_bind_blob(pStmt, 1, aQ + (size_t)q * dim, dim * (int)sizeof(float), SQLITE_STATIC);
    sqlite3_bind_int(pStmt, 2, k);
    sqlite3_bind_int(pStmt, 3, ef);
    if (bLt) sqlite3_bind_int(pStmt, 4, lt);
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
  char *zEfs = strdup(opt(argc, argv, "ef", 0)), *zLts = strdup(opt(argc, argv, "lt", ""));
  int aEf[64], nEf = 0, efMax = 0, aLt[64], nLt = 0;
  int efFilter = atoi(opt(argc, argv, "filter-ef", "64"));
  int nWarm = atoi(opt(argc, argv, "warm", "-1"));
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
  for (char *z = strtok(zLts, ","); z && nLt < 64; z = strtok(0, ",")) aLt[nLt++] = atoi(z);
  if (nEf + nLt == 0) die("no pass: give --ef or --lt", 0);
  if (nWarm < 0 || nWarm > nq) nWarm = nq;
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

  /* warm-up: fills the cache of a reopened table */
  if (nEf) pass(pStmt, aQ, nWarm, dim, k, efMax, 0, 0, 0);
  else pass(pStmt, aQ, nWarm, dim, k, efFilter, 1, aLt[0], 0);
  snprintf(zPath, sizeof(zPath), "%s.ids", zOut);
  f = fopen(zPath, "wb");
  if (!f) die("cannot write", zPath);
  snprintf(zPath, sizeof(zPath), "%s.json", zOut);
  {
    FILE *fj = fopen(zPath, "w");
    if (!fj) die("cannot write", zPath);
    fprintf(fj, "{\"journal\": \"%s\", \"passes\": [", zJournal[0] ? zJournal : "as stored");
    for (int i = 0; i < nEf + nLt; i++) {
      int bLt = i >= nEf, ef = bLt ? efFilter : aEf[i], lt = bLt ? aLt[i - nEf] : 0;
      double c0 = cpuNow(), s = pass(pStmt, aQ, nq, dim, k, ef, bLt, lt, aIds);
      double c = cpuNow() - c0;
      char zLt[32] = "null";
      if (bLt) snprintf(zLt, sizeof(zLt), "%d", lt);
      fwrite(aIds, sizeof(int64_t), (size_t)nq * k, f);
      fprintf(fj, "%s\n  {\"ef\": %d, \"filter_lt\": %s, \"nq\": %d, \"seconds\": %.6f, \"cpu_seconds\": %.6f}",
              i ? "," : "", ef, zLt, nq, s, c);
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
  free(zLts);
  return 0;
}
