/*
** vec0_recall.c: the recall target of a graph column, and the upkeep that
** keeps a graph worth searching.
**
** RECALL.  A column `indexed by hnsw(...)` without `ef_search=N` searches
** with the smallest ef that meets a recall target (hnsw(recall=0.95), the
** default; the 'recall=X' command changes it).  The right ef differs by an
** order of magnitude between data sets, so vec0 measures it on the table's
** own rows: RECALL_QUERIES stored vectors, evenly spaced in slot order, are
** searched for their RECALL_K nearest other rows of their group, by an exact
** scan and by the graph at the ef values of aLadder, and the hits are kept
** per ef as 'recall.N' (format: vec0Int.h).  A hit is a row of the graph's
** answer whose distance is within the exact k-th distance (ties count).
** A query's ef then comes from that curve: the first ef whose hits reach the
** target plus a margin for the sample (1.5 standard errors), interpolated
** linearly between the two measured ef around it (recall grows concavely
** with ef, so a line under-estimates it: the ef is on the safe side).
**
** The measurement runs when a write transaction commits (xSync) and the
** table has RECALL_MIN_ROWS live rows or more and has none yet, or has grown
** to twice or shrunk to half the rows of the last one; and after 'rebuild',
** 'optimize' and 'recall='.  Inside the writing transaction, from the rows
** alone: replicas fed the same statements store the same curve.
**
** UPKEEP.  A deleted row stays in the graph as a tombstone that guides the
** walk until its slot is reused; past a quarter of the nodes the walk pays
** visibly for them, so the commit that brings tombstones to RECALL_TOMB_SHARE
** of a graph's nodes (and at least RECALL_MIN_ROWS) rebuilds that graph from
** its live rows, as 'rebuild' does, then measures again.
**
** Calls the index interface and storage (never the module above).
*/
#include "vec0Int.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

#define RECALL_K 10
#define RECALL_MIN_ROWS 1000
#define RECALL_QUERIES 100
/* Rebuild when tombstones reach nodes / RECALL_TOMB_SHARE. */
#define RECALL_TOMB_SHARE 4

static const uint32_t aLadder[] = {10, 20, 40, 80, 160, 320, 640, 1280, 2560, 5120, 10240};
#define LADDER_N ((int)(sizeof(aLadder) / sizeof(aLadder[0])))

/* The column's recall target in 1/10000. */
static int recallTarget(const Vec0Table *p, int iVec) {
  if (p->aRecallTarget[iVec]) return p->aRecallTarget[iVec];
  return p->cfg.aVec[iVec].iRecall ? p->cfg.aVec[iVec].iRecall : VEC0_RECALL_DEFAULT;
}

/* The hits out of nTotal that target iRecall asks of a sample of nTotal. */
static uint64_t hitsNeeded(int iRecall, uint64_t nTotal) {
  double t = iRecall / 10000.0;
  double margin = 1.5 * sqrt(t * (1.0 - t) / (double)nTotal);
  double h = ceil((t + margin) * (double)nTotal);
  return h >= (double)nTotal ? nTotal : (uint64_t)h;
}

/* Before any measurement: what the default ef gives most data. */
static int efUnmeasured(int iRecall) {
  if (iRecall <= VEC0_RECALL_DEFAULT) return VEC0_HNSW_DEFAULT_EF_SEARCH;
  if (iRecall <= 9800) return 2 * VEC0_HNSW_DEFAULT_EF_SEARCH;
  if (iRecall <= 9900) return 4 * VEC0_HNSW_DEFAULT_EF_SEARCH;
  return 8 * VEC0_HNSW_DEFAULT_EF_SEARCH;
}

static int efFromCurve(const Vec0RecallCurve *c, int iRecall) {
  uint64_t nTotal = (uint64_t)c->nQuery * c->k, h = hitsNeeded(iRecall, nTotal);
  int j = 0;
  uint64_t ef0, ef1, h0, h1;
  while (j < c->nPoint && c->aHit[j] < h) j++;
  if (j == c->nPoint) {
    /* Not reached at the widest ef measured: twice that. */
    uint64_t ef = 2 * (uint64_t)c->aEf[c->nPoint - 1];
    return ef > VEC0_MAX_K ? VEC0_MAX_K : (int)ef;
  }
  if (j == 0) return (int)c->aEf[0];
  ef0 = c->aEf[j - 1];
  ef1 = c->aEf[j];
  h0 = c->aHit[j - 1];
  h1 = c->aHit[j];
  return (int)(ef0 + ((ef1 - ef0) * (h - h0) + (h1 - h0) - 1) / (h1 - h0));
}

int vec0RecallEf(Vec0Table *p, int iVec, int iRecall) {
  const Vec0RecallCurve *c = &p->aRecall[iVec];
  if (iRecall == 0) {
    /* this connection's 'search_list_size_search=N', then the table's ef */
    if (p->conn.aEf[iVec] > 0) return p->conn.aEf[iVec];
    if (p->aEfSearch[iVec] > 0) return p->aEfSearch[iVec];
    iRecall = recallTarget(p, iVec);
  }
  return c->nPoint ? efFromCurve(c, iRecall) : efUnmeasured(iRecall);
}

double vec0RecallAt(const Vec0Table *p, int iVec, int ef) {
  const Vec0RecallCurve *c = &p->aRecall[iVec];
  double nTotal = (double)c->nQuery * c->k;
  int j = 0;
  if (c->nPoint == 0) return -1.0;
  while (j < c->nPoint && c->aEf[j] < (uint32_t)ef) j++;
  if (j == c->nPoint) return c->aHit[c->nPoint - 1] / nTotal;
  if (j == 0 || c->aEf[j] == (uint32_t)ef) return c->aHit[j] / nTotal;
  return (c->aHit[j - 1] + (double)(c->aHit[j] - c->aHit[j - 1]) *
                               (ef - (double)c->aEf[j - 1]) / (c->aEf[j] - c->aEf[j - 1])) /
         nTotal;
}

int vec0RecallTargetOf(const Vec0Table *p, int iVec) {
  return p->aEfSearch[iVec] > 0 ? 0 : recallTarget(p, iVec);
}

/* ---------------------------------------------------------------------- */
/* The measurement                                                         */

/* The exact answer of one sample query: its k nearest other rows. */
typedef struct RecallQuery {
  uint32_t slot, g;
  int n;                      /* neighbours found (< k in a small group) */
  float aDist[RECALL_K];      /* ascending */
} RecallQuery;

static void exactAdd(RecallQuery *q, float d) {
  int i;
  if (q->n == RECALL_K && d >= q->aDist[RECALL_K - 1]) return;
  i = q->n < RECALL_K ? q->n++ : RECALL_K - 1;
  while (i > 0 && q->aDist[i - 1] > d) {
    q->aDist[i] = q->aDist[i - 1];
    i--;
  }
  q->aDist[i] = d;
}

/* The sample: nQ live slots, evenly spaced in slot order. */
static int pickQueries(Vec0Table *p, RecallQuery *aQ, int nQ, sqlite3_int64 nLive) {
  uint32_t nSlot = vec0StorageSlotCount(p);
  sqlite3_int64 iLive = 0;
  int j = 0;
  for (uint32_t s = 0; s < nSlot && j < nQ; s++) {
    if (!vec0StorageSlotLive(p, s)) continue;
    /* the j-th query is the live row at (2j + 1) * nLive / (2 nQ) */
    if (iLive == (2 * (sqlite3_int64)j + 1) * nLive / (2 * nQ)) {
      memset(&aQ[j], 0, sizeof(aQ[j]));
      aQ[j].slot = s;
      aQ[j].g = vec0StorageSlotGroup(p, s);
      j++;
    }
    iLive++;
  }
  return j;
}

/*
** The exact neighbours of the sample over slots [iFrom, iTo), into aQ (a
** part's own copy of the sample).  Reads the cache only (every vector is
** loaded), so that parts can run on worker threads.
*/
typedef struct ExactPart {
  const Vec0Table *p;
  int iVec;
  Vec0DistanceFn xDist;
  const unsigned char *const *apQ; /* the sample's vectors */
  RecallQuery *aQ;
  int nQ;
  uint32_t iFrom, iTo;
} ExactPart;

static void *exactPart(void *pArg) {
  ExactPart *x = pArg;
  const unsigned char *aVec = vec0StorageVectors(x->p, x->iVec);
  size_t nBytes = vec0StorageVectorBytes(x->p, x->iVec);
  int nDim = x->p->cfg.aVec[x->iVec].nDim;
  for (uint32_t s = x->iFrom; s < x->iTo; s++) {
    const unsigned char *v = aVec + (size_t)s * nBytes;
    if (!vec0StorageSlotLive(x->p, s)) continue;
    for (int j = 0; j < x->nQ; j++) {
      if (x->aQ[j].slot == s || x->aQ[j].g != vec0StorageSlotGroup(x->p, s)) continue;
      exactAdd(&x->aQ[j], x->xDist(x->apQ[j], v, nDim));
    }
  }
  return 0;
}

/*
** Each query's exact neighbours: one pass over the live slots, in parts on
** worker threads when the scan is long.  The k nearest distances of a query
** do not depend on how the slots were split: the same curve on any machine.
*/
#define EXACT_PARTS 8
#define EXACT_PAR_WORK 50000000.0 /* distance elements below which one thread scans */
static int exactScan(Vec0Table *p, int iVec, Vec0DistanceFn xDist, RecallQuery *aQ, int nQ) {
  uint32_t nSlot = vec0StorageSlotCount(p);
  int nPart = vec0TableThreads(p), rc = SQLITE_OK;
  const unsigned char **apQ = sqlite3_malloc64(sizeof(*apQ) * (size_t)nQ);
  ExactPart aPart[EXACT_PARTS];
  RecallQuery *aCopy = 0;
  pthread_t aThread[EXACT_PARTS];
  int abRun[EXACT_PARTS];
  if (apQ == 0) return SQLITE_NOMEM;
  for (int j = 0; rc == SQLITE_OK && j < nQ; j++) {
    rc = vec0StorageVector(p, iVec, aQ[j].slot, &apQ[j]);
  }
  if ((double)nSlot * nQ * p->cfg.aVec[iVec].nDim < EXACT_PAR_WORK) nPart = 1;
  if (nPart > EXACT_PARTS) nPart = EXACT_PARTS;
  if (rc == SQLITE_OK && nPart > 1) {
    aCopy = sqlite3_malloc64(sizeof(*aCopy) * (size_t)nQ * (size_t)(nPart - 1));
    if (aCopy == 0) nPart = 1; /* no memory to split: one thread */
  }
  for (int t = 0; rc == SQLITE_OK && t < nPart; t++) {
    ExactPart *x = &aPart[t];
    x->p = p;
    x->iVec = iVec;
    x->xDist = xDist;
    x->apQ = apQ;
    x->nQ = nQ;
    x->iFrom = (uint32_t)((uint64_t)nSlot * (uint64_t)t / (uint64_t)nPart);
    x->iTo = (uint32_t)((uint64_t)nSlot * (uint64_t)(t + 1) / (uint64_t)nPart);
    x->aQ = t == 0 ? aQ : &aCopy[(size_t)nQ * (size_t)(t - 1)];
    abRun[t] = 0;
    if (t > 0) {
      memcpy(x->aQ, aQ, sizeof(*aQ) * (size_t)nQ);
      for (int j = 0; j < nQ; j++) x->aQ[j].n = 0;
      /* a part whose thread cannot start is scanned here */
      abRun[t] = pthread_create(&aThread[t], 0, exactPart, x) == 0;
      if (!abRun[t]) exactPart(x);
    }
  }
  if (rc == SQLITE_OK) exactPart(&aPart[0]);
  for (int t = 1; rc == SQLITE_OK && t < nPart; t++) {
    if (abRun[t]) pthread_join(aThread[t], 0);
    for (int j = 0; j < nQ; j++) {
      for (int i = 0; i < aPart[t].aQ[j].n; i++) exactAdd(&aQ[j], aPart[t].aQ[j].aDist[i]);
    }
  }
  sqlite3_free(aCopy);
  sqlite3_free(apQ);
  return rc;
}

/* The hits of the graph at one ef over the whole sample. */
static int graphHits(Vec0Table *p, int iVec, RecallQuery *aQ, int nQ, int ef, uint32_t *pnHit) {
  Vec0Index *pIdx = vec0IndexGet(p, iVec);
  Vec0IndexHit aHit[RECALL_K];
  uint32_t nHit = 0;
  int rc = SQLITE_OK;
  for (int j = 0; rc == SQLITE_OK && j < nQ; j++) {
    Vec0IndexSearch s;
    const unsigned char *pQuery = 0;
    int n = 0, nTaken = 0;
    memset(&s, 0, sizeof(s));
    s.g = aQ[j].g;
    s.k = aQ[j].n;
    s.ef = ef > s.k ? ef : s.k;
    s.iHide1 = aQ[j].slot + 1; /* as a new query would, without its own node */
    s.nRescore = p->cfg.aVec[iVec].nRescore; /* a default query's */
    rc = vec0StorageVector(p, iVec, aQ[j].slot, &pQuery);
    s.pQuery = pQuery;
    if (rc == SQLITE_OK) rc = pIdx->pModule->xSearch(pIdx, &s, aHit, &n);
    for (int i = 0; rc == SQLITE_OK && i < n && nTaken < aQ[j].n; i++) {
      float dMax = aQ[j].aDist[aQ[j].n - 1];
      if (aHit[i].slot == aQ[j].slot) continue;
      nTaken++;
      /* within the k-th exact distance, up to the rounding of another kernel */
      if (aHit[i].distance <= dMax + fabsf(dMax) * 1e-5f) nHit++;
    }
  }
  *pnHit = nHit;
  return rc;
}

static int measure(Vec0Table *p, int iVec) {
  const Vec0VectorCol *pCol = &p->cfg.aVec[iVec];
  Vec0Metric eOrder = pCol->eMetric == VEC0_METRIC_L2 ? VEC0_METRIC_L2SQ : pCol->eMetric;
  Vec0DistanceFn xDist = vec0DistanceFn(pCol->eType, eOrder);
  Vec0RecallCurve c;
  RecallQuery *aQ = 0;
  sqlite3_int64 nLive = 0;
  uint64_t nTotal = 0;
  int nQ = 0, rc = vec0StorageLiveCount(p, &nLive);
  if (xDist == 0) return SQLITE_INTERNAL;
  if (rc != SQLITE_OK || nLive < RECALL_MIN_ROWS) return rc;
  memset(&c, 0, sizeof(c));
  rc = vec0StorageAllSlots(p);
  if (rc == SQLITE_OK) rc = vec0StorageAllVectors(p, iVec);
  if (rc == SQLITE_OK) {
    aQ = sqlite3_malloc64(sizeof(*aQ) * RECALL_QUERIES);
    if (aQ == 0) rc = SQLITE_NOMEM;
  }
  if (rc == SQLITE_OK) {
    nQ = pickQueries(p, aQ, RECALL_QUERIES, nLive);
    rc = exactScan(p, iVec, xDist, aQ, nQ);
  }
  for (int j = 0; j < nQ; j++) nTotal += (uint64_t)aQ[j].n;
  for (int i = 0; rc == SQLITE_OK && i < LADDER_N && nTotal > 0; i++) {
    uint32_t nHit = 0;
    rc = graphHits(p, iVec, aQ, nQ, (int)aLadder[i], &nHit);

    if (rc != SQLITE_OK) break;
    c.aEf[c.nPoint] = aLadder[i];
    c.aHit[c.nPoint++] = nHit;
    /* Enough for a target of 0.99 (a higher one takes twice the widest
    ** ef), or once the ef covers the rows. */
    if (nHit >= hitsNeeded(9900, nTotal) || aLadder[i] >= (uint64_t)nLive) break;
  }
  sqlite3_free(aQ);
  if (rc == SQLITE_OK && c.nPoint > 0) {
    /* k as the sample has it: nTotal / nQ rounded down keeps hits <= nQuery * k */
    c.nRows = (uint32_t)nLive;
    c.nQuery = (uint32_t)nQ;
    c.k = (uint32_t)(nTotal / (uint64_t)nQ);
    for (int i = 0; i < c.nPoint; i++) {
      if (c.aHit[i] > c.nQuery * c.k) c.aHit[i] = c.nQuery * c.k;
    }
    c.iChanges = p->iChanges;
    rc = vec0StorageRecallPut(p, iVec, &c);
    if (rc == SQLITE_OK) p->aRecall[iVec] = c;
  }
  return rc;
}

int vec0RecallMeasure(Vec0Table *p, int iVec) {
  if (!vec0IndexGet(p, iVec)->pModule->bUsesEf) return SQLITE_OK;
  return measure(p, iVec);
}

/* ---------------------------------------------------------------------- */
/* At commit                                                               */

/* Rebuilds column iVec's graph if tombstones reached their share; *pbDone. */
static int dropTombstones(Vec0Table *p, int iVec, sqlite3_int64 nLive, int *pbDone) {
  Vec0Index *pIdx = vec0IndexGet(p, iVec);
  sqlite3_int64 nNode, nTomb;
  /* The graph's header is enough (whatever this connection read before):
  ** every replica decides alike. */
  int rc = pIdx->pModule->xOpen(pIdx);
  *pbDone = 0;
  if (rc != SQLITE_OK) return rc;
  nNode = pIdx->pModule->xStats(pIdx);
  nTomb = nNode - nLive;
  if (nTomb < RECALL_MIN_ROWS || nTomb * RECALL_TOMB_SHARE < nNode) return SQLITE_OK;
  rc = vec0StorageAllSlots(p);
  if (rc == SQLITE_OK) rc = pIdx->pModule->xRebuild(pIdx);
  if (rc == SQLITE_OK) rc = vec0IndexFlush(p);
  *pbDone = rc == SQLITE_OK;
  return rc;
}

int vec0RecallAfterWrite(Vec0Table *p) {
  sqlite3_int64 nLive = 0;
  /* The cache may have been dropped (ROLLBACK TO): read it again. */
  int rc = vec0StorageValidate(p);
  if (rc == SQLITE_OK) rc = vec0StorageLiveCount(p, &nLive);
  for (int i = 0; rc == SQLITE_OK && i < p->cfg.nVec; i++) {
    const Vec0RecallCurve *c = &p->aRecall[i];
    int bRebuilt = 0;
    if (!vec0IndexGet(p, i)->pModule->bUsesEf) continue;
    rc = dropTombstones(p, i, nLive, &bRebuilt);
    if (rc != SQLITE_OK || p->aEfSearch[i] > 0 || nLive < RECALL_MIN_ROWS) continue;
    if (bRebuilt || c->nPoint == 0 || nLive >= 2 * (sqlite3_int64)c->nRows ||
        2 * nLive <= (sqlite3_int64)c->nRows) {
      rc = measure(p, i);
    }
  }
  return rc;
}
