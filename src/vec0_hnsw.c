/*
** vec0_hnsw.c: building and searching the HNSW graph of vec0_hnsw.h.
**
** The beam search of one level, the neighbour-selection heuristic, the
** insertion of a node (its links and its neighbours' links back), the
** revival and update of a node, and the public entry points that use them.
** Nodes are brought into memory by vec0_hnsw_store.c the first time a walk
** touches them, validated before any of their ids is trusted, so a damaged
** record is VEC0_HNSW_CORRUPT and never an out-of-bounds access.
**
** This file may call the C library and the host's callbacks, nothing else.
** Invalid parameters to vec0HnswOpen() are reported as VEC0_HNSW_CORRUPT
** (the host validates its configuration before opening a graph).
*/
#include "vec0_hnswInt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Binary heaps in caller-owned arrays: a min-heap of candidates to expand
** and a max-heap of the best results so far. */
static void minPush(Pair *h, size_t *pn, Pair x) {
  size_t i = (*pn)++;
  while (i > 0) {
    size_t up = (i - 1) / 2;
    if (h[up].d <= x.d) break;
    h[i] = h[up];
    i = up;
  }
  h[i] = x;
}

static void minPop(Pair *h, size_t *pn) {
  size_t n = --*pn, i = 0;
  Pair x = h[n];
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= n) break;
    /* The nearer child, without a branch: which one it is, is a coin toss. */
    if (c + 1 < n) c += (size_t)(h[c + 1].d < h[c].d);
    if (h[c].d >= x.d) break;
    h[i] = h[c];
    i = c;
  }
  h[i] = x;
}

static void maxPush(Pair *h, size_t *pn, Pair x) {
  size_t i = (*pn)++;
  while (i > 0) {
    size_t up = (i - 1) / 2;
    if (h[up].d >= x.d) break;
    h[i] = h[up];
    i = up;
  }
  h[i] = x;
}

/* Removes the top of a max-heap of n elements, or replaces it by x. */
static void maxSift(Pair *h, size_t n, Pair x) {
  size_t i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n) c += (size_t)(h[c + 1].d > h[c].d); /* as in minPop */
    if (h[c].d <= x.d) break;
    h[i] = h[c];
    i = c;
  }
  h[i] = x;
}

/* Empties the max-heap aTop into aW, nearest first. */
int vec0HnswDrainTop(Vec0Hnsw *p, size_t nTop, size_t *pnW) {
  int rc = vec0HnswReserve(p, &p->aW, &p->nWAlloc, nTop + 1, sizeof(Pair));
  size_t n = nTop;
  if (rc) return rc;
  while (n > 0) {
    p->aW[n - 1] = p->aTop[0];
    n--;
    if (n > 0) maxSift(p->aTop, n, p->aTop[n]);
  }
  *pnW = nTop;
  return VEC0_HNSW_OK;
}

/* The distance from a to b when it is <= bound, else something > bound. */
static float distBound(const Vec0Hnsw *p, const void *a, const void *b,
                       float bound) {
  if (p->h.xDistanceBound) return p->h.xDistanceBound(p->h.pCtx, a, b, bound);
  return p->h.xDistance(p->h.pCtx, a, b);
}

/*
** The distances from a to apB[0..n-1] (1 <= n <= 4) into aOut, each as
** distBound(p, a, apB[i], bound) gives it (with bound INFINITY: exactly as
** xDistance does): four in one call where the host has xDistanceBatch, whose
** contract makes them the same values, so a caller's decisions, and the
** graph, do not depend on which path computed them.
*/
static void distFour(const Vec0Hnsw *p, const void *a, const void *const *apB, size_t n,
                     float bound, float *aOut) {
  size_t i;
  if (n > 1 && p->h.xDistanceBatch) {
    const void *apPad[4];
    float aD[4];
    for (i = 0; i < 4; i++) apPad[i] = apB[i < n ? i : n - 1];
    p->h.xDistanceBatch(p->h.pCtx, a, apPad, bound, aD);
    for (i = 0; i < n; i++) aOut[i] = aD[i];
    return;
  }
  for (i = 0; i < n; i++) aOut[i] = distBound(p, a, apB[i], bound);
}

/* Exact distances (as xDistance) from a to apB[0..n-1] into aOut. */
void vec0HnswDistances(const Vec0Hnsw *p, const void *a, const void *const *apB, size_t n,
                       float *aOut) {
  size_t i;
  for (i = 0; i < n; i += 4) distFour(p, a, apB + i, n - i < 4 ? n - i : 4, INFINITY, aOut + i);
}

/* Starts every cache line of the link row of node id at level lc on its way. */
static void prefetchRow(const Vec0Hnsw *p, uint32_t id, int lc) {
  if (lc > 0 && (id >= p->nCap || p->apUp[id] == NULL)) return;
  const char *a = (const char *)links(p, id, lc);
  size_t n = (size_t)((lc ? p->m : p->m0) + 1) * sizeof(uint32_t);
  for (size_t o = 0; o < n; o += 64) PREFETCH(a + o);
  PREFETCH(a + n - 1);
}

/*
** Follows level lc from *pCur to the nearest node it can reach greedily.
** The decisions are exactly those of the walk every graph was built with:
** one distance at a time in list order, the list read being that of the
** node that was current before the previous entry's decision (so after a
** move, one more entry comes from the old node's list, and the rest, from
** the next index on, from the new node's).  The distances are computed up
** to GREEDY_STEP at a time, their vectors fetched side by side (one at a
** time, each waited for its memory: a fifth of a short query).  A step
** reads one list and stops at the first move; it holds only nodes in
** memory with a level of at least lc, whose touch can change nothing; any
** other node is touched first, alone, in its turn.
**
** A node whose entry was decided, at this level or one above in the same
** descent (stamp gen in aVisit), is not scored again: it was left for a
** node no farther from q, or became current, and the current distance only
** falls, so its entry can only be decided the same way again.  It still
** takes its place in the order (after a move it is the one entry read from
** the old list).  A descent of fashion-mnist's graph (m = 16, 60 000 rows,
** four levels) scored 108 upper nodes a query, 35 of them a second time
** (knn_ab: 1.02x, the same rows: those were in cache).
*/
#define GREEDY_STEP 8
/*
** A query's walk sets aside up to ef + HNSW_SIDE_EXTRA copies (see
** vec0HnswSearchLayer).  Beyond them copies take ef places again, so a walk
** near a vector stored thousands of times stays short: with 2 000 copies of
** one vector in 20 000, a query there took 23-36 us instead of 13-21 (from
** Python; without the limit 120-250 us), while 50 copies of each of 200
** vectors reach recall 0.955-0.98 at ef 10 (0.97-0.98 without the limit,
** 0.83-0.88 without setting copies aside: bench/README.md).
*/
#define HNSW_SIDE_EXTRA 64
static int greedy(Vec0Hnsw *p, const void *q, Pair *pCur, int lc, uint32_t gen) {
  int rc = VEC0_HNSW_OK, bMoved = 1;
  while (bMoved) {
    uint32_t i = 0, lag = pCur->id; /* the list read: lag's */
    bMoved = 0;
    for (;;) {
      const uint32_t *L = links(p, lag, lc);
      uint32_t aId[GREEDY_STEP], aPos[GREEDY_STEP], n = 0, nTaken = 0, j = i, k,
          cur = pCur->id;
      const void *apV[GREEDY_STEP];
      float aD[GREEDY_STEP];
      /* After a move the next entry alone (from the old list). */
      uint32_t nMax = lag == cur ? GREEDY_STEP : 1;
      for (; j < L[0] && nTaken < nMax; j++) {
        uint32_t t = L[1 + j];
        if (t + 1 == p->hide1) continue;
        if (t >= p->nCap) break;
        /* aPlainBm: loaded, without a read of the flags */
        if ((!vec0HnswBit(p->aPlainBm, t) && !(p->aFlag[t] & NODE_LOADED)) ||
            p->aLevel[t] < lc) {
          break;
        }
        nTaken++;
        if (vec0HnswSeen(p, t, gen)) continue; /* decided before: no move */
        aPos[n] = j;
        aId[n++] = t;
      }
      if (n == 0 && nTaken > 0) {
        /* every entry taken was decided before: a step without a move */
        lag = cur;
        i = j;
        continue;
      }
      if (n == 0 && j < L[0]) {
        /* L[1 + j] is not in memory: its touch loads it (or fails), then it
        ** is taken with the others. */
        if ((rc = vec0HnswTouch(p, cur, lc, L[1 + j])) != 0) return rc;
        i = j;
        continue;
      }
      if (n == 0) break;
      for (k = 0; k < n; k++) {
        if ((apV[k] = vec0HnswVector(p, aId[k], &rc)) == NULL) return rc;
        PREFETCH(apV[k]);
      }
      if (n == 1) {
        aD[0] = distBound(p, q, apV[0], pCur->d);
      } else if (!p->h.xDistanceMany || !p->h.xDistanceMany(p->h.pCtx, q, apV, aId, (int)n, aD)) {
        /* The bound of the step's start only admits more exact values: a
        ** distance above it is above every later one too. */
        for (k = 0; k < n; k += 4) {
          uint32_t b;
          if (p->h.xDistanceBatch && k + 1 < n) {
            const void *apB[4];
            float aB[4];
            for (b = 0; b < 4; b++) apB[b] = apV[k + b < n ? k + b : n - 1];
            p->h.xDistanceBatch(p->h.pCtx, q, apB, pCur->d, aB);
            for (b = 0; b < 4 && k + b < n; b++) aD[k + b] = aB[b];
          } else {
            for (b = k; b < n && b < k + 4; b++) aD[b] = distBound(p, q, apV[b], pCur->d);
          }
        }
      }
      /* Every entry of the step was decided with cur current before it. */
      lag = cur;
      i = j;
      for (k = 0; k < n; k++) {
        vec0HnswMark(p, aId[k], gen);
        if (aD[k] < pCur->d) {
          pCur->d = aD[k];
          pCur->id = aId[k];
          bMoved = 1;
          i = aPos[k] + 1;
          break;
        }
      }
    }
  }
  return rc;
}

/* Whether node id may be a result; bPlain: it is known not deleted. */
static int acceptedPlain(const Vec0Hnsw *p, const Filter *f, uint32_t id, int bPlain) {
  if (!bPlain && (p->aFlag[id] & NODE_DELETED) && !f->bDeleted) return 0;
  if (id == f->exclude) return 0;
  return f->xAccept == NULL || f->xAccept(f->pCtx, id);
}

static int accepted(const Vec0Hnsw *p, const Filter *f, uint32_t id) {
  return acceptedPlain(p, f, id, 0);
}

/* Whether nodes a and b hold one vector (host's xSame); 0 on error (*pRc). */
static int sameVector(Vec0Hnsw *p, uint32_t a, uint32_t b, int *pRc) {
  const void *va, *vb;
  if (p->h.xSame == NULL) return 0;
  if ((va = vec0HnswVector(p, a, pRc)) == NULL) return 0;
  if ((vb = vec0HnswVector(p, b, pRc)) == NULL) return 0;
  return p->h.xSame(p->h.pCtx, va, vb);
}

/*
** aSeenBm (the graph's own level searches): a search starts by clearing the
** bits the last one set, listed in aSeenList, or the whole bitmap when they
** did not fit in the list (bSeenAll: a walk of thousands of nodes).
*/
#define SEEN_LIST 8192
static int seenBegin(Vec0Hnsw *p) {
  size_t i;
  if (p->bSeenAll) {
    memset(p->aSeenBm, 0, (size_t)p->nCap / 64 * sizeof(uint64_t));
  } else {
    for (i = 0; i < p->nSeen; i++) p->aSeenBm[p->aSeenList[i] >> 6] = 0;
  }
  p->nSeen = 0;
  p->bSeenAll = 0;
  return vec0HnswReserve(p, &p->aSeenList, &p->nSeenAlloc, SEEN_LIST, sizeof(uint32_t));
}

/* Sets node id's bit of aSeenBm; 0 if it was set. */
static inline int seenMark(Vec0Hnsw *p, uint32_t id) {
  uint64_t *w = &p->aSeenBm[id >> 6], b = (uint64_t)1 << (id & 63);
  if (*w & b) return 0;
  *w |= b;
  if (p->nSeen < p->nSeenAlloc) {
    p->aSeenList[p->nSeen++] = id;
  } else {
    p->bSeenAll = 1;
  }
  return 1;
}

/*
** Beam search of level lc from ep, ef wide.  The best accepted nodes are
** left in the max-heap aTop (*pnTop of them).  While fewer than ef nodes are
** accepted there is no bound, so the walk keeps widening through rejected
** and deleted nodes, nearest first, until f->budget runs out.
**
** With f->nSideMax and the host's xSame, a neighbour that is a copy of the
** node linking to it (copies link to copies) waits in aSide instead of
** taking one of the ef places, up to nSideMax of them, and joins the results
** at the end if the bound admits it.  Copies of a vector are at one distance
** from any query: with 25 or 50 copies of each vector, the ef places filled
** with copies of the first vector reached, the bound stopped there, and a
** query near another vector missed all of its copies.  A side node is still
** expanded (its links are its own).  Only an exact tie with the parent asks
** xSame, so data without copies pays one comparison of floats a neighbour.
*/
int vec0HnswSearchLayer(Vec0Hnsw *p, const void *q, Pair ep, int ef, int lc,
                        const Filter *f, size_t *pnTop) {
  const size_t nEf = (size_t)ef;
  float (*xDist)(void *, const void *, const void *) = p->h.xDistance;
  void *pCtx = p->h.pCtx;
  size_t nCand = 0, nTop = 0, nDist = 0, nSide = 0;
  uint32_t gen, nb[2 * 128];
  const int bBm = p->aSeenBm != NULL; /* aSeenBm, else the stamps */
  const void *apV[2 * 128];
  float aBatch[4], aMany[2 * 128];
  int bBatch = 0, bMany;
  int rc;
  /* the dense view's records, when they are small (see below) */
  const uint32_t nSmall = p->nDenseStride <= 128 ? p->nDense : 0;

  rc = vec0HnswReserve(p, &p->aTop, &p->nTopAlloc, nEf + 1, sizeof(Pair));
  if (rc == 0) rc = vec0HnswReserve(p, &p->aCand, &p->nCandAlloc, 256, sizeof(Pair));
  if (rc) return rc;
  if (bBm) {
    gen = 0;
    if ((rc = seenBegin(p)) != 0) return rc;
    if (p->hide1 && p->hide1 - 1 < p->nCap) seenMark(p, p->hide1 - 1);
    seenMark(p, ep.id);
  } else {
    gen = vec0HnswNextGen(p);
    if (p->hide1 && p->hide1 - 1 < p->nCap) vec0HnswMark(p, p->hide1 - 1, gen);
    vec0HnswMark(p, ep.id, gen);
  }
  minPush(p->aCand, &nCand, ep);
  if (accepted(p, f, ep.id)) maxPush(p->aTop, &nTop, ep);

  while (nCand > 0) {
    Pair c = p->aCand[0];
    const uint32_t *L;
    const void *v;
    uint32_t i, cnt, nn = 0;
    if (nTop >= nEf && c.d > p->aTop[0].d) break;
    if (nDist > f->budget && nTop >= (size_t)f->kMin) break;
    minPop(p->aCand, &nCand);
    /* The next candidate, unless this one's neighbours bring a nearer one
    ** (whose row is started at its push, below): its whole link row on its
    ** way while this one is expanded.  Starting the heap's next two as well
    ** was 1-12 % slower at 1M x 128 int8 once the records went out with the
    ** stamps: the walk is bound by the lines in flight (bench/README
    ** "Stop 29"). */
    if (nCand > 0) prefetchRow(p, p->aCand[0].id, lc);

    /* Mark and load the unvisited neighbours first, so that the distance
    ** loop below can fetch vector j+1 while it computes distance j. */
    L = links(p, c.id, lc);
    cnt = L[0];
    /* The visited stamps are read at random: all of them on their way first,
    ** a miss each in a large graph.  1M x 128 float32: knn_ab 1.08-1.14x in
    ** four runs, interleaved against the build before 1.05x (0.95-1.24);
    ** int8 1.00-1.06x, fashion 1.00x.  The bitmaps (aSeenBm, aPlainBm)
    ** stay in the caches: nothing to start. */
    if (!bBm) {
      for (i = 0; i < cnt; i++) PREFETCH(&p->aVisit[L[1 + i]]);
    }
    /* So are a batch's vector addresses (an array of 8 bytes a node, read
    ** at the same random places): a stall per neighbour otherwise. */
    if (p->apVec) {
      for (i = 0; i < cnt; i++) PREFETCH(&p->apVec[L[1 + i]]);
    }
    /* A record of two lines or less (int8 codes of up to 128 dimensions, bit
    ** codes) is started with the stamps, visited or not, instead of after
    ** the stamp says it is needed: one wait on memory an expansion instead
    ** of two.  1M x 128 int8: knn_ab 1.07-1.21x in three runs (bench/README
    ** "Stop 29"); float32 records (512 bytes there) gained nothing, and
    ** fashion-mnist's records neither (its graph fits the caches better). */
    if (nSmall) {
      for (i = 0; i < cnt; i++) {
        uint32_t t = L[1 + i];
        if (t < nSmall) {
          const unsigned char *a = p->pDense + (size_t)t * p->nDenseStride;
          PREFETCH(a);
          PREFETCH(a + p->nDenseStride - 1);
        }
      }
    }
    /* At level 0 a node not in memory is read only if its distance admits
    ** it (below): its vector is all the distance needs, and most of a lazy
    ** walk's neighbours are refused (a first query at 1M read half as many
    ** records).  Links point below nBound <= nCap, so t indexes the arrays. */
    for (i = 0; i < cnt; i++) {
      uint32_t t = L[1 + i];
      if (bBm) {
        if (!seenMark(p, t)) continue;
      } else {
        if (vec0HnswSeen(p, t, gen)) continue;
        vec0HnswMark(p, t, gen);
      }
      if (lc > 0) {
        if ((rc = vec0HnswTouch(p, c.id, lc, t)) != 0) return rc;
        L = links(p, c.id, lc);
      }
      nb[nn++] = t;
    }
    if (nn == 0) continue;
    if ((rc = vec0HnswReserve(p, &p->aCand, &p->nCandAlloc, nCand + nn, sizeof(Pair)))) {
      return rc;
    }
    /* Start every vector's first lines on its way before the first distance:
    ** the reads overlap instead of waiting one after the other. */
    for (i = 0; i < nn; i++) {
      if ((apV[i] = vec0HnswVector(p, nb[i], &rc)) == NULL) return rc;
      PREFETCH(apV[i]);
    }
    nDist += nn;
    bMany = p->h.xDistanceMany && p->h.xDistanceMany(pCtx, q, apV, nb, (int)nn, aMany);
    for (i = 0; i < nn; i++) {
      float d;
      if ((i & 3) == 0 && i + 1 < nn && p->h.xDistanceBatch && !bMany) {
        /* Four at a time (the last group padded with its last vector, which
        ** is then in cache): their memory reads overlap.  The bound of the
        ** group's start only admits more exact values; every decision
        ** below is taken against the bound of its own moment. */
        const void *apB[4];
        int j;
        for (j = 0; j < 4; j++) apB[j] = apV[i + j < nn ? i + j : nn - 1];
        p->h.xDistanceBatch(pCtx, q, apB, nTop < nEf ? INFINITY : p->aTop[0].d,
                            aBatch);
        bBatch = 1;
      } else if ((i & 3) == 0) {
        bBatch = 0;
      }
      if (bMany) {
        d = aMany[i];
      } else if (bBatch) {
        d = aBatch[i & 3];
      } else {
        v = apV[i];
        if (i + 1 < nn) {
          PREFETCH((const char *)apV[i + 1] + 64);
          PREFETCH((const char *)apV[i + 1] + 128);
        }
        d = nTop < nEf ? xDist(pCtx, q, v) : distBound(p, q, v, p->aTop[0].d);
      }
      if (nTop < nEf || d < p->aTop[0].d) {
        Pair x;
        x.d = d;
        x.id = nb[i];
        /* aPlainBm: loaded and not deleted, the flags unread */
        int bPlain = vec0HnswBit(p->aPlainBm, x.id);
        if (!bPlain && !(p->aFlag[x.id] & NODE_LOADED) &&
            (rc = vec0HnswTouch(p, c.id, lc, x.id)) != 0) {
          return rc;
        }
        minPush(p->aCand, &nCand, x);
        if (p->aCand[0].id == x.id) prefetchRow(p, x.id, lc);
        if (acceptedPlain(p, f, x.id, bPlain)) {
          int bCopy = d == c.d && nSide < f->nSideMax && sameVector(p, c.id, x.id, &rc);
          if (rc) return rc;
          if (bCopy) {
            rc = vec0HnswReserve(p, &p->aSide, &p->nSideAlloc, nSide + 1, sizeof(Pair));
            if (rc) return rc;
            p->aSide[nSide++] = x;
          } else if (nTop < nEf) {
            maxPush(p->aTop, &nTop, x);
          } else {
            maxSift(p->aTop, nTop, x);
          }
        }
      }
    }
  }
  if (nSide) {
    size_t i;
    if ((rc = vec0HnswReserve(p, &p->aTop, &p->nTopAlloc, nTop + nSide + 1, sizeof(Pair)))) {
      return rc;
    }
    for (i = 0; i < nSide; i++) {
      if (nTop < nEf || p->aSide[i].d <= p->aTop[0].d) maxPush(p->aTop, &nTop, p->aSide[i]);
    }
  }
  *pnTop = nTop;
  return VEC0_HNSW_OK;
}

int vec0HnswCmpPair(const void *a, const void *b) {
  const Pair *x = a, *y = b;
  if (x->d < y->d) return -1;
  if (x->d > y->d) return 1;
  return (x->id > y->id) - (x->id < y->id);
}

/*
** The neighbour-selection heuristic: a[0..n-1] are candidates sorted by
** distance to the base node; keep a candidate only if it is nearer to the
** base than to every candidate already kept, so links spread out in
** different directions instead of all pointing into one cluster.  The kept
** ones end up in a[0..*pnSel-1].  If aDrop is not NULL, each dropped
** candidate is recorded there with the kept node nearest to it (the one
** that made it redundant), *pnDrop of them.
*/
int vec0HnswSelect(Vec0Hnsw *p, Pair *a, size_t n, int M, size_t *pnSel,
                   Drop *aDrop, size_t *pnDrop) {
  size_t i, j, nSel = 0, nDrop = 0;
  float aD[4];
  int rc = VEC0_HNSW_OK;
  if (n < (size_t)M) {
    *pnSel = n;
    if (pnDrop) *pnDrop = 0;
    return VEC0_HNSW_OK;
  }
  for (i = 0; i < n; i++) {
    const void *vc = vec0HnswVector(p, a[i].id, &rc);
    size_t iVia = 0;
    int bKeep = 1;
    if (vc == NULL) return rc;
    if (nSel < (size_t)M) {
      /* Four kept nodes at a time (as many distances for the time of one;
      ** the decisions are still taken one by one in list order). */
      for (j = 0; j < nSel && bKeep; j += 4) {
        size_t nB = nSel - j < 4 ? nSel - j : 4, k;
        distFour(p, vc, p->apSel + j, nB, a[i].d, aD);
        for (k = 0; k < nB; k++) {
          /* A copy of a kept node (distance 0) is redundant too, even when
          ** it is also a copy of the base: else copies fill the list and
          ** push out the one link to a node elsewhere. */
          if (aD[k] < a[i].d || aD[k] == 0.0f) {
            bKeep = 0;
            iVia = j + k;
            break;
          }
        }
      }
    } else {
      float dBest;
      if (aDrop == NULL) break;
      /* The list is full: the nearest kept node stands in for the base. */
      bKeep = 0;
      for (j = 0; j < nSel; j += 4) {
        size_t nB = nSel - j < 4 ? nSel - j : 4, k;
        distFour(p, vc, p->apSel + j, nB, INFINITY, aD);
        for (k = 0; k < nB; k++) {
          if (j + k == 0 || aD[k] < dBest) {
            dBest = aD[k];
            iVia = j + k;
          }
        }
      }
    }
    if (bKeep) {
      p->apSel[nSel] = vc;
      a[nSel++] = a[i];
    } else if (aDrop) {
      aDrop[nDrop].id = a[i].id;
      aDrop[nDrop++].via = a[iVia].id;
    }
  }
  *pnSel = nSel;
  if (pnDrop) *pnDrop = nDrop;
  return VEC0_HNSW_OK;
}

/*
** Rebuilds the list of node n at level lc from the candidates in aP[0..nP-1]
** (ids only; distances to n are computed here), of which the first nOld are
** its current links; idNew (or VEC0_HNSW_NONE) is the node being linked in,
** which asked n for a link back.
**
** Plain HNSW loses nodes here: a node pruned from its last in-list becomes
** unreachable (about 0.1% of fashion-mnist at m=16, 5% at m=4), and a new
** node that all its neighbours refuse is never reachable.  So a current
** link or idNew that is dropped is handed over (vec0HnswHandOver): the path
** n -> via -> dropped then keeps everything reachable that was.
*/
static int relink(Vec0Hnsw *p, uint32_t n, int lc, size_t nP, size_t nOld,
                  uint32_t idNew) {
  int rc = VEC0_HNSW_OK, cap = lc ? p->m : p->m0;
  const void *vn = vec0HnswVector(p, n, &rc);
  uint32_t *L, gen;
  size_t i, nSel, nDrop;
  if (vn == NULL) return rc;
  rc = vec0HnswReserve(p, &p->aDrop, &p->nDropAlloc, nP, sizeof(Drop));
  if (rc) return rc;
  gen = vec0HnswNextGen(p);
  for (i = 0; i < nP; i += 4) {
    const void *apV[4];
    float aD[4];
    size_t k, nB = nP - i < 4 ? nP - i : 4;
    for (k = 0; k < nB; k++) {
      if ((apV[k] = vec0HnswVector(p, p->aP[i + k].id, &rc)) == NULL) return rc;
    }
    vec0HnswDistances(p, vn, apV, nB, aD);
    for (k = 0; k < nB; k++) {
      p->aP[i + k].d = aD[k];
      if (i + k < nOld || p->aP[i + k].id == idNew) vec0HnswMark(p, p->aP[i + k].id, gen);
    }
  }
  qsort(p->aP, nP, sizeof(Pair), vec0HnswCmpPair);
  rc = vec0HnswSelect(p, p->aP, nP, cap, &nSel, p->aDrop, &nDrop);
  if (rc) return rc;
  if ((rc = vec0HnswMarkDirty(p, n)) != 0) return rc;
  L = links(p, n, lc);
  L[0] = (uint32_t)nSel;
  for (i = 0; i < nSel; i++) L[1 + i] = p->aP[i].id;
  for (i = 0; i < nDrop; i++) {
    if (!vec0HnswSeen(p, p->aDrop[i].id, gen)) continue;
    if ((rc = vec0HnswHandOver(p, n, lc, &p->aDrop[i])) != 0) return rc;
  }
  return VEC0_HNSW_OK;
}

/* Adds the link n -> id at level lc, re-pruning n's list if it is full. */
static int addLink(Vec0Hnsw *p, uint32_t n, int lc, uint32_t id) {
  int rc, cap = lc ? p->m : p->m0;
  uint32_t *L = links(p, n, lc), i;
  if (vec0HnswHasLink(L, id)) return VEC0_HNSW_OK;
  if (L[0] < (uint32_t)cap) {
    if ((rc = vec0HnswMarkDirty(p, n)) != 0) return rc;
    L[1 + L[0]++] = id;
    return VEC0_HNSW_OK;
  }
  rc = vec0HnswReserve(p, &p->aP, &p->nPAlloc, (size_t)cap + 1, sizeof(Pair));
  if (rc) return rc;
  for (i = 0; i < L[0]; i++) p->aP[i].id = L[1 + i];
  p->aP[L[0]].id = id;
  return relink(p, n, lc, (size_t)cap + 1, (size_t)cap, id);
}

/*
** The greedy descent from group pG's entry (loaded, the group not empty)
** on query q through the levels above lcStop, into *pEp: the node reached
** and its distance to q.
*/
int vec0HnswDescend(Vec0Hnsw *p, const Group *pG, const void *q, int lcStop, Pair *pEp) {
  int rc = VEC0_HNSW_OK, lc;
  uint32_t gen;
  const void *v = vec0HnswVector(p, pG->entry, &rc);
  if (v == NULL) return rc;
  pEp->id = pG->entry;
  pEp->d = p->h.xDistance(p->h.pCtx, q, v);
  gen = vec0HnswNextGen(p);
  vec0HnswMark(p, pG->entry, gen);
  for (lc = pG->maxLevel; lc > lcStop; lc--) {
    if ((rc = greedy(p, q, pEp, lc, gen)) != 0) return rc;
  }
  return VEC0_HNSW_OK;
}

/*
** The search of node id's links at level lc, from *pEp: the ef_construction
** nodes nearest to its vector q, *pEp moved to the nearest, and the ones
** the heuristic keeps (at most m) in p->aW[0..*pnSel-1], the others after
** them up to p->aW[*pnW-1].  Changes nothing but scratch.
*/
int vec0HnswFindLinks(Vec0Hnsw *p, uint32_t id, const void *q, Pair *pEp, int lc,
                      size_t *pnW, size_t *pnSel) {
  size_t nTop;
  Filter f;
  int rc;
  memset(&f, 0, sizeof(f));
  f.exclude = id;
  f.kMin = 1;
  f.budget = (size_t)p->efc * (size_t)p->m0 * 32;
  if ((rc = vec0HnswSearchLayer(p, q, *pEp, p->efc, lc, &f, &nTop)) != 0) return rc;
  if (nTop == 0) {
    /* No live node near enough (every one the walk met is deleted): link
    ** to deleted ones, which are linked from the rest, or id would be
    ** unreachable. */
    f.bDeleted = 1;
    if ((rc = vec0HnswSearchLayer(p, q, *pEp, p->efc, lc, &f, &nTop)) != 0) return rc;
  }
  if ((rc = vec0HnswDrainTop(p, nTop, pnW)) != 0) return rc;
  if (*pnW > 0) *pEp = p->aW[0];
  return vec0HnswSelect(p, p->aW, *pnW, p->m, pnSel, NULL, NULL);
}

/*
** Links node id (level L) into the graph: a fresh search at each of its
** levels, the heuristic picks its neighbours, and each of them links back.
*/
int vec0HnswConnect(Vec0Hnsw *p, uint32_t id, int L) {
  int rc = VEC0_HNSW_OK, lc, top;
  const void *q = vec0HnswVector(p, id, &rc);
  const Group *pG;
  Pair ep;
  if (q == NULL) return rc;
  if ((rc = vec0HnswLoadEntry(p, p->aGroup[id])) != 0) return rc;
  pG = &p->aGrp[p->aGroup[id]];
  if (pG->maxLevel < 0) return VEC0_HNSW_OK;
  top = pG->maxLevel;
  if ((rc = vec0HnswDescend(p, pG, q, L, &ep)) != 0) return rc;
  for (lc = (L < top ? L : top); lc >= 0; lc--) {
    size_t nW, nSel, i;
    uint32_t *aL;
    if ((rc = vec0HnswFindLinks(p, id, q, &ep, lc, &nW, &nSel)) != 0) return rc;
    if ((rc = vec0HnswMarkDirty(p, id)) != 0) return rc;
    aL = links(p, id, lc);
    aL[0] = (uint32_t)nSel;
    for (i = 0; i < nSel; i++) aL[1 + i] = p->aW[i].id;
    for (i = 0; i < nSel; i++) {
      if ((rc = addLink(p, p->aW[i].id, lc, id)) != 0) return rc;
    }
  }
  return VEC0_HNSW_OK;
}

/* Appends to aP the ids of list L not stamped gen yet, stamping them. */
static size_t gather(Vec0Hnsw *p, const uint32_t *L, uint32_t gen, size_t nP) {
  uint32_t i;
  for (i = 0; i < L[0]; i++) {
    if (vec0HnswSeen(p, L[1 + i], gen)) continue;
    vec0HnswMark(p, L[1 + i], gen);
    p->aP[nP++].id = L[1 + i];
  }
  return nP;
}

/*
** vec0HnswConnect() for a node that already had links (reconnect): its
** fresh lists may leave out an old neighbour whose only way in was through
** this node (the neighbours that pruned it just now handed it here, to the
** node that made it redundant).  So each list that lost an old link is re-selected
** among the old links and the new ones, and relink() hands a link it drops,
** old or new, to the kept node nearest to it.  With bLinkBack (a node that
** may have no way in) id is first made reachable from its fresh links, so
** that the hand-overs through it keep what they hand over reachable.
*/
int vec0HnswConnectKeeping(Vec0Hnsw *p, uint32_t id, int L, int bLinkBack) {
  size_t nWords = rowWords(p, L), nRow0 = (size_t)p->m0 + 1;
  uint32_t *aOld = p->h.xMalloc(p->h.pCtx, nWords * sizeof(uint32_t));
  int rc, lc;
  if (aOld == NULL) return VEC0_HNSW_NOMEM;
  memcpy(aOld, links(p, id, 0), nRow0 * sizeof(uint32_t));
  if (L > 0) {
    memcpy(aOld + nRow0, p->apUp[id], (nWords - nRow0) * sizeof(uint32_t));
  }
  rc = vec0HnswConnect(p, id, L);
  if (rc == VEC0_HNSW_OK && bLinkBack) {
    /* before the old links are handed over through id */
    memcpy(p->aFresh, links(p, id, 0), nRow0 * sizeof(uint32_t));
    rc = vec0HnswLinkBack(p, id, p->aFresh);
  }
  for (lc = 0; rc == VEC0_HNSW_OK && lc <= L; lc++) {
    const uint32_t *O = lc ? aOld + nRow0 + (size_t)(lc - 1) * (size_t)(p->m + 1) : aOld;
    const uint32_t *N = links(p, id, lc);
    uint32_t gen, i;
    size_t nOld;
    int bLost = 0;
    for (i = 0; i < O[0]; i++) bLost |= !vec0HnswHasLink(N, O[1 + i]);
    if (!bLost) continue;
    rc = vec0HnswReserve(p, &p->aP, &p->nPAlloc, (size_t)O[0] + N[0], sizeof(Pair));
    if (rc) break;
    gen = vec0HnswNextGen(p);
    vec0HnswMark(p, id, gen);
    /* The new links count as current too: a neighbour that pruned a node
    ** just now may have left this node its only way in (it was handed
    ** here), so one dropped again must be handed over as well. */
    nOld = gather(p, N, gen, gather(p, O, gen, 0));
    rc = relink(p, id, lc, nOld, nOld, VEC0_HNSW_NONE);
  }
  p->h.xFree(p->h.pCtx, aOld);
  return rc;
}

/*
** Node id got a new vector (revived tombstone or update).  First each of its
** neighbours re-selects its list among its own links, id's links and id,
** with the new distances; then id's own lists are rebuilt by a fresh search.
*/
static int reconnect(Vec0Hnsw *p, uint32_t id) {
  int rc, lc, L = p->aLevel[id];
  if ((rc = vec0HnswMarkDirty(p, id)) != 0) return rc;
  vec0HnswSetFlags(p, id, p->aFlag[id] & (uint8_t)~NODE_DELETED);
  p->nLost = 0;
  for (lc = 0; lc <= L; lc++) {
    uint32_t i, nIdLinks = links(p, id, lc)[0];
    for (i = 0; i < nIdLinks; i++) {
      if ((rc = vec0HnswTouch(p, id, lc, links(p, id, lc)[1 + i])) != 0) return rc;
    }
    for (i = 0; i < nIdLinks; i++) {
      uint32_t n = links(p, id, lc)[1 + i], gen, j, *Ln;
      size_t nP, nOld;
      Ln = links(p, n, lc);
      for (j = 0; j < Ln[0]; j++) {
        if ((rc = vec0HnswTouch(p, n, lc, Ln[1 + j])) != 0) return rc;
        Ln = links(p, n, lc);
      }
      rc = vec0HnswReserve(p, &p->aP, &p->nPAlloc, 2 * (size_t)p->m0 + 2, sizeof(Pair));
      if (rc) return rc;
      gen = vec0HnswNextGen(p);
      vec0HnswMark(p, n, gen);
      nOld = gather(p, links(p, n, lc), gen, 0);
      nP = gather(p, links(p, id, lc), gen, nOld);
      if (!vec0HnswSeen(p, id, gen)) p->aP[nP++].id = id;
      if ((rc = relink(p, n, lc, nP, nOld, id)) != 0) return rc;
    }
  }
  if ((rc = vec0HnswConnectKeeping(p, id, L, 0)) != 0) return rc;
  return vec0HnswRepairLost(p);
}

int vec0HnswOpen(const Vec0HnswHost *pHost, const Vec0HnswParams *pParams,
                 Vec0Hnsw **ppOut) {
  Vec0Hnsw *p;
  *ppOut = NULL;
  if (pParams->m < 2 || pParams->m > 128 || pParams->efConstruction < 1 ||
      pParams->efConstruction > 4096) {
    return VEC0_HNSW_CORRUPT;
  }
  p = pHost->xMalloc(pHost->pCtx, sizeof(*p));
  if (p == NULL) return VEC0_HNSW_NOMEM;
  memset(p, 0, sizeof(*p));
  p->h = *pHost;
  p->m = pParams->m;
  p->m0 = 2 * pParams->m;
  p->efc = pParams->efConstruction;
  p->seed = pParams->seed;
  p->mL = 1.0 / log((double)p->m);
  p->apSel = p->h.xMalloc(p->h.pCtx, 2 * 128 * sizeof(void *));
  if (p->apSel == NULL || vec0HnswGrowGroups(p, 0) != VEC0_HNSW_OK) {
    p->h.xFree(p->h.pCtx, p->apSel);
    p->h.xFree(p->h.pCtx, p);
    return VEC0_HNSW_NOMEM;
  }
  p->aGrp[0].flags = GROUP_LOADED; /* group 0 is in the header */
  *ppOut = p;
  return VEC0_HNSW_OK;
}

void vec0HnswClose(Vec0Hnsw *p) {
  if (p == NULL) return;
  vec0HnswFreeNodes(p);
  p->h.xFree(p->h.pCtx, p->aDirty);
  p->h.xFree(p->h.pCtx, p->aCand);
  p->h.xFree(p->h.pCtx, p->aSeenList);
  p->h.xFree(p->h.pCtx, p->aTop);
  p->h.xFree(p->h.pCtx, p->aSide);
  p->h.xFree(p->h.pCtx, p->aW);
  p->h.xFree(p->h.pCtx, p->aP);
  p->h.xFree(p->h.pCtx, p->aDrop);
  p->h.xFree(p->h.pCtx, p->aLost);
  p->h.xFree(p->h.pCtx, p->apSel);
  p->h.xFree(p->h.pCtx, p->aRec);
  p->h.xFree(p->h.pCtx, p->aQueue);
  p->h.xFree(p->h.pCtx, p->aUndo);
  p->h.xFree(p->h.pCtx, p->aGrp);
  p->h.xFree(p->h.pCtx, p->aGrpDirty);
  p->h.xFree(p->h.pCtx, p);
}

static uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

int vec0HnswLevel(const Vec0Hnsw *p, uint64_t key) {
  uint64_t h = mix64(key + 0x9e3779b97f4a7c15ull * (mix64(p->seed) | 1));
  double u = (double)((h >> 11) + 1) * (1.0 / 9007199254740992.0);
  double l = floor(-log(u) * p->mL);
  return l > VEC0_HNSW_MAX_LEVEL ? VEC0_HNSW_MAX_LEVEL : (int)l;
}

/*
** Makes id a node of level L in group g without links (nothing links to it
** yet either), counted and dirty.  The entry of g must be loaded.
*/
int vec0HnswAddNode(Vec0Hnsw *p, uint32_t id, int L, uint32_t g) {
  uint32_t *up = NULL;
  int rc, l;
  if ((rc = vec0HnswGrowNodes(p, id + 1)) != 0) return rc;
  if (L > 0) {
    up = p->h.xMalloc(p->h.pCtx, (size_t)L * (size_t)(p->m + 1) * 4);
    if (up == NULL) return VEC0_HNSW_NOMEM;
  }
  rc = vec0HnswReserve(p, &p->aDirty, &p->nDirtyAlloc, p->nDirty + 1, sizeof(uint32_t));
  if (rc == VEC0_HNSW_OK && p->bUndo) rc = vec0HnswSaveNode(p, id);
  if (rc) {
    p->h.xFree(p->h.pCtx, up);
    return rc;
  }
  if (id >= p->nBound) p->nBound = id + 1;
  vec0HnswSetFlags(p, id, NODE_LOADED | (p->aFlag[id] & NODE_SAVED));
  p->aLevel[id] = (uint8_t)L;
  p->aGroup[id] = g;
  p->apUp[id] = up;
  vec0HnswRow0(p, id)[0] = 0;
  for (l = 1; l <= L; l++) links(p, id, l)[0] = 0;
  vec0HnswMarkDirty(p, id); /* cannot fail: reserved and saved above */
  p->nCount++;
  p->bHdrDirty = 1;
  return VEC0_HNSW_OK;
}

static int insertNew(Vec0Hnsw *p, uint32_t id, int L, uint32_t g) {
  int rc;
  if ((rc = vec0HnswLoadEntry(p, g)) != 0) return rc;
  if ((rc = vec0HnswAddNode(p, id, L, g)) != 0) return rc;
  p->nLost = 0;
  if ((rc = vec0HnswConnect(p, id, L)) != 0) return rc;
  if (L > p->aGrp[g].maxLevel && (rc = vec0HnswSetEntry(p, g, id, L)) != 0) return rc;
  return vec0HnswRepairLost(p);
}

int vec0HnswInsert(Vec0Hnsw *p, uint32_t id, uint64_t key, uint32_t group) {
  int rc;
  if (id >= 0x7fffffffu) return vec0HnswCorrupt(p, "node %u: id out of range", id);
  if (group > VEC0_HNSW_MAX_GROUP) return vec0HnswCorrupt(p, "group %u out of range", group);
  rc = vec0HnswLoadNode(p, id);
  if (rc == VEC0_HNSW_NOTFOUND) return insertNew(p, id, vec0HnswLevel(p, key), group);
  if (rc) return rc;
  if (!(p->aFlag[id] & NODE_DELETED)) {
    return vec0HnswCorrupt(p, "node %u: inserted but already live", id);
  }
  if (p->aGroup[id] != group) {
    return vec0HnswCorrupt(p, "node %u: revived in group %u but it belongs to group %u", id,
                   group, p->aGroup[id]);
  }
  return reconnect(p, id);
}

int vec0HnswDelete(Vec0Hnsw *p, uint32_t id) {
  int rc = vec0HnswLoadNode(p, id);
  if (rc == VEC0_HNSW_NOTFOUND) return vec0HnswCorrupt(p, "node %u: deleted but unknown", id);
  if (rc) return rc;
  if (p->aFlag[id] & NODE_DELETED) {
    return vec0HnswCorrupt(p, "node %u: deleted twice", id);
  }
  if ((rc = vec0HnswMarkDirty(p, id)) != 0) return rc;
  vec0HnswSetFlags(p, id, p->aFlag[id] | NODE_DELETED);
  return VEC0_HNSW_OK;
}

int vec0HnswUpdate(Vec0Hnsw *p, uint32_t id) {
  int rc = vec0HnswLoadNode(p, id);
  if (rc == VEC0_HNSW_NOTFOUND) return vec0HnswCorrupt(p, "node %u: updated but unknown", id);
  if (rc) return rc;
  if (p->aFlag[id] & NODE_DELETED) {
    return vec0HnswCorrupt(p, "node %u: updated but deleted", id);
  }
  return reconnect(p, id);
}

void vec0HnswHide(Vec0Hnsw *p, uint32_t id) {
  p->hide1 = id == VEC0_HNSW_NONE ? 0 : id + 1;
}

void vec0HnswSetDense(Vec0Hnsw *p, const void *base, size_t stride, uint32_t n) {
  p->pDense = base;
  p->nDenseStride = stride;
  p->nDense = base ? n : 0;
}

/*
** The greedy descent of a search from group pG's entry to level 1, on the
** host's stand-in for the query where it has one (xUpper), into *pEp: the
** node reached and its distance to pQuery itself.
*/
static int searchDescend(Vec0Hnsw *p, const Group *pG, const void *pQuery, Pair *pEp) {
  const void *qUp = p->h.xUpper && pG->maxLevel > 0 ? p->h.xUpper(p->h.pCtx, 1) : NULL;
  const void *v;
  uint32_t nDense = p->nDense;
  int rc;
  if (qUp) p->nDense = 0; /* the descent reads xUpper's vectors */
  rc = vec0HnswDescend(p, pG, qUp ? qUp : pQuery, 0, pEp);
  p->nDense = nDense;
  if (qUp) {
    p->h.xUpper(p->h.pCtx, 0);
    if (rc == VEC0_HNSW_OK && (v = vec0HnswVector(p, pEp->id, &rc)) != NULL) {
      pEp->d = p->h.xDistance(p->h.pCtx, pQuery, v);
    }
  }
  return rc;
}

int vec0HnswSearch(Vec0Hnsw *p, uint32_t group, const void *pQuery, int k, int ef,
                   int (*xAccept)(void *, uint32_t), void *pAcceptCtx,
                   Vec0HnswResult *aOut, int *pnOut) {
  int rc = VEC0_HNSW_OK;
  size_t nTop, nW, i;
  const Group *pG;
  Pair ep;
  Filter f;
  *pnOut = 0;
  if (k <= 0) return VEC0_HNSW_OK;
  if (ef < k) ef = k;
  if ((rc = vec0HnswLoadEntry(p, group)) != 0) return rc;
  pG = &p->aGrp[group];
  if (pG->maxLevel < 0) return VEC0_HNSW_OK;
  if ((rc = searchDescend(p, pG, pQuery, &ep)) != 0) return rc;
  memset(&f, 0, sizeof(f));
  f.xAccept = xAccept;
  f.pCtx = pAcceptCtx;
  f.exclude = VEC0_HNSW_NONE;
  /* Without a filter only tombstones are skipped, and the walk must go on
  ** until k live nodes are found; a filter may give up (the host then scans). */
  f.kMin = xAccept ? 0 : k;
  f.budget = (size_t)ef * (size_t)p->m0 * 16 + 4096;
  f.nSideMax = (size_t)ef + HNSW_SIDE_EXTRA;
  if ((rc = vec0HnswSearchLayer(p, pQuery, ep, ef, 0, &f, &nTop)) != 0) return rc;
  if ((rc = vec0HnswDrainTop(p, nTop, &nW)) != 0) return rc;
  if (nW > (size_t)k) nW = (size_t)k;
  for (i = 0; i < nW; i++) {
    aOut[i].id = p->aW[i].id;
    aOut[i].distance = p->aW[i].d;
  }
  *pnOut = (int)nW;
  return VEC0_HNSW_OK;
}
