/*
** vec0_distance_neon.c: NEON (Advanced SIMD) distance kernels for AArch64,
** where NEON is always present, so no run-time check is needed beyond the
** architecture.  Elsewhere this file compiles to nothing.  No SQLite calls;
** the getters are declared in vec0_vec.h, the only header.
**
** float32: four accumulators of 4 lanes with fused multiply-add; the last
** 1..3 elements are done in scalar code (NEON has no masked load).  int8:
** widening multiplies into int16, pairwise-accumulated into int32 lanes.
*/
#include "vec0_vec.h"

#if defined(VEC0_HAVE_NEON)

#include <arm_neon.h>
#include <math.h>
#include <string.h>

static float cosineOfNeon(double ab, double aa, double bb) {
  if (aa == 0 || bb == 0) return 1.0f;
  return (float)(1.0 - ab / (sqrt(aa) * sqrt(bb)));
}

/* Squared L2 with an early exit, as f32L2sqBoundAvx2 in vec0_distance_x86.c. */
static float f32L2sqBoundNeon(const void *pA, const void *pB, int n, float bound) {
  const float *a = pA, *b = pB;
  float32x4_t s0 = vdupq_n_f32(0), s1 = vdupq_n_f32(0);
  float32x4_t s2 = vdupq_n_f32(0), s3 = vdupq_n_f32(0);
  float t = 0;
  int i = 0, iCheck = VEC0_BOUND_STRIDE;
  for (; i + 16 <= n; i += 16) {
    float32x4_t d0 = vsubq_f32(vld1q_f32(a + i), vld1q_f32(b + i));
    float32x4_t d1 = vsubq_f32(vld1q_f32(a + i + 4), vld1q_f32(b + i + 4));
    float32x4_t d2 = vsubq_f32(vld1q_f32(a + i + 8), vld1q_f32(b + i + 8));
    float32x4_t d3 = vsubq_f32(vld1q_f32(a + i + 12), vld1q_f32(b + i + 12));
    s0 = vfmaq_f32(s0, d0, d0);
    s1 = vfmaq_f32(s1, d1, d1);
    s2 = vfmaq_f32(s2, d2, d2);
    s3 = vfmaq_f32(s3, d3, d3);
    if (i + 16 == iCheck) {
      float part;
      iCheck += VEC0_BOUND_STRIDE;
      if (bound == INFINITY) continue;
      part = vaddvq_f32(vaddq_f32(vaddq_f32(s0, s1), vaddq_f32(s2, s3)));
      if (part > bound) return part;
    }
  }
  for (; i + 4 <= n; i += 4) {
    float32x4_t d = vsubq_f32(vld1q_f32(a + i), vld1q_f32(b + i));
    s0 = vfmaq_f32(s0, d, d);
  }
  for (; i < n; i++) t += (a[i] - b[i]) * (a[i] - b[i]);
  return t + vaddvq_f32(vaddq_f32(vaddq_f32(s0, s1), vaddq_f32(s2, s3)));
}

static float f32L2sqNeon(const void *pA, const void *pB, int n) {
  return f32L2sqBoundNeon(pA, pB, n, INFINITY);
}

static float f32L2Neon(const void *pA, const void *pB, int n) {
  return sqrtf(f32L2sqNeon(pA, pB, n));
}

static float f32DotNeon(const void *pA, const void *pB, int n) {
  const float *a = pA, *b = pB;
  float32x4_t s0 = vdupq_n_f32(0), s1 = vdupq_n_f32(0);
  float32x4_t s2 = vdupq_n_f32(0), s3 = vdupq_n_f32(0);
  float t = 0;
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    s0 = vfmaq_f32(s0, vld1q_f32(a + i), vld1q_f32(b + i));
    s1 = vfmaq_f32(s1, vld1q_f32(a + i + 4), vld1q_f32(b + i + 4));
    s2 = vfmaq_f32(s2, vld1q_f32(a + i + 8), vld1q_f32(b + i + 8));
    s3 = vfmaq_f32(s3, vld1q_f32(a + i + 12), vld1q_f32(b + i + 12));
  }
  for (; i + 4 <= n; i += 4) {
    s0 = vfmaq_f32(s0, vld1q_f32(a + i), vld1q_f32(b + i));
  }
  for (; i < n; i++) t += a[i] * b[i];
  return -(t + vaddvq_f32(vaddq_f32(vaddq_f32(s0, s1), vaddq_f32(s2, s3))));
}

static float f32L1Neon(const void *pA, const void *pB, int n) {
  const float *a = pA, *b = pB;
  float32x4_t s0 = vdupq_n_f32(0), s1 = vdupq_n_f32(0);
  float t = 0;
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    s0 = vaddq_f32(s0, vabdq_f32(vld1q_f32(a + i), vld1q_f32(b + i)));
    s1 = vaddq_f32(s1, vabdq_f32(vld1q_f32(a + i + 4), vld1q_f32(b + i + 4)));
  }
  for (; i < n; i++) t += fabsf(a[i] - b[i]);
  return t + vaddvq_f32(vaddq_f32(s0, s1));
}

static float f32CosineNeon(const void *pA, const void *pB, int n) {
  const float *a = pA, *b = pB;
  float32x4_t ab = vdupq_n_f32(0), aa = vdupq_n_f32(0), bb = vdupq_n_f32(0);
  float tab = 0, taa = 0, tbb = 0;
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    float32x4_t x = vld1q_f32(a + i), y = vld1q_f32(b + i);
    ab = vfmaq_f32(ab, x, y);
    aa = vfmaq_f32(aa, x, x);
    bb = vfmaq_f32(bb, y, y);
  }
  for (; i < n; i++) {
    tab += a[i] * b[i];
    taa += a[i] * a[i];
    tbb += b[i] * b[i];
  }
  tab += vaddvq_f32(ab);
  taa += vaddvq_f32(aa);
  tbb += vaddvq_f32(bb);
  /* overflowed or underflowed float sums: the portable kernel sums in double */
  if (taa == 0 || tbb == 0 || isinf(taa) || isinf(tbb) || isinf(tab)) {
    return vec0DistanceF32Portable(VEC0_METRIC_COSINE)(pA, pB, n);
  }
  return cosineOfNeon(tab, taa, tbb);
}

static int64_t i8SumSqNeon(const int8_t *a, const int8_t *b, int n) {
  int32x4_t s = vdupq_n_s32(0);
  int64_t t = 0;
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    int8x16_t x = vld1q_s8(a + i), y = vld1q_s8(b + i);
    int16x8_t dl = vsubl_s8(vget_low_s8(x), vget_low_s8(y));
    int16x8_t dh = vsubl_s8(vget_high_s8(x), vget_high_s8(y));
    s = vmlal_s16(s, vget_low_s16(dl), vget_low_s16(dl));
    s = vmlal_s16(s, vget_high_s16(dl), vget_high_s16(dl));
    s = vmlal_s16(s, vget_low_s16(dh), vget_low_s16(dh));
    s = vmlal_s16(s, vget_high_s16(dh), vget_high_s16(dh));
  }
  for (; i < n; i++) {
    int d = (int)a[i] - b[i];
    t += d * d;
  }
  return t + vaddvq_s32(s);
}

static float i8L2sqNeon(const void *pA, const void *pB, int n) {
  return (float)i8SumSqNeon(pA, pB, n);
}

static float i8L2Neon(const void *pA, const void *pB, int n) {
  return (float)sqrt((double)i8SumSqNeon(pA, pB, n));
}

/* a.b over n elements, into int32 lanes via widening multiply-accumulate. */
static int64_t i8DotSum(const int8_t *a, const int8_t *b, int n) {
  int32x4_t s = vdupq_n_s32(0);
  int64_t t = 0;
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    int8x16_t x = vld1q_s8(a + i), y = vld1q_s8(b + i);
    s = vpadalq_s16(s, vmull_s8(vget_low_s8(x), vget_low_s8(y)));
    s = vpadalq_s16(s, vmull_s8(vget_high_s8(x), vget_high_s8(y)));
  }
  for (; i < n; i++) t += (int)a[i] * b[i];
  return t + vaddvq_s32(s);
}

static float i8DotNeon(const void *pA, const void *pB, int n) {
  return (float)-i8DotSum(pA, pB, n);
}

static float i8L1Neon(const void *pA, const void *pB, int n) {
  const int8_t *a = pA, *b = pB;
  uint32x4_t s = vdupq_n_u32(0);
  int64_t t = 0;
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    int8x16_t x = vld1q_s8(a + i), y = vld1q_s8(b + i);
    uint16x8_t dl = vreinterpretq_u16_s16(vabdl_s8(vget_low_s8(x),
                                                   vget_low_s8(y)));
    uint16x8_t dh = vreinterpretq_u16_s16(vabdl_s8(vget_high_s8(x),
                                                   vget_high_s8(y)));
    s = vpadalq_u16(s, dl);
    s = vpadalq_u16(s, dh);
  }
  for (; i < n; i++) {
    int d = (int)a[i] - b[i];
    t += d < 0 ? -d : d;
  }
  return (float)(t + (int64_t)vaddvq_u32(s));
}

static float i8CosineNeon(const void *pA, const void *pB, int n) {
  const int8_t *a = pA, *b = pB;
  return cosineOfNeon((double)i8DotSum(a, b, n), (double)i8DotSum(a, a, n),
                  (double)i8DotSum(b, b, n));
}

static float bitHammingNeon(const void *pA, const void *pB, int n) {
  const uint8_t *a = pA, *b = pB;
  int nByte = n / 8;
  uint32x4_t s = vdupq_n_u32(0);
  int c = 0;
  int i = 0;
  for (; i + 16 <= nByte; i += 16) {
    uint8x16_t x = veorq_u8(vld1q_u8(a + i), vld1q_u8(b + i));
    s = vpadalq_u16(s, vpaddlq_u8(vcntq_u8(x)));
  }
  for (; i < nByte; i++) c += __builtin_popcount((unsigned)(a[i] ^ b[i]));
  return (float)(c + (int)vaddvq_u32(s));
}

Vec0DistanceFn vec0DistanceNeon(Vec0ElemType eType, Vec0Metric eMetric) {
  if (eType == VEC0_ELEM_F32) {
    switch (eMetric) {
      case VEC0_METRIC_L2: return f32L2Neon;
      case VEC0_METRIC_L2SQ: return f32L2sqNeon;
      case VEC0_METRIC_COSINE: return f32CosineNeon;
      case VEC0_METRIC_DOT: return f32DotNeon;
      case VEC0_METRIC_L1: return f32L1Neon;
      default: return 0;
    }
  }
  if (eType == VEC0_ELEM_I8) {
    switch (eMetric) {
      case VEC0_METRIC_L2: return i8L2Neon;
      case VEC0_METRIC_L2SQ: return i8L2sqNeon;
      case VEC0_METRIC_COSINE: return i8CosineNeon;
      case VEC0_METRIC_DOT: return i8DotNeon;
      case VEC0_METRIC_L1: return i8L1Neon;
      default: return 0;
    }
  }
  if (eType == VEC0_ELEM_BIT && eMetric == VEC0_METRIC_HAMMING) {
    return bitHammingNeon;
  }
  return 0;
}

Vec0DistanceBoundFn vec0DistanceBoundNeon(Vec0ElemType eType, Vec0Metric eMetric) {
  if (eType == VEC0_ELEM_F32 && eMetric == VEC0_METRIC_L2SQ) return f32L2sqBoundNeon;
  return 0;
}

#else
/* Not AArch64: this file compiles to nothing (ISO C wants one declaration). */
typedef int vec0DistanceNeonUnused;
#endif
