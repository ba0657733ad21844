/*
** vec0_index_hnsw_code.c: the quantized walk of the hnsw index form (see
** QUANTIZER and LOW MEMORY in vec0_index_hnsw.c): what the graph adds to
** the column's codes (vec0_index_codes.c, s->codes): forgetting and
** training them with the graph's own state, the read-ahead of a low-memory
** graph, and the float32 re-ranking of the walk's candidates.  And UPPER
** (vec0_index_hnswInt.h): the int8 codes on which a search of a float32
** l2, cosine or dot graph descends its upper levels, a fifth of such a
** query's time on vectors (fashion-mnist at ef 12), four times fewer bytes
** on codes; level 0 is then searched on the vectors, so the rows and their
** distances are exact as before, and only the node the descent reaches can
** differ.
** Calls storage, the codes and the kernels; vec0_index_hnsw.c calls it.
*/
#include "vec0Int.h"
#include "vec0_index_hnswInt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void vec0HnswQuantForget(HnswState *s) {
  vec0CodesForget(&s->codes);
  s->iWarmChunk = 0;
  if (s->bLowMem) s->bWarm = 0; /* its codes are to be made again */
}

int vec0HnswQuantTrain(Vec0Index *pIdx, HnswState *s) {
  int rc = vec0CodesTrain(pIdx->pTab, pIdx->iVec, &s->codes);
  s->iWarmChunk = 0;
  if (s->bLowMem) s->bWarm = 0;
  return rc;
}

/* The k smallest float32 distances so far, a max-heap in a[0..*pn-1]. */
static void heapPush(float *a, int *pn, int k, float d) {
  int i;
  if (*pn == k) {
    if (d >= a[0]) return;
    /* the largest goes: sift d down from the root */
    for (i = 0;;) {
      int l = 2 * i + 1, r = l + 1, m = i;
      float x = d;
      if (l < k && a[l] > x) m = l, x = a[l];
      if (r < k && a[r] > x) m = r;
      if (m == i) break;
      a[i] = a[m];
      i = m;
    }
    a[i] = d;
    return;
  }
  for (i = (*pn)++; i > 0 && a[(i - 1) / 2] < d; i = (i - 1) / 2) a[i] = a[(i - 1) / 2];
  a[i] = d;
}

static int cmpBound(const void *a, const void *b) {
  const double *x = a, *y = b;
  return x[0] < y[0] ? -1 : x[0] > y[0];
}

/*
** Low memory on an L2 column: each candidate's float distance is bounded
** from below by its code distance (vec0CodesLowerBound), so the vectors are
** read in the order of their bounds and the reads stop once the next bound
** exceeds the k-th smallest distance read: a candidate left unread is
** strictly farther than k that were read, so the k nearest, and their
** order, are those of an exact re-rank of every candidate.  Keeps the
** candidates read in aRes[0..*pn-1].
*/
static int rescoreBounded(Vec0Index *pIdx, HnswState *s, const float *pQuery, int k,
                          Vec0HnswResult *aRes, int *pn) {
  int n = *pn, nHeap = 0, nOut = 0, rc = SQLITE_OK, i;
  /* per candidate: its bound, and its index in aRes, as a pair of doubles */
  double *aB = sqlite3_malloc64(sizeof(double) * 2 * (size_t)(n ? n : 1));
  float *aHeap = sqlite3_malloc64(sizeof(float) * (size_t)(k ? k : 1));
  if (aB == 0 || aHeap == 0) rc = SQLITE_NOMEM;
  for (i = 0; rc == SQLITE_OK && i < n; i++) {
    aB[2 * i] = vec0CodesLowerBound(&s->codes, aRes[i].id, aRes[i].distance);
    aB[2 * i + 1] = i;
    aRes[i].distance = NAN; /* not read */
  }
  if (rc == SQLITE_OK) qsort(aB, (size_t)n, 2 * sizeof(double), cmpBound);
  for (i = 0; rc == SQLITE_OK && i < n; i++) {
    Vec0HnswResult *r = &aRes[(int)aB[2 * i + 1]];
    const unsigned char *v = 0;
    if (nHeap == k && aB[2 * i] > aHeap[0]) break;
    rc = vec0CodesVector(pIdx->pTab, pIdx->iVec, &s->codes, r->id, &v);
    if (rc == SQLITE_OK) {
      r->distance = s->xDist(pQuery, v, s->nDim);
      heapPush(aHeap, &nHeap, k, r->distance);
    }
  }
  for (i = 0; rc == SQLITE_OK && i < n; i++) {
    if (!isnan(aRes[i].distance)) aRes[nOut++] = aRes[i];
  }
  if (rc == SQLITE_OK) *pn = nOut;
  sqlite3_free(aB);
  sqlite3_free(aHeap);
  return rc;
}

/*
** The re-ranking scores up to RESCORE_AHEAD candidates' vectors after
** starting the first lines of all of them on their way: each vector is a
** fresh read from memory, and four at a time left the others waiting.
*/
#define RESCORE_AHEAD 32

static void prefetchBytes(const void *p, size_t n) {
  for (size_t o = 0; o < n; o += 64) VEC0_PREFETCH((const char *)p + o);
}

/*
** The float32 distances of the *pn candidates aRes to the query, four at a
** time where the kernels have a batch (their reads overlap); in low memory
** one at a time, as they are read, and with code bounds only the
** candidates that can be among the k nearest (rescoreBounded).
*/
int vec0HnswRescore(Vec0Index *pIdx, HnswState *s, const float *pQuery, int k,
                    Vec0HnswResult *aRes, int *pn) {
  const void *apV[RESCORE_AHEAD];
  float aD[4];
  int rc = SQLITE_OK, i, j, n = *pn;
  if (s->bLowMem && s->codes.bErr && k < n) return rescoreBounded(pIdx, s, pQuery, k, aRes, pn);
  if (s->bLowMem) {
    /* one vector read at a time, so one distance at a time */
    for (i = 0; rc == SQLITE_OK && i < n; i++) {
      const unsigned char *v = 0;
      rc = vec0CodesVector(pIdx->pTab, pIdx->iVec, &s->codes, aRes[i].id, &v);
      if (rc == SQLITE_OK) aRes[i].distance = s->xDist(pQuery, v, s->nDim);
    }
    return rc;
  }
  for (i = 0; rc == SQLITE_OK && i < n; i += RESCORE_AHEAD) {
    int nAhead = n - i < RESCORE_AHEAD ? n - i : RESCORE_AHEAD;
    /* every vector of the stretch on its way before the first is scored */
    for (j = 0; rc == SQLITE_OK && j < nAhead; j++) {
      const unsigned char *v = 0;
      rc = vec0StorageVector(pIdx->pTab, pIdx->iVec, aRes[i + j].id, &v);
      apV[j] = v;
      if (rc == SQLITE_OK) prefetchBytes(v, s->nVecBytes < 256 ? s->nVecBytes : 256);
    }
    for (j = 0; rc == SQLITE_OK && j < nAhead; j += 4) {
      int m = nAhead - j < 4 ? nAhead - j : 4, b;
      if (s->xDistBatch && m == 4) {
        s->xDistBatch(pQuery, apV + j, s->nDim, INFINITY, aD);
      } else {
        for (b = 0; b < m; b++) aD[b] = s->xDist(pQuery, apV[j + b], s->nDim);
      }
      for (b = 0; b < m; b++) aRes[i + j + b].distance = aD[b];
    }
  }
  return rc;
}

/* Low memory, xIdle: the code of one slot, from a vector read for it. */
int vec0HnswCodeWarm(void *pCtx, uint32_t id, const unsigned char *v) {
  HnswState *s = pCtx;
  if (!vec0StorageSlotLive(s->p, id)) return SQLITE_OK;
  return vec0CodesPut(s->p, &s->codes, id, v);
}

/* ---------------------------------------------------------------------- */
/* UPPER: the descent of a float32 search on codes                         */

#define UPPER_BLOCK 1024
/* In aRank: the record is its slot's old vector's, to be made again in place. */
#define UPPER_STALE 0x80000000u

void vec0HnswUpperForget(HnswState *s) {
  HnswUpper *u = &s->up;
  for (uint32_t i = 0; i < u->nBlock; i++) sqlite3_free(u->apBlock[i]);
  sqlite3_free(u->apBlock);
  sqlite3_free(u->aRank);
  sqlite3_free(u->aCqMem);
  memset(u, 0, sizeof(*u));
  s->bOnUpper = 0;
}

void vec0HnswUpperStale(HnswState *s, uint32_t iSlot) {
  /* the record stays the slot's, so rewrites do not grow the blocks */
  if (iSlot < s->up.nRank && s->up.aRank[iSlot]) s->up.aRank[iSlot] |= UPPER_STALE;
}

/* Sets up the codes of a float32 l2, cosine or dot column without a
** quantizer; bOff else. */
static int upperSetup(HnswState *s) {
  HnswUpper *u = &s->up;
  const Vec0VectorCol *pCol = &s->p->cfg.aVec[s->iVec];
  size_t nPad = (size_t)(s->nDim + 63) / 64 * 64, nSum = vec0CodeSumOffset(s->nDim);
  if (pCol->eType != VEC0_ELEM_F32 ||
      (pCol->eMetric != VEC0_METRIC_L2 && pCol->eMetric != VEC0_METRIC_COSINE &&
       pCol->eMetric != VEC0_METRIC_DOT) ||
      pCol->eQuant != VEC0_QUANT_NONE) {
    u->bOff = 1;
    return SQLITE_OK;
  }
  /* the query's three arrays (vec0CodeQueryBytes), aligned, then its codes */
  u->aCqMem = sqlite3_malloc64(vec0CodeQueryBytes(s->nDim) + 64 + nPad);
  if (u->aCqMem == 0) return SQLITE_NOMEM;
  u->nStride = (nPad > nSum + 12 ? nPad : nSum + 12 + 63) / 64 * 64;
  u->xQuery = vec0CodeDistFn();
  u->eMetric = pCol->eMetric;
  return SQLITE_OK;
}

const void *vec0HnswUpperQuery(void *pCtx, int bOn) {
  HnswState *s = pCtx;
  HnswUpper *u = &s->up;
  unsigned char *a;
  int8_t *aCode;
  if (!bOn || s->pUpperQuery == 0) {
    s->bOnUpper = 0;
    return 0;
  }
  if (u->xQuery == 0 && !u->bOff && upperSetup(s) != SQLITE_OK) return 0;
  if (u->bOff) return 0;
  /* aRank covers every slot now: the descent only meets those */
  if (u->nRank < vec0StorageSlotCount(s->p)) {
    uint32_t n = vec0StorageSlotCount(s->p);
    uint32_t *aRank = sqlite3_realloc64(u->aRank, sizeof(uint32_t) * (size_t)n);
    if (aRank == 0) return 0; /* the descent on the vectors, as without */
    memset(aRank + u->nRank, 0, sizeof(uint32_t) * (size_t)(n - u->nRank));
    u->aRank = aRank;
    u->nRank = n;
  }
  a = u->aCqMem + ((64 - ((uintptr_t)u->aCqMem & 63)) & 63);
  aCode = (int8_t *)(void *)(a + vec0CodeQueryBytes(s->nDim));
  u->qScale = vec0QuantAbsmax(s->pUpperQuery, s->nDim, aCode);
  vec0CodeQueryInit(&u->cq, aCode, s->nDim, 1, 1, a);
  s->bOnUpper = 1;
  return &u->cq;
}

const void *vec0HnswUpperVector(HnswState *s, uint32_t id, int *pRc) {
  HnswUpper *u = &s->up;
  const unsigned char *v = 0;
  unsigned char *aRec;
  uint32_t r;
  float scale;
  int rc;
  if (id < u->nRank && u->aRank[id] && !(u->aRank[id] & UPPER_STALE)) {
    r = u->aRank[id] - 1;
    return u->apBlock[r / UPPER_BLOCK] + (size_t)(r % UPPER_BLOCK) * u->nStride;
  }
  if (id >= u->nRank) {
    /* a link past the slots: storage names the error, as for the vectors */
    rc = vec0StorageVector(s->p, s->iVec, id, &v);
    *pRc = rc != SQLITE_OK ? rc : SQLITE_CORRUPT_VTAB;
    return 0;
  }
  if (u->aRank[id] == 0 && u->nRec == u->nBlock * UPPER_BLOCK) {
    unsigned char **ap = sqlite3_realloc64(u->apBlock, sizeof(*ap) * (u->nBlock + 1));
    if (ap == 0) goto nomem;
    u->apBlock = ap;
    /* room after the last record for the kernels' reads (vec0_vec.h) */
    if ((ap[u->nBlock] = sqlite3_malloc64(UPPER_BLOCK * u->nStride + 64)) == 0) goto nomem;
    memset(ap[u->nBlock], 0, UPPER_BLOCK * u->nStride + 64);
    u->nBlock++;
  }
  rc = vec0StorageVector(s->p, s->iVec, id, &v);
  if (rc != SQLITE_OK) {
    *pRc = rc;
    return 0;
  }
  r = u->aRank[id] ? (u->aRank[id] & ~UPPER_STALE) - 1 : u->nRec++;
  aRec = u->apBlock[r / UPPER_BLOCK] + (size_t)(r % UPPER_BLOCK) * u->nStride;
  scale = vec0QuantAbsmax((const float *)(const void *)v, s->nDim, (int8_t *)aRec);
  vec0CodeFinish(aRec, s->nDim, 1);
  memcpy(aRec + vec0CodeSumOffset(s->nDim) + 8, &scale, sizeof(scale));
  u->aRank[id] = r + 1;
  return aRec;
nomem:
  *pRc = SQLITE_NOMEM;
  return 0;
}

/*
** l2: |q - x|^2 from the codes: q ~ sq * cq, x ~ sx * cx, so it is sq^2
** |cq|^2 + sx^2 |cx|^2 - 2 sq sx cq.cx, the kernel giving -cq.cx (bDot).
** cosine: 1 - cq.cx / (|cq| |cx|), which no scale changes; 1 where either
** code is zero, as the float walk puts a zero vector (vec0_distance.c).
** dot: -q.x, so sq sx times the kernel's -cq.cx.  In double, the same
** operations in the same order on every CPU.
*/
void vec0HnswUpperDistances(HnswState *s, const void *q, const void *const *apRec, int n,
                            float *aOut) {
  const HnswUpper *u = &s->up;
  size_t nSum = vec0CodeSumOffset(s->nDim);
  double sq = u->qScale, nq = (double)u->cq.norm;
  u->xQuery(q, apRec, n, aOut);
  for (int j = 0; j < n; j++) {
    const unsigned char *b = apRec[j];
    int32_t nx;
    float sx;
    memcpy(&nx, b + nSum + 4, 4);
    memcpy(&sx, b + nSum + 8, 4);
    if (u->eMetric == VEC0_METRIC_COSINE) {
      aOut[j] = nq > 0 && nx > 0 ? (float)(1 + (double)aOut[j] / sqrt(nq * (double)nx)) : 1.0f;
    } else if (u->eMetric == VEC0_METRIC_DOT) {
      aOut[j] = (float)(sq * sx * (double)aOut[j]);
    } else {
      aOut[j] = (float)(sq * sq * nq + (double)sx * sx * nx + 2 * sq * sx * (double)aOut[j]);
    }
  }
}
