/*
** vec0_index_hnsw_code.c: the quantized walk of the hnsw index form (see
** QUANTIZER and LOW MEMORY in vec0_index_hnsw.c): the code records of the
** slots (made from their float32 vectors when first needed, in huge pages),
** the quantizer's training and its 'quant.N' row, the walk's prepared
** query, and the float32 re-ranking of its candidates.  Calls storage, the
** quantizer and the kernels; vec0_index_hnsw.c calls it.
*/
#include "vec0Int.h"
#include "vec0_index_hnswInt.h"

#include <math.h>
#include <string.h>

/* a rounded up to a multiple of nAlign (a power of two). */
static unsigned char *codeAlign(unsigned char *a, size_t nAlign) {
  return a + ((nAlign - ((uintptr_t)a & (nAlign - 1))) & (nAlign - 1));
}

/*
** Room for the codes of slots [0, n): records aligned to 64 (the kernels'
** loads), a large array to 2 MiB and in huge pages (a walk reads codes at
** random: no TLB miss for each).  A new block, not realloc, whose alignment
** could differ from the old one's.
*/
#define CODE_HUGE ((size_t)2 << 20)
static int codeGrow(HnswState *s, uint32_t n) {
  size_t nBytes = (size_t)n * s->nStride;
  size_t nAlign = nBytes >= 2 * CODE_HUGE ? CODE_HUGE : 64;
  unsigned char *aMem = sqlite3_malloc64(nBytes + nAlign), *a, *aOk;
  aOk = aMem ? sqlite3_realloc64(s->aCodeOk, n) : 0;
  if (aOk == 0) {
    sqlite3_free(aMem);
    return SQLITE_NOMEM;
  }
  memset(aOk + s->nCodeSlot, 0, n - s->nCodeSlot);
  s->aCodeOk = aOk;
  a = codeAlign(aMem, nAlign);
  if (nAlign == CODE_HUGE) vec0MemAdviseHuge(a, nBytes);
  if (s->aCode) memcpy(a, s->aCode, (size_t)s->nCodeSlot * s->nStride);
  sqlite3_free(s->aCodeMem);
  s->aCodeMem = aMem;
  s->aCode = a;
  s->nCodeSlot = n;
  return SQLITE_OK;
}

/* Low memory: the vector of slot id in s->aTmp, not kept in the cache. */
int vec0HnswVectorOnce(HnswState *s, uint32_t id, const unsigned char **pv) {
  int rc = SQLITE_OK;
  if (s->aTmp == 0) {
    s->aTmp = sqlite3_malloc64(sizeof(float) * (size_t)s->nDim);
    if (s->aTmp == 0) return SQLITE_NOMEM;
  }
  rc = vec0StorageVectorCopy(s->p, s->iVec, id, s->aTmp);
  *pv = rc == SQLITE_OK ? s->aTmp : 0;
  return rc;
}

/* Room for the code of slot id. */
static int codeRoom(HnswState *s, uint32_t id) {
  uint32_t n = s->nCodeSlot ? s->nCodeSlot : vec0StorageSlotCount(s->p);
  if (n < 1024) n = 1024;
  while (n <= id) n *= 2;
  return codeGrow(s, n);
}

/* The code record of slot id made from its float vector v. */
static void codeMake(HnswState *s, uint32_t id, const unsigned char *v) {
  vec0QuantEncode(&s->quant, (const float *)(const void *)v, s->aCode + (size_t)id * s->nStride);
  if (s->xCodeQ) vec0CodeFinish(s->aCode + (size_t)id * s->nStride, s->nDim);
  s->aCodeOk[id] = 1;
}

/* The code of slot id, made from its float vector on first use. */
const unsigned char *vec0HnswCodeOf(HnswState *s, uint32_t id, int *pRc) {
  const unsigned char *v = 0;
  int rc;
  if (id >= s->nCodeSlot && (rc = codeRoom(s, id)) != SQLITE_OK) {
    *pRc = rc;
    return 0;
  }
  if (!s->aCodeOk[id]) {
    rc = s->bLowMem ? vec0HnswVectorOnce(s, id, &v) : vec0StorageVector(s->p, s->iVec, id, &v);
    if (rc != SQLITE_OK) {
      *pRc = rc;
      return 0;
    }
    codeMake(s, id, v);
  }
  return s->aCode + (size_t)id * s->nStride;
}

/* On int8 codes the walk's query a is &s->cq, always the first argument. */
float vec0HnswCodeDistance(HnswState *s, const void *a, const void *b) {
  float d;
  if (s->xCodeQ == 0) return s->xCodeDist(a, b, s->nCodeDim);
  s->xCodeQ(a, &b, 1, &d);
  return d;
}
/* ---------------------------------------------------------------------- */
/* The quantizer                                                           */

/* SQLite's allocator for the quantizer (so out-of-memory tests reach it). */
static void *quantMalloc(size_t n) {
  return sqlite3_malloc64(n);
}

/* Forgets the quantizer and every code (they are read or made again). */
void vec0HnswQuantForget(HnswState *s) {
  vec0QuantClear(&s->quant);
  sqlite3_free(s->aCodeMem);
  sqlite3_free(s->aCodeOk);
  sqlite3_free(s->aCqMem);
  sqlite3_free(s->aTmp);
  s->aCodeMem = s->aCode = s->aCodeOk = s->aCqMem = s->aTmp = 0;
  s->nCodeSlot = 0;
  s->iWarmChunk = 0;
  if (s->bLowMem) s->bWarm = 0; /* its codes are to be made again */
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
  s->xCodeQ = bBit ? 0 : vec0CodeDistFn();
  s->nStride = bBit ? s->nCodeBytes : vec0CodeStride(s->nDim);
  s->xCodeDist = bBit ? vec0DistanceFn(VEC0_ELEM_BIT, VEC0_METRIC_HAMMING)
                 : s->quant.eMetric == VEC0_QUANT_DOT
                     ? vec0DistanceFn(VEC0_ELEM_I8, VEC0_METRIC_DOT)
                     : vec0DistanceFn(VEC0_ELEM_I8, VEC0_METRIC_L2SQ);
  s->eQuantState = s->xCodeDist ? QUANT_READY : QUANT_NONE;
}

/* Reads 'quant.N' once per cache: QUANT_READY when it is there. */
int vec0HnswQuantLoad(Vec0Index *pIdx, HnswState *s) {
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
int vec0HnswQuantTrain(Vec0Index *pIdx, HnswState *s) {
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
  vec0HnswQuantForget(s);
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
    vec0HnswQuantForget(s);
  }
  return rc;
}

/* A slot's vector changed (or is new): its code must be made again. */
void vec0HnswCodeStale(HnswState *s, uint32_t iSlot) {
  if (iSlot < s->nCodeSlot) s->aCodeOk[iSlot] = 0;
}

/*
** The query of a walk on codes into *ppQ: for int8 the prepared query
** (s->cq), for bit its code.  Its memory is kept for the next query.
*/
int vec0HnswCodeQuery(HnswState *s, const float *pQuery, const void **ppQ) {
  size_t nQ = s->xCodeQ ? vec0CodeQueryBytes(s->nDim) + 64 : 0;
  unsigned char *aCode;
  if (s->aCqMem == 0) {
    s->aCqMem = sqlite3_malloc64(nQ + s->nCodeBytes + 1);
    if (s->aCqMem == 0) return SQLITE_NOMEM;
  }
  aCode = s->aCqMem + nQ;
  vec0QuantEncode(&s->quant, pQuery, aCode);
  *ppQ = aCode;
  if (s->xCodeQ) {
    vec0CodeQueryInit(&s->cq, (const int8_t *)aCode, s->nDim,
                      s->quant.eMetric == VEC0_QUANT_DOT, codeAlign(s->aCqMem, 64));
    *ppQ = &s->cq;
  }
  return SQLITE_OK;
}

/*
** The float32 distances of the n candidates aRes to the query, four at a
** time where the kernels have a batch (their reads overlap).
*/
int vec0HnswRescore(Vec0Index *pIdx, HnswState *s, const float *pQuery,
                   Vec0HnswResult *aRes, int n) {
  const void *apV[4];
  float aD[4];
  int rc = SQLITE_OK, i, j;
  for (i = 0; rc == SQLITE_OK && i < n; i += 4) {
    int m = n - i < 4 ? n - i : 4;
    for (j = 0; rc == SQLITE_OK && j < m; j++) {
      const unsigned char *v = 0;
      /* low memory: one vector read at a time, so one distance at a time */
      if (s->bLowMem) {
        rc = vec0HnswVectorOnce(s, aRes[i + j].id, &v);
        if (rc == SQLITE_OK) aD[j] = s->xDist(pQuery, v, s->nDim);
        continue;
      }
      rc = vec0StorageVector(pIdx->pTab, pIdx->iVec, aRes[i + j].id, &v);
      apV[j] = v;
    }
    if (rc != SQLITE_OK) break;
    if (s->bLowMem) {
      /* done above */
    } else if (s->xDistBatch && m == 4) {
      s->xDistBatch(pQuery, apV, s->nDim, INFINITY, aD);
    } else {
      for (j = 0; j < m; j++) aD[j] = s->xDist(pQuery, apV[j], s->nDim);
    }
    for (j = 0; j < m; j++) aRes[i + j].distance = aD[j];
  }
  return rc;
}

/* Low memory, xIdle: the code of one slot, from a vector read for it. */
int vec0HnswCodeWarm(void *pCtx, uint32_t id, const unsigned char *v) {
  HnswState *s = pCtx;
  int rc = SQLITE_OK;
  if (!vec0StorageSlotLive(s->p, id) || (id < s->nCodeSlot && s->aCodeOk[id])) return rc;
  if (id >= s->nCodeSlot) rc = codeRoom(s, id);
  if (rc == SQLITE_OK) codeMake(s, id, v);
  return rc;
}

