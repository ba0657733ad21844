/*
** vec0_index.c: the registry of index forms and the calls the module makes
** on the indexes of every vector column at once (a row written, a write's
** undo scope, a flush).  A form is registered by one line in aForm[].
** Calls the forms through their Vec0IndexModule and storage below them.
*/
#include "vec0Int.h"

/* Indexed by Vec0IndexType. */
static const Vec0IndexModule *const aForm[] = {
    0,
    &vec0IndexFlat, /* VEC0_INDEX_FLAT */
    &vec0IndexHnsw, /* VEC0_INDEX_HNSW */
    &vec0IndexRescore, /* VEC0_INDEX_RESCORE */
};

void vec0IndexInit(Vec0Table *p, int iVec) {
  Vec0Index *pIdx = &p->aIndex[iVec];
  unsigned e = (unsigned)p->cfg.aVec[iVec].eIndex;
  pIdx->pModule = e < sizeof(aForm) / sizeof(aForm[0]) && aForm[e] ? aForm[e] : aForm[1];
  pIdx->pTab = p;
  pIdx->iVec = iVec;
  pIdx->pState = 0;
}

Vec0Index *vec0IndexGet(Vec0Table *p, int iVec) {
  return &p->aIndex[iVec];
}

void vec0IndexOpBegin(Vec0Table *p) {
  vec0StorageOpBegin(p);
  for (int i = 0; i < p->cfg.nVec; i++) p->aIndex[i].pModule->xBegin(&p->aIndex[i]);
}

int vec0IndexOpEnd(Vec0Table *p, int rc) {
  if (!vec0StorageInOp(p)) return rc;
  for (int i = 0; i < p->cfg.nVec; i++) {
    p->aIndex[i].pModule->xEnd(&p->aIndex[i], rc == SQLITE_OK);
  }
  return vec0StorageOpEnd(p, rc);
}

int vec0IndexIdle(Vec0Table *p) {
  int rc = SQLITE_OK;
  if (!vec0StorageCached(p)) return SQLITE_OK;
  for (int i = 0; rc == SQLITE_OK && i < p->cfg.nVec; i++) {
    rc = p->aIndex[i].pModule->xIdle(&p->aIndex[i], VEC0_WARM_BYTES);
  }
  return rc;
}

int vec0IndexFlush(Vec0Table *p) {
  int rc = SQLITE_OK;
  if (!vec0StorageCached(p)) return SQLITE_OK;
  for (int i = 0; rc == SQLITE_OK && i < p->cfg.nVec; i++) {
    rc = p->aIndex[i].pModule->xFlush(&p->aIndex[i]);
  }
  if (rc == SQLITE_OK) rc = vec0StorageFlush(p);
  return rc;
}

int vec0IndexInsert(Vec0Table *p, uint32_t iSlot, sqlite3_int64 iRowid, uint32_t g) {
  int rc = SQLITE_OK;
  for (int i = 0; rc == SQLITE_OK && i < p->cfg.nVec; i++) {
    rc = p->aIndex[i].pModule->xInsert(&p->aIndex[i], iSlot, iRowid, g);
  }
  return rc;
}

int vec0IndexBeforeWrite(Vec0Table *p, int iVec, uint32_t iSlot) {
  Vec0Index *pIdx = &p->aIndex[iVec];
  return pIdx->pModule->xBeforeWrite ? pIdx->pModule->xBeforeWrite(pIdx, iSlot) : SQLITE_OK;
}

int vec0IndexDelete(Vec0Table *p, uint32_t iSlot) {
  int rc = SQLITE_OK;
  for (int i = 0; rc == SQLITE_OK && i < p->cfg.nVec; i++) {
    rc = p->aIndex[i].pModule->xDelete(&p->aIndex[i], iSlot);
  }
  return rc;
}
