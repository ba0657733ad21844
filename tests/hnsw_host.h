/*
** hnsw_host.h: the host the HNSW unit tests play (check_hnsw.c,
** check_hnsw_batch.c): vectors live in an array, node records in a map
** indexed by id (so a graph can be "reopened" from what it flushed), and
** every allocation goes through a shim that counts live blocks and can fail
** the Nth one.  Included by each test file: everything is static, and not
** every file uses every helper.
*/
#ifndef HNSW_HOST_H
#define HNSW_HOST_H

#include "vec0_hnsw.h"

#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__) || defined(__clang__)
#pragma GCC diagnostic ignored "-Wunused-function"
#endif

typedef struct Rec {
  unsigned char *a;
  int n;
} Rec;

typedef struct Host {
  int dim;
  uint32_t nVec;
  float *aVec;   /* nVec x dim */
  uint32_t nRec; /* records of ids [0, nRec) may exist */
  Rec *aRec;
  long nAlloc;   /* allocations so far */
  long failAt;   /* fail allocation number failAt (1-based); 0: never */
  long nLive;    /* blocks not yet freed */
  long nReads;   /* xReadNode calls */
  uint32_t aGrpEntry[64]; /* stored entry points of groups 1..63 */
  int aGrpLevel[64];      /* -1: none */
  /* Every callback but the distances is called on the thread that made
  ** the host (vec0HnswInsertBatch's contract); the shims check it. */
  int bOneThread;
  pthread_t tMain;
  /* hostInterrupt: calls so far, and the one that says stop (0: none) */
  long nIntr, intrAt;
  long nDist; /* countDist calls, counted atomically (workers call it) */
  long nDistAtStop; /* nDist when hostInterrupt said stop */
} Host;

static void onMainThread(const Host *h) {
  if (h->bOneThread && !pthread_equal(pthread_self(), h->tMain)) {
    fprintf(stderr, "a host callback other than a distance ran on a worker thread\n");
    abort();
  }
}

static void *shimMalloc(void *pCtx, size_t n) {
  Host *h = pCtx;
  void *p;
  onMainThread(h);
  if (++h->nAlloc == h->failAt) return NULL;
  p = malloc(n ? n : 1);
  if (p) h->nLive++;
  return p;
}

static void *shimRealloc(void *pCtx, void *pOld, size_t n) {
  Host *h = pCtx;
  void *p;
  onMainThread(h);
  if (++h->nAlloc == h->failAt) return NULL;
  p = realloc(pOld, n ? n : 1);
  if (p && pOld == NULL) h->nLive++;
  return p;
}

static void shimFree(void *pCtx, void *p) {
  Host *h = pCtx;
  onMainThread(h);
  if (p) {
    h->nLive--;
    free(p);
  }
}

static const void *hostVector(void *pCtx, uint32_t id, int *pRc) {
  Host *h = pCtx;
  onMainThread(h);
  if (id >= h->nVec) {
    *pRc = VEC0_HNSW_CORRUPT;
    return NULL;
  }
  return h->aVec + (size_t)id * (size_t)h->dim;
}

static int hostRead(void *pCtx, uint32_t id, unsigned char **paRec, int *pnRec) {
  Host *h = pCtx;
  unsigned char *a;
  onMainThread(h);
  h->nReads++;
  if (id >= h->nRec || h->aRec[id].a == NULL) return VEC0_HNSW_NOTFOUND;
  a = shimMalloc(h, (size_t)h->aRec[id].n);
  if (a == NULL) return VEC0_HNSW_NOMEM;
  memcpy(a, h->aRec[id].a, (size_t)h->aRec[id].n);
  *paRec = a;
  *pnRec = h->aRec[id].n;
  return VEC0_HNSW_OK;
}

static int hostReadGroup(void *pCtx, uint32_t g, uint32_t *pEntry, int *pLevel) {
  Host *h = pCtx;
  onMainThread(h);
  if (g >= 64 || h->aGrpLevel[g] < 0) return VEC0_HNSW_NOTFOUND;
  *pEntry = h->aGrpEntry[g];
  *pLevel = h->aGrpLevel[g];
  return VEC0_HNSW_OK;
}

static int hostWriteGroup(void *pCtx, uint32_t g, uint32_t entry, int level) {
  Host *h = pCtx;
  ck_assert(g >= 1 && g < 64);
  h->aGrpEntry[g] = entry;
  h->aGrpLevel[g] = level;
  return 0;
}

static float hostDist(void *pCtx, const void *a, const void *b) {
  const Host *h = pCtx;
  const float *x = a, *y = b;
  float s = 0;
  int i;
  for (i = 0; i < h->dim; i++) s += (x[i] - y[i]) * (x[i] - y[i]);
  return s;
}

/* xSame: copies are the same floats. */
static int hostSame(void *pCtx, const void *a, const void *b) {
  const Host *h = pCtx;
  return memcmp(a, b, sizeof(float) * (size_t)h->dim) == 0;
}

/* hostDist, counted: the work done, on any thread. */
static float countDist(void *pCtx, const void *a, const void *b) {
  Host *h = pCtx;
  __atomic_fetch_add(&h->nDist, 1, __ATOMIC_RELAXED);
  return hostDist(pCtx, a, b);
}

/* xInterrupt: SQLite's SQLITE_INTERRUPT (9) from call intrAt on. */
static int hostInterrupt(void *pCtx) {
  Host *h = pCtx;
  onMainThread(h);
  if (++h->nIntr == h->intrAt) h->nDistAtStop = __atomic_load_n(&h->nDist, __ATOMIC_RELAXED);
  return h->intrAt && h->nIntr >= h->intrAt ? 9 : 0;
}

/* The records map stores plain malloc() copies: they are the "database". */
static void storeRec(Host *h, uint32_t id, const unsigned char *a, int n) {
  if (id >= h->nRec) {
    uint32_t nNew = id + 1024;
    h->aRec = realloc(h->aRec, nNew * sizeof(Rec));
    memset(h->aRec + h->nRec, 0, (nNew - h->nRec) * sizeof(Rec));
    h->nRec = nNew;
  }
  free(h->aRec[id].a);
  h->aRec[id].a = malloc((size_t)n);
  memcpy(h->aRec[id].a, a, (size_t)n);
  h->aRec[id].n = n;
}

static int hostWrite(void *pCtx, uint32_t id, const unsigned char *a, int n) {
  storeRec(pCtx, id, a, n);
  return 0;
}

static uint64_t rngState;
static uint64_t rng(void) {
  uint64_t z = (rngState += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
static float frand(void) { return (float)((rng() >> 40) * (1.0 / 16777216.0)); }

/* n vectors of dim: uniform in the unit cube, or around nClust centres. */
static void fillVectors(float *a, int n, int dim, int nClust, uint64_t seed) {
  float *c = malloc(sizeof(float) * (size_t)(nClust ? nClust : 1) * dim);
  int i, j;
  rngState = seed;
  for (i = 0; i < nClust * dim; i++) c[i] = frand() * 10.0f;
  for (i = 0; i < n; i++) {
    const float *ci = nClust ? c + (size_t)(rng() % (uint64_t)nClust) * dim : NULL;
    for (j = 0; j < dim; j++) {
      a[(size_t)i * dim + j] = ci ? ci[j] + (frand() - 0.5f) : frand();
    }
  }
  free(c);
}

static void hostInit(Host *h, int n, int dim, int nClust, uint64_t seed) {
  memset(h, 0, sizeof(*h));
  h->dim = dim;
  h->nVec = (uint32_t)n;
  h->aVec = malloc(sizeof(float) * (size_t)n * dim);
  fillVectors(h->aVec, n, dim, nClust, seed);
  h->bOneThread = 1;
  h->tMain = pthread_self();
  for (n = 0; n < 64; n++) h->aGrpLevel[n] = -1;
}

static void hostFree(Host *h) {
  uint32_t i;
  for (i = 0; i < h->nRec; i++) free(h->aRec[i].a);
  free(h->aRec);
  free(h->aVec);
}

/* The callbacks of test host h. */
static Vec0HnswHost hostOf(Host *h) {
  Vec0HnswHost host = {0};
  host.pCtx = h;
  host.xMalloc = shimMalloc;
  host.xRealloc = shimRealloc;
  host.xFree = shimFree;
  host.xVector = hostVector;
  host.xReadNode = hostRead;
  host.xReadGroup = hostReadGroup;
  host.xDistance = hostDist;
  host.xSame = hostSame;
  return host;
}

static Vec0Hnsw *openGraph(Host *h, int m, int efc) {
  Vec0HnswHost host = hostOf(h);
  Vec0HnswParams par;
  Vec0Hnsw *g = NULL;
  par.m = m;
  par.efConstruction = efc;
  par.seed = 42;
  ck_assert_int_eq(vec0HnswOpen(&host, &par, &g), VEC0_HNSW_OK);
  return g;
}

static Vec0Hnsw *build(Host *h, int n, int m, int efc) {
  Vec0Hnsw *g = openGraph(h, m, efc);
  int i;
  for (i = 0; i < n; i++) {
    ck_assert_int_eq(vec0HnswInsert(g, (uint32_t)i, (uint64_t)i * 7 + 1, 0), 0);
  }
  return g;
}

/* Flushes g into the host's map; the header goes to aHdr. */
static void flushAll(Vec0Hnsw *g, Host *h, unsigned char *aHdr) {
  ck_assert_int_eq(vec0HnswFlush(g, hostWrite, NULL, h), 0);
  ck_assert_int_eq(vec0HnswIsDirty(g), 0);
  vec0HnswHeaderEncode(g, aHdr);
}

static Vec0Hnsw *reopen(Host *h, const unsigned char *aHdr) {
  Vec0Hnsw *g = openGraph(h, 16, 100);
  ck_assert_int_eq(vec0HnswHeaderDecode(g, aHdr, VEC0_HNSW_HEADER_SIZE, 0x7fffffff), 0);
  return g;
}

typedef struct Live {
  const unsigned char *aDead;
  int mod, rem; /* the filter: id % mod == rem */
} Live;

static int acceptFilter(void *pCtx, uint32_t id) {
  const Live *l = pCtx;
  return (int)(id % (uint32_t)l->mod) == l->rem;
}

/* Exact k nearest ids among [0,n) not dead and passing the filter. */
static int bruteForce(Host *h, int n, const float *q, int k, const Live *l,
                      uint32_t *aOut) {
  float *aD = malloc(sizeof(float) * (size_t)k);
  int i, nOut = 0;
  for (i = 0; i < n; i++) {
    float d;
    int j;
    if (l && l->aDead && l->aDead[i]) continue;
    if (l && l->mod && !acceptFilter((void *)l, (uint32_t)i)) continue;
    d = hostDist(h, q, h->aVec + (size_t)i * h->dim);
    if (nOut == k && d >= aD[k - 1]) continue;
    j = nOut < k ? nOut++ : k - 1;
    while (j > 0 && aD[j - 1] > d) {
      aD[j] = aD[j - 1];
      aOut[j] = aOut[j - 1];
      j--;
    }
    aD[j] = d;
    aOut[j] = (uint32_t)i;
  }
  free(aD);
  return nOut;
}

/*
** Recall@k over nQ random queries; checks too that every result passes the
** filter, is not dead, and that k results come back when k exist.
*/
static double recall(Vec0Hnsw *g, Host *h, int n, int nQ, int k, int ef,
                     const Live *l, uint64_t seed) {
  float *q = malloc(sizeof(float) * (size_t)h->dim);
  Vec0HnswResult aRes[64];
  uint32_t aTrue[64];
  long nHit = 0, nWant = 0;
  int iq, i, j;
  for (iq = 0; iq < nQ; iq++) {
    int nRes, nTrue;
    /* Queries: a stored vector, perturbed (so clustered data is queried
    ** where the data is). */
    rngState = seed + (uint64_t)iq;
    memcpy(q, h->aVec + (size_t)(rng() % (uint64_t)n) * h->dim,
           sizeof(float) * (size_t)h->dim);
    for (i = 0; i < h->dim; i++) q[i] += (frand() - 0.5f) * 0.2f;
    ck_assert_int_eq(vec0HnswSearch(g, 0, q, k, ef, l && l->mod ? acceptFilter : NULL,
                                    (void *)l, aRes, &nRes),
                     0);
    nTrue = bruteForce(h, n, q, k, l, aTrue);
    ck_assert_int_eq(nRes, nTrue);
    for (i = 0; i < nRes; i++) {
      ck_assert(aRes[i].id < (uint32_t)n);
      if (l && l->aDead) ck_assert(!l->aDead[aRes[i].id]);
      if (l && l->mod) ck_assert(acceptFilter((void *)l, aRes[i].id));
      if (i > 0) ck_assert(aRes[i].distance >= aRes[i - 1].distance);
      for (j = 0; j < nTrue; j++) {
        if (aTrue[j] == aRes[i].id) nHit++;
      }
    }
    nWant += nTrue;
  }
  free(q);
  return nWant ? (double)nHit / (double)nWant : 1.0;
}

static void checkGraph(Vec0Hnsw *g, Host *h, uint32_t n) {
  char *zErr = NULL;
  int rc = vec0HnswCheck(g, n, &zErr);
  if (rc) ck_abort_msg("check failed (%d): %s", rc, zErr ? zErr : "");
  ck_assert_ptr_null(zErr);
}

static void closeGraph(Vec0Hnsw *g, Host *h) {
  vec0HnswClose(g);
  ck_assert_int_eq(h->nLive, 0);
}

/* A deep copy of a host: its vectors and its stored records. */
static void hostClone(Host *dst, const Host *src) {
  uint32_t i;
  *dst = *src;
  dst->nAlloc = dst->nLive = dst->nReads = 0;
  dst->failAt = 0;
  dst->aVec = malloc(sizeof(float) * (size_t)src->nVec * src->dim);
  memcpy(dst->aVec, src->aVec, sizeof(float) * (size_t)src->nVec * src->dim);
  dst->aRec = calloc(src->nRec ? src->nRec : 1, sizeof(Rec));
  for (i = 0; i < src->nRec; i++) {
    if (src->aRec[i].a == NULL) continue;
    dst->aRec[i].a = malloc((size_t)src->aRec[i].n);
    memcpy(dst->aRec[i].a, src->aRec[i].a, (size_t)src->aRec[i].n);
    dst->aRec[i].n = src->aRec[i].n;
  }
}

static void sameRecords(const Host *a, const Host *b, uint32_t n) {
  uint32_t i;
  for (i = 0; i < n; i++) {
    const Rec *x = i < a->nRec ? &a->aRec[i] : NULL;
    const Rec *y = i < b->nRec ? &b->aRec[i] : NULL;
    int nx = x && x->a ? x->n : -1, ny = y && y->a ? y->n : -1;
    ck_assert_msg(nx == ny, "record %u: %d vs %d bytes", i, nx, ny);
    if (nx > 0) ck_assert_mem_eq(x->a, y->a, (size_t)nx);
  }
}

#endif /* HNSW_HOST_H */
