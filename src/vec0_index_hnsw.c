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
**
** LOW MEMORY (hnsw(quantizer=..., low_memory=1)): a search keeps the codes
** and the node records in memory, not the float32 vectors: a code is made
** from a vector read for that once (vec0StorageVectorCopy), the rescoring
** reads its N * k candidates the same way, and the read-ahead after queries
** (xIdle) makes codes and reads node records instead of caching vectors.
** Writes still read the vectors a graph insert needs into the cache.
**
** QUEUE: xInsert does not put a new row into the graph; it queues its slot.
** The queue goes into the graph before anything that needs the graph as
** the rows are (a search, a delete, an update, integrity-check), before a
** vector the graph knows is overwritten (xBeforeWrite: a reused slot, an
** update in place, so that the queue walks the vectors it would have
** walked when its rows were written), and at
** xFlush, i.e. at xSync and at every savepoint SQLite opens (a user's, or
** the statement savepoint of an INSERT ... SELECT or a multi-row VALUES),
** so what is queued at once depends only on the statements.  A queue of
** fewer than HNSW_BULK_MIN rows (or small beside the graph) is inserted row
** by row with vec0HnswInsert in queue order, exactly as xInsert used to do
** it; a larger one is one vec0HnswInsertBatch on vec0TableThreads() threads,
** whose bytes do not depend on the thread count.  The queue is drained
** inside an undo scope of the graph (the write's, or one of its own), so a
** failed drain leaves the graph and the queue as they were, and a failed
** write puts the queue back as it was at its xBegin; ROLLBACK TO drops the
** whole cache, queue included, and the queue then holds nothing from
** before the savepoint (it was drained when the savepoint began).
*/
#include "vec0Int.h"
#include "vec0_index_hnswInt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
static const void *hostVector(void *pCtx, uint32_t id, int *pRc) {
  HnswState *s = pCtx;
  const unsigned char *a = 0;
  int rc;
  if (s->bOnUpper) return vec0HnswUpperVector(s, id, pRc);
  if (s->bOnCodes) return vec0CodesGet(s->p, s->iVec, &s->codes, id, pRc);
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
  float d;
  if (s->bOnUpper) {
    vec0HnswUpperDistances(s, a, &b, 1, &d);
    return d;
  }
  if (s->bOnCodes) return vec0CodesDistance(&s->codes, a, b);
  return s->xDist(a, b, s->nDim);
}
/* Copies, as the walk sees them: the same codes on codes, else the same vector. */
static int hostSame(void *pCtx, const void *a, const void *b) {
  HnswState *s = pCtx;
  if (s->bOnUpper) return 0;
  return memcmp(a, b, s->bOnCodes ? s->codes.nBytes : s->nVecBytes) == 0;
}
/* On codes the exact code distance is returned: it satisfies the bound's contract. */
static float hostDistanceBound(void *pCtx, const void *a, const void *b,
                               float bound) {
  HnswState *s = pCtx;
  float d;
  if (s->bOnUpper) {
    vec0HnswUpperDistances(s, a, &b, 1, &d);
    return d;
  }
  if (s->bOnCodes) return vec0CodesDistance(&s->codes, a, b);
  return s->xDistBound(a, b, s->nDim, bound);
}
static void hostDistanceBatch(void *pCtx, const void *a, const void *const *apB,
                              float bound, float *aOut) {
  HnswState *s = pCtx;
  if (s->bOnUpper) {
    vec0HnswUpperDistances(s, a, apB, 4, aOut);
  } else if (s->bOnCodes && s->codes.xQuery) {
    s->codes.xQuery(a, apB, 4, aOut);
  } else if (s->bOnCodes) {
    for (int i = 0; i < 4; i++) aOut[i] = s->codes.xDist(a, apB[i], s->codes.nDim);
  } else {
    s->xDistBatch(a, apB, s->nDim, bound, aOut);
  }
}

/* ---------------------------------------------------------------------- */
/* NORMS (see HnswState)                                                   */

/* 0 bits: not known (a sum of 0 is made again each time, and is cheap then) */
#define NORM_UNKNOWN 0u
/* A larger array comes straight from the system, its pages cleared as
** first touched: opening a 1M-row table then costs what its walks touch. */
#define NORM_MAP_MIN ((size_t)1 << 20)

/* The sum of the squares of v, slot id's vector, made now if not known. */
static float normOf(HnswState *s, uint32_t id, const void *v) {
  uint32_t bits = id < s->nNorm ? __atomic_load_n(&s->aNorm[id], __ATOMIC_RELAXED)
                                : NORM_UNKNOWN;
  float f;
  if (bits == NORM_UNKNOWN) {
    f = s->xSumSq(v, s->nDim);
    memcpy(&bits, &f, sizeof(bits));
    if (id < s->nNorm) __atomic_store_n(&s->aNorm[id], bits, __ATOMIC_RELAXED);
  } else {
    memcpy(&f, &bits, sizeof(f));
  }
  return f;
}

static void normsForget(HnswState *s) {
  if (s->nNormMap) {
    vec0MemUnmap(s->aNorm, s->nNormMap);
  } else {
    sqlite3_free(s->aNorm);
  }
  s->aNorm = 0;
  s->nNorm = 0;
  s->nNormMap = 0;
}

/* Room for every slot there is; without it (no memory) slots past the end
** are scored with the sums made each time. */
static void normsGrow(HnswState *s) {
  uint32_t n = vec0StorageSlotCount(s->p), nNew;
  size_t nByte, nMap = 0;
  uint32_t *a = 0;
  if (s->xCos4 == 0 || n <= s->nNorm) return;
  nNew = n < 0x7fffffffu - n / 2 ? n + n / 2 : n;
  nByte = (size_t)nNew * sizeof(uint32_t);
  if (nByte >= NORM_MAP_MIN && (a = vec0MemMapZero(nByte)) != 0) nMap = nByte;
  if (a == 0) {
    if ((a = sqlite3_malloc64(nByte)) == 0) return;
    memset(a, 0, nByte);
  }
  if (s->nNorm) memcpy(a, s->aNorm, (size_t)s->nNorm * sizeof(uint32_t));
  normsForget(s);
  s->aNorm = a;
  s->nNorm = nNew;
  s->nNormMap = nMap;
}

/*
** On int8 codes, every new neighbour's distance at once (the kernel keeps
** several codes' reads in flight); on vectors whose metric has a bound
** kernel (l2), nothing: the walk's bound kernels read less.
*/
static int hostDistanceMany(void *pCtx, const void *a, const void *const *apB,
                            const uint32_t *aId, int n, float *aOut) {
  HnswState *s = pCtx;
  if (s->bOnUpper) {
    vec0HnswUpperDistances(s, a, apB, n, aOut);
    return 1;
  }
  if (s->bOnCodes && s->codes.xQuery) {
    s->codes.xQuery(a, apB, n, aOut);
    return 1;
  }
  if (s->bOnCodes || s->xDistBound) return 0;
  /* A metric without a bound kernel (cosine, dot): each distance is read in
  ** full anyway.  Four at a time where the kernels can (cosine: the same
  ** bits), the next vector's every line fetched meanwhile for the others;
  ** cosine without forming the vectors' sums of squares where they are
  ** known (NORMS). */
  int i = 0;
  if (s->xCos4 && n >= 2) {
    /* the query's sum once for all (the same bits as inside the kernel) */
    float aa = s->xSumSq(a, s->nDim);
    for (; i + 2 <= n; i += 4) {
      const void *apB4[4];
      float aBB[4], aD[4];
      for (int j = 0; j < 4; j++) {
        int k = i + j < n ? i + j : n - 1;
        apB4[j] = apB[k];
        aBB[j] = normOf(s, aId[k], apB[k]);
      }
      s->xCos4(a, aa, apB4, aBB, s->nDim, aD);
      for (int j = 0; j < 4 && i + j < n; j++) aOut[i + j] = aD[j];
    }
    if (i > n) i = n;
  } else if (s->xDist4) {
    /* the last group of two or three padded with its last vector, in cache */
    for (; i + 2 <= n; i += 4) {
      const void *apB4[4];
      float aD[4];
      for (int j = 0; j < 4; j++) apB4[j] = apB[i + j < n ? i + j : n - 1];
      s->xDist4(a, apB4, s->nDim, INFINITY, aD);
      for (int j = 0; j < 4 && i + j < n; j++) aOut[i + j] = aD[j];
    }
    if (i > n) i = n;
  }
  for (; i < n; i++) {
    if (i + 1 < n) {
      const char *v = apB[i + 1];
      for (size_t o = 0; o < s->nVecBytes; o += 64) VEC0_PREFETCH(v + o);
    }
    aOut[i] = s->xDist(a, apB[i], s->nDim);
  }
  return 1;
}

/*
** xInterrupt: SQLITE_INTERRUPT once sqlite3_interrupt() was called on the
** connection.  Where SQLite has sqlite3_is_interrupted (3.41) it tells;
** otherwise a step of s->pPoll ("SELECT 1", prepared by batchInsert),
** which SQLite fails with SQLITE_INTERRUPT then: a statement checks the
** flag as it starts, and the statement that runs the batch is active, so
** SQLite does not clear it meanwhile.  Called on the connection's thread.
*/
static int hostInterrupt(void *pCtx) {
  HnswState *s = pCtx;
  int rc;
#if SQLITE_VERSION_NUMBER >= 3041000
  if (sqlite3_libversion_number() >= 3041000) {
    return sqlite3_is_interrupted(s->p->db) ? SQLITE_INTERRUPT : SQLITE_OK;
  }
#endif
  if (s->pPoll == 0) return SQLITE_OK;
  rc = sqlite3_step(s->pPoll);
  sqlite3_reset(s->pPoll);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/*
** vec0HnswInsertBatch on vec0TableThreads() threads, stopping early (with
** SQLITE_INTERRUPT) if the connection is interrupted meanwhile.
*/
static int batchInsert(HnswState *s, const uint32_t *aId, const uint64_t *aKey,
                       const uint32_t *aGroup, int n) {
  Vec0Table *p = s->p;
  int rc = SQLITE_OK;
#if SQLITE_VERSION_NUMBER >= 3041000
  if (sqlite3_libversion_number() < 3041000)
#endif
    rc = sqlite3_prepare_v2(p->db, "SELECT 1", -1, &s->pPoll, 0);
  if (rc == SQLITE_OK) {
    rc = vec0HnswInsertBatch(s->pGraph, aId, aKey, p->cfg.nPart ? aGroup : 0, n,
                             vec0TableThreads(p));
  }
  sqlite3_finalize(s->pPoll);
  s->pPoll = 0;
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
    vec0HnswQuantForget(s);
    vec0HnswUpperForget(s);
    normsForget(s);
    sqlite3_free(s->aQSlot);
    sqlite3_free(s->aQGroup);
    sqlite3_free(s->aQKey);
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
  s->nVecBytes = vec0ElemBytes(pCol->eType, pCol->nDim);
  s->xDist = vec0DistanceFn(pCol->eType, eOrder);
  s->xDistBound = vec0DistanceBoundFn(pCol->eType, eOrder);
  s->xDistBatch = s->xDistBound ? vec0DistanceBatchFn(pCol->eType, eOrder) : 0;
  s->xDist4 = s->xDistBound ? 0 : vec0DistanceBatchFn(pCol->eType, eOrder);
  if (pCol->eType == VEC0_ELEM_F32 && pCol->eMetric == VEC0_METRIC_COSINE &&
      pCol->eQuant == VEC0_QUANT_NONE) {
    vec0CosineKnownFns(&s->xSumSq, &s->xCos4);
  }
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
  pHost->xDistanceMany = hostDistanceMany;
  pHost->xInterrupt = hostInterrupt;
  pHost->xUpper = vec0HnswUpperQuery;
  pHost->xSame = hostSame;
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
  s->bLowMem = pCol->bLowMem;
  s->codes.bRecords = 1;
  s->codes.bOnce = pCol->bLowMem;
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
  /*
  ** The links ask for huge pages from the start: a walk after a reopen
  ** writes the records it reads at random places of the link array (of a
  ** graph below vec0HnswArenaMin; a larger one takes its rows in read
  ** order), and on a machine where a first-touched 4 KiB page costs ~30 us
  ** the first query's few hundred records cost more in faults than a few
  ** 2 MiB pages (which the fill then writes in order anyway).
  */
  vec0HnswUseHugePages(s->pGraph);
  if (vec0StorageInOp(p)) vec0HnswBegin(s->pGraph);
  return SQLITE_OK;
}

/* The graph, opened. */
static int graphOf(Vec0Index *pIdx, Vec0Hnsw **ppOut) {
  int rc = hnswOpen(pIdx);
  *ppOut = rc == SQLITE_OK ? ((HnswState *)pIdx->pState)->pGraph : 0;
  if (rc == SQLITE_OK) normsGrow(pIdx->pState);
  return rc;
}

/* ---------------------------------------------------------------------- */
/* The queue (see QUEUE in the header comment)                             */

/*
** A queue this long (and at least 1/HNSW_BULK_RATIO of the graph's nodes)
** is built as one batch, on threads; a shorter one row by row.  A batch
** first brings the whole graph of the groups it touches into memory, which
** the rows of a small queue into a large graph would not repay.
*/
#define HNSW_BULK_MIN 64
#define HNSW_BULK_RATIO 128

static int queuePush(HnswState *s, uint32_t iSlot, uint64_t key, uint32_t g) {
  if (s->nQ >= s->nQAlloc) {
    uint32_t n = s->nQAlloc ? s->nQAlloc * 2 : 256;
    uint32_t *aSlot, *aGroup;
    uint64_t *aKey;
    if (n <= s->nQAlloc) return SQLITE_FULL;
    aSlot = sqlite3_realloc64(s->aQSlot, (sqlite3_uint64)n * sizeof(uint32_t));
    if (aSlot) s->aQSlot = aSlot;
    aGroup = aSlot ? sqlite3_realloc64(s->aQGroup, (sqlite3_uint64)n * sizeof(uint32_t)) : 0;
    if (aGroup) s->aQGroup = aGroup;
    aKey = aGroup ? sqlite3_realloc64(s->aQKey, (sqlite3_uint64)n * sizeof(uint64_t)) : 0;
    if (aKey == 0) return SQLITE_NOMEM;
    s->aQKey = aKey;
    s->nQAlloc = n;
  }
  s->aQSlot[s->nQ] = iSlot;
  s->aQKey[s->nQ] = key;
  s->aQGroup[s->nQ] = g;
  s->nQ++;
  return SQLITE_OK;
}


/*
** The queued rows as one batch: first the ones that revive a tombstone
** (their freed slot was reused), row by row in queue order, since a batch
** takes new nodes only; then the others at once.
*/
static int queueBatch(Vec0Index *pIdx, HnswState *s) {
  uint32_t n = s->nQ - s->iQ0, nNew = 0;
  uint32_t *aId = sqlite3_malloc64((sqlite3_uint64)n * sizeof(uint32_t));
  uint32_t *aGroup = sqlite3_malloc64((sqlite3_uint64)n * sizeof(uint32_t));
  uint64_t *aKey = sqlite3_malloc64((sqlite3_uint64)n * sizeof(uint64_t));
  int rc = aId && aGroup && aKey ? SQLITE_OK : SQLITE_NOMEM;
  for (uint32_t i = s->iQ0; rc == SQLITE_OK && i < s->nQ; i++) {
    int bHas = vec0HnswHasNode(s->pGraph, s->aQSlot[i]);
    if (bHas < 0) {
      rc = -bHas;
    } else if (bHas) {
      rc = vec0HnswInsert(s->pGraph, s->aQSlot[i], s->aQKey[i], s->aQGroup[i]);
    } else {
      aId[nNew] = s->aQSlot[i];
      aKey[nNew] = s->aQKey[i];
      aGroup[nNew] = s->aQGroup[i];
      nNew++;
    }
  }
  if (rc == SQLITE_OK && nNew > 0) {
    rc = batchInsert(s, aId, aKey, aGroup, (int)nNew);
  }
  sqlite3_free(aId);
  sqlite3_free(aGroup);
  sqlite3_free(aKey);
  return rc;
}

/*
** Puts the queued rows into the graph.  In a write, inside its undo scope
** (its failure puts the queue back too, hnswEnd); otherwise inside a scope
** of its own, undone if it fails, the queue kept.
*/
static int queueDrain(Vec0Index *pIdx) {
  HnswState *s = pIdx->pState;
  int bOwn, rc = SQLITE_OK;
  uint32_t n;
  if (s == 0 || s->iQ0 == s->nQ) return SQLITE_OK;
  n = s->nQ - s->iQ0;
  bOwn = !vec0StorageInOp(pIdx->pTab);
  if (bOwn) vec0HnswBegin(s->pGraph);
  if (n >= HNSW_BULK_MIN && (uint64_t)n * HNSW_BULK_RATIO >= vec0HnswCount(s->pGraph)) {
    rc = queueBatch(pIdx, s);
  } else {
    for (uint32_t i = s->iQ0; rc == SQLITE_OK && i < s->nQ; i++) {
      rc = vec0HnswInsert(s->pGraph, s->aQSlot[i], s->aQKey[i], s->aQGroup[i]);
    }
  }
  if (rc == SQLITE_OK) {
    s->iQ0 = s->nQ;
    if (bOwn) {
      vec0HnswCommit(s->pGraph);
      s->iQ0 = s->nQ = 0;
    }
  } else if (bOwn) {
    vec0HnswRollback(s->pGraph);
  }
  return graphRc(pIdx, rc);
}

/* ---------------------------------------------------------------------- */
/* Writes                                                                  */

/*
** The first walk of an opened graph (a search, or an insert's) is about to
** read records into the node arrays at random: a large graph's arrays are
** made resident on another core instead (vec0HnswPrefaultLinks: the small
** ones, and the link array unless its rows go in read order; a first query
** at 1M faulted in tens of 2 MiB pages), unless 'threads=1' or the column's
** cache stays lazy ('cache_budget'), whose memory grows only with what
** statements visit.  Not at the open itself: a command ('threads=',
** 'cache_budget=') opens the graph before its setting holds.
*/
static void graphWalked(Vec0Index *pIdx) {
  HnswState *s = pIdx->pState;
  Vec0Table *p = pIdx->pTab;
  if (s->bPrefault) return;
  s->bPrefault = 1;
  if (vec0TableThreads(p) > 1 && vec0StorageWarmAllowed(p, pIdx->iVec)) {
    vec0HnswPrefaultLinks(s->pGraph);
  }
}

static int hnswInsert(Vec0Index *pIdx, uint32_t iSlot, sqlite3_int64 iRowid,
                      uint32_t g) {
  Vec0Hnsw *h = 0;
  /* the graph is opened now, so that a bad header fails the write itself */
  int rc = graphOf(pIdx, &h);
  if (rc == SQLITE_OK) graphWalked(pIdx);
  if (rc == SQLITE_OK) vec0HnswUpperStale(pIdx->pState, iSlot); /* a slot reused */
  if (rc == SQLITE_OK) rc = queuePush(pIdx->pState, iSlot, (uint64_t)iRowid, g);
  if (rc == SQLITE_OK && pIdx->pTab->cfg.aVec[pIdx->iVec].eQuant != VEC0_QUANT_NONE) {
    HnswState *s = pIdx->pState;
    int bReady = s->codes.eState == VEC0_CODES_READY;
    rc = vec0CodesInsert(pIdx->pTab, pIdx->iVec, &s->codes, iSlot);
    /* a quantizer trained (or dropped) now: a low-memory graph makes its codes again */
    if (!bReady) {
      s->iWarmChunk = 0;
      if (s->bLowMem) s->bWarm = 0;
    }
  }
  return rc;
}

static int hnswDelete(Vec0Index *pIdx, uint32_t iSlot) {
  Vec0Hnsw *h = 0;
  int rc = graphOf(pIdx, &h);
  if (rc == SQLITE_OK) rc = queueDrain(pIdx);
  if (rc == SQLITE_OK) rc = vec0HnswDelete(h, iSlot);
  return graphRc(pIdx, rc);
}

static int hnswUpdate(Vec0Index *pIdx, uint32_t iSlot) {
  Vec0Hnsw *h = 0;
  int rc = graphOf(pIdx, &h);
  if (rc == SQLITE_OK) rc = queueDrain(pIdx);
  if (rc == SQLITE_OK) rc = vec0HnswUpdate(h, iSlot);
  if (rc == SQLITE_OK) {
    vec0CodesStale(&((HnswState *)pIdx->pState)->codes, iSlot);
    vec0HnswUpperStale(pIdx->pState, iSlot);
  }
  return graphRc(pIdx, rc);
}

/*
** A vector the graph knows is about to change (a tombstone's slot reused,
** a live row updated): the queue goes in first, on the vectors as they are,
** so that it walks what a row-by-row insert would have walked.
*/
static int hnswBeforeWrite(Vec0Index *pIdx, uint32_t iSlot) {
  HnswState *s = pIdx->pState;
  int bHas, rc = SQLITE_OK;
  if (s == 0) return SQLITE_OK;
  if (s->iQ0 < s->nQ) {
    bHas = vec0HnswHasNode(s->pGraph, iSlot);
    if (bHas < 0) return graphRc(pIdx, -bHas);
    if (bHas) rc = queueDrain(pIdx);
  }
  /* after the drain, which may score the vector as it is */
  if (iSlot < s->nNorm) s->aNorm[iSlot] = NORM_UNKNOWN;
  return rc;
}

static void hnswBegin(Vec0Index *pIdx) {
  HnswState *s = pIdx->pState;
  if (s == 0) return;
  vec0HnswBegin(s->pGraph);
  if (s->iQ0 == s->nQ) s->iQ0 = s->nQ = 0;
  s->iQ0Op = s->iQ0;
  s->nQOp = s->nQ;
}

static void hnswEnd(Vec0Index *pIdx, int bCommit) {
  HnswState *s = pIdx->pState;
  if (s == 0) return;
  if (bCommit) {
    vec0HnswCommit(s->pGraph);
  } else {
    /* the rows the write queued are gone, the ones it drained queued again */
    s->iQ0 = s->iQ0Op;
    s->nQ = s->nQOp;
    vec0HnswRollback(s->pGraph);
    /* A quantizer trained by the failed write is gone from T_config too. */
    vec0HnswQuantForget(s);
    /* and the vectors it wrote: their codes and sums are the rows' no more */
    vec0HnswUpperForget(s);
    normsForget(s);
  }
}

static int hnswFlush(Vec0Index *pIdx) {
  HnswState *s = pIdx->pState;
  Vec0Table *p = pIdx->pTab;
  unsigned char aHdr[VEC0_HNSW_HEADER_SIZE];
  char zKey[32];
  int rc = queueDrain(pIdx);
  if (rc != SQLITE_OK || s == 0 || !vec0HnswIsDirty(s->pGraph)) return rc;
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
** The walk on codes: the nCand best candidates by code distance (at most
** ef of them: ef is the walk's breadth), then their float32 distances,
** nearest first (ties by slot, as an exact scan).
*/
static int searchOnCodes(Vec0Index *pIdx, HnswState *s, const Vec0IndexSearch *pS,
                         Vec0HnswResult *aRes, int nCand, int *pnRes) {
  const void *pQ = 0;
  int rc = vec0CodesReserve(s->p, &s->codes);
  if (rc == SQLITE_OK) rc = vec0CodesQuery(&s->codes, pS->pQuery, &pQ);
  *pnRes = 0;
  if (rc == SQLITE_OK) {
    s->bOnCodes = 1;
    /* the codes made so far from slot 0 on, read without a call */
    vec0HnswSetDense(s->pGraph, s->codes.aCode, s->codes.nStride, s->codes.nOkPrefix);
    rc = vec0HnswSearch(s->pGraph, pS->g, pQ, nCand, pS->ef,
                        pS->xAccept, pS->pAcceptCtx, aRes, pnRes);
    vec0HnswSetDense(s->pGraph, 0, 0, 0);
    s->bOnCodes = 0;
    rc = graphRc(pIdx, rc);
  }
  if (rc == SQLITE_OK) rc = vec0HnswRescore(pIdx, s, pS->pQuery, pS->k, aRes, pnRes);
  if (rc == SQLITE_OK) qsort(aRes, (size_t)*pnRes, sizeof(Vec0HnswResult), cmpResult);
  return rc;
}

static int hnswSearch(Vec0Index *pIdx, const Vec0IndexSearch *pS, Vec0IndexHit *aOut,
                      int *pnOut) {
  Vec0Hnsw *h = 0;
  Vec0HnswResult *aRes = 0;
  HnswState *s;
  int rc = graphOf(pIdx, &h), nRes = 0, nCand = pS->k;
  *pnOut = 0;
  if (rc == SQLITE_OK) graphWalked(pIdx);
  if (rc == SQLITE_OK) rc = queueDrain(pIdx); /* a search sees the rows queued */
  if (rc != SQLITE_OK) return rc;
  s = pIdx->pState;
  rc = vec0CodesLoad(pIdx->pTab, pIdx->iVec, &s->codes);
  if (rc == SQLITE_OK && s->codes.eState == VEC0_CODES_READY) {
    int nRescore = pS->nRescore > 0 ? pS->nRescore : pIdx->pTab->cfg.aVec[pIdx->iVec].nRescore;
    sqlite3_int64 nWant = (sqlite3_int64)pS->k * nRescore;
    nCand = nWant > VEC0_MAX_K ? VEC0_MAX_K : (int)nWant;
    /* ef is the breadth of the walk, as without a quantizer: the candidates
    ** are the best of the ef it keeps, so a small ef stays cheap. */
    if (nCand > pS->ef) nCand = pS->ef;
    if (nCand < pS->k) nCand = pS->k;
  }
  if (rc == SQLITE_OK) {
    aRes = sqlite3_malloc64(sizeof(Vec0HnswResult) * (size_t)(nCand ? nCand : 1));
    if (aRes == 0) rc = SQLITE_NOMEM;
  }
  vec0HnswHide(h, pS->iHide1 ? pS->iHide1 - 1 : VEC0_HNSW_NONE);
  if (rc == SQLITE_OK && s->codes.eState == VEC0_CODES_READY) {
    rc = searchOnCodes(pIdx, s, pS, aRes, nCand, &nRes);
    if (nRes > pS->k) nRes = pS->k;
  } else if (rc == SQLITE_OK) {
    s->pUpperQuery = pS->pQuery;
    vec0HnswSetDense(h, vec0StorageVectors(pIdx->pTab, pIdx->iVec),
                     vec0StorageVectorBytes(pIdx->pTab, pIdx->iVec),
                     vec0StorageVectorsInArray(pIdx->pTab, pIdx->iVec));
    rc = vec0HnswSearch(h, pS->g, pS->pQuery, pS->k, pS->ef, pS->xAccept,
                        pS->pAcceptCtx, aRes, &nRes);
    vec0HnswSetDense(h, 0, 0, 0);
    s->pUpperQuery = 0;
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
** The read-ahead has read every node: the rows go to their ids' places (a
** graph that kept them in read order; on NOMEM they stay as they are), and
** the links become huge pages a step at a time.
*/
static void graphAllRead(HnswState *s) {
  vec0HnswArenaEnd(s->pGraph);
  vec0HnswUseHugePages(s->pGraph);
  s->bHugeDone = 0;
  s->bWarm = 1;
}

/*
** Low memory, after a query: the next node records and codes (as many
** slots as VEC0_WARM_BYTES of vectors) instead of the vectors themselves.
*/
static int idleLowMem(Vec0Index *pIdx, HnswState *s) {
  Vec0Table *p = pIdx->pTab;
  uint32_t nStep = (uint32_t)(VEC0_WARM_BYTES / vec0StorageVectorBytes(p, pIdx->iVec)) + 1;
  int bNodes = 1, bCodes = 1, rc = vec0StorageAllSlots(p);
  if (rc == SQLITE_OK) rc = warmNodes(pIdx, (int)nStep, &bNodes);
  if (rc == SQLITE_OK) {
    rc = vec0StorageVectorScan(p, pIdx->iVec, &s->iWarmChunk, nStep, vec0HnswCodeWarm, s, &bCodes);
  }
  if (rc == SQLITE_OK && bNodes && bCodes) graphAllRead(s);
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
  if (s && s->bLowMem && s->codes.eState == VEC0_CODES_READY) {
    if (!s->bWarm) rc = idleLowMem(pIdx, s);
    if (rc == SQLITE_OK && s->bWarm && !s->bHugeDone) {
      s->bHugeDone = vec0HnswHugeStep(s->pGraph, VEC0_HUGE_STEP);
    }
    return rc;
  }
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
      if (s) graphAllRead(s);
    }
  }
  /* Then the codes of a quantized column, a quarter of a step's bytes of
  ** vectors at a time (all of them for 'warm'), for walks to read by slot. */
  if (s && s->codes.eState == VEC0_CODES_READY) {
    size_t nCode = nBytes / vec0StorageVectorBytes(p, pIdx->iVec) / 4 + 1;
    rc = vec0CodesWarm(p, pIdx->iVec, &s->codes,
                       nCode > UINT32_MAX ? UINT32_MAX : (uint32_t)nCode);
    if (rc != SQLITE_OK) return rc;
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
  if (rc == SQLITE_OK) rc = queueDrain(pIdx);
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

/*
** Every live slot inserted by one batch, on vec0TableThreads() threads: the
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
    rc = graphRc(pIdx, batchInsert(pIdx->pState, aId, aKey, aGroup, (int)n));
  }
  sqlite3_free(aId);
  sqlite3_free(aGroup);
  sqlite3_free(aKey);
  /* rebuild and optimize train the quantizer anew on the rows there are */
  if (rc == SQLITE_OK && p->cfg.aVec[pIdx->iVec].eQuant != VEC0_QUANT_NONE) {
    rc = vec0HnswQuantTrain(pIdx, pIdx->pState);
  }
  return rc;
}

static sqlite3_int64 hnswStats(Vec0Index *pIdx) {
  HnswState *s = pIdx->pState;
  /* the rows queued are nodes already, as far as a user can tell */
  return s ? (sqlite3_int64)vec0HnswCount(s->pGraph) + (s->nQ - s->iQ0) : 0;
}

static int hnswInfo(Vec0Index *pIdx, Vec0IndexInfo *pInfo) {
  HnswState *s = pIdx->pState;
  uint32_t iEntry = VEC0_HNSW_NONE;
  size_t nBytes = 0;
  int rc = vec0HnswShape(s->pGraph, 0, &pInfo->nLevel, &iEntry, &nBytes);
  pInfo->iEntry = iEntry == VEC0_HNSW_NONE ? -1 : (sqlite3_int64)iEntry;
  size_t nPerSlot = s->codes.nStride + 1 + (s->codes.aErr ? sizeof(float) : 0);
  pInfo->nBytes = (sqlite3_int64)(nBytes + (size_t)s->codes.nSlot * nPerSlot +
                                  (size_t)s->nNorm * sizeof(uint32_t));
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
    /* xBeforeWrite */ hnswBeforeWrite,
    /* xCheck       */ hnswCheck,
    /* xRebuild     */ hnswRebuild,
    /* xStats       */ hnswStats,
    /* xInfo        */ hnswInfo,
};
