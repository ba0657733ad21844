/*
** vec0_mem.h: huge pages and page release for vec0's large arrays (see
** vec0_mem.c).  No SQLite, no graph: the vector cache (storage) and the
** HNSW link array (the graph library) both use it.
*/
#ifndef VEC0_MEM_H
#define VEC0_MEM_H

#include <stddef.h>

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

#endif /* VEC0_MEM_H */
