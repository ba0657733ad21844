/*
** vec0_hnsw_batch.c: vec0HnswInsertBatch, many new nodes inserted at once
** on worker threads, into a graph that does not depend on how many.
**
** The batch is cut into sub-batches that grow with the graph: each takes
** 1/SUB_DIV of the node count at its start (at least 1, at most SUB_MAX),
** so only counts decide where one ends.  A sub-batch goes through:
**   1. search (parallel): each of its nodes searches the graph as it stood
**      when the sub-batch began, which nothing changes meanwhile, and picks
**      its links with the heuristic as vec0HnswConnect() would;
**   2. (calling thread) its links are written and the links back are
**      sorted by the node that receives them;
**   3. prune (parallel): each receiving node takes all its new links at
**      once, re-selecting its list with the heuristic if they overflow it.
**      One node's work reads vectors and writes its own list, nothing else;
**   4. (calling thread, in a fixed order) the links that pruning dropped are
**      handed over (vec0HnswHandOver), and the nodes the frozen graph could
**      not serve (the first of a group, one that raises its group's top
**      level, one whose search found fewer than ef_construction nodes) are
**      connected one by one, as vec0HnswInsert() would, in batch order;
**      then a node whose level-0 hand-over found no place (rows inserted
**      in the order of their vectors: a new node's neighbours in the frozen
**      graph can all refuse it), one whose nearest frozen node more new
**      nodes chose than a list holds, and one whose list lacks the new node
**      before it that the heuristic would have kept, is connected again,
**      seeing the whole graph.
** Lists are sorted by (distance, id) and work is merged in batch order, so
** no step depends on which thread did what.  Within a sub-batch new nodes
** do not see each other; the next sub-batch sees them all.
**
** A worker searches through a view: a copy of the Vec0Hnsw whose node
** arrays are the graph's own, only read while workers run, and whose
** scratch, visited stamps and error message are its own.  A view's
** allocator refuses, so a search that needs more scratch than a view has
** is left to the calling thread, which redoes it once the workers have
** joined.  Workers thus call only the distance callbacks: every xReadNode,
** xVector and allocation happens on the calling thread, before they start.
**
** The threads are a pool, started at the first step that wants more than
** one and joined when the batch returns: between steps they sleep on a
** condition variable.  A step's items are claimed a chunk at a time from
** an atomic counter by the calling thread and by the workers that wake in
** time; a step ends when no worker is inside it any more, so a worker the
** scheduler has not run yet holds nobody up (it finds no item left).  The
** calling thread asks the host whether to stop (xInterrupt) after each of
** its chunks and before each sub-batch; then no item is claimed any more
** and the batch returns what the host said once the workers are out.
**
** Inside an undo scope (vec0HnswBegin) the batch is undone like any other
** change: every node it changes goes through vec0HnswMarkDirty (or
** vec0HnswAddNode) on the calling thread before a worker writes to it, so
** its before-image is kept; a pruning worker only writes lists so marked.
**
** Calls POSIX threads (none when built with VEC0_HNSW_NO_THREADS, or on
** Windows), the C library and the two other files of the graph.
*/
#include "vec0_hnswInt.h"

#include <stdlib.h>
#include <string.h>

#if !defined(VEC0_HNSW_NO_THREADS) && defined(_WIN32)
#define VEC0_HNSW_NO_THREADS 1
#endif
#ifndef VEC0_HNSW_NO_THREADS
#include <pthread.h>
#endif

#define SUB_DIV 64       /* a sub-batch: 1/SUB_DIV of the node count */
#define SUB_MAX 4096     /* ... but at most this many nodes */
#define MAX_WORKERS 64   /* threads used at most, the calling one included */
#define SEARCH_MIN 16    /* searches per thread, at least, worth a thread */
#define PRUNE_MIN 256    /* receiving lists per thread, at least */
#define PEER_BACK 64     /* nodes looked back at for the one before in a group */

/* What step 1 made of a node of the batch. */
#define BN_LINKED 1 /* its links are in Batch.aLinks */
#define BN_FRESH 2  /* to be connected in step 4 */
#define BN_DEFER 3  /* its search needs more scratch than a view has */

typedef struct BatchNode {
  uint32_t id, g;
  int L;
  int eState;
  float dFar; /* BN_LINKED: the distance to the farthest node its level-0 search kept */
  size_t iOut; /* its rows in Batch.aLinks: levels 0..L of (m+1) u32 */
} BatchNode;

/* A link back, from a node of the graph (t) to new node id at level lc. */
typedef struct Edge {
  uint32_t lc, t, k, id; /* k: the index of id in the batch */
} Edge;

/* A node t receiving links at level lc: step 3's item. */
typedef struct Target {
  uint32_t t;
  int lc;
  size_t iEdge, nEdge; /* its links in Batch.aEdge */
  size_t iCand;        /* its room in Batch.aCand and Batch.aDrop */
  size_t nDrop;        /* links it dropped, for step 4 */
} Target;

typedef struct Batch Batch;

typedef struct Worker {
  Vec0Hnsw v; /* the view, refreshed before each parallel step */
  Batch *pB;
  Pair *aCand, *aTop, *aW;
  size_t nCand, nTop;
  const void **apSel;
  uint32_t *aVisit;
  int rc;
  int iWk;       /* its index in Batch.aWk (0: the calling thread) */
  unsigned seen; /* the last step (Batch.step) it looked at */
#ifndef VEC0_HNSW_NO_THREADS
  pthread_t tid;
#endif
} Worker;

struct Batch {
  Vec0Hnsw *p;
  BatchNode *aNode;
  int n;
  int nMarked; /* the groups of aNode[0..nMarked-1] may be GROUP_BATCH */
  int i0; /* first node of the current sub-batch */
  uint32_t *aLinks;
  size_t nLinksAlloc;
  Edge *aEdge;
  size_t nEdgeAlloc;
  Target *aTgt;
  size_t nTgtAlloc;
  Pair *aCand;
  size_t nCandAlloc;
  Drop *aDrop;
  size_t nDropAlloc;
  Worker *aWk;
  int nWk; /* workers with scratch, the calling thread's aWk[0] included */
  /*
  ** The items of the parallel step under way: claimed nChunk at a time
  ** from iNext (atomically), the step's first nUse workers only; bStop
  ** (atomic) set when one failed or the host said stop.  Set by the
  ** calling thread under mu while no worker is inside a step.
  */
  int (*xItem)(Worker *, size_t);
  size_t iNext, nItem, nChunk;
  int bStop;
  int nUse;
#ifndef VEC0_HNSW_NO_THREADS
  /* The pool: aWk[1..nStarted] run workerMain. */
  pthread_mutex_t mu;
  pthread_cond_t cvWork; /* a new step, or bQuit */
  pthread_cond_t cvDone; /* nActive came down to 0 */
  int bPool;             /* mu and the two are made */
  int bPoolTried;
  int nStarted;
  unsigned step;         /* counts the steps handed to the pool */
  int nActive;           /* workers inside the current step */
  int bQuit;
#endif
};

/*
** The atomics of a step (GCC and clang builtins; without threads there is
** nobody to race with).
*/
#ifndef VEC0_HNSW_NO_THREADS
#define CLAIM(pN, n) __atomic_fetch_add(pN, n, __ATOMIC_RELAXED)
#define LOAD(pX) __atomic_load_n(pX, __ATOMIC_RELAXED)
#define STORE(pX, v) __atomic_store_n(pX, v, __ATOMIC_RELAXED)
#else
static size_t claimPlain(size_t *pN, size_t n) {
  size_t i = *pN;
  *pN += n;
  return i;
}
#define CLAIM(pN, n) claimPlain(pN, n)
#define LOAD(pX) (*(pX))
#define STORE(pX, v) (*(pX) = (v))
#endif

/* A view's allocator: it has all the memory it will get. */
static void *refuseMalloc(void *pCtx, size_t n) {
  (void)pCtx;
  (void)n;
  return NULL;
}
static void *refuseRealloc(void *pCtx, void *pOld, size_t n) {
  (void)pCtx;
  (void)pOld;
  (void)n;
  return NULL;
}
static void keepFree(void *pCtx, void *pOld) {
  (void)pCtx;
  (void)pOld;
}
/* Every node a view can reach is in memory already. */
static int noRecord(void *pCtx, uint32_t id, unsigned char **paRec, int *pnRec) {
  (void)pCtx;
  (void)id;
  (void)paRec;
  (void)pnRec;
  return VEC0_HNSW_NOTFOUND;
}

/*
** Makes w's view see the graph as it is now, with w's own scratch.  The
** graph's other buffers are not the view's to use: it gets none.
*/
static void refreshView(Worker *w, const Vec0Hnsw *p) {
  Vec0Hnsw *v = &w->v;
  uint32_t gen = v->gen; /* the stamps in w->aVisit stay w's */
  *v = *p;
  v->h.xMalloc = refuseMalloc;
  v->h.xRealloc = refuseRealloc;
  v->h.xFree = keepFree;
  v->h.xReadNode = noRecord;
  v->h.xReadGroup = NULL;
  v->aCand = w->aCand;
  v->nCandAlloc = w->nCand;
  v->aTop = w->aTop;
  v->nTopAlloc = w->nTop;
  v->aW = w->aW;
  v->nWAlloc = w->nTop;
  v->apSel = w->apSel;
  v->aVisit = w->aVisit;
  v->gen = gen;
  v->aSeenBm = NULL; /* w's walks use w's stamps (aPlainBm is read only) */
  v->aSeenList = NULL;
  v->nSeenAlloc = v->nSeen = 0;
  v->aP = NULL;
  v->nPAlloc = 0;
  v->aDrop = NULL;
  v->nDropAlloc = 0;
  v->aRec = NULL;
  v->nRecAlloc = 0;
  v->aQueue = NULL;
  v->nQueueAlloc = 0;
  v->aDirty = NULL;
  v->nDirty = v->nDirtyAlloc = 0;
  v->aGrpDirty = NULL;
  v->nGrpDirty = v->nGrpDirtyAlloc = 0;
  v->aUndo = NULL;
  v->nUndo = v->nUndoAlloc = 0;
  v->bUndo = 0;
  v->zErr[0] = 0;
}

/*
** Claims and runs items until none is left or the step stops.  On the
** calling thread (aWk[0]) the host is asked after each chunk whether to go
** on: a non-zero answer stops the step and is its result.
*/
static void runItems(Worker *w) {
  Batch *b = w->pB;
  int (*xInterrupt)(void *) = w->iWk == 0 ? b->p->h.xInterrupt : NULL;
  while (!LOAD(&b->bStop)) {
    size_t i = CLAIM(&b->iNext, b->nChunk), iEnd;
    int rc = VEC0_HNSW_OK;
    if (i >= b->nItem) return;
    iEnd = b->nItem - i < b->nChunk ? b->nItem : i + b->nChunk;
    for (; i < iEnd && rc == VEC0_HNSW_OK; i++) rc = b->xItem(w, i);
    if (rc == VEC0_HNSW_OK && xInterrupt) rc = xInterrupt(b->p->h.pCtx);
    if (rc) {
      w->rc = rc;
      STORE(&b->bStop, 1);
      return;
    }
  }
}

#ifndef VEC0_HNSW_NO_THREADS
/*
** A worker of the pool: waits for a step it has not seen, joins it if it
** is one of the step's nUse, and leaves it when no item is left.
*/
static void *workerMain(void *pArg) {
  Worker *w = pArg;
  Batch *b = w->pB;
  pthread_mutex_lock(&b->mu);
  for (;;) {
    while (w->seen == b->step && !b->bQuit) pthread_cond_wait(&b->cvWork, &b->mu);
    if (b->bQuit) break;
    w->seen = b->step;
    if (w->iWk >= b->nUse) continue;
    b->nActive++;
    pthread_mutex_unlock(&b->mu);
    runItems(w);
    pthread_mutex_lock(&b->mu);
    if (--b->nActive == 0) pthread_cond_signal(&b->cvDone);
  }
  pthread_mutex_unlock(&b->mu);
  return NULL;
}

/*
** Starts the pool: aWk[1..nWk-1] on threads, as many as will start (the
** others' share goes to those that did).  Without a pool, one thread.
*/
static void startPool(Batch *b) {
  int i;
  b->bPoolTried = 1;
  if (pthread_mutex_init(&b->mu, NULL)) return;
  if (pthread_cond_init(&b->cvWork, NULL)) {
    pthread_mutex_destroy(&b->mu);
    return;
  }
  if (pthread_cond_init(&b->cvDone, NULL)) {
    pthread_cond_destroy(&b->cvWork);
    pthread_mutex_destroy(&b->mu);
    return;
  }
  b->bPool = 1;
  for (i = 1; i < b->nWk; i++) {
    b->aWk[i].seen = b->step;
    if (pthread_create(&b->aWk[i].tid, NULL, workerMain, &b->aWk[i])) break;
    b->nStarted = i;
  }
}

/* Joins every worker of the pool, which is then gone. */
static void stopPool(Batch *b) {
  int i;
  if (!b->bPool) return;
  pthread_mutex_lock(&b->mu);
  b->bQuit = 1;
  pthread_cond_broadcast(&b->cvWork);
  pthread_mutex_unlock(&b->mu);
  for (i = 1; i <= b->nStarted; i++) pthread_join(b->aWk[i].tid, NULL);
  pthread_cond_destroy(&b->cvDone);
  pthread_cond_destroy(&b->cvWork);
  pthread_mutex_destroy(&b->mu);
  b->bPool = 0;
  b->nStarted = 0;
}

/* Waits (holding b->mu) until no worker is inside a step. */
static void waitIdle(Batch *b) {
  while (b->nActive > 0) pthread_cond_wait(&b->cvDone, &b->mu);
}
#endif

/*
** Runs xItem on items 0..nItem-1 on the calling thread and on as many of
** the pool's workers as nItem/nMin makes worth it, and returns when every
** worker that took part has left the step.
*/
static int runParallel(Batch *b, size_t nItem, size_t nMin, size_t nChunk,
                       int (*xItem)(Worker *, size_t)) {
  Vec0Hnsw *p = b->p;
  int nUse = 1, i, rc = VEC0_HNSW_OK;
#ifndef VEC0_HNSW_NO_THREADS
  size_t nWant = nItem / nMin;
  nUse = nWant < (size_t)b->nWk ? (int)nWant : b->nWk;
  if (nUse > 1 && !b->bPoolTried) startPool(b);
  if (nUse > 1 + b->nStarted) nUse = 1 + b->nStarted;
  if (nUse < 1) nUse = 1;
  if (b->bPool) {
    /* No worker may be inside a step while its items are set: one that
    ** woke late for the last step leaves it (it finds no item) first. */
    pthread_mutex_lock(&b->mu);
    waitIdle(b);
  }
#endif
  b->xItem = xItem;
  b->iNext = 0;
  b->nItem = nItem;
  b->nChunk = nChunk;
  b->bStop = 0;
  b->nUse = nUse;
  for (i = 0; i < nUse; i++) {
    refreshView(&b->aWk[i], p);
    b->aWk[i].rc = VEC0_HNSW_OK;
  }
#ifndef VEC0_HNSW_NO_THREADS
  if (b->bPool) {
    if (nUse > 1) {
      b->step++;
      pthread_cond_broadcast(&b->cvWork);
    }
    pthread_mutex_unlock(&b->mu);
  }
#endif
  runItems(&b->aWk[0]);
#ifndef VEC0_HNSW_NO_THREADS
  if (nUse > 1) {
    pthread_mutex_lock(&b->mu);
    waitIdle(b);
    pthread_mutex_unlock(&b->mu);
  }
#endif
  for (i = 0; i < nUse && rc == VEC0_HNSW_OK; i++) {
    if ((rc = b->aWk[i].rc) == VEC0_HNSW_CORRUPT) {
      memcpy(p->zErr, b->aWk[i].v.zErr, sizeof(p->zErr));
    }
  }
  return rc;
}

/*
** Step 1 for node x, through p (a view, or the graph itself for a redo):
** its links on levels 0..L, in rows of (count, ids) at aOut.  Like
** vec0HnswConnect() except that it changes nothing, and that it leaves to
** step 4 a node the graph cannot serve well as it stands.
*/
static int frozenLinks(Vec0Hnsw *p, BatchNode *x, uint32_t *aOut) {
  const Group *pG = &p->aGrp[x->g];
  const void *q;
  int rc = VEC0_HNSW_OK, lc;
  Pair ep;
  if (pG->maxLevel < 0 || x->L > pG->maxLevel) {
    x->eState = BN_FRESH;
    return VEC0_HNSW_OK;
  }
  if ((q = vec0HnswVector(p, x->id, &rc)) == NULL) return rc;
  if ((rc = vec0HnswDescend(p, pG, q, x->L, &ep)) != 0) return rc;
  for (lc = x->L; lc >= 0; lc--) {
    uint32_t *aRow = aOut + (size_t)lc * (size_t)(p->m + 1);
    size_t nW, nSel, i;
    if ((rc = vec0HnswFindLinks(p, x->id, q, &ep, lc, &nW, &nSel)) != 0) return rc;
    if (lc == 0 && nW < (size_t)p->efc) {
      /* A small group, or one mostly deleted: the nodes of this sub-batch
      ** would crowd onto the few there are. */
      x->eState = BN_FRESH;
      return VEC0_HNSW_OK;
    }
    aRow[0] = (uint32_t)nSel;
    for (i = 0; i < nSel; i++) aRow[1 + i] = p->aW[i].id;
    if (lc == 0) x->dFar = p->aW[nW - 1].d;
  }
  x->eState = BN_LINKED;
  return VEC0_HNSW_OK;
}

static int searchItem(Worker *w, size_t i) {
  Batch *b = w->pB;
  BatchNode *x = &b->aNode[(size_t)b->i0 + i];
  int rc = frozenLinks(&w->v, x, b->aLinks + x->iOut);
  if (rc == VEC0_HNSW_NOMEM) {
    x->eState = BN_DEFER; /* the view's scratch is full: not an error */
    rc = VEC0_HNSW_OK;
  }
  return rc;
}

/*
** Step 3 for one receiving node: its new links appended if they fit, else
** its list re-selected among old and new (as relink() in vec0_hnsw.c does
** for one), the dropped ones noted for step 4.
*/
static int pruneItem(Worker *w, size_t i) {
  Batch *b = w->pB;
  Vec0Hnsw *p = &w->v;
  Target *T = &b->aTgt[i];
  const Edge *aE = b->aEdge + T->iEdge;
  uint32_t *L = links(p, T->t, T->lc), cap = (uint32_t)(T->lc ? p->m : p->m0);
  size_t j, nP, nSel, nDrop, cnt = L[0];
  Pair *a = b->aCand + T->iCand;
  const void *vt;
  int rc = VEC0_HNSW_OK;
  T->nDrop = 0;
  if (cnt + T->nEdge <= cap) {
    for (j = 0; j < T->nEdge; j++) L[1 + L[0]++] = aE[j].id;
    return VEC0_HNSW_OK;
  }
  if ((vt = vec0HnswVector(p, T->t, &rc)) == NULL) return rc;
  for (j = 0; j < cnt; j++) a[j].id = L[1 + j];
  for (j = 0; j < T->nEdge; j++) a[cnt + j].id = aE[j].id;
  nP = cnt + T->nEdge;
  for (j = 0; j < nP; j += 4) {
    const void *apV[4];
    float aD[4];
    size_t k, nB = nP - j < 4 ? nP - j : 4;
    for (k = 0; k < nB; k++) {
      if ((apV[k] = vec0HnswVector(p, a[j + k].id, &rc)) == NULL) return rc;
    }
    vec0HnswDistances(p, vt, apV, nB, aD);
    for (k = 0; k < nB; k++) a[j + k].d = aD[k];
  }
  qsort(a, nP, sizeof(Pair), vec0HnswCmpPair);
  rc = vec0HnswSelect(p, a, nP, (int)cap, &nSel, b->aDrop + T->iCand, &nDrop);
  if (rc) return rc;
  L[0] = (uint32_t)nSel;
  for (j = 0; j < nSel; j++) L[1 + j] = a[j].id;
  T->nDrop = nDrop;
  return VEC0_HNSW_OK;
}

static int cmpEdge(const void *pa, const void *pb) {
  const Edge *x = pa, *y = pb;
  if (x->lc != y->lc) return x->lc < y->lc ? -1 : 1;
  if (x->t != y->t) return x->t < y->t ? -1 : 1;
  return (x->k > y->k) - (x->k < y->k);
}

/*
** Step 2: writes the links of the nodes step 1 linked, then sorts the links
** back by receiving node into b->aTgt (*pnTgt of them), marked dirty, each
** with room for its candidates in b->aCand and b->aDrop.
*/
static int gatherTargets(Batch *b, int i1, size_t *pnTgt) {
  Vec0Hnsw *p = b->p;
  size_t nEdge = 0, nTgt = 0, nCand = 0, e;
  int i, lc, rc;
  for (i = b->i0; i < i1; i++) {
    const BatchNode *x = &b->aNode[i];
    if (x->eState != BN_LINKED) continue;
    for (lc = 0; lc <= x->L; lc++) nEdge += b->aLinks[x->iOut + (size_t)lc * (size_t)(p->m + 1)];
  }
  rc = vec0HnswReserve(p, &b->aEdge, &b->nEdgeAlloc, nEdge + 1, sizeof(Edge));
  if (rc) return rc;
  nEdge = 0;
  for (i = b->i0; i < i1; i++) {
    const BatchNode *x = &b->aNode[i];
    if (x->eState != BN_LINKED) continue;
    for (lc = 0; lc <= x->L; lc++) {
      const uint32_t *aRow = b->aLinks + x->iOut + (size_t)lc * (size_t)(p->m + 1);
      uint32_t j;
      memcpy(links(p, x->id, lc), aRow, (size_t)(aRow[0] + 1) * sizeof(uint32_t));
      for (j = 0; j < aRow[0]; j++) {
        Edge *pE = &b->aEdge[nEdge++];
        pE->lc = (uint32_t)lc;
        pE->t = aRow[1 + j];
        pE->k = (uint32_t)i;
        pE->id = x->id;
      }
    }
  }
  qsort(b->aEdge, nEdge, sizeof(Edge), cmpEdge);
  for (e = 0; e < nEdge; e++) {
    Target *T;
    if (e > 0 && b->aEdge[e].lc == b->aEdge[e - 1].lc && b->aEdge[e].t == b->aEdge[e - 1].t) {
      b->aTgt[nTgt - 1].nEdge++;
      continue;
    }
    rc = vec0HnswReserve(p, &b->aTgt, &b->nTgtAlloc, nTgt + 1, sizeof(Target));
    if (rc == VEC0_HNSW_OK) rc = vec0HnswMarkDirty(p, b->aEdge[e].t);
    if (rc) return rc;
    T = &b->aTgt[nTgt++];
    T->t = b->aEdge[e].t;
    T->lc = (int)b->aEdge[e].lc;
    T->iEdge = e;
    T->nEdge = 1;
    T->nDrop = 0;
  }
  for (e = 0; e < nTgt; e++) {
    b->aTgt[e].iCand = nCand;
    nCand += links(p, b->aTgt[e].t, b->aTgt[e].lc)[0] + b->aTgt[e].nEdge;
  }
  rc = vec0HnswReserve(p, &b->aCand, &b->nCandAlloc, nCand + 1, sizeof(Pair));
  if (rc == VEC0_HNSW_OK) rc = vec0HnswReserve(p, &b->aDrop, &b->nDropAlloc, nCand + 1, sizeof(Drop));
  *pnTgt = nTgt;
  return rc;
}

/* How many new nodes of the sub-batch linked to node t at level 0. */
static size_t edgesTo(const Batch *b, size_t nTgt, uint32_t t) {
  size_t lo = 0, hi = nTgt;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const Target *T = &b->aTgt[mid];
    if (T->lc > 0 || (T->lc == 0 && T->t > t)) {
      hi = mid;
    } else if (T->t < t) {
      lo = mid + 1;
    } else {
      return T->nEdge;
    }
  }
  return 0;
}

/*
** Step 4: whether the level-0 list of new node k lacks the node before it in
** its group and sub-batch, y, which the heuristic would have kept had the
** search seen it: y is as near as what the search kept (ef_construction
** nodes), no kept node nearer to k than y is nearer to y than k is (nor a
** copy of y), and the list had room.  Rows inserted in the order of their
** vectors (a grid row by row, a sorted column, a time series) make a new
** node's true neighbours the other new nodes, which it could not see: it
** kept one or two frozen links, and its sub-batch became a comb whose teeth
** never met (a 200 x 200 grid in order: 28 of 200 self-queries missed at ef
** 400).  In rows of no particular order the node before is as far as any
** random row, beyond what the search kept, and this costs one distance.
*/
static int peerMissing(Batch *b, int k, int *pbAgain) {
  Vec0Hnsw *p = b->p;
  const BatchNode *x = &b->aNode[k], *y = 0;
  const uint32_t *aRow = b->aLinks + x->iOut;
  const void *vx, *vy, *vs;
  float d;
  uint32_t i;
  int rc = VEC0_HNSW_OK, j;
  *pbAgain = 0;
  /* partitions: rows of several groups may alternate */
  for (j = k - 1; j >= b->i0 && j >= k - PEER_BACK; j--) {
    if (b->aNode[j].g == x->g) {
      y = &b->aNode[j];
      break;
    }
  }
  if (y == 0) return rc;
  if ((vx = vec0HnswVector(p, x->id, &rc)) == NULL) return rc;
  if ((vy = vec0HnswVector(p, y->id, &rc)) == NULL) return rc;
  d = p->h.xDistance(p->h.pCtx, vx, vy);
  if (d > x->dFar) return rc;
  for (i = 0; i < aRow[0]; i++) {
    float dy;
    if ((vs = vec0HnswVector(p, aRow[1 + i], &rc)) == NULL) return rc;
    if (p->h.xDistance(p->h.pCtx, vx, vs) >= d) break; /* kept after y */
    dy = p->h.xDistance(p->h.pCtx, vy, vs);
    if (dy < d || dy == 0.0f) return rc; /* y covered by it */
  }
  *pbAgain = i < (uint32_t)p->m;
  return rc;
}

/* Inserts nodes i0..i1-1 of the batch (steps 1 to 4). */
static int subBatch(Batch *b, int i1) {
  Vec0Hnsw *p = b->p;
  size_t nOut = 0, nTgt = 0, i, j;
  int k, rc;
  p->nLost = 0;
  for (k = b->i0; k < i1; k++) {
    BatchNode *x = &b->aNode[k];
    if ((rc = vec0HnswAddNode(p, x->id, x->L, x->g)) != 0) return rc;
    x->iOut = nOut;
    nOut += (size_t)(x->L + 1) * (size_t)(p->m + 1);
  }
  rc = vec0HnswReserve(p, &b->aLinks, &b->nLinksAlloc, nOut, sizeof(uint32_t));
  if (rc) return rc;

  /* 1. */
  rc = runParallel(b, (size_t)(i1 - b->i0), SEARCH_MIN, 2, searchItem);
  for (k = b->i0; rc == VEC0_HNSW_OK && k < i1; k++) {
    if (b->aNode[k].eState == BN_DEFER) {
      rc = frozenLinks(p, &b->aNode[k], b->aLinks + b->aNode[k].iOut);
    }
  }
  /* 2. and 3. */
  if (rc == VEC0_HNSW_OK) rc = gatherTargets(b, i1, &nTgt);
  if (rc == VEC0_HNSW_OK) rc = runParallel(b, nTgt, PRUNE_MIN, 32, pruneItem);
  if (rc) return rc;

  /* 4. */
  for (i = 0; i < nTgt; i++) {
    const Target *T = &b->aTgt[i];
    for (j = 0; j < T->nDrop; j++) {
      const Drop *x = &b->aDrop[T->iCand + j];
      p->bHandChain = 0;
      if ((rc = vec0HnswHandOver(p, T->t, T->lc, x)) != 0) return rc;
      if (p->bHandChain && T->lc == 0 && (rc = vec0HnswNoteLost(p, x->id)) != 0) return rc;
    }
  }
  for (k = b->i0; k < i1; k++) {
    const BatchNode *x = &b->aNode[k];
    if (x->eState != BN_FRESH) continue;
    if ((rc = vec0HnswConnect(p, x->id, x->L)) != 0) return rc;
    if (x->L > p->aGrp[x->g].maxLevel) {
      if ((rc = vec0HnswSetEntry(p, x->g, x->id, x->L)) != 0) return rc;
    }
  }
  /*
  ** A node whose level-0 link was dropped and found no place but by
  ** displacing another is poorly linked, if at all: a new node whose
  ** neighbours in the frozen graph all refused it (data inserted in order,
  ** where its true neighbours are the other new nodes of this sub-batch,
  ** which it could not see).  Each is connected again now, seeing the whole
  ** graph, as a reconnect does, in the order the hand-overs came; so is any
  ** node the connections above lost (vec0HnswHandOver).
  */
  if ((rc = vec0HnswRepairLost(p)) != 0) return rc;
  /*
  ** So is a node whose nearest neighbour in the frozen graph was chosen by
  ** more new nodes than a list holds: a cluster of rows inserted together
  ** (data in order) that all landed on one node of the graph, which keeps
  ** m0 of them; the rest reached each other only through it.  Connected
  ** again in batch order, each sees the ones before it, as row by row.
  ** (None of fashion-mnist's 60 000 rows is; rows in the order of thirty
  ** 16-d clusters: self-queries at ef 400 missed 5 of 200, now none.)
  */
  for (k = b->i0; k < i1; k++) {
    const BatchNode *x = &b->aNode[k];
    const uint32_t *aRow = b->aLinks + x->iOut;
    int bAgain;
    if (x->eState != BN_LINKED || aRow[0] == 0) continue;
    bAgain = edgesTo(b, nTgt, aRow[1]) > (size_t)p->m0;
    if (!bAgain && (rc = peerMissing(b, k, &bAgain)) != 0) return rc;
    if (bAgain && (rc = vec0HnswConnectKeeping(p, x->id, x->L, 0)) != 0) return rc;
  }
  return vec0HnswRepairLost(p);
}

/*
** Checks that every id of the batch is new (no record, not twice), and
** sizes the node arrays for them.
*/
static int checkBatch(Batch *b, const uint32_t *aId, const uint64_t *aKey,
                      const uint32_t *aGroup) {
  Vec0Hnsw *p = b->p;
  uint32_t idMax = 0, gen;
  int i, rc;
  for (i = 0; i < b->n; i++) {
    BatchNode *x = &b->aNode[i];
    x->id = aId[i];
    x->g = aGroup ? aGroup[i] : 0;
    x->L = vec0HnswLevel(p, aKey[i]);
    if (x->id >= 0x7fffffffu) return vec0HnswCorrupt(p, "node %u: id out of range", x->id);
    if (x->g > VEC0_HNSW_MAX_GROUP) return vec0HnswCorrupt(p, "group %u out of range", x->g);
    rc = vec0HnswLoadNode(p, x->id);
    if (rc == VEC0_HNSW_OK) {
      return vec0HnswCorrupt(p, "node %u: in a batch but %s", x->id,
                             (p->aFlag[x->id] & NODE_DELETED)
                                 ? "a tombstone (revive it with vec0HnswInsert)"
                                 : "already live");
    }
    if (rc != VEC0_HNSW_NOTFOUND) return rc;
    if (x->id > idMax) idMax = x->id;
  }
  if ((rc = vec0HnswGrowNodes(p, idMax + 1)) != 0) return rc;
  gen = vec0HnswNextGen(p);
  for (i = 0; i < b->n; i++) {
    if (vec0HnswSeen(p, b->aNode[i].id, gen)) {
      return vec0HnswCorrupt(p, "node %u: twice in a batch", b->aNode[i].id);
    }
    vec0HnswMark(p, b->aNode[i].id, gen);
  }
  return VEC0_HNSW_OK;
}

/*
** Brings into memory every node of group g that a walk can reach (all of
** them, in a sound graph), checking each link on the way as a search would,
** and takes each one's vector into p->apVec.
*/
static int loadGroupNodes(Vec0Hnsw *p, uint32_t g, uint32_t gen) {
  size_t nHead = 0, nTail = 0;
  int rc, l;
  if ((rc = vec0HnswLoadEntry(p, g)) != 0) return rc;
  p->aGrp[g].flags |= GROUP_BATCH;
  if (p->aGrp[g].maxLevel < 0) return VEC0_HNSW_OK;
  rc = vec0HnswReserve(p, &p->aQueue, &p->nQueueAlloc, (size_t)p->nBound + 1, sizeof(uint32_t));
  if (rc) return rc;
  p->aQueue[nTail++] = p->aGrp[g].entry;
  vec0HnswMark(p, p->aGrp[g].entry, gen);
  while (nHead < nTail) {
    uint32_t n = p->aQueue[nHead++], i;
    if ((p->apVec[n] = p->h.xVector(p->h.pCtx, n, &rc)) == NULL) {
      return rc ? rc : VEC0_HNSW_NOMEM;
    }
    for (l = 0; l <= p->aLevel[n]; l++) {
      for (i = 0; i < links(p, n, l)[0]; i++) {
        uint32_t t = links(p, n, l)[1 + i];
        if ((rc = vec0HnswTouch(p, n, l, t)) != 0) return rc;
        if (p->aGroup[t] != g) {
          return vec0HnswCorrupt(p, "node %u of group %u links to node %u of group %u", n,
                                 g, t, p->aGroup[t]);
        }
        if (vec0HnswSeen(p, t, gen)) continue;
        vec0HnswMark(p, t, gen);
        p->aQueue[nTail++] = t;
      }
    }
  }
  return VEC0_HNSW_OK;
}

/* Gives worker w its scratch, sized so that a search seldom needs more. */
static int newWorker(Batch *b, Worker *w) {
  Vec0Hnsw *p = b->p;
  size_t nCand = 8 * (size_t)p->efc + 4 * (size_t)p->m0 + 256;
  memset(w, 0, sizeof(*w));
  w->pB = b;
  w->iWk = (int)(w - b->aWk);
  w->nCand = nCand;
  w->nTop = (size_t)p->efc + 1;
  w->aCand = p->h.xMalloc(p->h.pCtx, nCand * sizeof(Pair));
  w->aTop = p->h.xMalloc(p->h.pCtx, w->nTop * sizeof(Pair));
  w->aW = p->h.xMalloc(p->h.pCtx, w->nTop * sizeof(Pair));
  w->apSel = p->h.xMalloc(p->h.pCtx, 2 * 128 * sizeof(void *));
  w->aVisit = p->h.xMalloc(p->h.pCtx, (size_t)p->nCap * sizeof(uint32_t));
  if (!w->aCand || !w->aTop || !w->aW || !w->apSel || !w->aVisit) return VEC0_HNSW_NOMEM;
  memset(w->aVisit, 0, (size_t)p->nCap * sizeof(uint32_t));
  return VEC0_HNSW_OK;
}

static void freeWorker(Vec0Hnsw *p, Worker *w) {
  p->h.xFree(p->h.pCtx, w->aCand);
  p->h.xFree(p->h.pCtx, w->aTop);
  p->h.xFree(p->h.pCtx, w->aW);
  p->h.xFree(p->h.pCtx, (void *)w->apSel);
  p->h.xFree(p->h.pCtx, w->aVisit);
}

/* Everything before the first sub-batch: checks, nodes, vectors, workers. */
static int prepare(Batch *b, const uint32_t *aId, const uint64_t *aKey,
                   const uint32_t *aGroup, int nThread) {
  Vec0Hnsw *p = b->p;
  uint32_t gen;
  int i, rc;
  size_t nByte;
  if ((rc = checkBatch(b, aId, aKey, aGroup)) != 0) return rc;
  nByte = (size_t)p->nCap * sizeof(void *);
  if ((p->apVec = p->h.xMalloc(p->h.pCtx, nByte)) == NULL) return VEC0_HNSW_NOMEM;
  memset((void *)p->apVec, 0, nByte);
  gen = vec0HnswNextGen(p);
  for (i = 0; i < b->n; i++) {
    BatchNode *x = &b->aNode[i];
    if ((rc = vec0HnswGrowGroups(p, x->g)) != 0) return rc;
    b->nMarked = i + 1;
    if (!(p->aGrp[x->g].flags & GROUP_BATCH)) {
      if ((rc = loadGroupNodes(p, x->g, gen)) != 0) return rc;
    }
    if ((p->apVec[x->id] = p->h.xVector(p->h.pCtx, x->id, &rc)) == NULL) {
      return rc ? rc : VEC0_HNSW_NOMEM;
    }
  }
  b->nWk = nThread < 1 ? 1 : nThread > MAX_WORKERS ? MAX_WORKERS : nThread;
  if (b->n < SEARCH_MIN * 2) b->nWk = 1; /* no sub-batch can use two */
  b->aWk = p->h.xMalloc(p->h.pCtx, (size_t)b->nWk * sizeof(Worker));
  if (b->aWk == NULL) {
    b->nWk = 0;
    return VEC0_HNSW_NOMEM;
  }
  memset(b->aWk, 0, (size_t)b->nWk * sizeof(Worker));
  for (i = 0; i < b->nWk; i++) {
    if ((rc = newWorker(b, &b->aWk[i])) != 0) return rc;
  }
  return VEC0_HNSW_OK;
}

int vec0HnswInsertBatch(Vec0Hnsw *p, const uint32_t *aId, const uint64_t *aKey,
                        const uint32_t *aGroup, int n, int nThread) {
  Batch b;
  int rc, i;
  if (n <= 0) return n == 0 ? VEC0_HNSW_OK : vec0HnswCorrupt(p, "a batch of %d nodes", n);
  memset(&b, 0, sizeof(b));
  b.p = p;
  b.n = n;
  b.aNode = p->h.xMalloc(p->h.pCtx, (size_t)n * sizeof(BatchNode));
  rc = b.aNode ? prepare(&b, aId, aKey, aGroup, nThread) : VEC0_HNSW_NOMEM;
  while (rc == VEC0_HNSW_OK && b.i0 < n) {
    uint32_t nSub = p->nCount / SUB_DIV;
    int i1;
    if (p->h.xInterrupt && (rc = p->h.xInterrupt(p->h.pCtx)) != 0) break;
    if (nSub < 1) nSub = 1;
    if (nSub > SUB_MAX) nSub = SUB_MAX;
    i1 = (uint32_t)(n - b.i0) < nSub ? n : b.i0 + (int)nSub;
    rc = subBatch(&b, i1);
    b.i0 = i1;
  }
#ifndef VEC0_HNSW_NO_THREADS
  stopPool(&b);
#endif
  for (i = 0; i < b.nWk; i++) freeWorker(p, &b.aWk[i]);
  for (i = 0; i < b.nMarked; i++) p->aGrp[b.aNode[i].g].flags &= (uint8_t)~GROUP_BATCH;
  p->h.xFree(p->h.pCtx, (void *)p->apVec);
  p->apVec = NULL;
  p->h.xFree(p->h.pCtx, b.aWk);
  p->h.xFree(p->h.pCtx, b.aNode);
  p->h.xFree(p->h.pCtx, b.aLinks);
  p->h.xFree(p->h.pCtx, b.aEdge);
  p->h.xFree(p->h.pCtx, b.aTgt);
  p->h.xFree(p->h.pCtx, b.aCand);
  p->h.xFree(p->h.pCtx, b.aDrop);
  return rc;
}
