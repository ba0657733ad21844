/*
** vec0_quant.c: the int8 and bit quantizers of vec0_quant.h.
**
** Only the C library is called; the code kernels are the distance kernels
** of the int8 and bit element types (vec0_distance*.c), which is why codes
** are laid out as those types' vectors.
*/
#include "vec0_quant.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define QUANT_NOMEM 7
#define QUANT_CORRUPT 267
#define QUANT_LO 0.0005 /* quantiles that bound the int8 range */
#define QUANT_HI 0.9995

size_t vec0QuantCodeBytes(const Vec0Quant *q) {
  return q->eKind == VEC0_QUANT_BIT ? (size_t)(q->nDim + 7) / 8 : (size_t)q->nDim;
}

void vec0QuantClear(Vec0Quant *q) {
  if (q->aMean && q->xFree) q->xFree(q->aMean);
  memset(q, 0, sizeof(*q));
}

/* The unit vector of x into y (a zero vector stays zero). */
static void normalise(const float *x, float *y, int n) {
  double s = 0;
  for (int i = 0; i < n; i++) s += (double)x[i] * x[i];
  s = s > 0 ? 1.0 / sqrt(s) : 0;
  for (int i = 0; i < n; i++) y[i] = (float)(x[i] * s);
}

/*
** x / scale - mid / scale as the nearest code, clamped to -127..127: what
** nearbyintf() gives in the default rounding mode (ties to even), without
** a call into libm for each element.  1.5 * 2^23 added and taken away rounds
** any |t| <= 2^22 to an integer in float arithmetic.
*/
static int8_t quantRound(float t) {
  t = t > 127 ? 127 : t < -127 ? -127 : t;
  t = (t + 12582912.0f) - 12582912.0f;
  return (int8_t)t;
}

/* Four float lanes, where the compiler has vector types. */
#if defined(__GNUC__) || defined(__clang__)
typedef float QuantF4 __attribute__((vector_size(16)));
typedef int32_t QuantI4 __attribute__((vector_size(16)));
typedef double QuantD4 __attribute__((vector_size(32)));
typedef int8_t QuantB4 __attribute__((vector_size(4)));
/* Where sel, a else b, lane by lane (bit for bit). */
static QuantF4 quantPick(QuantI4 sel, QuantF4 a, QuantF4 b) {
  QuantI4 ua, ub;
  memcpy(&ua, &a, sizeof(ua));
  memcpy(&ub, &b, sizeof(ub));
  ua = (ua & sel) | (ub & ~sel);
  memcpy(&a, &ua, sizeof(a));
  return a;
}

/* quantRound() of four lanes into c[0..3]. */
static void quantRound4(QuantF4 t, int8_t *c) {
  const QuantF4 hi = {127, 127, 127, 127}, lo = {-127, -127, -127, -127};
  const QuantF4 big = {12582912.0f, 12582912.0f, 12582912.0f, 12582912.0f};
  QuantB4 r;
  t = quantPick(t > hi, hi, t);
  t = quantPick(t < lo, lo, t);
  t = (t + big) - big;
  r = __builtin_convertvector(__builtin_convertvector(t, QuantI4), QuantB4);
  memcpy(c, &r, sizeof(r));
}
#endif

/*
** The codes of (x[i] * s, in double, to float when bScale) - mid) / scale,
** i < n: quantRound() of each, four lanes at a time where the compiler
** has vector types.  Each lane does the scalar loop's operations in its
** order, each one exactly rounded (IEEE, no contraction under -std=c99),
** so the codes are bit for bit the scalar ones: a query's code is 2-4 %
** of a short int8 query one element at a time.
*/
static void quantInt8(const Vec0Quant *q, const float *x, int bScale, double s, int8_t *c,
                      int n) {
  int i = 0;
#if defined(__GNUC__) || defined(__clang__)
  for (; i + 4 <= n; i += 4) {
    QuantF4 t;
    memcpy(&t, x + i, sizeof(t));
    if (bScale) t = __builtin_convertvector(__builtin_convertvector(t, QuantD4) * s, QuantF4);
    quantRound4((t - q->mid) / q->scale, c + i);
  }
#endif
  for (; i < n; i++) {
    float v = bScale ? (float)(x[i] * s) : x[i];
    c[i] = quantRound((v - q->mid) / q->scale);
  }
}

/*
** Four lanes at a time where the compiler has vector types, each doing the
** scalar loop's operations (the maximum is exact whatever the order; each
** product is rounded as the scalar one), so the codes are bit for bit the
** scalar ones: the query's codes of a float32 search's descent (UPPER) were
** 2 % of a text-like query one element at a time.
*/
float vec0QuantAbsmax(const float *x, int n, int8_t *c) {
  float m = 0, r;
  int i = 0;
#if defined(__GNUC__) || defined(__clang__)
  QuantF4 m4 = {0, 0, 0, 0};
  for (; i + 4 <= n; i += 4) {
    QuantF4 t;
    QuantI4 u;
    memcpy(&u, x + i, sizeof(u));
    u &= 0x7fffffff; /* |x|: a NaN is passed over, as by the scalar test */
    memcpy(&t, &u, sizeof(t));
    m4 = quantPick(t > m4, t, m4);
  }
  for (int j = 0; j < 4; j++) {
    if (m4[j] > m) m = m4[j];
  }
#endif
  for (; i < n; i++) {
    float a = x[i] < 0 ? -x[i] : x[i];
    if (a > m) m = a;
  }
  if (!(m > 0)) {
    memset(c, 0, (size_t)n);
    return 0;
  }
  r = 127.0f / m;
  i = 0;
#if defined(__GNUC__) || defined(__clang__)
  for (; i + 4 <= n; i += 4) {
    QuantF4 t;
    memcpy(&t, x + i, sizeof(t));
    quantRound4(t * r, c + i);
  }
#endif
  for (; i < n; i++) c[i] = quantRound(x[i] * r);
  return m / 127.0f;
}

static int cmpFloat(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return x < y ? -1 : x > y;
}

/* The value at quantile f of the n sorted values a. */
static float quantile(const float *a, size_t n, double f) {
  size_t i = (size_t)(f * (double)(n - 1) + 0.5);
  return a[i < n ? i : n - 1];
}

int vec0QuantTrain(Vec0Quant *q, int eKind, int eMetric, int nDim,
                   const float *aSample, int nSample, Vec0QuantMalloc xMalloc,
                   Vec0QuantFree xFree) {
  size_t nVal = (size_t)nSample * (size_t)nDim;
  float *aVal = 0;
  memset(q, 0, sizeof(*q));
  q->eKind = eKind;
  q->eMetric = eMetric;
  q->nDim = nDim;
  q->scale = 1.0f / 127;
  q->xFree = xFree;
  if (eKind == VEC0_QUANT_BIT) {
    q->aMean = xMalloc(sizeof(float) * (size_t)nDim);
    if (q->aMean == 0) return QUANT_NOMEM;
    memset(q->aMean, 0, sizeof(float) * (size_t)nDim);
  }
  if (nSample <= 0) return 0;
  aVal = xMalloc(sizeof(float) * nVal);
  if (aVal == 0) {
    vec0QuantClear(q);
    return QUANT_NOMEM;
  }
  for (int s = 0; s < nSample; s++) {
    const float *x = aSample + (size_t)s * nDim;
    float *y = aVal + (size_t)s * nDim;
    if (eMetric == VEC0_QUANT_COSINE) {
      normalise(x, y, nDim);
    } else {
      memcpy(y, x, sizeof(float) * (size_t)nDim);
    }
  }
  if (eKind == VEC0_QUANT_BIT) {
    /* Per-dimension means, summed in double in sample order: the sample
    ** order is the host's (slot order), so replicas agree. */
    for (int i = 0; i < nDim; i++) {
      double m = 0;
      for (int s = 0; s < nSample; s++) m += aVal[(size_t)s * nDim + i];
      q->aMean[i] = (float)(m / nSample);
    }
  } else {
    float lo, hi;
    if (eMetric != VEC0_QUANT_L2) {
      /* Around 0, so that the dot product of codes orders as the floats'. */
      for (size_t i = 0; i < nVal; i++) aVal[i] = fabsf(aVal[i]);
    }
    qsort(aVal, nVal, sizeof(float), cmpFloat);
    lo = quantile(aVal, nVal, QUANT_LO);
    hi = quantile(aVal, nVal, QUANT_HI);
    if (eMetric != VEC0_QUANT_L2) lo = -hi;
    q->mid = eMetric == VEC0_QUANT_L2 ? (lo + hi) / 2 : 0;
    q->scale = (hi - lo) / 254;
    if (!(q->scale > 0) || !isfinite(q->scale)) q->scale = 1.0f / 127;
  }
  xFree(aVal);
  return 0;
}

void vec0QuantEncode(const Vec0Quant *q, const float *x, void *aCode) {
  const float *v = x;
  int n = q->nDim;
  if (q->eMetric == VEC0_QUANT_COSINE) {
    /* the norm in double, in element order: the codes do not depend on the CPU */
    double s = 0;
    for (int i = 0; i < n; i++) s += (double)x[i] * x[i];
    s = s > 0 ? 1.0 / sqrt(s) : 0;
    if (q->eKind == VEC0_QUANT_BIT) {
      unsigned char *c = aCode;
      memset(c, 0, (size_t)(n + 7) / 8);
      for (int i = 0; i < n; i++) {
        if ((float)(x[i] * s) > q->aMean[i]) c[i >> 3] |= (unsigned char)(1u << (i & 7));
      }
    } else {
      quantInt8(q, x, 1, s, aCode, n);
    }
    return;
  }
  if (q->eKind == VEC0_QUANT_BIT) {
    unsigned char *c = aCode;
    memset(c, 0, (size_t)(n + 7) / 8);
    for (int i = 0; i < n; i++) {
      if (v[i] > q->aMean[i]) c[i >> 3] |= (unsigned char)(1u << (i & 7));
    }
  } else {
    quantInt8(q, v, 0, 1.0, aCode, n);
  }
}

double vec0QuantError(const Vec0Quant *q, const float *x, const void *aCode) {
  const int8_t *c = aCode;
  double s = 0, r = 1;
  if (q->eMetric == VEC0_QUANT_COSINE) {
    /* of the normalised vector, as vec0QuantEncode makes it */
    for (int i = 0; i < q->nDim; i++) s += (double)x[i] * x[i];
    r = s > 0 ? 1.0 / sqrt(s) : 0;
    s = 0;
  }
  for (int i = 0; i < q->nDim; i++) {
    float v = q->eMetric == VEC0_QUANT_COSINE ? (float)(x[i] * r) : x[i];
    double d = (double)v - ((double)q->mid + (double)q->scale * c[i]);
    s += d * d;
  }
  return sqrt(s);
}

static void putU32(unsigned char *a, uint32_t v) {
  for (int i = 0; i < 4; i++) a[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t getU32(const unsigned char *a) {
  return (uint32_t)a[0] | (uint32_t)a[1] << 8 | (uint32_t)a[2] << 16 | (uint32_t)a[3] << 24;
}
static void putF32(unsigned char *a, float f) {
  uint32_t v;
  memcpy(&v, &f, 4);
  putU32(a, v);
}
static float getF32(const unsigned char *a) {
  uint32_t v = getU32(a);
  float f;
  memcpy(&f, &v, 4);
  return f;
}

size_t vec0QuantSaveBytes(const Vec0Quant *q) {
  return 20 + (q->eKind == VEC0_QUANT_BIT ? 4 * (size_t)q->nDim : 0);
}

void vec0QuantSave(const Vec0Quant *q, unsigned char *a) {
  putU32(a, (uint32_t)q->eKind);
  putU32(a + 4, (uint32_t)q->eMetric);
  putU32(a + 8, (uint32_t)q->nDim);
  putF32(a + 12, q->mid);
  putF32(a + 16, q->scale);
  if (q->eKind == VEC0_QUANT_BIT) {
    for (int i = 0; i < q->nDim; i++) putF32(a + 20 + 4 * (size_t)i, q->aMean[i]);
  }
}

int vec0QuantLoad(Vec0Quant *q, int nDim, const unsigned char *a, size_t n,
                  Vec0QuantMalloc xMalloc, Vec0QuantFree xFree) {
  memset(q, 0, sizeof(*q));
  if (n < 20) return QUANT_CORRUPT;
  q->eKind = (int)getU32(a);
  q->eMetric = (int)getU32(a + 4);
  q->nDim = (int)getU32(a + 8);
  q->mid = getF32(a + 12);
  q->scale = getF32(a + 16);
  if ((q->eKind != VEC0_QUANT_INT8 && q->eKind != VEC0_QUANT_BIT) ||
      q->eMetric < VEC0_QUANT_L2 || q->eMetric > VEC0_QUANT_DOT || q->nDim != nDim ||
      n != vec0QuantSaveBytes(q) || !(q->scale > 0) || !isfinite(q->scale) ||
      !isfinite(q->mid)) {
    memset(q, 0, sizeof(*q));
    return QUANT_CORRUPT;
  }
  q->xFree = xFree;
  if (q->eKind == VEC0_QUANT_BIT) {
    q->aMean = xMalloc(sizeof(float) * (size_t)nDim);
    if (q->aMean == 0) {
      memset(q, 0, sizeof(*q));
      return QUANT_NOMEM;
    }
    for (int i = 0; i < nDim; i++) {
      q->aMean[i] = getF32(a + 20 + 4 * (size_t)i);
      if (!isfinite(q->aMean[i])) {
        vec0QuantClear(q);
        return QUANT_CORRUPT;
      }
    }
  }
  return 0;
}
