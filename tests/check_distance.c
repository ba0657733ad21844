/*
** check_distance.c: unit tests of the distance kernels (vec0_distance*.c).
** Every kernel vec0DistanceFn() hands out is compared with the portable C
** kernel on random data at many lengths (odd ones included, so every tail
** path runs), and a few small cases are checked against hand-computed values.
** On x86-64 the AVX2 set is checked as well as the chosen one, because on an
** AVX-512 machine it would otherwise never run.  Only the kernels' own
** header is included: the kernels know nothing of SQLite.
*/
#include "vec0_vec.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const int aLen[] = {1,   2,   3,   4,   5,   6,   7,   8,   9,   10,
                           11,  12,  13,  14,  15,  16,  17,  18,  19,  20,
                           21,  22,  23,  24,  25,  26,  27,  28,  29,  30,
                           31,  32,  33,  34,  35,  36,  37,  38,  39,  40,
                           41,  42,  43,  44,  45,  46,  47,  48,  49,  50,
                           51,  52,  53,  54,  55,  56,  57,  58,  59,  60,
                           61,  62,  63,  64,  65,  66,  67,  68,  69,  70,
                           95,  96,  97,  127, 128, 129, 255, 256, 257, 511,
                           784, 1023, 1024, 1025, 1536, 4095, 8192};
#define N_LEN ((int)(sizeof(aLen) / sizeof(aLen[0])))

static const Vec0Metric aNumMetric[] = {VEC0_METRIC_L2, VEC0_METRIC_L2SQ,
                                        VEC0_METRIC_COSINE, VEC0_METRIC_DOT,
                                        VEC0_METRIC_L1};

/* A small deterministic generator, so a failure reproduces. */
static uint64_t rngState = 88172645463325252ull;
static uint64_t rng(void) {
  rngState ^= rngState << 13;
  rngState ^= rngState >> 7;
  rngState ^= rngState << 17;
  return rngState;
}
static float rngFloat(void) { /* in [-1, 1) */
  return (float)((double)(rng() >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

/*
** |x - ref| within 1e-5 relative to a scale.  For sums of positive terms the
** scale is the result itself; for dot and cosine, whose sums cancel, it is
** the sum of the magnitudes of the terms (relative error of the terms).
*/
static int close(double x, double ref, double scale) {
  double tol = 1e-5 * (fabs(scale) > fabs(ref) ? fabs(scale) : fabs(ref));
  if (tol < 1e-30) tol = 1e-30;
  return fabs(x - ref) <= tol;
}

/* The scale for the comparison: sum |a_i b_i| for dot, 1 for cosine. */
static double scaleOf(Vec0Metric m, const float *a, const float *b, int n) {
  double s = 0;
  int i;
  if (m == VEC0_METRIC_COSINE) return 1.0;
  if (m != VEC0_METRIC_DOT) return 0.0;
  for (i = 0; i < n; i++) s += fabs((double)a[i] * b[i]);
  return s;
}

/*
** The kernel sets under test: the chosen one and, on x86-64, the AVX2 set too
** when the CPU has AVX-512 (so it would not be chosen and otherwise untested).
** A getter returning NULL means "not available here".
*/
#if defined(VEC0_HAVE_X86)
static Vec0DistanceFn getAvx2(Vec0ElemType eType, Vec0Metric eMetric) {
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
    return 0;
  }
  return vec0DistanceAvx2(eType, eMetric);
}
#else
static Vec0DistanceFn getAvx2(Vec0ElemType eType, Vec0Metric eMetric) {
  return 0;
}
#endif
typedef Vec0DistanceFn (*GetFn)(Vec0ElemType, Vec0Metric);
static const GetFn aGet[] = {vec0DistanceFn, getAvx2};

#if defined(VEC0_HAVE_X86)
static Vec0DistanceBoundFn getBoundAvx2(Vec0ElemType eType, Vec0Metric eMetric) {
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
    return 0;
  }
  return vec0DistanceBoundAvx2(eType, eMetric);
}
#else
static Vec0DistanceBoundFn getBoundAvx2(Vec0ElemType eType, Vec0Metric eMetric) {
  return 0;
}
#endif
typedef Vec0DistanceBoundFn (*GetBoundFn)(Vec0ElemType, Vec0Metric);
static const GetBoundFn aGetBound[] = {vec0DistanceBoundFn, getBoundAvx2,
                                       vec0DistanceBoundPortable};
static const GetFn aGetPlain[] = {vec0DistanceFn, getAvx2, vec0DistancePortable};

/* Buffers placed at an odd offset so unaligned loads are exercised too. */
static unsigned char *bufA, *bufB;
static void setup(void) {
  bufA = malloc(8192 * 4 + 64);
  bufB = malloc(8192 * 4 + 64);
}
static void teardown(void) {
  free(bufA);
  free(bufB);
}

START_TEST(test_impl_name) {
  const char *z;
  vec0DistanceInit();
  vec0DistanceInit();
  z = vec0DistanceImpl();
  ck_assert(strcmp(z, "avx512") == 0 || strcmp(z, "avx2") == 0 ||
            strcmp(z, "neon") == 0 || strcmp(z, "portable") == 0);
  ck_assert_str_eq(vec0MetricName(VEC0_METRIC_L2), "l2");
  ck_assert_str_eq(vec0MetricName(VEC0_METRIC_L2SQ), "l2sq");
  ck_assert_str_eq(vec0MetricName(VEC0_METRIC_COSINE), "cosine");
  ck_assert_str_eq(vec0MetricName(VEC0_METRIC_DOT), "dot");
  ck_assert_str_eq(vec0MetricName(VEC0_METRIC_L1), "l1");
  ck_assert_str_eq(vec0MetricName(VEC0_METRIC_HAMMING), "hamming");
}
END_TEST

START_TEST(test_defined_pairs) {
  size_t m;
  for (m = 0; m < sizeof(aNumMetric) / sizeof(aNumMetric[0]); m++) {
    ck_assert_ptr_nonnull(vec0DistanceFn(VEC0_ELEM_F32, aNumMetric[m]));
    ck_assert_ptr_nonnull(vec0DistanceFn(VEC0_ELEM_I8, aNumMetric[m]));
    ck_assert_ptr_null(vec0DistanceFn(VEC0_ELEM_BIT, aNumMetric[m]));
    ck_assert_ptr_null(vec0DistancePortable(VEC0_ELEM_BIT, aNumMetric[m]));
  }
  ck_assert_ptr_nonnull(vec0DistanceFn(VEC0_ELEM_BIT, VEC0_METRIC_HAMMING));
  ck_assert_ptr_null(vec0DistanceFn(VEC0_ELEM_F32, VEC0_METRIC_HAMMING));
  ck_assert_ptr_null(vec0DistanceFn(VEC0_ELEM_I8, VEC0_METRIC_HAMMING));
}
END_TEST

/* _i: bit 0 the kernel set (aGet), the rest the offset inside the buffers. */
START_TEST(test_f32_random) {
  size_t m;
  int l, i, rep;
  float *a = (float *)(void *)(bufA + 4 * (_i >> 1));
  float *b = (float *)(void *)(bufB + 4 * (_i >> 1));
  for (m = 0; m < sizeof(aNumMetric) / sizeof(aNumMetric[0]); m++) {
    Vec0DistanceFn x = aGet[_i & 1](VEC0_ELEM_F32, aNumMetric[m]);
    Vec0DistanceFn ref = vec0DistancePortable(VEC0_ELEM_F32, aNumMetric[m]);
    for (l = 0; l < N_LEN; l++) {
      int n = aLen[l];
      for (rep = 0; rep < 3; rep++) {
        double vx, vr;
        for (i = 0; i < n; i++) {
          a[i] = rngFloat() * (rep == 2 ? 1000.0f : 1.0f);
          b[i] = rngFloat();
        }
        if (x == 0) return; /* this kernel set is not available here */
        vx = x(a, b, n);
        vr = ref(a, b, n);
        ck_assert_msg(close(vx, vr, scaleOf(aNumMetric[m], a, b, n)),
                      "f32 %s n=%d: %.9g vs portable %.9g",
                      vec0MetricName(aNumMetric[m]), n, vx, vr);
      }
    }
  }
}
END_TEST

/* int8 sums are exact integers in every kernel: equal, not just close. */
START_TEST(test_i8_random) {
  size_t m;
  int l, i, rep;
  int8_t *a = (int8_t *)(bufA + (_i >> 1));
  int8_t *b = (int8_t *)(bufB + (_i >> 1));
  for (m = 0; m < sizeof(aNumMetric) / sizeof(aNumMetric[0]); m++) {
    Vec0DistanceFn x = aGet[_i & 1](VEC0_ELEM_I8, aNumMetric[m]);
    Vec0DistanceFn ref = vec0DistancePortable(VEC0_ELEM_I8, aNumMetric[m]);
    for (l = 0; l < N_LEN; l++) {
      int n = aLen[l];
      for (rep = 0; rep < 3; rep++) {
        double vx, vr;
        for (i = 0; i < n; i++) {
          /* rep 2: the extremes, to catch int16 overflow in the widening */
          if (rep == 2) {
            a[i] = (rng() & 1) ? 127 : -128;
            b[i] = (rng() & 1) ? 127 : -128;
          } else {
            a[i] = (int8_t)(rng() & 0xff);
            b[i] = (int8_t)(rng() & 0xff);
          }
        }
        if (x == 0) return; /* this kernel set is not available here */
        vx = x(a, b, n);
        vr = ref(a, b, n);
        ck_assert_msg(close(vx, vr, aNumMetric[m] == VEC0_METRIC_COSINE),
                      "int8 %s n=%d: %.9g vs portable %.9g",
                      vec0MetricName(aNumMetric[m]), n, vx, vr);
      }
    }
  }
}
END_TEST

START_TEST(test_bit_random) {
  int nByte, i;
  Vec0DistanceFn x = aGet[_i & 1](VEC0_ELEM_BIT, VEC0_METRIC_HAMMING);
  Vec0DistanceFn ref = vec0DistancePortable(VEC0_ELEM_BIT, VEC0_METRIC_HAMMING);
  unsigned char *a = bufA + (_i >> 1), *b = bufB + (_i >> 1);
  if (x == 0) return;
  for (nByte = 1; nByte <= 1024; nByte += (nByte < 70 ? 1 : 37)) {
    int cnt = 0;
    for (i = 0; i < nByte; i++) {
      a[i] = (unsigned char)rng();
      b[i] = (unsigned char)rng();
      cnt += __builtin_popcount((unsigned)(a[i] ^ b[i]));
    }
    ck_assert_int_eq((int)ref(a, b, nByte * 8), cnt);
    ck_assert_int_eq((int)x(a, b, nByte * 8), cnt);
  }
}
END_TEST

/* Hand-computed values, for the chosen and the portable kernels alike. */
static void knownF32(Vec0DistanceFn (*get)(Vec0ElemType, Vec0Metric)) {
  static const float a[] = {1, 2, 3, 4, 5};
  static const float b[] = {2, 0, 3, 8, 5};
  static const float z[] = {0, 0, 0, 0, 0};
  static const float c[] = {-1, -2, -3, -4, -5};
  /* diffs -1, 2, 0, -4, 0: squares 1+4+16 = 21; |.| 7; dot 2+0+9+32+25 */
  ck_assert_float_eq(get(VEC0_ELEM_F32, VEC0_METRIC_L2SQ)(a, b, 5), 21.0f);
  ck_assert_float_eq_tol(get(VEC0_ELEM_F32, VEC0_METRIC_L2)(a, b, 5),
                         sqrtf(21.0f), 1e-6);
  ck_assert_float_eq(get(VEC0_ELEM_F32, VEC0_METRIC_L1)(a, b, 5), 7.0f);
  ck_assert_float_eq(get(VEC0_ELEM_F32, VEC0_METRIC_DOT)(a, b, 5), -68.0f);
  ck_assert_float_eq_tol(get(VEC0_ELEM_F32, VEC0_METRIC_COSINE)(a, a, 5), 0.0f,
                         1e-6);
  ck_assert_float_eq_tol(get(VEC0_ELEM_F32, VEC0_METRIC_COSINE)(a, c, 5), 2.0f,
                         1e-6);
  ck_assert_float_eq_tol(get(VEC0_ELEM_F32, VEC0_METRIC_COSINE)(a, b, 5),
                         1.0 - 68.0 / (sqrt(55.0) * sqrt(102.0)), 1e-6);
  /* a zero vector: defined as 1 (orthogonal), never NaN */
  ck_assert_float_eq(get(VEC0_ELEM_F32, VEC0_METRIC_COSINE)(a, z, 5), 1.0f);
  ck_assert_float_eq(get(VEC0_ELEM_F32, VEC0_METRIC_COSINE)(z, z, 5), 1.0f);
  ck_assert_float_eq(get(VEC0_ELEM_F32, VEC0_METRIC_L2)(a, a, 5), 0.0f);
  ck_assert_float_eq(get(VEC0_ELEM_F32, VEC0_METRIC_L2)(a, b, 1), 1.0f);
}

static void knownI8(Vec0DistanceFn (*get)(Vec0ElemType, Vec0Metric)) {
  static const int8_t a[] = {-128, 127, 3};
  static const int8_t b[] = {127, -128, 3};
  static const int8_t z[] = {0, 0, 0};
  ck_assert_float_eq(get(VEC0_ELEM_I8, VEC0_METRIC_L2SQ)(a, b, 3), 130050.0f);
  ck_assert_float_eq(get(VEC0_ELEM_I8, VEC0_METRIC_L1)(a, b, 3), 510.0f);
  ck_assert_float_eq(get(VEC0_ELEM_I8, VEC0_METRIC_DOT)(a, b, 3),
                     -(-16256.0f - 16256.0f + 9.0f));
  ck_assert_float_eq_tol(get(VEC0_ELEM_I8, VEC0_METRIC_L2)(a, b, 3),
                         sqrt(130050.0), 1e-3);
  ck_assert_float_eq_tol(get(VEC0_ELEM_I8, VEC0_METRIC_COSINE)(a, b, 3),
                         1.0 - (-32503.0) / 32522.0, 1e-6);
  ck_assert_float_eq(get(VEC0_ELEM_I8, VEC0_METRIC_COSINE)(a, z, 3), 1.0f);
}

static void knownBit(Vec0DistanceFn (*get)(Vec0ElemType, Vec0Metric)) {
  static const unsigned char a[] = {0xF0, 0xFF, 0x00, 0x01, 0, 0, 0, 0, 0xAA};
  static const unsigned char b[] = {0x0F, 0xFF, 0x00, 0x00, 0, 0, 0, 0, 0x55};
  Vec0DistanceFn x = get(VEC0_ELEM_BIT, VEC0_METRIC_HAMMING);
  ck_assert_float_eq(x(a, b, 8), 8.0f);
  ck_assert_float_eq(x(a, b, 16), 8.0f);
  ck_assert_float_eq(x(a, b, 32), 9.0f);
  ck_assert_float_eq(x(a, b, 72), 17.0f);
  ck_assert_float_eq(x(a, a, 72), 0.0f);
}

START_TEST(test_known_values) {
  size_t k;
  for (k = 0; k < sizeof(aGet) / sizeof(aGet[0]); k++) {
    if (aGet[k](VEC0_ELEM_F32, VEC0_METRIC_L2) == 0) continue;
    knownF32(aGet[k]);
    knownI8(aGet[k]);
    knownBit(aGet[k]);
  }
  knownF32(vec0DistancePortable);
  knownI8(vec0DistancePortable);
  knownBit(vec0DistancePortable);
}
END_TEST

/*
** Tiny and huge magnitudes: the squares underflow to 0 or overflow to
** infinity in float32, yet the cosine is well defined (2 here, opposite
** vectors) and must not come out as 1 or NaN.
*/
START_TEST(test_extreme_f32) {
  static const float aMag[] = {1e-30f, 1e-20f, 1e20f, 1e30f, 3e38f};
  float a[37], b[37];
  size_t k, g;
  int i;
  for (k = 0; k < sizeof(aMag) / sizeof(aMag[0]); k++) {
    for (i = 0; i < 37; i++) {
      a[i] = aMag[k];
      b[i] = -aMag[k];
    }
    for (g = 0; g < sizeof(aGet) / sizeof(aGet[0]); g++) {
      Vec0DistanceFn x = aGet[g](VEC0_ELEM_F32, VEC0_METRIC_COSINE);
      if (x == 0) continue;
      ck_assert_float_eq_tol(x(a, b, 37), 2.0f, 1e-6);
    }
    ck_assert_float_eq_tol(
        vec0DistancePortable(VEC0_ELEM_F32, VEC0_METRIC_COSINE)(a, b, 37),
        2.0f, 1e-6);
  }
}
END_TEST

/*
** The early-exit kernels (_i: the kernel set of aGetBound): with a bound at
** or above the distance they return exactly what the plain kernel of their
** set returns; below it, a value above the bound.  Only l2sq has one.
*/
START_TEST(test_f32_bound) {
  float *a = (float *)(void *)(bufA + 4);
  float *b = (float *)(void *)(bufB + 4);
  Vec0DistanceBoundFn xb = aGetBound[_i](VEC0_ELEM_F32, VEC0_METRIC_L2SQ);
  Vec0DistanceFn x = aGetPlain[_i](VEC0_ELEM_F32, VEC0_METRIC_L2SQ);
  int l, i, rep;
  ck_assert_ptr_null(vec0DistanceBoundFn(VEC0_ELEM_F32, VEC0_METRIC_COSINE));
  ck_assert_ptr_null(vec0DistanceBoundFn(VEC0_ELEM_F32, VEC0_METRIC_DOT));
  if (xb == 0 || x == 0) return; /* this kernel set is not available here */
  for (l = 0; l < N_LEN; l++) {
    int n = aLen[l];
    for (rep = 0; rep < 4; rep++) {
      float d, bounds[5];
      int j;
      for (i = 0; i < n; i++) {
        a[i] = rngFloat();
        b[i] = rngFloat() * (rep == 3 ? 100.0f : 1.0f);
      }
      d = x(a, b, n);
      bounds[0] = d;
      bounds[1] = d * 1.5f + 1.0f;
      bounds[2] = INFINITY;
      bounds[3] = d * 0.5f;
      bounds[4] = 0.0f;
      for (j = 0; j < 5; j++) {
        float got = xb(a, b, n, bounds[j]);
        if (bounds[j] >= d) {
          ck_assert_msg(got == d, "n=%d bound=%g: %.9g, plain kernel %.9g", n,
                        bounds[j], got, d);
        } else {
          ck_assert_msg(got > bounds[j], "n=%d bound=%g: %.9g is not above it (%.9g)",
                        n, bounds[j], got, d);
        }
      }
    }
  }
}
END_TEST

/*
** The four-at-once kernels: each result equals the single early-exit
** kernel's (bit for bit when it is <= bound), an exit only above bound.
** And the AVX-512 kernels sum in the AVX2 order: the same bits, so the
** graph a machine builds does not depend on which set it has.
*/
START_TEST(test_f32_batch) {
  float *q = (float *)(void *)(bufA + 4);
  float *v = malloc(sizeof(float) * 8192 * 4 + 16);
  Vec0DistanceBatchFn xb = vec0DistanceBatchFn(VEC0_ELEM_F32, VEC0_METRIC_L2SQ);
  Vec0DistanceBoundFn x1 = vec0DistanceBoundFn(VEC0_ELEM_F32, VEC0_METRIC_L2SQ);
  int l, i, rep;
  ck_assert_ptr_null(vec0DistanceBatchFn(VEC0_ELEM_F32, VEC0_METRIC_DOT));
  if (xb == 0) {
    free(v);
    return; /* no batch kernel in this set */
  }
  for (l = 0; l < N_LEN; l++) {
    int n = aLen[l];
    for (rep = 0; rep < 3; rep++) {
      const void *ap[4];
      float aOut[4], aRef[4], bound;
      int j;
      for (i = 0; i < n; i++) q[i] = rngFloat();
      for (j = 0; j < 4; j++) {
        float *b = v + 1 + (size_t)j * 8192;
        for (i = 0; i < n; i++) b[i] = rngFloat() * (float)(j + 1);
        ap[j] = b;
        aRef[j] = x1(q, b, n, INFINITY);
      }
      /* no bound, a bound between them, a bound below all of them */
      for (int t = 0; t < 3; t++) {
        bound = t == 0 ? INFINITY : t == 1 ? aRef[1] : 0.0f;
        xb(q, ap, n, bound, aOut);
        for (j = 0; j < 4; j++) {
          if (aRef[j] <= bound) {
            ck_assert_msg(aOut[j] == aRef[j], "n=%d j=%d: %.9g vs %.9g", n, j,
                          aOut[j], aRef[j]);
          } else {
            ck_assert_msg(aOut[j] > bound, "n=%d j=%d: %.9g not above %.9g", n, j,
                          aOut[j], bound);
          }
        }
      }
#if defined(VEC0_HAVE_X86)
      __builtin_cpu_init();
      if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
          __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx2") &&
          __builtin_cpu_supports("fma")) {
        float a2[4], a5[4];
        vec0DistanceBatchAvx2(VEC0_ELEM_F32, VEC0_METRIC_L2SQ)(q, ap, n, INFINITY, a2);
        vec0DistanceBatchAvx512(VEC0_ELEM_F32, VEC0_METRIC_L2SQ)(q, ap, n, INFINITY, a5);
        ck_assert_mem_eq(a2, a5, sizeof(a2));
        ck_assert(vec0DistanceBoundAvx512(VEC0_ELEM_F32, VEC0_METRIC_L2SQ)(
                      q, ap[0], n, INFINITY) ==
                  vec0DistanceBoundAvx2(VEC0_ELEM_F32, VEC0_METRIC_L2SQ)(
                      q, ap[0], n, INFINITY));
      }
#endif
    }
  }
  free(v);
}
END_TEST

/*
** The four-at-once cosine (no bound kernel: four exact values): each result
** bit for bit the plain kernel's, in the AVX2 and the AVX-512 set, at every
** length and alignment, also for a zero vector and one whose squares
** overflow (the portable fallback of cosineF32).  The HNSW walk takes it for
** the plain kernel: a different last bit would change a graph.  So too the
** four cosines given the vectors' sums of squares (each set's xSumSq).
*/
START_TEST(test_f32_cosine_batch) {
#if defined(VEC0_HAVE_X86)
  Vec0DistanceBatchFn axb[2];
  Vec0DistanceFn ax1[2];
  Vec0SumSqFn axs[2];
  Vec0CosineKnownFn axk[2];
  float *v = malloc(sizeof(float) * 5 * 4200);
  int nSet = 0;
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    axb[nSet] = vec0DistanceBatchAvx2(VEC0_ELEM_F32, VEC0_METRIC_COSINE);
    vec0CosineKnownAvx2(&axs[nSet], &axk[nSet]);
    ax1[nSet++] = vec0DistanceAvx2(VEC0_ELEM_F32, VEC0_METRIC_COSINE);
  }
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx2") &&
      __builtin_cpu_supports("fma")) {
    axb[nSet] = vec0DistanceBatchAvx512(VEC0_ELEM_F32, VEC0_METRIC_COSINE);
    vec0CosineKnownAvx512(&axs[nSet], &axk[nSet]);
    ax1[nSet++] = vec0DistanceAvx512(VEC0_ELEM_F32, VEC0_METRIC_COSINE);
  }
  for (int n = 1; n <= 4100; n += n < 300 ? 1 : 97) {
    for (int off = 0; off < 3; off++) {
      const void *ap[4];
      float *q = v + off;
      for (int i = 0; i < n; i++) q[i] = rngFloat() * 3.0f - 1.0f;
      for (int j = 0; j < 4; j++) {
        float *b = v + (size_t)(j + 1) * 4200 + off;
        for (int i = 0; i < n; i++) {
          b[i] = j == 1 && n % 7 == 0 ? 0.0f                     /* a zero vector */
                 : j == 2 && n % 11 == 0 ? 3e19f * rngFloat()    /* squares overflow */
                                         : rngFloat() * 0.7f + (float)((i + j) % 5) - 2.0f;
        }
        ap[j] = b;
      }
      for (int k = 0; k < nSet; k++) {
        float aOut[4], aKnown[4], aBB[4];
        ck_assert_ptr_nonnull(axb[k]);
        axb[k](q, ap, n, 0.0f, aOut);
        for (int j = 0; j < 4; j++) aBB[j] = axs[k](ap[j], n);
        axk[k](q, axs[k](q, n), ap, aBB, n, aKnown);
        for (int j = 0; j < 4; j++) {
          float x1 = ax1[k](q, ap[j], n);
          ck_assert_msg(memcmp(&x1, &aOut[j], sizeof(float)) == 0,
                        "set %d n=%d off=%d j=%d: batch %.9g, plain %.9g", k, n, off, j,
                        aOut[j], x1);
          ck_assert_msg(memcmp(&x1, &aKnown[j], sizeof(float)) == 0,
                        "set %d n=%d off=%d j=%d: with sums %.9g, plain %.9g", k, n, off, j,
                        aKnown[j], x1);
        }
        /* both sets sum the squares alike */
        for (int j = 0; k > 0 && j < 4; j++) {
          float s0 = axs[0](ap[j], n), s1 = axs[k](ap[j], n);
          ck_assert_msg(memcmp(&s0, &s1, sizeof(float)) == 0, "n=%d j=%d: sums differ", n, j);
        }
      }
    }
  }
  free(v);
#endif
}
END_TEST

/*
** Every float32 kernel of the AVX-512 set gives the bits of its AVX2 kernel,
** at every length and alignment: an HNSW graph (its links depend on which
** neighbour is nearer, down to the last bit) must be the same whichever
** set a replica's CPU has.  Failed for dot, cosine and l1 before they were
** made to add in AVX2's order (tests/cluster/replay.py found cosine graphs
** that differed between the sets).
*/
START_TEST(test_f32_sets_agree) {
#if defined(VEC0_HAVE_X86)
  static const Vec0Metric aMetric[] = {VEC0_METRIC_L2SQ, VEC0_METRIC_L2, VEC0_METRIC_DOT,
                                       VEC0_METRIC_COSINE, VEC0_METRIC_L1};
  float *a = malloc(sizeof(float) * 4200), *b = malloc(sizeof(float) * 4200);
  __builtin_cpu_init();
  if (!(__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx2") &&
        __builtin_cpu_supports("fma"))) {
    free(a);
    free(b);
    return; /* nothing to compare on this CPU */
  }
  for (int n = 1; n <= 4100; n += n < 300 ? 1 : 97) {
    for (int off = 0; off < 3; off++) {
      for (int i = 0; i < n; i++) {
        a[off + i] = rngFloat() * 3.0f;
        b[off + i] = rngFloat() * 0.7f + (float)(i % 5);
      }
      for (size_t m = 0; m < sizeof(aMetric) / sizeof(aMetric[0]); m++) {
        float x2 = vec0DistanceAvx2(VEC0_ELEM_F32, aMetric[m])(a + off, b + off, n);
        float x5 = vec0DistanceAvx512(VEC0_ELEM_F32, aMetric[m])(a + off, b + off, n);
        ck_assert_msg(memcmp(&x2, &x5, sizeof(float)) == 0 || (x2 == 0 && x5 == 0),
                      "metric %d n=%d off=%d: avx2 %.9g avx512 %.9g", (int)aMetric[m], n,
                      off, x2, x5);
      }
    }
  }
  free(a);
  free(b);
#endif
}
END_TEST

int main(void) {
  Suite *s = suite_create("distance");
  TCase *tc = tcase_create("kernels");
  SRunner *sr;
  int nFail;
  tcase_set_timeout(tc, 60);
  tcase_add_unchecked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_impl_name);
  tcase_add_test(tc, test_defined_pairs);
  tcase_add_loop_test(tc, test_f32_random, 0, 4);
  tcase_add_loop_test(tc, test_i8_random, 0, 8);
  tcase_add_loop_test(tc, test_bit_random, 0, 8);
  tcase_add_test(tc, test_known_values);
  tcase_add_test(tc, test_extreme_f32);
  tcase_add_loop_test(tc, test_f32_bound, 0, 3);
  tcase_add_test(tc, test_f32_batch);
  tcase_add_test(tc, test_f32_cosine_batch);
  tcase_add_test(tc, test_f32_sets_agree);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  nFail = srunner_ntests_failed(sr);
  srunner_free(sr);
  return nFail == 0 ? 0 : 1;
}
