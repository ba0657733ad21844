/*
** vec0_distance_code.c: the distance kernels of a graph walked on int8 codes
** (hnsw(quantizer=int8), vec0_quant.h), one query against several codes.
**
** A walk compares one query with hundreds of codes, so the query is
** prepared once (Vec0CodeQuery: the code zero-padded to a multiple of 64,
** its absolute values, the code offset by 128 as unsigned bytes, its sum of
** squares) and each code is a record (vec0_vec.h) that carries its own sum
** and sum of squares (vec0CodeFinish).  Then a distance is one
** integer dot product: l2sq = |q|^2 + |b|^2 - 2 q.b, dot = -q.b.
**
**   portable  q.b in C, over the nDim bytes.
**   AVX2      vpmaddubsw on |q| and b carrying q's sign (vpsignb): the pair
**             sums are at most 2 * 127 * 127, so nothing saturates; then
**             vpmaddwd by ones into int32 lanes.
**   AVX-512   VNNI vpdpbusd, 64 bytes per instruction, on q + 128 (unsigned)
**   VNNI      and b (signed): (q + 128).b = q.b + 128 * sum(b), corrected
**             with the record's sum.  Four codes side by side, so four
**             streams of memory reads are in flight.
**   NEON      vmull_s8 / vmlal_high_s8 into int16, vpadalq_s16 into int32.
**   sdot      AArch64 with the dot-product extension (checked at run time,
**             HWCAP_ASIMDDP): sdot, four records side by side like VNNI.
**
** Every sum is an exact integer (|q_i|, |b_i| <= 127: a code never holds
** -128), so every kernel set gives the same value: the walk, hence the
** results, do not depend on the CPU.  The padding of the query is zero, so
** the bytes of a record past nDim (zeros, then its two sums) add nothing.
*/
#include "vec0_vec.h"

#include <string.h>

#define CODE_ALIGN 64

static size_t codeRoundUp(size_t n) {
  return (n + CODE_ALIGN - 1) / CODE_ALIGN * CODE_ALIGN;
}

size_t vec0CodeStride(int nDim) {
  return codeRoundUp((size_t)nDim + 8);
}

size_t vec0CodeSumOffset(int nDim) {
  return ((size_t)nDim + 7) / 8 * 8;
}

size_t vec0CodeStrideMin(int nDim) {
  return vec0CodeSumOffset(nDim) + 8;
}

static int32_t getI32(const unsigned char *a) {
  int32_t v;
  memcpy(&v, a, 4);
  return v;
}

void vec0CodeFinish(unsigned char *aRec, int nDim) {
  size_t nSum = vec0CodeSumOffset(nDim);
  const int8_t *c = (const int8_t *)aRec;
  int32_t sum = 0, sq = 0;
  for (int i = 0; i < nDim; i++) {
    sum += c[i];
    sq += (int32_t)c[i] * c[i];
  }
  memset(aRec + nDim, 0, nSum - (size_t)nDim);
  memcpy(aRec + nSum, &sum, 4);
  memcpy(aRec + nSum + 4, &sq, 4);
}

size_t vec0CodeQueryBytes(int nDim) {
  return 3 * codeRoundUp((size_t)nDim);
}

/*
** Sixteen codes at a time where the compiler has vector types: the same
** integers as the scalar loop (a query's preparation was 2 % of a short
** int8 query one byte at a time).
*/
#if defined(__GNUC__) || defined(__clang__)
typedef int8_t CodeI8x16 __attribute__((vector_size(16)));
#endif
void vec0CodeQueryInit(Vec0CodeQuery *q, const int8_t *aCode, int nDim, int bDot,
                       void *aBuf) {
  size_t nPad = codeRoundUp((size_t)nDim);
  unsigned char *a = aBuf;
  int32_t sq = 0; /* at most 8192 * 127^2 */
  int i = 0;
  q->nDim = nDim;
  q->nPad = (int)nPad;
  q->nSum = vec0CodeSumOffset(nDim);
  q->bDot = bDot;
  q->aQ = (int8_t *)(void *)a;
  q->aAbs = a + nPad;
  q->aU = a + 2 * nPad;
#if defined(__GNUC__) || defined(__clang__)
  for (; i + 16 <= nDim; i += 16) {
    const CodeI8x16 k128 = {-128, -128, -128, -128, -128, -128, -128, -128,
                            -128, -128, -128, -128, -128, -128, -128, -128};
    CodeI8x16 v, m, x;
    memcpy(&v, aCode + i, 16);
    v -= v < -127; /* -128 (never a code) as -127 */
    m = v < 0;     /* -1 where negative */
    memcpy(q->aQ + i, &v, 16);
    x = (v ^ m) - m;
    memcpy(q->aAbs + i, &x, 16);
    x = v ^ k128; /* v + 128 as a byte */
    memcpy(q->aU + i, &x, 16);
  }
#endif
  for (; i < nDim; i++) {
    int v = aCode[i] < -127 ? -127 : aCode[i];
    q->aQ[i] = (int8_t)v;
    q->aAbs[i] = (uint8_t)(v < 0 ? -v : v);
    q->aU[i] = (uint8_t)(v + 128);
  }
  for (i = 0; i < nDim; i++) sq += (int32_t)q->aAbs[i] * q->aAbs[i];
  memset(q->aQ + nDim, 0, nPad - (size_t)nDim);
  memset(q->aAbs + nDim, 0, nPad - (size_t)nDim);
  memset(q->aU + nDim, 0, nPad - (size_t)nDim);
  q->norm = sq;
}

/* The distance from the query's q.b and record b's sums. */
static float codeFinal(const Vec0CodeQuery *q, const unsigned char *b, int64_t dot) {
  if (q->bDot) return (float)-dot;
  return (float)(q->norm + (int64_t)getI32(b + q->nSum + 4) - 2 * dot);
}

static void codeDistPortable(const Vec0CodeQuery *q, const void *const *apRec, int n,
                             float *aOut) {
  for (int j = 0; j < n; j++) {
    const int8_t *b = apRec[j];
    int64_t dot = 0;
    for (int i = 0; i < q->nDim; i++) dot += (int32_t)q->aQ[i] * b[i];
    aOut[j] = codeFinal(q, apRec[j], dot);
  }
}

Vec0CodeDistFn vec0CodeDistPortable(void) {
  return codeDistPortable;
}

#if defined(VEC0_HAVE_X86)
#include <immintrin.h>

#define T_CODE_AVX2 __attribute__((target("avx2,fma,popcnt")))
#define T_CODE_VNNI \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,popcnt")))

static T_CODE_AVX2 int64_t codeDotAvx2(const Vec0CodeQuery *q, const int8_t *b) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
  __m128i h;
  for (int i = 0; i < q->nPad; i += 64) {
    __m256i a0 = _mm256_load_si256((const __m256i *)(const void *)(q->aAbs + i));
    __m256i a1 = _mm256_load_si256((const __m256i *)(const void *)(q->aAbs + i + 32));
    __m256i g0 = _mm256_load_si256((const __m256i *)(const void *)(q->aQ + i));
    __m256i g1 = _mm256_load_si256((const __m256i *)(const void *)(q->aQ + i + 32));
    __m256i b0 = _mm256_loadu_si256((const __m256i *)(const void *)(b + i));
    __m256i b1 = _mm256_loadu_si256((const __m256i *)(const void *)(b + i + 32));
    __m256i p0 = _mm256_maddubs_epi16(a0, _mm256_sign_epi8(b0, g0));
    __m256i p1 = _mm256_maddubs_epi16(a1, _mm256_sign_epi8(b1, g1));
    s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(p0, ones));
    s1 = _mm256_add_epi32(s1, _mm256_madd_epi16(p1, ones));
  }
  s0 = _mm256_add_epi32(s0, s1);
  h = _mm_add_epi32(_mm256_castsi256_si128(s0), _mm256_extracti128_si256(s0, 1));
  h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4e));
  h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xb1));
  return _mm_cvtsi128_si32(h);
}

/*
** Every line of records [j, j + 4) of apRec[0..n-1] on its way to the
** cache: the codes, and the sums after them, which codeFinal() and
** codeDotOf() read.  When the dimensions are a multiple of 64 (128, 384,
** 768) the sums start a line of their own beyond the codes' nPad bytes.
*/
static void codePrefetch(const Vec0CodeQuery *q, const void *const *apRec, int j, int n) {
  size_t nEnd = q->nSum + 8 > (size_t)q->nPad ? q->nSum + 8 : (size_t)q->nPad;
  for (int e = j + 4 < n ? j + 4 : n; j < e; j++) {
    for (size_t i = 0; i < nEnd; i += 64) {
      __builtin_prefetch((const char *)apRec[j] + i);
    }
  }
}

static T_CODE_AVX2 void codeDistAvx2(const Vec0CodeQuery *q, const void *const *apRec,
                                     int n, float *aOut) {
  codePrefetch(q, apRec, 0, n);
  for (int j = 0; j < n; j++) {
    if ((j & 3) == 0) codePrefetch(q, apRec, j + 4, n);
    aOut[j] = codeFinal(q, apRec[j], codeDotAvx2(q, apRec[j]));
  }
}

Vec0CodeDistFn vec0CodeDistAvx2(void) {
  return codeDistAvx2;
}

/* q.b from (q + 128).b and the record's sum of b. */
static int64_t codeDotOf(const Vec0CodeQuery *q, const unsigned char *b, int64_t dotU) {
  return dotU - 128 * (int64_t)getI32(b + q->nSum);
}

static T_CODE_VNNI void codeDistVnni(const Vec0CodeQuery *q, const void *const *apRec,
                                     int n, float *aOut) {
  int j = 0;
  codePrefetch(q, apRec, 0, n);
  for (; j + 4 <= n; j += 4) {
    const int8_t *b0 = apRec[j], *b1 = apRec[j + 1], *b2 = apRec[j + 2], *b3 = apRec[j + 3];
    __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;
    codePrefetch(q, apRec, j + 4, n);
    for (int i = 0; i < q->nPad; i += 64) {
      __m512i u = _mm512_load_si512((const void *)(q->aU + i));
      s0 = _mm512_dpbusd_epi32(s0, u, _mm512_loadu_si512((const void *)(b0 + i)));
      s1 = _mm512_dpbusd_epi32(s1, u, _mm512_loadu_si512((const void *)(b1 + i)));
      s2 = _mm512_dpbusd_epi32(s2, u, _mm512_loadu_si512((const void *)(b2 + i)));
      s3 = _mm512_dpbusd_epi32(s3, u, _mm512_loadu_si512((const void *)(b3 + i)));
    }
    aOut[j] = codeFinal(q, apRec[j], codeDotOf(q, apRec[j], _mm512_reduce_add_epi32(s0)));
    aOut[j + 1] = codeFinal(q, apRec[j + 1],
                            codeDotOf(q, apRec[j + 1], _mm512_reduce_add_epi32(s1)));
    aOut[j + 2] = codeFinal(q, apRec[j + 2],
                            codeDotOf(q, apRec[j + 2], _mm512_reduce_add_epi32(s2)));
    aOut[j + 3] = codeFinal(q, apRec[j + 3],
                            codeDotOf(q, apRec[j + 3], _mm512_reduce_add_epi32(s3)));
  }
  for (; j < n; j++) {
    const int8_t *b = apRec[j];
    __m512i s = _mm512_setzero_si512();
    for (int i = 0; i < q->nPad; i += 64) {
      s = _mm512_dpbusd_epi32(s, _mm512_load_si512((const void *)(q->aU + i)),
                              _mm512_loadu_si512((const void *)(b + i)));
    }
    aOut[j] = codeFinal(q, apRec[j], codeDotOf(q, apRec[j], _mm512_reduce_add_epi32(s)));
  }
}

/* NULL unless the CPU has VNNI (the caller then takes the AVX2 kernel). */
Vec0CodeDistFn vec0CodeDistAvx512(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512vnni") ? codeDistVnni : 0;
}
#endif /* VEC0_HAVE_X86 */

#if defined(VEC0_HAVE_NEON)
#include <arm_neon.h>
#if defined(__linux__) && !defined(__ARM_FEATURE_DOTPROD)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#endif

/*
** NEON without the dot-product extension: vmull_s8 / vmlal_high_s8 add two
** products into an int16 lane (at most 2 * 127 * 127, no overflow), then
** vpadalq_s16 widens the pairs into int32 lanes.
*/
static int64_t codeDotNeon(const Vec0CodeQuery *q, const int8_t *b) {
  int32x4_t s = vdupq_n_s32(0);
  for (int i = 0; i < q->nPad; i += 16) {
    int8x16_t a = vld1q_s8(q->aQ + i), c = vld1q_s8(b + i);
    int16x8_t p = vmull_s8(vget_low_s8(a), vget_low_s8(c));
    p = vmlal_high_s8(p, a, c);
    s = vpadalq_s16(s, p);
  }
  return vaddvq_s32(s);
}

static void codeDistNeon(const Vec0CodeQuery *q, const void *const *apRec, int n,
                         float *aOut) {
  for (int j = 0; j < n; j++) aOut[j] = codeFinal(q, apRec[j], codeDotNeon(q, apRec[j]));
}

/*
** The dot-product extension (ARMv8.2 FEAT_DotProd, HWCAP_ASIMDDP): sdot adds
** four int8 products into each int32 lane; four records side by side, as
** the VNNI kernel does, so four streams of loads are in flight.  The sums
** stay exact: a lane adds at most nPad / 4 products of 127 * 127.  GCC
** compiles it for any AArch64 target (a function attribute); clang 14
** declares vdotq_s32 only when the whole file targets dotprod
** (-march=armv8.2-a+dotprod or later), so without that it is left out.
*/
#if defined(__ARM_FEATURE_DOTPROD)
#define VEC0_HAVE_SDOT 1
#define T_CODE_DOTPROD
#elif !defined(__clang__)
#define VEC0_HAVE_SDOT 1
#define T_CODE_DOTPROD __attribute__((target("arch=armv8.2-a+dotprod")))
#endif
#if defined(VEC0_HAVE_SDOT)
static T_CODE_DOTPROD void codeDistSdot(const Vec0CodeQuery *q, const void *const *apRec,
                                        int n, float *aOut) {
  int j = 0;
  for (; j + 4 <= n; j += 4) {
    const int8_t *b0 = apRec[j], *b1 = apRec[j + 1], *b2 = apRec[j + 2], *b3 = apRec[j + 3];
    int32x4_t s0 = vdupq_n_s32(0), s1 = s0, s2 = s0, s3 = s0;
    for (int i = 0; i < q->nPad; i += 16) {
      int8x16_t a = vld1q_s8(q->aQ + i);
      s0 = vdotq_s32(s0, a, vld1q_s8(b0 + i));
      s1 = vdotq_s32(s1, a, vld1q_s8(b1 + i));
      s2 = vdotq_s32(s2, a, vld1q_s8(b2 + i));
      s3 = vdotq_s32(s3, a, vld1q_s8(b3 + i));
    }
    aOut[j] = codeFinal(q, apRec[j], vaddvq_s32(s0));
    aOut[j + 1] = codeFinal(q, apRec[j + 1], vaddvq_s32(s1));
    aOut[j + 2] = codeFinal(q, apRec[j + 2], vaddvq_s32(s2));
    aOut[j + 3] = codeFinal(q, apRec[j + 3], vaddvq_s32(s3));
  }
  for (; j < n; j++) {
    const int8_t *b = apRec[j];
    int32x4_t s = vdupq_n_s32(0);
    for (int i = 0; i < q->nPad; i += 16) s = vdotq_s32(s, vld1q_s8(q->aQ + i), vld1q_s8(b + i));
    aOut[j] = codeFinal(q, apRec[j], vaddvq_s32(s));
  }
}

#endif /* VEC0_HAVE_SDOT */

int vec0CodeHasSdot(void) {
#if !defined(VEC0_HAVE_SDOT)
  return 0;
#elif defined(__ARM_FEATURE_DOTPROD)
  return 1;
#elif defined(__linux__)
  return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#else
  return 0;
#endif
}

Vec0CodeDistFn vec0CodeDistNeon(void) {
  return codeDistNeon;
}

/* NULL unless the CPU has the dot-product extension. */
Vec0CodeDistFn vec0CodeDistSdot(void) {
#if defined(VEC0_HAVE_SDOT)
  return vec0CodeHasSdot() ? codeDistSdot : 0;
#else
  return 0;
#endif
}
#endif /* VEC0_HAVE_NEON */
