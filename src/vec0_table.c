/*
** vec0_table.c: the helpers that every layer of the table uses, from the
** storage layer up: the error message of a table, and the vector that a
** value is for one of its columns (type and dimensions checked).  Here,
** below every file that calls them, so that no file calls up into the
** module.  Calls the vector parser and SQLite only.
*/
#include "vec0Int.h"

#include <stdarg.h>
#include <unistd.h>

int vec0TableThreads(const Vec0Table *p) {
  long n = p->conn.nThread;
  if (n <= 0) {
#ifdef _SC_NPROCESSORS_ONLN
    n = sysconf(_SC_NPROCESSORS_ONLN);
#else
    n = 1;
#endif
  }
  return n < 1 ? 1 : n > VEC0_MAX_THREADS ? VEC0_MAX_THREADS : (int)n;
}

void vec0TableError(Vec0Table *p, const char *zFmt, ...) {
  va_list ap;
  va_start(ap, zFmt);
  sqlite3_free(p->base.zErrMsg);
  p->base.zErrMsg = sqlite3_vmprintf(zFmt, ap);
  va_end(ap);
}

int vec0TableVector(Vec0Table *p, sqlite3_value *v, int iVec, int bQuery,
                    Vec0Vector *pOut) {
  const Vec0VectorCol *pCol = &p->cfg.aVec[iVec];
  const char *zCol = p->cfg.aCol[p->cfg.aVecCol[iVec]].zName;
  char *zErr = 0;
  int rc = vec0VectorFromValue(v, pCol->eType, zCol, pOut, &zErr);
  if (rc == SQLITE_ERROR) {
    /* The error path only: parse again to name the table in the message. */
    char *zWhat = sqlite3_mprintf("table \"%s\": %s \"%s\"", p->zName,
                                  bQuery ? "query vector for column" : "column", zCol);
    sqlite3_free(zErr);
    zErr = 0;
    if (zWhat == 0) return SQLITE_NOMEM;
    rc = vec0VectorFromValue(v, pCol->eType, zWhat, pOut, &zErr);
    sqlite3_free(zWhat);
  }
  if (rc != SQLITE_OK) {
    if (zErr) vec0TableError(p, "%s", zErr);
    sqlite3_free(zErr);
    return rc;
  }
  if (pOut->nDim != pCol->nDim) {
    vec0TableError(p, "vec0: table \"%s\": %s \"%s\" expects %d dimensions, got %d",
                   p->zName, bQuery ? "query vector for column" : "column", zCol,
                   pCol->nDim, pOut->nDim);
    vec0VectorClear(pOut);
    return SQLITE_ERROR;
  }
  return SQLITE_OK;
}
