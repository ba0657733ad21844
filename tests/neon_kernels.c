/*
** neon_kernels.c: the AArch64 kernels against the portable ones, without
** Check or SQLite, so that it cross-compiles and runs under an emulator on
** an x86 machine (`make test-neon`: aarch64-linux-gnu-gcc -static, then
** qemu-aarch64 with -cpu max, which has the dot-product extension, and with
** -cpu cortex-a57, which has not).  On a real AArch64 machine the Check
** tests (check_distance.c, check_quant.c) cover the same kernels.
**
** Code kernels (vec0_distance_code.c): the NEON and, when the CPU has it,
** the sdot kernel give exactly the integer l2sq / minus dot of the codes,
** for lengths with every tail and batch sizes 1..9.  Float32 and int8
** kernels (vec0_distance_neon.c): within 1e-5 relative of the portable C.
** Exits 0 when all agree; prints the first disagreement otherwise.
*/
#include "vec0_vec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rngState = 88172645463325252ull;
static uint64_t rng(void) {
  rngState ^= rngState << 13;
  rngState ^= rngState >> 7;
  rngState ^= rngState << 17;
  return rngState;
}
static int nFail = 0;

static int64_t refCode(const int8_t *a, const int8_t *b, int n, int bDot) {
  int64_t s = 0;
  for (int i = 0; i < n; i++) {
    s += bDot ? (int64_t)a[i] * b[i] : ((int64_t)a[i] - b[i]) * ((int64_t)a[i] - b[i]);
  }
  return bDot ? -s : s;
}

static void checkCode(const char *zName, Vec0CodeDistFn x) {
  static const int aDim[] = {1, 7, 15, 16, 17, 63, 64, 65, 128, 300, 768, 784, 1000, 8192};
  /* records 64-aligned, then packed (vec0CodeStrideMin: the low-memory
  ** walk's), both with sums where the column's have them; then with sums at
  ** any length (the descent's UPPER records) */
  for (size_t t = 0; t < 3 * sizeof(aDim) / sizeof(aDim[0]); t++) {
    int n = aDim[t / 3], nRec = 9, bSums = t % 3 == 2 || vec0CodeHasSums(n);
    size_t nStride = t % 3 == 0   ? vec0CodeStride(n)
                     : t % 3 == 1 ? vec0CodeStrideMin(n)
                                  : (vec0CodeSumOffset(n) + 8 + 63) / 64 * 64;
    unsigned char *aMem = calloc(1, nStride * (size_t)nRec + 128 + vec0CodeQueryBytes(n) + 64);
    unsigned char *aRec = aMem + ((64 - ((uintptr_t)aMem & 63)) & 63);
    unsigned char *aQBuf = aRec + (nStride * (size_t)nRec + 64 + 63) / 64 * 64;
    int8_t *qc = malloc((size_t)n);
    const void *apRec[9];
    for (int i = 0; i < n; i++) {
      qc[i] = (int8_t)(i % 11 == 0 ? 127 : i % 13 == 0 ? -127 : (int)(rng() % 255) - 127);
    }
    for (int j = 0; j < nRec; j++) {
      int8_t *c = (int8_t *)(aRec + nStride * (size_t)j);
      for (int i = 0; i < n; i++) {
        c[i] = (int8_t)(j == 0 ? -qc[i] : j == 1 ? qc[i] : i % 7 == 0 ? -127
                                                           : (int)(rng() % 255) - 127);
      }
      vec0CodeFinish(aRec + nStride * (size_t)j, n, bSums);
      apRec[j] = aRec + nStride * (size_t)j;
    }
    for (int bDot = 0; bDot <= 1; bDot++) {
      Vec0CodeQuery q;
      vec0CodeQueryInit(&q, qc, n, bDot, bSums, aQBuf);
      for (int nb = 1; nb <= nRec; nb++) {
        float aOut[9];
        x(&q, apRec, nb, aOut);
        for (int j = 0; j < nb; j++) {
          float want = (float)refCode(qc, apRec[j], n, bDot);
          if (memcmp(&aOut[j], &want, 4) != 0 && nFail++ < 5) {
            printf("FAIL %s n=%d dot=%d batch %d rec %d: %.9g, want %.9g\n", zName, n, bDot,
                   nb, j, aOut[j], want);
          }
        }
      }
    }
    free(qc);
    free(aMem);
  }
}

static void fill(Vec0ElemType e, unsigned char *a, int n) {
  if (e == VEC0_ELEM_F32) {
    for (int i = 0; i < n; i++) ((float *)(void *)a)[i] = (float)((double)(rng() >> 11) / 9007199254740992.0 * 2 - 1);
  } else {
    for (int i = 0; i < n; i++) a[i] = (unsigned char)rng();
  }
}

/* Every kernel of vec0DistanceNeon against the portable one at many lengths. */
static void checkKernels(void) {
  static const Vec0ElemType aType[] = {VEC0_ELEM_F32, VEC0_ELEM_I8, VEC0_ELEM_BIT};
  static const Vec0Metric aMetric[] = {VEC0_METRIC_L2, VEC0_METRIC_L2SQ, VEC0_METRIC_COSINE,
                                       VEC0_METRIC_DOT, VEC0_METRIC_L1, VEC0_METRIC_HAMMING};
  unsigned char *a = malloc(4 * 4200), *b = malloc(4 * 4200);
  for (size_t t = 0; t < sizeof(aType) / sizeof(aType[0]); t++) {
    for (size_t m = 0; m < sizeof(aMetric) / sizeof(aMetric[0]); m++) {
      Vec0DistanceFn xN = vec0DistanceNeon(aType[t], aMetric[m]);
      Vec0DistanceFn xP = vec0DistancePortable(aType[t], aMetric[m]);
      if (xN == 0 || xP == 0) continue;
      for (int n = 1; n <= 4200; n += n < 70 ? 1 : 97) {
        /* bit kernels take the number of bits, a whole number of bytes */
        int nArg = aType[t] == VEC0_ELEM_BIT ? n * 8 : n;
        double r, v;
        fill(aType[t], a, n);
        fill(aType[t], b, n);
        r = xP(a, b, nArg);
        v = xN(a, b, nArg);
        if (fabs(v - r) > 1e-4 * (fabs(r) > 1 ? fabs(r) : 1) + 1e-4 && nFail++ < 5) {
          printf("FAIL type %d metric %s n=%d: %.9g, portable %.9g\n", (int)aType[t],
                 vec0MetricName(aMetric[m]), n, v, r);
        }
      }
    }
  }
  free(a);
  free(b);
}

int main(void) {
  Vec0CodeDistFn xSdot = vec0CodeDistSdot();
  printf("kernel set %s; code kernel sdot: %s\n", vec0DistanceImpl(),
         xSdot ? "yes" : "no (the CPU lacks the dot-product extension)");
  checkCode("code portable", vec0CodeDistPortable());
  checkCode("code neon", vec0CodeDistNeon());
  if (xSdot) checkCode("code sdot", xSdot);
  if (vec0CodeDistFn() != (xSdot ? xSdot : vec0CodeDistNeon()) && nFail++ < 5) {
    printf("FAIL the dispatch does not hand out the best code kernel\n");
  }
  checkKernels();
  printf("%s\n", nFail ? "FAILED" : "ok");
  return nFail != 0;
}
