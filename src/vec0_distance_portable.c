/*
** vec0_distance_portable.c: the portable C distance kernels, the bottom of
** the kernel files.  They are the reference the SIMD kernels are tested
** against and the fallback where a SIMD set has no kernel (vec0_distance.c
** chooses), and the SIMD files call them for the rare inputs their float
** sums cannot take.  Calls nothing but the C library; includes only
** vec0_vec.h.
**
** Being the reference, they favour accuracy: float32 sums are accumulated
** in double and int8 sums in exact integers, and only the final result is
** rounded to float.
**
** Cosine distance is 1 - dot/(|a||b|).  When either vector is all zeros the
** quotient is 0/0; the kernels then return 1.0 (as for orthogonal vectors)
** because a NaN would break every comparison of the HNSW walk.  The SQL
** function vec_distance_cosine() returns NULL in that case, like sqlite-vec.
*/
#include "vec0_vec.h"

#include <math.h>
#include <string.h>

/* ---- float32 ---------------------------------------------------------- */

/* Squared L2, with the early exit of Vec0DistanceBoundFn (vec0_vec.h). */
static float f32L2sqBound(const void *pA, const void *pB, int n, float bound) {
  const float *a = pA, *b = pB;
  double s0 = 0, s1 = 0;
  int i = 0, iCheck = VEC0_BOUND_STRIDE;
  for (; i + 1 < n; i += 2) {
    double d0 = (double)a[i] - b[i], d1 = (double)a[i + 1] - b[i + 1];
    s0 += d0 * d0;
    s1 += d1 * d1;
    if (i + 2 == iCheck) {
      iCheck += VEC0_BOUND_STRIDE;
      if ((float)(s0 + s1) > bound) return (float)(s0 + s1);
    }
  }
  if (i < n) {
    double d = (double)a[i] - b[i];
    s0 += d * d;
  }
  return (float)(s0 + s1);
}

static float f32L2sq(const void *pA, const void *pB, int n) {
  return f32L2sqBound(pA, pB, n, INFINITY);
}

static float f32L2(const void *pA, const void *pB, int n) {
  const float *a = pA, *b = pB;
  double s = 0;
  int i;
  for (i = 0; i < n; i++) {
    double d = (double)a[i] - b[i];
    s += d * d;
  }
  return (float)sqrt(s);
}

static float f32Dot(const void *pA, const void *pB, int n) {
  const float *a = pA, *b = pB;
  double s0 = 0, s1 = 0;
  int i = 0;
  for (; i + 1 < n; i += 2) {
    s0 += (double)a[i] * b[i];
    s1 += (double)a[i + 1] * b[i + 1];
  }
  if (i < n) s0 += (double)a[i] * b[i];
  return (float)-(s0 + s1);
}

static float f32L1(const void *pA, const void *pB, int n) {
  const float *a = pA, *b = pB;
  double s = 0;
  int i;
  for (i = 0; i < n; i++) s += fabs((double)a[i] - b[i]);
  return (float)s;
}

static float f32Cosine(const void *pA, const void *pB, int n) {
  const float *a = pA, *b = pB;
  double ab = 0, aa = 0, bb = 0;
  int i;
  for (i = 0; i < n; i++) {
    ab += (double)a[i] * b[i];
    aa += (double)a[i] * a[i];
    bb += (double)b[i] * b[i];
  }
  if (aa == 0 || bb == 0) return 1.0f;
  return (float)(1.0 - ab / (sqrt(aa) * sqrt(bb)));
}

/* ---- int8: exact integer sums ----------------------------------------- */

static int64_t i8SumSq(const int8_t *a, const int8_t *b, int n) {
  int64_t s = 0;
  int i;
  for (i = 0; i < n; i++) {
    int d = (int)a[i] - b[i];
    s += d * d;
  }
  return s;
}

static float i8L2sq(const void *pA, const void *pB, int n) {
  return (float)i8SumSq(pA, pB, n);
}

static float i8L2(const void *pA, const void *pB, int n) {
  return (float)sqrt((double)i8SumSq(pA, pB, n));
}

static float i8Dot(const void *pA, const void *pB, int n) {
  const int8_t *a = pA, *b = pB;
  int64_t s = 0;
  int i;
  for (i = 0; i < n; i++) s += (int)a[i] * b[i];
  return (float)-s;
}

static float i8L1(const void *pA, const void *pB, int n) {
  const int8_t *a = pA, *b = pB;
  int64_t s = 0;
  int i;
  for (i = 0; i < n; i++) {
    int d = (int)a[i] - b[i];
    s += d < 0 ? -d : d;
  }
  return (float)s;
}

static float i8Cosine(const void *pA, const void *pB, int n) {
  const int8_t *a = pA, *b = pB;
  int64_t ab = 0, aa = 0, bb = 0;
  int i;
  for (i = 0; i < n; i++) {
    ab += (int)a[i] * b[i];
    aa += (int)a[i] * a[i];
    bb += (int)b[i] * b[i];
  }
  if (aa == 0 || bb == 0) return 1.0f;
  return (float)(1.0 - (double)ab / (sqrt((double)aa) * sqrt((double)bb)));
}

/* ---- bit -------------------------------------------------------------- */

static int popcount64(uint64_t x) {
#if defined(__GNUC__) || defined(__clang__)
  return __builtin_popcountll(x);
#else
  int c = 0;
  for (; x; x &= x - 1) c++;
  return c;
#endif
}

/* nDim is in bits; memcpy keeps the 64-bit reads legal at any alignment. */
static float bitHamming(const void *pA, const void *pB, int n) {
  const unsigned char *a = pA, *b = pB;
  int nByte = n / 8;
  int i = 0;
  int c = 0;
  for (; i + 8 <= nByte; i += 8) {
    uint64_t x, y;
    memcpy(&x, a + i, 8);
    memcpy(&y, b + i, 8);
    c += popcount64(x ^ y);
  }
  for (; i < nByte; i++) c += popcount64((uint64_t)(a[i] ^ b[i]));
  return (float)c;
}

/* ---- the getters: one per element type -------------------------------- */

Vec0DistanceFn vec0DistanceF32Portable(Vec0Metric eMetric) {
  switch (eMetric) {
    case VEC0_METRIC_L2: return f32L2;
    case VEC0_METRIC_L2SQ: return f32L2sq;
    case VEC0_METRIC_COSINE: return f32Cosine;
    case VEC0_METRIC_DOT: return f32Dot;
    case VEC0_METRIC_L1: return f32L1;
    default: return 0;
  }
}

Vec0DistanceFn vec0DistanceI8Portable(Vec0Metric eMetric) {
  switch (eMetric) {
    case VEC0_METRIC_L2: return i8L2;
    case VEC0_METRIC_L2SQ: return i8L2sq;
    case VEC0_METRIC_COSINE: return i8Cosine;
    case VEC0_METRIC_DOT: return i8Dot;
    case VEC0_METRIC_L1: return i8L1;
    default: return 0;
  }
}

Vec0DistanceFn vec0DistanceBitPortable(Vec0Metric eMetric) {
  return eMetric == VEC0_METRIC_HAMMING ? bitHamming : 0;
}

Vec0DistanceBoundFn vec0DistanceBoundPortable(Vec0ElemType eType,
                                              Vec0Metric eMetric) {
  if (eType == VEC0_ELEM_F32 && eMetric == VEC0_METRIC_L2SQ) return f32L2sqBound;
  return 0;
}
