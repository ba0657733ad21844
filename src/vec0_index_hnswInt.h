/*
** vec0_index_hnswInt.h: what the two files of the hnsw index form share:
** vec0_index_hnsw.c (the graph's host: opening, writes, the queue, search,
** maintenance) and vec0_index_hnsw_code.c (the quantized walk: its codes,
** which are vec0_index_codes.c's, and the float32 re-ranking of its
** candidates).  Nothing else includes it.
*/
#ifndef VEC0_INDEX_HNSWINT_H
#define VEC0_INDEX_HNSWINT_H

#include "vec0Int.h"

/*
** UPPER (vec0_index_hnsw_code.c): the codes a search on a float32 l2,
** cosine or dot graph descends its upper levels on, one record per node
** met there, made on first use from the node's vector (vec0QuantAbsmax:
** no trained parameters, so no table state decides them).  aRank[slot] is
** 1 + the record's number, 0 for none; records are in blocks of
** UPPER_BLOCK that never move (a walk holds their addresses), each the
** prepared-query kernels' int8 record with its two sums at any length
** (vec0CodeFinish, bSums) and its scale (float) after them.  A write to a
** slot marks its record stale (made again in place when next met, so
** rewrites do not grow the blocks); a rollback drops them all.
*/
typedef struct HnswUpper {
  uint32_t *aRank;
  uint32_t nRank;          /* aRank's length */
  unsigned char **apBlock; /* nBlock blocks (each its own allocation) */
  uint32_t nBlock, nRec;   /* records used */
  size_t nStride;
  Vec0CodeDistFn xQuery;   /* 0: not set up yet */
  int bOff;                /* not for this column (metric, type, quantizer) */
  int eMetric;             /* the column's: VEC0_METRIC_L2, _COSINE or _DOT */
  Vec0CodeQuery cq;        /* the search's query, bDot: the kernels give -q.b */
  float qScale;
  unsigned char *aCqMem;   /* cq's arrays, then the query's codes */
} HnswUpper;

/* The in-memory state of one column's graph (Vec0Index.pState). */
typedef struct HnswState {
  Vec0Table *p;
  int iVec;
  int nDim;
  Vec0DistanceFn xDist;
  Vec0DistanceBoundFn xDistBound; /* NULL for metrics without one */
  Vec0DistanceBatchFn xDistBatch; /* NULL when the kernels have none */
  Vec0DistanceBatchFn xDist4;     /* without a bound kernel: four exact at once, or NULL */
  /*
  ** NORMS (float32 cosine without a quantizer, where the kernels have
  ** xCos4): aNorm[slot] holds the bits of xSumSq of the slot's vector, or
  ** NORM_UNKNOWN (0); made when the walk first scores the slot (also on the
  ** batch's threads: relaxed atomic loads and stores of a value that is the
  ** same whoever makes it), grown only on the connection's thread (graphOf),
  ** made unknown before the slot's vector is overwritten (xBeforeWrite, after
  ** the drain that may still walk the old one) and all dropped when a write
  ** fails (its vectors go back) or the state is discarded.
  */
  Vec0SumSqFn xSumSq;
  Vec0CosineKnownFn xCos4;
  uint32_t *aNorm;
  uint32_t nNorm;
  size_t nNormMap;    /* aNorm's bytes if from vec0MemMapZero, else 0 (SQLite's) */
  Vec0Hnsw *pGraph;
  uint32_t iWarmNode; /* xIdle: the next node record to read ahead */
  int bFilling;       /* xIdle reads ahead: the links ask for huge pages */
  int bWarm;          /* every node and vector is in memory */
  int bHugeDone;      /* the links are all huge pages (or cannot be) */
  int bPrefault;      /* graphWalked() has run */
  size_t nVecBytes;   /* of a float32 vector */
  /* The quantizer and codes (see the header comment), when the column has one. */
  Vec0Codes codes;    /* bRecords; bOnce with low_memory=1 */
  int bOnCodes;       /* the walk now runs on codes: xVector/xDistance use them */
  int bLowMem;        /* low_memory=1 (see the header comment) */
  HnswUpper up;       /* UPPER: a float32 search's descent */
  int bOnUpper;       /* the descent now runs on up's codes */
  const float *pUpperQuery; /* during a float32 search: its query */
  uint32_t iWarmChunk; /* low memory: the next chunk row whose codes xIdle makes */
  /*
  ** The queue (see QUEUE below): slots aQSlot[iQ0..nQ-1] are live rows not
  ** in the graph yet, with their keys and groups; iQ0Op/nQOp are iQ0/nQ at
  ** the xBegin of the write under way, put back if it fails.
  */
  /* During a batch insert only: the statement xInterrupt steps, or NULL. */
  sqlite3_stmt *pPoll;
  uint32_t *aQSlot, *aQGroup;
  uint64_t *aQKey;
  uint32_t iQ0, nQ, nQAlloc, iQ0Op, nQOp;
} HnswState;

/*
** vec0_index_hnsw_code.c.  QuantForget: the quantizer and codes dropped (a
** low-memory graph makes its codes again); QuantTrain: trained and stored
** ('quant.N'); CodeWarm: low memory's xIdle callback, one slot's code from
** v; Rescore: the float32 distances of *pn candidates (those that can be
** among the k nearest: fewer in low memory).  The codes themselves
** are vec0_index_codes.c's (s->codes).
*/
void vec0HnswQuantForget(HnswState *s);
/*
** UPPER.  UpperForget: every record dropped (a rollback, the state's end);
** UpperStale: slot iSlot's (its vector changes); UpperQuery: the graph's
** xUpper; UpperVector and UpperDistances: xVector and the distances while
** s->bOnUpper.
*/
void vec0HnswUpperForget(HnswState *s);
void vec0HnswUpperStale(HnswState *s, uint32_t iSlot);
const void *vec0HnswUpperQuery(void *pCtx, int bOn);
const void *vec0HnswUpperVector(HnswState *s, uint32_t id, int *pRc);
void vec0HnswUpperDistances(HnswState *s, const void *q, const void *const *apRec, int n,
                            float *aOut);
int vec0HnswQuantTrain(Vec0Index *pIdx, HnswState *s);
int vec0HnswCodeWarm(void *pCtx, uint32_t id, const unsigned char *v);
int vec0HnswRescore(Vec0Index *pIdx, HnswState *s, const float *pQuery, int k,
                    Vec0HnswResult *aRes, int *pn);

#endif /* VEC0_INDEX_HNSWINT_H */
