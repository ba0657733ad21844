/*
** vec0_mem.h: huge pages and page release for vec0's large arrays (see
** vec0_mem.c).  No SQLite, no graph: the vector cache (storage) and the
** HNSW link array (the graph library) both use it.
*/
#ifndef VEC0_MEM_H
#define VEC0_MEM_H

#include <stddef.h>
#if defined(__linux__)
#include <pthread.h>
#endif

/*
** VEC0_PREFETCH(p): starts the cache line holding byte p on its way to L1,
** a hint with no other effect (p need not be valid).  An asm statement
** where the target has one: GCC 12.2 at -O2 deleted __builtin_prefetch
** calls as dead code in some functions (all of the HNSW walk's link row
** prefetches, bench/README.md "Stop 28"), and a volatile asm is never
** deleted.  __builtin_prefetch elsewhere, nothing without GCC or clang.
*/
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#define VEC0_PREFETCH(p) __asm__ __volatile__("prefetcht0 (%0)" : : "r"((const void *)(p)))
#elif (defined(__GNUC__) || defined(__clang__)) && defined(__aarch64__)
#define VEC0_PREFETCH(p) __asm__ __volatile__("prfm pldl1keep, [%0]" : : "r"((const void *)(p)))
#elif defined(__GNUC__) || defined(__clang__)
#define VEC0_PREFETCH(p) __builtin_prefetch(p)
#else
#define VEC0_PREFETCH(p) ((void)(p))
#endif

/*
** A hint that the n bytes at p are a large array read at random: on Linux,
** asks for transparent huge pages, which spares a walk most TLB misses.  No
** effect elsewhere, or when the system does not offer them.
*/
void vec0MemAdviseHuge(void *p, size_t n);
/*
** Turns the whole 2 MiB pages of the n bytes at p, from byte *pnDone of the
** first of them on and at most nMax bytes, into huge pages in place (on
** Linux 6.1 and later: MADV_COLLAPSE), and advances *pnDone.  1 when none
** is left, or when the system cannot (it then stops trying).
*/
int vec0MemCollapseHuge(void *p, size_t n, size_t *pnDone, size_t nMax);
/*
** A hint that the whole pages inside the n bytes at p will not be read
** again before they are freed (a block being copied elsewhere): on Linux
** they go back to the system at once, reading as zero if read.
*/
void vec0MemReleasePages(void *p, size_t n);

/*
** n bytes of zeroes straight from the system (an anonymous mapping on
** Linux and other Unix systems), whose pages it clears when they are first
** touched: a large array of which a statement touches a few places costs
** those pages only, where memset() on a malloc()ed block would fault in and
** clear them all.  NULL where there is no such memory, or none left.
** vec0MemUnmap gives it back (n as given).
*/
void *vec0MemMapZero(size_t n);
void vec0MemUnmap(void *p, size_t n);

/*
** A helper thread that makes the whole 2 MiB pages of a block resident, in
** order, ahead of a thread that writes it (the fill of the vector cache; a
** large graph's link array, which a lazy walk writes at random):
** the kernel clears each fresh page on the helper's core instead of the
** writer's, which is half of what the fill costs.  It only asks the kernel
** to populate the pages (Linux 5.14: MADV_POPULATE_WRITE), which leaves
** their contents as they are, so it never races with the writer and
** nothing read from the block depends on how far it got.  Start does
** nothing where that is not available or the thread cannot be made; Stop
** asks the thread to end after its current 2 MiB and joins it, and must
** come before the block is freed.  A zeroed struct is a stopped one.
*/
typedef struct Vec0MemPrefault {
  unsigned char *a; /* the block's whole 2 MiB pages: [a, a+n) */
  size_t n;
  unsigned char *a2; /* a second block (StartTwo), made resident after it */
  size_t n2;
  int bStop;        /* set by Stop, read by the thread (atomic builtins) */
  int bStarted;
#if defined(__linux__)
  pthread_t tid;
  long pid;         /* the process that made it: a forked child joins nothing */
#endif
} Vec0MemPrefault;
void vec0MemPrefaultStart(Vec0MemPrefault *pF, void *p, size_t n);
void vec0MemPrefaultStartTwo(Vec0MemPrefault *pF, void *p, size_t n, void *p2, size_t n2);
void vec0MemPrefaultStop(Vec0MemPrefault *pF);
/* For tests: helper threads running now (none may outlive a close), or
** (bEver) ever started. */
int vec0MemPrefaultCount(int bEver);

#endif /* VEC0_MEM_H */
