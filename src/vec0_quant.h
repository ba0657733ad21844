/*
** vec0_quant.h: quantizers that turn float32 vectors into compact codes for
** a graph walked on codes and re-ranked with the exact float32 distance.
**
** Knows nothing of SQLite (STYLE.md: vectors and kernels stay below the
** module).  A quantizer is trained once, deterministically, from a sample
** of the column's vectors and then only encodes: its parameters are a few
** numbers the host stores (vec0QuantSave), so the same statements give the
** same codes on every replica, and a code depends on its vector alone.
**
**   int8   one signed byte per dimension: x ~ mid + scale * code, code in
**          -127..127, with one mid and scale for the whole column (taken
**          from the 0.05 % and 99.95 % quantiles of the sample, so a few
**          outliers do not waste the range).  One scale for all dimensions
**          keeps the code distance a plain integer kernel: l2sq on codes is
**          scale^2 times the l2sq of the reconstructed vectors, and dot is
**          quantized around 0 (mid = 0), so its order is the float order up
**          to rounding.  Cosine vectors are normalised before encoding, so
**          l2sq on codes orders them as cosine does.
**   bit    one bit per dimension: the sign of x minus the column's mean of
**          that dimension (cosine: of the normalised vector); the code
**          distance is Hamming.
*/
#ifndef VEC0_QUANT_H
#define VEC0_QUANT_H

#include <stddef.h>
#include <stdint.h>

#define VEC0_QUANT_NONE 0
#define VEC0_QUANT_INT8 1
#define VEC0_QUANT_BIT 2

/* The metric a quantizer is trained for (the column's). */
#define VEC0_QUANT_L2 1
#define VEC0_QUANT_COSINE 2
#define VEC0_QUANT_DOT 3

typedef struct Vec0Quant {
  int eKind;    /* VEC0_QUANT_INT8 or VEC0_QUANT_BIT */
  int eMetric;  /* VEC0_QUANT_L2, _COSINE or _DOT */
  int nDim;
  float mid;    /* int8 */
  float scale;  /* int8: > 0 */
  float *aMean; /* bit: nDim centres, from xMalloc of Train / Load */
  void (*xFree)(void *); /* frees aMean (vec0QuantClear) */
} Vec0Quant;

/* The allocator a quantizer uses (the host's: SQLite's in the extension). */
typedef void *(*Vec0QuantMalloc)(size_t);
typedef void (*Vec0QuantFree)(void *);

/* Bytes of one code of q. */
size_t vec0QuantCodeBytes(const Vec0Quant *q);

/*
** Trains q for eKind and eMetric from the nSample vectors aSample (nDim
** floats each; the same sample in the same order gives the same bytes).  With
** no sample (an empty table) the parameters are neutral (mid 0, scale
** 1/127, mean 0).  Returns 0, or 7 (out of memory, SQLITE_NOMEM's number).
*/
int vec0QuantTrain(Vec0Quant *q, int eKind, int eMetric, int nDim,
                   const float *aSample, int nSample, Vec0QuantMalloc xMalloc,
                   Vec0QuantFree xFree);
void vec0QuantClear(Vec0Quant *q);

/* The code of x (nDim floats) into aCode (vec0QuantCodeBytes bytes). */
void vec0QuantEncode(const Vec0Quant *q, const float *x, void *aCode);

/*
** The int8 code of x (n floats) on its own scale, with no trained
** parameters: c[i] = x[i] * (127 / m) rounded to the nearest (ties to
** even), m the largest |x[i]|, so x[i] ~ c[i] * the returned scale (m /
** 127; 0, and every code 0, when x is all zeros).  The same bits on every
** CPU (each element one float multiplication, exactly rounded).  What the
** upper levels of a float32 graph are walked on (vec0_index_hnsw_code.c).
*/
float vec0QuantAbsmax(const float *x, int n, int8_t *c);

/*
** int8 under L2 or cosine: how far x (cosine: x normalised) is from what
** its code aCode stands for, the Euclidean norm of x - (mid + scale * code),
** in double.  With it the float distance of two vectors is bounded by their
** codes' (the triangle inequality): |x - y| >= scale * |cx - cy| - err(x) -
** err(y), and for unit vectors the cosine distance is |x - y|^2 / 2.
*/
double vec0QuantError(const Vec0Quant *q, const float *x, const void *aCode);

/*
** The parameters as bytes (little-endian: u32 kind, u32 metric, u32 nDim,
** f32 mid, f32 scale, then for bit nDim x f32 mean), and back.  Save writes
** at most vec0QuantSaveBytes(q) bytes; Load returns 0, 7 (no memory) or 267
** (bytes that are not a quantizer of nDim dimensions: corrupt).
*/
size_t vec0QuantSaveBytes(const Vec0Quant *q);
void vec0QuantSave(const Vec0Quant *q, unsigned char *a);
int vec0QuantLoad(Vec0Quant *q, int nDim, const unsigned char *a, size_t n,
                  Vec0QuantMalloc xMalloc, Vec0QuantFree xFree);

#endif /* VEC0_QUANT_H */
