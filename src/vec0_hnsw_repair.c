/*
** vec0_hnsw_repair.c: keeping every node of the HNSW graph reachable.
**
** When a node's list is re-selected (vec0_hnsw.c's relink) a link it drops
** may have been the dropped node's last way in.  The hand-over places it
** where the node that dropped it still reaches it; when every list it could
** go to is full it takes another link's place, and a node so displaced at
** level 0 is noted lost, then connected again and linked to from a node a
** search reached (vec0HnswRepairLost), before the write returns.
**
** Like the rest of the HNSW library this file calls only the C library and
** the host's callbacks.
*/
#include "vec0_hnswInt.h"

#include <math.h>

/*
** One step of vec0HnswHandOver(): places dropped link x of node n at level
** lc so that it stays reachable through n, and sets *pbDone; or, when every
** list it may use is full, sets nothing.
*/
static int handOnce(Vec0Hnsw *p, uint32_t n, int lc, const Drop *x, int *pbDone) {
  uint32_t cap = (uint32_t)(lc ? p->m : p->m0), *L, *Lv, k;
  int rc;
  *pbDone = 1;
  /* Back in n's list already: a batch hands over many drops in a row. */
  if (vec0HnswHasLink(links(p, n, lc), x->id)) return VEC0_HNSW_OK;
  if ((rc = vec0HnswTouch(p, n, lc, x->via)) != 0) return rc;
  Lv = links(p, x->via, lc); /* after the touch: loading may move the lists */
  if (vec0HnswHasLink(Lv, x->id)) return VEC0_HNSW_OK;
  if (Lv[0] < cap) {
    if ((rc = vec0HnswMarkDirty(p, x->via)) != 0) return rc;
    Lv[1 + Lv[0]++] = x->id;
    return VEC0_HNSW_OK;
  }
  L = links(p, n, lc);
  if (L[0] < cap) {
    if ((rc = vec0HnswMarkDirty(p, n)) != 0) return rc;
    L[1 + L[0]++] = x->id;
    return VEC0_HNSW_OK;
  }
  for (k = 0; k < cap; k++) {
    uint32_t t = links(p, n, lc)[1 + k];
    if ((rc = vec0HnswTouch(p, n, lc, t)) != 0) return rc;
    Lv = links(p, t, lc);
    if (vec0HnswHasLink(Lv, x->id)) return VEC0_HNSW_OK;
    if (Lv[0] < cap) {
      if ((rc = vec0HnswMarkDirty(p, t)) != 0) return rc;
      Lv[1 + Lv[0]++] = x->id;
      return VEC0_HNSW_OK;
    }
  }
  /* All full: a kept node gives up a link that n also has (that node
  ** stays reachable through n) for x. */
  for (k = 0; k < cap; k++) {
    uint32_t t = links(p, n, lc)[1 + k], j;
    Lv = links(p, t, lc);
    for (j = 0; j < Lv[0]; j++) {
      if (Lv[1 + j] == n || !vec0HnswHasLink(links(p, n, lc), Lv[1 + j])) continue;
      if ((rc = vec0HnswMarkDirty(p, t)) != 0) return rc;
      links(p, t, lc)[1 + j] = x->id;
      return VEC0_HNSW_OK;
    }
  }
  *pbDone = 0;
  return VEC0_HNSW_OK;
}

/*
** Node via's link nearest to x->id at level lc, other than n, gives way to
** x->id, and is returned in *pY: its way in may be lost (via keeps its far
** links, which a walk at small ef needs: giving up via's farthest link
** instead took 0.04 of recall at ef 10 from a 24-d graph at m = 4).
*/
static int handDisplace(Vec0Hnsw *p, int lc, uint32_t n, const Drop *x, uint32_t *pY) {
  int rc = VEC0_HNSW_OK;
  const void *vx = vec0HnswVector(p, x->id, &rc), *apV[4];
  uint32_t *Lv, i, nV = links(p, x->via, lc)[0], iNear = 0;
  float dNear = INFINITY, aD[4];
  if (vx == NULL) return rc;
  for (i = 0; i < nV; i += 4) {
    uint32_t k, nB = nV - i < 4 ? nV - i : 4;
    for (k = 0; k < nB; k++) {
      if ((apV[k] = vec0HnswVector(p, links(p, x->via, lc)[1 + i + k], &rc)) == NULL) return rc;
    }
    vec0HnswDistances(p, vx, apV, nB, aD);
    for (k = 0; k < nB; k++) {
      if (aD[k] < dNear && links(p, x->via, lc)[1 + i + k] != n) {
        dNear = aD[k];
        iNear = i + k;
      }
    }
  }
  if ((rc = vec0HnswMarkDirty(p, x->via)) != 0) return rc;
  Lv = links(p, x->via, lc);
  *pY = Lv[1 + iNear];
  Lv[1 + iNear] = x->id;
  return VEC0_HNSW_OK;
}

/*
** Keeps dropped link x of node n at level lc reachable through n: it goes
** to the kept node that made it redundant (x->via), or if that one is full
** stays in n's own list while it has room, or else goes to any other kept
** node with room, or else replaces a link of a kept node that n links to
** as well.  If none of these exists it takes the place of via's link
** nearest to it (handDisplace), and at level 0 that node, which may have no
** way in left, is noted in p->aLost: vec0HnswRepairLost connects it again.
** (Handing the displaced link over in turn, down a chain of full lists,
** kept nodes reachable but wore the lists out: 16-d clusters at m = 4 after
** 2 000 updates, recall at ef 10 0.43 against 0.76 this way.)
*/
int vec0HnswHandOver(Vec0Hnsw *p, uint32_t n, int lc, const Drop *x) {
  uint32_t y = VEC0_HNSW_NONE;
  int rc, bDone;
  if ((rc = handOnce(p, n, lc, x, &bDone)) != 0 || bDone) return rc;
  p->bHandChain = 1;
  if ((rc = handDisplace(p, lc, n, x, &y)) != 0 || lc > 0) return rc; /* level 0 reaches it */
  if ((rc = vec0HnswTouch(p, x->via, 0, y)) != 0) return rc;
  return vec0HnswNoteLost(p, y);
}

/*
** Adds id to p->aLost unless it waits there already (the node being
** repaired, p->aLost[p->nLostDone - 1], is taken: it may be lost again).
*/
int vec0HnswNoteLost(Vec0Hnsw *p, uint32_t id) {
  size_t i;
  int rc;
  for (i = p->nLostDone; i < p->nLost; i++) {
    if (p->aLost[i] == id) return VEC0_HNSW_OK;
  }
  rc = vec0HnswReserve(p, &p->aLost, &p->nLostAlloc, p->nLost + 1, sizeof(uint32_t));
  if (rc == VEC0_HNSW_OK) p->aLost[p->nLost++] = id;
  return rc;
}

/* Whether node t or one of its level-0 links links to z. */
static int linksNear(Vec0Hnsw *p, uint32_t t, uint32_t z, int *pRc) {
  uint32_t i;
  if (vec0HnswHasLink(links(p, t, 0), z)) return 1;
  for (i = 0; i < links(p, t, 0)[0]; i++) {
    uint32_t u = links(p, t, 0)[1 + i];
    if ((*pRc = vec0HnswTouch(p, t, 0, u)) != 0) return 0;
    if (vec0HnswHasLink(links(p, u, 0), z)) return 1;
  }
  return 0;
}

/*
** Makes sure node z is reached at level 0 from one of the nodes in aNear (a
** level-0 list: the nodes a search from the entry just chose for z, so
** reached themselves), directly or through one of their links.  If not, z
** gets a place in the list of a node reached from them, the nearest in
** links first (at most LINKBACK_VISIT looked at): one with room, or else
** the place of a node z links to as well (it stays reachable through z).
** Nothing is displaced, so this never loses a node itself.  (A node's own
** links are no proof: two nodes lost together link to each other.)
*/
#define LINKBACK_VISIT 4096
static int linkBack(Vec0Hnsw *p, uint32_t z, const uint32_t *aNear, int bFree);
int vec0HnswLinkBack(Vec0Hnsw *p, uint32_t z, const uint32_t *aNear) {
  return linkBack(p, z, aNear, 0);
}

/*
** With bFree, z is known to be unreached (reachAll): nothing depends on its
** links, so when every list met is full and shares nothing with z's, z
** takes the first link of the nearest node met, w -> t, and links to t
** itself in place of its own last link (t stays reached, through z).  At
** m = 2 a search's 4 096 nodes can all be so (a node stayed unreachable).
*/
static int linkBack(Vec0Hnsw *p, uint32_t z, const uint32_t *aNear, int bFree) {
  uint32_t cap = (uint32_t)p->m0, gen, i, nQ = 0, iQ;
  int rc = VEC0_HNSW_OK;
  if (aNear[0] == 0) return VEC0_HNSW_OK; /* alone in its group: the entry */
  for (i = 0; i < aNear[0]; i++) {
    if ((rc = vec0HnswTouch(p, z, 0, aNear[1 + i])) != 0) return rc;
    if (linksNear(p, aNear[1 + i], z, &rc) || rc) return rc;
  }
  rc = vec0HnswReserve(p, &p->aQueue, &p->nQueueAlloc, LINKBACK_VISIT + 2 * 128, sizeof(uint32_t));
  if (rc) return rc;
  gen = vec0HnswNextGen(p);
  vec0HnswMark(p, z, gen);
  for (i = 0; i < aNear[0]; i++) {
    if (vec0HnswSeen(p, aNear[1 + i], gen)) continue;
    vec0HnswMark(p, aNear[1 + i], gen);
    p->aQueue[nQ++] = aNear[1 + i];
  }
  /* breadth first; each node looked at is loaded (touched by its parent) */
  for (iQ = 0; iQ < nQ; iQ++) {
    const uint32_t *L = links(p, p->aQueue[iQ], 0);
    if (vec0HnswHasLink(L, z)) return VEC0_HNSW_OK; /* reached after all */
    if (L[0] < cap) {
      uint32_t w = p->aQueue[iQ];
      if ((rc = vec0HnswMarkDirty(p, w)) != 0) return rc;
      links(p, w, 0)[1 + links(p, w, 0)[0]++] = z;
      return VEC0_HNSW_OK;
    }
    for (i = 0; i < L[0] && nQ < LINKBACK_VISIT; i++) {
      uint32_t t = L[1 + i];
      if (vec0HnswSeen(p, t, gen)) continue;
      if ((rc = vec0HnswTouch(p, p->aQueue[iQ], 0, t)) != 0) return rc;
      L = links(p, p->aQueue[iQ], 0); /* loading may move the lists */
      vec0HnswMark(p, t, gen);
      p->aQueue[nQ++] = t;
    }
  }
  for (iQ = 0; iQ < nQ; iQ++) {
    uint32_t w = p->aQueue[iQ], *Lw = links(p, w, 0);
    for (i = 0; i < Lw[0]; i++) {
      if (Lw[1 + i] == z || !vec0HnswHasLink(links(p, z, 0), Lw[1 + i])) continue;
      if ((rc = vec0HnswMarkDirty(p, w)) != 0) return rc;
      links(p, w, 0)[1 + i] = z;
      return VEC0_HNSW_OK;
    }
  }
  if (bFree && nQ > 0 && links(p, p->aQueue[0], 0)[0] > 0) {
    uint32_t w = p->aQueue[0], t = links(p, w, 0)[1], *Lz;
    if ((rc = vec0HnswMarkDirty(p, z)) != 0) return rc;
    if ((rc = vec0HnswMarkDirty(p, w)) != 0) return rc;
    Lz = links(p, z, 0);
    if (Lz[0] < cap) Lz[0]++;
    Lz[Lz[0]] = t;
    links(p, w, 0)[1] = z;
  }
  return VEC0_HNSW_OK; /* every list met is full and shares nothing with z's */
}

/*
** The nodes (at most m) a search for node id's vector from its group's
** entry chooses at level 0, into aOut as a level-0 list.  Changes nothing
** but scratch.
*/
static int searchNear(Vec0Hnsw *p, uint32_t id, uint32_t *aOut) {
  int rc = VEC0_HNSW_OK;
  const void *q = vec0HnswVector(p, id, &rc);
  const Group *pG;
  size_t nW, nSel, i;
  Pair ep;
  aOut[0] = 0;
  if (q == NULL) return rc;
  if ((rc = vec0HnswLoadEntry(p, p->aGroup[id])) != 0) return rc;
  pG = &p->aGrp[p->aGroup[id]];
  if (pG->maxLevel < 0 || pG->entry == id) return VEC0_HNSW_OK;
  if ((rc = vec0HnswDescend(p, pG, q, 0, &ep)) != 0) return rc;
  if ((rc = vec0HnswFindLinks(p, id, q, &ep, 0, &nW, &nSel)) != 0) return rc;
  for (i = 0; i < nSel; i++) aOut[1 + i] = p->aW[i].id;
  aOut[0] = (uint32_t)nSel;
  return VEC0_HNSW_OK;
}

/*
** The safety net of a graph small enough (REACH_ALL_LINKS links at level 0,
** or REACH_ALL_MAX ids), after a write that displaced a link: every node is
** read, each group walked at level 0 from its entry, and each live node the
** walk did not reach is linked back from the nodes a search for it meets
** (linkBack, which displaces nothing reached; the node's own links are free
** to change, as nothing reached depends on them).  Repairs follow the nodes
** displaced, but a node reached only through one of them can be cut off on
** the way: with level-0 lists of 4 links (m = 2) 3 of 8 random write mixes
** still left one unreachable.  The walk's cost is the links it reads, so the
** bound is in links: 20 000 ids at m = 16, 160 000 at m = 2 (where graphs of
** 20 100 and 25 000 ids, above the bound of 20 000 ids it had, lost a node
** in 2 of 12 runs of 3 000-5 000 writes).
*/
#define REACH_ALL_MAX 20000
#define REACH_ALL_LINKS (REACH_ALL_MAX * 32)
static int reachAll(Vec0Hnsw *p) {
  uint32_t nBound = p->nBound, id, gen, nHead, nTail, i;
  size_t nMiss = 0;
  int rc = VEC0_HNSW_OK;
  if (nBound > REACH_ALL_MAX && (uint64_t)nBound * (uint64_t)p->m0 > REACH_ALL_LINKS) {
    return VEC0_HNSW_OK;
  }
  for (id = 0; id < nBound; id++) {
    rc = vec0HnswLoadNode(p, id);
    if (rc == VEC0_HNSW_NOTFOUND) rc = VEC0_HNSW_OK;
    if (rc) return rc;
  }
  rc = vec0HnswReserve(p, &p->aQueue, &p->nQueueAlloc, (size_t)nBound + 1, sizeof(uint32_t));
  if (rc) return rc;
  gen = vec0HnswNextGen(p);
  for (id = 0; id < nBound; id++) {
    uint32_t e;
    if ((p->aFlag[id] & (NODE_LOADED | NODE_DELETED)) != NODE_LOADED) continue;
    if (vec0HnswSeen(p, id, gen)) continue;
    if ((rc = vec0HnswLoadEntry(p, p->aGroup[id])) != 0) return rc;
    if (p->aGrp[p->aGroup[id]].maxLevel < 0) continue; /* no entry: nothing to reach from */
    e = p->aGrp[p->aGroup[id]].entry;
    if (!vec0HnswSeen(p, e, gen)) { /* the first node met of its group */
      nHead = nTail = 0;
      vec0HnswMark(p, e, gen);
      p->aQueue[nTail++] = e;
      while (nHead < nTail) {
        const uint32_t *L = links(p, p->aQueue[nHead++], 0);
        for (i = 0; i < L[0]; i++) {
          if (vec0HnswSeen(p, L[1 + i], gen)) continue;
          vec0HnswMark(p, L[1 + i], gen);
          p->aQueue[nTail++] = L[1 + i];
        }
      }
    }
    if (vec0HnswSeen(p, id, gen)) continue;
    rc = vec0HnswReserve(p, &p->aLost, &p->nLostAlloc, nMiss + 1, sizeof(uint32_t));
    if (rc) return rc;
    p->aLost[nMiss++] = id;
  }
  for (i = 0; rc == VEC0_HNSW_OK && i < nMiss; i++) {
    if ((rc = searchNear(p, p->aLost[i], p->aFresh)) == VEC0_HNSW_OK) {
      rc = linkBack(p, p->aLost[i], p->aFresh, 1);
    }
  }
  return rc;
}

/*
** Connects again, as a reconnect does (seeing the whole graph), each node
** of p->aLost in the order they were lost (a deleted one too: it may be the
** way in to live ones), makes sure the nodes its search met reach it
** (vec0HnswLinkBack), and empties the list.  A repair hands links over in
** turn and may lose another node, which joins the list; nodes that crowd
** one full list can take each other's place in turn, so past REPAIR_MORE of
** those a node is only searched for and linked back, which loses nothing.
** Then a small graph is walked (reachAll).  Without this, writes at m = 2..8
** left live nodes unreachable (integrity-check failed: 32 of 40 random
** write mixes at m = 2..8 before, none after).
*/
#define REPAIR_MORE 64
int vec0HnswRepairLost(Vec0Hnsw *p) {
  size_t nMax = p->nLost + REPAIR_MORE, nStart = p->nLost;
  int rc = VEC0_HNSW_OK;
  p->nLostDone = 0;
  while (rc == VEC0_HNSW_OK && p->nLostDone < p->nLost) {
    uint32_t id = p->aLost[p->nLostDone++];
    rc = vec0HnswLoadNode(p, id); /* a displaced link's node may not be */
    if (rc == VEC0_HNSW_NOTFOUND) rc = vec0HnswCorrupt(p, "node %u: linked but unknown", id);
    if (rc) break;
    if (p->nLostDone <= nMax) {
      rc = vec0HnswConnectKeeping(p, id, p->aLevel[id], 1);
    } else if ((rc = searchNear(p, id, p->aFresh)) == VEC0_HNSW_OK) {
      rc = vec0HnswLinkBack(p, id, p->aFresh);
    }
  }
  p->nLost = p->nLostDone = 0;
  if (rc == VEC0_HNSW_OK && nStart > 0) rc = reachAll(p);
  return rc;
}
