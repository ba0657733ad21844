/*
** coldstart.c: what a new process pays before vec0 is at full speed.
**
** A command-line user, a serverless function or a worker that opens the
** database per request lives in the phase after opening.  This driver times
** it from C, in fresh processes, for one or more builds of the extension
** (alternating between them in every round):
**
**   query:  open + load the extension + the first KNN query (ms); then the
**           first NQ queries (the first one included) in batches of 100 (QPS
**           of each batch and of all NQ), then the same NQ queries twice
**           more, the last pass being the steady state;
**   insert: on a fresh copy of the database (WAL, synchronous=NORMAL), the
**           first NI single-row autocommit INSERTs after opening (first, median,
**           p90 ms), then NQ queries and NI more INSERTs (their median: the
**           warm figure).
**
**   coldstart --ext A[,B] --data DIR --db FILE [--rounds 5] [--ef 96]
**             [--nq 1000] [--ni 50] [--pre "SQL"]
**
** DIR holds base.f32, queries.f32 and extra.f32 (bench/datasets.py).  FILE
** is built with the first extension if it does not exist: every base row in
** one transaction into `t(embedding float[D] indexed by hnsw(m=16,
** ef_construction=200))`.  --pre runs SQL after opening in every child (for
** example "INSERT INTO t(t) VALUES ('warm')"; it is inside the open figure).
** Prints one line per process and the medians (with min-max) per build.
*/
#define _GNU_SOURCE 1 /* RUSAGE_THREAD */
#include <sqlite3.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DRIVER_NAME "coldstart"
#include "driver.h"

#define MAX_EXT 4
#define MAX_ROUNDS 64
#define BATCH 100
#define MAX_BATCH 100

/* Page faults of this process so far: on a VM they can cost more than the reads. */
static long faults(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_minflt + ru.ru_majflt;
}

/*
** CPU seconds of the calling thread so far (of the process where threads
** cannot be told apart): steadier than wall time on a loaded machine, and
** without the fill's helper thread, whose time the caller does not wait for.
*/
static double cpu(void) {
  struct rusage ru;
#ifdef RUSAGE_THREAD
  getrusage(RUSAGE_THREAD, &ru);
#else
  getrusage(RUSAGE_SELF, &ru);
#endif
  return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

/* n float32 rows of dim from FILE (all of them when n < 0); *pn gets the count. */
static float *readRows(const char *zDir, const char *zName, int dim, long n, long *pn) {
  char zPath[4096];
  struct stat st;
  FILE *f;
  float *a;
  snprintf(zPath, sizeof(zPath), "%s/%s", zDir, zName);
  if (stat(zPath, &st) != 0) die("cannot stat", zPath);
  if (n < 0) n = (long)(st.st_size / (off_t)(sizeof(float) * dim));
  a = malloc(sizeof(float) * (size_t)n * dim + 1);
  f = fopen(zPath, "rb");
  if (!a || !f || fread(a, sizeof(float) * dim, (size_t)n, f) != (size_t)n) die("cannot read", zPath);
  fclose(f);
  *pn = n;
  return a;
}

static sqlite3 *openDb(const char *zDb, const char *zExt) {
  sqlite3 *db;
  char *zErr = 0;
  if (sqlite3_open(zDb, &db) != SQLITE_OK) die("cannot open", zDb);
  sqlite3_enable_load_extension(db, 1);
  if (sqlite3_load_extension(db, zExt, 0, &zErr) != SQLITE_OK) die("cannot load:", zErr);
  return db;
}

static void build(const char *zDb, const char *zExt, const char *zDir, int dim) {
  long n = 0;
  float *a = readRows(zDir, "base.f32", dim, -1, &n);
  sqlite3 *db = openDb(zDb, zExt);
  sqlite3_stmt *pStmt;
  char zSql[256];
  double t0 = now();
  exec(db, "PRAGMA journal_mode=WAL");
  snprintf(zSql, sizeof(zSql),
           "CREATE VIRTUAL TABLE t USING vec0(embedding float[%d] "
           "indexed by hnsw(m=16, ef_construction=200))", dim);
  exec(db, zSql);
  exec(db, "BEGIN");
  if (sqlite3_prepare_v2(db, "INSERT INTO t(rowid, embedding) VALUES (?, ?)", -1, &pStmt, 0)) {
    die("prepare:", sqlite3_errmsg(db));
  }
  for (long i = 0; i < n; i++) {
    sqlite3_bind_int64(pStmt, 1, i + 1);
    sqlite3_bind_blob(pStmt, 2, a + (size_t)i * dim, dim * (int)sizeof(float), SQLITE_STATIC);
    if (sqlite3_step(pStmt) != SQLITE_DONE) die("insert:", sqlite3_errmsg(db));
    sqlite3_reset(pStmt);
  }
  sqlite3_finalize(pStmt);
  exec(db, "COMMIT");
  sqlite3_close(db);
  fprintf(stderr, "coldstart: built %s (%ld rows) in %.1f s\n", zDb, n, now() - t0);
  free(a);
}

static void query(sqlite3_stmt *pStmt, const float *aQ, int dim, int ef) {
  sqlite3_bind_blob(pStmt, 1, aQ, dim * (int)sizeof(float), SQLITE_STATIC);
  sqlite3_bind_int(pStmt, 2, 10);
  sqlite3_bind_int(pStmt, 3, ef);
  while (sqlite3_step(pStmt) == SQLITE_ROW) {
  }
  if (sqlite3_reset(pStmt) != SQLITE_OK) die("query:", sqlite3_errmsg(sqlite3_db_handle(pStmt)));
}

static const char *zQuerySql = "SELECT rowid FROM t WHERE embedding MATCH ?1 AND k = ?2 AND ef = ?3";

/*
** The query child: "open_ms first_ms cold_qps steady_qps faults1 faultsN
** b1 .. bN | cpu_ms1 cpu_cold cpu_warm" (faults: of the first query, of the
** first NQ; CPU: ms of the first query, seconds of the first NQ and of the
** last pass).
*/
static void childQuery(const char *zDb, const char *zExt, const char *zDir, int dim, int nq,
                       int ef, const char *zPre) {
  long n = 0;
  float *aQ = readRows(zDir, "queries.f32", dim, nq, &n);
  double aBatch[MAX_BATCH], t0, t1, tFirst, tPrev, tCold, tWarm = 0, c1, cFirst, cCold, cWarm = 0;
  int nBatch = 0;
  long f0, f1, f2;
  sqlite3 *db;
  sqlite3_stmt *pStmt;

  t0 = now();
  db = openDb(zDb, zExt);
  if (zPre[0]) exec(db, zPre);
  if (sqlite3_prepare_v2(db, zQuerySql, -1, &pStmt, 0) != SQLITE_OK) die("prepare:", sqlite3_errmsg(db));
  t1 = tPrev = now();
  c1 = cpu();
  f0 = faults();
  query(pStmt, aQ, dim, ef);
  tFirst = now();
  cFirst = cpu() - c1;
  f1 = faults();
  for (int q = 1; q < nq; q++) {
    query(pStmt, aQ + (size_t)q * dim, dim, ef);
    if ((q + 1) % BATCH == 0 && nBatch < MAX_BATCH) {
      double t = now();
      aBatch[nBatch++] = BATCH / (t - tPrev);
      tPrev = t;
    }
  }
  tCold = now() - t1;
  cCold = cpu() - c1;
  f2 = faults();
  for (int pass = 0; pass < 2; pass++) {
    double t = now(), c = cpu();
    for (int q = 0; q < nq; q++) query(pStmt, aQ + (size_t)q * dim, dim, ef);
    tWarm = now() - t;
    cWarm = cpu() - c;
  }
  printf("%.3f %.3f %.1f %.1f %ld %ld", (tFirst - t0) * 1e3, (tFirst - t1) * 1e3, nq / tCold,
         nq / tWarm, f1 - f0, f2 - f0);
  for (int i = 0; i < nBatch; i++) printf(" %.1f", aBatch[i]);
  printf(" | %.3f %.4f %.4f\n", cFirst * 1e3, cCold, cWarm);
  sqlite3_finalize(pStmt);
  sqlite3_close(db);
  free(aQ);
}

static int cmpDouble(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* ni single-row INSERTs of extra rows [i0, i0+ni): each one's ms into aMs. */
static void inserts(sqlite3 *db, const float *aX, int dim, int i0, int ni, double *aMs,
                    double *pCpu1) {
  sqlite3_stmt *pStmt;
  if (sqlite3_prepare_v2(db, "INSERT INTO t(rowid, embedding) VALUES (?, ?)", -1, &pStmt, 0)) {
    die("prepare:", sqlite3_errmsg(db));
  }
  for (int i = i0; i < i0 + ni; i++) {
    double t = now(), c = cpu();
    /* above any base row's rowid (a 1M table ends at 1 000 000) */
    sqlite3_bind_int64(pStmt, 1, ((sqlite3_int64)1 << 40) + i);
    sqlite3_bind_blob(pStmt, 2, aX + (size_t)i * dim, dim * (int)sizeof(float), SQLITE_STATIC);
    if (sqlite3_step(pStmt) != SQLITE_DONE) die("insert:", sqlite3_errmsg(db));
    sqlite3_reset(pStmt);
    aMs[i - i0] = (now() - t) * 1e3;
    if (i == i0) *pCpu1 = (cpu() - c) * 1e3;
  }
  sqlite3_finalize(pStmt);
}

/* The insert child: "open_ms first_ms median_ms p90_ms warm_median_ms first_cpu_ms". */
static void childInsert(const char *zDb, const char *zExt, const char *zDir, int dim, int nq,
                        int ni, int ef, const char *zPre) {
  long n = 0, nx = 0;
  float *aQ = readRows(zDir, "queries.f32", dim, nq, &n);
  float *aX = readRows(zDir, "extra.f32", dim, 2 * ni, &nx);
  double *aMs = malloc(sizeof(double) * (size_t)ni), t0, tOpen, first, cpu1 = 0, cpuW = 0;
  sqlite3 *db;
  sqlite3_stmt *pStmt;

  t0 = now();
  db = openDb(zDb, zExt);
  exec(db, "PRAGMA journal_mode=WAL");
  exec(db, "PRAGMA synchronous=NORMAL");
  if (zPre[0]) exec(db, zPre);
  tOpen = now() - t0;
  inserts(db, aX, dim, 0, ni, aMs, &cpu1);
  first = aMs[0];
  qsort(aMs, (size_t)ni, sizeof(double), cmpDouble);
  printf("%.3f %.3f %.3f %.3f", tOpen * 1e3, first, aMs[ni / 2], aMs[ni * 9 / 10]);
  if (sqlite3_prepare_v2(db, zQuerySql, -1, &pStmt, 0) != SQLITE_OK) die("prepare:", sqlite3_errmsg(db));
  for (int pass = 0; pass < 2; pass++) {
    for (int q = 0; q < nq; q++) query(pStmt, aQ + (size_t)q * dim, dim, ef);
  }
  sqlite3_finalize(pStmt);
  inserts(db, aX, dim, ni, ni, aMs, &cpuW);
  qsort(aMs, (size_t)ni, sizeof(double), cmpDouble);
  printf(" %.3f %.3f\n", aMs[ni / 2], cpu1);
  sqlite3_close(db);
  free(aQ);
  free(aX);
  free(aMs);
}

static void copyFile(const char *zFrom, const char *zTo) {
  static char buf[1 << 20];
  FILE *in = fopen(zFrom, "rb"), *out = fopen(zTo, "wb");
  size_t n;
  if (!in || !out) die("cannot copy to", zTo);
  while ((n = fread(buf, 1, sizeof(buf), in)) > 0) {
    if (fwrite(buf, 1, n, out) != n) die("cannot write", zTo);
  }
  /*
  ** Written to disk before the child opens it: otherwise the first INSERT's
  ** WAL header sync (SQLite syncs a new WAL's header even at synchronous=
  ** NORMAL) waits for the copy's 190 MB of dirty pages (ext4 data=ordered),
  ** ~100 ms that belong to this copy, not to the INSERT.
  */
  if (fflush(out) != 0 || fsync(fileno(out)) != 0) die("cannot sync", zTo);
  fclose(in);
  fclose(out);
}

/* Runs argv in a child process; its first output line into zLine. */
static void runChild(char **argv, char *zLine, int nLine) {
  int fd[2];
  pid_t pid;
  FILE *f;
  int status = 0;
  if (pipe(fd) != 0) die("pipe", 0);
  pid = fork();
  if (pid < 0) die("fork", 0);
  if (pid == 0) {
    dup2(fd[1], 1);
    close(fd[0]);
    close(fd[1]);
    execv(argv[0], argv);
    _exit(127);
  }
  close(fd[1]);
  f = fdopen(fd[0], "r");
  zLine[0] = 0;
  if (!f || !fgets(zLine, nLine, f)) zLine[0] = 0;
  if (f) fclose(f);
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || zLine[0] == 0) die("child failed:", argv[1]);
}

/* Median, min and max of a[0..n-1] (sorts a). */
static void stat3(double *a, int n, const char *zName, const char *zUnit) {
  qsort(a, (size_t)n, sizeof(double), cmpDouble);
  printf("  %-28s %10.2f %s   (%.2f - %.2f)\n", zName, n % 2 ? a[n / 2] : (a[n / 2 - 1] + a[n / 2]) / 2,
         zUnit, a[0], a[n - 1]);
}

int main(int argc, char **argv) {
  char zExts[4096], *azExt[MAX_EXT], zDbIns[4200], zLine[4096];
  const char *zDir, *zDb, *zPre;
  int dim, nq, ni, ef, nRound, nExt = 0;
  static double aOpen[MAX_EXT][MAX_ROUNDS], aCold[MAX_EXT][MAX_ROUNDS], aWarm[MAX_EXT][MAX_ROUNDS],
      aRatio[MAX_EXT][MAX_ROUNDS], aB1[MAX_EXT][MAX_ROUNDS], aIns1[MAX_EXT][MAX_ROUNDS],
      aInsMed[MAX_EXT][MAX_ROUNDS], aInsP90[MAX_EXT][MAX_ROUNDS], aInsWarm[MAX_EXT][MAX_ROUNDS],
      aF1[MAX_EXT][MAX_ROUNDS], aFN[MAX_EXT][MAX_ROUNDS], aCpu1[MAX_EXT][MAX_ROUNDS],
      aCpuRatio[MAX_EXT][MAX_ROUNDS], aCpuIns1[MAX_EXT][MAX_ROUNDS];

  if (argc >= 2 && strcmp(argv[1], "child-query") == 0) {
    childQuery(argv[2], argv[3], argv[4], atoi(argv[5]), atoi(argv[6]), atoi(argv[7]), argv[8]);
    return 0;
  }
  if (argc >= 2 && strcmp(argv[1], "child-insert") == 0) {
    childInsert(argv[2], argv[3], argv[4], atoi(argv[5]), atoi(argv[6]), atoi(argv[7]),
                atoi(argv[8]), argv[9]);
    return 0;
  }
  snprintf(zExts, sizeof(zExts), "%s", opt(argc, argv, "ext", 0));
  for (char *z = strtok(zExts, ","); z && nExt < MAX_EXT; z = strtok(0, ",")) azExt[nExt++] = z;
  zDir = opt(argc, argv, "data", 0);
  zDb = opt(argc, argv, "db", 0);
  zPre = opt(argc, argv, "pre", "");
  dim = atoi(opt(argc, argv, "dim", "784"));
  nq = atoi(opt(argc, argv, "nq", "1000"));
  ni = atoi(opt(argc, argv, "ni", "50"));
  ef = atoi(opt(argc, argv, "ef", "96"));
  nRound = atoi(opt(argc, argv, "rounds", "5"));
  if (nRound < 1 || nRound > MAX_ROUNDS || nq < BATCH || ni < 2) die("bad option", 0);
  if (access(zDb, F_OK) != 0) build(zDb, azExt[0], zDir, dim);
  snprintf(zDbIns, sizeof(zDbIns), "%s.ins", zDb);
  printf("coldstart: %s, ef %d, %d queries, %d inserts, %d rounds\n", zDb, ef, nq, ni, nRound);
  for (int r = 0; r < nRound; r++) {
    for (int j = 0; j < nExt; j++) {
      int e = r % 2 ? nExt - 1 - j : j; /* alternate the order */
      char zDim[16], zNq[16], zNi[16], zEf[16], zDbInsWal[4300];
      char *azQ[] = {argv[0], "child-query", (char *)zDb, azExt[e], (char *)zDir, zDim, zNq, zEf,
                     (char *)zPre, 0};
      char *azI[] = {argv[0], "child-insert", zDbIns, azExt[e], (char *)zDir, zDim, zNq, zNi, zEf,
                     (char *)zPre, 0};
      double b1 = 0;
      snprintf(zDim, sizeof(zDim), "%d", dim);
      snprintf(zNq, sizeof(zNq), "%d", nq);
      snprintf(zNi, sizeof(zNi), "%d", ni);
      snprintf(zEf, sizeof(zEf), "%d", ef);
      runChild(azQ, zLine, sizeof(zLine));
      printf("round %d %-40s query : %s", r + 1, azExt[e], zLine);
      if (sscanf(zLine, "%lf %*f %lf %lf %lf %lf %lf", &aOpen[e][r], &aCold[e][r], &aWarm[e][r],
                 &aF1[e][r], &aFN[e][r], &b1) != 6) {
        die("bad child output", zLine);
      }
      aRatio[e][r] = 100.0 * aCold[e][r] / aWarm[e][r];
      aB1[e][r] = b1;
      {
        const char *zCpu = strchr(zLine, '|');
        double cCold = 0, cWarm = 0;
        if (!zCpu || sscanf(zCpu + 1, "%lf %lf %lf", &aCpu1[e][r], &cCold, &cWarm) != 3) {
          die("bad child output", zLine);
        }
        aCpuRatio[e][r] = cCold > 0 ? 100.0 * cWarm / cCold : 0;
      }
      copyFile(zDb, zDbIns);
      snprintf(zDbInsWal, sizeof(zDbInsWal), "%s-wal", zDbIns);
      unlink(zDbInsWal);
      snprintf(zDbInsWal, sizeof(zDbInsWal), "%s-shm", zDbIns);
      unlink(zDbInsWal);
      runChild(azI, zLine, sizeof(zLine));
      printf("round %d %-40s insert: %s", r + 1, azExt[e], zLine);
      if (sscanf(zLine, "%*f %lf %lf %lf %lf %lf", &aIns1[e][r], &aInsMed[e][r], &aInsP90[e][r],
                 &aInsWarm[e][r], &aCpuIns1[e][r]) != 5) {
        die("bad child output", zLine);
      }
      fflush(stdout);
    }
  }
  for (int e = 0; e < nExt; e++) {
    printf("%s: median of %d processes (min - max)\n", azExt[e], nRound);
    stat3(aOpen[e], nRound, "open+load+1st query", "ms");
    stat3(aF1[e], nRound, "page faults, 1st query", "");
    stat3(aB1[e], nRound, "QPS of queries 1-100", "");
    stat3(aCold[e], nRound, "QPS of the first queries", "");
    stat3(aWarm[e], nRound, "QPS warm (same queries)", "");
    stat3(aRatio[e], nRound, "first / warm", "%");
    stat3(aFN[e], nRound, "page faults, first queries", "");
    stat3(aCpu1[e], nRound, "CPU of the 1st query", "ms");
    stat3(aCpuRatio[e], nRound, "CPU first / warm, as QPS", "%");
    stat3(aIns1[e], nRound, "1st INSERT", "ms");
    stat3(aCpuIns1[e], nRound, "CPU of the 1st INSERT", "ms");
    stat3(aInsMed[e], nRound, "INSERTs 1-N median", "ms");
    stat3(aInsP90[e], nRound, "INSERTs 1-N p90", "ms");
    stat3(aInsWarm[e], nRound, "INSERTs warm median", "ms");
  }
  unlink(zDbIns);
  return 0;
}
