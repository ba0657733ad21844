/*
** vec0_hnswInt.h: what the files of the HNSW graph share, and nothing else
** includes: the in-memory layout of a graph, the internal helpers of
** vec0_hnsw_store.c (the graph's memory, its records and its checks) that
** vec0_hnsw.c (building and searching) calls, and the steps of an
** insertion in vec0_hnsw.c that vec0_hnsw_batch.c (the batch insert on
** threads) runs.  Like vec0_hnsw.h it knows nothing of SQLite.
**
** Nodes live in arrays indexed by id so that the hot loop of a search
** touches as little memory as possible: one flag byte per node (loaded /
** deleted / dirty) with a bit per node that says "loaded and not deleted",
** a visited stamp per node and a bit per node that a level search sets on
** the nodes it met (bitmaps, which stay in the caches), and the level-0 links of
** every node in one flat array of fixed-size rows (count followed by up to
** 2*m ids), the layout that makes a level-0 expansion a single
** cache-friendly read.  The rare upper levels get one small allocation per
** node.
*/
#ifndef VEC0_HNSWINT_H
#define VEC0_HNSWINT_H

#include "vec0_hnsw.h"
#include "vec0_mem.h"

#include <stddef.h>
#include <stdint.h>

#define NODE_LOADED 0x01
#define NODE_DELETED 0x02
#define NODE_DIRTY 0x04
#define NODE_SAVED 0x08 /* its before-image is in the current undo scope */

#define HNSW_FORMAT 1

/* Flags of byte 1 of a node record. */
#define REC_DELETED 0x01
#define REC_GROUP 0x02 /* a u32 group follows the first 4 bytes */

#define PREFETCH(p) VEC0_PREFETCH(p)

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
  int bDeleted;     /* deleted nodes are results too */
  size_t nSideMax;  /* copies of the node linking to them set aside, at most */
} Filter;

/* A link dropped by the heuristic, and the kept node that made it redundant. */
typedef struct Drop {
  uint32_t id;  /* dropped */
  uint32_t via; /* kept, and nearer to the dropped one than the base is */
} Drop;

/*
** A group's entry point: its node of the highest level.  Group 0's lives in
** the header; the others are read from the host (xReadGroup) when first
** used and written back by vec0HnswFlush (xWriteGroup).
*/
#define GROUP_LOADED 0x01
#define GROUP_DIRTY 0x02
#define GROUP_SAVED 0x04 /* its before-image is in the current undo scope */
#define GROUP_SEEN 0x08  /* vec0HnswCheck: its walk is done */
#define GROUP_BATCH 0x10 /* vec0HnswInsertBatch: its nodes are in memory */
typedef struct Group {
  uint32_t entry;
  int8_t maxLevel; /* -1 when the group is empty */
  uint8_t flags;
} Group;

struct Vec0Hnsw {
  Vec0HnswHost h;
  int m, m0, efc;
  uint64_t seed;
  double mL;
  Group *aGrp;      /* indexed by group id */
  uint32_t nGrpCap;
  uint32_t *aGrpDirty; /* groups other than 0 to write at the next flush */
  size_t nGrpDirty, nGrpDirtyAlloc;
  uint32_t nCount;
  uint32_t nBound; /* ids below this may have a record */
  int bHdrDirty;

  uint32_t nCap; /* capacity of the per-node arrays */
  void *pNodeMem;   /* the block of the arrays below but aLink0 (growSmall) */
  size_t nNodeMap;  /* its bytes if mapped (vec0MemMapZero), else 0 (xMalloc) */
  void *pLink0Mem;  /* the block aLink0 is in (growLink0) */
  uint8_t *aFlag;   /* written through vec0HnswSetFlags only */
  uint8_t *aLevel;
  uint32_t *aGroup; /* the group of each node */
  uint32_t **apUp;  /* levels 1..L: L rows of (m+1) u32 */
  uint32_t *aLink0; /* nCap rows of (m0+1) u32: count, ids (bArena: +1, see aPos) */
  /*
  ** bArena (a large graph opened lazily, vec0HnswArenaMin): the level-0 rows
  ** lie in aLink0 in the order the nodes were first read or added, row
  ** aPos[id] for node id (0: none yet, row 0 staying empty), nArena rows
  ** taken; else aPos is NULL and node id's row is row id.
  */
  int bArena;
  uint32_t *aPos;
  uint32_t nArena;
  int bHuge;         /* aLink0 asks for huge pages (vec0HnswUseHugePages) */
  size_t nCollapsed; /* bytes of aLink0 made huge pages (vec0HnswHugeStep) */
  Vec0MemPrefault linkPrefault; /* aLink0 made resident (vec0HnswPrefaultLinks) */
  /*
  ** Two bits per node in bitmaps of nCap bits, small enough to stay in the
  ** caches where the per-node arrays are not (a million nodes: 128 KiB
  ** each, against 4 MB of stamps and 1 MB of flags):
  ** - aPlainBm: the node is loaded and not deleted (vec0HnswSetFlags keeps
  **   it), so that a walk reads no flags of such a node;
  ** - aSeenBm: met by the current level search of the graph's own walks
  **   (vec0HnswSearchLayer; a batch worker's walks use their stamps), its
  **   bits listed in aSeenList (nSeen of them, or bSeenAll: too many) and
  **   cleared when the next one starts.
  ** 1M x 128 int8, knn_ab: 1.09-1.10x over the stamps and flags read per
  ** neighbour (bench/README.md "Stop 30").
  */
  uint64_t *aPlainBm;
  uint64_t *aSeenBm;
  uint32_t *aSeenList;
  size_t nSeen, nSeenAlloc;
  int bSeenAll;
  /* A stamp per node, set to its gen by a walk on the nodes it met. */
  uint32_t *aVisit;
  uint32_t hide1;    /* 1 + a node searches walk around (vec0HnswHide), or 0 */
  uint32_t gen;

  uint32_t *aDirty;
  size_t nDirty, nDirtyAlloc;

  /*
  ** During vec0HnswInsertBatch only: the vector of every node the batch can
  ** reach, indexed by id (NULL for the others), taken from xVector before
  ** any worker starts, so that workers never call the host for one.
  */
  const void **apVec;
  /* vec0HnswSetDense: node id < nDense has its vector at pDense + id * nDenseStride. */
  const unsigned char *pDense;
  size_t nDenseStride;
  uint32_t nDense;

  /* Scratch reused by every call, so a steady-state search never allocates. */
  Pair *aCand;
  size_t nCandAlloc;
  Pair *aTop;
  size_t nTopAlloc;
  Pair *aSide; /* a search's copies set aside (vec0HnswSearchLayer) */
  size_t nSideAlloc;
  Pair *aW;
  size_t nWAlloc;
  Pair *aP;
  size_t nPAlloc;
  struct Drop *aDrop;
  size_t nDropAlloc;
  /* Level-0 nodes a hand-over found no place for (vec0HnswHandOver), to be
  ** connected again by vec0HnswRepairLost before the write returns. */
  uint32_t *aLost;
  size_t nLost, nLostDone, nLostAlloc;
  uint32_t aFresh[2 * 128 + 1]; /* vec0HnswRepairLost: a level-0 list */
  int bHandChain; /* set by vec0HnswHandOver when a link had to be displaced */
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
    uint32_t nCount, nBound;
    int bHdrDirty;
    size_t nDirty, nGrpDirty;
  } u0;
  uint32_t *aUndo;
  size_t nUndo, nUndoAlloc;

  char zErr[160];
};

#define UNDO_PRESENT 0x100
#define UNDO_GROUP 0x80000000u /* id of an undo record of a group, not a node */

static inline uint32_t get32(const unsigned char *a) {
  return (uint32_t)a[0] | (uint32_t)a[1] << 8 | (uint32_t)a[2] << 16 |
         (uint32_t)a[3] << 24;
}

static inline void put32(unsigned char *a, uint32_t v) {
  a[0] = (unsigned char)v;
  a[1] = (unsigned char)(v >> 8);
  a[2] = (unsigned char)(v >> 16);
  a[3] = (unsigned char)(v >> 24);
}

/* Whether node id was met by the walk of stamp gen. */
static inline int vec0HnswSeen(const Vec0Hnsw *p, uint32_t id, uint32_t gen) {
  return p->aVisit[id] == gen;
}

/* Stamps node id met by the walk of stamp gen. */
static inline void vec0HnswMark(Vec0Hnsw *p, uint32_t id, uint32_t gen) {
  p->aVisit[id] = gen;
}

/* Whether bit id of bitmap a is set. */
static inline int vec0HnswBit(const uint64_t *a, uint32_t id) {
  return (int)((a[id >> 6] >> (id & 63)) & 1);
}

/* Sets node id's flags to f, and its bit of aPlainBm. */
static inline void vec0HnswSetFlags(Vec0Hnsw *p, uint32_t id, uint8_t f) {
  uint64_t b = (uint64_t)1 << (id & 63);
  p->aFlag[id] = f;
  if ((f & (NODE_LOADED | NODE_DELETED)) == NODE_LOADED) {
    p->aPlainBm[id >> 6] |= b;
  } else {
    p->aPlainBm[id >> 6] &= ~b;
  }
}

static inline uint32_t *links(const Vec0Hnsw *p, uint32_t id, int lc) {
  if (lc == 0) return p->aLink0 + (size_t)(p->aPos ? p->aPos[id] : id) * (size_t)(p->m0 + 1);
  return p->apUp[id] + (size_t)(lc - 1) * (size_t)(p->m + 1);
}

/* Whether link list L (count, then ids) holds id. */
static inline int vec0HnswHasLink(const uint32_t *L, uint32_t id) {
  uint32_t i;
  for (i = 0; i < L[0]; i++) {
    if (L[1 + i] == id) return 1;
  }
  return 0;
}

/* u32 words of the link rows of a node of level L. */
static inline size_t rowWords(const Vec0Hnsw *p, int L) {
  return (size_t)(p->m0 + 1) + (size_t)L * (size_t)(p->m + 1);
}

/* vec0_hnsw_store.c */
uint32_t *vec0HnswRow0(Vec0Hnsw *p, uint32_t id);
int vec0HnswCorrupt(Vec0Hnsw *p, const char *zFmt, ...);
int vec0HnswReserve(Vec0Hnsw *p, void *pp, size_t *pnAlloc, size_t nNeed,
                    size_t szElem);
int vec0HnswGrowNodes(Vec0Hnsw *p, uint32_t nNeed);
int vec0HnswGrowGroups(Vec0Hnsw *p, uint32_t g);
void vec0HnswFreeNodes(Vec0Hnsw *p);
uint32_t vec0HnswNextGen(Vec0Hnsw *p);
int vec0HnswSaveNode(Vec0Hnsw *p, uint32_t id);
int vec0HnswMarkDirty(Vec0Hnsw *p, uint32_t id);
int vec0HnswLoadNode(Vec0Hnsw *p, uint32_t id);
int vec0HnswTouch(Vec0Hnsw *p, uint32_t from, int lc, uint32_t t);
int vec0HnswLoadEntry(Vec0Hnsw *p, uint32_t g);
int vec0HnswSetEntry(Vec0Hnsw *p, uint32_t g, uint32_t entry, int level);

/* vec0_hnsw.c: the steps of an insertion, which vec0_hnsw_batch.c reuses */
int vec0HnswDrainTop(Vec0Hnsw *p, size_t nTop, size_t *pnW);
int vec0HnswSearchLayer(Vec0Hnsw *p, const void *q, Pair ep, int ef, int lc,
                        const Filter *f, size_t *pnTop);
int vec0HnswCmpPair(const void *a, const void *b);
void vec0HnswDistances(const Vec0Hnsw *p, const void *a, const void *const *apB, size_t n,
                       float *aOut);
int vec0HnswSelect(Vec0Hnsw *p, Pair *a, size_t n, int M, size_t *pnSel,
                   Drop *aDrop, size_t *pnDrop);
int vec0HnswHandOver(Vec0Hnsw *p, uint32_t n, int lc, const Drop *x); /* _repair.c */
int vec0HnswDescend(Vec0Hnsw *p, const Group *pG, const void *q, int lcStop, Pair *pEp);
int vec0HnswFindLinks(Vec0Hnsw *p, uint32_t id, const void *q, Pair *pEp, int lc,
                      size_t *pnW, size_t *pnSel);
int vec0HnswConnect(Vec0Hnsw *p, uint32_t id, int L);
int vec0HnswConnectKeeping(Vec0Hnsw *p, uint32_t id, int L, int bLinkBack);
int vec0HnswNoteLost(Vec0Hnsw *p, uint32_t id);
int vec0HnswLinkBack(Vec0Hnsw *p, uint32_t z, const uint32_t *aNear);
int vec0HnswRepairLost(Vec0Hnsw *p);
int vec0HnswAddNode(Vec0Hnsw *p, uint32_t id, int L, uint32_t g);

/* The vector of node id, from the host (hot: inline). */
static inline const void *vec0HnswVector(Vec0Hnsw *p, uint32_t id, int *pRc) {
  const void *v;
  if (p->apVec) {
    /* A batch: links stay inside a group, and the table holds its nodes. */
    if ((v = p->apVec[id]) == NULL) {
      *pRc = vec0HnswCorrupt(p, "node %u: reached from another group", id);
    }
    return v;
  }
  if (id < p->nDense) return p->pDense + (size_t)id * p->nDenseStride;
  v = p->h.xVector(p->h.pCtx, id, pRc);
  if (v == NULL && *pRc == VEC0_HNSW_OK) *pRc = VEC0_HNSW_NOMEM;
  return v;
}

#endif /* VEC0_HNSWINT_H */
