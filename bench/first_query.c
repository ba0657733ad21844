/*
** first_query.c: a new process's first KNN query, and nothing else.
**
** coldstart.c times the whole phase after opening (the first 1 000 queries,
** the first inserts); this driver times only what a process that opens the
** database for one query pays: open, load the extension, prepare and step
** one `MATCH ... AND k = 10 AND ef = E` query, in a new process per run
** (the driver runs itself again: a forked copy measured a few ms more),
** alternating between the builds named in every round (the machine's
** state drifts: on the VM measured, a 2 MiB page faulted in at random cost
** from 0.3 to several milliseconds depending on how fragmented memory was).
** Query r of the file is the one run r asks.
**
**   first_query --ext A[,B] --db FILE --queries F32 --dim D [--runs 21] [--ef 96]
**
** Prints one line per run (ms, minor page faults of the query) and, per
** build, the median with min-max of both.
*/
#define _GNU_SOURCE 1
#include <sqlite3.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define DRIVER_NAME "first_query"
#include "driver.h"

#define MAX_EXT 4
#define MAX_RUNS 200

static long minorFaults(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_minflt;
}

/* The child: one query, its figures written to fd (stdout). */
static void child(int fd, const char *zExt, const char *zDb, const float *q, int dim, int ef) {
  double t0 = now(), t1;
  long f0;
  sqlite3 *db = 0;
  sqlite3_stmt *pStmt = 0;
  char zSql[160], *zErr = 0, zOut[64];
  int n = 0;
  if (sqlite3_open_v2(zDb, &db, SQLITE_OPEN_READWRITE, 0) != SQLITE_OK) die("cannot open", zDb);
  sqlite3_enable_load_extension(db, 1);
  if (sqlite3_load_extension(db, zExt, 0, &zErr) != SQLITE_OK) die("cannot load", zErr);
  f0 = minorFaults();
  snprintf(zSql, sizeof(zSql), "SELECT rowid FROM t WHERE embedding MATCH ?1 AND k = 10 AND ef = %d",
           ef);
  if (sqlite3_prepare_v2(db, zSql, -1, &pStmt, 0) != SQLITE_OK) die(sqlite3_errmsg(db), 0);
  sqlite3_bind_blob(pStmt, 1, q, dim * (int)sizeof(float), SQLITE_STATIC);
  while (sqlite3_step(pStmt) == SQLITE_ROW) n++;
  if (sqlite3_finalize(pStmt) != SQLITE_OK || n != 10) die("the query failed", sqlite3_errmsg(db));
  t1 = now();
  snprintf(zOut, sizeof(zOut), "%.3f %ld\n", (t1 - t0) * 1e3, minorFaults() - f0);
  if (write(fd, zOut, strlen(zOut)) < 0) die("write", 0);
  sqlite3_close(db);
}

static int cmpDouble(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void summary(const char *zWhat, double *a, int n, const char *zUnit) {
  qsort(a, (size_t)n, sizeof(double), cmpDouble);
  printf("  %-28s %9.2f %s (%.2f - %.2f)\n", zWhat, n % 2 ? a[n / 2] : (a[n / 2 - 1] + a[n / 2]) / 2,
         zUnit, a[0], a[n - 1]);
}

/* first_query child EXT DB QUERIES DIM ROW EF */
static int childMain(char **argv) {
  int dim = atoi(argv[5]), r = atoi(argv[6]);
  float *q = malloc(sizeof(float) * (size_t)dim);
  FILE *f = fopen(argv[4], "rb");
  if (!q || !f || fseek(f, (long)r * dim * (long)sizeof(float), SEEK_SET) != 0 ||
      fread(q, sizeof(float), (size_t)dim, f) != (size_t)dim) {
    die("cannot read", argv[4]);
  }
  fclose(f);
  child(1, argv[2], argv[3], q, dim, atoi(argv[7]));
  return 0;
}

int main(int argc, char **argv) {
  char zExts[4096], *azExt[MAX_EXT];
  const char *zDb, *zQ;
  int dim, nRun;
  int ef, nExt = 0, r, e;
  static double aMs[MAX_EXT][MAX_RUNS], aFlt[MAX_EXT][MAX_RUNS];
  char zDim[16], zEf[16];
  if (argc == 8 && strcmp(argv[1], "child") == 0) return childMain(argv);
  zDb = opt(argc, argv, "db", 0);
  zQ = opt(argc, argv, "queries", 0);
  dim = atoi(opt(argc, argv, "dim", 0));
  nRun = atoi(opt(argc, argv, "runs", "21"));
  ef = atoi(opt(argc, argv, "ef", "96"));
  snprintf(zDim, sizeof(zDim), "%d", dim);
  snprintf(zEf, sizeof(zEf), "%d", ef);
  snprintf(zExts, sizeof(zExts), "%s", opt(argc, argv, "ext", 0));
  for (char *z = strtok(zExts, ","); z && nExt < MAX_EXT; z = strtok(0, ",")) azExt[nExt++] = z;
  if (dim < 1 || nRun < 1 || nRun > MAX_RUNS || nExt < 1 || ef < 10) die("bad option", 0);
  for (r = 0; r < nRun; r++) {
    for (e = 0; e < nExt; e++) {
      int fd[2], st;
      char zIn[64] = {0};
      pid_t pid;
      if (pipe(fd) != 0) die("pipe", 0);
      fflush(stdout);
      if ((pid = fork()) == 0) {
        char zRow[16];
        close(fd[0]);
        if (dup2(fd[1], 1) < 0) _exit(1);
        snprintf(zRow, sizeof(zRow), "%d", r);
        execl("/proc/self/exe", argv[0], "child", azExt[e], zDb, zQ, zDim, zRow, zEf, (char *)0);
        _exit(1);
      }
      close(fd[1]);
      if (read(fd[0], zIn, sizeof(zIn) - 1) <= 0) die("the child failed", azExt[e]);
      close(fd[0]);
      waitpid(pid, &st, 0);
      if (sscanf(zIn, "%lf %lf", &aMs[e][r], &aFlt[e][r]) != 2) die("bad child output", zIn);
      printf("run %2d %-40s %8.2f ms %6.0f faults\n", r + 1, azExt[e], aMs[e][r], aFlt[e][r]);
    }
  }
  for (e = 0; e < nExt; e++) {
    printf("%s: median of %d processes (min - max)\n", azExt[e], nRun);
    summary("open+load+1st query", aMs[e], nRun, "ms");
    summary("page faults, 1st query", aFlt[e], nRun, "  ");
  }
  return 0;
}
