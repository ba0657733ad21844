/*
** vec0_hnsw.c: the HNSW graph behind vec0_hnsw.h.
**
** Only this file knows how the graph is laid out in memory.  Nodes live in
** arrays indexed by id so that the hot loop of a search touches as little
** memory as possible: one flag byte per node (loaded / deleted / dirty), a
** visited stamp per node, and the level-0 links of every node in one flat
** array of fixed-size rows (count followed by up to 2*m ids), the layout that
** makes a level-0 expansion a single cache-friendly read.  The rare upper
** levels get one small allocation per node.  Nodes are read from the host
** (xReadNode) the first time a walk touches them and are validated before
** any of their ids is trusted, so a damaged record is VEC0_HNSW_CORRUPT and
** never an out-of-bounds access.
**
** Ids are the host's dense slots: a link must point below the node count of
** the header (or the highest id inserted since), which is what lets a link
** into nowhere be recognised without reading it.
**
** This file may call the C library and the host's callbacks, nothing else.
** Invalid parameters to vec0HnswOpen() are reported as VEC0_HNSW_CORRUPT
** (the host validates its configuration before opening a graph).
*/
#if defined(__linux__) && !defined(_DEFAULT_SOURCE)
#define _DEFAULT_SOURCE 1 /* madvise() and MADV_HUGEPAGE */
#endif
#include "vec0_hnsw.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NODE_LOADED 0x01
#define NODE_DELETED 0x02
#define NODE_DIRTY 0x04
#define NODE_SAVED 0x08 /* its before-image is in the current undo scope */

#define HNSW_FORMAT 1
#ifndef NPF
#define NPF 3
#endif

#if defined(__linux__)
#include <sys/mman.h>
#endif

#if defined(__GNUC__) || defined(__clang__)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)0)
#endif

typedef struct Pair {
  float d;
  uint32_t id;
} Pair;

/* What a level search may return, and how long it may look for it. */
typedef struct Filter {
  int (*xAccept)(void *, uint32_t);
  void *pCtx;
  uint32_t exclude; /* never a result (the node being re-linked) */
  int kMin;         /* the budget stops the walk only once this many found */
  size_t budget;    /* distance computations before giving up */
} Filter;

struct Vec0Hnsw {
  Vec0HnswHost h;
  int m, m0, efc;
  uint64_t seed;
  double mL;
  uint32_t entry;
  int maxLevel; /* -1 when empty */
  uint32_t nCount;
  uint32_t nBound; /* ids below this may have a record */
  int bHdrDirty;

  uint32_t nCap; /* capacity of the per-node arrays */
  uint8_t *aFlag;
  uint8_t *aLevel;
  uint32_t **apUp;  /* levels 1..L: L rows of (m+1) u32 */
  uint32_t *aLink0; /* nCap rows of (m0+1) u32: count, ids */
  uint32_t *aVisit;
  uint32_t gen;

  uint32_t *aDirty;
  size_t nDirty, nDirtyAlloc;

  /* Scratch reused by every call, so a steady-state search never allocates. */
  Pair *aCand;
  size_t nCandAlloc;
  Pair *aTop;
  size_t nTopAlloc;
  Pair *aW;
  size_t nWAlloc;
  Pair *aP;
  size_t nPAlloc;
  struct Drop *aDrop;
  size_t nDropAlloc;
  const void **apSel;
  unsigned char *aRec;
  size_t nRecAlloc;
  uint32_t *aQueue;
  size_t nQueueAlloc;

  /*
  ** The undo scope (vec0HnswBegin): the header as it was, and in aUndo the
  ** before-image of every node changed since: u32 id, u32 info (the flags,
  ** | UNDO_PRESENT if the node existed), then for an existing node its link
  ** rows of levels 0..L exactly as they were.
  */
  int bUndo;
  struct {
    uint32_t entry, nCount, nBound;
    int maxLevel, bHdrDirty;
    size_t nDirty;
  } u0;
  uint32_t *aUndo;
  size_t nUndo, nUndoAlloc;

  char zErr[160];
};

#define UNDO_PRESENT 0x100

static int corrupt(Vec0Hnsw *p, const char *zFmt, ...) {
  va_list ap;
  va_start(ap, zFmt);
  vsnprintf(p->zErr, sizeof(p->zErr), zFmt, ap);
  va_end(ap);
  return VEC0_HNSW_CORRUPT;
}

static uint32_t get32(const unsigned char *a) {
  return (uint32_t)a[0] | (uint32_t)a[1] << 8 | (uint32_t)a[2] << 16 |
         (uint32_t)a[3] << 24;
}

static void put32(unsigned char *a, uint32_t v) {
  a[0] = (unsigned char)v;
  a[1] = (unsigned char)(v >> 8);
  a[2] = (unsigned char)(v >> 16);
  a[3] = (unsigned char)(v >> 24);
}

/* Grows *pp to hold at least nNeed elements; the old block survives failure. */
static int reserve(Vec0Hnsw *p, void *pp, size_t *pnAlloc, size_t nNeed,
                   size_t szElem) {
  void **ppv = (void **)pp;
  size_t nNew;
  void *pNew;
  if (nNeed <= *pnAlloc) return VEC0_HNSW_OK;
  nNew = *pnAlloc ? *pnAlloc : 16;
  while (nNew < nNeed) nNew *= 2;
  pNew = p->h.xRealloc(p->h.pCtx, *ppv, nNew * szElem);
  if (pNew == NULL) return VEC0_HNSW_NOMEM;
  *ppv = pNew;
  *pnAlloc = nNew;
  return VEC0_HNSW_OK;
}

void vec0HnswAdviseHuge(void *p, size_t n) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  /* Only the whole 2 MiB pages inside [p, p+n) can become huge pages. */
  const uintptr_t huge = (uintptr_t)2 << 20;
  uintptr_t a = ((uintptr_t)p + huge - 1) & ~(huge - 1);
  uintptr_t b = ((uintptr_t)p + n) & ~(huge - 1);
  if (b > a) (void)madvise((void *)a, (size_t)(b - a), MADV_HUGEPAGE);
#else
  (void)p;
  (void)n;
#endif
}

static uint32_t *links(const Vec0Hnsw *p, uint32_t id, int lc) {
  if (lc == 0) return p->aLink0 + (size_t)id * (size_t)(p->m0 + 1);
  return p->apUp[id] + (size_t)(lc - 1) * (size_t)(p->m + 1);
}

static int growArray(Vec0Hnsw *p, void *pp, size_t n) {
  void **ppv = (void **)pp;
  void *pNew = p->h.xRealloc(p->h.pCtx, *ppv, n);
  if (pNew == NULL) return VEC0_HNSW_NOMEM;
  *ppv = pNew;
  return VEC0_HNSW_OK;
}

/*
** Makes every per-node array hold ids below nNeed.  Arrays grown before a
** failure simply stay larger than nCap, which is harmless.
*/
static int growNodes(Vec0Hnsw *p, uint32_t nNeed) {
  size_t nNew, nOld = p->nCap, i;
  int rc;
  if (nNeed <= p->nCap) return VEC0_HNSW_OK;
  nNew = nOld ? nOld : 64;
  while (nNew < nNeed) nNew *= 2;
  if ((rc = growArray(p, &p->aFlag, nNew)) != 0) return rc;
  if ((rc = growArray(p, &p->aLevel, nNew)) != 0) return rc;
  if ((rc = growArray(p, &p->apUp, nNew * sizeof(uint32_t *))) != 0) return rc;
  if ((rc = growArray(p, &p->aVisit, nNew * sizeof(uint32_t))) != 0) return rc;
  rc = growArray(p, &p->aLink0, nNew * (size_t)(p->m0 + 1) * sizeof(uint32_t));
  if (rc) return rc;
  vec0HnswAdviseHuge(p->aLink0, nNew * (size_t)(p->m0 + 1) * sizeof(uint32_t));
  memset(p->aFlag + nOld, 0, nNew - nOld);
  memset(p->aVisit + nOld, 0, (nNew - nOld) * sizeof(uint32_t));
  for (i = nOld; i < nNew; i++) p->apUp[i] = NULL;
  p->nCap = (uint32_t)nNew;
  return VEC0_HNSW_OK;
}

/* A fresh visited generation; stamps are only reset when the counter wraps. */
static uint32_t nextGen(Vec0Hnsw *p) {
  if (++p->gen == 0) {
    memset(p->aVisit, 0, (size_t)p->nCap * sizeof(uint32_t));
    p->gen = 1;
  }
  return p->gen;
}

/* u32 words of the link rows of a node of level L. */
static size_t rowWords(const Vec0Hnsw *p, int L) {
  return (size_t)(p->m0 + 1) + (size_t)L * (size_t)(p->m + 1);
}

/* Records the before-image of node id (id < nCap) in the undo scope. */
static int saveNode(Vec0Hnsw *p, uint32_t id) {
  int bPresent = (p->aFlag[id] & NODE_LOADED) != 0;
  size_t n = 2 + (bPresent ? rowWords(p, p->aLevel[id]) : 0);
  uint32_t *a;
  int rc = reserve(p, &p->aUndo, &p->nUndoAlloc, p->nUndo + n, sizeof(uint32_t));
  if (rc) return rc;
  a = p->aUndo + p->nUndo;
  a[0] = id;
  a[1] = bPresent ? (UNDO_PRESENT | p->aFlag[id]) : 0;
  if (bPresent) {
    int L = p->aLevel[id];
    memcpy(a + 2, links(p, id, 0), (size_t)(p->m0 + 1) * sizeof(uint32_t));
    if (L > 0) {
      memcpy(a + 2 + p->m0 + 1, p->apUp[id],
             (size_t)L * (size_t)(p->m + 1) * sizeof(uint32_t));
    }
  }
  p->nUndo += n;
  p->aFlag[id] |= NODE_SAVED;
  return VEC0_HNSW_OK;
}

/* Every change of node id goes through here first. */
static int markDirty(Vec0Hnsw *p, uint32_t id) {
  int rc;
  if (p->bUndo && !(p->aFlag[id] & NODE_SAVED)) {
    if ((rc = saveNode(p, id)) != 0) return rc;
  }
  if (p->aFlag[id] & NODE_DIRTY) return VEC0_HNSW_OK;
  rc = reserve(p, &p->aDirty, &p->nDirtyAlloc, p->nDirty + 1, sizeof(uint32_t));
  if (rc) return rc;
  p->aDirty[p->nDirty++] = id;
  p->aFlag[id] |= NODE_DIRTY;
  return VEC0_HNSW_OK;
}

/* Validates record a[0..n-1] of node id completely before using it. */
static int parseNode(Vec0Hnsw *p, uint32_t id, const unsigned char *a, int n) {
  int L, l, off = 4;
  uint32_t *up = NULL;
  if (a == NULL || n < 4) {
    return corrupt(p, "node %u: record of %d bytes is too short", id, n);
  }
  L = a[0];
  if (L > VEC0_HNSW_MAX_LEVEL || L > p->maxLevel) {
    return corrupt(p, "node %u: level %d but the graph's max level is %d", id,
                   L, p->maxLevel);
  }
  if ((a[1] & ~1) != 0 || a[2] != 0 || a[3] != 0) {
    return corrupt(p, "node %u: bad flags in record", id);
  }
  if (L > 0) {
    up = p->h.xMalloc(p->h.pCtx, (size_t)L * (size_t)(p->m + 1) * 4);
    if (up == NULL) return VEC0_HNSW_NOMEM;
  }
  for (l = 0; l <= L; l++) {
    uint32_t cnt, i, cap = (uint32_t)(l ? p->m : p->m0);
    uint32_t *dst = l ? up + (size_t)(l - 1) * (size_t)(p->m + 1)
                      : p->aLink0 + (size_t)id * (size_t)(p->m0 + 1);
    if (n - off < 4) goto truncated;
    cnt = get32(a + off);
    off += 4;
    if (cnt > cap) {
      corrupt(p, "node %u: %u links at level %d (at most %u)", id, cnt, l, cap);
      goto fail;
    }
    if ((uint32_t)(n - off) / 4 < cnt) goto truncated;
    for (i = 0; i < cnt; i++) {
      uint32_t j, t = get32(a + off + 4 * i);
      if (t == id) {
        corrupt(p, "node %u: links to itself at level %d", id, l);
        goto fail;
      }
      if (t >= p->nBound) {
        corrupt(p, "node %u: link to %u at level %d is out of range (%u nodes)",
                id, t, l, p->nBound);
        goto fail;
      }
      for (j = 0; j < i; j++) {
        if (dst[1 + j] == t) {
          corrupt(p, "node %u: duplicate link to %u at level %d", id, t, l);
          goto fail;
        }
      }
      dst[1 + i] = t;
    }
    dst[0] = cnt;
    off += 4 * (int)cnt;
  }
  if (off != n) {
    corrupt(p, "node %u: %d bytes after the last level", id, n - off);
    goto fail;
  }
  p->aLevel[id] = (uint8_t)L;
  p->apUp[id] = up;
  p->aFlag[id] = NODE_LOADED | ((a[1] & 1) ? NODE_DELETED : 0);
  return VEC0_HNSW_OK;

truncated:
  corrupt(p, "node %u: record of %d bytes is truncated", id, n);
fail:
  p->h.xFree(p->h.pCtx, up);
  return VEC0_HNSW_CORRUPT;
}

/* Brings node id into memory.  VEC0_HNSW_NOTFOUND if it has no record. */
static int loadNode(Vec0Hnsw *p, uint32_t id) {
  unsigned char *a = NULL;
  int n = 0, rc;
  if (id < p->nCap && (p->aFlag[id] & NODE_LOADED)) return VEC0_HNSW_OK;
  if (id >= p->nBound) return VEC0_HNSW_NOTFOUND;
  if ((rc = growNodes(p, id + 1)) != 0) return rc;
  rc = p->h.xReadNode(p->h.pCtx, id, &a, &n);
  if (rc == VEC0_HNSW_OK) rc = parseNode(p, id, a, n);
  if (a) p->h.xFree(p->h.pCtx, a);
  return rc;
}

/* Loads node t, reached from node `from` by a link at level lc. */
static int touch(Vec0Hnsw *p, uint32_t from, int lc, uint32_t t) {
  int rc = loadNode(p, t);
  if (rc == VEC0_HNSW_NOTFOUND) {
    return corrupt(p, "node %u: link to %u at level %d but node %u has no record",
                   from, t, lc, t);
  }
  if (rc) return rc;
  if (p->aLevel[t] < lc) {
    return corrupt(p, "node %u: link to %u at level %d but node %u has level %d",
                   from, t, lc, t, p->aLevel[t]);
  }
  return VEC0_HNSW_OK;
}

static int loadEntry(Vec0Hnsw *p) {
  int rc = loadNode(p, p->entry);
  if (rc == VEC0_HNSW_NOTFOUND) {
    return corrupt(p, "entry point %u has no record", p->entry);
  }
  if (rc) return rc;
  if (p->aLevel[p->entry] != p->maxLevel) {
    return corrupt(p, "entry point %u has level %d, not the max level %d",
                   p->entry, p->aLevel[p->entry], p->maxLevel);
  }
  return VEC0_HNSW_OK;
}

static const void *vec(Vec0Hnsw *p, uint32_t id, int *pRc) {
  const void *v = p->h.xVector(p->h.pCtx, id, pRc);
  if (v == NULL && *pRc == VEC0_HNSW_OK) *pRc = VEC0_HNSW_NOMEM;
  return v;
}

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
    if (c + 1 < n && h[c + 1].d < h[c].d) c++;
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
    if (c + 1 < n && h[c + 1].d > h[c].d) c++;
    if (h[c].d <= x.d) break;
    h[i] = h[c];
    i = c;
  }
  h[i] = x;
}

/* Empties the max-heap aTop into aW, nearest first. */
static int drainTop(Vec0Hnsw *p, size_t nTop, size_t *pnW) {
  int rc = reserve(p, &p->aW, &p->nWAlloc, nTop + 1, sizeof(Pair));
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

/* Follows level lc from *pCur to the nearest node it can reach greedily. */
static int greedy(Vec0Hnsw *p, const void *q, Pair *pCur, int lc) {
  int rc = VEC0_HNSW_OK, bMoved = 1;
  while (bMoved) {
    uint32_t *L, i;
    bMoved = 0;
    L = links(p, pCur->id, lc);
    for (i = 0; i < L[0]; i++) {
      uint32_t t = L[1 + i];
      const void *v;
      float d;
      if ((rc = touch(p, pCur->id, lc, t)) != 0) return rc;
      L = links(p, pCur->id, lc); /* touch may have moved the arrays */
      if ((v = vec(p, t, &rc)) == NULL) return rc;
      d = distBound(p, q, v, pCur->d);
      if (d < pCur->d) {
        pCur->d = d;
        pCur->id = t;
        bMoved = 1;
      }
    }
  }
  return rc;
}

static int accepted(const Vec0Hnsw *p, const Filter *f, uint32_t id) {
  if (p->aFlag[id] & NODE_DELETED) return 0;
  if (id == f->exclude) return 0;
  return f->xAccept == NULL || f->xAccept(f->pCtx, id);
}

/*
** Beam search of level lc from ep, ef wide.  The best accepted nodes are
** left in the max-heap aTop (*pnTop of them).  While fewer than ef nodes are
** accepted there is no bound, so the walk keeps widening through rejected
** and deleted nodes, nearest first, until f->budget runs out.
*/
static int searchLayer(Vec0Hnsw *p, const void *q, Pair ep, int ef, int lc,
                       const Filter *f, size_t *pnTop) {
  const size_t nEf = (size_t)ef;
  float (*xDist)(void *, const void *, const void *) = p->h.xDistance;
  void *pCtx = p->h.pCtx;
  size_t nCand = 0, nTop = 0, nDist = 0;
  uint32_t gen, nb[2 * 128];
  const void *apV[2 * 128];
  int rc;

  rc = reserve(p, &p->aTop, &p->nTopAlloc, nEf + 1, sizeof(Pair));
  if (rc == 0) rc = reserve(p, &p->aCand, &p->nCandAlloc, 256, sizeof(Pair));
  if (rc) return rc;
  gen = nextGen(p);
  p->aVisit[ep.id] = gen;
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

    /* Mark and load the unvisited neighbours first, so that the distance
    ** loop below can fetch vector j+1 while it computes distance j. */
    L = links(p, c.id, lc);
    cnt = L[0];
    for (i = 0; i < cnt; i++) {
      uint32_t t = L[1 + i];
      if (p->aVisit[t] == gen) continue;
      if (lc > 0 || !(p->aFlag[t] & NODE_LOADED)) {
        if ((rc = touch(p, c.id, lc, t)) != 0) return rc;
        L = links(p, c.id, lc);
      }
      p->aVisit[t] = gen;
      nb[nn++] = t;
    }
    if (nn == 0) continue;
    if ((rc = reserve(p, &p->aCand, &p->nCandAlloc, nCand + nn, sizeof(Pair)))) {
      return rc;
    }
    /* Start every vector's first lines on its way before the first distance:
    ** the reads overlap instead of waiting one after the other. */
    for (i = 0; i < nn; i++) {
      if ((apV[i] = vec(p, nb[i], &rc)) == NULL) return rc;
      PREFETCH(apV[i]);
    }
    nDist += nn;
    for (i = 0; i < nn; i++) {
      float d;
      v = apV[i];
      if (i + 1 < nn) {
        int j;
        for (j = 1; j < NPF; j++) PREFETCH((const char *)apV[i + 1] + 64 * j);
      }
      d = nTop < nEf ? xDist(pCtx, q, v) : distBound(p, q, v, p->aTop[0].d);
      if (nTop < nEf || d < p->aTop[0].d) {
        Pair x;
        x.d = d;
        x.id = nb[i];
        minPush(p->aCand, &nCand, x);
        PREFETCH(links(p, p->aCand[0].id, lc));
        if (accepted(p, f, x.id)) {
          if (nTop < nEf) {
            maxPush(p->aTop, &nTop, x);
          } else {
            maxSift(p->aTop, nTop, x);
          }
        }
      }
    }
  }
  *pnTop = nTop;
  return VEC0_HNSW_OK;
}

static int cmpPair(const void *a, const void *b) {
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
typedef struct Drop {
  uint32_t id;  /* dropped */
  uint32_t via; /* kept, and nearer to the dropped one than the base is */
} Drop;

static int heuristic(Vec0Hnsw *p, Pair *a, size_t n, int M, size_t *pnSel,
                     Drop *aDrop, size_t *pnDrop) {
  size_t i, j, nSel = 0, nDrop = 0;
  int rc = VEC0_HNSW_OK;
  if (n < (size_t)M) {
    *pnSel = n;
    if (pnDrop) *pnDrop = 0;
    return VEC0_HNSW_OK;
  }
  for (i = 0; i < n; i++) {
    const void *vc = vec(p, a[i].id, &rc);
    size_t iVia = 0;
    int bKeep = 1;
    if (vc == NULL) return rc;
    if (nSel < (size_t)M) {
      for (j = 0; j < nSel; j++) {
        if (distBound(p, vc, p->apSel[j], a[i].d) < a[i].d) {
          bKeep = 0;
          iVia = j;
          break;
        }
      }
    } else {
      float dBest;
      if (aDrop == NULL) break;
      /* The list is full: the nearest kept node stands in for the base. */
      bKeep = 0;
      dBest = p->h.xDistance(p->h.pCtx, vc, p->apSel[0]);
      for (j = 1; j < nSel; j++) {
        float d = p->h.xDistance(p->h.pCtx, vc, p->apSel[j]);
        if (d < dBest) {
          dBest = d;
          iVia = j;
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

static int hasLink(const uint32_t *L, uint32_t id) {
  uint32_t i;
  for (i = 0; i < L[0]; i++) {
    if (L[1 + i] == id) return 1;
  }
  return 0;
}

/*
** Rebuilds the list of node n at level lc from the candidates in aP[0..nP-1]
** (ids only; distances to n are computed here), of which the first nOld are
** its current links.
**
** Plain HNSW loses nodes here: a node pruned from its last in-list becomes
** unreachable (about 0.1% of fashion-mnist at m=16, 5% at m=4).  So a
** current link that is dropped is handed to the kept node that made it
** redundant, if that one has room: the path n -> via -> dropped then keeps
** everything reachable that was.
*/
static int relink(Vec0Hnsw *p, uint32_t n, int lc, size_t nP, size_t nOld) {
  int rc = VEC0_HNSW_OK, cap = lc ? p->m : p->m0;
  const void *vn = vec(p, n, &rc);
  uint32_t *L, gen;
  size_t i, nSel, nDrop;
  if (vn == NULL) return rc;
  rc = reserve(p, &p->aDrop, &p->nDropAlloc, nP, sizeof(Drop));
  if (rc) return rc;
  gen = nextGen(p);
  for (i = 0; i < nP; i++) {
    const void *v = vec(p, p->aP[i].id, &rc);
    if (v == NULL) return rc;
    p->aP[i].d = p->h.xDistance(p->h.pCtx, vn, v);
    if (i < nOld) p->aVisit[p->aP[i].id] = gen;
  }
  qsort(p->aP, nP, sizeof(Pair), cmpPair);
  rc = heuristic(p, p->aP, nP, cap, &nSel, p->aDrop, &nDrop);
  if (rc) return rc;
  if ((rc = markDirty(p, n)) != 0) return rc;
  L = links(p, n, lc);
  L[0] = (uint32_t)nSel;
  for (i = 0; i < nSel; i++) L[1 + i] = p->aP[i].id;
  for (i = 0; i < nDrop; i++) {
    const Drop *x = &p->aDrop[i];
    uint32_t *Lv;
    if (p->aVisit[x->id] != gen) continue;
    if ((rc = touch(p, n, lc, x->via)) != 0) return rc;
    Lv = links(p, x->via, lc);
    if (Lv[0] >= (uint32_t)cap || hasLink(Lv, x->id)) continue;
    if ((rc = markDirty(p, x->via)) != 0) return rc;
    Lv[1 + Lv[0]++] = x->id;
  }
  return VEC0_HNSW_OK;
}

/* Adds the link n -> id at level lc, re-pruning n's list if it is full. */
static int addLink(Vec0Hnsw *p, uint32_t n, int lc, uint32_t id) {
  int rc, cap = lc ? p->m : p->m0;
  uint32_t *L = links(p, n, lc), i;
  if (hasLink(L, id)) return VEC0_HNSW_OK;
  if (L[0] < (uint32_t)cap) {
    if ((rc = markDirty(p, n)) != 0) return rc;
    L[1 + L[0]++] = id;
    return VEC0_HNSW_OK;
  }
  rc = reserve(p, &p->aP, &p->nPAlloc, (size_t)cap + 1, sizeof(Pair));
  if (rc) return rc;
  for (i = 0; i < L[0]; i++) p->aP[i].id = L[1 + i];
  p->aP[L[0]].id = id;
  return relink(p, n, lc, (size_t)cap + 1, (size_t)cap);
}

/*
** Links node id (level L) into the graph: a fresh search at each of its
** levels, the heuristic picks its neighbours, and each of them links back.
*/
static int connect(Vec0Hnsw *p, uint32_t id, int L) {
  int rc = VEC0_HNSW_OK, lc;
  const void *q = vec(p, id, &rc), *v;
  Pair ep;
  Filter f;
  if (q == NULL) return rc;
  if ((rc = loadEntry(p)) != 0) return rc;
  if ((v = vec(p, p->entry, &rc)) == NULL) return rc;
  ep.id = p->entry;
  ep.d = p->h.xDistance(p->h.pCtx, q, v);
  for (lc = p->maxLevel; lc > L; lc--) {
    if ((rc = greedy(p, q, &ep, lc)) != 0) return rc;
  }
  memset(&f, 0, sizeof(f));
  f.exclude = id;
  f.kMin = 1;
  f.budget = (size_t)p->efc * (size_t)p->m0 * 32;
  for (lc = (L < p->maxLevel ? L : p->maxLevel); lc >= 0; lc--) {
    size_t nTop, nW, nSel, i;
    uint32_t *aL;
    if ((rc = searchLayer(p, q, ep, p->efc, lc, &f, &nTop)) != 0) return rc;
    if ((rc = drainTop(p, nTop, &nW)) != 0) return rc;
    if (nW > 0) ep = p->aW[0];
    rc = heuristic(p, p->aW, nW, p->m, &nSel, NULL, NULL);
    if (rc) return rc;
    if ((rc = markDirty(p, id)) != 0) return rc;
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
    if (p->aVisit[L[1 + i]] == gen) continue;
    p->aVisit[L[1 + i]] = gen;
    p->aP[nP++].id = L[1 + i];
  }
  return nP;
}

/*
** connect() for a node that already had links (reconnect): its fresh lists
** may leave out an old neighbour whose only way in was through this node
** (the neighbours that pruned it just now handed it here, to the node that
** made it redundant).  So each list that lost an old link is re-selected
** among the old links and the new ones, and relink() hands an old link it
** drops to the kept node nearest to it.
*/
static int connectKeeping(Vec0Hnsw *p, uint32_t id, int L) {
  size_t nWords = rowWords(p, L), nRow0 = (size_t)p->m0 + 1;
  uint32_t *aOld = p->h.xMalloc(p->h.pCtx, nWords * sizeof(uint32_t));
  int rc, lc;
  if (aOld == NULL) return VEC0_HNSW_NOMEM;
  memcpy(aOld, links(p, id, 0), nRow0 * sizeof(uint32_t));
  if (L > 0) {
    memcpy(aOld + nRow0, p->apUp[id], (nWords - nRow0) * sizeof(uint32_t));
  }
  rc = connect(p, id, L);
  for (lc = 0; rc == VEC0_HNSW_OK && lc <= L; lc++) {
    const uint32_t *O = lc ? aOld + nRow0 + (size_t)(lc - 1) * (size_t)(p->m + 1) : aOld;
    const uint32_t *N = links(p, id, lc);
    uint32_t gen, i;
    size_t nOld;
    int bLost = 0;
    for (i = 0; i < O[0]; i++) bLost |= !hasLink(N, O[1 + i]);
    if (!bLost) continue;
    rc = reserve(p, &p->aP, &p->nPAlloc, (size_t)O[0] + N[0], sizeof(Pair));
    if (rc) break;
    gen = nextGen(p);
    p->aVisit[id] = gen;
    nOld = gather(p, O, gen, 0);
    rc = relink(p, id, lc, gather(p, N, gen, nOld), nOld);
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
  if ((rc = markDirty(p, id)) != 0) return rc;
  p->aFlag[id] &= (uint8_t)~NODE_DELETED;
  for (lc = 0; lc <= L; lc++) {
    uint32_t i, nIdLinks = links(p, id, lc)[0];
    for (i = 0; i < nIdLinks; i++) {
      if ((rc = touch(p, id, lc, links(p, id, lc)[1 + i])) != 0) return rc;
    }
    for (i = 0; i < nIdLinks; i++) {
      uint32_t n = links(p, id, lc)[1 + i], gen, j, *Ln;
      size_t nP, nOld;
      Ln = links(p, n, lc);
      for (j = 0; j < Ln[0]; j++) {
        if ((rc = touch(p, n, lc, Ln[1 + j])) != 0) return rc;
        Ln = links(p, n, lc);
      }
      rc = reserve(p, &p->aP, &p->nPAlloc, 2 * (size_t)p->m0 + 2, sizeof(Pair));
      if (rc) return rc;
      gen = nextGen(p);
      p->aVisit[n] = gen;
      nOld = gather(p, links(p, n, lc), gen, 0);
      nP = gather(p, links(p, id, lc), gen, nOld);
      if (p->aVisit[id] != gen) p->aP[nP++].id = id;
      if ((rc = relink(p, n, lc, nP, nOld)) != 0) return rc;
    }
  }
  return connectKeeping(p, id, L);
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
  p->entry = VEC0_HNSW_NONE;
  p->maxLevel = -1;
  p->apSel = p->h.xMalloc(p->h.pCtx, 2 * 128 * sizeof(void *));
  if (p->apSel == NULL) {
    p->h.xFree(p->h.pCtx, p);
    return VEC0_HNSW_NOMEM;
  }
  *ppOut = p;
  return VEC0_HNSW_OK;
}

static void freeNodes(Vec0Hnsw *p) {
  uint32_t i;
  for (i = 0; i < p->nCap; i++) {
    if (p->apUp[i]) p->h.xFree(p->h.pCtx, p->apUp[i]);
  }
  p->h.xFree(p->h.pCtx, p->aFlag);
  p->h.xFree(p->h.pCtx, p->aLevel);
  p->h.xFree(p->h.pCtx, p->apUp);
  p->h.xFree(p->h.pCtx, p->aLink0);
  p->h.xFree(p->h.pCtx, p->aVisit);
  p->aFlag = p->aLevel = NULL;
  p->apUp = NULL;
  p->aLink0 = p->aVisit = NULL;
  p->nCap = 0;
  p->nDirty = 0;
}

void vec0HnswClose(Vec0Hnsw *p) {
  if (p == NULL) return;
  freeNodes(p);
  p->h.xFree(p->h.pCtx, p->aDirty);
  p->h.xFree(p->h.pCtx, p->aCand);
  p->h.xFree(p->h.pCtx, p->aTop);
  p->h.xFree(p->h.pCtx, p->aW);
  p->h.xFree(p->h.pCtx, p->aP);
  p->h.xFree(p->h.pCtx, p->aDrop);
  p->h.xFree(p->h.pCtx, p->apSel);
  p->h.xFree(p->h.pCtx, p->aRec);
  p->h.xFree(p->h.pCtx, p->aQueue);
  p->h.xFree(p->h.pCtx, p->aUndo);
  p->h.xFree(p->h.pCtx, p);
}

void vec0HnswBegin(Vec0Hnsw *p) {
  vec0HnswCommit(p);
  p->bUndo = 1;
  p->u0.entry = p->entry;
  p->u0.nCount = p->nCount;
  p->u0.nBound = p->nBound;
  p->u0.maxLevel = p->maxLevel;
  p->u0.bHdrDirty = p->bHdrDirty;
  p->u0.nDirty = p->nDirty;
}

/* Walks the undo records; bRestore puts every node back as it was. */
static void endScope(Vec0Hnsw *p, int bRestore) {
  size_t i = 0;
  while (i < p->nUndo) {
    uint32_t id = p->aUndo[i], info = p->aUndo[i + 1];
    const uint32_t *a = p->aUndo + i + 2;
    i += 2;
    if (info & UNDO_PRESENT) {
      int L = p->aLevel[id]; /* the level of an existing node never changes */
      if (bRestore) {
        memcpy(links(p, id, 0), a, (size_t)(p->m0 + 1) * sizeof(uint32_t));
        if (L > 0) {
          memcpy(p->apUp[id], a + p->m0 + 1,
                 (size_t)L * (size_t)(p->m + 1) * sizeof(uint32_t));
        }
        p->aFlag[id] = (uint8_t)(info & 0xff);
      }
      i += rowWords(p, L);
    } else if (bRestore) {
      /* Inserted in this scope: gone again. */
      p->h.xFree(p->h.pCtx, p->apUp[id]);
      p->apUp[id] = NULL;
      p->aFlag[id] = 0;
    }
    p->aFlag[id] &= (uint8_t)~NODE_SAVED;
  }
  if (bRestore) {
    p->entry = p->u0.entry;
    p->nCount = p->u0.nCount;
    p->nBound = p->u0.nBound;
    p->maxLevel = p->u0.maxLevel;
    p->bHdrDirty = p->u0.bHdrDirty;
    /* Nodes first made dirty in the scope were appended; their flags are
    ** clean again. */
    p->nDirty = p->u0.nDirty;
  }
  p->nUndo = 0;
  p->bUndo = 0;
}

void vec0HnswCommit(Vec0Hnsw *p) {
  if (p->bUndo) endScope(p, 0);
}

void vec0HnswRollback(Vec0Hnsw *p) {
  if (p->bUndo) endScope(p, 1);
}

/* Replaces the whole graph by the one the header describes; nodes are then
** read lazily. */
int vec0HnswHeaderDecode(Vec0Hnsw *p, const unsigned char *a, int n, uint32_t nMax) {
  uint32_t entry, maxLevel, m, efc, count;
  if (n != VEC0_HNSW_HEADER_SIZE || get32(a) != HNSW_FORMAT) {
    return corrupt(p, "bad graph header");
  }
  entry = get32(a + 4);
  maxLevel = get32(a + 8);
  m = get32(a + 12);
  efc = get32(a + 16);
  count = get32(a + 20);
  if (m < 2 || m > 128 || efc < 1 || efc > 4096 || count > 0x7fffffffu) {
    return corrupt(p, "bad graph header");
  }
  if (count > nMax) {
    /* Checked before the node arrays are sized for count. */
    return corrupt(p, "bad graph header: %u nodes, at most %u", count, nMax);
  }
  if (maxLevel == VEC0_HNSW_NONE
          ? (entry != VEC0_HNSW_NONE || count != 0)
          : (maxLevel > VEC0_HNSW_MAX_LEVEL || entry >= count)) {
    return corrupt(p, "bad graph header: entry point %u, max level %d, %u nodes",
                   entry, (int)maxLevel, count);
  }
  freeNodes(p);
  p->entry = entry;
  p->maxLevel = maxLevel == VEC0_HNSW_NONE ? -1 : (int)maxLevel;
  p->m = (int)m;
  p->m0 = 2 * (int)m;
  p->efc = (int)efc;
  p->mL = 1.0 / log((double)m);
  p->seed = (uint64_t)get32(a + 24) | (uint64_t)get32(a + 28) << 32;
  p->bHdrDirty = 0;
  /* Every id below nBound must index the node arrays without a check. */
  if (growNodes(p, count) != VEC0_HNSW_OK) {
    p->entry = VEC0_HNSW_NONE;
    p->maxLevel = -1;
    p->nCount = p->nBound = 0;
    return VEC0_HNSW_NOMEM;
  }
  p->nCount = count;
  p->nBound = count;
  return VEC0_HNSW_OK;
}

void vec0HnswHeaderEncode(Vec0Hnsw *p, unsigned char *a) {
  put32(a, HNSW_FORMAT);
  put32(a + 4, p->entry);
  put32(a + 8, p->maxLevel < 0 ? VEC0_HNSW_NONE : (uint32_t)p->maxLevel);
  put32(a + 12, (uint32_t)p->m);
  put32(a + 16, (uint32_t)p->efc);
  put32(a + 20, p->nCount);
  put32(a + 24, (uint32_t)p->seed);
  put32(a + 28, (uint32_t)(p->seed >> 32));
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

static int insertNew(Vec0Hnsw *p, uint32_t id, int L) {
  uint32_t *up = NULL;
  int rc, l;
  if ((rc = growNodes(p, id + 1)) != 0) return rc;
  if (L > 0) {
    up = p->h.xMalloc(p->h.pCtx, (size_t)L * (size_t)(p->m + 1) * 4);
    if (up == NULL) return VEC0_HNSW_NOMEM;
  }
  rc = reserve(p, &p->aDirty, &p->nDirtyAlloc, p->nDirty + 1, sizeof(uint32_t));
  if (rc == VEC0_HNSW_OK && p->bUndo) rc = saveNode(p, id);
  if (rc) {
    p->h.xFree(p->h.pCtx, up);
    return rc;
  }
  if (id >= p->nBound) p->nBound = id + 1;
  p->aFlag[id] = NODE_LOADED | (p->aFlag[id] & NODE_SAVED);
  p->aLevel[id] = (uint8_t)L;
  p->apUp[id] = up;
  for (l = 0; l <= L; l++) links(p, id, l)[0] = 0;
  markDirty(p, id); /* cannot fail: reserved and saved above */
  p->nCount++;
  p->bHdrDirty = 1;
  if (p->maxLevel < 0) {
    p->entry = id;
    p->maxLevel = L;
    return VEC0_HNSW_OK;
  }
  if ((rc = connect(p, id, L)) != 0) return rc;
  if (L > p->maxLevel) {
    p->entry = id;
    p->maxLevel = L;
  }
  return VEC0_HNSW_OK;
}

int vec0HnswInsert(Vec0Hnsw *p, uint32_t id, uint64_t key) {
  int rc;
  if (id >= 0x7fffffffu) return corrupt(p, "node %u: id out of range", id);
  rc = loadNode(p, id);
  if (rc == VEC0_HNSW_NOTFOUND) return insertNew(p, id, vec0HnswLevel(p, key));
  if (rc) return rc;
  if (!(p->aFlag[id] & NODE_DELETED)) {
    return corrupt(p, "node %u: inserted but already live", id);
  }
  return reconnect(p, id);
}

int vec0HnswDelete(Vec0Hnsw *p, uint32_t id) {
  int rc = loadNode(p, id);
  if (rc == VEC0_HNSW_NOTFOUND) return corrupt(p, "node %u: deleted but unknown", id);
  if (rc) return rc;
  if (p->aFlag[id] & NODE_DELETED) {
    return corrupt(p, "node %u: deleted twice", id);
  }
  if ((rc = markDirty(p, id)) != 0) return rc;
  p->aFlag[id] |= NODE_DELETED;
  return VEC0_HNSW_OK;
}

int vec0HnswUpdate(Vec0Hnsw *p, uint32_t id) {
  int rc = loadNode(p, id);
  if (rc == VEC0_HNSW_NOTFOUND) return corrupt(p, "node %u: updated but unknown", id);
  if (rc) return rc;
  if (p->aFlag[id] & NODE_DELETED) {
    return corrupt(p, "node %u: updated but deleted", id);
  }
  return reconnect(p, id);
}

int vec0HnswSearch(Vec0Hnsw *p, const void *pQuery, int k, int ef,
                   int (*xAccept)(void *, uint32_t), void *pAcceptCtx,
                   Vec0HnswResult *aOut, int *pnOut) {
  int rc = VEC0_HNSW_OK, lc;
  size_t nTop, nW, i;
  const void *v;
  Pair ep;
  Filter f;
  *pnOut = 0;
  if (k <= 0 || p->maxLevel < 0) return VEC0_HNSW_OK;
  if (ef < k) ef = k;
  if ((rc = loadEntry(p)) != 0) return rc;
  if ((v = vec(p, p->entry, &rc)) == NULL) return rc;
  ep.id = p->entry;
  ep.d = p->h.xDistance(p->h.pCtx, pQuery, v);
  for (lc = p->maxLevel; lc > 0; lc--) {
    if ((rc = greedy(p, pQuery, &ep, lc)) != 0) return rc;
  }
  f.xAccept = xAccept;
  f.pCtx = pAcceptCtx;
  f.exclude = VEC0_HNSW_NONE;
  /* Without a filter only tombstones are skipped, and the walk must go on
  ** until k live nodes are found; a filter may give up (the host then scans). */
  f.kMin = xAccept ? 0 : k;
  f.budget = (size_t)ef * (size_t)p->m0 * 16 + 4096;
  if ((rc = searchLayer(p, pQuery, ep, ef, 0, &f, &nTop)) != 0) return rc;
  if ((rc = drainTop(p, nTop, &nW)) != 0) return rc;
  if (nW > (size_t)k) nW = (size_t)k;
  for (i = 0; i < nW; i++) {
    aOut[i].id = p->aW[i].id;
    aOut[i].distance = p->aW[i].d;
  }
  *pnOut = (int)nW;
  return VEC0_HNSW_OK;
}

int vec0HnswIsDirty(const Vec0Hnsw *p) { return p->bHdrDirty || p->nDirty > 0; }

static int cmpU32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

/* Serialises node id into p->aRec; returns the size or -rc. */
static int encodeNode(Vec0Hnsw *p, uint32_t id) {
  int L = p->aLevel[id], l, rc;
  size_t n = 4, off = 4;
  uint32_t i;
  for (l = 0; l <= L; l++) n += 4 + 4 * (size_t)links(p, id, l)[0];
  if ((rc = reserve(p, &p->aRec, &p->nRecAlloc, n, 1)) != 0) return -rc;
  p->aRec[0] = (unsigned char)L;
  p->aRec[1] = (p->aFlag[id] & NODE_DELETED) ? 1 : 0;
  p->aRec[2] = p->aRec[3] = 0;
  for (l = 0; l <= L; l++) {
    const uint32_t *aL = links(p, id, l);
    for (i = 0; i <= aL[0]; i++, off += 4) put32(p->aRec + off, aL[i]);
  }
  return (int)n;
}

int vec0HnswFlush(Vec0Hnsw *p,
                  int (*xWrite)(void *pCtx, uint32_t id,
                                const unsigned char *aRec, int nRec),
                  void *pCtx) {
  size_t i;
  int rc;
  vec0HnswCommit(p); /* a flushed change cannot be undone in memory */
  qsort(p->aDirty, p->nDirty, sizeof(uint32_t), cmpU32);
  for (i = 0; i < p->nDirty; i++) {
    int n = encodeNode(p, p->aDirty[i]);
    if (n < 0) return -n;
    if ((rc = xWrite(pCtx, p->aDirty[i], p->aRec, n)) != 0) return rc;
  }
  for (i = 0; i < p->nDirty; i++) p->aFlag[p->aDirty[i]] &= (uint8_t)~NODE_DIRTY;
  p->nDirty = 0;
  p->bHdrDirty = 0;
  return VEC0_HNSW_OK;
}

uint32_t vec0HnswCount(const Vec0Hnsw *p) { return p->nCount; }

const char *vec0HnswErrmsg(const Vec0Hnsw *p) { return p->zErr; }

int vec0HnswIsLive(Vec0Hnsw *p, uint32_t id) {
  int rc = loadNode(p, id);
  if (rc == VEC0_HNSW_NOTFOUND) return 0;
  if (rc) return -rc;
  return (p->aFlag[id] & NODE_DELETED) ? 0 : 1;
}

/* The structural checks of vec0HnswCheck(), once every node is loaded. */
static int checkLinks(Vec0Hnsw *p, uint32_t nId) {
  uint32_t id, i;
  int l;
  for (id = 0; id < nId; id++) {
    if (!(p->aFlag[id] & NODE_LOADED)) continue;
    for (l = 0; l <= p->aLevel[id]; l++) {
      const uint32_t *L = links(p, id, l);
      for (i = 0; i < L[0]; i++) {
        uint32_t t = L[1 + i];
        if (t >= nId || !(p->aFlag[t] & NODE_LOADED)) {
          return corrupt(p, "node %u: link to %u at level %d but node %u has no record",
                         id, t, l, t);
        }
        if (p->aLevel[t] < l) {
          return corrupt(p, "node %u: link to %u at level %d but node %u has level %d",
                         id, t, l, t, p->aLevel[t]);
        }
      }
    }
  }
  return VEC0_HNSW_OK;
}

/* Breadth-first walk from the entry point over every level's links. */
static int checkReach(Vec0Hnsw *p, uint32_t nId) {
  size_t nHead = 0, nTail = 0;
  uint32_t gen, id, i;
  int rc, l;
  if (p->maxLevel < 0) return VEC0_HNSW_OK;
  rc = reserve(p, &p->aQueue, &p->nQueueAlloc, (size_t)nId + 1, sizeof(uint32_t));
  if (rc) return rc;
  gen = nextGen(p);
  p->aVisit[p->entry] = gen;
  p->aQueue[nTail++] = p->entry;
  while (nHead < nTail) {
    id = p->aQueue[nHead++];
    for (l = 0; l <= p->aLevel[id]; l++) {
      const uint32_t *L = links(p, id, l);
      for (i = 0; i < L[0]; i++) {
        if (p->aVisit[L[1 + i]] == gen) continue;
        p->aVisit[L[1 + i]] = gen;
        p->aQueue[nTail++] = L[1 + i];
      }
    }
  }
  for (id = 0; id < nId; id++) {
    if ((p->aFlag[id] & (NODE_LOADED | NODE_DELETED)) == NODE_LOADED &&
        p->aVisit[id] != gen) {
      return corrupt(p, "node %u: live but not reachable from the entry point %u",
                     id, p->entry);
    }
  }
  return VEC0_HNSW_OK;
}

static int runCheck(Vec0Hnsw *p, uint32_t nId) {
  uint32_t id, nFound = 0;
  int rc;
  if (nId > p->nBound) {
    if ((rc = growNodes(p, nId)) != 0) return rc;
    p->nBound = nId;
  }
  for (id = 0; id < nId; id++) {
    rc = loadNode(p, id);
    if (rc == VEC0_HNSW_NOTFOUND) continue;
    if (rc) return rc;
    nFound++;
  }
  if (p->maxLevel >= 0) {
    if (p->entry >= nId) return corrupt(p, "entry point %u is out of range", p->entry);
    if ((rc = loadEntry(p)) != 0) return rc;
  }
  if ((rc = checkLinks(p, nId)) != 0) return rc;
  if (nId >= p->nCount && nFound != p->nCount) {
    return corrupt(p, "the header counts %u nodes but %u have a record",
                   p->nCount, nFound);
  }
  return checkReach(p, nId);
}

int vec0HnswCheck(Vec0Hnsw *p, uint32_t nId, char **pzErr) {
  int rc;
  *pzErr = NULL;
  p->zErr[0] = 0;
  rc = runCheck(p, nId);
  if (rc == VEC0_HNSW_CORRUPT) {
    size_t n = strlen(p->zErr) + 1;
    *pzErr = p->h.xMalloc(p->h.pCtx, n);
    if (*pzErr == NULL) return VEC0_HNSW_NOMEM;
    memcpy(*pzErr, p->zErr, n);
  }
  return rc;
}
