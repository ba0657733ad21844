/*
** vec0_hnsw_store.c: the memory of an HNSW graph and its persistence: the
** per-node arrays and the group table, the undo scope, node records read
** (validated completely before use) and written (only the dirty ones), the
** header, and the whole-graph check.  vec0_hnsw.c builds and searches on
** top of it.  Calls the C library and the host's callbacks, nothing else.
**
** Ids are the host's dense slots: a link must point below the node count of
** the header (or the highest id inserted since), which is what lets a link
** into nowhere be recognised without reading it.
*/
#include "vec0_hnswInt.h"
#include "vec0_mem.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vec0HnswCorrupt(Vec0Hnsw *p, const char *zFmt, ...) {
  va_list ap;
  va_start(ap, zFmt);
  vsnprintf(p->zErr, sizeof(p->zErr), zFmt, ap);
  va_end(ap);
  return VEC0_HNSW_CORRUPT;
}

/* Grows *pp to hold at least nNeed elements; the old block survives failure. */
int vec0HnswReserve(Vec0Hnsw *p, void *pp, size_t *pnAlloc, size_t nNeed,
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

/* Bytes of the link array for capacity nCap. */
static size_t link0Bytes(const Vec0Hnsw *p, size_t nCap) {
  return (nCap + (p->bArena ? 1 : 0)) * (size_t)(p->m0 + 1) * sizeof(uint32_t);
}

static int growBlock(Vec0Hnsw *p, void *pp, size_t n) {
  void **ppv = (void **)pp;
  void *pNew = p->h.xRealloc(p->h.pCtx, *ppv, n);
  if (pNew == NULL) return VEC0_HNSW_NOMEM;
  *ppv = pNew;
  return VEC0_HNSW_OK;
}

#define NODE_HUGE ((size_t)2 << 20)

/*
** The small per-node arrays (upper links, groups, visit stamps, flags,
** levels: 18 bytes a node) in one new block of nNew nodes, the first nOld
** copied from the old one.  From 1 MiB on the block is whole 2 MiB pages
** that ask to be huge: a walk after a reopen writes these arrays at random
** ids, and where a first-touched 4 KiB page costs ~30 us (a VM) the few
** hundred pages it would touch one by one cost more than the first query's
** reads.  Such a block is mapped zeroed pages (vec0MemMapZero, outside the
** host's allocator; xMalloc where none can be had), so that nothing clears
** it at open: at a million nodes clearing 13 MB took milliseconds of a
** first query that touches a few hundred places in it.
*/
static void freeSmall(Vec0Hnsw *p) {
  if (p->nNodeMap) {
    vec0MemUnmap(p->pNodeMem, p->nNodeMap);
  } else {
    p->h.xFree(p->h.pCtx, p->pNodeMem);
  }
  p->pNodeMem = NULL;
  p->nNodeMap = 0;
}

static int growSmall(Vec0Hnsw *p, size_t nOld, size_t nNew) {
  size_t nPos = p->bArena ? sizeof(uint32_t) : 0;
  size_t nBm = nNew / 64 * sizeof(uint64_t); /* nNew: a power of 2 from 64 on */
  size_t n = nNew * (sizeof(uint32_t *) + 2 * sizeof(uint32_t) + nPos + 2) + 2 * nBm,
         nAlloc = n, i,
         nMap = 0;
  int bHuge = n >= NODE_HUGE / 2;
  unsigned char *aMem = NULL, *a;
  if (bHuge) {
    n = (n + NODE_HUGE - 1) & ~(NODE_HUGE - 1);
    nAlloc = n + NODE_HUGE;
    if ((aMem = vec0MemMapZero(nAlloc)) != NULL) nMap = nAlloc;
  }
  if (aMem == NULL) aMem = p->h.xMalloc(p->h.pCtx, nAlloc);
  if (aMem == NULL) return VEC0_HNSW_NOMEM;
  a = aMem;
  if (bHuge) {
    a += (NODE_HUGE - ((uintptr_t)aMem & (NODE_HUGE - 1))) & (NODE_HUGE - 1);
    vec0MemAdviseHuge(a, n);
  }
  {
    uint32_t **apUp = (uint32_t **)a;
    uint64_t *aPlainBm = (uint64_t *)(a + nNew * sizeof(uint32_t *));
    uint64_t *aSeenBm = aPlainBm + nNew / 64;
    uint32_t *aGroup = (uint32_t *)(aSeenBm + nNew / 64);
    uint32_t *aVisit = aGroup + nNew;
    uint32_t *aPos = nPos ? aVisit + nNew : NULL;
    uint8_t *aFlag = (uint8_t *)(aVisit + (nPos ? 2 : 1) * nNew), *aLevel = aFlag + nNew;
    if (nOld) {
      memcpy(apUp, p->apUp, nOld * sizeof(uint32_t *));
      memcpy(aPlainBm, p->aPlainBm, nOld / 64 * sizeof(uint64_t));
      memcpy(aSeenBm, p->aSeenBm, nOld / 64 * sizeof(uint64_t));
      memcpy(aGroup, p->aGroup, nOld * sizeof(uint32_t));
      memcpy(aVisit, p->aVisit, nOld * sizeof(uint32_t));
      if (aPos) memcpy(aPos, p->aPos, nOld * sizeof(uint32_t));
      memcpy(aFlag, p->aFlag, nOld);
      memcpy(aLevel, p->aLevel, nOld);
    }
    if (nMap == 0) {
      for (i = nOld; i < nNew; i++) apUp[i] = NULL;
      memset(aPlainBm + nOld / 64, 0, (nNew - nOld) / 64 * sizeof(uint64_t));
      memset(aSeenBm + nOld / 64, 0, (nNew - nOld) / 64 * sizeof(uint64_t));
      memset(aVisit + nOld, 0, (nNew - nOld) * sizeof(uint32_t));
      if (aPos) memset(aPos + nOld, 0, (nNew - nOld) * sizeof(uint32_t));
      memset(aFlag + nOld, 0, nNew - nOld);
    }
    vec0MemPrefaultStop(&p->linkPrefault); /* it may be making the old block resident */
    freeSmall(p);
    p->pNodeMem = aMem;
    p->nNodeMap = nMap;
    p->apUp = apUp;
    p->aPlainBm = aPlainBm;
    p->aSeenBm = aSeenBm;
    p->aGroup = aGroup;
    p->aVisit = aVisit;
    p->aPos = aPos;
    p->aFlag = aFlag;
    p->aLevel = aLevel;
  }
  return VEC0_HNSW_OK;
}

/*
** The link array for nNew nodes, its first nOld rows kept.  From 4 MiB on
** in a new block aligned to 2 MiB pages, huge at once up to 32 MiB (a block
** grown by realloc() may start anywhere, and the 4 KiB pages at its
** unaligned ends would each fault on their own when a walk after a reopen
** writes records at random); the rows
** are copied 2 MiB at a time, each copied part of the old block handed back
** at once, so that the two never hold the links twice.
*/
#define LINK0_HUGE_EARLY ((size_t)32 << 20)
static int growLink0(Vec0Hnsw *p, size_t nOld, size_t nNew) {
  size_t n = link0Bytes(p, nNew), nKeep = nOld ? link0Bytes(p, nOld) : 0, off;
  unsigned char *aMem, *a;
  if (n < 2 * NODE_HUGE && p->aLink0 == p->pLink0Mem) {
    int rc = growBlock(p, &p->pLink0Mem, n);
    p->aLink0 = p->pLink0Mem;
    return rc;
  }
  aMem = p->h.xMalloc(p->h.pCtx, n + NODE_HUGE);
  if (aMem == NULL) return VEC0_HNSW_NOMEM;
  a = aMem + ((NODE_HUGE - ((uintptr_t)aMem & (NODE_HUGE - 1))) & (NODE_HUGE - 1));
  /* Huge pages at once for an array of a few of them, or whose rows are
  ** taken in order (bArena); in a large one whose rows are at their ids (a
  ** graph built here) each record a lazy walk writes would fault in and
  ** clear 2 MiB; the fill's first step asks for them (vec0HnswUseHugePages). */
  if (p->bHuge || p->bArena || n <= LINK0_HUGE_EARLY) vec0MemAdviseHuge(a, n);
  vec0MemPrefaultStop(&p->linkPrefault); /* it may be making the old block resident */
  for (off = 0; off < nKeep; off += NODE_HUGE) {
    size_t k = nKeep - off < NODE_HUGE ? nKeep - off : NODE_HUGE;
    memcpy(a + off, (unsigned char *)p->aLink0 + off, k);
    vec0MemReleasePages((unsigned char *)p->aLink0 + off, k);
  }
  p->h.xFree(p->h.pCtx, p->pLink0Mem);
  p->pLink0Mem = aMem;
  p->aLink0 = (uint32_t *)a;
  return VEC0_HNSW_OK;
}

/*
** Makes every per-node array hold ids below nNeed.  Arrays grown before a
** failure simply stay larger than nCap, which is harmless.
*/
int vec0HnswGrowNodes(Vec0Hnsw *p, uint32_t nNeed) {
  size_t nNew, nOld = p->nCap;
  int rc;
  if (nNeed <= p->nCap) return VEC0_HNSW_OK;
  nNew = nOld ? nOld : 64;
  while (nNew < nNeed) nNew *= 2;
  if ((rc = growSmall(p, nOld, nNew)) != 0) return rc;
  if ((rc = growLink0(p, nOld, nNew)) != 0) return rc;
  /* the arena's row 0, the row of every node that has none: empty */
  if (p->bArena && nOld == 0) memset(p->aLink0, 0, (size_t)(p->m0 + 1) * sizeof(uint32_t));
  if (p->bHuge) {
    vec0MemAdviseHuge(p->aLink0, link0Bytes(p, nNew));
    p->nCollapsed = 0; /* realloc() may have moved it */
  }
  p->nCap = (uint32_t)nNew;
  return VEC0_HNSW_OK;
}

void vec0HnswUseHugePages(Vec0Hnsw *p) {
  if (p->bHuge) return;
  p->bHuge = 1;
  p->nCollapsed = 0;
  vec0MemAdviseHuge(p->aLink0, link0Bytes(p, p->nCap));
}

size_t vec0HnswPrefaultMin = LINK0_HUGE_EARLY;
size_t vec0HnswArenaMin = LINK0_HUGE_EARLY;

/*
** The level-0 row of node id (id < nCap), which a node being read or added
** is given here in arena mode if it has none: the next one (on the calling
** thread only: a batch's workers find every row made).
*/
uint32_t *vec0HnswRow0(Vec0Hnsw *p, uint32_t id) {
  if (p->aPos && p->aPos[id] == 0) p->aPos[id] = ++p->nArena;
  return links(p, id, 0);
}

int vec0HnswArenaEnd(Vec0Hnsw *p) {
  size_t nRow = (size_t)(p->m0 + 1) * sizeof(uint32_t), n, pos, off = 0;
  unsigned char *aMem, *a, *aOld = (unsigned char *)p->aLink0;
  uint32_t *aId, id;
  if (!p->bArena || p->aPos == NULL) return VEC0_HNSW_OK;
  n = (size_t)p->nCap * nRow;
  aMem = p->h.xMalloc(p->h.pCtx, n + NODE_HUGE);
  aId = p->h.xMalloc(p->h.pCtx, ((size_t)p->nArena + 1) * sizeof(uint32_t));
  if (aMem == NULL || aId == NULL) {
    p->h.xFree(p->h.pCtx, aMem);
    p->h.xFree(p->h.pCtx, aId);
    return VEC0_HNSW_NOMEM;
  }
  a = aMem + ((NODE_HUGE - ((uintptr_t)aMem & (NODE_HUGE - 1))) & (NODE_HUGE - 1));
  vec0MemAdviseHuge(a, n);
  for (id = 0; id < p->nCap; id++) {
    if (p->aPos[id]) aId[p->aPos[id]] = id;
  }
  vec0MemPrefaultStop(&p->linkPrefault);
  /* in arena order: the old block read once, front to back, handed back as
  ** it is read, so that the two never hold the links twice */
  for (pos = 1; pos <= p->nArena; pos++) {
    memcpy(a + (size_t)aId[pos] * nRow, aOld + pos * nRow, nRow);
    if ((pos + 1) * nRow >= off + NODE_HUGE) {
      vec0MemReleasePages(aOld + off, NODE_HUGE);
      off += NODE_HUGE;
    }
  }
  p->h.xFree(p->h.pCtx, aId);
  p->h.xFree(p->h.pCtx, p->pLink0Mem);
  p->pLink0Mem = aMem;
  p->aLink0 = (uint32_t *)a;
  p->aPos = NULL;
  p->bArena = 0;
  p->nArena = 0;
  p->nCollapsed = 0;
  return VEC0_HNSW_OK;
}

void vec0HnswPrefaultLinks(Vec0Hnsw *p) {
  uint32_t n = p->nBound < p->nCap ? p->nBound : p->nCap;
  size_t nByte = link0Bytes(p, n);
  if (nByte < vec0HnswPrefaultMin || nByte < NODE_HUGE) return;
  if (p->bArena) {
    /* the rows fill their pages in order: only the small arrays, at random */
    if (p->nNodeMap) vec0MemPrefaultStart(&p->linkPrefault, p->pNodeMem, p->nNodeMap);
    return;
  }
  vec0MemAdviseHuge(p->aLink0, nByte);
  /* the small arrays first (a few MiB, mapped zeroed: nothing wrote them;
  ** without them the first query at 1M took 64 ms against 34 on a
  ** fragmented machine, their 2 MiB pages faulted in at random) */
  vec0MemPrefaultStartTwo(&p->linkPrefault, p->nNodeMap ? p->pNodeMem : NULL,
                          p->nNodeMap, p->aLink0, nByte);
}

/*
** The rows of the nodes that may have a record (ids below nBound), not the
** array's room beyond them: MADV_COLLAPSE would make that resident too.
*/
int vec0HnswHugeStep(Vec0Hnsw *p, size_t nMax) {
  /* in arena mode, the rows taken (they were asked huge from the start) */
  uint32_t n = p->bArena ? p->nArena : p->nBound < p->nCap ? p->nBound : p->nCap;
  if (!p->bHuge) return 1;
  return vec0MemCollapseHuge(p->aLink0, link0Bytes(p, n), &p->nCollapsed, nMax);
}

/* A fresh visited generation; stamps are only reset when the counter wraps. */
uint32_t vec0HnswGenMax = 0xffffffffu;

uint32_t vec0HnswNextGen(Vec0Hnsw *p) {
  if (p->gen >= vec0HnswGenMax) {
    memset(p->aVisit, 0, (size_t)p->nCap * sizeof(uint32_t));
    p->gen = 0;
  }
  return ++p->gen;
}


/* Records the before-image of node id (id < nCap) in the undo scope. */
int vec0HnswSaveNode(Vec0Hnsw *p, uint32_t id) {
  int bPresent = (p->aFlag[id] & NODE_LOADED) != 0;
  size_t n = 2 + (bPresent ? rowWords(p, p->aLevel[id]) : 0);
  uint32_t *a;
  int rc = vec0HnswReserve(p, &p->aUndo, &p->nUndoAlloc, p->nUndo + n, sizeof(uint32_t));
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
  vec0HnswSetFlags(p, id, p->aFlag[id] | NODE_SAVED);
  return VEC0_HNSW_OK;
}

/* Every change of node id goes through here first. */
int vec0HnswMarkDirty(Vec0Hnsw *p, uint32_t id) {
  int rc;
  if (p->bUndo && !(p->aFlag[id] & NODE_SAVED)) {
    if ((rc = vec0HnswSaveNode(p, id)) != 0) return rc;
  }
  if (p->aFlag[id] & NODE_DIRTY) return VEC0_HNSW_OK;
  rc = vec0HnswReserve(p, &p->aDirty, &p->nDirtyAlloc, p->nDirty + 1, sizeof(uint32_t));
  if (rc) return rc;
  p->aDirty[p->nDirty++] = id;
  vec0HnswSetFlags(p, id, p->aFlag[id] | NODE_DIRTY);
  return VEC0_HNSW_OK;
}

/* Validates record a[0..n-1] of node id completely before using it. */
static int parseNode(Vec0Hnsw *p, uint32_t id, const unsigned char *a, int n) {
  int L, l, off = 4;
  uint32_t *up = NULL, g = 0;
  if (a == NULL || n < 4) {
    return vec0HnswCorrupt(p, "node %u: record of %d bytes is too short", id, n);
  }
  L = a[0];
  if (L > VEC0_HNSW_MAX_LEVEL) {
    return vec0HnswCorrupt(p, "node %u: level %d is above the limit %d", id, L,
                   VEC0_HNSW_MAX_LEVEL);
  }
  if ((a[1] & ~(REC_DELETED | REC_GROUP)) != 0 || a[2] != 0 || a[3] != 0) {
    return vec0HnswCorrupt(p, "node %u: bad flags in record", id);
  }
  if (a[1] & REC_GROUP) {
    if (n < 8) return vec0HnswCorrupt(p, "node %u: record of %d bytes is too short", id, n);
    g = get32(a + 4);
    if (g == 0 || g > VEC0_HNSW_MAX_GROUP) {
      return vec0HnswCorrupt(p, "node %u: bad group %u in record", id, g);
    }
    off = 8;
  }
  if (L > 0) {
    up = p->h.xMalloc(p->h.pCtx, (size_t)L * (size_t)(p->m + 1) * 4);
    if (up == NULL) return VEC0_HNSW_NOMEM;
  }
  for (l = 0; l <= L; l++) {
    uint32_t cnt, i, cap = (uint32_t)(l ? p->m : p->m0);
    uint32_t *dst = l ? up + (size_t)(l - 1) * (size_t)(p->m + 1) : vec0HnswRow0(p, id);
    if (n - off < 4) goto truncated;
    cnt = get32(a + off);
    off += 4;
    if (cnt > cap) {
      vec0HnswCorrupt(p, "node %u: %u links at level %d (at most %u)", id, cnt, l, cap);
      goto fail;
    }
    if ((uint32_t)(n - off) / 4 < cnt) goto truncated;
    for (i = 0; i < cnt; i++) {
      uint32_t j, t = get32(a + off + 4 * i);
      if (t == id) {
        vec0HnswCorrupt(p, "node %u: links to itself at level %d", id, l);
        goto fail;
      }
      if (t >= p->nBound) {
        vec0HnswCorrupt(p, "node %u: link to %u at level %d is out of range (%u nodes)",
                id, t, l, p->nBound);
        goto fail;
      }
      for (j = 0; j < i; j++) {
        if (dst[1 + j] == t) {
          vec0HnswCorrupt(p, "node %u: duplicate link to %u at level %d", id, t, l);
          goto fail;
        }
      }
      dst[1 + i] = t;
    }
    dst[0] = cnt;
    off += 4 * (int)cnt;
  }
  if (off != n) {
    vec0HnswCorrupt(p, "node %u: %d bytes after the last level", id, n - off);
    goto fail;
  }
  p->aLevel[id] = (uint8_t)L;
  p->aGroup[id] = g;
  p->apUp[id] = up;
  vec0HnswSetFlags(p, id, NODE_LOADED | ((a[1] & REC_DELETED) ? NODE_DELETED : 0));
  return VEC0_HNSW_OK;

truncated:
  vec0HnswCorrupt(p, "node %u: record of %d bytes is truncated", id, n);
fail:
  p->h.xFree(p->h.pCtx, up);
  return VEC0_HNSW_CORRUPT;
}

int vec0HnswPreload(Vec0Hnsw *p, uint32_t id, const unsigned char *aRec, int nRec) {
  int rc;
  if (id >= p->nBound) return VEC0_HNSW_OK;
  if (id < p->nCap && (p->aFlag[id] & NODE_LOADED)) return VEC0_HNSW_OK;
  if ((rc = vec0HnswGrowNodes(p, id + 1)) != 0) return rc;
  return parseNode(p, id, aRec, nRec);
}

/* Brings node id into memory.  VEC0_HNSW_NOTFOUND if it has no record. */
int vec0HnswLoadNode(Vec0Hnsw *p, uint32_t id) {
  unsigned char *a = NULL;
  int n = 0, rc;
  if (id < p->nCap && (p->aFlag[id] & NODE_LOADED)) return VEC0_HNSW_OK;
  if (id >= p->nBound) return VEC0_HNSW_NOTFOUND;
  if ((rc = vec0HnswGrowNodes(p, id + 1)) != 0) return rc;
  rc = p->h.xReadNode(p->h.pCtx, id, &a, &n);
  if (rc == VEC0_HNSW_OK) rc = parseNode(p, id, a, n);
  if (a) p->h.xFree(p->h.pCtx, a);
  return rc;
}

/* Loads node t, reached from node `from` by a link at level lc. */
int vec0HnswTouch(Vec0Hnsw *p, uint32_t from, int lc, uint32_t t) {
  int rc = vec0HnswLoadNode(p, t);
  if (rc == VEC0_HNSW_NOTFOUND) {
    return vec0HnswCorrupt(p, "node %u: link to %u at level %d but node %u has no record",
                   from, t, lc, t);
  }
  if (rc) return rc;
  if (p->aLevel[t] < lc) {
    return vec0HnswCorrupt(p, "node %u: link to %u at level %d but node %u has level %d",
                   from, t, lc, t, p->aLevel[t]);
  }
  return VEC0_HNSW_OK;
}

/* Makes the group table hold group g. */
int vec0HnswGrowGroups(Vec0Hnsw *p, uint32_t g) {
  uint32_t nNew = p->nGrpCap ? p->nGrpCap : 16, i;
  Group *aNew;
  if (g < p->nGrpCap) return VEC0_HNSW_OK;
  while (nNew <= g) nNew = nNew < 0x40000000u ? nNew * 2 : VEC0_HNSW_MAX_GROUP + 1;
  aNew = p->h.xRealloc(p->h.pCtx, p->aGrp, (size_t)nNew * sizeof(Group));
  if (aNew == NULL) return VEC0_HNSW_NOMEM;
  for (i = p->nGrpCap; i < nNew; i++) {
    aNew[i].entry = VEC0_HNSW_NONE;
    aNew[i].maxLevel = -1;
    aNew[i].flags = 0;
  }
  p->aGrp = aNew;
  p->nGrpCap = nNew;
  return VEC0_HNSW_OK;
}

/* Brings the entry point of group g (not its node) into memory. */
static int loadGroup(Vec0Hnsw *p, uint32_t g) {
  uint32_t entry = VEC0_HNSW_NONE;
  int rc, level = -1;
  if (g > VEC0_HNSW_MAX_GROUP) return vec0HnswCorrupt(p, "group %u out of range", g);
  if ((rc = vec0HnswGrowGroups(p, g)) != 0) return rc;
  if (p->aGrp[g].flags & GROUP_LOADED) return VEC0_HNSW_OK;
  rc = p->h.xReadGroup ? p->h.xReadGroup(p->h.pCtx, g, &entry, &level)
                       : VEC0_HNSW_NOTFOUND;
  if (rc == VEC0_HNSW_NOTFOUND) {
    entry = VEC0_HNSW_NONE;
    level = -1;
  } else if (rc) {
    return rc;
  } else if (level < 0 || level > VEC0_HNSW_MAX_LEVEL || entry >= p->nBound) {
    return vec0HnswCorrupt(p, "group %u: bad entry point %u (level %d)", g, entry, level);
  }
  p->aGrp[g].entry = entry;
  p->aGrp[g].maxLevel = (int8_t)level;
  p->aGrp[g].flags = GROUP_LOADED;
  return VEC0_HNSW_OK;
}

/* Loads group g and its entry node, checking that they agree. */
int vec0HnswLoadEntry(Vec0Hnsw *p, uint32_t g) {
  uint32_t e;
  int rc = loadGroup(p, g);
  if (rc) return rc;
  if (p->aGrp[g].maxLevel < 0) return VEC0_HNSW_OK;
  e = p->aGrp[g].entry;
  rc = vec0HnswLoadNode(p, e);
  if (rc == VEC0_HNSW_NOTFOUND) {
    return vec0HnswCorrupt(p, "entry point %u of group %u has no record", e, g);
  }
  if (rc) return rc;
  if (p->aLevel[e] != p->aGrp[g].maxLevel || p->aGroup[e] != g) {
    return vec0HnswCorrupt(p, "entry point %u of group %u has level %d in group %u, not the "
                      "max level %d",
                   e, g, p->aLevel[e], p->aGroup[e], p->aGrp[g].maxLevel);
  }
  return VEC0_HNSW_OK;
}

/* Records the before-image of group g in the undo scope. */
static int saveGroup(Vec0Hnsw *p, uint32_t g) {
  uint32_t *a;
  int rc = vec0HnswReserve(p, &p->aUndo, &p->nUndoAlloc, p->nUndo + 3, sizeof(uint32_t));
  if (rc) return rc;
  a = p->aUndo + p->nUndo;
  a[0] = UNDO_GROUP | g;
  a[1] = p->aGrp[g].entry;
  a[2] = (uint32_t)(uint8_t)p->aGrp[g].maxLevel | (uint32_t)p->aGrp[g].flags << 8;
  p->nUndo += 3;
  p->aGrp[g].flags |= GROUP_SAVED;
  return VEC0_HNSW_OK;
}

/* Sets the entry point of (loaded) group g. */
int vec0HnswSetEntry(Vec0Hnsw *p, uint32_t g, uint32_t entry, int level) {
  Group *pG = &p->aGrp[g];
  int rc;
  if (p->bUndo && !(pG->flags & GROUP_SAVED)) {
    if ((rc = saveGroup(p, g)) != 0) return rc;
  }
  if (g == 0) {
    p->bHdrDirty = 1;
  } else if (!(pG->flags & GROUP_DIRTY)) {
    rc = vec0HnswReserve(p, &p->aGrpDirty, &p->nGrpDirtyAlloc, p->nGrpDirty + 1,
                 sizeof(uint32_t));
    if (rc) return rc;
    p->aGrpDirty[p->nGrpDirty++] = g;
    pG->flags |= GROUP_DIRTY;
  }
  pG->entry = entry;
  pG->maxLevel = (int8_t)level;
  return VEC0_HNSW_OK;
}

void vec0HnswFreeNodes(Vec0Hnsw *p) {
  uint32_t i;
  vec0MemPrefaultStop(&p->linkPrefault);
  for (i = 0; i < p->nCap; i++) {
    if (p->apUp[i]) p->h.xFree(p->h.pCtx, p->apUp[i]);
  }
  freeSmall(p);
  p->h.xFree(p->h.pCtx, p->pLink0Mem);
  p->pLink0Mem = NULL;
  p->aFlag = p->aLevel = NULL;
  p->aPlainBm = p->aSeenBm = NULL;
  p->nSeen = 0;
  p->bSeenAll = 0;
  p->aGroup = NULL;
  p->apUp = NULL;
  p->aLink0 = p->aVisit = p->aPos = NULL;
  p->bArena = 0;
  p->nArena = 0;
  p->nCap = 0;
  p->nDirty = 0;
  for (i = 0; i < p->nGrpCap; i++) {
    p->aGrp[i].entry = VEC0_HNSW_NONE;
    p->aGrp[i].maxLevel = -1;
    p->aGrp[i].flags = 0;
  }
  p->nGrpDirty = 0;
}

void vec0HnswBegin(Vec0Hnsw *p) {
  vec0HnswCommit(p);
  p->bUndo = 1;
  p->u0.nCount = p->nCount;
  p->u0.nBound = p->nBound;
  p->u0.bHdrDirty = p->bHdrDirty;
  p->u0.nDirty = p->nDirty;
  p->u0.nGrpDirty = p->nGrpDirty;
}

/* Walks the undo records; bRestore puts every node back as it was. */
static void endScope(Vec0Hnsw *p, int bRestore) {
  size_t i = 0;
  while (i < p->nUndo) {
    uint32_t id = p->aUndo[i], info = p->aUndo[i + 1];
    const uint32_t *a = p->aUndo + i + 2;
    if (id & UNDO_GROUP) {
      Group *pG = &p->aGrp[id & ~UNDO_GROUP];
      if (bRestore) {
        pG->entry = info;
        pG->maxLevel = (int8_t)(uint8_t)(a[0] & 0xff);
        /* saved during a batch: its mark is the batch's, gone when it returned */
        pG->flags = (uint8_t)(a[0] >> 8) & (uint8_t)~GROUP_BATCH;
      }
      pG->flags &= (uint8_t)~GROUP_SAVED;
      i += 3;
      continue;
    }
    i += 2;
    if (info & UNDO_PRESENT) {
      int L = p->aLevel[id]; /* the level of an existing node never changes */
      if (bRestore) {
        memcpy(links(p, id, 0), a, (size_t)(p->m0 + 1) * sizeof(uint32_t));
        if (L > 0) {
          memcpy(p->apUp[id], a + p->m0 + 1,
                 (size_t)L * (size_t)(p->m + 1) * sizeof(uint32_t));
        }
        vec0HnswSetFlags(p, id, (uint8_t)(info & 0xff));
      }
      i += rowWords(p, L);
    } else if (bRestore) {
      /* Inserted in this scope: gone again. */
      p->h.xFree(p->h.pCtx, p->apUp[id]);
      p->apUp[id] = NULL;
      vec0HnswSetFlags(p, id, 0);
    }
    vec0HnswSetFlags(p, id, p->aFlag[id] & (uint8_t)~NODE_SAVED);
  }
  if (bRestore) {
    p->nCount = p->u0.nCount;
    p->nBound = p->u0.nBound;
    p->bHdrDirty = p->u0.bHdrDirty;
    /* Nodes and groups first made dirty in the scope were appended; their
    ** flags are clean again. */
    p->nDirty = p->u0.nDirty;
    p->nGrpDirty = p->u0.nGrpDirty;
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
  uint32_t entry, maxLevel, m, efc, count, bound;
  if (n != VEC0_HNSW_HEADER_SIZE || get32(a) != HNSW_FORMAT) {
    return vec0HnswCorrupt(p, "bad graph header");
  }
  entry = get32(a + 4);
  maxLevel = get32(a + 8);
  m = get32(a + 12);
  efc = get32(a + 16);
  count = get32(a + 20);
  bound = get32(a + 32);
  if (m < 2 || m > 128 || efc < 1 || efc > 4096 || bound > 0x7fffffffu ||
      count > bound) {
    return vec0HnswCorrupt(p, "bad graph header");
  }
  if (bound > nMax) {
    /* Checked before the node arrays are sized for it. */
    return vec0HnswCorrupt(p, "bad graph header: node ids up to %u, at most %u",
                           bound, nMax);
  }
  /* Group 0 may be empty while other groups have nodes. */
  if (maxLevel == VEC0_HNSW_NONE
          ? entry != VEC0_HNSW_NONE
          : (maxLevel > VEC0_HNSW_MAX_LEVEL || entry >= bound)) {
    return vec0HnswCorrupt(p, "bad graph header: entry point %u, max level %d, %u nodes",
                   entry, (int)maxLevel, count);
  }
  vec0HnswFreeNodes(p);
  p->aGrp[0].entry = entry;
  p->aGrp[0].maxLevel = maxLevel == VEC0_HNSW_NONE ? -1 : (int8_t)maxLevel;
  p->aGrp[0].flags = GROUP_LOADED;
  p->m = (int)m;
  p->m0 = 2 * (int)m;
  p->efc = (int)efc;
  p->mL = 1.0 / log((double)m);
  p->seed = (uint64_t)get32(a + 24) | (uint64_t)get32(a + 28) << 32;
  p->bHdrDirty = 0;
  p->bArena = link0Bytes(p, bound) >= vec0HnswArenaMin;
  /* Every id below nBound must index the node arrays without a check. */
  if (vec0HnswGrowNodes(p, bound) != VEC0_HNSW_OK) {
    p->aGrp[0].entry = VEC0_HNSW_NONE;
    p->aGrp[0].maxLevel = -1;
    p->nCount = p->nBound = 0;
    return VEC0_HNSW_NOMEM;
  }
  p->nCount = count;
  p->nBound = bound;
  return VEC0_HNSW_OK;
}

void vec0HnswHeaderEncode(Vec0Hnsw *p, unsigned char *a) {
  put32(a, HNSW_FORMAT);
  put32(a + 4, p->aGrp[0].entry);
  put32(a + 8, p->aGrp[0].maxLevel < 0 ? VEC0_HNSW_NONE : (uint32_t)p->aGrp[0].maxLevel);
  put32(a + 12, (uint32_t)p->m);
  put32(a + 16, (uint32_t)p->efc);
  put32(a + 20, p->nCount);
  put32(a + 24, (uint32_t)p->seed);
  put32(a + 28, (uint32_t)(p->seed >> 32));
  put32(a + 32, p->nBound);
}

int vec0HnswIsDirty(const Vec0Hnsw *p) {
  return p->bHdrDirty || p->nDirty > 0 || p->nGrpDirty > 0;
}

static int cmpU32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

/* Serialises node id into p->aRec; returns the size or -rc. */
static int encodeNode(Vec0Hnsw *p, uint32_t id) {
  int L = p->aLevel[id], l, rc;
  uint32_t i, g = p->aGroup[id];
  size_t off = g ? 8 : 4, n = off;
  for (l = 0; l <= L; l++) n += 4 + 4 * (size_t)links(p, id, l)[0];
  if ((rc = vec0HnswReserve(p, &p->aRec, &p->nRecAlloc, n, 1)) != 0) return -rc;
  p->aRec[0] = (unsigned char)L;
  p->aRec[1] = (unsigned char)(((p->aFlag[id] & NODE_DELETED) ? REC_DELETED : 0) |
                               (g ? REC_GROUP : 0));
  p->aRec[2] = p->aRec[3] = 0;
  if (g) put32(p->aRec + 4, g);
  for (l = 0; l <= L; l++) {
    const uint32_t *aL = links(p, id, l);
    for (i = 0; i <= aL[0]; i++, off += 4) put32(p->aRec + off, aL[i]);
  }
  return (int)n;
}

int vec0HnswFlush(Vec0Hnsw *p,
                  int (*xWrite)(void *pCtx, uint32_t id,
                                const unsigned char *aRec, int nRec),
                  int (*xWriteGroup)(void *pCtx, uint32_t g, uint32_t entry,
                                     int maxLevel),
                  void *pCtx) {
  size_t i;
  int rc;
  vec0HnswCommit(p); /* a flushed change cannot be undone in memory */
  if (p->nDirty) qsort(p->aDirty, p->nDirty, sizeof(uint32_t), cmpU32);
  for (i = 0; i < p->nDirty; i++) {
    int n = encodeNode(p, p->aDirty[i]);
    if (n < 0) return -n;
    if ((rc = xWrite(pCtx, p->aDirty[i], p->aRec, n)) != 0) return rc;
  }
  if (p->nGrpDirty) qsort(p->aGrpDirty, p->nGrpDirty, sizeof(uint32_t), cmpU32);
  for (i = 0; i < p->nGrpDirty; i++) {
    const Group *pG = &p->aGrp[p->aGrpDirty[i]];
    if (xWriteGroup == NULL) return VEC0_HNSW_CORRUPT;
    rc = xWriteGroup(pCtx, p->aGrpDirty[i], pG->entry, pG->maxLevel);
    if (rc) return rc;
  }
  for (i = 0; i < p->nDirty; i++) {
    vec0HnswSetFlags(p, p->aDirty[i], p->aFlag[p->aDirty[i]] & (uint8_t)~NODE_DIRTY);
  }
  for (i = 0; i < p->nGrpDirty; i++) {
    p->aGrp[p->aGrpDirty[i]].flags &= (uint8_t)~GROUP_DIRTY;
  }
  p->nDirty = 0;
  p->nGrpDirty = 0;
  p->bHdrDirty = 0;
  return VEC0_HNSW_OK;
}

uint32_t vec0HnswCount(const Vec0Hnsw *p) { return p->nCount; }

int vec0HnswShape(Vec0Hnsw *p, uint32_t g, int *pnLevel, uint32_t *pEntry, size_t *pnBytes) {
  size_t n = (size_t)p->nCap * ((size_t)(p->m0 + 1) * 4 + 2 + 4 + 4);
  int rc = vec0HnswLoadEntry(p, g);
  if (rc) return rc;
  *pnLevel = p->aGrp[g].maxLevel + 1;
  *pEntry = p->aGrp[g].maxLevel >= 0 ? p->aGrp[g].entry : VEC0_HNSW_NONE;
  for (uint32_t id = 0; id < p->nBound && id < p->nCap; id++) {
    if ((p->aFlag[id] & NODE_LOADED) && p->aLevel[id] > 0) {
      n += (size_t)p->aLevel[id] * (size_t)(p->m + 1) * 4;
    }
  }
  *pnBytes = n;
  return VEC0_HNSW_OK;
}

const char *vec0HnswErrmsg(const Vec0Hnsw *p) { return p->zErr; }

int vec0HnswIsLive(Vec0Hnsw *p, uint32_t id) {
  int rc = vec0HnswLoadNode(p, id);
  if (rc == VEC0_HNSW_NOTFOUND) return 0;
  if (rc) return -rc;
  return (p->aFlag[id] & NODE_DELETED) ? 0 : 1;
}

int vec0HnswHasNode(Vec0Hnsw *p, uint32_t id) {
  int rc = vec0HnswLoadNode(p, id);
  if (rc == VEC0_HNSW_NOTFOUND) return 0;
  return rc ? -rc : 1;
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
          return vec0HnswCorrupt(p, "node %u: link to %u at level %d but node %u has no record",
                         id, t, l, t);
        }
        if (p->aLevel[t] < l) {
          return vec0HnswCorrupt(p, "node %u: link to %u at level %d but node %u has level %d",
                         id, t, l, t, p->aLevel[t]);
        }
        if (p->aGroup[t] != p->aGroup[id]) {
          return vec0HnswCorrupt(p, "node %u of group %u links to node %u of group %u", id,
                         p->aGroup[id], t, p->aGroup[t]);
        }
      }
    }
  }
  return VEC0_HNSW_OK;
}

/*
** Whether live node x, which no walk from its group's entry reaches, has a
** twin that one does: a live node w, found by a search for x's own vector,
** with d(x, w) = d(x, x) = d(w, w), which for l2, cosine and dot alike
** means w is as near as x to every query (the same vector; for cosine, a
** positive multiple).  The link heuristic takes an exact copy of a kept
** node for redundant (vec0HnswSelect), so among many copies of one vector
** a few can be left with no way in (30 000 copies: one); a query still
** finds a copy at the same distance, and a filter that wants that very row
** ends in the host's scan.  Such a node is no corruption.
*/
static int hasTwin(Vec0Hnsw *p, uint32_t x, int *pbTwin) {
  Vec0HnswResult aRes[8]; /* x itself is never among them: no walk reaches it */
  const void *q, *v;
  int rc = VEC0_HNSW_OK, nRes = 0, i;
  float dSelf;
  *pbTwin = 0;
  if ((q = vec0HnswVector(p, x, &rc)) == NULL) return rc;
  dSelf = p->h.xDistance(p->h.pCtx, q, q);
  rc = vec0HnswSearch(p, p->aGroup[x], q, 8, p->efc, NULL, NULL, aRes, &nRes);
  for (i = 0; rc == VEC0_HNSW_OK && i < nRes && !*pbTwin; i++) {
    if (aRes[i].distance != dSelf || aRes[i].id == x) continue;
    if ((v = vec0HnswVector(p, aRes[i].id, &rc)) == NULL) return rc;
    *pbTwin = p->h.xDistance(p->h.pCtx, v, v) == dSelf &&
              p->h.xDistance(p->h.pCtx, q, v) == dSelf;
  }
  return rc;
}

/*
** Breadth-first walks from the entry point of every group that has a node,
** over every level's links: every live node must be reached from its own
** group's entry (checkLinks made sure no link leaves a group), or have a
** twin that is (hasTwin).
*/
static int checkReach(Vec0Hnsw *p, uint32_t nId) {
  size_t nHead = 0, nTail = 0;
  uint32_t gen, id, i;
  int rc = VEC0_HNSW_OK, l;
  rc = vec0HnswReserve(p, &p->aQueue, &p->nQueueAlloc, (size_t)nId + 1, sizeof(uint32_t));
  if (rc) return rc;
  gen = vec0HnswNextGen(p);
  for (id = 0; id < nId && rc == VEC0_HNSW_OK; id++) {
    uint32_t g = p->aGroup[id];
    const Group *pG;
    if (!(p->aFlag[id] & NODE_LOADED)) continue;
    if ((rc = vec0HnswLoadEntry(p, g)) != 0) break;
    pG = &p->aGrp[g];
    if (pG->flags & GROUP_SEEN) continue;
    if (pG->maxLevel < 0) {
      rc = vec0HnswCorrupt(p, "node %u: its group %u has no entry point", id, g);
      break;
    }
    p->aGrp[g].flags |= GROUP_SEEN;
    if (pG->entry >= nId) {
      rc = vec0HnswCorrupt(p, "entry point %u of group %u is out of range", pG->entry, g);
      break;
    }
    nHead = nTail = 0;
    vec0HnswMark(p, pG->entry, gen);
    p->aQueue[nTail++] = pG->entry;
    while (nHead < nTail) {
      uint32_t n = p->aQueue[nHead++];
      for (l = 0; l <= p->aLevel[n]; l++) {
        const uint32_t *L = links(p, n, l);
        for (i = 0; i < L[0]; i++) {
          if (vec0HnswSeen(p, L[1 + i], gen)) continue;
          vec0HnswMark(p, L[1 + i], gen);
          p->aQueue[nTail++] = L[1 + i];
        }
      }
    }
  }
  for (i = 0; i < p->nGrpCap; i++) p->aGrp[i].flags &= (uint8_t)~GROUP_SEEN;
  if (rc) return rc;
  /* The live nodes not reached, into aQueue (the walks are done with it):
  ** a search for a twin stamps aVisit anew. */
  nTail = 0;
  for (id = 0; id < nId; id++) {
    if ((p->aFlag[id] & (NODE_LOADED | NODE_DELETED)) == NODE_LOADED &&
        !vec0HnswSeen(p, id, gen)) {
      p->aQueue[nTail++] = id;
    }
  }
  for (nHead = 0; nHead < nTail; nHead++) {
    int bTwin = 0;
    id = p->aQueue[nHead];
    if ((rc = hasTwin(p, id, &bTwin)) != 0) return rc;
    if (!bTwin) {
      return vec0HnswCorrupt(p, "node %u: live but not reachable from the entry point %u of "
                        "its group %u",
                     id, p->aGrp[p->aGroup[id]].entry, p->aGroup[id]);
    }
  }
  return VEC0_HNSW_OK;
}

static int runCheck(Vec0Hnsw *p, uint32_t nId) {
  uint32_t id, nFound = 0;
  int rc;
  if (nId > p->nBound) {
    if ((rc = vec0HnswGrowNodes(p, nId)) != 0) return rc;
    p->nBound = nId;
  }
  for (id = 0; id < nId; id++) {
    rc = vec0HnswLoadNode(p, id);
    if (rc == VEC0_HNSW_NOTFOUND) continue;
    if (rc) return rc;
    nFound++;
  }
  if (p->aGrp[0].maxLevel >= 0) {
    if (p->aGrp[0].entry >= nId) {
      return vec0HnswCorrupt(p, "entry point %u is out of range", p->aGrp[0].entry);
    }
    if ((rc = vec0HnswLoadEntry(p, 0)) != 0) return rc;
  }
  for (id = 0; id < p->nCap; id++) {
    /* what a walk trusts instead of the flags (vec0HnswSetFlags) */
    int bPlain = (p->aFlag[id] & (NODE_LOADED | NODE_DELETED)) == NODE_LOADED;
    if (bPlain != vec0HnswBit(p->aPlainBm, id)) {
      return vec0HnswCorrupt(p, "internal: node %u's bit says %s", id,
                             bPlain ? "not loaded or deleted" : "loaded and not deleted");
    }
  }
  if ((rc = checkLinks(p, nId)) != 0) return rc;
  if (nId >= p->nBound && nFound != p->nCount) {
    return vec0HnswCorrupt(p, "the header counts %u nodes but %u have a record",
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
