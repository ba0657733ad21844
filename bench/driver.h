/*
** driver.h: what the C bench drivers share (knn_driver, knn_ab, build_driver,
** build_ab, coldstart): clocks, errors, --name value options, running SQL,
** peak RSS.  Each driver defines DRIVER_NAME (its name in error messages)
** and includes <sqlite3.h> before this file.  static inline: a driver that
** does not call one of them gets no unused-function warning.
*/
#ifndef BENCH_DRIVER_H
#define BENCH_DRIVER_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline double clockOf(clockid_t c) {
  struct timespec t;
  clock_gettime(c, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static inline double now(void) { return clockOf(CLOCK_MONOTONIC); }

static inline void die(const char *zMsg, const char *zArg) {
  fprintf(stderr, DRIVER_NAME ": %s%s%s\n", zMsg, zArg ? " " : "", zArg ? zArg : "");
  exit(1);
}

/* The value of --zName, or zDefault (none: the option is required). */
static inline const char *opt(int argc, char **argv, const char *zName, const char *zDefault) {
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strncmp(argv[i], "--", 2) == 0 && strcmp(argv[i] + 2, zName) == 0) return argv[i + 1];
  }
  if (!zDefault) die("missing option --", zName);
  return zDefault;
}

static inline void exec(sqlite3 *db, const char *zSql) {
  char *zErr = 0;
  if (sqlite3_exec(db, zSql, 0, 0, &zErr) != SQLITE_OK) die(zSql, zErr);
}

/* Peak resident set of this process in KiB (VmHWM), -1 if unknown. */
/* A "Field:  N kB" line of /proc/self/status (-1 where there is none). */
static inline long statusKb(const char *zField) {
  char line[256];
  size_t n = strlen(zField);
  long kb = -1;
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return -1;
  while (fgets(line, sizeof(line), f)) {
    if (strncmp(line, zField, n) == 0 && line[n] == ':') kb = atol(line + n + 1);
  }
  fclose(f);
  return kb;
}

static inline long peakKb(void) {
  return statusKb("VmHWM");
}

#endif
