/*
** vec0_distance.c: the run-time choice of the fastest kernel set this CPU
** offers, above the kernel files: vec0_distance_x86.c (AVX-512 and
** AVX2+FMA), vec0_distance_neon.c (NEON) and, under both, the portable C
** kernels of vec0_distance_portable.c, which fill every pair a SIMD set
** leaves out; each element type's descriptor (vec0_elem.c) names its own.  No SQLite calls live here or in the kernel files, which
** include only vec0_vec.h, so the benchmark in bench/ links these files
** alone.
*/
#include "vec0_vec.h"

#include <stdlib.h>
#include <string.h>

/* ---- dispatch --------------------------------------------------------- */

Vec0DistanceFn vec0DistancePortable(Vec0ElemType eType, Vec0Metric eMetric) {
  const Vec0ElemDesc *d = vec0ElemDesc(eType);
  return d ? d->xKernel(eMetric) : 0;
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

/* 0 when z is zName (lower case) in any case: the distance code calls no SQLite. */
static int nameCmp(const char *z, const char *zName) {
  for (; *z && *zName; z++, zName++) {
    if ((*z >= 'A' && *z <= 'Z' ? *z + ('a' - 'A') : *z) != *zName) return 1;
  }
  return *z != *zName;
}

static int forcedImpl(int eDetected) {
  const char *z = getenv("VEC0_KERNELS");
  int e = IMPL_UNKNOWN;
  if (z == 0) return eDetected;
  if (nameCmp(z, "portable") == 0) e = IMPL_PORTABLE;
  else if (nameCmp(z, "avx2") == 0) e = IMPL_AVX2;
  else if (nameCmp(z, "avx512") == 0) e = IMPL_AVX512;
  else if (nameCmp(z, "neon") == 0) e = IMPL_NEON;
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

void vec0CosineKnownFns(Vec0SumSqFn *pxSumSq, Vec0CosineKnownFn *pxCos4) {
  *pxSumSq = 0;
  *pxCos4 = 0;
  vec0DistanceInit();
#if defined(VEC0_HAVE_X86)
  if (eImpl == IMPL_AVX512) vec0CosineKnownAvx512(pxSumSq, pxCos4);
  if (eImpl == IMPL_AVX2) vec0CosineKnownAvx2(pxSumSq, pxCos4);
#endif
}

Vec0CodeDistFn vec0CodeDistFn(void) {
  Vec0CodeDistFn x = 0;
  vec0DistanceInit();
#if defined(VEC0_HAVE_X86)
  if (eImpl == IMPL_AVX512) x = vec0CodeDistAvx512();
  if (x == 0 && (eImpl == IMPL_AVX512 || eImpl == IMPL_AVX2)) x = vec0CodeDistAvx2();
#elif defined(VEC0_HAVE_NEON)
  if (eImpl == IMPL_NEON) x = vec0CodeDistSdot();
  if (x == 0 && eImpl == IMPL_NEON) x = vec0CodeDistNeon();
#endif
  if (x == 0) x = vec0CodeDistPortable();
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
