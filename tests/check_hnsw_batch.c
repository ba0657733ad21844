/*
** check_hnsw_batch.c: unit tests of the batch insert on threads
** (src/vec0_hnsw_batch.c), without SQLite: the same bytes for any number
** of threads, on an empty graph, on one with deletions, with groups; the
** recall of a graph built by batches against one built node by node;
** refused batches; an allocation failing at every point, after which no
** thread is left; a batch undone by its undo scope; and one the host
** stops (xInterrupt).  The host (tests/hnsw_host.h) aborts if a callback
** other than a distance runs off the calling thread.  Also the prefault
** helper of vec0_mem.h (a thread that populates a block ahead of its
** writer), here because this file runs under ThreadSanitizer too.
*/
#include "hnsw_host.h"
#include "vec0_mem.h"

#include <dirent.h>
#include <time.h>

/* Threads of this process (Linux); -1 where /proc cannot tell. */
static int threadCount(void) {
  DIR *d = opendir("/proc/self/task");
  struct dirent *e;
  int n = 0;
  if (d == NULL) return -1;
  while ((e = readdir(d)) != NULL) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

/*
** The threads of this process once the ones joined are gone: a joined
** thread may stay listed a moment after pthread_join() returns (the kernel
** wakes the joiner before it has reaped the thread), so wait up to 2 s for
** the count to come down to nWant.
*/
static int threadsLeft(int nWant) {
  struct timespec ts = {0, 10 * 1000 * 1000};
  int i, n = threadCount();
  for (i = 0; i < 200 && n > nWant; i++) {
    nanosleep(&ts, NULL);
    n = threadCount();
  }
  return n;
}

static void *idle(void *pArg) { return pArg; }

/*
** Threads of this process at rest: after a thread has come and gone once,
** since ThreadSanitizer starts a helper thread of its own at the first.
*/
static int threadsAtRest(void) {
  struct timespec ts = {0, 10 * 1000 * 1000};
  pthread_t t;
  int i, n = -1, nPrev;
  if (pthread_create(&t, NULL, idle, NULL) == 0) pthread_join(t, NULL);
  for (i = 0; i < 200; i++) { /* until the idle one is gone */
    nPrev = n;
    if ((n = threadCount()) == nPrev) break;
    nanosleep(&ts, NULL);
  }
  return n;
}

/* Batch-inserts ids aId[0..n-1] (keys 7*id+1) on nThread threads. */
static int insertBatch(Vec0Hnsw *g, const uint32_t *aId, const uint32_t *aGroup, int n,
                       int nThread) {
  uint64_t *aKey = malloc(sizeof(uint64_t) * (size_t)(n ? n : 1));
  int i, rc;
  for (i = 0; i < n; i++) aKey[i] = (uint64_t)aId[i] * 7 + 1;
  rc = vec0HnswInsertBatch(g, aId, aKey, aGroup, n, nThread);
  free(aKey);
  return rc;
}

/* ids i0, i0+step, ... (n of them) */
static uint32_t *idRange(uint32_t i0, uint32_t step, int n) {
  uint32_t *a = malloc(sizeof(uint32_t) * (size_t)(n ? n : 1));
  int i;
  for (i = 0; i < n; i++) a[i] = i0 + step * (uint32_t)i;
  return a;
}

/*
** Reopens the graph `base` flushed (header aHdr), batch-inserts aId on
** nThread threads, checks it and flushes it into *pOut (a copy of base),
** whose header goes to aOut.
*/
static void batchFrom(const Host *base, const unsigned char *aHdr, const uint32_t *aId,
                      const uint32_t *aGroup, int n, int nThread, uint32_t nId, Host *pOut,
                      unsigned char *aOut) {
  Vec0Hnsw *g;
  int nBefore = threadsAtRest();
  hostClone(pOut, base);
  g = reopen(pOut, aHdr);
  {
    int rc = insertBatch(g, aId, aGroup, n, nThread);
    ck_assert_msg(rc == 0, "batch: rc %d, %s", rc, vec0HnswErrmsg(g));
  }
  ck_assert_int_eq(threadsLeft(nBefore), nBefore);
  checkGraph(g, pOut, nId);
  ck_assert_int_eq(vec0HnswFlush(g, hostWrite, hostWriteGroup, pOut), 0);
  vec0HnswHeaderEncode(g, aOut);
  closeGraph(g, pOut);
}

/* The flushed graphs a and b are the same bytes: records, header, groups. */
static void sameGraph(const Host *a, const unsigned char *aHdrA, const Host *b,
                      const unsigned char *aHdrB, uint32_t nId) {
  ck_assert_mem_eq(aHdrA, aHdrB, VEC0_HNSW_HEADER_SIZE);
  sameRecords(a, b, nId);
  ck_assert_mem_eq(a->aGrpEntry, b->aGrpEntry, sizeof(a->aGrpEntry));
  ck_assert_mem_eq(a->aGrpLevel, b->aGrpLevel, sizeof(a->aGrpLevel));
}

static const int aThreads[] = {1, 2, 3, 16};

/*
** An empty graph filled by one batch of 9000, then a batch of 3000 more:
** the same bytes whatever the number of threads.
*/
START_TEST(batch_same_bytes) {
  Host base, ref, h;
  unsigned char aHdr[VEC0_HNSW_HEADER_SIZE], aRef[VEC0_HNSW_HEADER_SIZE];
  unsigned char aGot[VEC0_HNSW_HEADER_SIZE];
  uint32_t *aId = idRange(0, 1, 12000);
  Vec0Hnsw *g;
  size_t t;
  int pass;
  hostInit(&base, 12000, 12, 30, 61);
  g = openGraph(&base, 8, 40);
  flushAll(g, &base, aHdr);
  closeGraph(g, &base);
  for (pass = 0; pass < 2; pass++) {
    const uint32_t *a = pass ? aId + 9000 : aId;
    int n = pass ? 3000 : 9000;
    batchFrom(&base, aHdr, a, NULL, n, 1, 12000, &ref, aRef);
    for (t = 1; t < sizeof(aThreads) / sizeof(aThreads[0]); t++) {
      batchFrom(&base, aHdr, a, NULL, n, aThreads[t], 12000, &h, aGot);
      sameGraph(&ref, aRef, &h, aGot, 12000);
      hostFree(&h);
    }
    /* The next pass starts from this one's graph. */
    hostFree(&base);
    hostClone(&base, &ref);
    memcpy(aHdr, aRef, sizeof(aHdr));
    hostFree(&ref);
  }
  g = reopen(&base, aHdr);
  ck_assert_uint_eq(vec0HnswCount(g), 12000);
  ck_assert_msg(recall(g, &base, 12000, 100, 10, 64, NULL, 62) >= 0.9, "recall");
  closeGraph(g, &base);
  free(aId);
  hostFree(&base);
}
END_TEST

/*
** A graph that single inserts, deletions (most of it, so searches walk
** through tombstones), revivals and updates made, then a batch: the same
** bytes for any number of threads, and deleted nodes never come back.
*/
START_TEST(batch_after_changes) {
  Host base, ref, h;
  unsigned char aHdr[VEC0_HNSW_HEADER_SIZE], aRef[VEC0_HNSW_HEADER_SIZE];
  unsigned char aGot[VEC0_HNSW_HEADER_SIZE], aDead[7000] = {0};
  uint32_t *aId = idRange(3001, 2, 2000), i;
  Live l = {0};
  Vec0Hnsw *g;
  size_t t;
  hostInit(&base, 7000, 16, 0, 63);
  g = build(&base, 3000, 8, 40);
  for (i = 0; i < 3000; i++) {
    if (i % 5 != 0) {
      ck_assert_int_eq(vec0HnswDelete(g, i), 0);
      aDead[i] = 1;
    }
  }
  for (i = 1; i < 3000; i += 50) {
    ck_assert_int_eq(vec0HnswInsert(g, i, i, 0), 0);
    aDead[i] = 0;
  }
  for (i = 0; i < 3000; i += 45) ck_assert_int_eq(vec0HnswUpdate(g, i), 0);
  for (i = 3000; i < 7000; i += 2) aDead[i] = 1; /* never inserted */
  flushAll(g, &base, aHdr);
  closeGraph(g, &base);
  batchFrom(&base, aHdr, aId, NULL, 2000, 1, 7000, &ref, aRef);
  for (t = 1; t < sizeof(aThreads) / sizeof(aThreads[0]); t++) {
    batchFrom(&base, aHdr, aId, NULL, 2000, aThreads[t], 7000, &h, aGot);
    sameGraph(&ref, aRef, &h, aGot, 7000);
    hostFree(&h);
  }
  g = reopen(&ref, aRef);
  ck_assert_uint_eq(vec0HnswCount(g), 5000);
  l.aDead = aDead;
  ck_assert_msg(recall(g, &ref, 7000, 100, 10, 64, &l, 64) >= 0.9, "recall");
  closeGraph(g, &ref);
  hostFree(&ref);
  free(aId);
  hostFree(&base);
}
END_TEST

/*
** A graph almost all tombstones: searches walk far through them, further
** than a worker's scratch reaches, and are redone on the calling thread;
** still the same bytes for any number of threads.
*/
START_TEST(batch_through_tombstones) {
  Host base, ref, h;
  unsigned char aHdr[VEC0_HNSW_HEADER_SIZE], aRef[VEC0_HNSW_HEADER_SIZE];
  unsigned char aGot[VEC0_HNSW_HEADER_SIZE];
  uint32_t *aId = idRange(5000, 1, 1500), i;
  Vec0Hnsw *g;
  size_t t;
  hostInit(&base, 6500, 8, 0, 70);
  g = build(&base, 5000, 4, 8);
  for (i = 0; i < 5000; i++) {
    if (i % 100 != 3) ck_assert_int_eq(vec0HnswDelete(g, i), 0);
  }
  flushAll(g, &base, aHdr);
  closeGraph(g, &base);
  batchFrom(&base, aHdr, aId, NULL, 1500, 1, 6500, &ref, aRef);
  for (t = 1; t < sizeof(aThreads) / sizeof(aThreads[0]); t++) {
    batchFrom(&base, aHdr, aId, NULL, 1500, aThreads[t], 6500, &h, aGot);
    sameGraph(&ref, aRef, &h, aGot, 6500);
    hostFree(&h);
  }
  hostFree(&ref);
  free(aId);
  hostFree(&base);
}
END_TEST

/*
** The recall of a graph built by one batch on two threads is that of the
** graph built node by node, on uniform and on clustered data.
*/
START_TEST(batch_recall) {
  int bClust = _i;
  Host h;
  Vec0Hnsw *gSeq, *gBat;
  uint32_t *aId = idRange(0, 1, 6000);
  double rSeq, rBat;
  int ef;
  hostInit(&h, 6000, 32, bClust ? 20 : 0, 65);
  gSeq = build(&h, 6000, 16, 100);
  gBat = openGraph(&h, 16, 100);
  ck_assert_int_eq(insertBatch(gBat, aId, NULL, 6000, 2), 0);
  checkGraph(gBat, &h, 6000);
  for (ef = 16; ef <= 128; ef *= 2) {
    rSeq = recall(gSeq, &h, 6000, 300, 10, ef, NULL, 66);
    rBat = recall(gBat, &h, 6000, 300, 10, ef, NULL, 66);
    ck_assert_msg(rBat >= rSeq - 0.015, "ef %d: recall %.4f by batch, %.4f node by node",
                  ef, rBat, rSeq);
  }
  ck_assert_msg(rBat >= 0.97, "recall %.4f at ef 128", rBat);
  vec0HnswClose(gSeq);
  closeGraph(gBat, &h);
  free(aId);
  hostFree(&h);
}
END_TEST

/*
** Groups: a batch into groups that have nodes, that are empty, and that
** get only one node; the same bytes for any number of threads, entry
** points included; searches stay in their group.
*/
START_TEST(batch_groups) {
  Host base, ref, h;
  unsigned char aHdr[VEC0_HNSW_HEADER_SIZE], aRef[VEC0_HNSW_HEADER_SIZE];
  unsigned char aGot[VEC0_HNSW_HEADER_SIZE];
  uint32_t *aId = idRange(1000, 1, 5000), aGrp[5000], i;
  Vec0HnswResult aRes[10];
  Vec0Hnsw *g;
  int nRes, j, grp;
  size_t t;
  hostInit(&base, 6000, 8, 0, 67);
  g = openGraph(&base, 8, 40);
  for (i = 0; i < 1000; i++) ck_assert_int_eq(vec0HnswInsert(g, i, i, i % 2 + 1), 0);
  ck_assert_int_eq(vec0HnswFlush(g, hostWrite, hostWriteGroup, &base), 0);
  vec0HnswHeaderEncode(g, aHdr);
  closeGraph(g, &base);
  /* Groups 1 and 2 have nodes, 0 and 3 are empty, 4 gets one node. */
  for (i = 0; i < 5000; i++) aGrp[i] = i == 4321 ? 4 : i % 4;
  batchFrom(&base, aHdr, aId, aGrp, 5000, 1, 6000, &ref, aRef);
  for (t = 1; t < sizeof(aThreads) / sizeof(aThreads[0]); t++) {
    batchFrom(&base, aHdr, aId, aGrp, 5000, aThreads[t], 6000, &h, aGot);
    sameGraph(&ref, aRef, &h, aGot, 6000);
    hostFree(&h);
  }
  g = reopen(&ref, aRef);
  for (grp = 0; grp <= 4; grp++) {
    ck_assert_int_eq(vec0HnswSearch(g, (uint32_t)grp, ref.aVec + 8 * 77, 10, 40, NULL, NULL,
                                    aRes, &nRes),
                     0);
    ck_assert_int_eq(nRes, grp == 4 ? 1 : 10);
    for (j = 0; j < nRes; j++) {
      uint32_t id = aRes[j].id, want = id < 1000 ? id % 2 + 1 : aGrp[id - 1000];
      ck_assert_uint_eq(want, (uint32_t)grp);
    }
  }
  closeGraph(g, &ref);
  hostFree(&ref);
  free(aId);
  hostFree(&base);
}
END_TEST

/* Batches that are refused change nothing. */
START_TEST(batch_refused) {
  Host h;
  Vec0Hnsw *g;
  uint32_t aId[3];
  uint64_t aKey[3] = {1, 2, 3};
  uint32_t aGrp[3] = {0, 0, 0x80000000u};
  hostInit(&h, 300, 8, 0, 68);
  g = build(&h, 200, 8, 40);
  ck_assert_int_eq(vec0HnswDelete(g, 7), 0);
  ck_assert_int_eq(vec0HnswFlush(g, hostWrite, NULL, &h), 0);
  ck_assert_int_eq(vec0HnswInsertBatch(g, aId, aKey, NULL, 0, 4), 0);
  ck_assert_int_eq(vec0HnswInsertBatch(g, aId, aKey, NULL, -1, 4), VEC0_HNSW_CORRUPT);
  aId[0] = 250;
  aId[1] = 5; /* a live node */
  aId[2] = 251;
  ck_assert_int_eq(vec0HnswInsertBatch(g, aId, aKey, NULL, 3, 4), VEC0_HNSW_CORRUPT);
  ck_assert_ptr_nonnull(strstr(vec0HnswErrmsg(g), "already live"));
  aId[1] = 7; /* a tombstone */
  ck_assert_int_eq(vec0HnswInsertBatch(g, aId, aKey, NULL, 3, 4), VEC0_HNSW_CORRUPT);
  ck_assert_ptr_nonnull(strstr(vec0HnswErrmsg(g), "tombstone"));
  aId[1] = 250; /* twice */
  ck_assert_int_eq(vec0HnswInsertBatch(g, aId, aKey, NULL, 3, 4), VEC0_HNSW_CORRUPT);
  ck_assert_ptr_nonnull(strstr(vec0HnswErrmsg(g), "twice"));
  aId[1] = 0x7fffffffu;
  ck_assert_int_eq(vec0HnswInsertBatch(g, aId, aKey, NULL, 3, 4), VEC0_HNSW_CORRUPT);
  aId[1] = 252;
  ck_assert_int_eq(vec0HnswInsertBatch(g, aId, aKey, aGrp, 3, 4), VEC0_HNSW_CORRUPT);
  ck_assert_int_eq(vec0HnswIsDirty(g), 0);
  ck_assert_uint_eq(vec0HnswCount(g), 200);
  checkGraph(g, &h, 300);
  closeGraph(g, &h);
  hostFree(&h);
}
END_TEST

/*
** Every allocation of a batch on two threads fails in turn: NOMEM, no
** thread left, nothing leaked; once none fails, the bytes of a clean run.
*/
START_TEST(batch_out_of_memory) {
  Host base, ref;
  unsigned char aHdr[VEC0_HNSW_HEADER_SIZE], aRef[VEC0_HNSW_HEADER_SIZE];
  unsigned char aGot[VEC0_HNSW_HEADER_SIZE];
  uint32_t *aId = idRange(2200, 1, 400);
  const char *zStride = getenv("FAULT_STRIDE");
  long n, nStride = zStride ? atol(zStride) : 1;
  int nFail = 0;
  Vec0Hnsw *g;
  int nBefore = threadsAtRest();
  if (nStride < 1) nStride = 1;
  hostInit(&base, 2600, 8, 10, 69);
  g = build(&base, 2200, 6, 24);
  flushAll(g, &base, aHdr);
  closeGraph(g, &base);
  batchFrom(&base, aHdr, aId, NULL, 400, 1, 2600, &ref, aRef);
  for (n = 1;; n += nStride) {
    Host h;
    int rc;
    hostClone(&h, &base);
    g = reopen(&h, aHdr);
    h.failAt = h.nAlloc + n;
    rc = insertBatch(g, aId, NULL, 400, 2);
    h.failAt = 0;
    ck_assert_int_eq(threadsLeft(nBefore), nBefore);
    if (rc == VEC0_HNSW_OK) {
      checkGraph(g, &h, 2600);
      ck_assert_int_eq(vec0HnswFlush(g, hostWrite, NULL, &h), 0);
      vec0HnswHeaderEncode(g, aGot);
      sameGraph(&ref, aRef, &h, aGot, 2600);
      closeGraph(g, &h);
      hostFree(&h);
      break;
    }
    ck_assert_msg(rc == VEC0_HNSW_NOMEM, "allocation %ld: rc %d", n, rc);
    nFail++;
    closeGraph(g, &h); /* leaks nothing */
    hostFree(&h);
  }
  ck_assert_int_gt(nFail, 10);
  hostFree(&ref);
  free(aId);
  hostFree(&base);
}
END_TEST

/*
** The batch inside an undo scope (how vec0's host drains its queue of
** inserts): a graph with unflushed changes, a batch on two threads whose
** every allocation fails in turn (and once none does), rolled back: the
** graph is as before, its unflushed changes still to flush, no thread
** left; the batch run again then gives the bytes of a batch run without a
** scope.
*/
static void dirtyDeletes(Vec0Hnsw *g) {
  ck_assert_int_eq(vec0HnswDelete(g, 5), 0);
  ck_assert_int_eq(vec0HnswDelete(g, 17), 0);
  ck_assert_int_eq(vec0HnswDelete(g, 300), 0);
}

START_TEST(batch_undone) {
  Host base, ref;
  unsigned char aHdr[VEC0_HNSW_HEADER_SIZE], aRef[VEC0_HNSW_HEADER_SIZE];
  unsigned char aGot[VEC0_HNSW_HEADER_SIZE];
  uint32_t *aId = idRange(2200, 1, 400);
  const char *zStride = getenv("FAULT_STRIDE");
  /* every 16th allocation: the batch reads 2200 nodes first, one allocation each */
  long n, nStride = 16 * (zStride ? atol(zStride) : 1);
  int nFail = 0, bDone = 0;
  Vec0Hnsw *g;
  int nBefore = threadsAtRest();
  if (nStride < 16) nStride = 16;
  if (nStride > 16 * 8) nStride = 16 * 8; /* a sparser sample fails too few */
  hostInit(&base, 2600, 8, 10, 71);
  g = build(&base, 2200, 6, 24);
  flushAll(g, &base, aHdr);
  closeGraph(g, &base);
  hostClone(&ref, &base);
  g = reopen(&ref, aHdr);
  dirtyDeletes(g);
  ck_assert_int_eq(insertBatch(g, aId, NULL, 400, 2), 0);
  flushAll(g, &ref, aRef);
  closeGraph(g, &ref);
  for (n = 1; !bDone; n += nStride) {
    Host h;
    int rc;
    hostClone(&h, &base);
    g = reopen(&h, aHdr);
    dirtyDeletes(g);
    vec0HnswBegin(g);
    h.failAt = h.nAlloc + n;
    rc = insertBatch(g, aId, NULL, 400, 2);
    h.failAt = 0;
    ck_assert_int_eq(threadsLeft(nBefore), nBefore);
    ck_assert_msg(rc == VEC0_HNSW_OK || rc == VEC0_HNSW_NOMEM, "allocation %ld: rc %d", n, rc);
    if (rc == VEC0_HNSW_OK) {
      bDone = 1; /* no allocation failed: undone all the same */
    } else {
      nFail++;
    }
    vec0HnswRollback(g);
    ck_assert_uint_eq(vec0HnswCount(g), 2200);
    ck_assert_int_eq(vec0HnswIsLive(g, 2200), 0);
    ck_assert_int_eq(vec0HnswIsDirty(g), 1);
    vec0HnswBegin(g);
    ck_assert_int_eq(insertBatch(g, aId, NULL, 400, 2), 0);
    vec0HnswCommit(g);
    checkGraph(g, &h, 2600);
    flushAll(g, &h, aGot);
    sameGraph(&ref, aRef, &h, aGot, 2600);
    closeGraph(g, &h);
    hostFree(&h);
  }
  ck_assert_int_gt(nFail, 10);
  hostFree(&ref);
  free(aId);
  hostFree(&base);
}
END_TEST

/*
** The host says stop (xInterrupt) at its Kth call, K spread over the first
** half of the batch (as the calling thread of three threads asks),
** on 1, 2 and 3 threads, inside an undo scope: the batch returns the
** host's code at once (no call after the one that said stop, and the
** distances computed after it are those of the few items under way), no
** thread is left, and the rollback leaves the graph as before; the batch
** run again gives the bytes of one never stopped.
*/
static Vec0Hnsw *reopenStoppable(Host *h, const unsigned char *aHdr) {
  Vec0HnswHost host = hostOf(h);
  Vec0HnswParams par;
  Vec0Hnsw *g = NULL;
  host.xDistance = countDist;
  host.xInterrupt = hostInterrupt;
  par.m = 6;
  par.efConstruction = 24;
  par.seed = 42;
  ck_assert_int_eq(vec0HnswOpen(&host, &par, &g), VEC0_HNSW_OK);
  ck_assert_int_eq(vec0HnswHeaderDecode(g, aHdr, VEC0_HNSW_HEADER_SIZE, 0x7fffffff), 0);
  h->nIntr = h->intrAt = h->nDist = h->nDistAtStop = 0;
  return g;
}

START_TEST(batch_interrupted) {
  Host base, ref;
  unsigned char aHdr[VEC0_HNSW_HEADER_SIZE], aRef[VEC0_HNSW_HEADER_SIZE];
  unsigned char aGot[VEC0_HNSW_HEADER_SIZE];
  uint32_t *aId = idRange(2200, 1, 3000);
  long nCalls, nDistAll, k;
  int t, nBefore = threadsAtRest();
  Vec0Hnsw *g;
  hostInit(&base, 5200, 8, 10, 73);
  g = build(&base, 2200, 6, 24);
  flushAll(g, &base, aHdr);
  closeGraph(g, &base);
  /* never stopped: how often it asks, how much work it does */
  hostClone(&ref, &base);
  g = reopenStoppable(&ref, aHdr);
  dirtyDeletes(g);
  ck_assert_int_eq(insertBatch(g, aId, NULL, 3000, 3), 0);
  nCalls = ref.nIntr; /* the calling thread's: fewer on more threads */
  nDistAll = ref.nDist;
  ck_assert_int_gt(nCalls, 100);
  flushAll(g, &ref, aRef);
  closeGraph(g, &ref);
  for (t = 1; t <= 3; t++) {
    for (k = 1; k < nCalls / 2; k += nCalls / 8) {
      Host h;
      hostClone(&h, &base);
      g = reopenStoppable(&h, aHdr);
      dirtyDeletes(g);
      vec0HnswBegin(g);
      h.intrAt = k;
      ck_assert_int_eq(insertBatch(g, aId, NULL, 3000, t), 9);
      ck_assert_int_eq(h.nIntr, k);
      ck_assert_msg(h.nDist - h.nDistAtStop < nDistAll / 50,
                    "threads %d, stop %ld: %ld distances after it (of %ld)", t, k,
                    h.nDist - h.nDistAtStop, nDistAll);
      ck_assert_int_eq(threadsLeft(nBefore), nBefore);
      vec0HnswRollback(g);
      ck_assert_uint_eq(vec0HnswCount(g), 2200);
      ck_assert_int_eq(vec0HnswIsLive(g, 2200), 0);
      h.intrAt = 0;
      vec0HnswBegin(g);
      ck_assert_int_eq(insertBatch(g, aId, NULL, 3000, t), 0);
      vec0HnswCommit(g);
      flushAll(g, &h, aGot);
      sameGraph(&ref, aRef, &h, aGot, 5200);
      closeGraph(g, &h);
      hostFree(&h);
    }
  }
  hostFree(&ref);
  free(aId);
  hostFree(&base);
}
END_TEST

/*
** Each case is a tag too: `make test-tsan` leaves out "recall", whose
** threads do nothing the others do not, and which is the slow one there.
*/
/* xDistanceMany of a host: exact distances, all of them at once; each
** vector is the one of its id (vec0_index_hnsw.c keys its cosine sums by it). */
static int manyDist(void *pCtx, const void *a, const void *const *apB, const uint32_t *aId,
                    int n, float *aOut) {
  const Host *h = pCtx;
  for (int i = 0; i < n; i++) {
    ck_assert_ptr_eq(h->aVec + (size_t)aId[i] * (size_t)h->dim, apB[i]);
    aOut[i] = hostDist(pCtx, a, apB[i]);
  }
  return 1;
}

/*
** A host's xDistanceMany (what a walk on int8 codes uses: a node's new
** neighbours' distances in one call, also from the batch's threads) gives
** the same graph bytes and the same search results as the bound kernels.
*/
START_TEST(many_distances_same_graph) {
  Host h1, h2;
  Vec0HnswHost host;
  Vec0HnswParams par;
  Vec0Hnsw *g1, *g2;
  unsigned char aHdr1[VEC0_HNSW_HEADER_SIZE], aHdr2[VEC0_HNSW_HEADER_SIZE];
  uint32_t *aId = idRange(0, 1, 3000);
  Vec0HnswResult a1[10], a2[10];
  int n1, n2;
  hostInit(&h1, 3000, 16, 20, 71);
  hostInit(&h2, 3000, 16, 20, 71);
  g1 = openGraph(&h1, 8, 40);
  host = hostOf(&h2);
  host.xDistanceMany = manyDist;
  par.m = 8;
  par.efConstruction = 40;
  par.seed = 42;
  ck_assert_int_eq(vec0HnswOpen(&host, &par, &g2), VEC0_HNSW_OK);
  ck_assert_int_eq(insertBatch(g1, aId, NULL, 2500, 2), 0);
  ck_assert_int_eq(insertBatch(g2, aId, NULL, 2500, 2), 0);
  for (uint32_t i = 2500; i < 3000; i++) {
    ck_assert_int_eq(vec0HnswInsert(g1, i, (uint64_t)i * 7 + 1, 0), 0);
    ck_assert_int_eq(vec0HnswInsert(g2, i, (uint64_t)i * 7 + 1, 0), 0);
  }
  for (int iq = 0; iq < 40; iq++) {
    const float *q = h1.aVec + (size_t)((iq * 997) % 3000) * h1.dim;
    ck_assert_int_eq(vec0HnswSearch(g1, 0, q, 10, 20 + iq, NULL, NULL, a1, &n1), 0);
    ck_assert_int_eq(vec0HnswSearch(g2, 0, q, 10, 20 + iq, NULL, NULL, a2, &n2), 0);
    ck_assert_int_eq(n1, n2);
    ck_assert_mem_eq(a1, a2, sizeof(a1[0]) * (size_t)n1);
  }
  flushAll(g1, &h1, aHdr1);
  flushAll(g2, &h2, aHdr2);
  sameGraph(&h1, aHdr1, &h2, aHdr2, 3000);
  closeGraph(g1, &h1);
  closeGraph(g2, &h2);
  hostFree(&h1);
  hostFree(&h2);
  free(aId);
}
END_TEST

/*
** The prefault helper populates a block while this thread writes it: every
** byte is what this thread wrote (the helper never writes), Stop leaves no
** thread, and Stop of a stopped (or never started) helper does nothing.
*/
START_TEST(prefault_while_writing) {
  const size_t huge = (size_t)2 << 20, n = 24 * huge;
  unsigned char *a = malloc(n);
  Vec0MemPrefault f, none;
  int nBefore = threadsAtRest();
  size_t i;
  memset(&f, 0, sizeof(f));
  memset(&none, 0, sizeof(none));
  ck_assert_ptr_nonnull(a);
  vec0MemAdviseHuge(a, n);
  vec0MemPrefaultStart(&f, a, n);
  vec0MemPrefaultStart(&f, a, n); /* already started: nothing more */
  for (i = 0; i < n; i++) a[i] = (unsigned char)(i * 7 + i / 4096);
  vec0MemPrefaultStop(&f);
  ck_assert_int_eq(vec0MemPrefaultCount(0), 0);
  ck_assert_int_eq(threadsLeft(nBefore), nBefore);
  for (i = 0; i < n; i++) {
    if (a[i] != (unsigned char)(i * 7 + i / 4096)) ck_abort_msg("byte %zu changed", i);
  }
  vec0MemPrefaultStop(&f);
  vec0MemPrefaultStop(&none);
  /* Stopped at once: joined before it got far, still no thread left. */
  vec0MemPrefaultStart(&f, a, n);
  vec0MemPrefaultStop(&f);
  ck_assert_int_eq(vec0MemPrefaultCount(0), 0);
  ck_assert_int_eq(threadsLeft(nBefore), nBefore);
  free(a);
}
END_TEST

static TCase *newCase(Suite *s, const char *zName) {
  TCase *tc = tcase_create(zName);
  tcase_set_tags(tc, zName);
  tcase_set_timeout(tc, 120);
  suite_add_tcase(s, tc);
  return tc;
}

static Suite *batchSuite(void) {
  Suite *s = suite_create("hnsw_batch");
  TCase *tc = newCase(s, "bytes");
  tcase_add_test(tc, batch_same_bytes);
  tcase_add_test(tc, batch_after_changes);
  tcase_add_test(tc, batch_through_tombstones);
  tcase_add_test(tc, batch_groups);
  tc = newCase(s, "recall");
  tcase_add_loop_test(tc, batch_recall, 0, 2);
  tc = newCase(s, "errors");
  tcase_add_test(tc, batch_refused);
  tcase_add_test(tc, many_distances_same_graph);
  tcase_add_test(tc, batch_out_of_memory);
  tcase_add_test(tc, batch_undone);
  tcase_add_test(tc, batch_interrupted);
  tc = newCase(s, "prefault");
  tcase_add_test(tc, prefault_while_writing);
  return s;
}

/*
** Then the batches on reopened graphs again, with every such graph keeping
** its level-0 rows in read order (vec0HnswArenaMin; see check_hnsw.c): the
** same bytes for any thread count, and a failed batch undone.
*/
static Suite *arenaSuite(void) {
  Suite *s = suite_create("hnsw_batch, rows in read order");
  TCase *tc = newCase(s, "arena");
  tcase_add_test(tc, batch_same_bytes);
  tcase_add_test(tc, batch_groups);
  /* left out of make test-tsan, whose time these would double */
  tc = newCase(s, "arena-more");
  tcase_add_test(tc, batch_after_changes);
  tcase_add_test(tc, batch_through_tombstones);
  tcase_add_test(tc, batch_undone);
  return s;
}

int main(void) {
  int nFailed = 0;
  for (int bArena = 0; bArena <= 1; bArena++) {
    SRunner *sr = srunner_create(bArena ? arenaSuite() : batchSuite());
    if (bArena) vec0HnswArenaMin = 0;
    srunner_run_all(sr, CK_NORMAL);
    nFailed += srunner_ntests_failed(sr);
    srunner_free(sr);
  }
  return nFailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
