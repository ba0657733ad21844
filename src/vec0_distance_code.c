/*
** vec0_distance_code.c: the distance kernels of a graph walked on int8 codes
** (hnsw(quantizer=int8), vec0_quant.h), one query against several codes.
**
** A walk compares one query with hundreds of codes, so the query is
** prepared once (Vec0CodeQuery: the code zero-padded to a multiple of 64,
** its absolute values, the code offset by 128 as unsigned bytes, its sum of
** squares) and each code is a record (vec0_vec.h) that carries its own sum
** and sum of squares (vec0CodeFinish) where they fit in its padding.  Then a
** distance is one integer dot product: l2sq = |q|^2 + |b|^2 - 2 q.b,
** dot = -q.b.  A record without them (128, 384 or 768 dimensions: sums
** stored there would take a cache line of their own, the walk's third at 128
** dimensions) has them formed by the kernel from the bytes it reads anyway.
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
** A record without its sums has them formed from the same loads: |b|.|b|
** (vpmaddubsw, vpdpbusd, or b.b by vmull_s8 / sdot) and, for VNNI, sum(b)
** by a vpdpbusd of ones.  At 128 dimensions a neighbour is two lines, not
** three, and a million records take 64 MB less; the walk's speed moved
** within the machine's noise alone (1.13x only with two connections'
** caches in one process, knn_ab), and at 768 it is even (0.99x).
**
** Every sum is an exact integer (|q_i|, |b_i| <= 127: a code never holds
** -128), so every kernel set gives the same value: the walk, hence the
** results, do not depend on the CPU.  The padding of the query is zero, so
** the bytes of a record past nDim (zeros, then its two sums) add nothing.
*/
#include "vec0_vec.h"
#include "vec0_mem.h"

#include <string.h>

#define CODE_ALIGN 64

static size_t codeRoundUp(size_t n) {
  return (n + CODE_ALIGN - 1) / CODE_ALIGN * CODE_ALIGN;
}

size_t vec0CodeSumOffset(int nDim) {
  return ((size_t)nDim + 7) / 8 * 8;
}

int vec0CodeHasSums(int nDim) {
  return vec0CodeSumOffset(nDim) + 8 <= codeRoundUp((size_t)nDim);
}

size_t vec0CodeStride(int nDim) {
  return codeRoundUp((size_t)nDim);
}

size_t vec0CodeStrideMin(int nDim) {
  return vec0CodeHasSums(nDim) ? vec0CodeSumOffset(nDim) + 8 : codeRoundUp((size_t)nDim);
}

static int32_t getI32(const unsigned char *a) {
  int32_t v;
  memcpy(&v, a, 4);
  return v;
}

void vec0CodeFinish(unsigned char *aRec, int nDim, int bSums) {
  size_t nSum = vec0CodeSumOffset(nDim);
  const int8_t *c = (const int8_t *)aRec;
  int32_t sum = 0, sq = 0;
  if (!bSums) {
    memset(aRec + nDim, 0, codeRoundUp((size_t)nDim) - (size_t)nDim);
    return;
  }
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
void vec0CodeQueryInit(Vec0CodeQuery *q, const int8_t *aCode, int nDim, int bDot, int bSums,
                       void *aBuf) {
  size_t nPad = codeRoundUp((size_t)nDim);
  unsigned char *a = aBuf;
  int32_t sq = 0; /* at most 8192 * 127^2 */
  int i = 0;
  q->nDim = nDim;
  q->nPad = (int)nPad;
  q->nSum = vec0CodeSumOffset(nDim);
  q->bDot = bDot;
  q->bSums = bSums;
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

/* The distance from the query's q.b and the record's sum of squares sq. */
static float codeFinal(const Vec0CodeQuery *q, int64_t sq, int64_t dot) {
  if (q->bDot) return (float)-dot;
  return (float)(q->norm + sq - 2 * dot);
}

/* Record b's sum of squares, stored (bSums) or else sq, formed by a kernel. */
static int64_t codeSq(const Vec0CodeQuery *q, const unsigned char *b, int64_t sq) {
  return q->bSums ? (int64_t)getI32(b + q->nSum + 4) : sq;
}

static void codeDistPortable(const Vec0CodeQuery *q, const void *const *apRec, int n,
                             float *aOut) {
  for (int j = 0; j < n; j++) {
    const int8_t *b = apRec[j];
    int64_t dot = 0, sq = 0;
    for (int i = 0; i < q->nDim; i++) dot += (int32_t)q->aQ[i] * b[i];
    if (!q->bSums) {
      for (int i = 0; i < q->nDim; i++) sq += (int32_t)b[i] * b[i];
    }
    aOut[j] = codeFinal(q, codeSq(q, apRec[j], sq), dot);
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

static T_CODE_AVX2 int32_t codeSumAvx2(__m256i s) {
  __m128i h = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
  h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4e));
  h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xb1));
  return _mm_cvtsi128_si32(h);
}

/* q.b; and record b's sum of squares into *pSq unless it carries it. */
static T_CODE_AVX2 int64_t codeDotAvx2(const Vec0CodeQuery *q, const int8_t *b,
                                       int64_t *pSq) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256(), r = s0;
  if (!q->bSums) {
    /* |b|.|b| by vpmaddubsw: a pair adds at most 2 * 127 * 127 */
    for (int i = 0; i < q->nPad; i += 32) {
      __m256i c = _mm256_abs_epi8(_mm256_loadu_si256((const __m256i *)(const void *)(b + i)));
      r = _mm256_add_epi32(r, _mm256_madd_epi16(_mm256_maddubs_epi16(c, c), ones));
    }
    *pSq = codeSumAvx2(r);
  }
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
  return codeSumAvx2(_mm256_add_epi32(s0, s1));
}

/*
** Every line of records [j, j + 4) of apRec[0..n-1] on its way to the
** cache: the codes, and any sums after them, which the kernels then read
** (records whose sums lie beyond nPad are only the descent's, UPPER).
*/
static inline __attribute__((always_inline)) void
codePrefetch(const Vec0CodeQuery *q, const void *const *apRec, int j, int n) {
  size_t nEnd = q->bSums && q->nSum + 8 > (size_t)q->nPad ? q->nSum + 8 : (size_t)q->nPad;
  for (int e = j + 4 < n ? j + 4 : n; j < e; j++) {
    for (size_t i = 0; i < nEnd; i += 64) {
      VEC0_PREFETCH((const char *)apRec[j] + i);
    }
  }
}

static T_CODE_AVX2 void codeDistAvx2(const Vec0CodeQuery *q, const void *const *apRec,
                                     int n, float *aOut) {
  codePrefetch(q, apRec, 0, n);
  for (int j = 0; j < n; j++) {
    int64_t sq = 0, dot;
    if ((j & 3) == 0) codePrefetch(q, apRec, j + 4, n);
    dot = codeDotAvx2(q, apRec[j], &sq);
    aOut[j] = codeFinal(q, codeSq(q, apRec[j], sq), dot);
  }
}

Vec0CodeDistFn vec0CodeDistAvx2(void) {
  return codeDistAvx2;
}

/*
** One 64-byte part v of a record into its (q + 128).b sum s and, for a
** record without its sums, into the sum of b (t: vpdpbusd by ones) and of
** b * b (r: |b| as unsigned by |b| as signed, both at most 127).
*/
static T_CODE_VNNI inline __attribute__((always_inline)) void
codeStepVnni(int bSums, __m512i u, const int8_t *b, int i, __m512i *s, __m512i *t, __m512i *r) {
  __m512i v = _mm512_loadu_si512((const void *)(b + i));
  *s = _mm512_dpbusd_epi32(*s, u, v);
  if (!bSums) {
    __m512i a = _mm512_abs_epi8(v);
    *t = _mm512_dpbusd_epi32(*t, _mm512_set1_epi8(1), v);
    *r = _mm512_dpbusd_epi32(*r, a, a);
  }
}

/* The distance of a record from its sums of codeStepVnni. */
static T_CODE_VNNI inline __attribute__((always_inline)) float
codeOutVnni(const Vec0CodeQuery *q, int bSums, const unsigned char *b, __m512i s, __m512i t,
            __m512i r) {
  int64_t dot = _mm512_reduce_add_epi32(s);
  if (bSums) return codeFinal(q, getI32(b + q->nSum + 4), dot - 128 * (int64_t)getI32(b + q->nSum));
  return codeFinal(q, _mm512_reduce_add_epi32(r), dot - 128 * (int64_t)_mm512_reduce_add_epi32(t));
}

/* Four records side by side, so four streams of reads are in flight; bSums
** a constant where it is inlined. */
static T_CODE_VNNI inline __attribute__((always_inline)) void
codeDistVnniAs(const Vec0CodeQuery *q, const void *const *apRec, int n, float *aOut,
               int bSums) {
  int j = 0;
  codePrefetch(q, apRec, 0, n);
  for (; j + 4 <= n; j += 4) {
    const int8_t *b0 = apRec[j], *b1 = apRec[j + 1], *b2 = apRec[j + 2], *b3 = apRec[j + 3];
    __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;
    __m512i t0 = s0, t1 = s0, t2 = s0, t3 = s0, r0 = s0, r1 = s0, r2 = s0, r3 = s0;
    codePrefetch(q, apRec, j + 4, n);
    for (int i = 0; i < q->nPad; i += 64) {
      __m512i u = _mm512_load_si512((const void *)(q->aU + i));
      codeStepVnni(bSums, u, b0, i, &s0, &t0, &r0);
      codeStepVnni(bSums, u, b1, i, &s1, &t1, &r1);
      codeStepVnni(bSums, u, b2, i, &s2, &t2, &r2);
      codeStepVnni(bSums, u, b3, i, &s3, &t3, &r3);
    }
    aOut[j] = codeOutVnni(q, bSums, apRec[j], s0, t0, r0);
    aOut[j + 1] = codeOutVnni(q, bSums, apRec[j + 1], s1, t1, r1);
    aOut[j + 2] = codeOutVnni(q, bSums, apRec[j + 2], s2, t2, r2);
    aOut[j + 3] = codeOutVnni(q, bSums, apRec[j + 3], s3, t3, r3);
  }
  for (; j < n; j++) {
    __m512i s = _mm512_setzero_si512(), t = s, r = s;
    for (int i = 0; i < q->nPad; i += 64) {
      codeStepVnni(bSums, _mm512_load_si512((const void *)(q->aU + i)), apRec[j], i, &s, &t, &r);
    }
    aOut[j] = codeOutVnni(q, bSums, apRec[j], s, t, r);
  }
}

static T_CODE_VNNI void codeDistVnni(const Vec0CodeQuery *q, const void *const *apRec,
                                     int n, float *aOut) {
  if (q->bSums) {
    codeDistVnniAs(q, apRec, n, aOut, 1);
  } else {
    codeDistVnniAs(q, apRec, n, aOut, 0);
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
static int64_t codeDotNeon(const Vec0CodeQuery *q, const int8_t *b, int64_t *pSq) {
  int32x4_t s = vdupq_n_s32(0), r = s;
  for (int i = 0; i < q->nPad; i += 16) {
    int8x16_t a = vld1q_s8(q->aQ + i), c = vld1q_s8(b + i);
    int16x8_t p = vmull_s8(vget_low_s8(a), vget_low_s8(c));
    p = vmlal_high_s8(p, a, c);
    s = vpadalq_s16(s, p);
    if (!q->bSums) {
      p = vmull_s8(vget_low_s8(c), vget_low_s8(c));
      r = vpadalq_s16(r, vmlal_high_s8(p, c, c));
    }
  }
  *pSq = vaddvq_s32(r);
  return vaddvq_s32(s);
}

static void codeDistNeon(const Vec0CodeQuery *q, const void *const *apRec, int n,
                         float *aOut) {
  for (int j = 0; j < n; j++) {
    int64_t sq, dot = codeDotNeon(q, apRec[j], &sq);
    aOut[j] = codeFinal(q, codeSq(q, apRec[j], sq), dot);
  }
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
    int32x4_t r0 = s0, r1 = s0, r2 = s0, r3 = s0;
    for (int i = 0; i < q->nPad; i += 16) {
      int8x16_t a = vld1q_s8(q->aQ + i);
      int8x16_t c0 = vld1q_s8(b0 + i), c1 = vld1q_s8(b1 + i), c2 = vld1q_s8(b2 + i),
                c3 = vld1q_s8(b3 + i);
      s0 = vdotq_s32(s0, a, c0);
      s1 = vdotq_s32(s1, a, c1);
      s2 = vdotq_s32(s2, a, c2);
      s3 = vdotq_s32(s3, a, c3);
      if (!q->bSums) {
        r0 = vdotq_s32(r0, c0, c0);
        r1 = vdotq_s32(r1, c1, c1);
        r2 = vdotq_s32(r2, c2, c2);
        r3 = vdotq_s32(r3, c3, c3);
      }
    }
    aOut[j] = codeFinal(q, codeSq(q, apRec[j], vaddvq_s32(r0)), vaddvq_s32(s0));
    aOut[j + 1] = codeFinal(q, codeSq(q, apRec[j + 1], vaddvq_s32(r1)), vaddvq_s32(s1));
    aOut[j + 2] = codeFinal(q, codeSq(q, apRec[j + 2], vaddvq_s32(r2)), vaddvq_s32(s2));
    aOut[j + 3] = codeFinal(q, codeSq(q, apRec[j + 3], vaddvq_s32(r3)), vaddvq_s32(s3));
  }
  for (; j < n; j++) {
    const int8_t *b = apRec[j];
    int32x4_t s = vdupq_n_s32(0), r = s;
    for (int i = 0; i < q->nPad; i += 16) {
      int8x16_t c = vld1q_s8(b + i);
      s = vdotq_s32(s, vld1q_s8(q->aQ + i), c);
      if (!q->bSums) r = vdotq_s32(r, c, c);
    }
    aOut[j] = codeFinal(q, codeSq(q, apRec[j], vaddvq_s32(r)), vaddvq_s32(s));
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
