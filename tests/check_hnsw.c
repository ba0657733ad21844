/*
** check_hnsw.c: unit tests of the HNSW graph (src/vec0_hnsw.c), without
** SQLite.  The tests play the host of tests/hnsw_host.h.  Everything here
** is static so the test links beside every other object of the project.
*/
#include "hnsw_host.h"
#include "vec0_mem.h"

START_TEST(recall_uniform) {
  Host h;
  Vec0Hnsw *g;
  double r;
  hostInit(&h, 5000, 32, 0, 1);
  g = build(&h, 5000, 16, 100);
  r = recall(g, &h, 5000, 200, 10, 64, NULL, 99);
  ck_assert_msg(r >= 0.95, "recall %.3f", r);
  r = recall(g, &h, 5000, 100, 10, 128, NULL, 98);
  ck_assert_msg(r >= 0.97, "recall %.3f at ef 128", r);
  checkGraph(g, &h, 5000);
  closeGraph(g, &h);
  hostFree(&h);
}
END_TEST

START_TEST(recall_clustered) {
  Host h;
  Vec0Hnsw *g;
  double r;
  hostInit(&h, 5000, 32, 20, 2);
  g = build(&h, 5000, 16, 100);
  r = recall(g, &h, 5000, 200, 10, 64, NULL, 97);
  ck_assert_msg(r >= 0.95, "recall %.3f", r);
  checkGraph(g, &h, 5000);
  closeGraph(g, &h);
  hostFree(&h);
}
END_TEST

START_TEST(small_graphs) {
  Host h;
  Vec0Hnsw *g;
  Vec0HnswResult aRes[8];
  int nRes = -1, i;
  hostInit(&h, 5, 4, 0, 3);
  g = openGraph(&h, 4, 10);
  ck_assert_int_eq(vec0HnswSearch(g, 0, h.aVec, 3, 10, NULL, NULL, aRes, &nRes), 0);
  ck_assert_int_eq(nRes, 0);
  ck_assert_int_eq(vec0HnswIsDirty(g), 0);
  for (i = 0; i < 5; i++) {
    ck_assert_int_eq(vec0HnswInsert(g, (uint32_t)i, (uint64_t)i, 0), 0);
    ck_assert_int_eq(vec0HnswSearch(g, 0, h.aVec + 4 * i, 8, 1, NULL, NULL, aRes, &nRes), 0);
    ck_assert_int_eq(nRes, i + 1);
    ck_assert_uint_eq(aRes[0].id, (uint32_t)i);
    ck_assert(aRes[0].distance == 0.0f);
  }
  ck_assert_uint_eq(vec0HnswCount(g), 5);
  ck_assert_int_eq(vec0HnswIsDirty(g), 1);
  ck_assert_int_eq(vec0HnswSearch(g, 0, h.aVec, 0, 10, NULL, NULL, aRes, &nRes), 0);
  ck_assert_int_eq(nRes, 0);
  /* Misuse reported as corruption, never a crash. */
  ck_assert_int_eq(vec0HnswInsert(g, 2, 2, 0), VEC0_HNSW_CORRUPT);
  ck_assert_int_eq(vec0HnswDelete(g, 9), VEC0_HNSW_CORRUPT);
  ck_assert_int_eq(vec0HnswUpdate(g, 9), VEC0_HNSW_CORRUPT);
  ck_assert_int_eq(vec0HnswDelete(g, 1), 0);
  ck_assert_int_eq(vec0HnswDelete(g, 1), VEC0_HNSW_CORRUPT);
  ck_assert_int_eq(vec0HnswUpdate(g, 1), VEC0_HNSW_CORRUPT);
  ck_assert_int_eq(vec0HnswIsLive(g, 1), 0);
  ck_assert_int_eq(vec0HnswIsLive(g, 2), 1);
  ck_assert_int_eq(vec0HnswIsLive(g, 77), 0);
  ck_assert_uint_eq(vec0HnswCount(g), 5);
  checkGraph(g, &h, 5);
  closeGraph(g, &h);
  hostFree(&h);
}
END_TEST

START_TEST(levels) {
  Host h;
  Vec0Hnsw *g;
  int aHist[VEC0_HNSW_MAX_LEVEL + 1] = {0}, i;
  memset(&h, 0, sizeof(h));
  g = openGraph(&h, 16, 100);
  for (i = 0; i < 100000; i++) {
    int l = vec0HnswLevel(g, (uint64_t)i);
    ck_assert(l >= 0 && l <= VEC0_HNSW_MAX_LEVEL);
    ck_assert_int_eq(l, vec0HnswLevel(g, (uint64_t)i));
    aHist[l]++;
  }
  /* P(level >= 1) = 1/m. */
  ck_assert(aHist[0] > 92000 && aHist[0] < 95500);
  ck_assert(aHist[1] > 5000 && aHist[1] < 7000);
  closeGraph(g, &h);
}
END_TEST

START_TEST(determinism) {
  Host h1, h2;
  Vec0Hnsw *g1, *g2;
  unsigned char a1[VEC0_HNSW_HEADER_SIZE], a2[VEC0_HNSW_HEADER_SIZE];
  uint32_t i;
  hostInit(&h1, 2000, 16, 10, 4);
  hostInit(&h2, 2000, 16, 10, 4);
  g1 = build(&h1, 2000, 8, 50);
  g2 = build(&h2, 2000, 8, 50);
  for (i = 0; i < 2000; i += 3) {
    ck_assert_int_eq(vec0HnswDelete(g1, i), 0);
    ck_assert_int_eq(vec0HnswDelete(g2, i), 0);
  }
  for (i = 0; i < 2000; i += 9) {
    ck_assert_int_eq(vec0HnswInsert(g1, i, i, 0), 0);
    ck_assert_int_eq(vec0HnswInsert(g2, i, i, 0), 0);
  }
  flushAll(g1, &h1, a1);
  flushAll(g2, &h2, a2);
  ck_assert_mem_eq(a1, a2, sizeof(a1));
  ck_assert_uint_eq(h1.nRec, h2.nRec);
  for (i = 0; i < 2000; i++) {
    ck_assert_ptr_nonnull(h1.aRec[i].a);
    ck_assert_int_eq(h1.aRec[i].n, h2.aRec[i].n);
    ck_assert_mem_eq(h1.aRec[i].a, h2.aRec[i].a, (size_t)h1.aRec[i].n);
  }
  closeGraph(g1, &h1);
  closeGraph(g2, &h2);
  hostFree(&h1);
  hostFree(&h2);
}
END_TEST

static int nWrites;
static uint32_t lastWrite;
static int countWrite(void *pCtx, uint32_t id, const unsigned char *a, int n) {
  ck_assert(nWrites == 0 || id > lastWrite);
  lastWrite = id;
  nWrites++;
  return hostWrite(pCtx, id, a, n);
}
static int failWrite(void *pCtx, uint32_t id, const unsigned char *a, int n) {
  return 1234;
}

START_TEST(flush_dirty_only) {
  Host h;
  Vec0Hnsw *g;
  unsigned char aHdr[VEC0_HNSW_HEADER_SIZE];
  hostInit(&h, 600, 8, 0, 5);
  g = build(&h, 500, 8, 40);
  nWrites = 0;
  ck_assert_int_eq(vec0HnswFlush(g, countWrite, NULL, &h), 0);
  ck_assert_int_eq(nWrites, 500);
  ck_assert_int_eq(vec0HnswIsDirty(g), 0);
  ck_assert_int_eq(vec0HnswInsert(g, 500, 500, 0), 0);
  ck_assert_int_eq(vec0HnswIsDirty(g), 1);
  /* A failing writer leaves the marks. */
  ck_assert_int_eq(vec0HnswFlush(g, failWrite, NULL, &h), 1234);
  ck_assert_int_eq(vec0HnswIsDirty(g), 1);
  nWrites = 0;
  ck_assert_int_eq(vec0HnswFlush(g, countWrite, NULL, &h), 0);
  ck_assert(nWrites > 1 && nWrites <= 1 + 2 * 8 + 8);
  vec0HnswHeaderEncode(g, aHdr);
  closeGraph(g, &h);
  /* The reopened graph sees the new node. */
  g = reopen(&h, aHdr);
  ck_assert_uint_eq(vec0HnswCount(g), 501);
  ck_assert_int_eq(vec0HnswIsLive(g, 500), 1);
  checkGraph(g, &h, 501);
  closeGraph(g, &h);
  hostFree(&h);
}
END_TEST

START_TEST(reopen_same_results) {
  Host h;
  Vec0Hnsw *g, *g2;
  unsigned char aHdr[VEC0_HNSW_HEADER_SIZE];
  Vec0HnswResult a1[10], a2[10];
  int iq, n1, n2;
  hostInit(&h, 5000, 32, 0, 6);
  g = build(&h, 5000, 16, 100);
  flushAll(g, &h, aHdr);
  h.nReads = 0;
  g2 = reopen(&h, aHdr);
  ck_assert_uint_eq(vec0HnswCount(g2), 5000);
  ck_assert_int_eq(vec0HnswIsDirty(g2), 0);
  for (iq = 0; iq < 50; iq++) {
    const float *q = h.aVec + (size_t)(iq * 97) * h.dim;
    ck_assert_int_eq(vec0HnswSearch(g, 0, q, 10, 64, NULL, NULL, a1, &n1), 0);
    ck_assert_int_eq(vec0HnswSearch(g2, 0, q, 10, 64, NULL, NULL, a2, &n2), 0);
    ck_assert_int_eq(n1, n2);
    ck_assert_mem_eq(a1, a2, sizeof(a1[0]) * (size_t)n1);
    /* The first search read only what it visited. */
    if (iq == 0) ck_assert(h.nReads > 0 && h.nReads < 2500);
  }
  ck_assert_int_eq(vec0HnswIsDirty(g2), 0);
  vec0HnswClose(g2);
  closeGraph(g, &h);
  hostFree(&h);
}
END_TEST

/* g and g2 write the same header and records (of ids below n); then both
** are closed and their hosts freed. */
static void closeSame(Vec0Hnsw *g, Host *h, Vec0Hnsw *g2, Host *h2, uint32_t n) {
  unsigned char aHdr[VEC0_HNSW_HEADER_SIZE], aHdr2[VEC0_HNSW_HEADER_SIZE];
  flushAll(g, h, aHdr);
  flushAll(g2, h2, aHdr2);
  ck_assert_mem_eq(aHdr, aHdr2, sizeof(aHdr));
  sameRecords(h, h2, n);
  closeGraph(g, h);
  closeGraph(g2, h2);
  hostFree(h);
  hostFree(h2);
}

/* Searches of g and g2 (the same graph) agree, from query iq on. */
static void sameSearches(Vec0Hnsw *g, Vec0Hnsw *g2, Host *h, int iq0, int nQ) {
  Vec0HnswResult a1[10], a2[10];
  int iq, n1, n2;
  for (iq = iq0; iq < iq0 + nQ; iq++) {
    const float *q = h->aVec + (size_t)((iq * 7919) % (int)h->nVec) * h->dim;
    ck_assert_int_eq(vec0HnswSearch(g, 0, q, 10, 64, NULL, NULL, a1, &n1), 0);
    ck_assert_int_eq(vec0HnswSearch(g2, 0, q, 10, 64, NULL, NULL, a2, &n2), 0);
    ck_assert_int_eq(n1, n2);
    ck_assert_mem_eq(a1, a2, sizeof(a1[0]) * (size_t)n1);
  }
}

/*
** Stamps that start again every few walks (vec0HnswGenMax) change nothing:
** the same results and the same records as a graph built with the default,
** with tombstones and revived nodes (whose flags aPlainBm mirrors, checked
** by vec0HnswCheck after each step).
*/
START_TEST(stamps_wrap) {
  Host h1, h2;
  Vec0Hnsw *g1, *g2;
  uint32_t i;
  hostInit(&h1, 1500, 16, 10, 21);
  hostInit(&h2, 1500, 16, 10, 21);
  g1 = build(&h1, 1500, 8, 40);
  vec0HnswGenMax = 5;
  g2 = build(&h2, 1500, 8, 40);
  checkGraph(g2, &h2, 1500);
  for (i = 0; i < 1500; i += 4) {
    ck_assert_int_eq(vec0HnswDelete(g1, i), 0);
    ck_assert_int_eq(vec0HnswDelete(g2, i), 0);
  }
  checkGraph(g2, &h2, 1500);
  sameSearches(g1, g2, &h1, 0, 40);
  for (i = 0; i < 1500; i += 12) {
    ck_assert_int_eq(vec0HnswInsert(g1, i, i, 0), 0);
    ck_assert_int_eq(vec0HnswInsert(g2, i, i, 0), 0);
  }
  checkGraph(g2, &h2, 1500);
  sameSearches(g1, g2, &h1, 40, 40);
  closeSame(g1, &h1, g2, &h2, 1500);
  vec0HnswGenMax = 0x7fffffffu;
}
END_TEST

/*
** A lazily read graph whose link array is big enough to hold huge pages
** (ids up to 40 000) asks for them halfway through its reads and turns its
** links into huge pages a step at a time between searches, the rows in use
** only; searches and inserts agree with the graph that was built throughout.
*/
START_TEST(huge_pages_move) {
  Host h;
  Vec0Hnsw *g, *g2;
  unsigned char aHdr[VEC0_HNSW_HEADER_SIZE];
  uint32_t i;
  int nStep = 0;
  hostInit(&h, 40000, 8, 0, 11);
  g = openGraph(&h, 16, 100);
  for (i = 0; i < 1000; i++) {
    ck_assert_int_eq(vec0HnswInsert(g, i * 40, (uint64_t)i * 7 + 1, 0), 0);
  }
  flushAll(g, &h, aHdr);
  g2 = reopen(&h, aHdr);
  ck_assert_int_eq(vec0HnswHugeStep(g2, (size_t)2 << 20), 1); /* not asked yet */
  sameSearches(g, g2, &h, 0, 20);
  vec0HnswUseHugePages(g2);
  vec0HnswUseHugePages(g2); /* a second call does nothing */
  while (!vec0HnswHugeStep(g2, (size_t)2 << 20)) {
    sameSearches(g, g2, &h, 20 + nStep, 1);
    ck_assert_int_lt(++nStep, 100);
  }
  /* Only the rows of ids below 40 000 (5.3 MB: two whole 2 MiB pages) are
  ** collapsed, not the array's room for 65 536: two steps, the first
  ** reporting more to do.  (If the kernel refuses MADV_COLLAPSE the first
  ** step reports it done.) */
  ck_assert_int_le(nStep, 1);
  sameSearches(g, g2, &h, 0, 40);
  for (i = 0; i < 200; i++) {
    uint64_t key = (uint64_t)i * 13 + 5;
    ck_assert_int_eq(vec0HnswInsert(g, i * 40 + 1, key, 0), 0);
    ck_assert_int_eq(vec0HnswInsert(g2, i * 40 + 1, key, 0), 0);
  }
  sameSearches(g, g2, &h, 40, 40);
  checkGraph(g2, &h, 40000);
  vec0HnswClose(g2);
  closeGraph(g, &h);
  hostFree(&h);
}
END_TEST

/*
** A reopened graph whose rows are in read order (the second run of the
** suite) moves them to their ids' places when told (vec0HnswArenaEnd),
** part of the graph read, part not: searches, the nodes read after it, and
** inserts and deletes then agree with the graph built throughout, and the
** records flushed are the same bytes.
*/
START_TEST(arena_end_same_graph) {
  Host h, h2;
  Vec0Hnsw *g, *g2;
  unsigned char aHdr[VEC0_HNSW_HEADER_SIZE];
  uint32_t i;
  hostInit(&h, 6000, 16, 0, 12);
  g = build(&h, 5000, 16, 100);
  flushAll(g, &h, aHdr);
  hostClone(&h2, &h);
  g2 = reopen(&h2, aHdr);
  sameSearches(g, g2, &h, 0, 15); /* some nodes read, most not */
  /* without memory for the new block, or for the map, nothing moves */
  for (int f = 1; f <= 2; f++) {
    h2.failAt = h2.nAlloc + f;
    ck_assert_int_eq(vec0HnswArenaEnd(g2), vec0HnswArenaMin ? VEC0_HNSW_OK : VEC0_HNSW_NOMEM);
    h2.failAt = 0;
    sameSearches(g, g2, &h, 15, 5);
  }
  ck_assert_int_eq(vec0HnswArenaEnd(g2), VEC0_HNSW_OK);
  ck_assert_int_eq(vec0HnswArenaEnd(g2), VEC0_HNSW_OK); /* a second call does nothing */
  sameSearches(g, g2, &h, 15, 40);
  for (i = 5000; i < 5400; i++) {
    ck_assert_int_eq(vec0HnswInsert(g, i, (uint64_t)i * 3 + 1, 0), 0);
    ck_assert_int_eq(vec0HnswInsert(g2, i, (uint64_t)i * 3 + 1, 0), 0);
  }
  for (i = 0; i < 300; i += 7) {
    ck_assert_int_eq(vec0HnswDelete(g, i), 0);
    ck_assert_int_eq(vec0HnswDelete(g2, i), 0);
  }
  sameSearches(g, g2, &h, 55, 40);
  checkGraph(g2, &h2, 5400);
  closeSame(g, &h, g2, &h2, 5400);
}
END_TEST

/*
** vec0MemCollapseHuge walks the whole 2 MiB pages of a block a step at a
** time and leaves its bytes as they were; a block without one is done.
*/
START_TEST(collapse_huge_steps) {
  const size_t huge = (size_t)2 << 20, n = 9 * huge;
  unsigned char *a = malloc(n), small[100];
  size_t done = 0, i;
  int nCall = 0, r;
  ck_assert_ptr_nonnull(a);
  for (i = 0; i < n; i++) a[i] = (unsigned char)(i * 31 + i / 4096);
  do {
    size_t before = done;
    r = vec0MemCollapseHuge(a, n, &done, huge);
    ck_assert(done >= before && done <= n);
    ck_assert_int_le(++nCall, 9);
  } while (!r);
  ck_assert_int_eq(vec0MemCollapseHuge(a, n, &done, huge), 1); /* stays done */
  for (i = 0; i < n; i++) {
    if (a[i] != (unsigned char)(i * 31 + i / 4096)) ck_abort_msg("byte %zu changed", i);
  }
  free(a);
  done = 0;
  ck_assert_int_eq(vec0MemCollapseHuge(small, sizeof(small), &done, huge), 1);
}
END_TEST

START_TEST(delete_half) {
  Host h;
  Vec0Hnsw *g;
  unsigned char aDead[5000] = {0}, aHdr[VEC0_HNSW_HEADER_SIZE];
  Live l = {0};
  double r;
  uint32_t i;
  hostInit(&h, 5000, 32, 20, 7);
  g = build(&h, 5000, 16, 100);
  for (i = 0; i < 5000; i++) {
    if ((i * 2654435761u) >> 31) {
      ck_assert_int_eq(vec0HnswDelete(g, i), 0);
      aDead[i] = 1;
    }
  }
  ck_assert_uint_eq(vec0HnswCount(g), 5000);
  l.aDead = aDead;
  r = recall(g, &h, 5000, 200, 10, 64, &l, 11);
  ck_assert_msg(r >= 0.95, "recall %.3f", r);
  checkGraph(g, &h, 5000);
  flushAll(g, &h, aHdr);
  closeGraph(g, &h);
  g = reopen(&h, aHdr);
  r = recall(g, &h, 5000, 100, 10, 64, &l, 12);
  ck_assert_msg(r >= 0.95, "recall %.3f after reopen", r);
  closeGraph(g, &h);
  hostFree(&h);
}
END_TEST

START_TEST(delete_almost_all) {
  Host h;
  Vec0Hnsw *g;
  unsigned char aDead[2000];
  Live l = {0};
  uint32_t i;
  hostInit(&h, 2000, 16, 0, 8);
  g = build(&h, 2000, 8, 50);
  memset(aDead, 1, sizeof(aDead));
  for (i = 0; i < 2000; i++) {
    if (i % 150 == 7) {
      aDead[i] = 0;
      continue;
    }
    ck_assert_int_eq(vec0HnswDelete(g, i), 0);
  }
  l.aDead = aDead;
  /* 14 live nodes: a search must still return 10 of them. */
  recall(g, &h, 2000, 20, 10, 10, &l, 13);
  closeGraph(g, &h);
  hostFree(&h);
}
END_TEST

START_TEST(reinsert_tombstones) {
  Host h;
  Vec0Hnsw *g;
  float *aNew;
  uint32_t i;
  double r;
  Vec0HnswResult aRes[10];
  int nRes;
  hostInit(&h, 5000, 32, 0, 9);
  aNew = malloc(sizeof(float) * 5000 * 32);
  fillVectors(aNew, 5000, 32, 0, 10);
  g = build(&h, 5000, 16, 100);
  for (i = 0; i < 5000; i += 4) ck_assert_int_eq(vec0HnswDelete(g, i), 0);
  /* Reuse every deleted slot for a new vector. */
  for (i = 0; i < 5000; i += 4) {
    memcpy(h.aVec + (size_t)i * 32, aNew + (size_t)i * 32, sizeof(float) * 32);
    ck_assert_int_eq(vec0HnswInsert(g, i, 100000 + i, 0), 0);
    ck_assert_int_eq(vec0HnswIsLive(g, i), 1);
  }
  ck_assert_uint_eq(vec0HnswCount(g), 5000);
  for (i = 0; i < 5000; i += 40) {
    ck_assert_int_eq(vec0HnswSearch(g, 0, h.aVec + (size_t)i * 32, 1, 64, NULL, NULL, aRes, &nRes), 0);
    ck_assert_int_eq(nRes, 1);
    ck_assert_uint_eq(aRes[0].id, i);
  }
  r = recall(g, &h, 5000, 200, 10, 64, NULL, 14);
  ck_assert_msg(r >= 0.95, "recall %.3f", r);
  checkGraph(g, &h, 5000);
  closeGraph(g, &h);
  free(aNew);
  hostFree(&h);
}
END_TEST

START_TEST(update_vectors) {
  Host h;
  Vec0Hnsw *g;
  float *aNew;
  uint32_t i;
  double r;
  Vec0HnswResult aRes[10];
  int nRes;
  hostInit(&h, 5000, 32, 20, 15);
  aNew = malloc(sizeof(float) * 5000 * 32);
  fillVectors(aNew, 5000, 32, 20, 16);
  g = build(&h, 5000, 16, 100);
  for (i = 1; i < 5000; i += 5) {
    memcpy(h.aVec + (size_t)i * 32, aNew + (size_t)i * 32, sizeof(float) * 32);
    ck_assert_int_eq(vec0HnswUpdate(g, i), 0);
  }
  for (i = 1; i < 5000; i += 50) {
    ck_assert_int_eq(vec0HnswSearch(g, 0, h.aVec + (size_t)i * 32, 1, 64, NULL, NULL, aRes, &nRes), 0);
    ck_assert_uint_eq(aRes[0].id, i);
  }
  r = recall(g, &h, 5000, 200, 10, 64, NULL, 17);
  ck_assert_msg(r >= 0.95, "recall %.3f", r);
  checkGraph(g, &h, 5000);
  closeGraph(g, &h);
  free(aNew);
  hostFree(&h);
}
END_TEST

/* n vectors of 16 dims around 12 centres in [0, 4), spread as wide. */
static void fillOverlapping(float *a, uint32_t n, uint64_t seed) {
  float c[12 * 16];
  uint32_t i, j;
  rngState = seed;
  for (i = 0; i < 12 * 16; i++) c[i] = frand() * 4.0f;
  for (i = 0; i < n; i++) {
    const float *ci = c + (rng() % 12) * 16;
    for (j = 0; j < 16; j++) a[(size_t)i * 16 + j] = ci[j] + (frand() - 0.5f) * 2.0f;
  }
}

/*
** Small lists (m = 2, 3 and 4: 4, 6 and 8 links at level 0) fill up, and
** a node pruned from its last in-list by an update or a revival had nowhere
** to go: live nodes became unreachable (this loop failed the check within a
** few hundred writes at m = 2 and 3 before vec0HnswRepairLost).  Each write
** is checked.
*/
START_TEST(small_lists_keep_reachable) {
  int m = 2 + _i;
  Host h;
  Vec0Hnsw *g;
  float *aNew;
  uint32_t i, n = 2000;
  hostInit(&h, (int)n, 16, 12, 1);
  fillOverlapping(h.aVec, n, 30 + (uint64_t)m);
  aNew = malloc(sizeof(float) * n * 16);
  fillOverlapping(aNew, n, 40 + (uint64_t)m);
  g = build(&h, (int)n, m, 32);
  checkGraph(g, &h, n);
  for (i = 0; i < n; i += 3) {
    memcpy(h.aVec + (size_t)i * 16, aNew + (size_t)i * 16, sizeof(float) * 16);
    ck_assert_int_eq(vec0HnswUpdate(g, i), 0);
    checkGraph(g, &h, n);
    if (i % 9 == 3) {
      ck_assert_int_eq(vec0HnswDelete(g, i + 1), 0);
      ck_assert_int_eq(vec0HnswInsert(g, i + 1, (uint64_t)(i + 1) * 7 + 1, 0), 0);
      checkGraph(g, &h, n);
    }
  }
  closeGraph(g, &h);
  free(aNew);
  hostFree(&h);
}
END_TEST

/*
** Many exact copies of each vector: a query near one of them must find k of
** its copies.  Copies are at one distance from any query, so they used to
** fill the walk's ef places as ef different nodes would, and the walk stopped
** among the copies of the first vector it reached, not the nearest one
** (recall 0.82 at ef 10, 0.85 at ef 40 here).  Counted by distance: any
** copy is as good an answer as another.
*/
static int cmpFloat(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

START_TEST(copies_recall) {
  const int nBase = 200, nCopy = 25, dim = 32, n = nBase * nCopy, k = 10;
  Host h;
  Vec0Hnsw *g;
  float *aBase = malloc(sizeof(float) * (size_t)nBase * dim), *q = malloc(sizeof(float) * dim);
  float *aD = malloc(sizeof(float) * (size_t)n);
  Vec0HnswResult aRes[10];
  hostInit(&h, n, dim, 0, 1);
  fillVectors(aBase, nBase, dim, 0, 7);
  for (int i = 0; i < n; i++) {
    /* the copies of one vector far apart in insertion order */
    int b = (int)((uint64_t)i * 7919 % (uint64_t)nBase);
    memcpy(h.aVec + (size_t)i * dim, aBase + (size_t)b * dim, sizeof(float) * dim);
  }
  g = build(&h, n, 16, 100);
  for (int e = 0; e < 2; e++) {
    int ef = e ? 40 : 10;
    long nHit = 0;
    for (int iq = 0; iq < 200; iq++) {
      int nRes = 0;
      float dK;
      rngState = 1000 + (uint64_t)iq;
      memcpy(q, aBase + (size_t)(iq % nBase) * dim, sizeof(float) * dim);
      for (int j = 0; j < dim; j++) q[j] += (frand() - 0.5f) * 0.5f;
      for (int i = 0; i < n; i++) aD[i] = hostDist(&h, q, h.aVec + (size_t)i * dim);
      qsort(aD, (size_t)n, sizeof(float), cmpFloat);
      dK = aD[k - 1];
      ck_assert_int_eq(vec0HnswSearch(g, 0, q, k, ef, NULL, NULL, aRes, &nRes), 0);
      ck_assert_int_eq(nRes, k);
      for (int i = 0; i < nRes; i++) {
        if (i > 0) ck_assert(aRes[i].distance >= aRes[i - 1].distance);
        nHit += aRes[i].distance <= dK;
      }
    }
    ck_assert_msg(nHit >= (e ? 1960 : 1900), "recall by distance %.3f at ef %d",
                  nHit / 2000.0, ef);
  }
  checkGraph(g, &h, (uint32_t)n);
  closeGraph(g, &h);
  free(aBase);
  free(q);
  free(aD);
  hostFree(&h);
}
END_TEST

START_TEST(filtered_search) {
  Host h;
  Vec0Hnsw *g;
  unsigned char aDead[5000] = {0};
  Live l = {0};
  double r;
  uint32_t i;
  hostInit(&h, 5000, 32, 0, 18);
  g = build(&h, 5000, 16, 100);
  l.mod = 10;
  l.rem = 3;
  r = recall(g, &h, 5000, 200, 10, 64, &l, 19);
  ck_assert_msg(r >= 0.95, "recall %.3f with a 10%% filter", r);
  /* 1 %: still only accepted ids, k of them when found. */
  l.mod = 100;
  l.rem = 42;
  r = recall(g, &h, 5000, 50, 10, 64, &l, 20);
  ck_assert_msg(r >= 0.9, "recall %.3f with a 1%% filter", r);
  /* Filter and tombstones together. */
  for (i = 0; i < 5000; i += 2) {
    ck_assert_int_eq(vec0HnswDelete(g, i), 0);
    aDead[i] = 1;
  }
  l.aDead = aDead;
  l.mod = 10;
  l.rem = 5;
  r = recall(g, &h, 5000, 100, 10, 64, &l, 21);
  ck_assert_msg(r >= 0.9, "recall %.3f with filter and deletions", r);
  closeGraph(g, &h);
  hostFree(&h);
}
END_TEST

static int rejectAll(void *pCtx, uint32_t id) { return 0; }

START_TEST(filter_rejecting_all) {
  Host h;
  Vec0Hnsw *g;
  Vec0HnswResult aRes[10];
  int nRes = -1;
  hostInit(&h, 3000, 16, 0, 22);
  g = build(&h, 3000, 8, 40);
  ck_assert_int_eq(vec0HnswSearch(g, 0, h.aVec, 10, 32, rejectAll, NULL, aRes, &nRes), 0);
  ck_assert_int_eq(nRes, 0);
  closeGraph(g, &h);
  hostFree(&h);
}
END_TEST

/* A flushed 300-node graph whose record of node `id` tests then damage. */
static Vec0Hnsw *flushed(Host *h, unsigned char *aHdr) {
  Vec0Hnsw *g;
  hostInit(h, 300, 8, 0, 23);
  g = build(h, 300, 4, 20);
  flushAll(g, h, aHdr);
  vec0HnswClose(g);
  ck_assert_int_eq(h->nLive, 0);
  return reopen(h, aHdr);
}

/* Reopens and expects both a full search walk and the check to fail. */
static void expectCorrupt(Host *h, const unsigned char *aHdr, const char *zMsg) {
  Vec0Hnsw *g = reopen(h, aHdr);
  Vec0HnswResult aRes[300];
  char *zErr = NULL;
  int nRes, rc;
  rc = vec0HnswSearch(g, 0, h->aVec, 300, 300, NULL, NULL, aRes, &nRes);
  ck_assert_int_eq(rc, VEC0_HNSW_CORRUPT);
  closeGraph(g, h);
  g = reopen(h, aHdr);
  rc = vec0HnswCheck(g, 300, &zErr);
  ck_assert_int_eq(rc, VEC0_HNSW_CORRUPT);
  ck_assert_ptr_nonnull(zErr);
  if (zMsg) ck_assert_msg(strstr(zErr, zMsg) != NULL, "message: %s", zErr);
  shimFree(h, zErr);
  closeGraph(g, h);
}

/* A node of level 0 (lMin 0) or >= lMin, with at least one link at level 0. */
static uint32_t nodeOfLevel(Host *h, int lMin) {
  uint32_t i;
  for (i = 0; i < 300; i++) {
    if ((lMin == 0 ? h->aRec[i].a[0] == 0 : h->aRec[i].a[0] >= lMin) && h->aRec[i].a[4] > 0) return i;
  }
  ck_abort_msg("no node of level %d", lMin);
  return 0;
}

static void setRec(Host *h, uint32_t id, const unsigned char *a, int n) {
  unsigned char *c = malloc((size_t)n);
  memcpy(c, a, (size_t)n);
  free(h->aRec[id].a);
  h->aRec[id].a = c;
  h->aRec[id].n = n;
}

START_TEST(corrupt_records) {
  Host h;
  unsigned char aHdr[VEC0_HNSW_HEADER_SIZE], *a;
  uint32_t id;
  int n, i;
  Vec0Hnsw *g = flushed(&h, aHdr);
  checkGraph(g, &h, 300);
  closeGraph(g, &h);
  id = nodeOfLevel(&h, 0);
  n = h.aRec[id].n;
  a = malloc((size_t)n + 8);
  memcpy(a, h.aRec[id].a, (size_t)n);

  /* Every truncation of a record. */
  for (i = 0; i < n; i++) {
    setRec(&h, id, a, i);
    expectCorrupt(&h, aHdr, "node");
  }
  setRec(&h, id, a, n);
  a[n] = 0;
  setRec(&h, id, a, n + 1);
  expectCorrupt(&h, aHdr, "after the last level");

  a[0] = VEC0_HNSW_MAX_LEVEL + 1;
  setRec(&h, id, a, n);
  expectCorrupt(&h, aHdr, "level 16");
  a[0] = 0;

  a[1] = 4;
  setRec(&h, id, a, n);
  expectCorrupt(&h, aHdr, "bad flags");
  /* "a group follows" with group 0, which is never written that way */
  memmove(a + 8, a + 4, (size_t)n - 4);
  memset(a + 4, 0, 4);
  a[1] = 2;
  setRec(&h, id, a, n + 4);
  expectCorrupt(&h, aHdr, "bad group 0");
  memmove(a + 4, a + 8, (size_t)n - 4);
  a[1] = 0;

  memcpy(a + 8, "\x10\x27\0\0", 4); /* link to 10000 */
  setRec(&h, id, a, n);
  expectCorrupt(&h, aHdr, "out of range");

  memcpy(a + 8, "\xff\xff\xff\xff", 4);
  setRec(&h, id, a, n);
  expectCorrupt(&h, aHdr, "out of range");

  a[8] = (unsigned char)id;
  a[9] = (unsigned char)(id >> 8);
  a[10] = a[11] = 0;
  setRec(&h, id, a, n);
  expectCorrupt(&h, aHdr, "itself");

  memcpy(a + 4, "\x00\x01\0\0", 4); /* 256 links */
  setRec(&h, id, a, n);
  expectCorrupt(&h, aHdr, "links at level 0");
  free(a);
  hostFree(&h);
}
END_TEST

START_TEST(corrupt_links) {
  Host h;
  unsigned char aHdr[VEC0_HNSW_HEADER_SIZE];
  uint32_t id, t;
  Vec0Hnsw *g = flushed(&h, aHdr);
  closeGraph(g, &h);
  /* A link to a node whose record is missing. */
  id = nodeOfLevel(&h, 0);
  t = h.aRec[id].a[8] | (uint32_t)h.aRec[id].a[9] << 8;
  free(h.aRec[t].a);
  h.aRec[t].a = NULL;
  expectCorrupt(&h, aHdr, "has no record");
  hostFree(&h);

  /* A link at level 1 to a node of level 0. */
  g = flushed(&h, aHdr);
  closeGraph(g, &h);
  id = nodeOfLevel(&h, 1);
  {
    unsigned char *a = h.aRec[id].a;
    int off = 4 + 4 + 4 * (int)a[4];
    uint32_t j, lo = VEC0_HNSW_NONE;
    for (j = 0; j < 300; j++) {
      if (j != id && h.aRec[j].a[0] == 0) {
        lo = j;
        break;
      }
    }
    ck_assert(a[off] > 0);
    a[off + 4] = (unsigned char)lo;
    a[off + 5] = (unsigned char)(lo >> 8);
    a[off + 6] = a[off + 7] = 0;
    {
      char zWant[100];
      Vec0Hnsw *g2 = reopen(&h, aHdr);
      char *zErr = NULL;
      snprintf(zWant, sizeof(zWant), "node %u: link to %u at level 1 but node %u has level 0",
               id, lo, lo);
      ck_assert_int_eq(vec0HnswCheck(g2, 300, &zErr), VEC0_HNSW_CORRUPT);
      ck_assert_msg(strstr(zErr, zWant) != NULL, "message: %s", zErr);
      shimFree(&h, zErr);
      closeGraph(g2, &h);
    }
  }
  hostFree(&h);
}
END_TEST

START_TEST(corrupt_header) {
  Host h;
  unsigned char aHdr[VEC0_HNSW_HEADER_SIZE], aBad[VEC0_HNSW_HEADER_SIZE];
  Vec0Hnsw *g = flushed(&h, aHdr);
  closeGraph(g, &h);
  g = openGraph(&h, 4, 20);
  ck_assert_int_eq(vec0HnswHeaderDecode(g, aHdr, VEC0_HNSW_HEADER_SIZE - 1, 0x7fffffff), VEC0_HNSW_CORRUPT);
  memcpy(aBad, aHdr, sizeof(aBad));
  aBad[0] = 2; /* format */
  ck_assert_int_eq(vec0HnswHeaderDecode(g, aBad, VEC0_HNSW_HEADER_SIZE, 0x7fffffff), VEC0_HNSW_CORRUPT);
  memcpy(aBad, aHdr, sizeof(aBad));
  aBad[4] = 0x2c; /* entry 300 */
  aBad[5] = 0x01;
  ck_assert_int_eq(vec0HnswHeaderDecode(g, aBad, VEC0_HNSW_HEADER_SIZE, 0x7fffffff), VEC0_HNSW_CORRUPT);
  memcpy(aBad, aHdr, sizeof(aBad));
  aBad[12] = 1; /* m */
  ck_assert_int_eq(vec0HnswHeaderDecode(g, aBad, VEC0_HNSW_HEADER_SIZE, 0x7fffffff), VEC0_HNSW_CORRUPT);
  /* More nodes than the host has ids: refused before anything is sized. */
  memcpy(aBad, aHdr, sizeof(aBad));
  aBad[20] = aBad[21] = aBad[22] = 0xff;
  aBad[23] = 0x7f;
  ck_assert_int_eq(vec0HnswHeaderDecode(g, aBad, VEC0_HNSW_HEADER_SIZE, 1000), VEC0_HNSW_CORRUPT);
  /* An id bound above what the host has, or not below 2^31. */
  memcpy(aBad, aHdr, sizeof(aBad));
  aBad[32] = aBad[33] = 0xff; /* bound 65535 */
  ck_assert_int_eq(vec0HnswHeaderDecode(g, aBad, VEC0_HNSW_HEADER_SIZE, 1000),
                   VEC0_HNSW_CORRUPT);
  aBad[35] = 0x80;
  ck_assert_int_eq(vec0HnswHeaderDecode(g, aBad, VEC0_HNSW_HEADER_SIZE, 0xffffffffu),
                   VEC0_HNSW_CORRUPT);
  ck_assert_int_eq(vec0HnswHeaderDecode(g, aHdr, VEC0_HNSW_HEADER_SIZE, 2), VEC0_HNSW_CORRUPT);
  ck_assert_int_eq(vec0HnswHeaderDecode(g, aHdr, VEC0_HNSW_HEADER_SIZE, 0x7fffffff), 0);
  closeGraph(g, &h);
  /* A max level above the entry point's level. */
  memcpy(aBad, aHdr, sizeof(aBad));
  aBad[8]++;
  expectCorrupt(&h, aBad, "entry point");
  hostFree(&h);
}
END_TEST

START_TEST(check_unreachable) {
  Host h;
  unsigned char aHdr[VEC0_HNSW_HEADER_SIZE];
  uint32_t i, j, victim = 123;
  char zWant[80], *zErr = NULL;
  Vec0Hnsw *g = flushed(&h, aHdr);
  closeGraph(g, &h);
  while (h.aRec[victim].a[0] != 0) victim++; /* not the entry point */
  /* Drop every link to the victim (the last link of a list moves into its
  ** place and the rest of the record shifts down). */
  for (i = 0; i < 300; i++) {
    unsigned char *a = h.aRec[i].a;
    int off = 4, l;
    for (l = 0; l <= a[0]; l++) {
      uint32_t cnt = a[off] | (uint32_t)a[off + 1] << 8;
      for (j = 0; j < cnt; j++) {
        unsigned char *pl = a + off + 4 + 4 * j;
        if ((pl[0] | (uint32_t)pl[1] << 8) == victim) {
          memmove(pl, a + off + 4 + 4 * (cnt - 1), 4);
          memmove(a + off + 4 + 4 * (cnt - 1), a + off + 4 + 4 * cnt,
                  (size_t)h.aRec[i].n - (size_t)(off + 4 + 4 * cnt));
          h.aRec[i].n -= 4;
          cnt--;
          a[off] = (unsigned char)cnt;
          break;
        }
      }
      off += 4 + 4 * (int)cnt;
    }
  }
  g = reopen(&h, aHdr);
  snprintf(zWant, sizeof(zWant), "live but not reachable from the entry point");
  ck_assert_int_eq(vec0HnswCheck(g, 300, &zErr), VEC0_HNSW_CORRUPT);
  ck_assert_msg(strstr(zErr, zWant) != NULL, "message: %s", zErr);
  shimFree(&h, zErr);
  closeGraph(g, &h);
  hostFree(&h);
}
END_TEST

/* One insert/delete/reinsert/update/search/flush/reopen session. */
static int session(Host *h) {
  Vec0HnswHost host = hostOf(h);
  Vec0HnswParams par = {4, 16, 7};
  Vec0Hnsw *g = NULL;
  Vec0HnswResult aRes[10];
  unsigned char aHdr[VEC0_HNSW_HEADER_SIZE];
  int rc, nRes, i;
  char *zErr = NULL;
  if ((rc = vec0HnswOpen(&host, &par, &g)) != 0) return rc;
  for (i = 0; i < 120 && rc == 0; i++) rc = vec0HnswInsert(g, (uint32_t)i, (uint64_t)i, 0);
  for (i = 0; i < 120 && rc == 0; i += 3) rc = vec0HnswDelete(g, (uint32_t)i);
  for (i = 0; i < 120 && rc == 0; i += 6) rc = vec0HnswInsert(g, (uint32_t)i, (uint64_t)i, 0);
  for (i = 1; i < 120 && rc == 0; i += 9) rc = vec0HnswUpdate(g, (uint32_t)i);
  for (i = 0; i < 10 && rc == 0; i++) {
    rc = vec0HnswSearch(g, 0, h->aVec + 8 * i, 10, 20, NULL, NULL, aRes, &nRes);
  }
  if (rc == 0) rc = vec0HnswFlush(g, hostWrite, NULL, h);
  if (rc == 0) vec0HnswHeaderEncode(g, aHdr);
  vec0HnswClose(g);
  g = NULL;
  if (rc) return rc;
  if ((rc = vec0HnswOpen(&host, &par, &g)) != 0) return rc;
  rc = vec0HnswHeaderDecode(g, aHdr, VEC0_HNSW_HEADER_SIZE, 0x7fffffff);
  for (i = 0; i < 10 && rc == 0; i++) {
    rc = vec0HnswSearch(g, 0, h->aVec + 8 * i, 10, 20, NULL, NULL, aRes, &nRes);
  }
  if (rc == 0) rc = vec0HnswInsert(g, 120, 120, 0);
  if (rc == 0) rc = vec0HnswCheck(g, 121, &zErr);
  if (zErr && h->failAt == 0) fprintf(stderr, "session: %s\n", zErr);
  if (zErr) shimFree(h, zErr);
  vec0HnswClose(g);
  return rc;
}

/* Nodes 60..119 copies of 0..59: the session's searches set copies aside. */
static void oomHost(Host *h) {
  hostInit(h, 121, 8, 0, 24);
  memcpy(h->aVec + 60 * 8, h->aVec, sizeof(float) * 60 * 8);
}

START_TEST(out_of_memory) {
  long n;
  int rc, nFail = 0;
  {
    Host h;
    oomHost(&h);
    ck_assert_int_eq(session(&h), 0);
    hostFree(&h);
  }
  for (n = 1;; n++) {
    Host h;
    oomHost(&h);
    h.failAt = n;
    rc = session(&h);
    ck_assert_msg(h.nLive == 0, "leak of %ld blocks when allocation %ld fails", h.nLive, n);
    if (h.nAlloc < n) {
      ck_assert_int_eq(rc, 0);
      hostFree(&h);
      break;
    }
    ck_assert_msg(rc == VEC0_HNSW_NOMEM, "rc %d when allocation %ld fails", rc, n);
    nFail++;
    hostFree(&h);
  }
  ck_assert(nFail > 20);
}
END_TEST

/* The operations of the undo test, on a graph of nodes 0..199 (200 free). */
static int undoOp(Vec0Hnsw *g, int op) {
  int rc;
  switch (op) {
    case 0: return vec0HnswInsert(g, 200, 200, 0);
    case 1: return vec0HnswDelete(g, 17);
    case 2:
      rc = vec0HnswDelete(g, 23);
      return rc ? rc : vec0HnswInsert(g, 23, 23, 0);
    default: return vec0HnswUpdate(g, 42); /* its vector was changed */
  }
}

/*
** The undo scope: an operation that fails at any allocation and is rolled
** back leaves the graph exactly as it was (clean, same answers), and the
** same operation run again afterwards writes exactly the records of a run
** that never failed.  At m = 2 the writes displace links and repair the
** nodes displaced (vec0_hnsw_repair.c), so every allocation of the repairs
** fails once too.
*/
START_TEST(undo_after_failure) {
  int op = _i % 4, m = _i < 4 ? 6 : 2; /* m = 2: the writes displace links */
  Host base, ref;
  Vec0Hnsw *g;
  unsigned char aHdr[VEC0_HNSW_HEADER_SIZE], aRefHdr[VEC0_HNSW_HEADER_SIZE];
  unsigned char aGot[VEC0_HNSW_HEADER_SIZE];
  long n;
  int nFail = 0;

  hostInit(&base, 201, 8, 0, 31);
  g = build(&base, 200, m, 30);
  flushAll(g, &base, aHdr);
  closeGraph(g, &base);
  /* The new vector of node 42 for the update. */
  memcpy(base.aVec + 42 * 8, base.aVec + 150 * 8, 8 * sizeof(float));
  base.aVec[42 * 8] += 0.01f;

  hostClone(&ref, &base);
  g = reopen(&ref, aHdr);
  ck_assert_int_eq(undoOp(g, op), 0);
  flushAll(g, &ref, aRefHdr);
  closeGraph(g, &ref);

  for (n = 1;; n++) {
    Host h;
    Vec0HnswResult aRes[10], aWant[10];
    int rc, nRes, nWant, iq;
    hostClone(&h, &base);
    g = reopen(&h, aHdr);
    /* Part of the graph in memory already, as in a long-lived cache. */
    ck_assert_int_eq(vec0HnswSearch(g, 0, h.aVec, 10, 20, NULL, NULL, aRes, &nRes), 0);
    h.failAt = h.nAlloc + n;
    vec0HnswBegin(g);
    rc = undoOp(g, op);
    h.failAt = 0;
    if (rc == 0) {
      vec0HnswCommit(g);
      flushAll(g, &h, aGot);
      ck_assert_mem_eq(aGot, aRefHdr, sizeof(aGot));
      sameRecords(&h, &ref, 201);
      closeGraph(g, &h);
      hostFree(&h);
      break;
    }
    ck_assert_msg(rc == VEC0_HNSW_NOMEM, "op %d, allocation %ld: rc %d", op, n, rc);
    nFail++;
    vec0HnswRollback(g);
    ck_assert_int_eq(vec0HnswIsDirty(g), 0);
    vec0HnswHeaderEncode(g, aGot);
    ck_assert_mem_eq(aGot, aHdr, sizeof(aGot));
    {
      /* Same answers as a graph fresh from the records. */
      Vec0Hnsw *g2 = reopen(&h, aHdr);
      for (iq = 0; iq < 20; iq++) {
        const float *q = h.aVec + (size_t)(iq * 9 % 200) * 8;
        ck_assert_int_eq(vec0HnswSearch(g, 0, q, 10, 40, NULL, NULL, aRes, &nRes), 0);
        ck_assert_int_eq(vec0HnswSearch(g2, 0, q, 10, 40, NULL, NULL, aWant, &nWant), 0);
        ck_assert_int_eq(nRes, nWant);
        ck_assert_mem_eq(aRes, aWant, sizeof(aRes[0]) * (size_t)nRes);
      }
      vec0HnswClose(g2);
    }
    checkGraph(g, &h, 200);
    /* And the operation, run again, gives what a clean run gives. */
    vec0HnswBegin(g);
    ck_assert_int_eq(undoOp(g, op), 0);
    vec0HnswCommit(g);
    flushAll(g, &h, aGot);
    ck_assert_mem_eq(aGot, aRefHdr, sizeof(aGot));
    sameRecords(&h, &ref, 201);
    closeGraph(g, &h);
    hostFree(&h);
  }
  ck_assert(nFail > 0);
  hostFree(&ref);
  hostFree(&base);
}
END_TEST

/* A successful operation rolled back is gone as well. */
START_TEST(undo_success) {
  Host h;
  Vec0Hnsw *g;
  unsigned char aHdr[VEC0_HNSW_HEADER_SIZE], aGot[VEC0_HNSW_HEADER_SIZE];
  uint32_t i;
  hostInit(&h, 400, 8, 5, 32);
  g = build(&h, 300, 8, 40);
  for (i = 0; i < 300; i += 5) ck_assert_int_eq(vec0HnswDelete(g, i), 0);
  flushAll(g, &h, aHdr);
  vec0HnswBegin(g);
  for (i = 300; i < 400; i++) ck_assert_int_eq(vec0HnswInsert(g, i, i, 0), 0);
  for (i = 0; i < 300; i += 10) ck_assert_int_eq(vec0HnswInsert(g, i, i, 0), 0);
  for (i = 1; i < 300; i += 7) {
    if (i % 5) ck_assert_int_eq(vec0HnswDelete(g, i), 0);
  }
  vec0HnswRollback(g);
  ck_assert_int_eq(vec0HnswIsDirty(g), 0);
  vec0HnswHeaderEncode(g, aGot);
  ck_assert_mem_eq(aGot, aHdr, sizeof(aGot));
  ck_assert_uint_eq(vec0HnswCount(g), 300);
  for (i = 0; i < 400; i++) {
    ck_assert_int_eq(vec0HnswIsLive(g, i), i < 300 && i % 5 != 0);
  }
  checkGraph(g, &h, 300);
  closeGraph(g, &h);
  hostFree(&h);
}
END_TEST

static int inGroup(void *pCtx, uint32_t id) {
  return (int)(id % 7) + 1 == *(const int *)pCtx;
}

/*
** Groups: node i is in group i % 7 + 1.  A search of a group returns only
** its nodes, with the recall of a graph of its own; the entry points go to
** the host at flush and come back on reopen; a revival in another group and
** a link across groups are refused.
*/
START_TEST(groups) {
  Host h;
  Vec0Hnsw *g;
  unsigned char aHdr[VEC0_HNSW_HEADER_SIZE];
  Vec0HnswResult aRes[10];
  uint32_t i, aTrue[10];
  int nRes, grp, iq;
  long nHit = 0, nWant = 0;
  hostInit(&h, 1400, 8, 0, 41);
  g = openGraph(&h, 8, 60);
  for (i = 0; i < 1400; i++) {
    ck_assert_int_eq(vec0HnswInsert(g, i, i, i % 7 + 1), 0);
  }
  for (int pass = 0; pass < 2; pass++) {
    for (grp = 1; grp <= 8; grp++) {
      for (iq = 0; iq < 20; iq++) {
        const float *q = h.aVec + (size_t)((iq * 37) % 1400) * 8;
        Live l;
        int nTrue, j;
        ck_assert_int_eq(vec0HnswSearch(g, (uint32_t)grp, q, 10, 40, NULL, NULL, aRes,
                                        &nRes),
                         0);
        if (grp == 8) { /* an empty group */
          ck_assert_int_eq(nRes, 0);
          continue;
        }
        memset(&l, 0, sizeof(l));
        l.mod = 1;
        for (j = 0; j < nRes; j++) ck_assert(inGroup(&grp, aRes[j].id));
        /* brute force over the group */
        {
          float aD[10];
          nTrue = 0;
          for (i = 0; i < 1400; i++) {
            float d;
            int k2;
            if (!inGroup(&grp, i)) continue;
            d = hostDist(&h, q, h.aVec + (size_t)i * 8);
            if (nTrue == 10 && d >= aD[9]) continue;
            k2 = nTrue < 10 ? nTrue++ : 9;
            while (k2 > 0 && aD[k2 - 1] > d) {
              aD[k2] = aD[k2 - 1];
              aTrue[k2] = aTrue[k2 - 1];
              k2--;
            }
            aD[k2] = d;
            aTrue[k2] = i;
          }
        }
        ck_assert_int_eq(nRes, nTrue);
        for (j = 0; j < nRes; j++) {
          int k2;
          for (k2 = 0; k2 < nTrue; k2++) nHit += aRes[j].id == aTrue[k2];
        }
        nWant += nTrue;
      }
    }
    checkGraph(g, &h, 1400);
    /* Flush, then everything again from the stored records and groups. */
    ck_assert_int_eq(vec0HnswFlush(g, hostWrite, hostWriteGroup, &h), 0);
    for (grp = 1; grp <= 7; grp++) ck_assert_int_ge(h.aGrpLevel[grp], 0);
    ck_assert_int_eq(h.aGrpLevel[8], -1);
    vec0HnswHeaderEncode(g, aHdr);
    closeGraph(g, &h);
    g = reopen(&h, aHdr);
  }
  ck_assert_msg(nHit >= nWant * 95 / 100, "recall %ld/%ld", nHit, nWant);
  ck_assert_int_eq(vec0HnswDelete(g, 15), 0);
  ck_assert_int_eq(vec0HnswInsert(g, 15, 15, 3), VEC0_HNSW_CORRUPT);
  ck_assert_int_eq(vec0HnswInsert(g, 15, 15, 15 % 7 + 1), 0);
  closeGraph(g, &h);
  /* A link from node 0 (group 1) to node 1 (group 2) is corruption. */
  {
    Rec *r = &h.aRec[0];
    unsigned char *a = r->a;
    ck_assert(a[1] & 2);
    memcpy(a + 12, "\x01\0\0\0", 4); /* its first level-0 link */
    g = reopen(&h, aHdr);
    {
      char *zErr = NULL;
      ck_assert_int_eq(vec0HnswCheck(g, 1400, &zErr), VEC0_HNSW_CORRUPT);
      ck_assert_ptr_nonnull(strstr(zErr, "of group 2"));
      shimFree(&h, zErr);
    }
    closeGraph(g, &h);
  }
  hostFree(&h);
}
END_TEST

static void hostDistBatch(void *pCtx, const void *a, const void *const *apB,
                          float bound, float *aOut) {
  int i;
  (void)bound;
  for (i = 0; i < 4; i++) aOut[i] = hostDist(pCtx, a, apB[i]);
}

/* A host with the four-at-once distance builds exactly the same graph. */
START_TEST(batch_same_graph) {
  Host h1, h2;
  Vec0Hnsw *g1, *g2;
  Vec0HnswHost host;
  Vec0HnswParams par = {8, 40, 42};
  uint32_t i;
  hostInit(&h1, 1500, 12, 8, 51);
  hostInit(&h2, 1500, 12, 8, 51);
  g1 = build(&h1, 1500, 8, 40);
  host = hostOf(&h2);
  host.xDistanceBatch = hostDistBatch;
  ck_assert_int_eq(vec0HnswOpen(&host, &par, &g2), VEC0_HNSW_OK);
  for (i = 0; i < 1500; i++) {
    ck_assert_int_eq(vec0HnswInsert(g2, i, (uint64_t)i * 7 + 1, 0), 0);
  }
  closeSame(g1, &h1, g2, &h2, 1500);
}
END_TEST

/*
** Every test, whether it reopens a graph from its header (R), and how many
** times it loops.  The suite runs twice: the second time only the tests
** marked R, with every graph they reopen keeping its level-0 rows in read
** order (vec0HnswArenaMin, whose default only a graph of a quarter of a
** million nodes reaches): their searches, writes, undo, corruption checks
** and checks then go through the rows' places.
*/
static Suite *hnswSuite(int bArena) {
  enum { R = 1 };
  const struct {
    const TTest *pTest;
    int bReopen, nLoop;
  } aTests[] = {
      {recall_uniform, 0, 1},       {recall_clustered, 0, 1},  {small_graphs, 0, 1},
      {levels, 0, 1},               {determinism, 0, 1},       {flush_dirty_only, R, 1},
      {reopen_same_results, R, 1},  {huge_pages_move, R, 1},   {collapse_huge_steps, 0, 1},
      {arena_end_same_graph, R, 1}, {delete_half, R, 1},       {delete_almost_all, 0, 1},
      {reinsert_tombstones, 0, 1},  {update_vectors, 0, 1},    {small_lists_keep_reachable, 0, 3},
      {filtered_search, 0, 1},      {copies_recall, 0, 1},
      {filter_rejecting_all, R, 1}, {corrupt_records, 0, 1},   {corrupt_links, R, 1},
      {corrupt_header, R, 1},       {check_unreachable, R, 1}, {out_of_memory, 0, 1},
      {undo_after_failure, R, 8},   {undo_success, 0, 1},      {groups, R, 1},
      {batch_same_graph, 0, 1},     {stamps_wrap, 0, 1},
  };
  Suite *s = suite_create(bArena ? "hnsw, rows in read order" : "hnsw");
  TCase *tc = tcase_create("graph");
  tcase_set_timeout(tc, 120);
  for (size_t i = 0; i < sizeof(aTests) / sizeof(aTests[0]); i++) {
    if (bArena && !aTests[i].bReopen) continue;
    tcase_add_loop_test(tc, aTests[i].pTest, 0, aTests[i].nLoop);
  }
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  int nFailed = 0;
  for (int bArena = 0; bArena <= 1; bArena++) {
    SRunner *sr = srunner_create(hnswSuite(bArena));
    if (bArena) vec0HnswArenaMin = 0;
    srunner_run_all(sr, CK_NORMAL);
    nFailed += srunner_ntests_failed(sr);
    srunner_free(sr);
  }
  return nFailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
