/*
** vec0_index.h: the index interface, what one index form of a vector column
** (an exact scan, an HNSW graph, later a quantized graph) implements.
**
** The module (vec0_vtab.c, vec0_knn.c, vec0_write.c, vec0_maint.c) never
** asks which form a column has: it calls the methods below through the
** column's Vec0Index.  Storage keeps the rows, slots and vectors that every
** form reads; a form keeps only what is its own (an HNSW graph and its
** T_linksN table).  Adding a form = one file that fills a Vec0IndexModule
** + one line in the registry of vec0_index.c.
**
** Slots are the dense row numbers of vec0Int.h.  Every method returns an
** SQLite result code; on SQLITE_CORRUPT_VTAB the table's zErrMsg says what
** is wrong.  A form's in-memory state is part of the table's cache: it is
** created on first use, and xDiscard drops it whenever the cache is dropped
** (rollback, another connection's commit), so that it is re-read from the
** shadow tables, which SQLite has rolled back with the rows.
*/
#ifndef VEC0_INDEX_H
#define VEC0_INDEX_H

typedef struct Vec0Table Vec0Table;
typedef struct Vec0Index Vec0Index;
typedef struct Vec0IndexModule Vec0IndexModule;

/* One result of a search: a slot and its order distance. */
typedef struct Vec0IndexHit {
  uint32_t slot;
  float distance;
} Vec0IndexHit;

/*
** One search: the k nearest live slots of group g (0 without partition
** keys) to pQuery, in order distance (the metric's, squared for L2).  If
** xAccept is not NULL only slots it accepts are results (the others may
** still guide a graph walk).  ef is the breadth a graph gives its search;
** nRescore the candidates per result a form with a quantizer re-ranks with
** the float32 distance (the query's, or the column's default).
*/
typedef struct Vec0IndexSearch {
  uint32_t g;
  const void *pQuery;
  int k;
  int ef;
  int nRescore;
  int (*xAccept)(void *pCtx, uint32_t iSlot);
  void *pAcceptCtx;
  /*
  ** 1 + a slot the search must treat as absent from the index, not only
  ** from the results (a stored row searched for as a new query would be,
  ** when measuring recall); 0 for none.
  */
  uint32_t iHide1;
} Vec0IndexSearch;

/* What vec0_info shows of a form; -1 where it has no such thing. */
typedef struct Vec0IndexInfo {
  int nLevel;            /* a graph's levels (of its first group) */
  sqlite3_int64 iEntry;  /* the slot of its entry point */
  sqlite3_int64 nBytes;  /* bytes it holds in memory besides storage's vectors */
} Vec0IndexInfo;

struct Vec0IndexModule {
  const char *zName; /* as in "indexed by <zName>(...)" */
  /*
  ** The per-column shadow table the form keeps, T_<zShadow>N(slot INTEGER
  ** PRIMARY KEY, links BLOB NOT NULL), created, renamed and dropped with the
  ** table by storage; NULL if it keeps none.
  */
  const char *zShadow;
  /* Whether a search takes ef (the hidden column ef then shows it). */
  int bUsesEf;

  /*
  ** Makes the in-memory state ready (reading only what it must: the rest
  ** comes lazily); idempotent.  Every other method calls it first when it
  ** needs the state, so that an index is opened by its first use.
  */
  int (*xOpen)(Vec0Index *pIdx);
  /* Drops the in-memory state, nothing written.  Cannot fail. */
  void (*xDiscard)(Vec0Index *pIdx);

  /* Live slot iSlot of row iRowid, group g, now has its vectors in storage. */
  int (*xInsert)(Vec0Index *pIdx, uint32_t iSlot, sqlite3_int64 iRowid, uint32_t g);
  /* Slot iSlot was freed (its vector stays in storage until reused). */
  int (*xDelete)(Vec0Index *pIdx, uint32_t iSlot);
  /* The vector of live slot iSlot changed in storage. */
  int (*xUpdate)(Vec0Index *pIdx, uint32_t iSlot);

  /*
  ** The distances a search of a group of nLive rows would compute when a
  ** share sel of them is accepted, so that the planner can compare it with
  ** the exact scan of the accepted rows; negative if the form's search is
  ** never cheaper than that scan (the exact form).
  */
  double (*xSearchCost)(Vec0Index *pIdx, double nLive, double sel, int ef);
  /* Up to k hits into aOut[0..*pnOut-1], nearest first. */
  int (*xSearch)(Vec0Index *pIdx, const Vec0IndexSearch *pS, Vec0IndexHit *aOut,
                 int *pnOut);
  /*
  ** After a query: the form's share of warming up (about nBytes of the
  ** column's vectors and as many of the form's own records, read ahead in
  ** order; every one of them for 'warm') and of huge pages.
  */
  int (*xIdle)(Vec0Index *pIdx, size_t nBytes);

  /*
  ** The undo scope of one write (see vec0StorageOpBegin): xBegin before it,
  ** xEnd after it, with bCommit 0 to put the in-memory state back as it
  ** was at xBegin.  xEnd cannot fail.
  */
  void (*xBegin)(Vec0Index *pIdx);
  void (*xEnd)(Vec0Index *pIdx, int bCommit);
  /* Writes what changed in memory to the shadow tables (xSync, savepoints). */
  int (*xFlush)(Vec0Index *pIdx);

  /*
  ** Storage is about to write a new vector into slot iSlot of this column
  ** (a freed slot reused, or a live row's vector updated in place): a form
  ** that has deferred work that reads vectors does it now, on the vectors
  ** as they are.  NULL if the form defers nothing.
  */
  int (*xBeforeWrite)(Vec0Index *pIdx, uint32_t iSlot);

  /* integrity-check: the form's part, after storage's; *pzErr from sqlite3_mprintf. */
  int (*xCheck)(Vec0Index *pIdx, char **pzErr);
  /* Forgets what it stored and builds it again from the live slots (all loaded). */
  int (*xRebuild)(Vec0Index *pIdx);
  /* Entries the form holds in memory now (a graph: its nodes, live and deleted). */
  sqlite3_int64 (*xStats)(Vec0Index *pIdx);
  /* What vec0_info shows of the form (opened); NULL: nothing more. */
  int (*xInfo)(Vec0Index *pIdx, Vec0IndexInfo *pInfo);
};

/* The index of one vector column: lives in Vec0Table.aIndex[iVec]. */
struct Vec0Index {
  const Vec0IndexModule *pModule;
  Vec0Table *pTab;
  int iVec;
  void *pState; /* the form's in-memory state, or NULL (part of the cache) */
};

/* The forms (vec0_index_flat.c, vec0_index_hnsw.c, vec0_index_rescore.c). */
extern const Vec0IndexModule vec0IndexFlat;
extern const Vec0IndexModule vec0IndexHnsw;
extern const Vec0IndexModule vec0IndexRescore;

/*
** Helpers the forms share.  A top-k of hits (vec0_index_flat.c): a max-heap
** in a[0..*pn-1] of at most k hits, ties to the lower slot; TopSort puts
** them nearest first.
*/
void vec0IndexTopPush(Vec0IndexHit *a, int *pn, int k, Vec0IndexHit h);
void vec0IndexTopSort(Vec0IndexHit *a, int n);

/*
** The compact codes of a column with a quantizer (vec0_index_codes.c), the
** one implementation for every form that searches on codes: the quantizer
** of 'quant.N' in T_config, trained inside the writing transaction when the
** table first reaches VEC0_CODES_TRAIN live rows and again by
** rebuild/optimize, and one code per slot, made from its float vector when
** first asked for and held in memory.  Two layouts: packed codes of nBytes
** (compared with xDist), or, with bRecords set before the first Load, int8
** codes as the records that the prepared-query kernels read (xQuery; bit
** codes stay packed), vec0CodeStride bytes apart.  bOnce (low memory): the
** float vectors a code is made from are read for that once, not cached, and
** the records are packed (vec0CodeStrideMin: unaligned, but smaller).
*/
#define VEC0_CODES_UNKNOWN 0 /* 'quant.N' not read yet */
#define VEC0_CODES_NONE 1    /* no quantizer (yet): search in float32 */
#define VEC0_CODES_READY 2
#define VEC0_CODES_TRAIN 1000
typedef struct Vec0Codes {
  int eState;           /* VEC0_CODES_* */
  int bRecords;         /* int8 codes as records for xQuery (set by the form) */
  int bOnce;            /* vectors read for one use, never cached (set by the form) */
  Vec0Quant quant;
  Vec0DistanceFn xDist;  /* code against code: l2sq or dot on int8, hamming on bits */
  Vec0CodeDistFn xQuery; /* bRecords, int8: a prepared query against records */
  int nDim;              /* what xDist takes: elements, or bits */
  size_t nBytes;         /* of one code */
  size_t nStride;        /* of one slot's record: nBytes, vec0CodeStride, or (bOnce) Min */
  unsigned char *aMem;   /* the block aCode is aligned in */
  unsigned char *aCode;  /* nSlot records of nStride */
  unsigned char *aOk;    /* per slot a bit (vec0CodesOk): its code is made */
  uint32_t nSlot;
  uint32_t nOkPrefix;    /* slots [0, nOkPrefix) all have their code made */
  float *aTmp;           /* bOnce: one vector, read for one use */
  /*
  ** bErr (bOnce, int8 codes of an l2 or cosine column): per slot the distance of its
  ** vector from its code's (vec0QuantError, rounded up), and the query's of
  ** vec0CodesQuery: with them a search bounds a float distance from below by
  ** the code distance, and reads fewer vectors (vec0CodesLowerBound).
  */
  int bErr;
  float *aErr;
  float errQ;
  Vec0CodeQuery cq;      /* xQuery: the prepared query of vec0CodesQuery */
  unsigned char *aCqMem; /* cq's arrays (aligned inside), then the query's code */
} Vec0Codes;
/* Forgets the quantizer and every code (they are read or made again). */
void vec0CodesForget(Vec0Codes *c);
/* Reads 'quant.N' once (until Forget); then c->eState is NONE or READY. */
int vec0CodesLoad(Vec0Table *p, int iVec, Vec0Codes *c);
/* Trains the quantizer on the live rows and stores it (loads every slot). */
int vec0CodesTrain(Vec0Table *p, int iVec, Vec0Codes *c);
/* A row of slot iSlot was written: trains the quantizer when it is due. */
int vec0CodesInsert(Vec0Table *p, int iVec, Vec0Codes *c, uint32_t iSlot);
/* The vector of iSlot changed: its code is made again when next needed. */
void vec0CodesStale(Vec0Codes *c, uint32_t iSlot);
/* Room for the codes of every slot (READY only): none moves during a walk. */
int vec0CodesReserve(Vec0Table *p, Vec0Codes *c);
/*
** The read-ahead of the codes, once the column's vectors are all in memory:
** the codes of about nMax slots from nOkPrefix on that are not made yet, so
** that a walk soon reads every code by slot instead of making them one at a
** time.  Nothing once every slot has its code.
*/
int vec0CodesWarm(Vec0Table *p, int iVec, Vec0Codes *c, uint32_t nMax);
/* The code (record) of live slot iSlot (READY only); NULL and *pRc on error. */
const unsigned char *vec0CodesGetSlow(Vec0Table *p, int iVec, Vec0Codes *c, uint32_t iSlot,
                                      int *pRc);
/*
** Whether slot iSlot's code is made: a bit a slot, so that a walk's look-ups
** stay in cache (a byte a slot was 1 MB at a million rows, read at random
** before each neighbour's code could be fetched).
*/
static inline int vec0CodesOk(const Vec0Codes *c, uint32_t iSlot) {
  return iSlot < c->nSlot && ((c->aOk[iSlot >> 3] >> (iSlot & 7)) & 1);
}
static inline const unsigned char *vec0CodesGet(Vec0Table *p, int iVec, Vec0Codes *c,
                                                uint32_t iSlot, int *pRc) {
  if (vec0CodesOk(c, iSlot)) return c->aCode + (size_t)iSlot * c->nStride;
  return vec0CodesGetSlow(p, iVec, c, iSlot, pRc);
}
/* The code of slot iSlot from its vector v, read for something else. */
int vec0CodesPut(Vec0Table *p, Vec0Codes *c, uint32_t iSlot, const unsigned char *v);
/* The float vector of iSlot: the cache's, or with bOnce read into c->aTmp. */
int vec0CodesVector(Vec0Table *p, int iVec, Vec0Codes *c, uint32_t iSlot,
                    const unsigned char **ppV);
/*
** The query of a search on codes into *ppQ: with xQuery the prepared query
** (&c->cq), else its code.  Its memory is kept for the next query.
*/
int vec0CodesQuery(Vec0Codes *c, const float *pQuery, const void **ppQ);
/* The code distance between the query of vec0CodesQuery and a record. */
float vec0CodesDistance(const Vec0Codes *c, const void *pQ, const void *pRec);
/*
** bErr: a lower bound of the squared L2 (or the cosine) distance between
** the float query of vec0CodesQuery and the vector of slot iSlot, whose code
** distance (the squared L2 of the codes) is dCode; 0 when there is none.
*/
double vec0CodesLowerBound(const Vec0Codes *c, uint32_t iSlot, float dCode);

/*
** vec0_index.c: the registry and the calls the module makes on every
** column at once.  vec0IndexInit binds column iVec to the form its config
** names (after vec0ConfigParse, before storage is created or connected).
*/
void vec0IndexInit(Vec0Table *p, int iVec);
/* The index of column iVec (opened by its first use). */
Vec0Index *vec0IndexGet(Vec0Table *p, int iVec);
/* Each write of xUpdate (and each command) runs between these two. */
void vec0IndexOpBegin(Vec0Table *p);
int vec0IndexOpEnd(Vec0Table *p, int rc);
/* Every index's changes, then storage's counters, to the shadow tables. */
int vec0IndexFlush(Vec0Table *p);
/* After a write: every index's xIdle step (a reopened table warms up). */
int vec0IndexIdle(Vec0Table *p);
/* Slot iSlot as every index of the table sees it. */
int vec0IndexInsert(Vec0Table *p, uint32_t iSlot, sqlite3_int64 iRowid, uint32_t g);
int vec0IndexDelete(Vec0Table *p, uint32_t iSlot);
/* Before storage writes a vector of column iVec into slot iSlot (xBeforeWrite). */
int vec0IndexBeforeWrite(Vec0Table *p, int iVec, uint32_t iSlot);

#endif /* VEC0_INDEX_H */
