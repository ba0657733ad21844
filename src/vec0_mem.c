/*
** vec0_mem.c: what vec0 asks of the operating system's memory for its large
** arrays (the vector cache, the HNSW link array): transparent huge pages,
** turned into huge pages in place a step at a time, pages handed back, and
** zeroed memory mapped from the system for the per-slot arrays of a large
** table.  Linux's madvise() (mmap() on Unix); elsewhere every call does
** nothing.  Calls the C
** library only, so the graph library and storage both use it; the
** prefault helper (a thread that populates a block ahead of its writer)
** calls madvise() and nothing else.
*/
#if defined(__linux__) && !defined(_DEFAULT_SOURCE)
#define _DEFAULT_SOURCE 1 /* madvise() and MADV_HUGEPAGE */
#endif
#include "vec0_mem.h"

#include <stdint.h>
#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

#if defined(__linux__)
#ifdef MADV_COLLAPSE
#define VEC0_MADV_COLLAPSE MADV_COLLAPSE
#else
#define VEC0_MADV_COLLAPSE 25 /* Linux 6.1; C libraries older than that lack it */
#endif
#define MEM_HUGE_PAGE ((uintptr_t)2 << 20)

/* The whole pages of size page (a power of 2) inside [p, p+n): [*pA, *pB). */
static void wholePages(void *p, size_t n, uintptr_t page, uintptr_t *pA, uintptr_t *pB) {
  *pA = ((uintptr_t)p + page - 1) & ~(page - 1);
  *pB = ((uintptr_t)p + n) & ~(page - 1);
}
#endif

void vec0MemAdviseHuge(void *p, size_t n) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  /* Only the whole 2 MiB pages inside [p, p+n) can become huge pages. */
  uintptr_t a, b;
  wholePages(p, n, MEM_HUGE_PAGE, &a, &b);
  if (b > a) (void)madvise((void *)a, (size_t)(b - a), MADV_HUGEPAGE);
#else
  (void)p;
  (void)n;
#endif
}

int vec0MemCollapseHuge(void *p, size_t n, size_t *pnDone, size_t nMax) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  uintptr_t a, b, x;
  size_t nDone = 0;
  wholePages(p, n, MEM_HUGE_PAGE, &a, &b);
  if (b <= a || *pnDone >= (size_t)(b - a)) return 1;
  for (x = a + *pnDone; x < b && nDone < nMax; x += MEM_HUGE_PAGE, nDone += MEM_HUGE_PAGE) {
    if (madvise((void *)x, (size_t)MEM_HUGE_PAGE, VEC0_MADV_COLLAPSE) != 0) {
      /* An older kernel, or no huge page free: khugepaged may still do it. */
      *pnDone = (size_t)(b - a);
      return 1;
    }
  }
  *pnDone = (size_t)(x - a);
  return x >= b;
#else
  (void)p;
  (void)n;
  (void)nMax;
  *pnDone = n;
  return 1;
#endif
}

void vec0MemReleasePages(void *p, size_t n) {
#if defined(__linux__) && defined(MADV_DONTNEED)
  uintptr_t a, b;
  wholePages(p, n, 4096, &a, &b);
  if (b > a) (void)madvise((void *)a, (size_t)(b - a), MADV_DONTNEED);
#else
  (void)p;
  (void)n;
#endif
}

#if defined(__linux__) || defined(__APPLE__) || defined(__unix__)
#define VEC0_MEM_MAP 1
#include <sys/mman.h>
#endif

void *vec0MemMapZero(size_t n) {
#if defined(VEC0_MEM_MAP) && defined(MAP_ANONYMOUS)
  void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? NULL : p;
#else
  (void)n;
  return NULL;
#endif
}

void vec0MemUnmap(void *p, size_t n) {
#if defined(VEC0_MEM_MAP) && defined(MAP_ANONYMOUS)
  if (p) munmap(p, n);
#else
  (void)p;
  (void)n;
#endif
}

#if defined(__linux__)
#ifdef MADV_POPULATE_WRITE
#define VEC0_MADV_POPULATE_WRITE MADV_POPULATE_WRITE
#else
#define VEC0_MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif
static int nPrefaultRunning = 0; /* atomic builtins */
static int nPrefaultStarted = 0; /* ever (tests) */

static void *prefaultMain(void *pArg) {
  Vec0MemPrefault *pF = pArg;
  size_t off;
  int r;
  for (r = 0; r < 2; r++) {
    unsigned char *a = r ? pF->a2 : pF->a;
    size_t n = r ? pF->n2 : pF->n;
    for (off = 0; off < n; off += MEM_HUGE_PAGE) {
      if (__atomic_load_n(&pF->bStop, __ATOMIC_ACQUIRE)) break;
      /* An older kernel (EINVAL) or no memory: the writer faults them itself. */
      if (madvise(a + off, (size_t)MEM_HUGE_PAGE, VEC0_MADV_POPULATE_WRITE) != 0) break;
    }
  }
  __atomic_sub_fetch(&nPrefaultRunning, 1, __ATOMIC_ACQ_REL);
  return NULL;
}
#endif

void vec0MemPrefaultStart(Vec0MemPrefault *pF, void *p, size_t n) {
  vec0MemPrefaultStartTwo(pF, p, n, NULL, 0);
}

void vec0MemPrefaultStartTwo(Vec0MemPrefault *pF, void *p, size_t n, void *p2, size_t n2) {
#if defined(__linux__)
  uintptr_t a, b, a2, b2;
  if (pF->bStarted) return;
  wholePages(p, n, MEM_HUGE_PAGE, &a, &b);
  wholePages(p2, n2, MEM_HUGE_PAGE, &a2, &b2);
  if (b <= a && b2 <= a2) return;
  pF->a = (unsigned char *)a;
  pF->n = b > a ? (size_t)(b - a) : 0;
  pF->a2 = (unsigned char *)a2;
  pF->n2 = b2 > a2 ? (size_t)(b2 - a2) : 0;
  pF->bStop = 0;
  pF->pid = (long)getpid();
  __atomic_add_fetch(&nPrefaultRunning, 1, __ATOMIC_ACQ_REL);
  pF->bStarted = pthread_create(&pF->tid, NULL, prefaultMain, pF) == 0;
  if (!pF->bStarted) __atomic_sub_fetch(&nPrefaultRunning, 1, __ATOMIC_ACQ_REL);
  if (pF->bStarted) __atomic_add_fetch(&nPrefaultStarted, 1, __ATOMIC_ACQ_REL);
#else
  (void)pF;
  (void)p;
  (void)n;
  (void)p2;
  (void)n2;
#endif
}

void vec0MemPrefaultStop(Vec0MemPrefault *pF) {
#if defined(__linux__)
  if (!pF->bStarted) return;
  pF->bStarted = 0;
  /* After fork() the thread is the parent's: the child has none to join. */
  if (pF->pid != (long)getpid()) return;
  __atomic_store_n(&pF->bStop, 1, __ATOMIC_RELEASE);
  pthread_join(pF->tid, NULL);
#else
  (void)pF;
#endif
}

int vec0MemPrefaultCount(int bEver) {
#if defined(__linux__)
  return __atomic_load_n(bEver ? &nPrefaultStarted : &nPrefaultRunning, __ATOMIC_ACQUIRE);
#else
  (void)bEver;
  return 0;
#endif
}
