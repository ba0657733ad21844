/*
** minishell.c: runs SQL from stdin on a database with a newer SQLite than
** Debian 12's, for the tests of what vec0 does only there (LIMIT passed to
** virtual tables from 3.41, xIntegrity from 3.44).  It is built against the
** SQLite amalgamation that `make newsqlite` fetches (npm better-sqlite3
** ships one); it loads the extension named by its second argument, then
** prints each row as "a|b|c" and each error as "Error: ..." and goes on,
** like the sqlite3 shell in list mode.
**   minishell DB path/to/vec0 < script.sql
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlite3.h"

static char *readAll(FILE *f) {
  size_t n = 0, cap = 4096;
  char *z = malloc(cap);
  int c;
  while (z && (c = fgetc(f)) != EOF) {
    if (n + 1 >= cap) z = realloc(z, cap *= 2);
    if (z) z[n++] = (char)c;
  }
  if (z) z[n] = 0;
  return z;
}

int main(int argc, char **argv) {
  sqlite3 *db;
  char *zErr = 0, *zSql;
  const char *z;
  if (argc != 3) {
    fprintf(stderr, "usage: %s DB EXTENSION < script.sql\n", argv[0]);
    return 2;
  }
  if (sqlite3_open(argv[1], &db) != SQLITE_OK) return 1;
  sqlite3_enable_load_extension(db, 1);
  if (sqlite3_load_extension(db, argv[2], 0, &zErr) != SQLITE_OK) {
    printf("Error: %s\n", zErr);
    return 1;
  }
  printf("sqlite %s\n", sqlite3_libversion());
  zSql = readAll(stdin);
  for (z = zSql; z && *z;) {
    sqlite3_stmt *pStmt = 0;
    const char *zTail = 0;
    int rc = sqlite3_prepare_v2(db, z, -1, &pStmt, &zTail);
    if (rc != SQLITE_OK) {
      printf("Error: %s\n", sqlite3_errmsg(db));
      /* skip to the end of the statement */
      zTail = strchr(z, ';');
      zTail = zTail ? zTail + 1 : z + strlen(z);
    }
    while (pStmt && (rc = sqlite3_step(pStmt)) == SQLITE_ROW) {
      for (int i = 0; i < sqlite3_column_count(pStmt); i++) {
        const unsigned char *t = sqlite3_column_text(pStmt, i);
        printf("%s%s", i ? "|" : "", t ? (const char *)t : "");
      }
      printf("\n");
    }
    if (pStmt && rc != SQLITE_DONE) printf("Error: %s\n", sqlite3_errmsg(db));
    sqlite3_finalize(pStmt);
    z = zTail;
  }
  free(zSql);
  sqlite3_close(db);
  return 0;
}
