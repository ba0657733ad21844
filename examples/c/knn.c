/*
** knn.c: vec0 linked into a program, the way an application embeds it.
**
** The static library (or the amalgamation compiled with -DSQLITE_CORE)
** registers itself on every connection the program opens, through
** sqlite3_auto_extension(); the program then stores a few vectors with
** their names and asks for the three nearest to a query.  Build and run:
**
**   cc knn.c $(pkg-config --cflags --libs vec0) -o knn && ./knn
*/
#include <stdio.h>

#include <sqlite3.h>
#include <vec0.h>

/* Prints the connection's error and returns 1 when rc is not what we want. */
static int failed(sqlite3 *db, int rc, int rcWant, const char *zWhat) {
  if (rc == rcWant) return 0;
  fprintf(stderr, "knn: %s: %s\n", zWhat, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  return 1;
}

int main(void) {
  static const struct {
    const char *zName;
    float a[4];
  } aItem[] = {
    {"apple", {1.0f, 0.0f, 0.0f, 0.0f}},  {"pear", {0.75f, 0.25f, 0.0f, 0.0f}},
    {"plum", {0.5f, 0.5f, 0.0f, 0.0f}},   {"carrot", {0.0f, 0.0f, 1.0f, 0.0f}},
    {"leek", {0.0f, 0.0f, 0.5f, 0.5f}},   {"salt", {0.0f, 0.0f, 0.0f, 1.0f}},
  };
  static const float aQuery[4] = {0.9f, 0.1f, 0.0f, 0.0f};
  sqlite3 *db = 0;
  sqlite3_stmt *pStmt = 0;
  int rc, i, bOk = 0;

  /* From here on every connection has the vec_* functions and vec0. */
  rc = sqlite3_auto_extension((void (*)(void))sqlite3_vec_init);
  if (failed(0, rc, SQLITE_OK, "sqlite3_auto_extension")) return 1;
  rc = sqlite3_open(":memory:", &db);
  if (failed(db, rc, SQLITE_OK, "open")) goto out;

  rc = sqlite3_exec(db, "CREATE VIRTUAL TABLE items USING vec0("
                        "embedding float[4], +name text)", 0, 0, 0);
  if (failed(db, rc, SQLITE_OK, "create")) goto out;

  /* Vectors are bound as BLOBs of little-endian float32 (the host order on
  ** every platform SQLite runs vec0 on today). */
  rc = sqlite3_prepare_v2(db, "INSERT INTO items(embedding, name) VALUES (?, ?)", -1,
                          &pStmt, 0);
  if (failed(db, rc, SQLITE_OK, "prepare insert")) goto out;
  for (i = 0; i < (int)(sizeof(aItem) / sizeof(aItem[0])); i++) {
    sqlite3_bind_blob(pStmt, 1, aItem[i].a, sizeof(aItem[i].a), SQLITE_STATIC);
    sqlite3_bind_text(pStmt, 2, aItem[i].zName, -1, SQLITE_STATIC);
    if (failed(db, sqlite3_step(pStmt), SQLITE_DONE, "insert")) goto out;
    sqlite3_reset(pStmt);
  }
  sqlite3_finalize(pStmt);
  pStmt = 0;

  rc = sqlite3_prepare_v2(db,
                          "SELECT rowid, name, distance FROM items "
                          "WHERE embedding MATCH ? AND k = 3 ORDER BY distance",
                          -1, &pStmt, 0);
  if (failed(db, rc, SQLITE_OK, "prepare query")) goto out;
  sqlite3_bind_blob(pStmt, 1, aQuery, sizeof(aQuery), SQLITE_STATIC);
  while ((rc = sqlite3_step(pStmt)) == SQLITE_ROW) {
    printf("%lld %-6s %.4f\n", (long long)sqlite3_column_int64(pStmt, 0),
           (const char *)sqlite3_column_text(pStmt, 1), sqlite3_column_double(pStmt, 2));
  }
  if (failed(db, rc, SQLITE_DONE, "query")) goto out;
  bOk = 1;

out:
  sqlite3_finalize(pStmt);
  sqlite3_close(db);
  return bOk ? 0 : 1;
}
