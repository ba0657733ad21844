/*
** vec0_distance.c: the portable C distance kernels and the run-time choice of
** the fastest kernel set this CPU offers (vec0_distance_x86.c: AVX-512 and
** AVX2+FMA; vec0_distance_neon.c: NEON).  No SQLite calls live here or in the
** kernel files, which include only vec0_vec.h, so the benchmark in bench/
** links these files alone.
**
** The portable kernels are also the reference the SIMD kernels are tested
** against, so they favour accuracy: float32 sums are accumulated in double
** and int8 sums in exact integers, and only the final result is rounded to
** float.
**
** Cosine distance is 1 - dot/(|a||b|).  When either vector is all zeros the
** quotient is 0/0; the kernels then return 1.0 (as for orthogonal vectors)
** because a NaN would break every comparison of the HNSW walk.  The SQL
** function vec_distance_cosine() returns NULL in that case, like sqlite-vec.
*/
#include "vec0_vec.h"

#include <math.h>
#include <stdlib.h>
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

/* ---- dispatch --------------------------------------------------------- */

Vec0DistanceFn vec0DistancePortable(Vec0ElemType eType, Vec0Metric eMetric) {
  if (eType == VEC0_ELEM_F32) {
    switch (eMetric) {
      case VEC0_METRIC_L2: return f32L2;
      case VEC0_METRIC_L2SQ: return f32L2sq;
      case VEC0_METRIC_COSINE: return f32Cosine;
      case VEC0_METRIC_DOT: return f32Dot;
      case VEC0_METRIC_L1: return f32L1;
      default: return 0;
    }
  }
  if (eType == VEC0_ELEM_I8) {
    switch (eMetric) {
      case VEC0_METRIC_L2: return i8L2;
      case VEC0_METRIC_L2SQ: return i8L2sq;
      case VEC0_METRIC_COSINE: return i8Cosine;
      case VEC0_METRIC_DOT: return i8Dot;
      case VEC0_METRIC_L1: return i8L1;
      default: return 0;
    }
  }
  if (eType == VEC0_ELEM_BIT && eMetric == VEC0_METRIC_HAMMING) {
    return bitHamming;
  }
  return 0;
}

Vec0DistanceBoundFn vec0DistanceBoundPortable(Vec0ElemType eType,
                                              Vec0Metric eMetric) {
  if (eType == VEC0_ELEM_F32 && eMetric == VEC0_METRIC_L2SQ) return f32L2sqBound;
  return 0;
}

/*
** The chosen kernel set.  Init may run on several connections at once; every
** thread computes and stores the same value, so the race is harmless.
**
** The environment variable VEC0_KERNELS (portable, avx2, avx512, neon), read
** once here, can lower the set below what the CPU offers: to compare kernel
** sets on one machine (the replication tests replay one statement log under
** each) or to rule a SIMD kernel out.  A set the CPU lacks, one above the
** detected level, or an unknown name is ignored.  The IMPL_ values of x86
** are ordered by level, so lowering is a comparison.
*/
enum { IMPL_UNKNOWN = 0, IMPL_PORTABLE, IMPL_AVX2, IMPL_AVX512, IMPL_NEON };
static volatile int eImpl = IMPL_UNKNOWN;

static int forcedImpl(int eDetected) {
  const char *z = getenv("VEC0_KERNELS");
  int e = IMPL_UNKNOWN;
  if (z == 0) return eDetected;
  if (strcmp(z, "portable") == 0) e = IMPL_PORTABLE;
  else if (strcmp(z, "avx2") == 0) e = IMPL_AVX2;
  else if (strcmp(z, "avx512") == 0) e = IMPL_AVX512;
  else if (strcmp(z, "neon") == 0) e = IMPL_NEON;
  if (e == IMPL_UNKNOWN) return eDetected;
  if (e == IMPL_PORTABLE || e == eDetected) return e;
  if (eDetected != IMPL_NEON && e != IMPL_NEON && e < eDetected) return e;
  return eDetected;
}

void vec0DistanceInit(void) {
  int e = IMPL_PORTABLE;
  if (eImpl != IMPL_UNKNOWN) return;
#if defined(VEC0_HAVE_X86)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
      && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma")) {
    e = IMPL_AVX512;
  } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    e = IMPL_AVX2;
  }
#elif defined(VEC0_HAVE_NEON)
  e = IMPL_NEON; /* Advanced SIMD is part of every AArch64 CPU */
#endif
  eImpl = forcedImpl(e);
}

const char *vec0DistanceImpl(void) {
  vec0DistanceInit();
  switch (eImpl) {
    case IMPL_AVX512: return "avx512";
    case IMPL_AVX2: return "avx2";
    case IMPL_NEON: return "neon";
  }
  return "portable";
}

Vec0DistanceFn vec0DistanceFn(Vec0ElemType eType, Vec0Metric eMetric) {
  Vec0DistanceFn x = 0;
  vec0DistanceInit();
#if defined(VEC0_HAVE_X86)
  if (eImpl == IMPL_AVX512) x = vec0DistanceAvx512(eType, eMetric);
  if (x == 0 && (eImpl == IMPL_AVX512 || eImpl == IMPL_AVX2)) {
    x = vec0DistanceAvx2(eType, eMetric);
  }
#elif defined(VEC0_HAVE_NEON)
  if (eImpl == IMPL_NEON) x = vec0DistanceNeon(eType, eMetric);
#endif
  if (x == 0) x = vec0DistancePortable(eType, eMetric);
  return x;
}

Vec0DistanceBoundFn vec0DistanceBoundFn(Vec0ElemType eType, Vec0Metric eMetric) {
  Vec0DistanceBoundFn x = 0;
  vec0DistanceInit();
#if defined(VEC0_HAVE_X86)
  if (eImpl == IMPL_AVX512) x = vec0DistanceBoundAvx512(eType, eMetric);
  if (x == 0 && (eImpl == IMPL_AVX512 || eImpl == IMPL_AVX2)) {
    x = vec0DistanceBoundAvx2(eType, eMetric);
  }
#elif defined(VEC0_HAVE_NEON)
  if (eImpl == IMPL_NEON) x = vec0DistanceBoundNeon(eType, eMetric);
#endif
  if (x == 0) x = vec0DistanceBoundPortable(eType, eMetric);
  return x;
}

Vec0DistanceBatchFn vec0DistanceBatchFn(Vec0ElemType eType, Vec0Metric eMetric) {
  Vec0DistanceBatchFn x = 0;
  vec0DistanceInit();
#if defined(VEC0_HAVE_X86)
  if (eImpl == IMPL_AVX512) x = vec0DistanceBatchAvx512(eType, eMetric);
  if (x == 0 && (eImpl == IMPL_AVX512 || eImpl == IMPL_AVX2)) {
    x = vec0DistanceBatchAvx2(eType, eMetric);
  }
#endif
  return x;
}

const char *vec0MetricName(Vec0Metric eMetric) {
  switch (eMetric) {
    case VEC0_METRIC_L2: return "l2";
    case VEC0_METRIC_COSINE: return "cosine";
    case VEC0_METRIC_L1: return "l1";
    case VEC0_METRIC_DOT: return "dot";
    case VEC0_METRIC_HAMMING: return "hamming";
    case VEC0_METRIC_L2SQ: return "l2sq";
  }
  return "unknown";
}
