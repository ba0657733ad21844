/*
** vec0_hnsw.h: a Hierarchical Navigable Small World graph (Malkov and
** Yashunin) that knows nothing of SQLite.
**
** The graph holds node ids (dense u32 "slots" chosen by the host), never
** vectors: it asks the host for the vector of a node, for a node's stored
** record when the node is not in memory, and for memory.  Changed nodes are
** marked dirty and handed back to the host by vec0HnswFlush(), which is how
** the SQLite side writes only what changed, in the same transaction as the
** rows.  Everything is deterministic: the level of a node is a hash of the
** host's key for it and the graph's seed, and no function uses rand() or the
** clock, so the same calls in the same order give the same records.
**
** Deletion is by tombstone: a deleted node keeps routing searches but is
** never returned; inserting into a tombstoned id re-uses that node (its
** neighbourhood is rebuilt around the new vector and its neighbours repaired),
** which is how freed slots are reclaimed.  vec0HnswUpdate() does the same for
** a vector changed in place.
**
** Error codes are SQLite's numbers so the host can pass them through:
** VEC0_HNSW_OK (0), VEC0_HNSW_NOMEM (7) and VEC0_HNSW_CORRUPT (267, which is
** SQLITE_CORRUPT_VTAB).  A callback's non-zero return is passed back
** unchanged.  After an error the in-memory graph may be partly changed: the
** host then discards it (vec0HnswClose) and reopens it from storage, which
** the transaction has rolled back.
**
** NODE RECORD (what xReadNode returns and vec0HnswFlush writes), all integers
** little-endian:
**   byte 0      level L of the node (0 .. VEC0_HNSW_MAX_LEVEL)
**   byte 1      flags: bit 0 = deleted (tombstone), bit 1 = group follows
**   bytes 2-3   zero
**   u32 group   only if flag bit 1: the node's group (1 .. MAX_GROUP);
**               absent means group 0
**   then for each level l = 0 .. L:
**     u32 n_l                    number of neighbours at level l
**     n_l x u32                  neighbour ids
** n_0 <= 2*m, n_l <= m for l > 0.  A neighbour at level l has level >= l.
**
** HEADER (vec0HnswHeaderEncode, VEC0_HNSW_HEADER_SIZE bytes, little-endian):
**   u32 format (1), u32 entry id of group 0, u32 its max level (0xffffffff
**   when group 0 is empty),
**   u32 m, u32 ef_construction, u32 node count (live + deleted),
**   u64 seed, u32 id bound (every node id is below it; ids need not be
**   dense: a rebuild leaves out the slots of deleted rows).
*/
#ifndef VEC0_HNSW_H
#define VEC0_HNSW_H

#include <stddef.h>
#include <stdint.h>

#define VEC0_HNSW_OK 0
#define VEC0_HNSW_NOMEM 7
#define VEC0_HNSW_CORRUPT 267
#define VEC0_HNSW_NOTFOUND (-1) /* xReadNode only: the id has no record */

#define VEC0_HNSW_MAX_LEVEL 15
#define VEC0_HNSW_HEADER_SIZE 36
#define VEC0_HNSW_NONE 0xffffffffu

typedef struct Vec0Hnsw Vec0Hnsw;

typedef struct Vec0HnswHost {
  void *pCtx; /* passed to every callback */
  void *(*xMalloc)(void *pCtx, size_t n);
  void *(*xRealloc)(void *pCtx, void *p, size_t n);
  void (*xFree)(void *pCtx, void *p);
  /*
  ** The vector of node id.  Returns NULL and sets *pRc on error.  The pointer
  ** stays valid until the current vec0Hnsw* call returns.
  */
  const void *(*xVector)(void *pCtx, uint32_t id, int *pRc);
  /*
  ** The stored record of node id, in a buffer from xMalloc that the graph
  ** then owns (or frees).  Returns VEC0_HNSW_OK, VEC0_HNSW_NOTFOUND if the
  ** node was never stored, or an error code.
  */
  int (*xReadNode)(void *pCtx, uint32_t id, unsigned char **paRec, int *pnRec);
  /*
  ** Optional: the stored entry point and its level of group g >= 1 (group
  ** 0's is in the header), or VEC0_HNSW_NOTFOUND if the group has none.
  ** Hosts that only use group 0 may leave it NULL.
  */
  int (*xReadGroup)(void *pCtx, uint32_t g, uint32_t *pEntry, int *pLevel);
  /* Distance between two vectors; smaller is nearer. */
  float (*xDistance)(void *pCtx, const void *a, const void *b);
  /*
  ** Optional (may be NULL): the distance if it is <= bound, exactly as
  ** xDistance would return it; otherwise any value > bound.  Lets the walk
  ** stop reading a vector as soon as it cannot beat the current candidates.
  */
  float (*xDistanceBound)(void *pCtx, const void *a, const void *b, float bound);
  /*
  ** Optional (may be NULL, and is used only with xDistanceBound): the
  ** distances from a to apB[0..3] into aOut, each as xDistanceBound(a,
  ** apB[i], bound) would give it except that an early exit may happen only
  ** when all four are above bound.  Four reads in flight at once.
  */
  void (*xDistanceBatch)(void *pCtx, const void *a, const void *const *apB,
                         float bound, float *aOut);
  /*
  ** Optional (may be NULL): the distances from a to apB[0..n-1] (the
  ** vectors of nodes aId[0..n-1], as xVector gave them) into aOut,
  ** each exactly as xDistance gives it, n <= 256, and returns 1; or returns
  ** 0 having done nothing (the walk then uses the bound kernels).  A level
  ** search asks it first for all the new neighbours of a node at once, the
  ** greedy descent of the upper levels for up to 8 of them, so
  ** that the host can keep many reads in flight: worth it where a whole
  ** distance is cheap, as on compact codes, not where the bound saves reads.
  ** Called from vec0HnswInsertBatch's threads like the other distances.
  */
  int (*xDistanceMany)(void *pCtx, const void *a, const void *const *apB,
                       const uint32_t *aId, int n, float *aOut);
  /*
  ** Optional (may be NULL): whether to stop.  vec0HnswInsertBatch asks it
  ** on the calling thread, often (after every few nodes it inserts there,
  ** and before each sub-batch); a non-zero return (SQLite's host returns
  ** SQLITE_INTERRUPT after sqlite3_interrupt) ends the batch with that
  ** code once its workers are idle, as any other error would.
  */
  int (*xInterrupt)(void *pCtx);
  /*
  ** Optional (may be NULL): a cheaper stand-in for the query on the upper
  ** levels of vec0HnswSearch.  Called with bOn = 1 before the greedy
  ** descent, it returns the query to descend with (xVector and the
  ** distances then stand for that representation, until the call with
  ** bOn = 0), or NULL to descend on the query itself.  After the descent
  ** (bOn = 0) level 0 is searched with the query, from the node reached,
  ** scored again.  Searches only: an insert descends on the vectors.
  */
  const void *(*xUpper)(void *pCtx, int bOn);
  /*
  ** Optional (may be NULL): whether a and b, two of xVector's results of
  ** the same walk, are the same vector (byte for byte, in the form the walk
  ** scores).  A search's walk then sets copies aside instead of letting
  ** them take its ef places (vec0HnswSearchLayer); without it, it does not.
  */
  int (*xSame)(void *pCtx, const void *a, const void *b);
} Vec0HnswHost;

typedef struct Vec0HnswParams {
  int m;              /* 2 .. 128 */
  int efConstruction; /* 1 .. 4096 */
  uint64_t seed;
} Vec0HnswParams;

typedef struct Vec0HnswResult {
  uint32_t id;
  float distance;
} Vec0HnswResult;

/* A new, empty graph.  The host struct is copied. */
int vec0HnswOpen(const Vec0HnswHost *pHost, const Vec0HnswParams *pParams,
                 Vec0Hnsw **ppOut);
void vec0HnswClose(Vec0Hnsw *p);

/*
** Restores entry point, max level, m, ef_construction, count, seed and id
** bound.  An id bound above nMax (the host's bound on ids) is
** VEC0_HNSW_CORRUPT: the graph would otherwise size its node arrays for
** whatever a damaged header says.
*/
int vec0HnswHeaderDecode(Vec0Hnsw *p, const unsigned char *a, int n, uint32_t nMax);
void vec0HnswHeaderEncode(Vec0Hnsw *p, unsigned char *a);

/* The level a node with this key gets (hash of key and seed). */
int vec0HnswLevel(const Vec0Hnsw *p, uint64_t key);

/*
** GROUPS.  Every node belongs to one group (0 .. VEC0_HNSW_MAX_GROUP): its
** links only ever point to nodes of its group, each group has an entry
** point of its own, and a search walks one group.  So one graph holds many
** independent graphs over one id space, which is how the host splits an
** index by partition key.  A host without partitions uses group 0 alone.
*/
#define VEC0_HNSW_MAX_GROUP 0x7fffffffu

/*
** Adds node id (its vector is available through xVector) to group `group`
** with the level vec0HnswLevel(key).  If id is a tombstone it is revived in
** place with the new vector (keeping its level); it must be of the same
** group.  Inserting a live id is VEC0_HNSW_CORRUPT.
*/
int vec0HnswInsert(Vec0Hnsw *p, uint32_t id, uint64_t key, uint32_t group);
/*
** Inserts n new nodes at once, aId[i] of level vec0HnswLevel(aKey[i]) in
** group aGroup[i] (aGroup NULL: all in group 0), as n vec0HnswInsert calls
** would, but on up to nThread threads, the calling one included, and into
** a graph that depends only on the graph before and the batch, never on
** nThread: what vec0HnswFlush writes afterwards is the same bytes for any
** nThread.  Not the bytes of n vec0HnswInsert calls, though: the batch is
** cut into sub-batches of 1/64 of the node count at their start (of all
** groups, at least 1, at most 4096 nodes), and the nodes of a sub-batch
** search the graph as it stood when it began (about the same recall).
**
** Every id must be new: one in the graph or twice in the batch is
** VEC0_HNSW_CORRUPT, with nothing changed; so is a tombstone, which
** vec0HnswInsert revives.
**
** Threads: before any starts, the calling thread reads every node the batch
** can reach (all the nodes of its groups: xReadNode for those not in memory
** yet; a host that reads in bulk preloads them, vec0HnswPreload) and takes
** the vector of each from xVector (all of them must then stay valid until
** the call returns).  The other threads call only xDistance, xDistanceBound
** and xDistanceBatch, concurrently: these must be safe to call from several
** threads at once (pure functions of their arguments are); every other
** callback, allocation included, happens on the calling thread.  The
** threads are started once per call, at the first sub-batch large enough
** for two, and sleep between its steps; every one has been joined when the
** call returns, also on error or when xInterrupt said stop.
** nThread <= 1 runs everything on the calling thread, as does a sub-batch
** of fewer than 32 nodes (so a batch that small, or a graph of fewer than
** about 2000 nodes): the same steps, so the same bytes.  At most 64 threads
** are used.  Built with VEC0_HNSW_NO_THREADS (or on Windows) it uses none.
**
** Inside an undo scope it is undone by vec0HnswRollback like any other
** change (a host that queues inserts makes them one batch this way, and
** can undo it when it fails: the before-image of every node it changes is
** kept, on the calling thread).  Outside one, after an error the graph may
** be partly changed, as after any error.
*/
int vec0HnswInsertBatch(Vec0Hnsw *p, const uint32_t *aId, const uint64_t *aKey,
                        const uint32_t *aGroup, int n, int nThread);
/* Marks node id deleted (tombstone).  Unknown or already deleted: CORRUPT. */
int vec0HnswDelete(Vec0Hnsw *p, uint32_t id);
/* The vector of live node id changed: repair its links and its neighbours'. */
int vec0HnswUpdate(Vec0Hnsw *p, uint32_t id);

/*
** Up to k nearest live nodes of group `group` to pQuery, nearest first, in
** aOut[0..*pnOut-1].
** ef (>= k is used) is the breadth of the level-0 search.  If xAccept is not
** NULL, only nodes for which it returns non-zero are results; the others
** still guide the walk.  A search that finds fewer than k accepted nodes
** returns fewer.
*/
int vec0HnswSearch(Vec0Hnsw *p, uint32_t group, const void *pQuery, int k, int ef,
                   int (*xAccept)(void *, uint32_t), void *pAcceptCtx,
                   Vec0HnswResult *aOut, int *pnOut);

/*
** Until called again with VEC0_HNSW_NONE, searches walk as if node id were
** not in the graph (unless it is the entry point): a stored vector then
** stands for a new query when the host measures recall.
*/
void vec0HnswHide(Vec0Hnsw *p, uint32_t id);

/*
** Until called again with n = 0: the vector (or code) that xVector would give
** for each node id < n is at base + id * stride, so searches take it from
** there without a call, as they read a batch's (the host says so only where
** every such node's is in one array and stays there for the search).  Never
** used for the vectors of xUpper, nor for nodes from n on.
*/
void vec0HnswSetDense(Vec0Hnsw *p, const void *base, size_t stride, uint32_t n);

/*
** The undo scope, which makes one host operation (a row written) atomic in
** memory: after vec0HnswBegin() the before-image of every node that the
** next calls change is kept, vec0HnswRollback() restores the graph exactly
** as it was at Begin (nodes read from storage meanwhile stay loaded), and
** vec0HnswCommit() forgets the images.  Begin commits an open scope first;
** vec0HnswFlush() commits it too.  Rollback cannot fail.
*/
void vec0HnswBegin(Vec0Hnsw *p);
void vec0HnswCommit(Vec0Hnsw *p);
void vec0HnswRollback(Vec0Hnsw *p);

/* Non-zero if any node or the header changed since the last flush. */
int vec0HnswIsDirty(const Vec0Hnsw *p);
/*
** Calls xWrite for every changed node (ascending id) and xWriteGroup for
** every group >= 1 whose entry point changed (maxLevel -1: none), then
** clears the dirty marks; the header (group 0 included) is the host's to
** write when vec0HnswIsDirty() said so.  The record passed is valid only
** during the call.  Stops at the first non-zero return and returns it
** (marks then stay).
*/
int vec0HnswFlush(Vec0Hnsw *p,
                  int (*xWrite)(void *pCtx, uint32_t id,
                                const unsigned char *aRec, int nRec),
                  int (*xWriteGroup)(void *pCtx, uint32_t g, uint32_t entry,
                                     int maxLevel),
                  void *pCtx);

/*
** Hands the graph the stored record of node id ahead of need (a host warming
** its cache reads records in bulk): parsed as xReadNode's would be, or
** ignored if the node is in memory already or beyond the header's count.
*/
int vec0HnswPreload(Vec0Hnsw *p, uint32_t id, const unsigned char *aRec, int nRec);

/*
** What was wrong when the last call on p returned VEC0_HNSW_CORRUPT found in
** the graph itself ("node 5: link to 900 at level 0 is out of range ..."):
** valid until the next call.  Not meaningful after other return codes.
*/
const char *vec0HnswErrmsg(const Vec0Hnsw *p);

/* Number of nodes, live and deleted. */
uint32_t vec0HnswCount(const Vec0Hnsw *p);
/*
** The shape of group g: its levels (0 when empty), its entry point
** (VEC0_HNSW_NONE when empty) and the bytes the graph holds in memory.
*/
int vec0HnswShape(Vec0Hnsw *p, uint32_t g, int *pnLevel, uint32_t *pEntry, size_t *pnBytes);
/* 1 if node id is a live node, 0 if deleted or absent; <0 on error (-rc). */
int vec0HnswIsLive(Vec0Hnsw *p, uint32_t id);
/* 1 if node id is a node, live or deleted (a tombstone), 0 if absent; <0 on error (-rc). */
int vec0HnswHasNode(Vec0Hnsw *p, uint32_t id);

/*
** Checks the whole graph for ids 0 .. nId-1 (reads every node): records well
** formed, link targets exist, are of the same group and have a high enough
** level, no self or duplicate links, each group's entry point has its
** group's maximum level, and every live node is reachable from its group's
** entry point.  On a problem returns
** VEC0_HNSW_CORRUPT with *pzErr describing it (from xMalloc, NUL
** terminated); other errors as usual.
*/
int vec0HnswCheck(Vec0Hnsw *p, uint32_t nId, char **pzErr);

/*
** Tells the graph that every node is in memory (it was built here, or the
** host has read all of it): its link array asks for huge pages from now on,
** and vec0HnswHugeStep turns what it holds into huge pages.  Until then a
** lazily read graph fills that array sparsely, and a huge page would be
** faulted in and zeroed, 2 MiB, for each node read.  (The page helpers
** themselves are in vec0_mem.h.)
*/
void vec0HnswUseHugePages(Vec0Hnsw *p);
/*
** Makes the link array's rows resident in huge pages on another thread
** (vec0MemPrefaultStart), for a host that has just opened a large graph
** and whose walks will now read records into it at random: each record
** read into a page not yet there would fault it in, a 2 MiB page cleared
** for a 132-byte row, and at a million nodes the first query's few hundred
** records cost more in faults than its reads; the kernel populates the
** same pages in order far faster.  A graph whose rows are in read order
** (vec0HnswArenaMin, below) fills its pages in order: there only the
** small per-node arrays, written at random, are made resident.  Only for
** an array of
** vec0HnswPrefaultMin bytes or more (32 MiB: a smaller one is a few huge
** pages, and on a loaded machine the helper only takes the caller's core:
** at 60 000 nodes the first query was slower with it), on Linux; stopped
** (joined) before the array moves or is freed.  Tests lower the limit.
*/
void vec0HnswPrefaultLinks(Vec0Hnsw *p);
extern size_t vec0HnswPrefaultMin;
/*
** A graph opened from its header (vec0HnswHeaderDecode) whose level-0 link
** array would take vec0HnswArenaMin bytes or more (32 MiB: a million nodes
** at m = 16 take 132 MB) keeps the rows in the order its nodes are read,
** not at their ids: a walk after a reopen reads a few thousand records
** at random ids, and written at their ids they touched the whole array,
** every page of it faulted in and cleared (huge pages: 2 MiB for a 132-byte
** row), where in read order they fill a few pages one after the other.
** The price is one more read per row (the node's place).  Tests lower it.
*/
extern size_t vec0HnswArenaMin;
/*
** The last visited stamp a walk takes before every node's stamp is cleared
** and they start again from 1: 2^32 - 1.  Tests lower it.
*/
extern uint32_t vec0HnswGenMax;
/*
** Ends that order once the host has read every node (its read-ahead done):
** the rows move to their ids' places in a new block (the old one handed
** back as it is read), and a walk no longer reads a row's place first (at
** a million nodes the read-order rows cost warm queries 6 %).  Returns
** VEC0_HNSW_NOMEM, the rows staying as they were, when no block can be had.
*/
int vec0HnswArenaEnd(Vec0Hnsw *p);
/*
** Makes at most nMax more bytes of the link array huge pages, in place (see
** vec0MemCollapseHuge); 1 when no more is to be done.  Hosts call it
** between searches, so that no one search pays for the whole array.
*/
int vec0HnswHugeStep(Vec0Hnsw *p, size_t nMax);
#endif /* VEC0_HNSW_H */
