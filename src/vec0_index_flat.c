/*
** vec0_index_flat.c: the `indexed by flat()` form of a vector column, the
** exact scan.  It keeps nothing of its own: storage's vectors, contiguous by
** slot, are the whole index, so writes, flushes and checks have nothing to
** do, and a search reads every live slot of its group.  Its search cost is
** negative: the planner (vec0_knn.c) then runs its own exact scan, with the
** filters and kernels inlined, rather than this generic one.  Calls storage
** and the kernels.
*/
#include "vec0Int.h"

#include <stdlib.h>

static int flatOpen(Vec0Index *pIdx) {
  (void)pIdx;
  return SQLITE_OK;
}
static void flatDiscard(Vec0Index *pIdx) {
  (void)pIdx;
}
static int flatInsert(Vec0Index *pIdx, uint32_t iSlot, sqlite3_int64 iRowid, uint32_t g) {
  (void)pIdx;
  (void)iSlot;
  (void)iRowid;
  (void)g;
  return SQLITE_OK;
}
static int flatSlot(Vec0Index *pIdx, uint32_t iSlot) {
  (void)pIdx;
  (void)iSlot;
  return SQLITE_OK;
}
static double flatSearchCost(Vec0Index *pIdx, double nLive, double sel, int ef) {
  (void)pIdx;
  (void)nLive;
  (void)sel;
  (void)ef;
  return -1.0;
}

/*
** The k nearest accepted live slots of group g, by reading them all: a
** max-heap of the best k so far, ties to the lower slot, sorted at the end
** (the rescore form keeps its candidates in the same heap).
*/
static int hitAfter(const Vec0IndexHit *x, const Vec0IndexHit *y) {
  return x->distance > y->distance || (x->distance == y->distance && x->slot > y->slot);
}
void vec0IndexTopPush(Vec0IndexHit *a, int *pn, int k, Vec0IndexHit h) {
  int i;
  if (*pn < k) {
    for (i = (*pn)++; i > 0 && hitAfter(&h, &a[(i - 1) / 2]); i = (i - 1) / 2) {
      a[i] = a[(i - 1) / 2];
    }
    a[i] = h;
    return;
  }
  if (!hitAfter(&a[0], &h)) return;
  for (i = 0;;) {
    int c = 2 * i + 1;
    if (c >= *pn) break;
    if (c + 1 < *pn && hitAfter(&a[c + 1], &a[c])) c++;
    if (!hitAfter(&a[c], &h)) break;
    a[i] = a[c];
    i = c;
  }
  a[i] = h;
}

static int cmpHit(const void *a, const void *b) {
  return hitAfter(a, b) ? 1 : (hitAfter(b, a) ? -1 : 0);
}

void vec0IndexTopSort(Vec0IndexHit *a, int n) {
  if (n > 1) qsort(a, (size_t)n, sizeof(Vec0IndexHit), cmpHit);
}

static int flatSearch(Vec0Index *pIdx, const Vec0IndexSearch *pS, Vec0IndexHit *aOut,
                      int *pnOut) {
  Vec0Table *p = pIdx->pTab;
  const Vec0VectorCol *pCol = &p->cfg.aVec[pIdx->iVec];
  Vec0Metric eOrder = pCol->eMetric == VEC0_METRIC_L2 ? VEC0_METRIC_L2SQ : pCol->eMetric;
  Vec0DistanceFn xDist = vec0DistanceFn(pCol->eType, eOrder);
  uint32_t nSlot = vec0StorageSlotCount(p);
  int n = 0, rc = vec0StorageAllSlots(p);
  *pnOut = 0;
  if (xDist == 0) return SQLITE_INTERNAL;
  for (uint32_t s = 0; rc == SQLITE_OK && s < nSlot; s++) {
    const unsigned char *v = 0;
    Vec0IndexHit h;
    if (!vec0StorageSlotLive(p, s) || vec0StorageSlotGroup(p, s) != pS->g) continue;
    if (pS->xAccept && !pS->xAccept(pS->pAcceptCtx, s)) continue;
    rc = vec0StorageVector(p, pIdx->iVec, s, &v);
    if (rc != SQLITE_OK) break;
    h.slot = s;
    h.distance = xDist(pS->pQuery, v, pCol->nDim);
    vec0IndexTopPush(aOut, &n, pS->k, h);
  }
  if (rc != SQLITE_OK) return rc;
  vec0IndexTopSort(aOut, n);
  *pnOut = n;
  return SQLITE_OK;
}

/*
** After a query: the vectors it read all at once become huge pages.  A
** search reads them all anyway, so warming up is reading them all.
*/
static int flatIdle(Vec0Index *pIdx, size_t nBytes) {
  return vec0StorageScanIdle(pIdx->pTab, pIdx->iVec, nBytes);
}

static void flatBegin(Vec0Index *pIdx) {
  (void)pIdx;
}
static void flatEnd(Vec0Index *pIdx, int bCommit) {
  (void)pIdx;
  (void)bCommit;
}
static int flatFlush(Vec0Index *pIdx) {
  (void)pIdx;
  return SQLITE_OK;
}
static int flatCheck(Vec0Index *pIdx, char **pzErr) {
  (void)pIdx;
  (void)pzErr;
  return SQLITE_OK;
}
static int flatRebuild(Vec0Index *pIdx) {
  (void)pIdx;
  return SQLITE_OK;
}
static sqlite3_int64 flatStats(Vec0Index *pIdx) {
  (void)pIdx;
  return 0;
}

const Vec0IndexModule vec0IndexFlat = {
    /* zName        */ "flat",
    /* zShadow      */ 0,
    /* bUsesEf      */ 0,
    /* xOpen        */ flatOpen,
    /* xDiscard     */ flatDiscard,
    /* xInsert      */ flatInsert,
    /* xDelete      */ flatSlot,
    /* xUpdate      */ flatSlot,
    /* xSearchCost  */ flatSearchCost,
    /* xSearch      */ flatSearch,
    /* xIdle        */ flatIdle,
    /* xBegin       */ flatBegin,
    /* xEnd         */ flatEnd,
    /* xFlush       */ flatFlush,
    /* xBeforeWrite */ 0,
    /* xCheck       */ flatCheck,
    /* xRebuild     */ flatRebuild,
    /* xStats       */ flatStats,
    /* xInfo        */ 0,
};
