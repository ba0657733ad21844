/*
** knn_ab.c: two builds of vec0 in one process, their KNN passes alternated.
**
** A before/after comparison on a shared, loaded machine: two processes run
** a minute apart see different loads (one engine's QPS moved by 2x between
** passes here), and even their CPU seconds move by 10-20 %.  Here both
** builds are loaded into one process (each into its own connection to the
** same database: the extension exports one symbol, so two copies do not
** mix), and the passes over the same queries alternate, A B B A A B ...,
** so that both see the same load; the ratio is taken per pair of passes.
** Every query's rows and distances of B must equal A's (the speed work on
** the walk and the kernels keeps results exact): a difference is reported.
**
**   knn_ab --ext A,B --db FILE --queries F32 --dim D --nq N --k K --ef E
**          --rounds R [--table t] [--column embedding]
**
** Prints per round the CPU seconds of each pass and B/A, then the median
** ratio over the rounds with its spread, by CPU time and by wall time.
*/
#include <sqlite3.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DRIVER_NAME "knn_ab"
#include "driver.h"

/* One pass: every query's rows (rowid, distance) into aRow, k per query. */
static void pass(sqlite3_stmt *pStmt, const float *aQ, int nq, int dim, int k, int ef,
                 int64_t *aId, double *aDist, double *pCpu, double *pWall) {
  double c0 = clockOf(CLOCK_PROCESS_CPUTIME_ID), w0 = clockOf(CLOCK_MONOTONIC);
  for (int q = 0; q < nq; q++) {
    int n = 0;
    sqlite3_bind_blob(pStmt, 1, aQ + (size_t)q * dim, dim * (int)sizeof(float), SQLITE_STATIC);
    sqlite3_bind_int(pStmt, 2, k);
    sqlite3_bind_int(pStmt, 3, ef);
    while (sqlite3_step(pStmt) == SQLITE_ROW) {
      if (n < k) {
        aId[(size_t)q * k + n] = sqlite3_column_int64(pStmt, 0);
        aDist[(size_t)q * k + n] = sqlite3_column_double(pStmt, 1);
      }
      n++;
    }
    if (sqlite3_reset(pStmt) != SQLITE_OK) die("query failed:", sqlite3_errmsg(sqlite3_db_handle(pStmt)));
    for (; n < k; n++) {
      aId[(size_t)q * k + n] = -1;
      aDist[(size_t)q * k + n] = -1;
    }
  }
  *pCpu = clockOf(CLOCK_PROCESS_CPUTIME_ID) - c0;
  *pWall = clockOf(CLOCK_MONOTONIC) - w0;
}

static int cmpDouble(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static sqlite3_stmt *openOne(const char *zDb, const char *zExt, const char *zSql) {
  sqlite3 *db;
  sqlite3_stmt *pStmt;
  char *zErr = 0;
  if (sqlite3_open(zDb, &db) != SQLITE_OK) die("cannot open", zDb);
  sqlite3_enable_load_extension(db, 1);
  if (sqlite3_load_extension(db, zExt, 0, &zErr) != SQLITE_OK) die("cannot load:", zErr);
  if (sqlite3_exec(db, "PRAGMA journal_mode=wal", 0, 0, &zErr) != SQLITE_OK) die("journal:", zErr);
  if (sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0) != SQLITE_OK) die("prepare:", sqlite3_errmsg(db));
  return pStmt;
}

int main(int argc, char **argv) {
  char *zExts = strdup(opt(argc, argv, "ext", 0)), *zB = strchr(zExts, ',');
  const char *zDb = opt(argc, argv, "db", 0);
  int dim = atoi(opt(argc, argv, "dim", 0)), nq = atoi(opt(argc, argv, "nq", 0));
  int k = atoi(opt(argc, argv, "k", 0)), ef = atoi(opt(argc, argv, "ef", 0));
  int nRound = atoi(opt(argc, argv, "rounds", "8")), nDiff = 0;
  char zSql[512];
  sqlite3_stmt *apStmt[2];
  float *aQ;
  int64_t *aId[2];
  double *aDist[2], *aRatio, *aRatioWall, aCpu[2] = {0, 0}, aWall[2] = {0, 0};
  FILE *f;

  if (!zB) die("--ext takes two paths, A,B", 0);
  *zB++ = 0;
  snprintf(zSql, sizeof(zSql),
           "SELECT rowid, distance FROM %s WHERE %s MATCH ?1 AND k = ?2 AND ef = ?3",
           opt(argc, argv, "table", "t"), opt(argc, argv, "column", "embedding"));
  aQ = malloc(sizeof(float) * (size_t)nq * dim);
  aRatio = malloc(sizeof(double) * (size_t)nRound);
  aRatioWall = malloc(sizeof(double) * (size_t)nRound);
  for (int i = 0; i < 2; i++) {
    aId[i] = malloc(sizeof(int64_t) * (size_t)nq * k);
    aDist[i] = malloc(sizeof(double) * (size_t)nq * k);
    if (!aId[i] || !aDist[i]) die("out of memory", 0);
  }
  if (!aQ || !aRatio || !aRatioWall) die("out of memory", 0);
  f = fopen(opt(argc, argv, "queries", 0), "rb");
  if (!f || fread(aQ, sizeof(float) * dim, (size_t)nq, f) != (size_t)nq) die("cannot read queries", 0);
  fclose(f);
  apStmt[0] = openOne(zDb, zExts, zSql);
  apStmt[1] = openOne(zDb, zB, zSql);
  /* warm-up: each connection fills its own cache */
  for (int i = 0; i < 2; i++) pass(apStmt[i], aQ, nq, dim, k, ef, aId[i], aDist[i], &aCpu[i], &aWall[i]);

  for (int r = 0; r < nRound; r++) {
    double c[2], w[2];
    for (int j = 0; j < 2; j++) {
      int i = (r & 1) ? 1 - j : j; /* A B, then B A */
      pass(apStmt[i], aQ, nq, dim, k, ef, aId[i], aDist[i], &c[i], &w[i]);
    }
    for (size_t x = 0; x < (size_t)nq * k; x++) {
      if (aId[0][x] != aId[1][x] || memcmp(&aDist[0][x], &aDist[1][x], sizeof(double)) != 0) {
        if (nDiff++ < 5) {
          fprintf(stderr, "query %d row %d: A %lld %.17g, B %lld %.17g\n", (int)(x / k),
                  (int)(x % k), (long long)aId[0][x], aDist[0][x], (long long)aId[1][x],
                  aDist[1][x]);
        }
      }
    }
    aRatio[r] = c[0] / c[1];
    aRatioWall[r] = w[0] / w[1];
    printf("round %d: cpu A %.3f s, B %.3f s, B/A speed %.3f (wall %.3f)\n", r + 1, c[0], c[1],
           aRatio[r], aRatioWall[r]);
  }
  qsort(aRatio, (size_t)nRound, sizeof(double), cmpDouble);
  qsort(aRatioWall, (size_t)nRound, sizeof(double), cmpDouble);
  printf("B/A speed (QPS of B over A), median of %d rounds: by CPU time %.3f (%.3f-%.3f), "
         "by wall time %.3f (%.3f-%.3f); results %s\n",
         nRound, aRatio[nRound / 2], aRatio[0], aRatio[nRound - 1], aRatioWall[nRound / 2],
         aRatioWall[0], aRatioWall[nRound - 1], nDiff ? "DIFFER" : "identical");
  return nDiff ? 2 : 0;
}
