/*
** vec0_distance_x86.c: AVX2+FMA and AVX-512 distance kernels for x86-64.
**
** Each kernel carries its own __attribute__((target(...))), so the file
** builds with the project's ordinary flags and the instructions run only
** after vec0_distance.c has checked the CPU (vec0DistanceInit).  Nothing here
** calls SQLite; the getters are declared in vec0_vec.h, the only header.
**
** The float32 l2sq / dot kernels are the hot path of every exact scan and of
** the HNSW walk: four independent accumulators hide the FMA latency, and the
** last partial vector is read with a masked load, so an odd nDim costs one
** extra iteration instead of a scalar loop.  Masked loads never touch the
** masked-off bytes, so reading past the end of a vector cannot fault.
**
** int8 kernels widen to int16 and use madd (pairwise int16 products summed
** into int32 lanes); the int32 lanes cannot overflow for nDim up to ~500000,
** far beyond VEC0_MAX_DIMS.
*/
#include "vec0_vec.h"

#if defined(VEC0_HAVE_X86)

#include <immintrin.h>
#include <math.h>
#include <string.h>

#define T_AVX2 __attribute__((target("avx2,fma,popcnt")))
#define T_AVX512 \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,popcnt")))

/* sqrtss inline: sqrtf() may call libm to set errno, which costs a call. */
static T_AVX2 float sqrtFast(float x) {
  return _mm_cvtss_f32(_mm_sqrt_ss(_mm_set_ss(x)));
}

/* Cosine from the three sums, with the zero-vector rule of the portable kernels. */
static float cosineOf(double ab, double aa, double bb) {
  if (aa == 0 || bb == 0) return 1.0f;
  return (float)(1.0 - ab / (sqrt(aa) * sqrt(bb)));
}

/*
** float32 cosine from float sums, unless a sum of squares overflowed
** (elements near 1e19 and up) or underflowed to 0 (elements near 1e-19 and
** below, not all zero): then the portable kernel, which sums in double,
** gives the right answer instead of NaN or 1.0 (vec0_distance_portable.c,
** below this file: never the dispatch, which is above it).
*/
static float cosineF32(float ab, float aa, float bb, const void *pA,
                       const void *pB, int n) {
  if (aa == 0 || bb == 0 || isinf(aa) || isinf(bb) || isinf(ab)) {
    return vec0DistanceF32Portable(VEC0_METRIC_COSINE)(pA, pB, n);
  }
  return cosineOf(ab, aa, bb);
}

/* ======================================================================
** AVX2 + FMA
*/

/* 8 x -1 then 8 x 0: the mask of the first r lanes starts at 8 - r. */
static const int32_t aMaskTbl[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                     0,  0,  0,  0,  0,  0,  0,  0};

static T_AVX2 __m256i tailMask256(int r) {
  return _mm256_loadu_si256((const __m256i *)(const void *)&aMaskTbl[8 - r]);
}

static T_AVX2 float hsum256(__m256 v) {
  __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  x = _mm_add_ps(x, _mm_movehl_ps(x, x));
  x = _mm_add_ss(x, _mm_shuffle_ps(x, x, 1));
  return _mm_cvtss_f32(x);
}

static T_AVX2 int32_t hsum256i(__m256i v) {
  __m128i x = _mm_add_epi32(_mm256_castsi256_si128(v),
                            _mm256_extracti128_si256(v, 1));
  x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0x4e));
  x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0xb1));
  return _mm_cvtsi128_si32(x);
}

/*
** Squared L2, float32.  THE ORDER OF THE SUM is fixed, and the same in the
** AVX2 and AVX-512 kernels, so that both give the same bits (the HNSW graph
** a machine builds then does not depend on which of the two it has):
** element i goes to partial sum p[i mod 16], accumulated in order of i by
** fused multiply-adds; the 16 partials are then reduced as
** hsum8(p[0..7] + p[8..15]) (see hsum256).  Elements past the last full
** 16 are read with masked loads into the partials of their offset.
**
** The early exit: every VEC0_BOUND_STRIDE elements the partial sum is
** compared with bound, and once it is larger it is returned (the full sum
** can only be larger still).  Otherwise the result is exactly the full sum:
** the check reads the accumulators without changing them, so the plain
** kernel is this one with bound = +inf.
*/
static T_AVX2 float f32L2sqBoundAvx2(const void *pA, const void *pB, int n,
                                     float bound) {
  const float *a = pA, *b = pB;
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  int i = 0, iCheck = VEC0_BOUND_STRIDE;
  for (; i + 16 <= n; i += 16) {
    __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
    __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8),
                              _mm256_loadu_ps(b + i + 8));
    s0 = _mm256_fmadd_ps(d0, d0, s0);
    s1 = _mm256_fmadd_ps(d1, d1, s1);
    if (i + 16 == iCheck) {
      float part;
      iCheck += VEC0_BOUND_STRIDE;
      if (bound == INFINITY) continue;
      part = hsum256(_mm256_add_ps(s0, s1));
      if (part > bound) return part;
    }
  }
  if (i < n) {
    int r = n - i;
    __m256i m0 = tailMask256(r < 8 ? r : 8), m1 = tailMask256(r > 8 ? r - 8 : 0);
    __m256 d0 = _mm256_sub_ps(_mm256_maskload_ps(a + i, m0),
                              _mm256_maskload_ps(b + i, m0));
    __m256 d1 = _mm256_sub_ps(_mm256_maskload_ps(a + i + 8, m1),
                              _mm256_maskload_ps(b + i + 8, m1));
    s0 = _mm256_fmadd_ps(d0, d0, s0);
    s1 = _mm256_fmadd_ps(d1, d1, s1);
  }
  return hsum256(_mm256_add_ps(s0, s1));
}

/*
** The same sum for four vectors at once, each in exactly the order above
** (so each result equals f32L2sqBoundAvx2's): reading four vectors side by
** side keeps four streams of memory in flight, where one vector at a time
** waits for each of them in turn.  The early exit happens when all four
** partial sums are above bound.
*/
static T_AVX2 void f32L2sqBound4Avx2(const void *pA, const void *const *apB, int n,
                                     float bound, float *aOut) {
  const float *a = pA, *b0 = apB[0], *b1 = apB[1], *b2 = apB[2], *b3 = apB[3];
  __m256 s00 = _mm256_setzero_ps(), s01 = s00, s10 = s00, s11 = s00;
  __m256 s20 = s00, s21 = s00, s30 = s00, s31 = s00;
  int i = 0, iCheck = VEC0_BOUND_STRIDE;
  for (; i + 16 <= n; i += 16) {
    __m256 q0 = _mm256_loadu_ps(a + i), q1 = _mm256_loadu_ps(a + i + 8), d;
    d = _mm256_sub_ps(q0, _mm256_loadu_ps(b0 + i));
    s00 = _mm256_fmadd_ps(d, d, s00);
    d = _mm256_sub_ps(q1, _mm256_loadu_ps(b0 + i + 8));
    s01 = _mm256_fmadd_ps(d, d, s01);
    d = _mm256_sub_ps(q0, _mm256_loadu_ps(b1 + i));
    s10 = _mm256_fmadd_ps(d, d, s10);
    d = _mm256_sub_ps(q1, _mm256_loadu_ps(b1 + i + 8));
    s11 = _mm256_fmadd_ps(d, d, s11);
    d = _mm256_sub_ps(q0, _mm256_loadu_ps(b2 + i));
    s20 = _mm256_fmadd_ps(d, d, s20);
    d = _mm256_sub_ps(q1, _mm256_loadu_ps(b2 + i + 8));
    s21 = _mm256_fmadd_ps(d, d, s21);
    d = _mm256_sub_ps(q0, _mm256_loadu_ps(b3 + i));
    s30 = _mm256_fmadd_ps(d, d, s30);
    d = _mm256_sub_ps(q1, _mm256_loadu_ps(b3 + i + 8));
    s31 = _mm256_fmadd_ps(d, d, s31);
    if (i + 16 == iCheck) {
      iCheck += VEC0_BOUND_STRIDE;
      if (bound == INFINITY) continue;
      aOut[0] = hsum256(_mm256_add_ps(s00, s01));
      aOut[1] = hsum256(_mm256_add_ps(s10, s11));
      aOut[2] = hsum256(_mm256_add_ps(s20, s21));
      aOut[3] = hsum256(_mm256_add_ps(s30, s31));
      if (aOut[0] > bound && aOut[1] > bound && aOut[2] > bound && aOut[3] > bound) {
        return;
      }
    }
  }
  if (i < n) {
    int r = n - i;
    __m256i m0 = tailMask256(r < 8 ? r : 8), m1 = tailMask256(r > 8 ? r - 8 : 0);
    __m256 q0 = _mm256_maskload_ps(a + i, m0), q1 = _mm256_maskload_ps(a + i + 8, m1), d;
    d = _mm256_sub_ps(q0, _mm256_maskload_ps(b0 + i, m0));
    s00 = _mm256_fmadd_ps(d, d, s00);
    d = _mm256_sub_ps(q1, _mm256_maskload_ps(b0 + i + 8, m1));
    s01 = _mm256_fmadd_ps(d, d, s01);
    d = _mm256_sub_ps(q0, _mm256_maskload_ps(b1 + i, m0));
    s10 = _mm256_fmadd_ps(d, d, s10);
    d = _mm256_sub_ps(q1, _mm256_maskload_ps(b1 + i + 8, m1));
    s11 = _mm256_fmadd_ps(d, d, s11);
    d = _mm256_sub_ps(q0, _mm256_maskload_ps(b2 + i, m0));
    s20 = _mm256_fmadd_ps(d, d, s20);
    d = _mm256_sub_ps(q1, _mm256_maskload_ps(b2 + i + 8, m1));
    s21 = _mm256_fmadd_ps(d, d, s21);
    d = _mm256_sub_ps(q0, _mm256_maskload_ps(b3 + i, m0));
    s30 = _mm256_fmadd_ps(d, d, s30);
    d = _mm256_sub_ps(q1, _mm256_maskload_ps(b3 + i + 8, m1));
    s31 = _mm256_fmadd_ps(d, d, s31);
  }
  aOut[0] = hsum256(_mm256_add_ps(s00, s01));
  aOut[1] = hsum256(_mm256_add_ps(s10, s11));
  aOut[2] = hsum256(_mm256_add_ps(s20, s21));
  aOut[3] = hsum256(_mm256_add_ps(s30, s31));
}

static T_AVX2 float f32L2sqAvx2(const void *pA, const void *pB, int n) {
  return f32L2sqBoundAvx2(pA, pB, n, INFINITY);
}

static T_AVX2 float f32L2Avx2(const void *pA, const void *pB, int n) {
  return sqrtFast(f32L2sqAvx2(pA, pB, n));
}

static T_AVX2 float f32DotAvx2(const void *pA, const void *pB, int n) {
  const float *a = pA, *b = pB;
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  __m256 s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
  int i = 0;
  for (; i + 32 <= n; i += 32) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8),
                         _mm256_loadu_ps(b + i + 8), s1);
    s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16),
                         _mm256_loadu_ps(b + i + 16), s2);
    s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24),
                         _mm256_loadu_ps(b + i + 24), s3);
  }
  for (; i + 8 <= n; i += 8) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
  }
  if (i < n) {
    __m256i m = tailMask256(n - i);
    s1 = _mm256_fmadd_ps(_mm256_maskload_ps(a + i, m),
                         _mm256_maskload_ps(b + i, m), s1);
  }
  return -hsum256(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
}

static T_AVX2 float f32L1Avx2(const void *pA, const void *pB, int n) {
  const float *a = pA, *b = pB;
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
    __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8),
                              _mm256_loadu_ps(b + i + 8));
    s0 = _mm256_add_ps(s0, _mm256_andnot_ps(sign, d0));
    s1 = _mm256_add_ps(s1, _mm256_andnot_ps(sign, d1));
  }
  for (; i + 8 <= n; i += 8) {
    __m256 d = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
    s0 = _mm256_add_ps(s0, _mm256_andnot_ps(sign, d));
  }
  if (i < n) {
    __m256i m = tailMask256(n - i);
    __m256 d = _mm256_sub_ps(_mm256_maskload_ps(a + i, m),
                             _mm256_maskload_ps(b + i, m));
    s1 = _mm256_add_ps(s1, _mm256_andnot_ps(sign, d));
  }
  return hsum256(_mm256_add_ps(s0, s1));
}

static T_AVX2 float f32CosineAvx2(const void *pA, const void *pB, int n) {
  const float *a = pA, *b = pB;
  __m256 ab0 = _mm256_setzero_ps(), aa0 = _mm256_setzero_ps();
  __m256 bb0 = _mm256_setzero_ps(), ab1 = _mm256_setzero_ps();
  __m256 aa1 = _mm256_setzero_ps(), bb1 = _mm256_setzero_ps();
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256 x0 = _mm256_loadu_ps(a + i), y0 = _mm256_loadu_ps(b + i);
    __m256 x1 = _mm256_loadu_ps(a + i + 8), y1 = _mm256_loadu_ps(b + i + 8);
    ab0 = _mm256_fmadd_ps(x0, y0, ab0);
    aa0 = _mm256_fmadd_ps(x0, x0, aa0);
    bb0 = _mm256_fmadd_ps(y0, y0, bb0);
    ab1 = _mm256_fmadd_ps(x1, y1, ab1);
    aa1 = _mm256_fmadd_ps(x1, x1, aa1);
    bb1 = _mm256_fmadd_ps(y1, y1, bb1);
  }
  for (; i < n; i += 8) {
    /* the last pass may be partial: masked load */
    __m256i m = tailMask256(n - i < 8 ? n - i : 8);
    __m256 x = _mm256_maskload_ps(a + i, m), y = _mm256_maskload_ps(b + i, m);
    ab0 = _mm256_fmadd_ps(x, y, ab0);
    aa0 = _mm256_fmadd_ps(x, x, aa0);
    bb0 = _mm256_fmadd_ps(y, y, bb0);
  }
  return cosineF32(hsum256(_mm256_add_ps(ab0, ab1)),
                   hsum256(_mm256_add_ps(aa0, aa1)),
                   hsum256(_mm256_add_ps(bb0, bb1)), pA, pB, n);
}

/*
** Cosine of a against b0 and b1, each exactly as f32CosineAvx2 sums it (the
** sums of a's squares once for both: the same sums, so the same bits): two
** vectors read side by side overlap their memory reads and their chains of
** fused multiply-adds.  With bKnown the sums of a's squares and of b0's
** and b1's are aa and aBB's (f32SumSqAvx2's, the same bits) and not formed:
** a third of the multiply-adds.  Inlined with bKnown a constant, so each
** caller's loop has only its own.
*/
static inline __attribute__((always_inline)) T_AVX2 void
cosine2Avx2(const float *a, const float *b0, const float *b1, int n, int bKnown, float aa,
            const float *aBB, float *aOut) {
  __m256 aa0 = _mm256_setzero_ps(), aa1 = aa0;
  __m256 ab00 = aa0, ab01 = aa0, bb00 = aa0, bb01 = aa0;
  __m256 ab10 = aa0, ab11 = aa0, bb10 = aa0, bb11 = aa0;
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256 x0 = _mm256_loadu_ps(a + i), x1 = _mm256_loadu_ps(a + i + 8), y;
    if (!bKnown) aa0 = _mm256_fmadd_ps(x0, x0, aa0);
    if (!bKnown) aa1 = _mm256_fmadd_ps(x1, x1, aa1);
    y = _mm256_loadu_ps(b0 + i);
    ab00 = _mm256_fmadd_ps(x0, y, ab00);
    if (!bKnown) bb00 = _mm256_fmadd_ps(y, y, bb00);
    y = _mm256_loadu_ps(b0 + i + 8);
    ab01 = _mm256_fmadd_ps(x1, y, ab01);
    if (!bKnown) bb01 = _mm256_fmadd_ps(y, y, bb01);
    y = _mm256_loadu_ps(b1 + i);
    ab10 = _mm256_fmadd_ps(x0, y, ab10);
    if (!bKnown) bb10 = _mm256_fmadd_ps(y, y, bb10);
    y = _mm256_loadu_ps(b1 + i + 8);
    ab11 = _mm256_fmadd_ps(x1, y, ab11);
    if (!bKnown) bb11 = _mm256_fmadd_ps(y, y, bb11);
  }
  for (; i < n; i += 8) {
    __m256i m = tailMask256(n - i < 8 ? n - i : 8);
    __m256 x = _mm256_maskload_ps(a + i, m), y;
    if (!bKnown) aa0 = _mm256_fmadd_ps(x, x, aa0);
    y = _mm256_maskload_ps(b0 + i, m);
    ab00 = _mm256_fmadd_ps(x, y, ab00);
    if (!bKnown) bb00 = _mm256_fmadd_ps(y, y, bb00);
    y = _mm256_maskload_ps(b1 + i, m);
    ab10 = _mm256_fmadd_ps(x, y, ab10);
    if (!bKnown) bb10 = _mm256_fmadd_ps(y, y, bb10);
  }
  {
    float fa = bKnown ? aa : hsum256(_mm256_add_ps(aa0, aa1));
    float f0 = bKnown ? aBB[0] : hsum256(_mm256_add_ps(bb00, bb01));
    float f1 = bKnown ? aBB[1] : hsum256(_mm256_add_ps(bb10, bb11));
    aOut[0] = cosineF32(hsum256(_mm256_add_ps(ab00, ab01)), fa, f0, a, b0, n);
    aOut[1] = cosineF32(hsum256(_mm256_add_ps(ab10, ab11)), fa, f1, a, b1, n);
  }
}

/* The sum of b's squares exactly as f32CosineAvx2 forms it (bb0 + bb1). */
static T_AVX2 float f32SumSqAvx2(const void *pB, int n) {
  const float *b = pB;
  __m256 s0 = _mm256_setzero_ps(), s1 = s0;
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256 y0 = _mm256_loadu_ps(b + i), y1 = _mm256_loadu_ps(b + i + 8);
    s0 = _mm256_fmadd_ps(y0, y0, s0);
    s1 = _mm256_fmadd_ps(y1, y1, s1);
  }
  for (; i < n; i += 8) {
    __m256 y = _mm256_maskload_ps(b + i, tailMask256(n - i < 8 ? n - i : 8));
    s0 = _mm256_fmadd_ps(y, y, s0);
  }
  return hsum256(_mm256_add_ps(s0, s1));
}

/* Four cosines given the sums of the squares (Vec0CosineKnownFn). */
static T_AVX2 void f32CosineKnown4Avx2(const void *pA, float aa, const void *const *apB,
                                       const float *aBB, int n, float *aOut) {
  cosine2Avx2(pA, apB[0], apB[1], n, 1, aa, aBB, aOut);
  cosine2Avx2(pA, apB[2], apB[3], n, 1, aa, aBB + 2, aOut + 2);
}

/* Four cosines, as Vec0DistanceBatchFn: exact (no bound kernel, so no exit). */
static T_AVX2 void f32Cosine4Avx2(const void *pA, const void *const *apB, int n,
                                  float bound, float *aOut) {
  (void)bound;
  cosine2Avx2(pA, apB[0], apB[1], n, 0, 0.0f, 0, aOut);
  cosine2Avx2(pA, apB[2], apB[3], n, 0, 0.0f, 0, aOut + 2);
}

/* int8: 16 elements at a time, widened to int16. */
#define LOAD_I8x16_AS_I16(p) \
  _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(p)))

static T_AVX2 float i8L2sqAvx2(const void *pA, const void *pB, int n) {
  const int8_t *a = pA, *b = pB;
  __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
  int64_t t = 0;
  int i = 0;
  for (; i + 32 <= n; i += 32) {
    __m256i d0 = _mm256_sub_epi16(LOAD_I8x16_AS_I16(a + i),
                                  LOAD_I8x16_AS_I16(b + i));
    __m256i d1 = _mm256_sub_epi16(LOAD_I8x16_AS_I16(a + i + 16),
                                  LOAD_I8x16_AS_I16(b + i + 16));
    s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(d0, d0));
    s1 = _mm256_add_epi32(s1, _mm256_madd_epi16(d1, d1));
  }
  for (; i + 16 <= n; i += 16) {
    __m256i d = _mm256_sub_epi16(LOAD_I8x16_AS_I16(a + i),
                                 LOAD_I8x16_AS_I16(b + i));
    s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(d, d));
  }
  for (; i < n; i++) {
    int d = (int)a[i] - b[i];
    t += d * d;
  }
  return (float)(t + hsum256i(_mm256_add_epi32(s0, s1)));
}

static T_AVX2 float i8L2Avx2(const void *pA, const void *pB, int n) {
  return (float)sqrt((double)i8L2sqAvx2(pA, pB, n));
}

static T_AVX2 float i8DotAvx2(const void *pA, const void *pB, int n) {
  const int8_t *a = pA, *b = pB;
  __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
  int64_t t = 0;
  int i = 0;
  for (; i + 32 <= n; i += 32) {
    s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(LOAD_I8x16_AS_I16(a + i),
                                                LOAD_I8x16_AS_I16(b + i)));
    s1 = _mm256_add_epi32(s1,
                          _mm256_madd_epi16(LOAD_I8x16_AS_I16(a + i + 16),
                                            LOAD_I8x16_AS_I16(b + i + 16)));
  }
  for (; i + 16 <= n; i += 16) {
    s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(LOAD_I8x16_AS_I16(a + i),
                                                LOAD_I8x16_AS_I16(b + i)));
  }
  for (; i < n; i++) t += (int)a[i] * b[i];
  return (float)-(t + hsum256i(_mm256_add_epi32(s0, s1)));
}

static T_AVX2 float i8L1Avx2(const void *pA, const void *pB, int n) {
  const int8_t *a = pA, *b = pB;
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i s0 = _mm256_setzero_si256();
  int64_t t = 0;
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256i d = _mm256_abs_epi16(_mm256_sub_epi16(LOAD_I8x16_AS_I16(a + i),
                                                  LOAD_I8x16_AS_I16(b + i)));
    s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(d, ones));
  }
  for (; i < n; i++) {
    int d = (int)a[i] - b[i];
    t += d < 0 ? -d : d;
  }
  return (float)(t + hsum256i(s0));
}

static T_AVX2 float i8CosineAvx2(const void *pA, const void *pB, int n) {
  const int8_t *a = pA, *b = pB;
  __m256i ab = _mm256_setzero_si256(), aa = _mm256_setzero_si256();
  __m256i bb = _mm256_setzero_si256();
  int64_t tab = 0, taa = 0, tbb = 0;
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256i x = LOAD_I8x16_AS_I16(a + i), y = LOAD_I8x16_AS_I16(b + i);
    ab = _mm256_add_epi32(ab, _mm256_madd_epi16(x, y));
    aa = _mm256_add_epi32(aa, _mm256_madd_epi16(x, x));
    bb = _mm256_add_epi32(bb, _mm256_madd_epi16(y, y));
  }
  for (; i < n; i++) {
    tab += (int)a[i] * b[i];
    taa += (int)a[i] * a[i];
    tbb += (int)b[i] * b[i];
  }
  return cosineOf((double)(tab + hsum256i(ab)), (double)(taa + hsum256i(aa)),
                  (double)(tbb + hsum256i(bb)));
}

/*
** Hamming: popcnt on 64-bit words (present on every AVX2 CPU).  Bit vectors
** are short (a 1024-dim vector is 16 words), so wider tricks do not pay.
*/
static T_AVX2 float bitHammingPopcnt(const void *pA, const void *pB, int n) {
  const unsigned char *a = pA, *b = pB;
  int nByte = n / 8;
  uint64_t c0 = 0, c1 = 0;
  int i = 0;
  for (; i + 16 <= nByte; i += 16) {
    uint64_t x0, y0, x1, y1;
    memcpy(&x0, a + i, 8);
    memcpy(&y0, b + i, 8);
    memcpy(&x1, a + i + 8, 8);
    memcpy(&y1, b + i + 8, 8);
    c0 += (uint64_t)_mm_popcnt_u64(x0 ^ y0);
    c1 += (uint64_t)_mm_popcnt_u64(x1 ^ y1);
  }
  for (; i + 8 <= nByte; i += 8) {
    uint64_t x, y;
    memcpy(&x, a + i, 8);
    memcpy(&y, b + i, 8);
    c0 += (uint64_t)_mm_popcnt_u64(x ^ y);
  }
  for (; i < nByte; i++) c1 += (uint64_t)_mm_popcnt_u32((unsigned)(a[i] ^ b[i]));
  return (float)(c0 + c1);
}

Vec0DistanceFn vec0DistanceAvx2(Vec0ElemType eType, Vec0Metric eMetric) {
  if (eType == VEC0_ELEM_F32) {
    switch (eMetric) {
      case VEC0_METRIC_L2: return f32L2Avx2;
      case VEC0_METRIC_L2SQ: return f32L2sqAvx2;
      case VEC0_METRIC_COSINE: return f32CosineAvx2;
      case VEC0_METRIC_DOT: return f32DotAvx2;
      case VEC0_METRIC_L1: return f32L1Avx2;
      default: return 0;
    }
  }
  if (eType == VEC0_ELEM_I8) {
    switch (eMetric) {
      case VEC0_METRIC_L2: return i8L2Avx2;
      case VEC0_METRIC_L2SQ: return i8L2sqAvx2;
      case VEC0_METRIC_COSINE: return i8CosineAvx2;
      case VEC0_METRIC_DOT: return i8DotAvx2;
      case VEC0_METRIC_L1: return i8L1Avx2;
      default: return 0;
    }
  }
  if (eType == VEC0_ELEM_BIT && eMetric == VEC0_METRIC_HAMMING) {
    return bitHammingPopcnt;
  }
  return 0;
}

Vec0DistanceBoundFn vec0DistanceBoundAvx2(Vec0ElemType eType, Vec0Metric eMetric) {
  if (eType == VEC0_ELEM_F32 && eMetric == VEC0_METRIC_L2SQ) return f32L2sqBoundAvx2;
  return 0;
}

Vec0DistanceBatchFn vec0DistanceBatchAvx2(Vec0ElemType eType, Vec0Metric eMetric) {
  if (eType == VEC0_ELEM_F32 && eMetric == VEC0_METRIC_L2SQ) return f32L2sqBound4Avx2;
  if (eType == VEC0_ELEM_F32 && eMetric == VEC0_METRIC_COSINE) return f32Cosine4Avx2;
  return 0;
}

void vec0CosineKnownAvx2(Vec0SumSqFn *pxSumSq, Vec0CosineKnownFn *pxCos4) {
  *pxSumSq = f32SumSqAvx2;
  *pxCos4 = f32CosineKnown4Avx2;
}

/* ======================================================================
** AVX-512 (F + BW + VL)
*/

static T_AVX512 __mmask16 mask16(int r) {
  return (__mmask16)((1u << r) - 1u);
}

/* hsum256(low half + high half): the reduction of the canonical order. */
static T_AVX512 float halves512(__m512 v) {
  __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
  return hsum256(_mm256_add_ps(_mm512_castps512_ps256(v), hi));
}

/*
** Squared L2 in the order of f32L2sqBoundAvx2 (its comment): one 16-lane
** accumulator holds the partials p[0..15], and the final sum adds its two
** halves, then reduces them with the same hsum256, so both kernels give
** the same bits.
*/
static T_AVX512 float f32L2sqBound512(const void *pA, const void *pB, int n,
                                      float bound) {
  const float *a = pA, *b = pB;
  __m512 s = _mm512_setzero_ps();
  int i = 0, iCheck = VEC0_BOUND_STRIDE;
  for (; i + 16 <= n; i += 16) {
    __m512 d = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
    s = _mm512_fmadd_ps(d, d, s);
    if (i + 16 == iCheck) {
      float part;
      iCheck += VEC0_BOUND_STRIDE;
      if (bound == INFINITY) continue;
      part = halves512(s);
      if (part > bound) return part;
    }
  }
  if (i < n) {
    __mmask16 m = mask16(n - i);
    __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, a + i),
                             _mm512_maskz_loadu_ps(m, b + i));
    s = _mm512_fmadd_ps(d, d, s);
  }
  return halves512(s);
}

/* Four at once, as f32L2sqBound4Avx2. */
static T_AVX512 void f32L2sqBound4_512(const void *pA, const void *const *apB,
                                       int n, float bound, float *aOut) {
  const float *a = pA, *b0 = apB[0], *b1 = apB[1], *b2 = apB[2], *b3 = apB[3];
  __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  int i = 0, iCheck = VEC0_BOUND_STRIDE;
  for (; i + 16 <= n; i += 16) {
    __m512 q = _mm512_loadu_ps(a + i), d;
    d = _mm512_sub_ps(q, _mm512_loadu_ps(b0 + i));
    s0 = _mm512_fmadd_ps(d, d, s0);
    d = _mm512_sub_ps(q, _mm512_loadu_ps(b1 + i));
    s1 = _mm512_fmadd_ps(d, d, s1);
    d = _mm512_sub_ps(q, _mm512_loadu_ps(b2 + i));
    s2 = _mm512_fmadd_ps(d, d, s2);
    d = _mm512_sub_ps(q, _mm512_loadu_ps(b3 + i));
    s3 = _mm512_fmadd_ps(d, d, s3);
    if (i + 16 == iCheck) {
      iCheck += VEC0_BOUND_STRIDE;
      if (bound == INFINITY) continue;
      aOut[0] = halves512(s0);
      aOut[1] = halves512(s1);
      aOut[2] = halves512(s2);
      aOut[3] = halves512(s3);
      if (aOut[0] > bound && aOut[1] > bound && aOut[2] > bound && aOut[3] > bound) {
        return;
      }
    }
  }
  if (i < n) {
    __mmask16 m = mask16(n - i);
    __m512 q = _mm512_maskz_loadu_ps(m, a + i), d;
    d = _mm512_sub_ps(q, _mm512_maskz_loadu_ps(m, b0 + i));
    s0 = _mm512_fmadd_ps(d, d, s0);
    d = _mm512_sub_ps(q, _mm512_maskz_loadu_ps(m, b1 + i));
    s1 = _mm512_fmadd_ps(d, d, s1);
    d = _mm512_sub_ps(q, _mm512_maskz_loadu_ps(m, b2 + i));
    s2 = _mm512_fmadd_ps(d, d, s2);
    d = _mm512_sub_ps(q, _mm512_maskz_loadu_ps(m, b3 + i));
    s3 = _mm512_fmadd_ps(d, d, s3);
  }
  aOut[0] = halves512(s0);
  aOut[1] = halves512(s1);
  aOut[2] = halves512(s2);
  aOut[3] = halves512(s3);
}

static T_AVX512 float f32L2sq512(const void *pA, const void *pB, int n) {
  return f32L2sqBound512(pA, pB, n, INFINITY);
}

static T_AVX512 float f32L2_512(const void *pA, const void *pB, int n) {
  return sqrtFast(f32L2sq512(pA, pB, n));
}

/*
** Dot, L1 and cosine below add in exactly the order of their AVX2 kernels
** (the canonical order: see each AVX2 kernel), so that both kernel sets give
** the same bits and an HNSW graph built on one is the graph built on the
** other (replicas with different CPUs stay byte-identical, tested by
** tests/cluster/replay.py).  A 16-lane accumulator stands for two of
** AVX2's 8-lane ones, low half first; a pass AVX2 makes into one 8-lane
** accumulator is a masked pass into that half (the other half adds +0).
*/

/* The r (< 8) floats at p into lanes 8..8+r-1 (AVX2's second accumulator). */
static T_AVX512 __m512 loadHigh8(const float *p, int r) {
  return _mm512_maskz_loadu_ps((__mmask16)(((1u << r) - 1u) << 8), p - 8);
}

/* The floats at p into lanes 0..r-1 (r <= 8). */
static T_AVX512 __m512 loadLow8(const float *p, int r) {
  return _mm512_maskz_loadu_ps((__mmask16)((1u << r) - 1u), p);
}

static T_AVX512 float f32Dot512(const void *pA, const void *pB, int n) {
  const float *a = pA, *b = pB;
  __m512 s01 = _mm512_setzero_ps(), s23 = _mm512_setzero_ps();
  int i = 0;
  for (; i + 32 <= n; i += 32) {
    s01 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s01);
    s23 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s23);
  }
  for (; i + 8 <= n; i += 8) {
    s01 = _mm512_fmadd_ps(loadLow8(a + i, 8), loadLow8(b + i, 8), s01);
  }
  if (i < n) {
    s01 = _mm512_fmadd_ps(loadHigh8(a + i, n - i), loadHigh8(b + i, n - i), s01);
  }
  {
    __m256 lo01 = _mm512_castps512_ps256(s01), lo23 = _mm512_castps512_ps256(s23);
    __m256 hi01 = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(s01), 1));
    __m256 hi23 = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(s23), 1));
    return -hsum256(_mm256_add_ps(_mm256_add_ps(lo01, hi01), _mm256_add_ps(lo23, hi23)));
  }
}

static T_AVX512 float f32L1_512(const void *pA, const void *pB, int n) {
  const float *a = pA, *b = pB;
  __m512 s = _mm512_setzero_ps();
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512 d = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
    s = _mm512_add_ps(s, _mm512_abs_ps(d));
  }
  for (; i + 8 <= n; i += 8) {
    __m512 d = _mm512_sub_ps(loadLow8(a + i, 8), loadLow8(b + i, 8));
    s = _mm512_add_ps(s, _mm512_abs_ps(d));
  }
  if (i < n) {
    __m512 d = _mm512_sub_ps(loadHigh8(a + i, n - i), loadHigh8(b + i, n - i));
    s = _mm512_add_ps(s, _mm512_abs_ps(d));
  }
  return halves512(s);
}

static T_AVX512 float f32Cosine512(const void *pA, const void *pB, int n) {
  const float *a = pA, *b = pB;
  __m512 ab = _mm512_setzero_ps(), aa = _mm512_setzero_ps(), bb = _mm512_setzero_ps();
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512 x = _mm512_loadu_ps(a + i), y = _mm512_loadu_ps(b + i);
    ab = _mm512_fmadd_ps(x, y, ab);
    aa = _mm512_fmadd_ps(x, x, aa);
    bb = _mm512_fmadd_ps(y, y, bb);
  }
  for (; i < n; i += 8) {
    /* AVX2 adds the last (partial) passes of 8 into its first accumulator */
    int r = n - i < 8 ? n - i : 8;
    __m512 x = loadLow8(a + i, r), y = loadLow8(b + i, r);
    ab = _mm512_fmadd_ps(x, y, ab);
    aa = _mm512_fmadd_ps(x, x, aa);
    bb = _mm512_fmadd_ps(y, y, bb);
  }
  return cosineF32(halves512(ab), halves512(aa), halves512(bb), pA, pB, n);
}

/*
** Four cosines, each exactly as f32Cosine512 sums it (a's squares once for
** all four: the same sum, so the same bits).  Nine independent chains of
** fused multiply-adds and four vectors read side by side, where one cosine
** at a time waits on three chains and one stream of memory.  With bKnown
** the sums of a's squares and the b's are aa and aBB's (f32SumSq512's, the
** same bits) and not formed: four chains.  Inlined with bKnown a constant.
*/
static inline __attribute__((always_inline)) T_AVX512 void
cosine4_512(const float *a, const void *const *apB, int n, int bKnown, float fKnownA,
            const float *aBB, float *aOut) {
  const float *b0 = apB[0], *b1 = apB[1], *b2 = apB[2], *b3 = apB[3];
  __m512 aa = _mm512_setzero_ps(), ab0 = aa, ab1 = aa, ab2 = aa, ab3 = aa;
  __m512 bb0 = aa, bb1 = aa, bb2 = aa, bb3 = aa;
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512 x = _mm512_loadu_ps(a + i), y;
    if (!bKnown) aa = _mm512_fmadd_ps(x, x, aa);
    y = _mm512_loadu_ps(b0 + i);
    ab0 = _mm512_fmadd_ps(x, y, ab0);
    if (!bKnown) bb0 = _mm512_fmadd_ps(y, y, bb0);
    y = _mm512_loadu_ps(b1 + i);
    ab1 = _mm512_fmadd_ps(x, y, ab1);
    if (!bKnown) bb1 = _mm512_fmadd_ps(y, y, bb1);
    y = _mm512_loadu_ps(b2 + i);
    ab2 = _mm512_fmadd_ps(x, y, ab2);
    if (!bKnown) bb2 = _mm512_fmadd_ps(y, y, bb2);
    y = _mm512_loadu_ps(b3 + i);
    ab3 = _mm512_fmadd_ps(x, y, ab3);
    if (!bKnown) bb3 = _mm512_fmadd_ps(y, y, bb3);
  }
  for (; i < n; i += 8) {
    /* AVX2 adds the last (partial) passes of 8 into lanes 0..7 */
    int r = n - i < 8 ? n - i : 8;
    __m512 x = loadLow8(a + i, r), y;
    if (!bKnown) aa = _mm512_fmadd_ps(x, x, aa);
    y = loadLow8(b0 + i, r);
    ab0 = _mm512_fmadd_ps(x, y, ab0);
    if (!bKnown) bb0 = _mm512_fmadd_ps(y, y, bb0);
    y = loadLow8(b1 + i, r);
    ab1 = _mm512_fmadd_ps(x, y, ab1);
    if (!bKnown) bb1 = _mm512_fmadd_ps(y, y, bb1);
    y = loadLow8(b2 + i, r);
    ab2 = _mm512_fmadd_ps(x, y, ab2);
    if (!bKnown) bb2 = _mm512_fmadd_ps(y, y, bb2);
    y = loadLow8(b3 + i, r);
    ab3 = _mm512_fmadd_ps(x, y, ab3);
    if (!bKnown) bb3 = _mm512_fmadd_ps(y, y, bb3);
  }
  {
    float fa = bKnown ? fKnownA : halves512(aa);
    aOut[0] = cosineF32(halves512(ab0), fa, bKnown ? aBB[0] : halves512(bb0), a, b0, n);
    aOut[1] = cosineF32(halves512(ab1), fa, bKnown ? aBB[1] : halves512(bb1), a, b1, n);
    aOut[2] = cosineF32(halves512(ab2), fa, bKnown ? aBB[2] : halves512(bb2), a, b2, n);
    aOut[3] = cosineF32(halves512(ab3), fa, bKnown ? aBB[3] : halves512(bb3), a, b3, n);
  }
}

/* Four cosines as Vec0DistanceBatchFn: exact (no bound kernel, so no exit). */
static T_AVX512 void f32Cosine4_512(const void *pA, const void *const *apB, int n,
                                    float bound, float *aOut) {
  (void)bound;
  cosine4_512(pA, apB, n, 0, 0.0f, 0, aOut);
}

/* Four cosines given the sums of the squares (Vec0CosineKnownFn). */
static T_AVX512 void f32CosineKnown4_512(const void *pA, float aa, const void *const *apB,
                                         const float *aBB, int n, float *aOut) {
  cosine4_512(pA, apB, n, 1, aa, aBB, aOut);
}

/* The sum of b's squares exactly as f32Cosine512 forms it. */
static T_AVX512 float f32SumSq512(const void *pB, int n) {
  const float *b = pB;
  __m512 s = _mm512_setzero_ps();
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512 y = _mm512_loadu_ps(b + i);
    s = _mm512_fmadd_ps(y, y, s);
  }
  for (; i < n; i += 8) {
    __m512 y = loadLow8(b + i, n - i < 8 ? n - i : 8);
    s = _mm512_fmadd_ps(y, y, s);
  }
  return halves512(s);
}

/* int8: 32 elements at a time widened to int16; the tail by masked load. */
static T_AVX512 __m512i loadI8x32(const int8_t *p, int r) {
  __m256i x;
  if (r >= 32) {
    x = _mm256_loadu_si256((const __m256i *)(const void *)p);
  } else {
    x = _mm256_maskz_loadu_epi8((__mmask32)((1u << r) - 1u), p);
  }
  return _mm512_cvtepi8_epi16(x);
}

static T_AVX512 float i8L2sq512(const void *pA, const void *pB, int n) {
  const int8_t *a = pA, *b = pB;
  __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
  int i = 0;
  for (; i + 64 <= n; i += 64) {
    __m512i d0 = _mm512_sub_epi16(loadI8x32(a + i, 32), loadI8x32(b + i, 32));
    __m512i d1 = _mm512_sub_epi16(loadI8x32(a + i + 32, 32),
                                  loadI8x32(b + i + 32, 32));
    s0 = _mm512_add_epi32(s0, _mm512_madd_epi16(d0, d0));
    s1 = _mm512_add_epi32(s1, _mm512_madd_epi16(d1, d1));
  }
  for (; i < n; i += 32) {
    __m512i d = _mm512_sub_epi16(loadI8x32(a + i, n - i),
                                 loadI8x32(b + i, n - i));
    s0 = _mm512_add_epi32(s0, _mm512_madd_epi16(d, d));
  }
  return (float)_mm512_reduce_add_epi32(_mm512_add_epi32(s0, s1));
}

static T_AVX512 float i8L2_512(const void *pA, const void *pB, int n) {
  return (float)sqrt((double)i8L2sq512(pA, pB, n));
}

static T_AVX512 float i8Dot512(const void *pA, const void *pB, int n) {
  const int8_t *a = pA, *b = pB;
  __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
  int i = 0;
  for (; i + 64 <= n; i += 64) {
    s0 = _mm512_add_epi32(s0, _mm512_madd_epi16(loadI8x32(a + i, 32),
                                                loadI8x32(b + i, 32)));
    s1 = _mm512_add_epi32(s1, _mm512_madd_epi16(loadI8x32(a + i + 32, 32),
                                                loadI8x32(b + i + 32, 32)));
  }
  for (; i < n; i += 32) {
    s0 = _mm512_add_epi32(s0, _mm512_madd_epi16(loadI8x32(a + i, n - i),
                                                loadI8x32(b + i, n - i)));
  }
  return (float)-(int64_t)_mm512_reduce_add_epi32(_mm512_add_epi32(s0, s1));
}

static T_AVX512 float i8L1_512(const void *pA, const void *pB, int n) {
  const int8_t *a = pA, *b = pB;
  const __m512i ones = _mm512_set1_epi16(1);
  __m512i s0 = _mm512_setzero_si512();
  int i = 0;
  for (; i < n; i += 32) {
    __m512i d = _mm512_abs_epi16(_mm512_sub_epi16(loadI8x32(a + i, n - i),
                                                  loadI8x32(b + i, n - i)));
    s0 = _mm512_add_epi32(s0, _mm512_madd_epi16(d, ones));
  }
  return (float)_mm512_reduce_add_epi32(s0);
}

static T_AVX512 float i8Cosine512(const void *pA, const void *pB, int n) {
  const int8_t *a = pA, *b = pB;
  __m512i ab = _mm512_setzero_si512(), aa = _mm512_setzero_si512();
  __m512i bb = _mm512_setzero_si512();
  int i = 0;
  for (; i < n; i += 32) {
    __m512i x = loadI8x32(a + i, n - i), y = loadI8x32(b + i, n - i);
    ab = _mm512_add_epi32(ab, _mm512_madd_epi16(x, y));
    aa = _mm512_add_epi32(aa, _mm512_madd_epi16(x, x));
    bb = _mm512_add_epi32(bb, _mm512_madd_epi16(y, y));
  }
  return cosineOf((double)_mm512_reduce_add_epi32(ab),
                  (double)_mm512_reduce_add_epi32(aa),
                  (double)_mm512_reduce_add_epi32(bb));
}

Vec0DistanceFn vec0DistanceAvx512(Vec0ElemType eType, Vec0Metric eMetric) {
  if (eType == VEC0_ELEM_F32) {
    switch (eMetric) {
      case VEC0_METRIC_L2: return f32L2_512;
      case VEC0_METRIC_L2SQ: return f32L2sq512;
      case VEC0_METRIC_COSINE: return f32Cosine512;
      case VEC0_METRIC_DOT: return f32Dot512;
      case VEC0_METRIC_L1: return f32L1_512;
      default: return 0;
    }
  }
  if (eType == VEC0_ELEM_I8) {
    switch (eMetric) {
      case VEC0_METRIC_L2: return i8L2_512;
      case VEC0_METRIC_L2SQ: return i8L2sq512;
      case VEC0_METRIC_COSINE: return i8Cosine512;
      case VEC0_METRIC_DOT: return i8Dot512;
      case VEC0_METRIC_L1: return i8L1_512;
      default: return 0;
    }
  }
  /* bit: the popcnt kernel of the AVX2 set (the caller falls back to it) */
  return 0;
}

Vec0DistanceBoundFn vec0DistanceBoundAvx512(Vec0ElemType eType, Vec0Metric eMetric) {
  if (eType == VEC0_ELEM_F32 && eMetric == VEC0_METRIC_L2SQ) return f32L2sqBound512;
  return 0;
}

Vec0DistanceBatchFn vec0DistanceBatchAvx512(Vec0ElemType eType, Vec0Metric eMetric) {
  if (eType == VEC0_ELEM_F32 && eMetric == VEC0_METRIC_L2SQ) return f32L2sqBound4_512;
  if (eType == VEC0_ELEM_F32 && eMetric == VEC0_METRIC_COSINE) return f32Cosine4_512;
  return 0;
}

void vec0CosineKnownAvx512(Vec0SumSqFn *pxSumSq, Vec0CosineKnownFn *pxCos4) {
  *pxSumSq = f32SumSq512;
  *pxCos4 = f32CosineKnown4_512;
}

#else
/* Not x86-64: this file compiles to nothing (ISO C wants one declaration). */
typedef int vec0DistanceX86Unused;
#endif
