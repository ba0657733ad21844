/*
** vec0_vec.h: vectors and distance kernels, the bottom of vec0.
**
** Element types (one Vec0ElemDesc per type, vec0_elem.c), the Vec0Vector a
** parser hands out, the metrics, and the kernel API: the fastest kernel for a pair of element type and metric, the
** portable C reference, and the getters of each SIMD kernel set.  It
** includes no SQLite header, so the kernel files (vec0_distance*.c) and the
** element table (vec0_elem.c), which include only this, build and link
** without SQLite (bench/bench_kernels.c does).  The parser of SQL values into vectors is SQLite's business: its
** API is in vec0Int.h, which includes this header.
*/
#ifndef VEC0_VEC_H
#define VEC0_VEC_H

#include <stddef.h>
#include <stdint.h>

/*
** Vector element types and the subtypes that carry them between functions
** (the same numbers as sqlite-vec, so values pass between the two).
*/
typedef enum Vec0ElemType {
  VEC0_ELEM_F32 = 1,
  VEC0_ELEM_I8 = 2,
  VEC0_ELEM_BIT = 3
} Vec0ElemType;

#define VEC0_SUBTYPE_F32 223
#define VEC0_SUBTYPE_BIT 224
#define VEC0_SUBTYPE_I8 225

#define VEC0_MAX_DIMS 8192

/*
** Distance metrics.  VEC0_METRIC_L2SQ is the squared Euclidean distance, used
** inside the HNSW walk (same order as L2, no square root).
*/
typedef enum Vec0Metric {
  VEC0_METRIC_L2 = 1,
  VEC0_METRIC_COSINE = 2,
  VEC0_METRIC_L1 = 3,
  VEC0_METRIC_DOT = 4,
  VEC0_METRIC_HAMMING = 5,
  VEC0_METRIC_L2SQ = 6
} Vec0Metric;
const char *vec0MetricName(Vec0Metric eMetric);

/* Distance between two vectors of nDim elements (bits, for bit vectors). */
typedef float (*Vec0DistanceFn)(const void *a, const void *b, int nDim);

/*
** One element type: everything the parser, the SQL functions and the
** dispatch need to know of it, so that a new type is one row of aElem[] in
** vec0_elem.c plus its kernels.  Elements are read and written as double,
** which holds every value of every type exactly.  xSet converts as C does
** (float32 rounds to nearest; an integer type truncates toward zero and
** wraps around modulo its range, the int8 arithmetic of sqlite-vec, so a
** caller clamps first where wrapping is not what it wants) and must be
** given a finite value within the range of an int for an integer type.
*/
typedef struct Vec0ElemDesc {
  Vec0ElemType eType;
  const char *zName;    /* vec_type(), messages, CREATE: "float32" */
  const char *zArticle; /* the name with its article: "a float32" */
  int subtype;          /* VEC0_SUBTYPE_*: what a function's result carries */
  int nBits;            /* bits per element: 32, 8, 1 (packed 8 per byte) */
  int bInteger;         /* integer elements: shown as such, no NaN, no norm */
  double (*xGet)(const void *p, int i);
  void (*xSet)(void *p, int i, double v);
  /* The portable C kernel of each metric (NULL where undefined): the
  ** reference of the SIMD sets and the fallback where they have none. */
  Vec0DistanceFn (*xKernel)(Vec0Metric eMetric);
} Vec0ElemDesc;

/* The descriptor of eType; NULL for a value that is no element type. */
const Vec0ElemDesc *vec0ElemDesc(Vec0ElemType eType);
/* The descriptor whose subtype is st, NULL for none of ours. */
const Vec0ElemDesc *vec0ElemBySubtype(unsigned int st);
/* Every descriptor: i from 0 while it returns non-NULL. */
const Vec0ElemDesc *vec0ElemAt(int i);
/* Bytes taken by nDim elements of eType (0 for an unknown type). */
size_t vec0ElemBytes(Vec0ElemType eType, int nDim);
const char *vec0ElemName(Vec0ElemType eType); /* "float32", "int8", "bit" */
int vec0ElemSubtype(Vec0ElemType eType);

/*
** A parsed vector.  p points at nDim elements of eType (for bit vectors nDim
** is the number of bits, a multiple of 8).  When the parser had to allocate
** (JSON text), pFree owns the memory and vec0VectorClear() (vec0Int.h) frees
** it; when the input was a BLOB, p points into the sqlite3_value and is valid
** only while it is.
*/
typedef struct Vec0Vector {
  Vec0ElemType eType;
  int nDim;
  const void *p;
  void *pFree;
} Vec0Vector;

/* ---- kernels (vec0_distance.c: the dispatch) --------------------------- */

void vec0DistanceInit(void);    /* detects the CPU once; idempotent */
const char *vec0DistanceImpl(void); /* "avx512", "avx2", "neon" or "portable" */
/* The fastest kernel for (eType, eMetric); NULL if that pair is undefined. */
Vec0DistanceFn vec0DistanceFn(Vec0ElemType eType, Vec0Metric eMetric);
/*
** The portable C kernel for the pair (what the tests compare against), and
** its early-exit kernel (vec0_distance_portable.c).
*/
Vec0DistanceFn vec0DistancePortable(Vec0ElemType eType, Vec0Metric eMetric);

/*
** A kernel with an early exit, for the searches that only need to know
** whether a distance beats a bound (the HNSW walk, the top-k of a scan): it
** returns exactly what the plain kernel returns when that is <= bound, and
** otherwise some value > bound, found after reading only part of the
** vectors.  Only metrics whose partial sums never decrease have one (l2sq);
** vec0DistanceBoundFn() returns NULL for the others.  The partial sum is
** compared every VEC0_BOUND_STRIDE elements.
*/
#define VEC0_BOUND_STRIDE 256
typedef float (*Vec0DistanceBoundFn)(const void *a, const void *b, int nDim,
                                     float bound);
Vec0DistanceBoundFn vec0DistanceBoundFn(Vec0ElemType eType, Vec0Metric eMetric);
/*
** Four early-exit distances at once (a and apB[0..3]): each aOut[i] as the
** bound kernel gives it, except that the exit happens only when all four
** are above bound.  Reading four vectors side by side overlaps their
** memory latency.  NULL where the kernel set has none (then use the bound
** kernel four times).  For a metric without a bound kernel (float32
** cosine) the four are exact, bit for bit the plain kernel's, and bound is
** not used.
*/
typedef void (*Vec0DistanceBatchFn)(const void *a, const void *const *apB, int nDim,
                                    float bound, float *aOut);
Vec0DistanceBatchFn vec0DistanceBatchFn(Vec0ElemType eType, Vec0Metric eMetric);
/*
** float32 cosine where the sum of each b's squares is known beforehand (a
** graph keeps it per node): xSumSq(b, nDim) is that sum exactly as the
** cosine kernels form it, and xCos4(a, aa, apB, aBB, nDim, aOut) the
** cosines of a and apB[0..3] given the sums aa of a and aBB[0..3] of the
** b's, bit for bit the plain kernel's.  Less than half the multiply-adds
** of the batch kernel.  Both NULL where the kernel set has none (the
** portable one sums in double).
*/
typedef float (*Vec0SumSqFn)(const void *b, int nDim);
typedef void (*Vec0CosineKnownFn)(const void *a, float aa, const void *const *apB,
                                  const float *aBB, int nDim, float *aOut);
void vec0CosineKnownFns(Vec0SumSqFn *pxSumSq, Vec0CosineKnownFn *pxCos4);
Vec0DistanceBoundFn vec0DistanceBoundPortable(Vec0ElemType eType,
                                              Vec0Metric eMetric);

/*
** int8 codes of a graph walked on codes (vec0_distance_code.c): one
** prepared query against n code records at once.  A record holds the nDim
** codes (-127..127), then, with sums (bSums), zeros up to
** vec0CodeSumOffset(nDim) (nDim rounded up to 8) and there the i32 sum and
** i32 sum of squares of the codes; without, zeros up to nDim rounded up to
** 64, and the kernels form the sums.  vec0CodeFinish writes either.  A
** column's records have sums where they fit in that padding
** (vec0CodeHasSums); at 128, 384 or 768 dimensions they would take a cache
** line of their own, which every distance would wait for.  Records lie
** vec0CodeStride(nDim) bytes apart (nDim rounded up to 64: aligned loads),
** or packed, at least vec0CodeStrideMin(nDim) apart; a kernel reads nDim
** rounded up to 64 bytes of each record (the query's zero padding takes out
** what lies past nDim from q.b; the sums a kernel forms count every byte,
** so a record without sums keeps its zeros and vec0CodeStrideMin packs it
** no closer), so the memory after the last record must be readable up to
** vec0CodeStride(nDim) from its start, and should be initialised.  Records with sums beyond that (the descent's UPPER records)
** are laid out by their owner.  The query's arrays live in a buffer
** of vec0CodeQueryBytes(nDim) bytes aligned to 64 that the caller owns.  The
** distance is l2sq between the codes, or with bDot minus their dot product,
** an exact integer as a float: every kernel set gives the same value.
*/
typedef struct Vec0CodeQuery {
  int nDim, nPad;   /* nPad: nDim rounded up to 64 */
  size_t nSum;      /* offset of a record's two sums (bSums) */
  int bDot;
  int bSums;        /* the records carry their sums (else zeros past nDim) */
  int64_t norm;     /* sum of the query's squared codes */
  int8_t *aQ;       /* nPad: the codes, zero after nDim */
  uint8_t *aAbs;    /* nPad: |code| */
  uint8_t *aU;      /* nPad: code + 128, zero after nDim */
} Vec0CodeQuery;
typedef void (*Vec0CodeDistFn)(const Vec0CodeQuery *q, const void *const *apRec, int n,
                               float *aOut);
size_t vec0CodeStride(int nDim);
size_t vec0CodeStrideMin(int nDim);
size_t vec0CodeSumOffset(int nDim);
int vec0CodeHasSums(int nDim);
void vec0CodeFinish(unsigned char *aRec, int nDim, int bSums);
size_t vec0CodeQueryBytes(int nDim);
void vec0CodeQueryInit(Vec0CodeQuery *q, const int8_t *aCode, int nDim, int bDot, int bSums,
                       void *aBuf);
Vec0CodeDistFn vec0CodeDistFn(void); /* the fastest the kernel set allows */
Vec0CodeDistFn vec0CodeDistPortable(void);

/*
** The kernel sets below the dispatch, each a getter per kind of kernel that
** returns NULL for a pair the set does not cover.  The portable set
** (vec0_distance_portable.c) covers every defined pair, one getter per
** element type, which its Vec0ElemDesc.xKernel names; the SIMD sets exist only where they compile (VEC0_HAVE_X86,
** VEC0_HAVE_NEON) and may be called only once the CPU is known to have them
** (vec0DistanceInit, or the tests' own check).
*/
Vec0DistanceFn vec0DistanceF32Portable(Vec0Metric eMetric);
Vec0DistanceFn vec0DistanceI8Portable(Vec0Metric eMetric);
Vec0DistanceFn vec0DistanceBitPortable(Vec0Metric eMetric);

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define VEC0_HAVE_X86 1
/* vec0_distance_x86.c */
Vec0DistanceFn vec0DistanceAvx2(Vec0ElemType eType, Vec0Metric eMetric);
Vec0DistanceFn vec0DistanceAvx512(Vec0ElemType eType, Vec0Metric eMetric);
Vec0DistanceBoundFn vec0DistanceBoundAvx2(Vec0ElemType eType, Vec0Metric eMetric);
Vec0DistanceBoundFn vec0DistanceBoundAvx512(Vec0ElemType eType, Vec0Metric eMetric);
Vec0DistanceBatchFn vec0DistanceBatchAvx2(Vec0ElemType eType, Vec0Metric eMetric);
Vec0DistanceBatchFn vec0DistanceBatchAvx512(Vec0ElemType eType, Vec0Metric eMetric);
void vec0CosineKnownAvx2(Vec0SumSqFn *pxSumSq, Vec0CosineKnownFn *pxCos4);
void vec0CosineKnownAvx512(Vec0SumSqFn *pxSumSq, Vec0CosineKnownFn *pxCos4);
/* vec0_distance_code.c; the AVX-512 one is NULL without VNNI */
Vec0CodeDistFn vec0CodeDistAvx2(void);
Vec0CodeDistFn vec0CodeDistAvx512(void);
#endif
#if defined(__aarch64__) && defined(__ARM_NEON)
#define VEC0_HAVE_NEON 1
/* vec0_distance_neon.c */
Vec0DistanceFn vec0DistanceNeon(Vec0ElemType eType, Vec0Metric eMetric);
Vec0DistanceBoundFn vec0DistanceBoundNeon(Vec0ElemType eType, Vec0Metric eMetric);
/* vec0_distance_code.c; the sdot one is NULL without the dot-product extension */
Vec0CodeDistFn vec0CodeDistNeon(void);
Vec0CodeDistFn vec0CodeDistSdot(void);
int vec0CodeHasSdot(void);
#endif

#endif /* VEC0_VEC_H */
