/*
** fuzz_config.c: libFuzzer target for the CREATE VIRTUAL TABLE arguments.
**
** The input is a list of module arguments separated by newlines.  They go
** to vec0ConfigParse() directly, which must accept them with a consistent
** configuration or refuse them with a "vec0: " message; an accepted
** configuration must declare a schema.  Then the same arguments, joined by
** commas, run as a real CREATE VIRTUAL TABLE (which SQLite splits itself),
** followed by one INSERT, one KNN query, an integrity-check and DROP TABLE,
** all of which may fail but only with a message.
*/
#include "vec0Int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sqlite3_vec_init(sqlite3 *db, char **pzErrMsg, const sqlite3_api_routines *pApi);

#define MAX_ARGS 64

static sqlite3 *db;

static void fail(const char *zWhat, const char *zDetail) {
  fprintf(stderr, "fuzz_config: %s: %s\n", zWhat, zDetail ? zDetail : "(null)");
  abort();
}

/* An INSERT of one row with a value of the right type in every column, and
** a KNN query on the first vector column. */
static void rowSql(const Vec0Config *c, char **pzInsert, char **pzKnn) {
  sqlite3_str *pCols = sqlite3_str_new(0), *pVals = sqlite3_str_new(0);
  for (int i = 0; i < c->nCol; i++) {
    const Vec0Column *pCol = &c->aCol[i];
    const char *zVal = "1";
    char zVec[64];
    if (pCol->eKind == VEC0_COL_VECTOR) {
      const Vec0VectorCol *v = &c->aVec[pCol->iSub];
      sqlite3_snprintf(sizeof(zVec), zVec, "%s(zeroblob(%d))",
                       v->eType == VEC0_ELEM_F32 ? "vec_f32"
                                                 : v->eType == VEC0_ELEM_I8 ? "vec_int8"
                                                                            : "vec_bit",
                       (int)vec0ElemBytes(v->eType, v->nDim));
      zVal = zVec;
    } else if (pCol->eType == VEC0_VAL_TEXT || (pCol->eKind == VEC0_COL_PK &&
                                                c->ePk == VEC0_PK_TEXT)) {
      zVal = "'a'";
    } else if (pCol->eType == VEC0_VAL_FLOAT) {
      zVal = "1.5";
    }
    sqlite3_str_appendf(pCols, "%s\"%w\"", i ? ", " : "", pCol->zName);
    sqlite3_str_appendf(pVals, "%s%s", i ? ", " : "", zVal);
  }
  {
    char *zCols = sqlite3_str_finish(pCols), *zVals = sqlite3_str_finish(pVals);
    const Vec0Column *pV = &c->aCol[c->aVecCol[0]];
    const Vec0VectorCol *v = &c->aVec[0];
    *pzInsert = sqlite3_mprintf("INSERT INTO t(%s) VALUES (%s)", zCols, zVals);
    *pzKnn = sqlite3_mprintf("SELECT rowid, distance FROM t WHERE \"%w\" MATCH "
                             "%s(zeroblob(%d)) AND k = 3",
                             pV->zName,
                             v->eType == VEC0_ELEM_F32 ? "vec_f32"
                                                       : v->eType == VEC0_ELEM_I8 ? "vec_int8"
                                                                                  : "vec_bit",
                             (int)vec0ElemBytes(v->eType, v->nDim));
    sqlite3_free(zCols);
    sqlite3_free(zVals);
  }
}

static void checkConfig(const Vec0Config *c) {
  if (c->nVec < 1 || c->nVec > VEC0_MAX_VECTOR_COLUMNS) fail("vector columns", 0);
  if (c->nPart > VEC0_MAX_PARTITION_COLUMNS || c->nMeta > VEC0_MAX_METADATA_COLUMNS ||
      c->nAux > VEC0_MAX_AUX_COLUMNS || c->nCol > VEC0_MAX_COLUMNS) {
    fail("column counts", 0);
  }
  for (int i = 0; i < c->nVec; i++) {
    const Vec0VectorCol *v = &c->aVec[i];
    if (v->nDim < 1 || v->nDim > VEC0_MAX_DIMS) fail("dimensions", 0);
    if (v->eType == VEC0_ELEM_BIT && v->nDim % 8) fail("bit dimensions", 0);
    if (vec0DistanceFn(v->eType, v->eMetric) == 0) fail("metric without a kernel", 0);
    if (v->eIndex == VEC0_INDEX_HNSW &&
        (v->m < 2 || v->m > 128 || v->efConstruction < 1 || v->efConstruction > 4096 ||
         v->efSearch < 1 || v->efSearch > VEC0_MAX_K)) {
      fail("hnsw parameters", 0);
    }
    if (c->aVecCol[i] < 0 || c->aVecCol[i] >= c->nCol) fail("vector column index", 0);
  }
  for (int i = 0; i < c->nCol; i++) {
    if (c->aCol[i].zName == 0) fail("column without a name", 0);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *aData, size_t nData) {
  char *zBuf, *azArg[MAX_ARGS];
  int nArg = 0;
  Vec0Config cfg;
  char *zErr = 0, *zInsert = 0, *zKnn = 0;
  int rc;
  if (nData > 4096) return 0;
  if (db == 0) {
    vec0DistanceInit();
    if (sqlite3_open(":memory:", &db) != SQLITE_OK || sqlite3_vec_init(db, 0, 0)) {
      fail("setup", 0);
    }
  }
  zBuf = malloc(nData + 1);
  memcpy(zBuf, aData, nData);
  zBuf[nData] = 0;
  for (char *z = zBuf; nArg < MAX_ARGS;) {
    char *zEnd = strchr(z, '\n');
    azArg[nArg++] = z;
    if (zEnd == 0) break;
    *zEnd = 0;
    z = zEnd + 1;
  }

  memset(&cfg, 0, sizeof(cfg));
  rc = vec0ConfigParse(&cfg, "t", nArg, (const char *const *)azArg, &zErr);
  if (rc == SQLITE_OK) {
    char *zDecl;
    if (zErr) fail("message on success", zErr);
    checkConfig(&cfg);
    zDecl = vec0ConfigDeclare(&cfg);
    if (zDecl == 0) fail("no declaration", 0);
    sqlite3_free(zDecl);
    rowSql(&cfg, &zInsert, &zKnn);
  } else if (zErr == 0 || strncmp(zErr, "vec0: ", 6) != 0) {
    fail("error message", zErr);
  }
  sqlite3_free(zErr);
  vec0ConfigClear(&cfg);

  /* The same through SQL, when the parser accepted it. */
  if (rc == SQLITE_OK) {
    sqlite3_str *pStr = sqlite3_str_new(db);
    char *zSql;
    sqlite3_str_appendall(pStr, "CREATE VIRTUAL TABLE t USING vec0(");
    for (int i = 0; i < nArg; i++) {
      sqlite3_str_appendf(pStr, "%s%s", i ? ", " : "", azArg[i]);
    }
    sqlite3_str_appendall(pStr, ")");
    zSql = sqlite3_str_finish(pStr);
    if (zSql && sqlite3_exec(db, zSql, 0, 0, 0) == SQLITE_OK) {
      /* SQLite splits the arguments at commas the direct parse never saw, so
      ** the row and the query may name columns this table lacks; they may
      ** fail, but the table must stay sound. */
      sqlite3_exec(db, zInsert, 0, 0, 0);
      sqlite3_exec(db, zKnn, 0, 0, 0);
      if (sqlite3_exec(db, "INSERT INTO t(t) VALUES ('integrity-check')", 0, 0, 0)) {
        fail("integrity-check", sqlite3_errmsg(db));
      }
      if (sqlite3_exec(db, "DROP TABLE t", 0, 0, 0) != SQLITE_OK) {
        fail("DROP TABLE", sqlite3_errmsg(db));
      }
    }
    sqlite3_free(zSql);
  }
  sqlite3_free(zInsert);
  sqlite3_free(zKnn);
  free(zBuf);
  return 0;
}
