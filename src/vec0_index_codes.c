/*
** vec0_index_codes.c: the compact codes of a vector column with a quantizer
** (vec0_quant.h), for the index forms that search on them (the rescore
** form; the quantized HNSW graph keeps its own copy of this logic in
** vec0_index_hnsw.c for now).  See Vec0Codes in vec0_index.h.
**
** The quantizer's parameters are the only stored part: 'quant.N' in
** T_config, written inside the writing transaction (when the table first
** reaches VEC0_CODES_TRAIN live rows, and by rebuild/optimize) from a
** sample chosen by slot order alone, so replicas fed the same statements
** hold the same bytes.  A code depends on its vector and the parameters
** only: codes are made in memory from the float vectors when first needed.
** Calls storage and the quantizer.
*/
#include "vec0Int.h"

#include <string.h>

/* The vectors the quantizer trains on, at most. */
#define CODES_SAMPLE 2000

static void *codesMalloc(size_t n) {
  return sqlite3_malloc64(n);
}

void vec0CodesForget(Vec0Codes *c) {
  vec0QuantClear(&c->quant);
  sqlite3_free(c->aCode);
  sqlite3_free(c->aOk);
  c->aCode = c->aOk = 0;
  c->nSlot = 0;
  c->eState = VEC0_CODES_UNKNOWN;
}

/* Makes c->quant the column's: its code kernel and sizes. */
static void codesUse(Vec0Codes *c) {
  int bBit = c->quant.eKind == VEC0_QUANT_BIT;
  c->nBytes = vec0QuantCodeBytes(&c->quant);
  c->nDim = bBit ? (int)c->nBytes * 8 : c->quant.nDim;
  c->xDist = bBit ? vec0DistanceFn(VEC0_ELEM_BIT, VEC0_METRIC_HAMMING)
             : c->quant.eMetric == VEC0_QUANT_DOT
                 ? vec0DistanceFn(VEC0_ELEM_I8, VEC0_METRIC_DOT)
                 : vec0DistanceFn(VEC0_ELEM_I8, VEC0_METRIC_L2SQ);
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
  if (iSlot < c->nSlot) c->aOk[iSlot] = 0;
}

const unsigned char *vec0CodesGet(Vec0Table *p, int iVec, Vec0Codes *c, uint32_t iSlot,
                                  int *pRc) {
  const unsigned char *v = 0;
  int rc;
  if (iSlot >= c->nSlot) {
    uint32_t n = c->nSlot ? c->nSlot : 1024;
    unsigned char *aCode, *aOk;
    while (n <= iSlot) n *= 2;
    aCode = sqlite3_realloc64(c->aCode, (sqlite3_uint64)n * c->nBytes);
    if (aCode) c->aCode = aCode;
    aOk = aCode ? sqlite3_realloc64(c->aOk, n) : 0;
    if (aOk == 0) {
      *pRc = SQLITE_NOMEM;
      return 0;
    }
    memset(aOk + c->nSlot, 0, n - c->nSlot);
    c->aOk = aOk;
    c->nSlot = n;
  }
  if (!c->aOk[iSlot]) {
    rc = vec0StorageVector(p, iVec, iSlot, &v);
    if (rc != SQLITE_OK) {
      *pRc = rc;
      return 0;
    }
    vec0QuantEncode(&c->quant, (const float *)(const void *)v,
                    c->aCode + (size_t)iSlot * c->nBytes);
    c->aOk[iSlot] = 1;
  }
  return c->aCode + (size_t)iSlot * c->nBytes;
}
