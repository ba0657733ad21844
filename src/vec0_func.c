/*
** vec0_func.c: the SQL functions of the extension, with sqlite-vec 0.1.x
** names, arguments and results: vec_version(), vec_debug(), the
** constructors vec_f32/vec_int8/vec_bit, vec_length, vec_type, vec_to_json,
** vec_add, vec_sub, vec_normalize, vec_slice, the vec_distance_* family
** (plus our vec_distance_dot and vec_distance_l2sq), the quantizers, and the
** table-valued function vec_each(v).
**
** Vectors are read only through vec0VectorFromValue() (vec0_vector.c) and
** distances come from vec0DistanceFn() (vec0_distance.c), so a function gives
** the same value as a KNN query on a vec0 table.  Vector results are BLOBs
** carrying the subtype of their element type; vec_to_json() returns text
** with the JSON subtype ('J'), as sqlite-vec does.
**
** Elements are read and written through their type's descriptor
** (Vec0ElemDesc, vec0_elem.c), so every function but those that only make
** sense for one type works on a new element type unchanged.  What stays
** written per type: bit vectors are a set of bits packed 8 per byte, not
** numbers (no arithmetic, slices on byte boundaries, quantization's
** target), and int8 is quantization's other target.
**
** Where sqlite-vec would return garbage (NaN from normalizing a zero vector,
** infinity from an overflowing vec_add) we return an error instead; all
** messages start with "vec0: " and name the function and the argument.
*/
#include "vec0Int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Flags missing from older SQLite headers; older libraries ignore them. */
#ifndef SQLITE_SUBTYPE
#define SQLITE_SUBTYPE 0x000100000
#endif
#ifndef SQLITE_INNOCUOUS
#define SQLITE_INNOCUOUS 0x000200000
#endif
#ifndef SQLITE_RESULT_SUBTYPE
#define SQLITE_RESULT_SUBTYPE 0x001000000
#endif

#define JSON_SUBTYPE 74 /* 'J', what SQLite's JSON functions recognise */

/* The name of the SQL function, for messages (registered as user data). */
static const char *fnName(sqlite3_context *ctx) {
  const char *z = (const char *)sqlite3_user_data(ctx);
  return z ? z : "vec";
}

static const char *ordinal(int i) {
  static const char *az[] = {"1st", "2nd", "3rd"};
  return i < 3 ? az[i] : "nth";
}

/*
** Parse argv[i] as a vector; on error report it on ctx and return non-zero.
** The argument is named "1st argument of vec_f32()".  flags are those of
** vec0VectorParse(): every function takes vectors of any length (as
** sqlite-vec does; only table columns stop at VEC0_MAX_DIMS).
*/
static int argVectorFlags(sqlite3_context *ctx, sqlite3_value **argv, int i,
                          int eExpect, int flags, Vec0Vector *pOut) {
  char zWhat[80];
  char *zErr = 0;
  int rc;
  snprintf(zWhat, sizeof(zWhat), "%s argument of %s()", ordinal(i),
           fnName(ctx));
  rc = vec0VectorParse(argv[i], eExpect, flags | VEC0_PARSE_ANY_LENGTH, zWhat,
                       pOut, &zErr);
  if (rc != SQLITE_OK) {
    if (rc == SQLITE_NOMEM || zErr == 0) {
      sqlite3_result_error_nomem(ctx);
    } else {
      sqlite3_result_error(ctx, zErr, -1);
    }
    sqlite3_free(zErr);
  }
  return rc;
}

static int argVector(sqlite3_context *ctx, sqlite3_value **argv, int i,
                     int eExpect, Vec0Vector *pOut) {
  return argVectorFlags(ctx, argv, i, eExpect, 0, pOut);
}

/*
** The argument of a function that only shows a vector (vec_length,
** vec_type, vec_to_json, vec_each): NaN and infinity are let through, so
** that bad data stored in a table can be looked at and found.
*/
static int argVectorShow(sqlite3_context *ctx, sqlite3_value **argv,
                         Vec0Vector *pOut) {
  return argVectorFlags(ctx, argv, 0, 0, VEC0_PARSE_NONFINITE, pOut);
}

/* Report a formatted error on ctx; always prefixed with "vec0: name(): ". */
static void funcError(sqlite3_context *ctx, const char *zFmt, ...) {
  va_list ap;
  char *zMsg;
  char *zFull;
  va_start(ap, zFmt);
  zMsg = sqlite3_vmprintf(zFmt, ap);
  va_end(ap);
  zFull = zMsg ? sqlite3_mprintf("vec0: %s(): %s", fnName(ctx), zMsg) : 0;
  if (zFull) {
    sqlite3_result_error(ctx, zFull, -1);
  } else {
    sqlite3_result_error_nomem(ctx);
  }
  sqlite3_free(zMsg);
  sqlite3_free(zFull);
}

/* Return nByte bytes at p (owned by sqlite3_malloc when bOwn) as a vector. */
static void resultBlob(sqlite3_context *ctx, Vec0ElemType eType,
                       const void *p, size_t nByte, int bOwn) {
  if (bOwn) {
    sqlite3_result_blob64(ctx, p, nByte, sqlite3_free);
  } else {
    sqlite3_result_blob64(ctx, p, nByte, SQLITE_TRANSIENT);
  }
  sqlite3_result_subtype(ctx, (unsigned int)vec0ElemSubtype(eType));
}

/* Return v itself, handing over its buffer when it owns one. */
static void resultVector(sqlite3_context *ctx, Vec0Vector *v) {
  size_t n = vec0ElemBytes(v->eType, v->nDim);
  if (v->pFree != 0 && v->pFree == v->p) {
    resultBlob(ctx, v->eType, v->pFree, n, 1);
    v->pFree = 0;
  } else {
    resultBlob(ctx, v->eType, v->p, n, 0);
  }
}

static void *allocOrError(sqlite3_context *ctx, size_t n) {
  void *p = sqlite3_malloc64(n ? n : 1);
  if (p == 0) sqlite3_result_error_nomem(ctx);
  return p;
}

/* ---- version, debug ---------------------------------------------------- */

static void fnVersion(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  sqlite3_result_text(ctx, VEC0_VERSION, -1, SQLITE_STATIC);
}

static void fnDebug(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  char *z = sqlite3_mprintf("Version: %s\nkernels: %s\nSQLite: %s",
                            VEC0_VERSION, vec0DistanceImpl(),
                            sqlite3_libversion());
  if (z == 0) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  sqlite3_result_text(ctx, z, -1, sqlite3_free);
}

/* ---- constructors and inspection --------------------------------------- */

/* vec_f32, vec_int8, vec_bit: the element type is the user data's tail. */
static void fnConstruct(sqlite3_context *ctx, Vec0ElemType eType,
                        sqlite3_value **argv) {
  Vec0Vector v;
  if (argVector(ctx, argv, 0, eType, &v)) return;
  resultVector(ctx, &v);
  vec0VectorClear(&v);
}
static void fnF32(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  fnConstruct(ctx, VEC0_ELEM_F32, argv);
}
static void fnInt8(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  fnConstruct(ctx, VEC0_ELEM_I8, argv);
}
static void fnBit(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  fnConstruct(ctx, VEC0_ELEM_BIT, argv);
}

static void fnLength(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  Vec0Vector v;
  if (argVectorShow(ctx, argv, &v)) return;
  sqlite3_result_int(ctx, v.nDim);
  vec0VectorClear(&v);
}

static void fnType(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  Vec0Vector v;
  if (argVectorShow(ctx, argv, &v)) return;
  sqlite3_result_text(ctx, vec0ElemName(v.eType), -1, SQLITE_STATIC);
  vec0VectorClear(&v);
}

/*
** JSON like sqlite-vec's: float32 elements with "%f" (SQLite's printf, the
** same digits sqlite-vec prints), int8 and bit elements as integers.  A NaN
** prints as null and an infinity as Inf or -Inf, sqlite-vec's spellings, so
** a stored vector holding them can be shown (and found) the same way.
*/
static void fnToJson(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  Vec0Vector v;
  const Vec0ElemDesc *d;
  sqlite3_str *pStr;
  int i;
  int rc;
  char *z;
  if (argVectorShow(ctx, argv, &v)) return;
  d = vec0ElemDesc(v.eType);
  pStr = sqlite3_str_new(sqlite3_context_db_handle(ctx));
  sqlite3_str_appendchar(pStr, 1, '[');
  for (i = 0; i < v.nDim; i++) {
    double x = d->xGet(v.p, i);
    if (i > 0) sqlite3_str_appendchar(pStr, 1, ',');
    if (d->bInteger) {
      sqlite3_str_appendf(pStr, "%d", (int)x);
    } else if (isnan(x)) {
      sqlite3_str_appendall(pStr, "null");
    } else if (isinf(x)) {
      sqlite3_str_appendall(pStr, x > 0 ? "Inf" : "-Inf");
    } else {
      /* -0.0 prints as 0.000000, as in sqlite-vec */
      sqlite3_str_appendf(pStr, "%f", x == 0 ? 0.0 : x);
    }
  }
  sqlite3_str_appendchar(pStr, 1, ']');
  vec0VectorClear(&v);
  rc = sqlite3_str_errcode(pStr);
  if (rc != SQLITE_OK) {
    /* a long vector's text can pass SQLite's length limit */
    sqlite3_free(sqlite3_str_finish(pStr));
    if (rc == SQLITE_TOOBIG) {
      sqlite3_result_error_toobig(ctx);
    } else {
      sqlite3_result_error_nomem(ctx);
    }
    return;
  }
  z = sqlite3_str_finish(pStr);
  sqlite3_result_text(ctx, z, -1, sqlite3_free);
  sqlite3_result_subtype(ctx, JSON_SUBTYPE);
}

/* ---- arithmetic --------------------------------------------------------- */

/*
** Parse both arguments and check they have the same type and length, the
** precondition of every two-vector function.  Non-zero on error (reported).
*/
static int argPair(sqlite3_context *ctx, sqlite3_value **argv, Vec0Vector *a,
                   Vec0Vector *b) {
  if (argVector(ctx, argv, 0, 0, a)) return 1;
  if (argVector(ctx, argv, 1, 0, b)) {
    vec0VectorClear(a);
    return 1;
  }
  if (a->eType != b->eType) {
    funcError(ctx, "vector type mismatch: the 1st argument is %s, the 2nd "
              "argument is %s", vec0ElemName(a->eType),
              vec0ElemName(b->eType));
  } else if (a->nDim != b->nDim) {
    funcError(ctx, "dimension mismatch: the 1st argument has length %d, the "
              "2nd argument has length %d", a->nDim, b->nDim);
  } else {
    return 0;
  }
  vec0VectorClear(a);
  vec0VectorClear(b);
  return 1;
}

/*
** vec_add and vec_sub.  int8 results wrap around like sqlite-vec's (two's
** complement: the int8 xSet does it); a float32 result that overflows to
** infinity is an error.  The sum of two elements is exact in double, so
** storing it rounds once, as float arithmetic would.
*/
static void addOrSub(sqlite3_context *ctx, sqlite3_value **argv, int bSub) {
  Vec0Vector a, b;
  const Vec0ElemDesc *d;
  void *pOut;
  int i;
  if (argPair(ctx, argv, &a, &b)) return;
  if (a.eType == VEC0_ELEM_BIT) {
    /* bits are a set, not numbers */
    funcError(ctx, "cannot %s bit vectors (1st and 2nd arguments)",
              bSub ? "subtract" : "add");
    goto out;
  }
  d = vec0ElemDesc(a.eType);
  pOut = allocOrError(ctx, vec0ElemBytes(a.eType, a.nDim));
  if (pOut == 0) goto out;
  for (i = 0; i < a.nDim; i++) {
    double x = d->xGet(a.p, i), y = d->xGet(b.p, i);
    d->xSet(pOut, i, bSub ? x - y : x + y);
    if (!d->bInteger && isinf(d->xGet(pOut, i))) {
      funcError(ctx, "element %d of the result overflows %s", i, d->zName);
      sqlite3_free(pOut);
      goto out;
    }
  }
  resultBlob(ctx, a.eType, pOut, vec0ElemBytes(a.eType, a.nDim), 1);
out:
  vec0VectorClear(&a);
  vec0VectorClear(&b);
}
static void fnAdd(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  addOrSub(ctx, argv, 0);
}
static void fnSub(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  addOrSub(ctx, argv, 1);
}

/*
** L2 normalization of a vector of a floating type (the result has the same
** type); the norm is computed in double.  float32 is the only such type
** today, which the message says.
*/
static void fnNormalize(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  Vec0Vector v;
  const Vec0ElemDesc *d;
  void *z;
  size_t n;
  double s = 0;
  int i;
  if (argVector(ctx, argv, 0, 0, &v)) return;
  d = vec0ElemDesc(v.eType);
  if (d->bInteger) {
    funcError(ctx, "only float32 vectors can be normalized; the 1st argument "
              "is %s", d->zName);
    goto out;
  }
  for (i = 0; i < v.nDim; i++) s += d->xGet(v.p, i) * d->xGet(v.p, i);
  if (s == 0) {
    funcError(ctx, "cannot normalize a zero vector (1st argument)");
    goto out;
  }
  s = sqrt(s);
  n = vec0ElemBytes(v.eType, v.nDim);
  z = allocOrError(ctx, n);
  if (z == 0) goto out;
  for (i = 0; i < v.nDim; i++) d->xSet(z, i, d->xGet(v.p, i) / s);
  resultBlob(ctx, v.eType, z, n, 1);
out:
  vec0VectorClear(&v);
}

/*
** An integer argument (vec_slice bounds).  Like sqlite-vec, text and reals
** that look like numbers are accepted (and reals truncated); anything else
** is an error.
*/
static int argInt(sqlite3_context *ctx, sqlite3_value **argv, int i,
                  const char *zName, sqlite3_int64 *piOut) {
  int e = sqlite3_value_numeric_type(argv[i]);
  if (e != SQLITE_INTEGER && e != SQLITE_FLOAT) {
    funcError(ctx, "'%s' (%s argument) must be an integer", zName,
              ordinal(i));
    return 1;
  }
  *piOut = sqlite3_value_int64(argv[i]);
  return 0;
}

/*
** vec_slice(v, start, end): dimensions [start, end).  For bit vectors both
** bounds must be multiples of 8, since a bit vector is a whole number of
** bytes; then every slice starts and ends on a byte, which vec0ElemBytes()
** counts for every type.
*/
static void fnSlice(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  Vec0Vector v;
  sqlite3_int64 iStart, iEnd;
  if (argVector(ctx, argv, 0, 0, &v)) return;
  if (argInt(ctx, argv, 1, "start", &iStart)) goto out;
  if (argInt(ctx, argv, 2, "end", &iEnd)) goto out;
  if (iStart < 0) {
    funcError(ctx, "'start' (2nd argument) must not be negative, got %lld",
              iStart);
  } else if (iEnd > v.nDim) {
    funcError(ctx, "'end' (3rd argument) is %lld, past the %d dimensions of "
              "the 1st argument", iEnd, v.nDim);
  } else if (iStart > iEnd) {
    funcError(ctx, "'start' (2nd argument, %lld) is greater than 'end' (3rd "
              "argument, %lld)", iStart, iEnd);
  } else if (iStart == iEnd) {
    funcError(ctx, "'start' and 'end' are both %lld: the slice would be an "
              "empty vector", iStart);
  } else if (v.eType == VEC0_ELEM_BIT && (iStart % 8 != 0 || iEnd % 8 != 0)) {
    funcError(ctx, "'start' and 'end' of a bit vector must be multiples of 8, "
              "got %lld and %lld", iStart, iEnd);
  } else {
    /* both within 0..nDim, so an int */
    resultBlob(ctx, v.eType,
               (const unsigned char *)v.p + vec0ElemBytes(v.eType, (int)iStart),
               vec0ElemBytes(v.eType, (int)(iEnd - iStart)), 0);
  }
out:
  vec0VectorClear(&v);
}

/* ---- distances ---------------------------------------------------------- */

/* By value, not bytes: -0.0 is zero. */
static int isZero(const Vec0Vector *v) {
  const Vec0ElemDesc *d = vec0ElemDesc(v->eType);
  int i;
  for (i = 0; i < v->nDim; i++) {
    if (d->xGet(v->p, i) != 0) return 0;
  }
  return 1;
}

/*
** The kernels are made for table vectors, at most VEC0_MAX_DIMS long (the
** SIMD int8 sums are 32-bit lanes, which a million dimensions overflow), so
** a longer vector is measured in slices of that length whose results are
** added in double.  Only for sums: callers split L2 and cosine into them.
** VEC0_MAX_DIMS is a multiple of 8, so a bit vector's slices are whole bytes.
*/
static double sliceSum(Vec0DistanceFn x, Vec0ElemType eType, const void *pA,
                       const void *pB, int nDim) {
  const unsigned char *a = pA, *b = pB;
  double s = 0;
  sqlite3_int64 i; /* 64-bit: the last step may pass INT_MAX */
  for (i = 0; i < nDim; i += VEC0_MAX_DIMS) {
    int n = (int)(nDim - i < VEC0_MAX_DIMS ? nDim - i : VEC0_MAX_DIMS);
    size_t off = vec0ElemBytes(eType, (int)i);
    s += x(a + off, b + off, n);
  }
  return s;
}

/* The distance of two vectors longer than VEC0_MAX_DIMS (neither zero). */
static double longDistance(const Vec0Vector *a, const Vec0Vector *b,
                           Vec0Metric eMetric) {
  Vec0ElemType e = a->eType;
  int n = a->nDim;
  if (eMetric == VEC0_METRIC_L2) {
    return sqrt(sliceSum(vec0DistanceFn(e, VEC0_METRIC_L2SQ), e, a->p, b->p,
                         n));
  }
  if (eMetric == VEC0_METRIC_COSINE) {
    /* the dot kernel returns the negative inner product */
    Vec0DistanceFn dot = vec0DistanceFn(e, VEC0_METRIC_DOT);
    double ab = -sliceSum(dot, e, a->p, b->p, n);
    double aa = -sliceSum(dot, e, a->p, a->p, n);
    double bb = -sliceSum(dot, e, b->p, b->p, n);
    return 1.0 - ab / (sqrt(aa) * sqrt(bb));
  }
  return sliceSum(vec0DistanceFn(e, eMetric), e, a->p, b->p, n);
}

/*
** In double, element by element: float32 vectors whose float distance came
** out Inf or NaN (elements of about 1e19 and more, whose squares overflow
** float), where the true distance is a finite double.
*/
static double doubleDistance(const Vec0Vector *a, const Vec0Vector *b, Vec0Metric eMetric) {
  const Vec0ElemDesc *d = vec0ElemDesc(a->eType);
  double s = 0, aa = 0, bb = 0;
  for (int i = 0; i < a->nDim; i++) {
    double x = d->xGet(a->p, i), y = d->xGet(b->p, i);
    switch (eMetric) {
      case VEC0_METRIC_L1: s += fabs(x - y); break;
      case VEC0_METRIC_DOT: s -= x * y; break;
      case VEC0_METRIC_COSINE:
        s += x * y;
        aa += x * x;
        bb += y * y;
        break;
      default: s += (x - y) * (x - y); break;
    }
  }
  if (eMetric == VEC0_METRIC_L2) return sqrt(s);
  if (eMetric == VEC0_METRIC_COSINE) return 1.0 - s / (sqrt(aa) * sqrt(bb));
  return s;
}

static void distance(sqlite3_context *ctx, sqlite3_value **argv,
                     Vec0Metric eMetric) {
  Vec0Vector a, b;
  Vec0DistanceFn x;
  double d;
  if (argPair(ctx, argv, &a, &b)) return;
  x = vec0DistanceFn(a.eType, eMetric);
  if (x == 0) {
    funcError(ctx, "%s distance is not defined for %s vectors (1st and 2nd "
              "arguments)", vec0MetricName(eMetric), vec0ElemName(a.eType));
    goto out;
  }
  /* 0/0: sqlite-vec returns NaN, which SQLite turns into NULL. */
  if (eMetric == VEC0_METRIC_COSINE && (isZero(&a) || isZero(&b))) {
    sqlite3_result_null(ctx);
    goto out;
  }
  if (a.nDim <= VEC0_MAX_DIMS) {
    d = x(a.p, b.p, a.nDim);
  } else {
    d = longDistance(&a, &b, eMetric);
  }
  if (!isfinite(d) && a.eType == VEC0_ELEM_F32) {
    sqlite3_result_double(ctx, doubleDistance(&a, &b, eMetric));
  } else if (eMetric == VEC0_METRIC_L1 && vec0ElemDesc(a.eType)->bInteger) {
    /* an exact integer, and sqlite-vec returns it as one for int8 (each
    ** slice's sum is below 2^24, so exact in float, and the total exact in
    ** double) */
    sqlite3_result_int64(ctx, (sqlite3_int64)d);
  } else if (a.nDim > VEC0_MAX_DIMS) {
    /* float precision, as for shorter vectors */
    sqlite3_result_double(ctx, (float)d);
  } else {
    sqlite3_result_double(ctx, d);
  }
out:
  vec0VectorClear(&a);
  vec0VectorClear(&b);
}
static void fnDistL2(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  distance(ctx, argv, VEC0_METRIC_L2);
}
static void fnDistL2sq(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  distance(ctx, argv, VEC0_METRIC_L2SQ);
}
static void fnDistCosine(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  distance(ctx, argv, VEC0_METRIC_COSINE);
}
static void fnDistL1(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  distance(ctx, argv, VEC0_METRIC_L1);
}
static void fnDistDot(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  distance(ctx, argv, VEC0_METRIC_DOT);
}
static void fnDistHamming(sqlite3_context *ctx, int argc,
                          sqlite3_value **argv) {
  distance(ctx, argv, VEC0_METRIC_HAMMING);
}

/* ---- quantization ------------------------------------------------------- */

/* Bit i of the result is set when element i is positive (> 0). */
static void fnQuantizeBinary(sqlite3_context *ctx, int argc,
                             sqlite3_value **argv) {
  const Vec0ElemDesc *bit = vec0ElemDesc(VEC0_ELEM_BIT);
  const Vec0ElemDesc *d;
  Vec0Vector v;
  unsigned char *z;
  int i;
  if (argVector(ctx, argv, 0, 0, &v)) return;
  d = vec0ElemDesc(v.eType);
  if (v.eType == VEC0_ELEM_BIT) {
    funcError(ctx, "the 1st argument is already a bit vector; only float32 "
              "and int8 vectors can be quantized");
    goto out;
  }
  if (v.nDim % 8 != 0) {
    funcError(ctx, "the length of the 1st argument (%d) must be a multiple "
              "of 8 for binary quantization", v.nDim);
    goto out;
  }
  z = allocOrError(ctx, (size_t)v.nDim / 8);
  if (z == 0) goto out;
  memset(z, 0, (size_t)v.nDim / 8);
  for (i = 0; i < v.nDim; i++) {
    if (d->xGet(v.p, i) > 0) bit->xSet(z, i, 1);
  }
  resultBlob(ctx, VEC0_ELEM_BIT, z, (size_t)v.nDim / 8, 1);
out:
  vec0VectorClear(&v);
}

/*
** vec_quantize_int8(v, 'unit'): maps [-1, 1] onto the 256 int8 values in
** steps of 2/255, truncating toward zero and clamping outside the range.
** The arithmetic (a float step, the rest in double) is sqlite-vec's, so the
** two give the same bytes.
*/
static void fnQuantizeInt8(sqlite3_context *ctx, int argc,
                           sqlite3_value **argv) {
  Vec0Vector v;
  const char *zMode = (const char *)sqlite3_value_text(argv[1]);
  const float step = (float)((1.0 - (-1.0)) / 255);
  const Vec0ElemDesc *d;
  int8_t *z;
  int i;
  if (argVector(ctx, argv, 0, 0, &v)) return;
  d = vec0ElemDesc(v.eType);
  if (zMode == 0 || sqlite3_stricmp(zMode, "unit") != 0) {
    funcError(ctx, "the 2nd argument must be 'unit'");
    goto out;
  }
  if (d->bInteger) {
    funcError(ctx, "only float32 vectors can be quantized to int8; the 1st "
              "argument is %s", d->zName);
    goto out;
  }
  z = allocOrError(ctx, (size_t)v.nDim);
  if (z == 0) goto out;
  for (i = 0; i < v.nDim; i++) {
    double q = (d->xGet(v.p, i) + 1.0) / step - 128;
    if (q > 127) q = 127;
    if (q < -128) q = -128;
    z[i] = (int8_t)q;
  }
  resultBlob(ctx, VEC0_ELEM_I8, z, (size_t)v.nDim, 1);
out:
  vec0VectorClear(&v);
}

/* ---- vec_each ----------------------------------------------------------- */

/*
** vec_each(v): one row per element, rowid = index (from 0), column `value`
** (REAL for float32, INTEGER for int8 and bit) and the hidden argument
** column `vector`.  Eponymous only: it cannot be CREATEd.
*/
typedef struct EachCursor {
  sqlite3_vtab_cursor base;
  Vec0Vector v;  /* v.p points at aCopy: argv values do not outlive xFilter */
  void *aCopy;
  int i;
} EachCursor;

#define EACH_COL_VALUE 0
#define EACH_COL_VECTOR 1

static int eachConnect(sqlite3 *db, void *pAux, int argc,
                       const char *const *argv, sqlite3_vtab **ppVtab,
                       char **pzErr) {
  sqlite3_vtab *p;
  int rc = sqlite3_declare_vtab(db, "CREATE TABLE x(value, vector HIDDEN)");
  if (rc != SQLITE_OK) return rc;
  p = sqlite3_malloc64(sizeof(*p));
  if (p == 0) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  *ppVtab = p;
  return SQLITE_OK;
}

static int eachDisconnect(sqlite3_vtab *p) {
  sqlite3_free(p);
  return SQLITE_OK;
}

/* The plan needs vector = ?; without it there is nothing to iterate. */
static int eachBestIndex(sqlite3_vtab *p, sqlite3_index_info *pInfo) {
  int i;
  for (i = 0; i < pInfo->nConstraint; i++) {
    const struct sqlite3_index_constraint *c = &pInfo->aConstraint[i];
    if (c->iColumn == EACH_COL_VECTOR && c->op == SQLITE_INDEX_CONSTRAINT_EQ) {
      if (!c->usable) return SQLITE_CONSTRAINT;
      pInfo->aConstraintUsage[i].argvIndex = 1;
      pInfo->aConstraintUsage[i].omit = 1;
      pInfo->idxNum = 1;
      pInfo->estimatedCost = 100;
      pInfo->estimatedRows = 100;
      return SQLITE_OK;
    }
  }
  sqlite3_free(p->zErrMsg);
  p->zErrMsg = sqlite3_mprintf("vec0: vec_each() needs a vector argument, "
                               "as in vec_each(v)");
  return SQLITE_ERROR;
}

static int eachOpen(sqlite3_vtab *p, sqlite3_vtab_cursor **ppCur) {
  EachCursor *pCur = sqlite3_malloc64(sizeof(*pCur));
  if (pCur == 0) return SQLITE_NOMEM;
  memset(pCur, 0, sizeof(*pCur));
  *ppCur = &pCur->base;
  return SQLITE_OK;
}

static void eachReset(EachCursor *pCur) {
  sqlite3_free(pCur->aCopy);
  pCur->aCopy = 0;
  memset(&pCur->v, 0, sizeof(pCur->v));
  pCur->i = 0;
}

static int eachClose(sqlite3_vtab_cursor *p) {
  eachReset((EachCursor *)p);
  sqlite3_free(p);
  return SQLITE_OK;
}

static int eachFilter(sqlite3_vtab_cursor *p, int idxNum, const char *idxStr,
                      int argc, sqlite3_value **argv) {
  EachCursor *pCur = (EachCursor *)p;
  Vec0Vector v;
  char *zErr = 0;
  size_t n;
  int rc;
  eachReset(pCur);
  if (argc < 1) return SQLITE_ERROR; /* the plan always passes one */
  /* Shows the vector, so NaN and infinity are let through (as in
  ** vec_to_json) and any length is taken (as in every function). */
  rc = vec0VectorParse(argv[0], 0, VEC0_PARSE_ANY_LENGTH | VEC0_PARSE_NONFINITE,
                       "1st argument of vec_each()", &v, &zErr);
  if (rc != SQLITE_OK) {
    sqlite3_free(p->pVtab->zErrMsg);
    p->pVtab->zErrMsg = zErr;
    return rc;
  }
  n = vec0ElemBytes(v.eType, v.nDim);
  pCur->aCopy = sqlite3_malloc64(n);
  if (pCur->aCopy == 0) {
    vec0VectorClear(&v);
    return SQLITE_NOMEM;
  }
  memcpy(pCur->aCopy, v.p, n);
  pCur->v.eType = v.eType;
  pCur->v.nDim = v.nDim;
  pCur->v.p = pCur->aCopy;
  vec0VectorClear(&v);
  return SQLITE_OK;
}

static int eachNext(sqlite3_vtab_cursor *p) {
  ((EachCursor *)p)->i++;
  return SQLITE_OK;
}

static int eachEof(sqlite3_vtab_cursor *p) {
  EachCursor *pCur = (EachCursor *)p;
  return pCur->i >= pCur->v.nDim;
}

static int eachColumn(sqlite3_vtab_cursor *p, sqlite3_context *ctx, int i) {
  EachCursor *pCur = (EachCursor *)p;
  if (i == EACH_COL_VALUE) {
    const Vec0ElemDesc *d = vec0ElemDesc(pCur->v.eType);
    double x = d->xGet(pCur->v.p, pCur->i);
    if (d->bInteger) {
      sqlite3_result_int(ctx, (int)x);
    } else {
      sqlite3_result_double(ctx, x);
    }
  } else {
    resultBlob(ctx, pCur->v.eType, pCur->v.p,
               vec0ElemBytes(pCur->v.eType, pCur->v.nDim), 0);
  }
  return SQLITE_OK;
}

static int eachRowid(sqlite3_vtab_cursor *p, sqlite3_int64 *pRowid) {
  *pRowid = ((EachCursor *)p)->i;
  return SQLITE_OK;
}

/* No xCreate: that makes the table eponymous-only. */
static sqlite3_module eachModule = {
    .iVersion = 0,
    .xConnect = eachConnect,
    .xBestIndex = eachBestIndex,
    .xDisconnect = eachDisconnect,
    .xOpen = eachOpen,
    .xClose = eachClose,
    .xFilter = eachFilter,
    .xNext = eachNext,
    .xEof = eachEof,
    .xColumn = eachColumn,
    .xRowid = eachRowid,
};

/* ---- registration ------------------------------------------------------- */

#define F_PURE (SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS)
#define F_VEC (F_PURE | SQLITE_SUBTYPE)         /* reads vector subtypes */
#define F_VECOUT (F_VEC | SQLITE_RESULT_SUBTYPE) /* and sets one */

int vec0FuncRegister(sqlite3 *db) {
  static const struct {
    const char *zName;
    int nArg;
    int flags;
    void (*xFunc)(sqlite3_context *, int, sqlite3_value **);
  } aFunc[] = {
      {"vec_version", 0, F_PURE, fnVersion},
      {"vec_debug", 0, F_PURE, fnDebug},
      {"vec_f32", 1, F_VECOUT, fnF32},
      {"vec_int8", 1, F_VECOUT, fnInt8},
      {"vec_bit", 1, F_VECOUT, fnBit},
      {"vec_length", 1, F_VEC, fnLength},
      {"vec_type", 1, F_VEC, fnType},
      {"vec_to_json", 1, F_VECOUT, fnToJson},
      {"vec_add", 2, F_VECOUT, fnAdd},
      {"vec_sub", 2, F_VECOUT, fnSub},
      {"vec_normalize", 1, F_VECOUT, fnNormalize},
      {"vec_slice", 3, F_VECOUT, fnSlice},
      {"vec_distance_l2", 2, F_VEC, fnDistL2},
      {"vec_distance_l2sq", 2, F_VEC, fnDistL2sq},
      {"vec_distance_cosine", 2, F_VEC, fnDistCosine},
      {"vec_distance_l1", 2, F_VEC, fnDistL1},
      {"vec_distance_dot", 2, F_VEC, fnDistDot},
      {"vec_distance_hamming", 2, F_VEC, fnDistHamming},
      {"vec_quantize_binary", 1, F_VECOUT, fnQuantizeBinary},
      {"vec_quantize_int8", 2, F_VECOUT, fnQuantizeInt8},
  };
  int rc = SQLITE_OK;
  size_t i;
  for (i = 0; rc == SQLITE_OK && i < sizeof(aFunc) / sizeof(aFunc[0]); i++) {
    rc = sqlite3_create_function_v2(db, aFunc[i].zName, aFunc[i].nArg,
                                    aFunc[i].flags, (void *)aFunc[i].zName,
                                    aFunc[i].xFunc, 0, 0, 0);
  }
  if (rc == SQLITE_OK) {
    rc = sqlite3_create_module_v2(db, "vec_each", &eachModule, 0, 0);
  }
  return rc;
}
