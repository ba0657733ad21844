/*
** vec0_index_hnswInt.h: what the two files of the hnsw index form share:
** vec0_index_hnsw.c (the graph's host: opening, writes, the queue, search,
** maintenance) and vec0_index_hnsw_code.c (the quantized walk's codes and
** quantizer, and the float32 re-ranking of its candidates).  Nothing else
** includes it.
*/
#ifndef VEC0_INDEX_HNSWINT_H
#define VEC0_INDEX_HNSWINT_H

#include "vec0Int.h"

/* The in-memory state of one column's graph (Vec0Index.pState). */
typedef struct HnswState {
  Vec0Table *p;
  int iVec;
  int nDim;
  Vec0DistanceFn xDist;
  Vec0DistanceBoundFn xDistBound; /* NULL for metrics without one */
  Vec0DistanceBatchFn xDistBatch; /* NULL when the kernels have none */
  Vec0Hnsw *pGraph;
  uint32_t iWarmNode; /* xIdle: the next node record to read ahead */
  int bFilling;       /* xIdle reads ahead: the links ask for huge pages */
  int bWarm;          /* every node and vector is in memory */
  int bHugeDone;      /* the links are all huge pages (or cannot be) */
  /* The quantizer (see the header comment), when the column has one. */
  int eQuantState;    /* QUANT_UNKNOWN (config not read), QUANT_NONE, QUANT_READY */
  Vec0Quant quant;
  Vec0DistanceFn xCodeDist; /* bit: Hamming between two codes */
  Vec0CodeDistFn xCodeQ;    /* int8: a prepared query against code records */
  size_t nVecBytes;   /* of a float32 vector */
  int nCodeDim;       /* what xCodeDist takes: elements, or bits */
  size_t nCodeBytes;  /* of a code */
  size_t nStride;     /* of a code's record: int8 vec0CodeStride, bit nCodeBytes */
  unsigned char *aCodeMem; /* allocation of aCode, which is aligned to 64 */
  unsigned char *aCode;    /* nCodeSlot records of nStride */
  unsigned char *aCodeOk;  /* per slot: 1 if its code is made */
  uint32_t nCodeSlot;
  int bOnCodes;       /* the walk now runs on codes: xVector/xDistance use them */
  Vec0CodeQuery cq;   /* int8 walk: the prepared query (the walk's query is &cq) */
  unsigned char *aCqMem;   /* cq's arrays: vec0CodeQueryBytes + 64, then the code */
  int bLowMem;        /* low_memory=1 (see the header comment) */
  unsigned char *aTmp; /* low memory: one float32 vector read for one use */
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

#define QUANT_UNKNOWN 0
#define QUANT_NONE 1
#define QUANT_READY 2
/* Live rows that first train a quantizer, and the sample it trains on. */
#define HNSW_QUANT_TRAIN 1000
#define HNSW_QUANT_SAMPLE 2000

/*
** vec0_index_hnsw_code.c.  CodeOf: the code record of slot id (made from its
** vector on first use), or NULL and *pRc; VectorOnce: low memory, the vector
** of slot id read for one use into s->aTmp; CodeStale: slot iSlot's vector
** changed; CodeWarm: low memory's xIdle callback, one slot's code from v;
** CodeDistance: between the walk's query a and a code record b; QuantForget
** / QuantLoad / QuantTrain: the quantizer dropped, read from 'quant.N', or
** trained and stored; CodeQuery: the walk's query for pQuery; Rescore: the
** float32 distances of n candidates.
*/
const unsigned char *vec0HnswCodeOf(HnswState *s, uint32_t id, int *pRc);
int vec0HnswVectorOnce(HnswState *s, uint32_t id, const unsigned char **pv);
void vec0HnswCodeStale(HnswState *s, uint32_t iSlot);
int vec0HnswCodeWarm(void *pCtx, uint32_t id, const unsigned char *v);
float vec0HnswCodeDistance(HnswState *s, const void *a, const void *b);
void vec0HnswQuantForget(HnswState *s);
int vec0HnswQuantLoad(Vec0Index *pIdx, HnswState *s);
int vec0HnswQuantTrain(Vec0Index *pIdx, HnswState *s);
int vec0HnswCodeQuery(HnswState *s, const float *pQuery, const void **ppQ);
int vec0HnswRescore(Vec0Index *pIdx, HnswState *s, const float *pQuery, Vec0HnswResult *aRes,
                    int n);

#endif /* VEC0_INDEX_HNSWINT_H */
