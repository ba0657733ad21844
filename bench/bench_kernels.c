/*
** bench_kernels.c: throughput of the distance kernels of src/vec0_distance*.c
** against a plain vectorised memory-read loop over the same array.
**
** The exact scan of a vec0 table is one query against every stored vector, so
** that is what is measured: 60000 x 784 float32 (the size of
** fashion-mnist-784, 188 MB, larger than the caches) scanned against one
** query, the best of several passes.  The baseline reads the same bytes and
** does nothing but add them up, so "ratio" is how far a kernel is from the
** memory bandwidth (1.00 = as fast as merely reading the data).  int8 and bit
** arrays have the same shape (784 dims) and are compared with the same
** read loop over their own bytes.
**
** Links only the distance files and the element table (no SQLite calls
** there):
**   cc -std=c99 -D_POSIX_C_SOURCE=200809L -O2 -Isrc -DSQLITE_CORE \
**      bench/bench_kernels.c src/vec0_distance*.c src/vec0_elem.c -lm \
**      -o bench_kernels
** Usage: bench_kernels [rows [dims [passes]]]
*/
#include "vec0_vec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_X86 1
#endif

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- the baseline: read every byte, vectorised, several accumulators ---- */

static float sumFloatsPortable(const float *a, size_t n) {
  float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t i, j;
  for (i = 0; i + 8 <= n; i += 8) {
    for (j = 0; j < 8; j++) s[j] += a[i + j];
  }
  for (; i < n; i++) s[0] += a[i];
  return s[0] + s[1] + s[2] + s[3] + s[4] + s[5] + s[6] + s[7];
}

#ifdef HAVE_X86
__attribute__((target("avx512f"))) static float sumFloats512(const float *a,
                                                              size_t n) {
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
  __m512 s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
  float t = 0;
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    s0 = _mm512_add_ps(s0, _mm512_loadu_ps(a + i));
    s1 = _mm512_add_ps(s1, _mm512_loadu_ps(a + i + 16));
    s2 = _mm512_add_ps(s2, _mm512_loadu_ps(a + i + 32));
    s3 = _mm512_add_ps(s3, _mm512_loadu_ps(a + i + 48));
  }
  for (; i < n; i++) t += a[i];
  return t + _mm512_reduce_add_ps(
      _mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

__attribute__((target("avx2"))) static float sumFloats256(const float *a,
                                                           size_t n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  __m256 s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
  float t[8];
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    s0 = _mm256_add_ps(s0, _mm256_loadu_ps(a + i));
    s1 = _mm256_add_ps(s1, _mm256_loadu_ps(a + i + 8));
    s2 = _mm256_add_ps(s2, _mm256_loadu_ps(a + i + 16));
    s3 = _mm256_add_ps(s3, _mm256_loadu_ps(a + i + 24));
  }
  _mm256_storeu_ps(t, _mm256_add_ps(_mm256_add_ps(s0, s1),
                                    _mm256_add_ps(s2, s3)));
  for (; i < n; i++) t[0] += a[i];
  return t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
}
#endif

/* The read loop of the same width as the kernels in use. */
static float sumFloats(const float *a, size_t n) {
#ifdef HAVE_X86
  if (strcmp(vec0DistanceImpl(), "avx512") == 0) return sumFloats512(a, n);
  if (strcmp(vec0DistanceImpl(), "avx2") == 0) return sumFloats256(a, n);
#endif
  return sumFloatsPortable(a, n);
}

/* ---- measurement ------------------------------------------------------- */

static volatile float sink;

/*
** Best seconds of nPass scans of nRow rows of nBytesRow bytes each, and in
** *pRead the best time of the read loop over the same bytes.  The two are
** measured in alternation so that a busy machine slows both alike.
*/
static double timeScan(Vec0DistanceFn x, const unsigned char *aData,
                       size_t nBytesRow, int nRow, int nDim,
                       const unsigned char *q, int nPass, double *pRead) {
  double best = 1e30, bestRead = 1e30;
  size_t nByte = nBytesRow * (size_t)nRow;
  int p, r;
  for (p = 0; p < nPass; p++) {
    float m = 3.4e38f;
    double t0 = now(), t;
    /* any array is read as floats: only the bytes moved matter here */
    sink = sumFloats((const float *)(const void *)aData, nByte / 4);
    t = now() - t0;
    if (t < bestRead) bestRead = t;
    t0 = now();
    for (r = 0; r < nRow; r++) {
      float d = x(aData + (size_t)r * nBytesRow, q, nDim);
      if (d < m) m = d;
    }
    t = now() - t0;
    sink = m;
    if (t < best) best = t;
  }
  *pRead = bestRead;
  return best;
}

static uint64_t rngState = 0x9E3779B97F4A7C15ull;
static uint64_t rng(void) {
  rngState ^= rngState << 13;
  rngState ^= rngState >> 7;
  rngState ^= rngState << 17;
  return rngState;
}

typedef struct Row {
  const char *zName;
  Vec0ElemType eType;
  Vec0Metric eMetric;
  int bPortable;
} Row;

int main(int argc, char **argv) {
  static const Row aRow[] = {
      {"float32 l2sq", VEC0_ELEM_F32, VEC0_METRIC_L2SQ, 0},
      {"float32 l2", VEC0_ELEM_F32, VEC0_METRIC_L2, 0},
      {"float32 dot", VEC0_ELEM_F32, VEC0_METRIC_DOT, 0},
      {"float32 cosine", VEC0_ELEM_F32, VEC0_METRIC_COSINE, 0},
      {"float32 l1", VEC0_ELEM_F32, VEC0_METRIC_L1, 0},
      {"float32 l2sq (portable C)", VEC0_ELEM_F32, VEC0_METRIC_L2SQ, 1},
      {"int8 l2sq", VEC0_ELEM_I8, VEC0_METRIC_L2SQ, 0},
      {"int8 l2", VEC0_ELEM_I8, VEC0_METRIC_L2, 0},
      {"int8 dot", VEC0_ELEM_I8, VEC0_METRIC_DOT, 0},
      {"int8 cosine", VEC0_ELEM_I8, VEC0_METRIC_COSINE, 0},
      {"int8 l1", VEC0_ELEM_I8, VEC0_METRIC_L1, 0},
      {"bit hamming", VEC0_ELEM_BIT, VEC0_METRIC_HAMMING, 0},
  };
  int nRow = argc > 1 ? atoi(argv[1]) : 60000;
  int nDim = argc > 2 ? atoi(argv[2]) : 784;
  int nPass = argc > 3 ? atoi(argv[3]) : 10;
  size_t nF32 = (size_t)nRow * nDim * 4;
  unsigned char *aF32, *aI8, *aBit, *q;
  size_t i;
  int k;

  if (nRow < 1 || nDim < 8 || nDim % 8 != 0 || nPass < 1) {
    fprintf(stderr, "usage: %s [rows [dims (a multiple of 8) [passes]]]\n",
            argv[0]);
    return 1;
  }
  vec0DistanceInit();
  aF32 = malloc(nF32);
  aI8 = malloc(nF32 / 4);
  aBit = malloc(nF32 / 32);
  q = malloc((size_t)nDim * 4);
  if (!aF32 || !aI8 || !aBit || !q) {
    fprintf(stderr, "out of memory\n");
    return 1;
  }
  for (i = 0; i < (size_t)nRow * nDim; i++) {
    float f = (float)((rng() >> 40) & 0xffff) / 65536.0f;
    memcpy(aF32 + 4 * i, &f, 4);
    aI8[i] = (unsigned char)rng();
  }
  for (i = 0; i < nF32 / 32; i++) aBit[i] = (unsigned char)rng();
  for (i = 0; i < (size_t)nDim; i++) {
    float f = (float)((rng() >> 40) & 0xffff) / 65536.0f;
    memcpy(q + 4 * i, &f, 4);
  }

  printf("kernels: %s; %d rows x %d dims; best of %d passes\n\n",
         vec0DistanceImpl(), nRow, nDim, nPass);
  printf("| kernel | array | ms/scan | GB/s | memory-read GB/s | ratio |\n");
  printf("|---|---:|---:|---:|---:|---:|\n");
  for (k = 0; k < (int)(sizeof(aRow) / sizeof(aRow[0])); k++) {
    const Row *p = &aRow[k];
    Vec0DistanceFn x = p->bPortable ? vec0DistancePortable(p->eType, p->eMetric)
                                    : vec0DistanceFn(p->eType, p->eMetric);
    size_t nBytesRow = p->eType == VEC0_ELEM_F32  ? (size_t)nDim * 4
                       : p->eType == VEC0_ELEM_I8 ? (size_t)nDim
                                                  : (size_t)nDim / 8;
    const unsigned char *aData =
        p->eType == VEC0_ELEM_F32 ? aF32 : p->eType == VEC0_ELEM_I8 ? aI8 : aBit;
    double tRead = 0;
    double nByte = (double)nBytesRow * nRow;
    double t = timeScan(x, aData, nBytesRow, nRow, nDim, q, nPass, &tRead);
    printf("| %s | %.1f MB | %.2f | %.2f | %.2f | %.2f |\n", p->zName,
           nByte / 1e6, t * 1e3, nByte / t / 1e9, nByte / tRead / 1e9,
           t / tRead);
  }
  printf("\nmemory read = a vectorised sum of the same bytes, timed in "
         "alternation with the scan;\nratio = scan time / read time (lower "
         "is better; the target for float32 l2sq is <= 1.30)\n");
  free(aF32);
  free(aI8);
  free(aBit);
  free(q);
  return 0;
}
