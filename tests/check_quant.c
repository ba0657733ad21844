/*
** check_quant.c: unit tests of the quantizers (src/vec0_quant.c): what the
** codes keep of the distances, determinism, and the saved parameters.
*/
#include "vec0_quant.h"
#include "vec0Int.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rngState = 1;
static double rnd(void) { /* xorshift64*, in [0, 1) */
  rngState ^= rngState >> 12;
  rngState ^= rngState << 25;
  rngState ^= rngState >> 27;
  return (double)((rngState * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

/* n vectors of dim floats around a few centres, with a spread per dimension. */
static float *clustered(int n, int dim, uint64_t seed) {
  float *a = malloc(sizeof(float) * (size_t)n * dim);
  float c[8][512];
  rngState = seed;
  for (int k = 0; k < 8; k++) {
    for (int i = 0; i < dim; i++) c[k][i] = (float)(rnd() * 4 - 2);
  }
  for (int s = 0; s < n; s++) {
    int k = (int)(rnd() * 8);
    for (int i = 0; i < dim; i++) {
      a[(size_t)s * dim + i] = c[k][i] + (float)((rnd() - 0.5) * (0.5 + i % 5));
    }
  }
  return a;
}

static double l2sq(const float *a, const float *b, int n) {
  double s = 0;
  for (int i = 0; i < n; i++) s += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
  return s;
}

/*
** The share of the true 10 nearest (float l2sq) among the kc nearest by
** code distance: what a re-rank of kc candidates can recover.
*/
static double codeRecall(int eKind, int eMetric, int dim, int kc) {
  const int n = 2000, nq = 20, k = 10;
  float *base = clustered(n, dim, 11), *qs = clustered(nq, dim, 12);
  Vec0Quant q;
  size_t nb;
  unsigned char *codes, *qc;
  Vec0DistanceFn xCode;
  int hits = 0;
  ck_assert_int_eq(vec0QuantTrain(&q, eKind, eMetric, dim, base, n, malloc, free), 0);
  nb = vec0QuantCodeBytes(&q);
  codes = malloc(nb * n);
  qc = malloc(nb);
  for (int s = 0; s < n; s++) vec0QuantEncode(&q, base + (size_t)s * dim, codes + nb * s);
  vec0DistanceInit();
  xCode = eKind == VEC0_QUANT_BIT ? vec0DistanceFn(VEC0_ELEM_BIT, VEC0_METRIC_HAMMING)
                                  : vec0DistanceFn(VEC0_ELEM_I8, VEC0_METRIC_L2SQ);
  for (int t = 0; t < nq; t++) {
    const float *x = qs + (size_t)t * dim;
    double best[10];
    int bestId[10], cand[200];
    float cd[200];
    for (int j = 0; j < k; j++) best[j] = INFINITY, bestId[j] = -1;
    for (int j = 0; j < kc; j++) cd[j] = INFINITY, cand[j] = -1;
    vec0QuantEncode(&q, x, qc);
    for (int s = 0; s < n; s++) {
      double d = l2sq(x, base + (size_t)s * dim, dim);
      float c = xCode(qc, codes + nb * s, eKind == VEC0_QUANT_BIT ? dim : dim);
      for (int j = 0; j < k; j++) {
        if (d < best[j]) {
          memmove(&best[j + 1], &best[j], sizeof(double) * (k - 1 - j));
          memmove(&bestId[j + 1], &bestId[j], sizeof(int) * (k - 1 - j));
          best[j] = d, bestId[j] = s;
          break;
        }
      }
      for (int j = 0; j < kc; j++) {
        if (c < cd[j]) {
          memmove(&cd[j + 1], &cd[j], sizeof(float) * (kc - 1 - j));
          memmove(&cand[j + 1], &cand[j], sizeof(int) * (kc - 1 - j));
          cd[j] = c, cand[j] = s;
          break;
        }
      }
    }
    for (int a = 0; a < k; a++) {
      for (int b = 0; b < kc; b++) hits += bestId[a] == cand[b];
    }
  }
  vec0QuantClear(&q);
  free(base), free(qs), free(codes), free(qc);
  return hits / (double)(nq * k);
}

START_TEST(test_int8_keeps_neighbours) {
  /* One global scale over clustered data: the code ranking alone finds most
  ** true neighbours (the graph then re-ranks with float32). */
  ck_assert_double_ge(codeRecall(VEC0_QUANT_INT8, VEC0_QUANT_L2, 64, 10), 0.9);
  ck_assert_double_ge(codeRecall(VEC0_QUANT_INT8, VEC0_QUANT_L2, 64, 40), 0.99);
}
END_TEST

START_TEST(test_bit_keeps_some_neighbours) {
  /* Bits are for high dimensions; even there a re-rank needs many
  ** candidates (the index's rescore factor). */
  ck_assert_double_ge(codeRecall(VEC0_QUANT_BIT, VEC0_QUANT_L2, 512, 10), 0.08);
  ck_assert_double_ge(codeRecall(VEC0_QUANT_BIT, VEC0_QUANT_L2, 512, 100), 0.3);
}
END_TEST

START_TEST(test_int8_distance_scale) {
  /* l2sq of codes times scale^2 is the l2sq of the floats, up to rounding. */
  const int dim = 64;
  float *a = clustered(200, dim, 3);
  Vec0Quant q;
  int8_t ca[64], cb[64];
  ck_assert_int_eq(vec0QuantTrain(&q, VEC0_QUANT_INT8, VEC0_QUANT_L2, dim, a, 200, malloc, free), 0);
  ck_assert(q.scale > 0);
  for (int s = 1; s < 200; s++) {
    double d = l2sq(a, a + (size_t)s * dim, dim), c = 0;
    vec0QuantEncode(&q, a, ca);
    vec0QuantEncode(&q, a + (size_t)s * dim, cb);
    for (int i = 0; i < dim; i++) c += (double)(ca[i] - cb[i]) * (ca[i] - cb[i]);
    c *= (double)q.scale * q.scale;
    ck_assert_double_le(fabs(c - d), 0.02 * d + dim * q.scale * q.scale * 2);
  }
  vec0QuantClear(&q);
  free(a);
}
END_TEST

START_TEST(test_train_is_deterministic_and_saved) {
  const int dim = 16;
  float *a = clustered(500, dim, 5);
  for (int eKind = VEC0_QUANT_INT8; eKind <= VEC0_QUANT_BIT; eKind++) {
    for (int eMetric = VEC0_QUANT_L2; eMetric <= VEC0_QUANT_DOT; eMetric++) {
      Vec0Quant q1, q2, q3;
      unsigned char s1[20 + 4 * 16], s2[20 + 4 * 16], c1[16], c3[16];
      ck_assert_int_eq(vec0QuantTrain(&q1, eKind, eMetric, dim, a, 500, malloc, free), 0);
      ck_assert_int_eq(vec0QuantTrain(&q2, eKind, eMetric, dim, a, 500, malloc, free), 0);
      ck_assert_uint_le(vec0QuantSaveBytes(&q1), sizeof(s1));
      vec0QuantSave(&q1, s1);
      vec0QuantSave(&q2, s2);
      ck_assert_int_eq(memcmp(s1, s2, vec0QuantSaveBytes(&q1)), 0);
      /* Load gives a quantizer that encodes the same bytes. */
      ck_assert_int_eq(vec0QuantLoad(&q3, dim, s1, vec0QuantSaveBytes(&q1), malloc, free), 0);
      vec0QuantEncode(&q1, a + 7 * dim, c1);
      vec0QuantEncode(&q3, a + 7 * dim, c3);
      ck_assert_int_eq(memcmp(c1, c3, vec0QuantCodeBytes(&q1)), 0);
      /* Damaged parameters are refused, not used. */
      vec0QuantClear(&q2);
      ck_assert_int_eq(vec0QuantLoad(&q2, dim + 1, s1, vec0QuantSaveBytes(&q1), malloc, free), 267);
      ck_assert_int_eq(vec0QuantLoad(&q2, dim, s1, vec0QuantSaveBytes(&q1) - 1, malloc, free), 267);
      s1[16] = s1[17] = s1[18] = s1[19] = 0; /* scale 0 */
      ck_assert_int_eq(vec0QuantLoad(&q2, dim, s1, vec0QuantSaveBytes(&q1), malloc, free), 267);
      vec0QuantClear(&q1);
      vec0QuantClear(&q3);
      vec0QuantClear(&q2);
    }
  }
  free(a);
}
END_TEST

START_TEST(test_empty_sample_and_extremes) {
  Vec0Quant q;
  float x[4] = {1e30f, -1e30f, 0.0f, 0.5f};
  int8_t c[4];
  ck_assert_int_eq(vec0QuantTrain(&q, VEC0_QUANT_INT8, VEC0_QUANT_L2, 4, 0, 0, malloc, free), 0);
  vec0QuantEncode(&q, x, c);
  ck_assert_int_eq(c[0], 127);
  ck_assert_int_eq(c[1], -127);
  ck_assert_int_eq(c[2], 0);
  vec0QuantClear(&q);
  /* A zero vector under cosine encodes as zeros, not NaN garbage. */
  ck_assert_int_eq(vec0QuantTrain(&q, VEC0_QUANT_INT8, VEC0_QUANT_COSINE, 4, x, 1, malloc, free), 0);
  x[0] = x[1] = x[2] = x[3] = 0;
  vec0QuantEncode(&q, x, c);
  ck_assert_int_eq(c[0] | c[1] | c[2] | c[3], 0);
  vec0QuantClear(&q);
}
END_TEST

/*
** The code kernels (vec0_distance_code.c): every kernel set this CPU has
** gives exactly the integer l2sq / minus dot of the codes, for every length
** (tails, one 64-byte chunk, VEC0_MAX_DIMS) and every batch size (groups of
** four and the rest), codes at the extremes -127 and 127 included.
*/
static int64_t refCode(const int8_t *a, const int8_t *b, int n, int bDot) {
  int64_t s = 0;
  for (int i = 0; i < n; i++) {
    s += bDot ? (int64_t)a[i] * b[i] : ((int64_t)a[i] - b[i]) * ((int64_t)a[i] - b[i]);
  }
  return bDot ? -s : s;
}

START_TEST(test_code_kernels_agree) {
  static const int aDim[] = {1, 7, 60, 63, 64, 65, 120, 128, 300, 768, 784, 1000, VEC0_MAX_DIMS};
  Vec0CodeDistFn aFn[3];
  int nFn = 0;
  aFn[nFn++] = vec0CodeDistPortable();
#if defined(VEC0_HAVE_X86)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    aFn[nFn++] = vec0CodeDistAvx2();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && vec0CodeDistAvx512()) {
      aFn[nFn++] = vec0CodeDistAvx512();
    }
  }
#elif defined(VEC0_HAVE_NEON)
  aFn[nFn++] = vec0CodeDistNeon();
  if (vec0CodeDistSdot()) aFn[nFn++] = vec0CodeDistSdot();
#endif
  ck_assert_ptr_nonnull(vec0CodeDistFn());
  rngState = 99;
  /* records 64-aligned, then packed (vec0CodeStrideMin: the low-memory
  ** walk's), both with sums where the column's have them; then with sums at
  ** any length (the descent's UPPER records) */
  for (size_t t = 0; t < 3 * sizeof(aDim) / sizeof(aDim[0]); t++) {
    int n = aDim[t / 3], nRec = 9, bSums = t % 3 == 2 || vec0CodeHasSums(n);
    size_t nStride = t % 3 == 0   ? vec0CodeStride(n)
                     : t % 3 == 1 ? vec0CodeStrideMin(n)
                                  : (vec0CodeSumOffset(n) + 8 + 63) / 64 * 64;
    size_t nAll = nStride * (size_t)nRec + 128 + vec0CodeQueryBytes(n) + 64;
    unsigned char *aMem = calloc(1, nAll);
    unsigned char *aRec = aMem + ((64 - ((uintptr_t)aMem & 63)) & 63);
    unsigned char *aQBuf = aRec + (nStride * (size_t)nRec + 64 + 63) / 64 * 64;
    int8_t *qc = malloc((size_t)n);
    const void *apRec[9];
    ck_assert_int_eq((int)(vec0CodeStride(n) % 64), 0);
    ck_assert(nStride >= (bSums ? vec0CodeSumOffset(n) + 8 : (size_t)n));
    ck_assert(t % 3 == 2 || nStride <= vec0CodeStride(n));
    for (int i = 0; i < n; i++) {
      int r = (int)(rnd() * 255) - 127;
      qc[i] = (int8_t)(i % 11 == 0 ? 127 : i % 13 == 0 ? -127 : r);
    }
    for (int j = 0; j < nRec; j++) {
      int8_t *c = (int8_t *)(aRec + nStride * (size_t)j);
      for (int i = 0; i < n; i++) {
        int r = (int)(rnd() * 255) - 127;
        c[i] = (int8_t)(j == 0 ? -qc[i] : j == 1 ? qc[i] : i % 7 == 0 ? -127 : r);
      }
      vec0CodeFinish(aRec + nStride * (size_t)j, n, bSums);
      apRec[j] = aRec + nStride * (size_t)j;
    }
    for (int bDot = 0; bDot <= 1; bDot++) {
      Vec0CodeQuery q;
      vec0CodeQueryInit(&q, qc, n, bDot, bSums, aQBuf);
      for (int f = 0; f < nFn; f++) {
        for (int nb = 1; nb <= nRec; nb++) {
          float aOut[9];
          aFn[f](&q, apRec, nb, aOut);
          for (int j = 0; j < nb; j++) {
            float want = (float)refCode(qc, apRec[j], n, bDot);
            ck_assert_msg(memcmp(&aOut[j], &want, 4) == 0,
                          "set %d n=%d dot=%d batch %d rec %d: %.9g, want %.9g", f, n, bDot,
                          nb, j, aOut[j], want);
          }
        }
      }
    }
    free(qc);
    free(aMem);
  }
}
END_TEST

/* The encoder's rounding is nearbyintf's (ties to even), clamped to -127..127. */
START_TEST(test_int8_rounding) {
  Vec0Quant q;
  float x[12] = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 126.5f, 127.4f, 300.0f, -300.0f,
                 -126.5f, 0.49999997f, 3.7f};
  int8_t c[12];
  static const int8_t want[12] = {0, 2, 2, 0, -2, 126, 127, 127, -127, -126, 0, 4};
  memset(&q, 0, sizeof(q));
  q.eKind = VEC0_QUANT_INT8;
  q.eMetric = VEC0_QUANT_L2;
  q.nDim = 12;
  q.mid = 0;
  q.scale = 1;
  vec0QuantEncode(&q, x, c);
  for (int i = 0; i < 12; i++) {
    ck_assert_msg(c[i] == want[i], "x=%.9g: code %d, want %d", x[i], c[i], want[i]);
  }
}
END_TEST

/*
** The encoder works four lanes at a time where the compiler has vector
** types: its codes must be the scalar formula's, bit for bit, at every
** length (the tail included), for l2 and cosine, at the clamps and ties.
*/
static int8_t refRound(float t) {
  t = t > 127 ? 127 : t < -127 ? -127 : t;
  return (int8_t)nearbyintf(t);
}

START_TEST(test_int8_encode_matches_scalar) {
  static const int aDim[] = {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 300, 768, 784};
  rngState = 7;
  for (size_t t = 0; t < sizeof(aDim) / sizeof(aDim[0]); t++) {
    int n = aDim[t];
    float *x = malloc(sizeof(float) * (size_t)n);
    int8_t *c = malloc((size_t)n), *want = malloc((size_t)n);
    for (int eMetric = VEC0_QUANT_L2; eMetric <= VEC0_QUANT_COSINE; eMetric++) {
      for (int rep = 0; rep < 20; rep++) {
        Vec0Quant q;
        double s = 0;
        memset(&q, 0, sizeof(q));
        q.eKind = VEC0_QUANT_INT8;
        q.eMetric = eMetric;
        q.nDim = n;
        q.mid = eMetric == VEC0_QUANT_L2 ? (float)(rnd() - 0.5) : 0;
        q.scale = rep == 0 ? 1 : (float)(0.001 + rnd() * 0.05);
        for (int i = 0; i < n; i++) {
          /* ties and clamps when the scale is 1, spread values otherwise */
          x[i] = rep == 0 ? (float)((int)(rnd() * 600) - 300) / 2 : (float)(rnd() * 8 - 4);
        }
        if (eMetric == VEC0_QUANT_COSINE) {
          for (int i = 0; i < n; i++) s += (double)x[i] * x[i];
          s = s > 0 ? 1.0 / sqrt(s) : 0;
        }
        for (int i = 0; i < n; i++) {
          float v = eMetric == VEC0_QUANT_COSINE ? (float)(x[i] * s) : x[i];
          want[i] = refRound((v - q.mid) / q.scale);
        }
        vec0QuantEncode(&q, x, c);
        for (int i = 0; i < n; i++) {
          ck_assert_msg(c[i] == want[i], "n=%d metric %d rep %d [%d] x=%.9g: %d, want %d", n,
                        eMetric, rep, i, x[i], c[i], want[i]);
        }
      }
    }
    free(x);
    free(c);
    free(want);
  }
}
END_TEST

/* Absmax codes: the largest magnitude maps to +-127, ties to even, zeros stay. */
START_TEST(test_absmax_codes) {
  const float x[6] = {2.0f, -4.0f, 1.0f, 0.0f, -0.0157480314f * 4.0f, 4.0f};
  const float z[3] = {0, -0.0f, 0};
  int8_t c[6];
  float s = vec0QuantAbsmax(x, 6, c);
  ck_assert_float_eq_tol(s, 4.0f / 127.0f, 1e-9f);
  /* 2 * 127 / 4 = 63.5 -> 64 (ties to even); 1 * 31.75 -> 32 */
  ck_assert_int_eq(c[0], 64);
  ck_assert_int_eq(c[1], -127);
  ck_assert_int_eq(c[2], 32);
  ck_assert_int_eq(c[3], 0);
  ck_assert_int_eq(c[4], -2);
  ck_assert_int_eq(c[5], 127);
  memset(c, 9, sizeof(c));
  ck_assert_float_eq(vec0QuantAbsmax(z, 3, c), 0.0f);
  ck_assert_int_eq(c[0] | c[1] | c[2], 0);
  /* the scale and the codes reconstruct every element within half a step */
  rngState = 11;
  for (int rep = 0; rep < 50; rep++) {
    float v[37];
    int8_t k[37];
    for (int i = 0; i < 37; i++) v[i] = (float)((rnd() - 0.5) * (rep + 1));
    s = vec0QuantAbsmax(v, 37, k);
    for (int i = 0; i < 37; i++) {
      ck_assert_msg(fabsf(v[i] - k[i] * s) <= s * 0.5001f + 1e-7f, "rep %d [%d]: %.9g vs %d * %.9g",
                    rep, i, v[i], k[i], s);
    }
  }
}
END_TEST

/*
** vec0QuantAbsmax four lanes at a time: the scale and every code must be
** the scalar formula's bit for bit, at every length (the tails), wherever
** the largest magnitude is, with ties of x * 127 / max at half a step.
*/
START_TEST(test_absmax_matches_scalar) {
  rngState = 17;
  for (int n = 1; n <= 300; n += (n < 70 ? 1 : 37)) {
    for (int rep = 0; rep < 8; rep++) {
      float *x = malloc(sizeof(float) * (size_t)n), m = 0, r, s;
      int8_t *c = malloc((size_t)n);
      for (int i = 0; i < n; i++) {
        x[i] = (float)((rnd() - 0.5) * 8);
        if (rep & 1) x[i] = (float)((int)(x[i] * 4)) / 4; /* many exact ties */
        if (rep == 2 && i % 5 == 0) x[i] = -0.0f;
      }
      if (rep == 4) x[rnd() * n >= n ? n - 1 : (int)(rnd() * n)] = -9.0f; /* one largest */
      for (int i = 0; i < n; i++) {
        float a = x[i] < 0 ? -x[i] : x[i];
        if (a > m) m = a;
      }
      s = vec0QuantAbsmax(x, n, c);
      ck_assert_msg(s == (m > 0 ? m / 127.0f : 0.0f), "n=%d rep %d: scale %.9g, max %.9g",
                    n, rep, s, m);
      r = 127.0f / m;
      for (int i = 0; i < n && m > 0; i++) {
        float t = x[i] * r;
        int want = (int)nearbyintf(t > 127 ? 127 : t < -127 ? -127 : t);
        ck_assert_msg(c[i] == want, "n=%d rep %d [%d] x=%.9g: %d, want %d", n, rep, i, x[i],
                      c[i], want);
      }
      free(x);
      free(c);
    }
  }
}
END_TEST

/* The prepared query, sixteen codes at a time, against the scalar formula. */
START_TEST(test_code_query_matches_scalar) {
  rngState = 11;
  for (int n = 1; n <= 200; n += (n < 40 ? 1 : 23)) {
    size_t nPad = (size_t)(n + 63) / 64 * 64;
    unsigned char *aMem = malloc(vec0CodeQueryBytes(n) + 64);
    unsigned char *aBuf = aMem + ((64 - ((uintptr_t)aMem & 63)) & 63);
    int8_t *qc = malloc((size_t)n);
    Vec0CodeQuery q;
    int64_t sq = 0;
    memset(aBuf, 0x5a, vec0CodeQueryBytes(n)); /* the padding must be cleared */
    for (int i = 0; i < n; i++) qc[i] = (int8_t)((int)(rnd() * 256) - 128); /* -128 too */
    vec0CodeQueryInit(&q, qc, n, 0, 1, aBuf);
    for (size_t i = 0; i < nPad; i++) {
      int v = (int)i < n ? (qc[i] < -127 ? -127 : qc[i]) : 0;
      ck_assert_msg(q.aQ[i] == v && q.aAbs[i] == (v < 0 ? -v : v) &&
                        q.aU[i] == ((int)i < n ? v + 128 : 0),
                    "n=%d [%d]: %d %d %d from %d", n, (int)i, q.aQ[i], q.aAbs[i], q.aU[i],
                    (int)i < n ? qc[i] : 0);
      sq += (int64_t)v * v;
    }
    ck_assert_int_eq(q.norm, sq);
    free(qc);
    free(aMem);
  }
}
END_TEST

int main(void) {
  Suite *s = suite_create("quant");
  TCase *tc = tcase_create("quant");
  SRunner *sr;
  int nFail;
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_int8_keeps_neighbours);
  tcase_add_test(tc, test_bit_keeps_some_neighbours);
  tcase_add_test(tc, test_int8_distance_scale);
  tcase_add_test(tc, test_train_is_deterministic_and_saved);
  tcase_add_test(tc, test_empty_sample_and_extremes);
  tcase_add_test(tc, test_code_kernels_agree);
  tcase_add_test(tc, test_int8_rounding);
  tcase_add_test(tc, test_int8_encode_matches_scalar);
  tcase_add_test(tc, test_absmax_codes);
  tcase_add_test(tc, test_code_query_matches_scalar);
  tcase_add_test(tc, test_absmax_matches_scalar);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  nFail = srunner_ntests_failed(sr);
  srunner_free(sr);
  return nFail ? 1 : 0;
}
