/*
** vec0_index_hnsw.c: the `indexed by hnsw(...)` form of a vector column,
** the HNSW graph of vec0_hnsw.h hosted on the shadow tables.
**
** This is the graph library's host: its memory is SQLite's, a node's
** vector is storage's cached vector of that slot, a node's record is the
** row of T_linksN, a group's entry point is in T_groups, and the header is
** 'hnsw.N' of T_config.  Changed nodes stay in memory (dirty) until xFlush,
** which storage's transaction hooks call at xSync and before each savepoint.
** It is the one file besides the graph library that calls vec0Hnsw*; it
** calls storage and the kernels, never the module above.
**
** QUANTIZER (hnsw(quantizer=int8|bit, rescore=N)): the graph is built, and
** its records written, with the float32 distance exactly as without one, so
** the bytes do not depend on the quantizer; a search walks the same graph
** on compact codes (vec0_quant.h: an int8 or bit vector per slot, made from
** the float vector when first needed and held in memory) and re-ranks the
** N * k best candidates by their float32 distance, so results carry exact
** distances.  The quantizer's parameters are trained from the table's
** vectors when it first reaches HNSW_QUANT_TRAIN live rows, and again by
** 'rebuild' and 'optimize', always inside the writing transaction, and kept
** as 'quant.N' in T_config: replicas fed the same statements hold the same
** parameters.  Before they exist a search walks on float32.
*/
#include "vec0Int.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The in-memory state of one column's graph (Vec0Index.pState). */
typedef struct HnswState {
  Vec0Table *p;
  int iVec;
  int nDim;
  Vec0DistanceFn xDist;
  Vec0DistanceBoundFn xDistBound; /* NULL for metrics without one */
  Vec0DistanceBatchFn xDistBatch; /* NULL when the kernels have none */
  Vec0Hnsw *pGraph;
  uint32_t iWarmNode; /* xIdle: the next node record to read ahead */
  int bFilling;       /* xIdle reads ahead: the links ask for huge pages */
  int bWarm;          /* every node and vector is in memory */
  int bHugeDone;      /* the links are all huge pages (or cannot be) */
  /* The quantizer (see the header comment), when the column has one. */
  int eQuantState;    /* QUANT_UNKNOWN (config not read), QUANT_NONE, QUANT_READY */
  Vec0Quant quant;
  Vec0DistanceFn xCodeDist;
  int nCodeDim;       /* what xCodeDist takes: elements, or bits */
  size_t nCodeBytes;
  unsigned char *aCode;   /* nCodeSlot codes of nCodeBytes */
  unsigned char *aCodeOk; /* per slot: 1 if its code is made */
  uint32_t nCodeSlot;
  int bOnCodes;       /* the walk now runs on codes: xVector/xDistance use them */
} HnswState;

#define QUANT_UNKNOWN 0
#define QUANT_NONE 1
#define QUANT_READY 2
/* Live rows that first train a quantizer, and the sample it trains on. */
#define HNSW_QUANT_TRAIN 1000
#define HNSW_QUANT_SAMPLE 2000

/* ---------------------------------------------------------------------- */
/* The host                                                                */

static void *hostMalloc(void *pCtx, size_t n) {
  (void)pCtx;
  return sqlite3_malloc64(n);
}
static void *hostRealloc(void *pCtx, void *pOld, size_t n) {
  (void)pCtx;
  return sqlite3_realloc64(pOld, n);
}
static void hostFree(void *pCtx, void *pOld) {
  (void)pCtx;
  sqlite3_free(pOld);
}
/* The code of slot id, made from its float vector on first use. */
static const unsigned char *codeOf(HnswState *s, uint32_t id, int *pRc) {
  const unsigned char *v = 0;
  int rc;
  if (id >= s->nCodeSlot) {
    uint32_t n = s->nCodeSlot ? s->nCodeSlot : 1024;
    unsigned char *aCode, *aOk;
    while (n <= id) n *= 2;
    aCode = sqlite3_realloc64(s->aCode, (sqlite3_uint64)n * s->nCodeBytes);
    if (aCode) s->aCode = aCode;
    aOk = aCode ? sqlite3_realloc64(s->aCodeOk, n) : 0;
    if (aOk == 0) {
      *pRc = SQLITE_NOMEM;
      return 0;
    }
    memset(aOk + s->nCodeSlot, 0, n - s->nCodeSlot);
    s->aCodeOk = aOk;
    s->nCodeSlot = n;
  }
  if (!s->aCodeOk[id]) {
    rc = vec0StorageVector(s->p, s->iVec, id, &v);
    if (rc != SQLITE_OK) {
      *pRc = rc;
      return 0;
    }
    vec0QuantEncode(&s->quant, (const float *)(const void *)v,
                    s->aCode + (size_t)id * s->nCodeBytes);
    s->aCodeOk[id] = 1;
  }
  return s->aCode + (size_t)id * s->nCodeBytes;
}

static const void *hostVector(void *pCtx, uint32_t id, int *pRc) {
  HnswState *s = pCtx;
  const unsigned char *a = 0;
  int rc;
  if (s->bOnCodes) return codeOf(s, id, pRc);
  rc = vec0StorageVector(s->p, s->iVec, id, &a);
  if (rc != SQLITE_OK) *pRc = rc;
  return a;
}
static int hostReadNode(void *pCtx, uint32_t id, unsigned char **paRec, int *pnRec) {
  HnswState *s = pCtx;
  return vec0StorageLinkGet(s->p, s->iVec, id, paRec, pnRec);
}
static int hostReadGroup(void *pCtx, uint32_t g, uint32_t *pEntry, int *pLevel) {
  HnswState *s = pCtx;
  sqlite3_int64 e = 0, l = 0;
  int bFound = 0;
  int rc = vec0StorageGroupEntry(s->p, s->iVec, g, &e, &l, &bFound);
  if (rc != SQLITE_OK) return rc;
  if (!bFound) return VEC0_HNSW_NOTFOUND;
  /* Out of range values are the graph's to refuse, as corrupt. */
  *pEntry = e < 0 || e > 0xffffffffLL ? VEC0_HNSW_NONE : (uint32_t)e;
  *pLevel = l < 0 || l > VEC0_HNSW_MAX_LEVEL ? VEC0_HNSW_MAX_LEVEL + 1 : (int)l;
  return VEC0_HNSW_OK;
}
static int hostWriteGroup(void *pCtx, uint32_t g, uint32_t entry, int maxLevel) {
  HnswState *s = pCtx;
  return vec0StorageGroupEntrySet(s->p, s->iVec, g, entry, maxLevel);
}
static int hostWriteNode(void *pCtx, uint32_t id, const unsigned char *aRec, int nRec) {
  HnswState *s = pCtx;
  return vec0StorageLinkPut(s->p, s->iVec, id, aRec, nRec);
}
static float hostDistance(void *pCtx, const void *a, const void *b) {
  HnswState *s = pCtx;
  if (s->bOnCodes) return s->xCodeDist(a, b, s->nCodeDim);
  return s->xDist(a, b, s->nDim);
}
/* On codes the exact code distance is returned: it satisfies the bound's contract. */
static float hostDistanceBound(void *pCtx, const void *a, const void *b,
                               float bound) {
  HnswState *s = pCtx;
  if (s->bOnCodes) return s->xCodeDist(a, b, s->nCodeDim);
  return s->xDistBound(a, b, s->nDim, bound);
}
static void hostDistanceBatch(void *pCtx, const void *a, const void *const *apB,
                              float bound, float *aOut) {
  HnswState *s = pCtx;
  if (s->bOnCodes) {
    for (int i = 0; i < 4; i++) aOut[i] = s->xCodeDist(a, apB[i], s->nCodeDim);
    return;
  }
  s->xDistBatch(a, apB, s->nDim, bound, aOut);
}

/* ---------------------------------------------------------------------- */
/* The quantizer                                                           */

/* SQLite's allocator for the quantizer (so out-of-memory tests reach it). */
static void *quantMalloc(size_t n) {
  return sqlite3_malloc64(n);
}

/* Forgets the quantizer and every code (they are read or made again). */
static void quantForget(HnswState *s) {
  vec0QuantClear(&s->quant);
  sqlite3_free(s->aCode);
  sqlite3_free(s->aCodeOk);
  s->aCode = s->aCodeOk = 0;
  s->nCodeSlot = 0;
  s->eQuantState = QUANT_UNKNOWN;
}

static int quantKind(const Vec0VectorCol *pCol, int *peMetric) {
  *peMetric = pCol->eMetric == VEC0_METRIC_COSINE ? VEC0_QUANT_COSINE
              : pCol->eMetric == VEC0_METRIC_DOT  ? VEC0_QUANT_DOT
                                                  : VEC0_QUANT_L2;
  return pCol->eQuant;
}

/* Makes the quantizer q the column's: its code kernel and sizes. */
static void quantUse(HnswState *s) {
  int bBit = s->quant.eKind == VEC0_QUANT_BIT;
  s->nCodeBytes = vec0QuantCodeBytes(&s->quant);
  s->nCodeDim = bBit ? (int)s->nCodeBytes * 8 : s->nDim;
  s->xCodeDist = bBit ? vec0DistanceFn(VEC0_ELEM_BIT, VEC0_METRIC_HAMMING)
                 : s->quant.eMetric == VEC0_QUANT_DOT
                     ? vec0DistanceFn(VEC0_ELEM_I8, VEC0_METRIC_DOT)
                     : vec0DistanceFn(VEC0_ELEM_I8, VEC0_METRIC_L2SQ);
  s->eQuantState = s->xCodeDist ? QUANT_READY : QUANT_NONE;
}

/* Reads 'quant.N' once per cache: QUANT_READY when it is there. */
static int quantLoad(Vec0Index *pIdx, HnswState *s) {
  Vec0Table *p = pIdx->pTab;
  char zKey[32];
  const unsigned char *a = 0;
  int n = 0, bFound = 0, rc;
  if (s->eQuantState != QUANT_UNKNOWN) return SQLITE_OK;
  s->eQuantState = QUANT_NONE;
  if (p->cfg.aVec[pIdx->iVec].eQuant == VEC0_QUANT_NONE) return SQLITE_OK;
  sqlite3_snprintf(sizeof(zKey), zKey, "quant.%d", pIdx->iVec);
  rc = vec0StorageConfigBlob(p, zKey, &a, &n, &bFound);
  if (rc == SQLITE_OK && bFound) {
    rc = vec0QuantLoad(&s->quant, s->nDim, a, (size_t)n, quantMalloc, sqlite3_free);
    if (rc == 267) {
      vec0TableError(p, "vec0: table \"%s\": bad quantizer %s in %s_config", p->zName,
                     zKey, p->zName);
      rc = SQLITE_CORRUPT_VTAB;
    }
    if (rc == SQLITE_OK) quantUse(s);
  }
  vec0StorageConfigBlobDone(p);
  return rc;
}

/*
** Trains the quantizer from up to HNSW_QUANT_SAMPLE live vectors, evenly
** spaced in slot order (so every replica picks the same ones), and stores
** it as 'quant.N'.  The cache then holds every slot.
*/
static int quantTrain(Vec0Index *pIdx, HnswState *s) {
  Vec0Table *p = pIdx->pTab;
  const Vec0VectorCol *pCol = &p->cfg.aVec[pIdx->iVec];
  uint32_t nSlot = vec0StorageSlotCount(p), nLive = 0, nTake = 0, iSeen = 0;
  float *aSample = 0;
  unsigned char *aSave = 0;
  char zKey[32];
  int eMetric, eKind = quantKind(pCol, &eMetric), rc = vec0StorageAllSlots(p);
  for (uint32_t i = 0; rc == SQLITE_OK && i < nSlot; i++) nLive += vec0StorageSlotLive(p, i);
  if (rc == SQLITE_OK) {
    uint32_t nMax = nLive < HNSW_QUANT_SAMPLE ? nLive : HNSW_QUANT_SAMPLE;
    aSample = sqlite3_malloc64((sqlite3_uint64)(nMax ? nMax : 1) * s->nDim * sizeof(float));
    if (aSample == 0) rc = SQLITE_NOMEM;
    for (uint32_t i = 0; rc == SQLITE_OK && i < nSlot && nTake < nMax; i++) {
      const unsigned char *v = 0;
      if (!vec0StorageSlotLive(p, i)) continue;
      /* the iSeen-th live slot is taken when it crosses a multiple of nLive/nMax */
      if ((uint64_t)iSeen++ * nMax / nLive != (uint64_t)nTake) continue;
      rc = vec0StorageVector(p, pIdx->iVec, i, &v);
      if (rc == SQLITE_OK) {
        memcpy(aSample + (size_t)nTake * s->nDim, v, sizeof(float) * (size_t)s->nDim);
        nTake++;
      }
    }
  }
  quantForget(s);
  if (rc == SQLITE_OK &&
      vec0QuantTrain(&s->quant, eKind, eMetric, s->nDim, aSample, (int)nTake, quantMalloc,
                     sqlite3_free) != 0) {
    rc = SQLITE_NOMEM;
  }
  sqlite3_free(aSample);
  if (rc == SQLITE_OK) {
    aSave = sqlite3_malloc64(vec0QuantSaveBytes(&s->quant));
    if (aSave == 0) rc = SQLITE_NOMEM;
  }
  if (rc == SQLITE_OK) {
    vec0QuantSave(&s->quant, aSave);
    sqlite3_snprintf(sizeof(zKey), zKey, "quant.%d", pIdx->iVec);
    rc = vec0StorageConfigSetBlob(p, zKey, aSave, (int)vec0QuantSaveBytes(&s->quant));
  }
  sqlite3_free(aSave);
  if (rc == SQLITE_OK) {
    quantUse(s);
  } else {
    quantForget(s);
  }
  return rc;
}

/* rc of a call on the graph; SQLITE_CORRUPT_VTAB gets the graph's message. */
static int graphRc(Vec0Index *pIdx, int rc) {
  Vec0Table *p = pIdx->pTab;
  HnswState *s = pIdx->pState;
  /* A message already set came from a host callback: it is the nearer one. */
  if (rc == SQLITE_CORRUPT_VTAB && s && s->pGraph && p->base.zErrMsg == 0) {
    vec0TableError(p, "vec0: table \"%s\": HNSW graph of %s_links%d: %s", p->zName,
                   p->zName, pIdx->iVec, vec0HnswErrmsg(s->pGraph));
  }
  return rc;
}

static void hnswDiscard(Vec0Index *pIdx) {
  HnswState *s = pIdx->pState;
  if (s) {
    quantForget(s);
    if (s->pGraph) vec0HnswClose(s->pGraph);
    sqlite3_free(s);
    pIdx->pState = 0;
  }
}

/* The host of the graph of state s, filled in. */
static void hostInit(HnswState *s, const Vec0VectorCol *pCol, int bGroups,
                     Vec0HnswHost *pHost) {
  /* L2 walks in squared distances: the same order, no square root. */
  Vec0Metric eOrder = pCol->eMetric == VEC0_METRIC_L2 ? VEC0_METRIC_L2SQ : pCol->eMetric;
  s->nDim = pCol->nDim;
  s->xDist = vec0DistanceFn(pCol->eType, eOrder);
  s->xDistBound = vec0DistanceBoundFn(pCol->eType, eOrder);
  s->xDistBatch = s->xDistBound ? vec0DistanceBatchFn(pCol->eType, eOrder) : 0;
  memset(pHost, 0, sizeof(*pHost));
  pHost->pCtx = s;
  pHost->xMalloc = hostMalloc;
  pHost->xRealloc = hostRealloc;
  pHost->xFree = hostFree;
  pHost->xVector = hostVector;
  pHost->xReadNode = hostReadNode;
  pHost->xReadGroup = bGroups ? hostReadGroup : 0;
  pHost->xDistance = hostDistance;
  pHost->xDistanceBound = s->xDistBound ? hostDistanceBound : 0;
  pHost->xDistanceBatch = s->xDistBatch ? hostDistanceBatch : 0;
}

/* Opens the graph from its header in T_config (lazily: nodes on demand). */
static int hnswOpen(Vec0Index *pIdx) {
  Vec0Table *p = pIdx->pTab;
  int iVec = pIdx->iVec;
  const Vec0VectorCol *pCol = &p->cfg.aVec[iVec];
  Vec0HnswHost host;
  Vec0HnswParams params;
  HnswState *s;
  char zKey[32];
  int rc;

  if (pIdx->pState) return SQLITE_OK;
  s = sqlite3_malloc64(sizeof(*s));
  if (s == 0) return SQLITE_NOMEM;
  memset(s, 0, sizeof(*s));
  s->p = p;
  s->iVec = iVec;
  hostInit(s, pCol, p->cfg.nPart > 0, &host);
  if (s->xDist == 0) {
    sqlite3_free(s);
    return SQLITE_INTERNAL;
  }
  params.m = pCol->m;
  params.efConstruction = pCol->efConstruction;
  params.seed = (uint64_t)p->seed + (uint64_t)iVec;
  rc = vec0HnswOpen(&host, &params, &s->pGraph);
  if (rc != SQLITE_OK) {
    sqlite3_free(s);
    return rc;
  }
  pIdx->pState = s;
  sqlite3_snprintf(sizeof(zKey), zKey, "hnsw.%d", iVec);
  {
    const unsigned char *a = 0;
    int n = 0, bFound = 0;
    rc = vec0StorageConfigBlob(p, zKey, &a, &n, &bFound);
    if (rc == SQLITE_OK && bFound) {
      rc = vec0HnswHeaderDecode(s->pGraph, a, n, vec0StorageSlotCount(p));
      if (rc != SQLITE_OK) {
        vec0TableError(p, "vec0: table \"%s\": bad HNSW header %s in %s_config",
                       p->zName, zKey, p->zName);
      }
    }
    vec0StorageConfigBlobDone(p);
  }
  if (rc != SQLITE_OK) {
    hnswDiscard(pIdx);
    return rc;
  }
  /* A graph with no node records yet is all in memory from the start. */
  if (vec0StorageSlotCount(p) == 0) vec0HnswUseHugePages(s->pGraph);
  if (vec0StorageInOp(p)) vec0HnswBegin(s->pGraph);
  return SQLITE_OK;
}

/* The graph, opened. */
static int graphOf(Vec0Index *pIdx, Vec0Hnsw **ppOut) {
  int rc = hnswOpen(pIdx);
  *ppOut = rc == SQLITE_OK ? ((HnswState *)pIdx->pState)->pGraph : 0;
  return rc;
}

/* ---------------------------------------------------------------------- */
/* Writes                                                                  */

/* A slot's vector changed (or is new): its code must be made again. */
static void codeStale(HnswState *s, uint32_t iSlot) {
  if (iSlot < s->nCodeSlot) s->aCodeOk[iSlot] = 0;
}

static int hnswInsert(Vec0Index *pIdx, uint32_t iSlot, sqlite3_int64 iRowid,
                      uint32_t g) {
  Vec0Hnsw *h = 0;
  int rc = graphOf(pIdx, &h);
  if (rc == SQLITE_OK) rc = vec0HnswInsert(h, iSlot, (uint64_t)iRowid, g);
  rc = graphRc(pIdx, rc);
  if (rc == SQLITE_OK && pIdx->pTab->cfg.aVec[pIdx->iVec].eQuant != VEC0_QUANT_NONE) {
    HnswState *s = pIdx->pState;
    sqlite3_int64 nLive = 0;
    codeStale(s, iSlot);
    rc = quantLoad(pIdx, s);
    if (rc == SQLITE_OK) rc = vec0StorageLiveCount(pIdx->pTab, &nLive);
    /* The row that brings the table to HNSW_QUANT_TRAIN live rows trains it
    ** (nLive counts it from the write's end, hence the - 1). */
    if (rc == SQLITE_OK && s->eQuantState != QUANT_READY && nLive >= HNSW_QUANT_TRAIN - 1) {
      rc = quantTrain(pIdx, s);
    }
  }
  return rc;
}

static int hnswDelete(Vec0Index *pIdx, uint32_t iSlot) {
  Vec0Hnsw *h = 0;
  int rc = graphOf(pIdx, &h);
  if (rc == SQLITE_OK) rc = vec0HnswDelete(h, iSlot);
  return graphRc(pIdx, rc);
}

static int hnswUpdate(Vec0Index *pIdx, uint32_t iSlot) {
  Vec0Hnsw *h = 0;
  int rc = graphOf(pIdx, &h);
  if (rc == SQLITE_OK) rc = vec0HnswUpdate(h, iSlot);
  if (rc == SQLITE_OK) codeStale(pIdx->pState, iSlot);
  return graphRc(pIdx, rc);
}

static void hnswBegin(Vec0Index *pIdx) {
  HnswState *s = pIdx->pState;
  if (s) vec0HnswBegin(s->pGraph);
}

static void hnswEnd(Vec0Index *pIdx, int bCommit) {
  HnswState *s = pIdx->pState;
  if (s == 0) return;
  if (bCommit) {
    vec0HnswCommit(s->pGraph);
  } else {
    vec0HnswRollback(s->pGraph);
    /* A quantizer trained by the failed write is gone from T_config too. */
    quantForget(s);
  }
}

static int hnswFlush(Vec0Index *pIdx) {
  HnswState *s = pIdx->pState;
  Vec0Table *p = pIdx->pTab;
  unsigned char aHdr[VEC0_HNSW_HEADER_SIZE];
  char zKey[32];
  int rc;
  if (s == 0 || !vec0HnswIsDirty(s->pGraph)) return SQLITE_OK;
  rc = vec0HnswFlush(s->pGraph, hostWriteNode, p->cfg.nPart ? hostWriteGroup : 0, s);
  if (rc == SQLITE_OK) {
    vec0HnswHeaderEncode(s->pGraph, aHdr);
    sqlite3_snprintf(sizeof(zKey), zKey, "hnsw.%d", pIdx->iVec);
    rc = vec0StorageConfigSetBlob(p, zKey, aHdr, (int)sizeof(aHdr));
  }
  return rc;
}

/* ---------------------------------------------------------------------- */
/* Search                                                                  */

/*
** The walk computes about HNSW_WALK_COST * ef distances to find ef
** accepted nodes, and 1/sel times as many when most nodes are refused.
*/
#define HNSW_WALK_COST 10.0
static double hnswSearchCost(Vec0Index *pIdx, double nLive, double sel, int ef) {
  (void)pIdx;
  (void)nLive;
  return HNSW_WALK_COST * ef / (sel > 1e-3 ? sel : 1e-3);
}

static int cmpResult(const void *a, const void *b) {
  const Vec0HnswResult *x = a, *y = b;
  if (x->distance != y->distance) return x->distance < y->distance ? -1 : 1;
  return x->id < y->id ? -1 : x->id > y->id;
}

/*
** The walk on codes: nCand = rescore * k candidates by code distance, then
** their float32 distances, nearest first (ties by slot, as an exact scan).
*/
static int searchOnCodes(Vec0Index *pIdx, HnswState *s, const Vec0IndexSearch *pS,
                         Vec0HnswResult *aRes, int nCand, int *pnRes) {
  unsigned char *aQuery = sqlite3_malloc64(s->nCodeBytes ? s->nCodeBytes : 1);
  int rc = aQuery ? SQLITE_OK : SQLITE_NOMEM;
  *pnRes = 0;
  if (rc == SQLITE_OK) {
    vec0QuantEncode(&s->quant, pS->pQuery, aQuery);
    s->bOnCodes = 1;
    rc = vec0HnswSearch(s->pGraph, pS->g, aQuery, nCand, pS->ef > nCand ? pS->ef : nCand,
                        pS->xAccept, pS->pAcceptCtx, aRes, pnRes);
    s->bOnCodes = 0;
    rc = graphRc(pIdx, rc);
  }
  for (int i = 0; rc == SQLITE_OK && i < *pnRes; i++) {
    const unsigned char *v = 0;
    rc = vec0StorageVector(pIdx->pTab, pIdx->iVec, aRes[i].id, &v);
    if (rc == SQLITE_OK) aRes[i].distance = s->xDist(pS->pQuery, v, s->nDim);
  }
  if (rc == SQLITE_OK) qsort(aRes, (size_t)*pnRes, sizeof(Vec0HnswResult), cmpResult);
  sqlite3_free(aQuery);
  return rc;
}

static int hnswSearch(Vec0Index *pIdx, const Vec0IndexSearch *pS, Vec0IndexHit *aOut,
                      int *pnOut) {
  Vec0Hnsw *h = 0;
  Vec0HnswResult *aRes = 0;
  HnswState *s;
  int rc = graphOf(pIdx, &h), nRes = 0, nCand = pS->k;
  *pnOut = 0;
  if (rc != SQLITE_OK) return rc;
  s = pIdx->pState;
  rc = quantLoad(pIdx, s);
  if (rc == SQLITE_OK && s->eQuantState == QUANT_READY) {
    int nRescore = pIdx->pTab->cfg.aVec[pIdx->iVec].nRescore;
    nCand = pS->k * nRescore > VEC0_MAX_K ? VEC0_MAX_K : pS->k * nRescore;
    if (nCand < pS->k) nCand = pS->k;
  }
  if (rc == SQLITE_OK) {
    aRes = sqlite3_malloc64(sizeof(Vec0HnswResult) * (size_t)(nCand ? nCand : 1));
    if (aRes == 0) rc = SQLITE_NOMEM;
  }
  vec0HnswHide(h, pS->iHide1 ? pS->iHide1 - 1 : VEC0_HNSW_NONE);
  if (rc == SQLITE_OK && s->eQuantState == QUANT_READY) {
    rc = searchOnCodes(pIdx, s, pS, aRes, nCand, &nRes);
    if (nRes > pS->k) nRes = pS->k;
  } else if (rc == SQLITE_OK) {
    rc = vec0HnswSearch(h, pS->g, pS->pQuery, pS->k, pS->ef, pS->xAccept,
                        pS->pAcceptCtx, aRes, &nRes);
    rc = graphRc(pIdx, rc);
  }
  vec0HnswHide(h, VEC0_HNSW_NONE);
  for (int i = 0; rc == SQLITE_OK && i < nRes; i++) {
    aOut[i].slot = aRes[i].id;
    aOut[i].distance = aRes[i].distance;
  }
  if (rc == SQLITE_OK) *pnOut = nRes;
  sqlite3_free(aRes);
  return rc;
}

/* Reads node records [iWarmNode, +n) of the graph ahead of need. */
static int warmNodes(Vec0Index *pIdx, int n, int *pbDone) {
  HnswState *s = pIdx->pState;
  Vec0Table *p = pIdx->pTab;
  sqlite3_stmt *pStmt = 0;
  int rc = vec0StorageLinkRange(p, pIdx->iVec, s->iWarmNode, n, &pStmt), nRead = 0;
  *pbDone = 0;
  if (rc != SQLITE_OK) return rc;
  while (rc == SQLITE_OK && sqlite3_step(pStmt) == SQLITE_ROW) {
    sqlite3_int64 id = sqlite3_column_int64(pStmt, 0);
    nRead++;
    if (id < 0 || id >= vec0StorageSlotCount(p)) continue; /* integrity-check reports it */
    rc = vec0HnswPreload(s->pGraph, (uint32_t)id, sqlite3_column_blob(pStmt, 1),
                         sqlite3_column_bytes(pStmt, 1));
    rc = graphRc(pIdx, rc);
    s->iWarmNode = (uint32_t)id + 1;
  }
  {
    int rc2 = sqlite3_reset(pStmt);
    if (rc == SQLITE_OK) rc = rc2;
  }
  if (rc == SQLITE_OK && nRead < n) *pbDone = 1;
  return rc;
}

/*
** After a query: the next part of the nodes and vectors read ahead (all of
** them for 'warm'), so that a reopened table comes to hold its whole index
** in memory after about ten statements, none of them waiting long; then the
** links become huge pages, a part at a time (the vectors are read into huge
** pages already: see vec0StorageWarm and vec0StorageHugeStep).  From the
** first step on the links ask for huge pages: the nodes still read lazily
** are read in order soon anyway.
*/
static int hnswIdle(Vec0Index *pIdx, size_t nBytes) {
  Vec0Table *p = pIdx->pTab;
  HnswState *s = pIdx->pState;
  int rc = SQLITE_OK;
  if (s == 0 || !s->bWarm) {
    uint32_t nStep = 0;
    int bAll = 0, bNodes = 1;
    rc = vec0StorageWarm(p, pIdx->iVec, nBytes, &nStep, &bAll);
    if (rc == SQLITE_OK && nStep > 0 && s) {
      if (!s->bFilling) vec0HnswUseHugePages(s->pGraph);
      s->bFilling = 1;
      rc = warmNodes(pIdx, (int)nStep, &bNodes);
    }
    if (rc != SQLITE_OK) return rc;
    if (nStep > 0 && bAll && bNodes) {
      vec0StorageVectorsHuge(p, pIdx->iVec);
      if (s) {
        vec0HnswUseHugePages(s->pGraph);
        s->bHugeDone = 0; /* the links have their turn too */
        s->bWarm = 1;
      }
    }
  }
  if (vec0StorageHugeStep(p, pIdx->iVec) && s && !s->bHugeDone) {
    s->bHugeDone = vec0HnswHugeStep(s->pGraph, VEC0_HUGE_STEP);
  }
  return SQLITE_OK;
}

/* ---------------------------------------------------------------------- */
/* Maintenance                                                             */

static int hnswCheck(Vec0Index *pIdx, char **pzErr) {
  Vec0Table *p = pIdx->pTab;
  const char *zT = p->zName;
  int iVec = pIdx->iVec;
  uint32_t nSlot = vec0StorageSlotCount(p);
  sqlite3_int64 iBad = 0;
  int bFound = 0;
  Vec0Hnsw *h = 0;
  char *zHnswErr = 0;
  /* The graph check reads the nodes of slots below next_slot only. */
  int rc = vec0StorageLinkOutside(p, iVec, &iBad, &bFound);
  if (rc == SQLITE_OK && bFound) {
    *pzErr = sqlite3_mprintf("%s_links%d has a node for slot %lld, not below next_slot "
                             "%lld",
                             zT, iVec, iBad, (sqlite3_int64)nSlot);
    return *pzErr ? SQLITE_CORRUPT_VTAB : SQLITE_NOMEM;
  }
  if (rc == SQLITE_OK) rc = graphOf(pIdx, &h);
  if (rc == SQLITE_OK) rc = vec0HnswCheck(h, nSlot, &zHnswErr);
  if (zHnswErr) {
    *pzErr = sqlite3_mprintf("HNSW graph of %s_links%d: %s", zT, iVec, zHnswErr);
    sqlite3_free(zHnswErr);
    if (rc == SQLITE_OK) rc = SQLITE_CORRUPT_VTAB;
  }
  for (uint32_t s = 0; rc == SQLITE_OK && s < nSlot; s++) {
    int bLive = vec0HnswIsLive(h, s);
    if (bLive < 0) {
      rc = graphRc(pIdx, -bLive);
    } else if (bLive != vec0StorageSlotLive(p, s)) {
      *pzErr = sqlite3_mprintf("slot %u is %s but its node in %s_links%d is %s", s,
                               vec0StorageSlotLive(p, s) ? "live" : "free", zT, iVec,
                               bLive ? "live" : "absent or deleted");
      rc = SQLITE_CORRUPT_VTAB;
    }
  }
  return rc;
}

/* The threads of a bulk build: 'threads=N', or one per core. */
static int buildThreads(const Vec0Table *p) {
  long n = p->nThread;
  if (n <= 0) {
#ifdef _SC_NPROCESSORS_ONLN
    n = sysconf(_SC_NPROCESSORS_ONLN);
#else
    n = 1;
#endif
  }
  return n < 1 ? 1 : n > VEC0_MAX_THREADS ? VEC0_MAX_THREADS : (int)n;
}

/*
** Every live slot inserted by one batch, on buildThreads() threads: the
** graph is the same bytes for any number of them (vec0HnswInsertBatch).
** Only the live slots: the header keeps the id bound, so ids may have gaps
** where deleted rows were.  The vectors are all read first, since the
** worker threads may not call into SQLite.
*/
static int hnswRebuild(Vec0Index *pIdx) {
  Vec0Table *p = pIdx->pTab;
  uint32_t nSlot = vec0StorageSlotCount(p), n = 0;
  Vec0Hnsw *h = 0;
  uint32_t *aId = 0, *aGroup = 0;
  uint64_t *aKey = 0;
  int rc = vec0StorageLinkClear(p, pIdx->iVec);
  hnswDiscard(pIdx);
  if (rc == SQLITE_OK) rc = vec0StorageAllVectors(p, pIdx->iVec);
  if (rc == SQLITE_OK) rc = graphOf(pIdx, &h);
  if (rc == SQLITE_OK) {
    aId = sqlite3_malloc64(sizeof(uint32_t) * ((size_t)nSlot + 1));
    aGroup = sqlite3_malloc64(sizeof(uint32_t) * ((size_t)nSlot + 1));
    aKey = sqlite3_malloc64(sizeof(uint64_t) * ((size_t)nSlot + 1));
    if (aId == 0 || aGroup == 0 || aKey == 0) rc = SQLITE_NOMEM;
  }
  for (uint32_t s = 0; rc == SQLITE_OK && s < nSlot; s++) {
    if (!vec0StorageSlotLive(p, s)) continue;
    aId[n] = s;
    aKey[n] = (uint64_t)vec0StorageSlotRowid(p, s);
    aGroup[n] = vec0StorageSlotGroup(p, s);
    n++;
  }
  if (rc == SQLITE_OK && n > 0) {
    rc = vec0HnswInsertBatch(h, aId, aKey, p->cfg.nPart ? aGroup : 0, (int)n,
                             buildThreads(p));
    rc = graphRc(pIdx, rc);
  }
  sqlite3_free(aId);
  sqlite3_free(aGroup);
  sqlite3_free(aKey);
  /* rebuild and optimize train the quantizer anew on the rows there are */
  if (rc == SQLITE_OK && p->cfg.aVec[pIdx->iVec].eQuant != VEC0_QUANT_NONE) {
    rc = quantTrain(pIdx, pIdx->pState);
  }
  return rc;
}

static sqlite3_int64 hnswStats(Vec0Index *pIdx) {
  HnswState *s = pIdx->pState;
  return s ? (sqlite3_int64)vec0HnswCount(s->pGraph) : 0;
}

static int hnswInfo(Vec0Index *pIdx, Vec0IndexInfo *pInfo) {
  HnswState *s = pIdx->pState;
  uint32_t iEntry = VEC0_HNSW_NONE;
  size_t nBytes = 0;
  int rc = vec0HnswShape(s->pGraph, 0, &pInfo->nLevel, &iEntry, &nBytes);
  pInfo->iEntry = iEntry == VEC0_HNSW_NONE ? -1 : (sqlite3_int64)iEntry;
  pInfo->nBytes = (sqlite3_int64)(nBytes + (size_t)s->nCodeSlot * (s->nCodeBytes + 1));
  return graphRc(pIdx, rc);
}

const Vec0IndexModule vec0IndexHnsw = {
    /* zName        */ "hnsw",
    /* zShadow      */ "links",
    /* bUsesEf      */ 1,
    /* xOpen        */ hnswOpen,
    /* xDiscard     */ hnswDiscard,
    /* xInsert      */ hnswInsert,
    /* xDelete      */ hnswDelete,
    /* xUpdate      */ hnswUpdate,
    /* xSearchCost  */ hnswSearchCost,
    /* xSearch      */ hnswSearch,
    /* xIdle        */ hnswIdle,
    /* xBegin       */ hnswBegin,
    /* xEnd         */ hnswEnd,
    /* xFlush       */ hnswFlush,
    /* xCheck       */ hnswCheck,
    /* xRebuild     */ hnswRebuild,
    /* xStats       */ hnswStats,
    /* xInfo        */ hnswInfo,
};
