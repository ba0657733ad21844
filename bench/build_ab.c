/*
** build_ab.c: two builds of vec0 in one process, their HNSW bulk builds
** alternated (the build-side sibling of knn_ab.c).
**
** On the shared machine a build's CPU seconds move by 10-20 % between two
** processes a minute apart (other sessions' load, caches, the hypervisor).
** Here both builds are loaded into one process, each into its own
** in-memory connection, and each round builds the same N rows with A then B
** (B then A every other round), so both see the same load; the ratio is
** taken per round.  A build: CREATE the table (m, ef_construction),
** 'threads=T', BEGIN, N prepared INSERTs, COMMIT (the batch is built
** there); the CPU time is the process's (all threads), from BEGIN to
** COMMIT.  The two databases must hold the same shadow-table bytes (every
** round, checked by comparing every row of every vec0 shadow table): a
** difference is reported and the program exits non-zero.
**
**   build_ab --ext A,B --base F32 --n N --dim D --m M --efc E --threads T
**            --rounds R
**
** Prints per round each build's CPU and wall seconds and B/A, then the
** median ratio with its spread.
*/
#include <sqlite3.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DRIVER_NAME "build_ab"
#include "driver.h"

/* One build into a new in-memory database; returns it open. */
static sqlite3 *build(const char *zExt, const float *aRow, long n, int dim, int m, int efc,
                      int nThread, double *pCpu, double *pWall) {
  sqlite3 *db;
  sqlite3_stmt *pIns;
  char *zErr = 0, *z;
  double c0, w0;
  if (sqlite3_open(":memory:", &db) != SQLITE_OK) die("cannot open", 0);
  sqlite3_enable_load_extension(db, 1);
  if (sqlite3_load_extension(db, zExt, 0, &zErr) != SQLITE_OK) die("cannot load:", zErr);
  z = sqlite3_mprintf("CREATE VIRTUAL TABLE t USING vec0(embedding float[%d] indexed by "
                      "hnsw(m=%d, ef_construction=%d))", dim, m, efc);
  exec(db, z);
  sqlite3_free(z);
  z = sqlite3_mprintf("INSERT INTO t(t) VALUES ('threads=%d')", nThread);
  exec(db, z);
  sqlite3_free(z);
  if (sqlite3_prepare_v2(db, "INSERT INTO t(rowid, embedding) VALUES (?1, ?2)", -1, &pIns,
                         0) != SQLITE_OK) {
    die("prepare:", sqlite3_errmsg(db));
  }
  c0 = clockOf(CLOCK_PROCESS_CPUTIME_ID);
  w0 = clockOf(CLOCK_MONOTONIC);
  exec(db, "BEGIN");
  for (long i = 0; i < n; i++) {
    sqlite3_bind_int64(pIns, 1, i + 1);
    sqlite3_bind_blob(pIns, 2, aRow + (size_t)i * dim, dim * (int)sizeof(float), SQLITE_STATIC);
    if (sqlite3_step(pIns) != SQLITE_DONE) die("insert:", sqlite3_errmsg(db));
    sqlite3_reset(pIns);
  }
  exec(db, "COMMIT");
  *pCpu = clockOf(CLOCK_PROCESS_CPUTIME_ID) - c0;
  *pWall = clockOf(CLOCK_MONOTONIC) - w0;
  sqlite3_finalize(pIns);
  return db;
}

/* Whether every vec0 shadow table holds the same rows in a and b; the
** tables and rows compared added to *pnTab and *pnRow. */
static int sameBytes(sqlite3 *a, sqlite3 *b, long *pnTab, long *pnRow) {
  sqlite3_stmt *pT;
  int bSame = 1;
  if (sqlite3_prepare_v2(a, "SELECT name FROM sqlite_schema WHERE type='table' AND name LIKE "
                            "'t\\_%' ESCAPE '\\' ORDER BY name", -1, &pT, 0) != SQLITE_OK) {
    die("schema:", sqlite3_errmsg(a));
  }
  while (bSame && sqlite3_step(pT) == SQLITE_ROW) {
    char *z = sqlite3_mprintf("SELECT * FROM \"%w\"", sqlite3_column_text(pT, 0));
    sqlite3_stmt *pA, *pB;
    if (sqlite3_prepare_v2(a, z, -1, &pA, 0) != SQLITE_OK) die("read a:", sqlite3_errmsg(a));
    if (sqlite3_prepare_v2(b, z, -1, &pB, 0) != SQLITE_OK) die("read b:", sqlite3_errmsg(b));
    sqlite3_free(z);
    ++*pnTab;
    for (;;) {
      int ra = sqlite3_step(pA), rb = sqlite3_step(pB), nc;
      if (ra != rb) {
        bSame = 0;
        break;
      }
      if (ra != SQLITE_ROW) break;
      ++*pnRow;
      nc = sqlite3_column_count(pA);
      for (int c = 0; c < nc && bSame; c++) {
        int na = sqlite3_column_bytes(pA, c), nb = sqlite3_column_bytes(pB, c);
        const void *va = sqlite3_column_blob(pA, c), *vb = sqlite3_column_blob(pB, c);
        if (sqlite3_column_type(pA, c) != sqlite3_column_type(pB, c) || na != nb ||
            (na > 0 && memcmp(va, vb, (size_t)na) != 0)) {
          fprintf(stderr, "build_ab: table %s differs\n", sqlite3_column_text(pT, 0));
          bSame = 0;
        }
      }
      if (!bSame) break;
    }
    sqlite3_finalize(pA);
    sqlite3_finalize(pB);
  }
  sqlite3_finalize(pT);
  return bSame;
}

static int cmpDouble(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  char *zExt = strdup(opt(argc, argv, "ext", 0)), *zB = strchr(zExt, ',');
  long n = atol(opt(argc, argv, "n", 0));
  int dim = atoi(opt(argc, argv, "dim", 0)), m = atoi(opt(argc, argv, "m", "16"));
  int efc = atoi(opt(argc, argv, "efc", "200")), nThread = atoi(opt(argc, argv, "threads", "1"));
  int nRound = atoi(opt(argc, argv, "rounds", "5")), bDiffer = 0;
  float *aRow = malloc(sizeof(float) * (size_t)n * dim);
  double *aRatio = malloc(sizeof(double) * (size_t)nRound), *aCpuA = malloc(sizeof(double) * (size_t)nRound);
  double *aCpuB = malloc(sizeof(double) * (size_t)nRound);
  FILE *f = fopen(opt(argc, argv, "base", 0), "rb");
  if (!zB) die("--ext wants A,B", 0);
  *zB++ = 0;
  if (!aRow || !aRatio || !aCpuA || !aCpuB || !f) die("cannot read the base", 0);
  if (fread(aRow, sizeof(float) * dim, (size_t)n, f) != (size_t)n) die("short base", 0);
  fclose(f);
  for (int r = 0; r < nRound; r++) {
    double cA, wA, cB, wB;
    long nTab = 0, nRowCmp = 0;
    sqlite3 *dbA, *dbB;
    if (r % 2 == 0) {
      dbA = build(zExt, aRow, n, dim, m, efc, nThread, &cA, &wA);
      dbB = build(zB, aRow, n, dim, m, efc, nThread, &cB, &wB);
    } else {
      dbB = build(zB, aRow, n, dim, m, efc, nThread, &cB, &wB);
      dbA = build(zExt, aRow, n, dim, m, efc, nThread, &cA, &wA);
    }
    if (!sameBytes(dbA, dbB, &nTab, &nRowCmp)) bDiffer = 1;
    sqlite3_close(dbA);
    sqlite3_close(dbB);
    aRatio[r] = cB / cA;
    aCpuA[r] = cA;
    aCpuB[r] = cB;
    printf("round %d: A cpu %.2f s wall %.2f s | B cpu %.2f s wall %.2f s | B/A cpu %.3f | %s (%ld tables, %ld rows)\n",
           r + 1, cA, wA, cB, wB, cB / cA, bDiffer ? "DIFFERENT BYTES" : "same bytes", nTab,
           nRowCmp);
    fflush(stdout);
  }
  qsort(aRatio, (size_t)nRound, sizeof(double), cmpDouble);
  qsort(aCpuA, (size_t)nRound, sizeof(double), cmpDouble);
  qsort(aCpuB, (size_t)nRound, sizeof(double), cmpDouble);
  printf("median cpu A %.2f s (%.2f-%.2f), B %.2f s (%.2f-%.2f); B/A %.3f (%.3f-%.3f) over %d rounds\n",
         aCpuA[nRound / 2], aCpuA[0], aCpuA[nRound - 1], aCpuB[nRound / 2], aCpuB[0],
         aCpuB[nRound - 1], aRatio[nRound / 2], aRatio[0], aRatio[nRound - 1], nRound);
  free(aRow);
  free(aRatio);
  free(aCpuA);
  free(aCpuB);
  free(zExt);
  return bDiffer;
}
