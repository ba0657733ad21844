/*
** vec0_index_codes.c: the compact codes of a vector column with a quantizer
** (vec0_quant.h), the one place for them of every index form that searches
** on codes: the quantized hnsw walk (vec0_index_hnsw_code.c) and the rescore
** form (vec0_index_rescore.c).  See Vec0Codes in vec0_index.h.
**
** The quantizer's parameters are the only stored part: 'quant.N' in
** T_config, written inside the writing transaction (when the table first
** reaches VEC0_CODES_TRAIN live rows, and by rebuild/optimize) from a
** sample chosen by slot order alone, so replicas fed the same statements
** hold the same bytes.  A code depends on its vector and the parameters
** only: codes are made in memory from the float vectors when first needed,
** packed (nBytes each) or, for a walk with the prepared-query kernels, as
** int8 records of vec0CodeStride bytes (bRecords), aligned for the kernels'
** loads and, when large, in huge pages.  Calls storage, the quantizer and
** the kernels.
*/
#include "vec0Int.h"

#include <math.h>
#include <string.h>

/* The vectors the quantizer trains on, at most. */
#define CODES_SAMPLE 2000

static void *codesMalloc(size_t n) {
  return sqlite3_malloc64(n);
}

void vec0CodesForget(Vec0Codes *c) {
  vec0QuantClear(&c->quant);
  sqlite3_free(c->aMem);
  sqlite3_free(c->aOk);
  sqlite3_free(c->aCqMem);
  sqlite3_free(c->aTmp);
  sqlite3_free(c->aErr);
  c->aMem = c->aCode = c->aOk = c->aCqMem = 0;
  c->aTmp = c->aErr = 0;
  c->nSlot = c->nOkPrefix = 0;
  c->eState = VEC0_CODES_UNKNOWN;
}

/* Makes c->quant the column's: its code kernels and sizes. */
static void codesUse(Vec0Codes *c) {
  int bBit = c->quant.eKind == VEC0_QUANT_BIT;
  c->nBytes = vec0QuantCodeBytes(&c->quant);
  c->nDim = bBit ? (int)c->nBytes * 8 : c->quant.nDim;
  c->xQuery = c->bRecords && !bBit ? vec0CodeDistFn() : 0;
  /* low memory: records packed (784 dimensions: 792 bytes, not 832) */
  c->nStride = !c->xQuery ? c->nBytes
               : c->bOnce ? vec0CodeStrideMin(c->quant.nDim)
                          : vec0CodeStride(c->quant.nDim);
  c->xDist = bBit ? vec0DistanceFn(VEC0_ELEM_BIT, VEC0_METRIC_HAMMING)
             : c->quant.eMetric == VEC0_QUANT_DOT
                 ? vec0DistanceFn(VEC0_ELEM_I8, VEC0_METRIC_DOT)
                 : vec0DistanceFn(VEC0_ELEM_I8, VEC0_METRIC_L2SQ);
  c->bErr = c->bOnce && !bBit && c->quant.eMetric != VEC0_QUANT_DOT;
  c->eState = c->xDist ? VEC0_CODES_READY : VEC0_CODES_NONE;
}

int vec0CodesLoad(Vec0Table *p, int iVec, Vec0Codes *c) {
  const Vec0VectorCol *pCol = &p->cfg.aVec[iVec];
  char zKey[32];
  const unsigned char *a = 0;
  int n = 0, bFound = 0, rc;
  if (c->eState != VEC0_CODES_UNKNOWN) return SQLITE_OK;
  c->eState = VEC0_CODES_NONE;
  if (pCol->eQuant == VEC0_QUANT_NONE) return SQLITE_OK;
  sqlite3_snprintf(sizeof(zKey), zKey, "quant.%d", iVec);
  rc = vec0StorageConfigBlob(p, zKey, &a, &n, &bFound);
  if (rc == SQLITE_OK && bFound) {
    rc = vec0QuantLoad(&c->quant, pCol->nDim, a, (size_t)n, codesMalloc, sqlite3_free);
    if (rc == 267) {
      vec0TableError(p, "vec0: table \"%s\": bad quantizer %s in %s_config", p->zName,
                     zKey, p->zName);
      rc = SQLITE_CORRUPT_VTAB;
    }
    if (rc == SQLITE_OK) codesUse(c);
  }
  vec0StorageConfigBlobDone(p);
  if (rc != SQLITE_OK) vec0CodesForget(c);
  return rc;
}

/*
** Up to CODES_SAMPLE live vectors, evenly spaced in slot order (so every
** replica picks the same ones), into *paSample (sqlite3_malloc64).
*/
static int codesSample(Vec0Table *p, int iVec, float **paSample, int *pnTake) {
  const Vec0VectorCol *pCol = &p->cfg.aVec[iVec];
  uint32_t nSlot = vec0StorageSlotCount(p), nLive = 0, nTake = 0, iSeen = 0, nMax;
  float *aSample;
  int rc = vec0StorageAllSlots(p);
  *paSample = 0;
  *pnTake = 0;
  for (uint32_t i = 0; rc == SQLITE_OK && i < nSlot; i++) nLive += vec0StorageSlotLive(p, i);
  if (rc != SQLITE_OK) return rc;
  nMax = nLive < CODES_SAMPLE ? nLive : CODES_SAMPLE;
  aSample = sqlite3_malloc64((sqlite3_uint64)(nMax ? nMax : 1) * pCol->nDim * sizeof(float));
  if (aSample == 0) return SQLITE_NOMEM;
  for (uint32_t i = 0; rc == SQLITE_OK && i < nSlot && nTake < nMax; i++) {
    const unsigned char *v = 0;
    if (!vec0StorageSlotLive(p, i)) continue;
    /* the iSeen-th live slot is taken when it crosses a multiple of nLive/nMax */
    if ((uint64_t)iSeen++ * nMax / nLive != (uint64_t)nTake) continue;
    rc = vec0StorageVector(p, iVec, i, &v);
    if (rc == SQLITE_OK) {
      memcpy(aSample + (size_t)nTake * pCol->nDim, v, sizeof(float) * (size_t)pCol->nDim);
      nTake++;
    }
  }
  *paSample = aSample;
  *pnTake = (int)nTake;
  return rc;
}

int vec0CodesTrain(Vec0Table *p, int iVec, Vec0Codes *c) {
  const Vec0VectorCol *pCol = &p->cfg.aVec[iVec];
  int eMetric = pCol->eMetric == VEC0_METRIC_COSINE ? VEC0_QUANT_COSINE
                : pCol->eMetric == VEC0_METRIC_DOT  ? VEC0_QUANT_DOT
                                                    : VEC0_QUANT_L2;
  float *aSample = 0;
  unsigned char *aSave = 0;
  char zKey[32];
  int nTake = 0, rc = codesSample(p, iVec, &aSample, &nTake);
  vec0CodesForget(c);
  if (rc == SQLITE_OK && vec0QuantTrain(&c->quant, pCol->eQuant, eMetric, pCol->nDim, aSample,
                                        nTake, codesMalloc, sqlite3_free) != 0) {
    rc = SQLITE_NOMEM;
  }
  sqlite3_free(aSample);
  if (rc == SQLITE_OK) {
    aSave = sqlite3_malloc64(vec0QuantSaveBytes(&c->quant));
    if (aSave == 0) rc = SQLITE_NOMEM;
  }
  if (rc == SQLITE_OK) {
    vec0QuantSave(&c->quant, aSave);
    sqlite3_snprintf(sizeof(zKey), zKey, "quant.%d", iVec);
    rc = vec0StorageConfigSetBlob(p, zKey, aSave, (int)vec0QuantSaveBytes(&c->quant));
  }
  sqlite3_free(aSave);
  if (rc == SQLITE_OK) {
    codesUse(c);
  } else {
    vec0CodesForget(c);
  }
  return rc;
}

int vec0CodesInsert(Vec0Table *p, int iVec, Vec0Codes *c, uint32_t iSlot) {
  sqlite3_int64 nLive = 0;
  int rc;
  vec0CodesStale(c, iSlot);
  rc = vec0CodesLoad(p, iVec, c);
  if (rc == SQLITE_OK) rc = vec0StorageLiveCount(p, &nLive);
  /* The row that brings the table to VEC0_CODES_TRAIN live rows trains it
  ** (nLive counts it from the write's end, hence the - 1). */
  if (rc == SQLITE_OK && c->eState != VEC0_CODES_READY && nLive >= VEC0_CODES_TRAIN - 1 &&
      p->cfg.aVec[iVec].eQuant != VEC0_QUANT_NONE) {
    rc = vec0CodesTrain(p, iVec, c);
  }
  return rc;
}

void vec0CodesStale(Vec0Codes *c, uint32_t iSlot) {
  if (iSlot < c->nSlot) c->aOk[iSlot >> 3] &= (unsigned char)~(1u << (iSlot & 7));
  if (iSlot < c->nOkPrefix) c->nOkPrefix = iSlot;
}

/* a rounded up to a multiple of nAlign (a power of two). */
static unsigned char *codesAlign(unsigned char *a, size_t nAlign) {
  return a + ((nAlign - ((uintptr_t)a & (nAlign - 1))) & (nAlign - 1));
}

/*
** Room for the codes of slots [0, n): records aligned to 64 (the kernels'
** loads), a large array to 2 MiB and in huge pages (a walk reads codes at
** random: no TLB miss for each), zeroed, with room after the last record
** for a kernel's reads (vec0_vec.h).  A new block, not realloc, whose
** alignment could differ from the old one's.
*/
#define CODES_HUGE ((size_t)2 << 20)
static int codesGrow(Vec0Codes *c, uint32_t n) {
  size_t nBytes = (size_t)n * c->nStride;
  size_t nAlign = nBytes >= 2 * CODES_HUGE ? CODES_HUGE : 64;
  unsigned char *aMem = sqlite3_malloc64(nBytes + nAlign + 64), *a, *aOk;
  aOk = aMem ? sqlite3_realloc64(c->aOk, ((size_t)n + 7) / 8) : 0;
  if (aOk) c->aOk = aOk;
  if (aOk && c->bErr) {
    float *aErr = sqlite3_realloc64(c->aErr, sizeof(float) * (size_t)n);
    if (aErr) c->aErr = aErr;
    else aOk = 0;
  }
  if (aOk == 0) {
    sqlite3_free(aMem);
    return SQLITE_NOMEM;
  }
  /* the bits of slots from nSlot on in its last byte were never set */
  memset(aOk + (c->nSlot + 7) / 8, 0, ((size_t)n + 7) / 8 - (c->nSlot + 7) / 8);
  a = codesAlign(aMem, nAlign);
  if (nAlign == CODES_HUGE) vec0MemAdviseHuge(a, nBytes);
  if (c->aCode) memcpy(a, c->aCode, (size_t)c->nSlot * c->nStride);
  memset(a + (size_t)c->nSlot * c->nStride, 0, nBytes + 64 - (size_t)c->nSlot * c->nStride);
  sqlite3_free(c->aMem);
  c->aMem = aMem;
  c->aCode = a;
  c->nSlot = n;
  return SQLITE_OK;
}

/* Room for the code of slot iSlot. */
static int codesRoom(Vec0Table *p, Vec0Codes *c, uint32_t iSlot) {
  uint32_t n = c->nSlot ? c->nSlot : vec0StorageSlotCount(p);
  if (n < 1024) n = 1024;
  while (n <= iSlot) n *= 2;
  return codesGrow(c, n);
}

/*
** Room for every slot of the table at once: a walk holds the addresses of
** several codes at a time (a step's neighbours, scored together), which a
** growth in the middle of it would leave pointing into the freed block.
*/
int vec0CodesReserve(Vec0Table *p, Vec0Codes *c) {
  uint32_t n = vec0StorageSlotCount(p);
  return n > c->nSlot ? codesRoom(p, c, n - 1) : SQLITE_OK;
}

static void codesMake(Vec0Codes *c, uint32_t iSlot, const unsigned char *v);

int vec0CodesWarm(Vec0Table *p, int iVec, Vec0Codes *c, uint32_t nMax) {
  uint32_t n = vec0StorageSlotCount(p), i, e;
  int rc;
  if (c->nOkPrefix >= n || c->eState != VEC0_CODES_READY ||
      vec0StorageVectorsInArray(p, iVec) < n) {
    return SQLITE_OK;
  }
  rc = vec0CodesReserve(p, c);
  e = n - c->nOkPrefix > nMax ? c->nOkPrefix + nMax : n;
  for (i = c->nOkPrefix; rc == SQLITE_OK && i < e; i++) {
    if (!vec0CodesOk(c, i)) {
      const unsigned char *v = 0;
      rc = vec0CodesVector(p, iVec, c, i, &v);
      if (rc == SQLITE_OK) codesMake(c, i, v);
    }
  }
  return rc;
}

int vec0CodesVector(Vec0Table *p, int iVec, Vec0Codes *c, uint32_t iSlot,
                    const unsigned char **ppV) {
  int rc;
  if (!c->bOnce) return vec0StorageVector(p, iVec, iSlot, ppV);
  *ppV = 0;
  if (c->aTmp == 0) {
    c->aTmp = sqlite3_malloc64(vec0StorageVectorBytes(p, iVec));
    if (c->aTmp == 0) return SQLITE_NOMEM;
  }
  rc = vec0StorageVectorCopy(p, iVec, iSlot, c->aTmp);
  if (rc == SQLITE_OK) *ppV = (const unsigned char *)c->aTmp;
  return rc;
}

/* e as a float no smaller, with room for the rounding of the sums. */
static float errUp(double e) {
  return (float)(e * (1 + 1e-5) + 1e-30);
}

/* The code of slot iSlot made from its float vector v. */
static void codesMake(Vec0Codes *c, uint32_t iSlot, const unsigned char *v) {
  unsigned char *aRec = c->aCode + (size_t)iSlot * c->nStride;
  vec0QuantEncode(&c->quant, (const float *)(const void *)v, aRec);
  if (c->xQuery) vec0CodeFinish(aRec, c->quant.nDim, vec0CodeHasSums(c->quant.nDim));
  if (c->bErr) c->aErr[iSlot] = errUp(vec0QuantError(&c->quant, (const float *)(const void *)v, aRec));
  c->aOk[iSlot >> 3] |= (unsigned char)(1u << (iSlot & 7));
  while (c->nOkPrefix < c->nSlot && vec0CodesOk(c, c->nOkPrefix)) c->nOkPrefix++;
}

const unsigned char *vec0CodesGetSlow(Vec0Table *p, int iVec, Vec0Codes *c, uint32_t iSlot,
                                      int *pRc) {
  const unsigned char *v = 0;
  int rc = SQLITE_OK;
  if (iSlot >= c->nSlot) rc = codesRoom(p, c, iSlot);
  if (rc == SQLITE_OK && !vec0CodesOk(c, iSlot)) {
    rc = vec0CodesVector(p, iVec, c, iSlot, &v);
    if (rc == SQLITE_OK) codesMake(c, iSlot, v);
  }
  if (rc != SQLITE_OK) {
    *pRc = rc;
    return 0;
  }
  return c->aCode + (size_t)iSlot * c->nStride;
}

int vec0CodesPut(Vec0Table *p, Vec0Codes *c, uint32_t iSlot, const unsigned char *v) {
  int rc = SQLITE_OK;
  if (vec0CodesOk(c, iSlot)) return rc;
  if (iSlot >= c->nSlot) rc = codesRoom(p, c, iSlot);
  if (rc == SQLITE_OK) codesMake(c, iSlot, v);
  return rc;
}

int vec0CodesQuery(Vec0Codes *c, const float *pQuery, const void **ppQ) {
  size_t nQ = c->xQuery ? vec0CodeQueryBytes(c->quant.nDim) + 64 : 0;
  unsigned char *aCode;
  if (c->aCqMem == 0) {
    c->aCqMem = sqlite3_malloc64(nQ + c->nBytes + 1);
    if (c->aCqMem == 0) return SQLITE_NOMEM;
  }
  aCode = c->aCqMem + nQ;
  vec0QuantEncode(&c->quant, pQuery, aCode);
  if (c->bErr) c->errQ = errUp(vec0QuantError(&c->quant, pQuery, aCode));
  *ppQ = aCode;
  if (c->xQuery) {
    vec0CodeQueryInit(&c->cq, (const int8_t *)aCode, c->quant.nDim,
                      c->quant.eMetric == VEC0_QUANT_DOT, vec0CodeHasSums(c->quant.nDim),
                      codesAlign(c->aCqMem, 64));
    *ppQ = &c->cq;
  }
  return SQLITE_OK;
}

float vec0CodesDistance(const Vec0Codes *c, const void *pQ, const void *pRec) {
  float d;
  if (c->xQuery == 0) return c->xDist(pQ, pRec, c->nDim);
  c->xQuery(pQ, &pRec, 1, &d);
  return d;
}

double vec0CodesLowerBound(const Vec0Codes *c, uint32_t iSlot, float dCode) {
  double d;
  if (!c->bErr || !vec0CodesOk(c, iSlot)) return 0;
  d = (double)c->quant.scale * sqrt((double)dCode) - c->errQ - c->aErr[iSlot];
  if (d <= 0) return 0;
  /* l2sq, or cosine (|x - y|^2 / 2 for unit vectors), less a margin for
  ** the rounding of the float32 kernels */
  d = c->quant.eMetric == VEC0_QUANT_COSINE ? d * d / 2 : d * d;
  return d * (1 - 1e-3) - 1e-6;
}
