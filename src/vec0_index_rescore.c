/*
** vec0_index_rescore.c: the `indexed by rescore(quantizer=int8|bit,
** oversample=N)` form of a float32 vector column (sqlite-vec 0.1.10's
** declaration): an exact scan of compact codes, then the best N * k
** candidates re-ranked with the exact float32 distance, so results carry
** exact distances, nearest first, ties to the lower slot as in an exact
** scan.  The recall is that of the code order: a true neighbour is missed
** only if N * k other rows have codes nearer the query's than its own.
**
** It keeps nothing on disk but the quantizer ('quant.N' in T_config, see
** vec0_index_codes.c): no shadow table of its own, so the file is the
** float32 vectors plus a few hundred bytes.  The codes are made in memory
** from the stored vectors when first scanned.  Until the quantizer is
** trained (VEC0_CODES_TRAIN live rows, or rebuild/optimize) a search
** scans the float32 vectors, which is exact.  A per-query `rescore = N`
** (and the 'oversample=N' command) replaces N.  Calls storage, the codes
** helpers and the kernels.
*/
#include "vec0Int.h"

#include <string.h>

typedef struct RescoreState {
  Vec0Codes codes;
  Vec0DistanceFn xDist; /* the float32 order distance (L2: squared) */
  int nDim;
} RescoreState;

static int rescoreOpen(Vec0Index *pIdx) {
  const Vec0VectorCol *pCol = &pIdx->pTab->cfg.aVec[pIdx->iVec];
  Vec0Metric eOrder = pCol->eMetric == VEC0_METRIC_L2 ? VEC0_METRIC_L2SQ : pCol->eMetric;
  RescoreState *s;
  if (pIdx->pState) return SQLITE_OK;
  s = sqlite3_malloc64(sizeof(*s));
  if (s == 0) return SQLITE_NOMEM;
  memset(s, 0, sizeof(*s));
  s->xDist = vec0DistanceFn(pCol->eType, eOrder);
  s->nDim = pCol->nDim;
  if (s->xDist == 0) {
    sqlite3_free(s);
    return SQLITE_INTERNAL;
  }
  pIdx->pState = s;
  return SQLITE_OK;
}

static void rescoreDiscard(Vec0Index *pIdx) {
  RescoreState *s = pIdx->pState;
  if (s) {
    vec0CodesForget(&s->codes);
    sqlite3_free(s);
    pIdx->pState = 0;
  }
}

/* The state, opened, with 'quant.N' read. */
static int stateOf(Vec0Index *pIdx, RescoreState **ps) {
  int rc = rescoreOpen(pIdx);
  *ps = pIdx->pState;
  if (rc == SQLITE_OK) rc = vec0CodesLoad(pIdx->pTab, pIdx->iVec, &(*ps)->codes);
  return rc;
}

static int rescoreInsert(Vec0Index *pIdx, uint32_t iSlot, sqlite3_int64 iRowid,
                         uint32_t g) {
  RescoreState *s = 0;
  int rc = rescoreOpen(pIdx);
  (void)iRowid;
  (void)g;
  s = pIdx->pState;
  if (rc == SQLITE_OK) rc = vec0CodesInsert(pIdx->pTab, pIdx->iVec, &s->codes, iSlot);
  return rc;
}

static int rescoreDelete(Vec0Index *pIdx, uint32_t iSlot) {
  (void)pIdx;
  (void)iSlot;
  return SQLITE_OK;
}

static int rescoreUpdate(Vec0Index *pIdx, uint32_t iSlot) {
  RescoreState *s = pIdx->pState;
  if (s) vec0CodesStale(&s->codes, iSlot);
  return SQLITE_OK;
}

/*
** A scan reads every slot's code (a quarter or a thirty-second of the bytes
** of a float32 vector) and computes the float32 distance of N * k of them:
** cheaper than the module's exact scan unless the filters leave few rows.
** With partition keys the scan walks every slot to find its group's.
*/
static double rescoreSearchCost(Vec0Index *pIdx, double nLive, double sel, int ef) {
  RescoreState *s = pIdx->pState;
  Vec0Table *p = pIdx->pTab;
  double nScan = p->cfg.nPart ? (double)vec0StorageSlotCount(p) : nLive;
  (void)ef;
  if (s && s->codes.eState == VEC0_CODES_NONE) return nLive * sel + nLive * 0.05 + 1.0;
  return nScan * 0.02 + nLive * sel * 0.25 + nLive * 0.03;
}

/*
** The nKeep best accepted live slots of group g into the heap a, by code
** distance to aQuery when bCodes, else by float32 distance.
*/
static int scanGroup(Vec0Index *pIdx, RescoreState *s, const Vec0IndexSearch *pS,
                     const unsigned char *aQuery, int bCodes, Vec0IndexHit *a, int nKeep,
                     int *pn) {
  Vec0Table *p = pIdx->pTab;
  uint32_t nSlot = vec0StorageSlotCount(p);
  int rc = SQLITE_OK;
  for (uint32_t i = 0; rc == SQLITE_OK && i < nSlot; i++) {
    const unsigned char *v = 0;
    Vec0IndexHit h;
    if (!vec0StorageSlotLive(p, i) || vec0StorageSlotGroup(p, i) != pS->g) continue;
    if (pS->xAccept && !pS->xAccept(pS->pAcceptCtx, i)) continue;
    h.slot = i;
    if (bCodes) {
      v = vec0CodesGet(p, pIdx->iVec, &s->codes, i, &rc);
      if (v) h.distance = s->codes.xDist(aQuery, v, s->codes.nDim);
    } else {
      rc = vec0StorageVector(p, pIdx->iVec, i, &v);
      if (rc == SQLITE_OK) h.distance = s->xDist(pS->pQuery, v, s->nDim);
    }
    if (rc == SQLITE_OK) vec0IndexTopPush(a, pn, nKeep, h);
  }
  return rc;
}

static int rescoreSearch(Vec0Index *pIdx, const Vec0IndexSearch *pS, Vec0IndexHit *aOut,
                         int *pnOut) {
  Vec0Table *p = pIdx->pTab;
  RescoreState *s = 0;
  Vec0IndexHit *aCand = 0;
  unsigned char *aQuery = 0;
  int nCand = 0, n = 0, bCodes;
  sqlite3_int64 nWant;
  int rc = stateOf(pIdx, &s);
  *pnOut = 0;
  if (rc == SQLITE_OK) rc = vec0StorageAllSlots(p);
  if (rc != SQLITE_OK) return rc;
  bCodes = s->codes.eState == VEC0_CODES_READY;
  if (!bCodes) {
    rc = scanGroup(pIdx, s, pS, 0, 0, aOut, pS->k, &n);
    if (rc == SQLITE_OK) vec0IndexTopSort(aOut, n);
    if (rc == SQLITE_OK) *pnOut = n;
    return rc;
  }
  nWant = (sqlite3_int64)pS->k * (pS->nRescore > 0 ? pS->nRescore : 1);
  nCand = nWant > VEC0_MAX_K ? VEC0_MAX_K : (int)nWant;
  if (nCand < pS->k) nCand = pS->k;
  aCand = sqlite3_malloc64(sizeof(Vec0IndexHit) * (size_t)(nCand ? nCand : 1));
  aQuery = sqlite3_malloc64(s->codes.nBytes ? s->codes.nBytes : 1);
  if (aCand == 0 || aQuery == 0) rc = SQLITE_NOMEM;
  if (rc == SQLITE_OK) {
    vec0QuantEncode(&s->codes.quant, pS->pQuery, aQuery);
    rc = scanGroup(pIdx, s, pS, aQuery, 1, aCand, nCand, &n);
  }
  /* The candidates again, by their float32 distance. */
  for (int i = 0; rc == SQLITE_OK && i < n; i++) {
    const unsigned char *v = 0;
    rc = vec0StorageVector(p, pIdx->iVec, aCand[i].slot, &v);
    if (rc == SQLITE_OK) aCand[i].distance = s->xDist(pS->pQuery, v, s->nDim);
  }
  if (rc == SQLITE_OK) {
    vec0IndexTopSort(aCand, n);
    if (n > pS->k) n = pS->k;
    memcpy(aOut, aCand, sizeof(Vec0IndexHit) * (size_t)n);
    *pnOut = n;
  }
  sqlite3_free(aCand);
  sqlite3_free(aQuery);
  return rc;
}

/* After a statement: as the exact scan's (its re-ranking reads vectors). */
static int rescoreIdle(Vec0Index *pIdx, size_t nBytes) {
  return vec0StorageScanIdle(pIdx->pTab, pIdx->iVec, nBytes);
}

static void rescoreBegin(Vec0Index *pIdx) {
  (void)pIdx;
}

static void rescoreEnd(Vec0Index *pIdx, int bCommit) {
  RescoreState *s = pIdx->pState;
  /* A quantizer trained by the failed write is gone from T_config too. */
  if (s && !bCommit) vec0CodesForget(&s->codes);
}

static int rescoreFlush(Vec0Index *pIdx) {
  (void)pIdx;
  return SQLITE_OK;
}

/* Its one stored part, the quantizer, must read back. */
static int rescoreCheck(Vec0Index *pIdx, char **pzErr) {
  RescoreState *s = 0;
  int rc = stateOf(pIdx, &s);
  if (rc == SQLITE_CORRUPT_VTAB && pIdx->pTab->base.zErrMsg) {
    *pzErr = sqlite3_mprintf("%s", pIdx->pTab->base.zErrMsg);
    if (*pzErr == 0) rc = SQLITE_NOMEM;
  }
  return rc;
}

/* rebuild and optimize train the quantizer anew on the rows there are. */
static int rescoreRebuild(Vec0Index *pIdx) {
  RescoreState *s = 0;
  int rc = rescoreOpen(pIdx);
  s = pIdx->pState;
  if (rc == SQLITE_OK) rc = vec0CodesTrain(pIdx->pTab, pIdx->iVec, &s->codes);
  return rc;
}

static sqlite3_int64 rescoreStats(Vec0Index *pIdx) {
  (void)pIdx;
  return 0;
}

const Vec0IndexModule vec0IndexRescore = {
    /* zName        */ "rescore",
    /* zShadow      */ 0,
    /* bUsesEf      */ 0,
    /* xOpen        */ rescoreOpen,
    /* xDiscard     */ rescoreDiscard,
    /* xInsert      */ rescoreInsert,
    /* xDelete      */ rescoreDelete,
    /* xUpdate      */ rescoreUpdate,
    /* xSearchCost  */ rescoreSearchCost,
    /* xSearch      */ rescoreSearch,
    /* xIdle        */ rescoreIdle,
    /* xBegin       */ rescoreBegin,
    /* xEnd         */ rescoreEnd,
    /* xFlush       */ rescoreFlush,
    /* xBeforeWrite */ 0,
    /* xCheck       */ rescoreCheck,
    /* xRebuild     */ rescoreRebuild,
    /* xStats       */ rescoreStats,
    /* xInfo        */ 0,
};
