/*
** check_vector.c: unit tests of the vector parser (vec0_vector.c), driven
** through a real in-memory SQLite connection: values are bound to
** "SELECT t_parse(?1, ?2)", where t_parse() is a test function that hands its
** argument to vec0VectorFromValue() and records what came back.  Going
** through SQLite means BLOBs, TEXT, NULLs and subtypes arrive exactly as they
** do in production.  The element table (vec0_elem.c) is checked here too,
** row by row, without SQLite.
*/
#include "vec0Int.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the last t_parse() call saw. */
static struct {
  int rc;
  Vec0ElemType eType;
  int nDim;
  unsigned char a[VEC0_MAX_DIMS * 4];
  char zErr[512];
} res;

static sqlite3 *db;
/* -1: t_parse() calls vec0VectorFromValue() (the tables' parser); else
** vec0VectorParse() with these flags (the functions'). */
static int parseFlags = -1;

static void tParse(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  Vec0Vector v;
  char *zErr = 0;
  int eExpect = sqlite3_value_int(argv[1]);
  memset(&res, 0, sizeof(res));
  if (parseFlags < 0) {
    res.rc = vec0VectorFromValue(argv[0], eExpect, "test arg", &v, &zErr);
  } else {
    res.rc = vec0VectorParse(argv[0], eExpect, parseFlags, "test arg", &v,
                             &zErr);
  }
  if (res.rc == SQLITE_OK) {
    ck_assert_ptr_null(zErr);
    res.eType = v.eType;
    res.nDim = v.nDim;
    ck_assert(v.nDim >= 1);
    ck_assert(v.nDim <= VEC0_MAX_DIMS ||
              (parseFlags >= 0 && (parseFlags & VEC0_PARSE_ANY_LENGTH)));
    /* the first VEC0_MAX_DIMS float32s' worth of bytes */
    memcpy(res.a, v.p,
           vec0ElemBytes(v.eType, v.nDim) < sizeof(res.a)
               ? vec0ElemBytes(v.eType, v.nDim)
               : sizeof(res.a));
    /* float32 data handed to the kernels is always aligned */
    if (v.eType == VEC0_ELEM_F32) ck_assert(((uintptr_t)v.p & 3) == 0);
  } else {
    ck_assert_ptr_nonnull(zErr);
    ck_assert_ptr_null(v.p);
    ck_assert_ptr_null(v.pFree);
    snprintf(res.zErr, sizeof(res.zErr), "%s", zErr);
  }
  sqlite3_free(zErr);
  vec0VectorClear(&v);
  sqlite3_result_int(ctx, res.rc);
}

static void setup(void) {
  parseFlags = -1;
  ck_assert_int_eq(sqlite3_open(":memory:", &db), SQLITE_OK);
  ck_assert_int_eq(sqlite3_create_function(db, "t_parse", 2,
                                           SQLITE_UTF8 | SQLITE_SUBTYPE, 0,
                                           tParse, 0, 0),
                   SQLITE_OK);
  ck_assert_int_eq(vec0FuncRegister(db), SQLITE_OK);
}

static void teardown(void) {
  sqlite3_close(db);
  db = 0;
}

/* Run sql (which uses ?1 and ?2) with ?2 = eExpect; ?1 bound by the caller. */
static sqlite3_stmt *prep(const char *zSql) {
  sqlite3_stmt *p = 0;
  ck_assert_int_eq(sqlite3_prepare_v2(db, zSql, -1, &p, 0), SQLITE_OK);
  return p;
}
static int run(sqlite3_stmt *p, int eExpect) {
  sqlite3_bind_int(p, 2, eExpect);
  ck_assert_int_eq(sqlite3_step(p), SQLITE_ROW);
  sqlite3_finalize(p);
  return res.rc;
}

static int parseText(const char *z, int eExpect) {
  sqlite3_stmt *p = prep("SELECT t_parse(?1, ?2)");
  sqlite3_bind_text(p, 1, z, -1, SQLITE_TRANSIENT);
  return run(p, eExpect);
}
static int parseBlob(const void *a, int n, int eExpect) {
  sqlite3_stmt *p = prep("SELECT t_parse(?1, ?2)");
  sqlite3_bind_blob(p, 1, a, n, SQLITE_TRANSIENT);
  return run(p, eExpect);
}
/* zExpr is SQL built around ?1, e.g. "vec_int8(?1)", so it has a subtype. */
static int parseExpr(const char *zExpr, const char *zArg, int eExpect) {
  char zSql[200];
  sqlite3_stmt *p;
  snprintf(zSql, sizeof(zSql), "SELECT t_parse(%s, ?2)", zExpr);
  p = prep(zSql);
  if (zArg) sqlite3_bind_text(p, 1, zArg, -1, SQLITE_TRANSIENT);
  return run(p, eExpect);
}

static float resF32(int i) {
  float f;
  memcpy(&f, &res.a[i * 4], 4);
  return f;
}

/* An error whose message starts with "vec0: ", names the argument and
** contains zWhy. */
static void assertError(int rc, const char *zWhy) {
  ck_assert_int_eq(rc, SQLITE_ERROR);
  ck_assert_msg(strncmp(res.zErr, "vec0: test arg: ", 16) == 0,
                "message: %s", res.zErr);
  ck_assert_msg(strstr(res.zErr, zWhy) != 0, "'%s' not in: %s", zWhy,
                res.zErr);
}

START_TEST(test_elem_helpers) {
  ck_assert_int_eq(vec0ElemBytes(VEC0_ELEM_F32, 3), 12);
  ck_assert_int_eq(vec0ElemBytes(VEC0_ELEM_I8, 3), 3);
  ck_assert_int_eq(vec0ElemBytes(VEC0_ELEM_BIT, 16), 2);
  ck_assert_int_eq(vec0ElemBytes(VEC0_ELEM_BIT, 9), 2);
  ck_assert_int_eq(vec0ElemBytes(VEC0_ELEM_F32, 0), 0);
  ck_assert_str_eq(vec0ElemName(VEC0_ELEM_F32), "float32");
  ck_assert_str_eq(vec0ElemName(VEC0_ELEM_I8), "int8");
  ck_assert_str_eq(vec0ElemName(VEC0_ELEM_BIT), "bit");
  ck_assert_int_eq(vec0ElemSubtype(VEC0_ELEM_F32), 223);
  ck_assert_int_eq(vec0ElemSubtype(VEC0_ELEM_I8), 225);
  ck_assert_int_eq(vec0ElemSubtype(VEC0_ELEM_BIT), 224);
}
END_TEST

/*
** Every row of the element table (vec0_elem.c) agrees with the helpers the
** rest of the code calls, and its xGet/xSet read and write the layout the
** format describes (vec0Int.h), without touching a neighbouring element or
** a byte past vec0ElemBytes().  A new row is checked here without a line
** of this test changing.
*/
START_TEST(test_elem_table) {
  static const Vec0Metric aMetric[] = {VEC0_METRIC_L2, VEC0_METRIC_COSINE,
                                       VEC0_METRIC_L1, VEC0_METRIC_DOT,
                                       VEC0_METRIC_HAMMING, VEC0_METRIC_L2SQ};
  const Vec0ElemDesc *d;
  int i, j, k, nKernel;
  ck_assert_ptr_null(vec0ElemDesc((Vec0ElemType)0));
  ck_assert_ptr_null(vec0ElemDesc((Vec0ElemType)99));
  ck_assert_ptr_null(vec0ElemBySubtype(0));
  ck_assert_int_eq((int)vec0ElemBytes((Vec0ElemType)99, 8), 0);
  ck_assert_ptr_nonnull(vec0ElemAt(0));
  for (i = 0; (d = vec0ElemAt(i)) != 0; i++) {
    enum { N = 67 }; /* odd: a bit vector's last byte is part used */
    unsigned char buf[N * 8 + 16];
    size_t nByte = vec0ElemBytes(d->eType, N);
    double aVal[N];
    const Vec0ElemDesc *e;
    /* the lookups and helpers agree with the row */
    ck_assert_ptr_eq(vec0ElemDesc(d->eType), d);
    ck_assert_ptr_eq(vec0ElemBySubtype((unsigned)d->subtype), d);
    ck_assert_str_eq(vec0ElemName(d->eType), d->zName);
    ck_assert_int_eq(vec0ElemSubtype(d->eType), d->subtype);
    ck_assert(d->nBits == 1 || d->nBits % 8 == 0);
    ck_assert(strncmp(d->zArticle, "a ", 2) == 0 || strncmp(d->zArticle, "an ", 3) == 0);
    ck_assert_str_eq(strchr(d->zArticle, ' ') + 1, d->zName);
    ck_assert_int_eq((int)vec0ElemBytes(d->eType, 0), 0);
    for (k = 1; k <= 100; k++) {
      ck_assert_int_eq((int)vec0ElemBytes(d->eType, k), (k * d->nBits + 7) / 8);
    }
    /* names, types and subtypes are unique */
    for (j = 0; (e = vec0ElemAt(j)) != 0; j++) {
      if (j == i) continue;
      ck_assert_int_ne(e->eType, d->eType);
      ck_assert_int_ne(e->subtype, d->subtype);
      ck_assert_str_ne(e->zName, d->zName);
    }
    /* the kernels the row names are the portable ones the dispatch falls
    ** back on, and a pair has a kernel exactly when the row has one */
    nKernel = 0;
    for (k = 0; k < (int)(sizeof(aMetric) / sizeof(aMetric[0])); k++) {
      Vec0DistanceFn x = d->xKernel(aMetric[k]);
      ck_assert_ptr_eq(vec0DistancePortable(d->eType, aMetric[k]), x);
      ck_assert_int_eq(vec0DistanceFn(d->eType, aMetric[k]) != 0, x != 0);
      nKernel += x != 0;
    }
    ck_assert_int_gt(nKernel, 0);
    /* xSet then xGet gives each value back, neighbours and the bytes past
    ** the vector untouched: values every type of its kind holds exactly */
    memset(buf, 0xa5, sizeof(buf));
    memset(buf, 0, nByte);
    for (k = 0; k < N; k++) {
      if (d->nBits == 1) {
        aVal[k] = (k * 7 + 3) % 3 == 0;
      } else if (d->bInteger) {
        double lo = -ldexp(1, d->nBits - 1);
        aVal[k] = lo + (k * 37) % (int)ldexp(1, d->nBits < 16 ? d->nBits : 16);
      } else {
        aVal[k] = (k - N / 2) * 0.25;
      }
      d->xSet(buf, k, aVal[k]);
    }
    for (k = 0; k < N; k++) ck_assert_msg(d->xGet(buf, k) == aVal[k], "%s element %d", d->zName, k);
    for (k = (int)nByte; k < (int)sizeof(buf); k++) ck_assert_int_eq(buf[k], 0xa5);
    /* the stored bytes are the format's */
    for (k = 0; k < N; k++) {
      double raw;
      if (d->eType == VEC0_ELEM_F32) {
        float f;
        memcpy(&f, buf + 4 * k, 4);
        raw = f;
      } else if (d->eType == VEC0_ELEM_I8) {
        raw = (int8_t)buf[k];
      } else if (d->eType == VEC0_ELEM_BIT) {
        raw = (buf[k >> 3] >> (k & 7)) & 1;
      } else {
        break; /* a type this test predates: the round trip above holds */
      }
      ck_assert(raw == aVal[k]);
    }
    /* an integer type wraps around (int8 vec_add); a bit is set by any
    ** non-zero value and cleared by zero */
    if (d->bInteger && d->nBits >= 8) {
      d->xSet(buf, 1, ldexp(1, d->nBits - 1));
      ck_assert(d->xGet(buf, 1) == -ldexp(1, d->nBits - 1));
      ck_assert(d->xGet(buf, 0) == aVal[0] && d->xGet(buf, 2) == aVal[2]);
    } else if (d->nBits == 1) {
      d->xSet(buf, 9, 5);
      ck_assert(d->xGet(buf, 9) == 1);
      d->xSet(buf, 9, 0);
      ck_assert(d->xGet(buf, 9) == 0);
      ck_assert(d->xGet(buf, 8) == aVal[8] && d->xGet(buf, 10) == aVal[10]);
    }
  }
  /* the three of sqlite-vec, with its subtypes */
  ck_assert_int_eq(vec0ElemDesc(VEC0_ELEM_F32)->subtype, VEC0_SUBTYPE_F32);
  ck_assert_int_eq(vec0ElemDesc(VEC0_ELEM_I8)->subtype, VEC0_SUBTYPE_I8);
  ck_assert_int_eq(vec0ElemDesc(VEC0_ELEM_BIT)->subtype, VEC0_SUBTYPE_BIT);
}
END_TEST

START_TEST(test_json_f32_good) {
  ck_assert_int_eq(parseText("[1,2.5]", 0), SQLITE_OK);
  ck_assert_int_eq(res.eType, VEC0_ELEM_F32);
  ck_assert_int_eq(res.nDim, 2);
  ck_assert_float_eq(resF32(0), 1.0f);
  ck_assert_float_eq(resF32(1), 2.5f);

  ck_assert_int_eq(parseText(" \t[ -1e-3 ,0, 3.5E2,-0.0 ,1E+1]\r\n", 0),
                   SQLITE_OK);
  ck_assert_int_eq(res.nDim, 5);
  ck_assert_float_eq(resF32(0), -1e-3f);
  ck_assert_float_eq(resF32(1), 0.0f);
  ck_assert_float_eq(resF32(2), 350.0f);
  ck_assert_float_eq(resF32(4), 10.0f);

  ck_assert_int_eq(parseText("[3.4028234e38, 1e-50]", VEC0_ELEM_F32),
                   SQLITE_OK); /* underflow to 0 is fine, overflow is not */
  ck_assert_float_eq(resF32(1), 0.0f);
  ck_assert_int_eq(parseText("[0.1]", 0), SQLITE_OK);
  ck_assert_float_eq(resF32(0), 0.1f); /* correctly rounded */

  /* outside JSON, but with one plain meaning, and sqlite-vec takes them */
  ck_assert_int_eq(parseText("[.5, 1., +1, -.5, +.25e1, 1.e2]", 0), SQLITE_OK);
  ck_assert_int_eq(res.nDim, 6);
  ck_assert_float_eq(resF32(0), 0.5f);
  ck_assert_float_eq(resF32(1), 1.0f);
  ck_assert_float_eq(resF32(2), 1.0f);
  ck_assert_float_eq(resF32(3), -0.5f);
  ck_assert_float_eq(resF32(4), 2.5f);
  ck_assert_float_eq(resF32(5), 100.0f);
}
END_TEST

START_TEST(test_json_f32_bad) {
  assertError(parseText("[1,2", 0), "malformed JSON");
  assertError(parseText("[1,2]x", 0), "after ']'");
  assertError(parseText("[1,2] ]", 0), "after ']'");
  assertError(parseText("[1,]", 0), "expected a number");
  assertError(parseText("[,1]", 0), "expected a number");
  assertError(parseText("[1,,2]", 0), "expected a number");
  assertError(parseText("[1 2]", 0), "expected ',' or ']'");
  assertError(parseText("1,2", 0), "expected '['");
  assertError(parseText("{}", 0), "expected '['");
  assertError(parseText("", 0), "empty text");
  assertError(parseText("   ", 0), "empty text");
  assertError(parseText("[", 0), "at the end");
  assertError(parseText("[]", 0), "empty vector");
  assertError(parseText("[ \n ]", 0), "empty vector");
  assertError(parseText("[NaN]", 0), "NaN and infinity");
  assertError(parseText("[nan]", 0), "NaN and infinity");
  assertError(parseText("[1,Infinity]", 0), "NaN and infinity");
  assertError(parseText("[-Infinity]", 0), "NaN and infinity");
  assertError(parseText("[inf]", 0), "NaN and infinity");
  assertError(parseText("[1e39]", 0), "out of the float32 range");
  assertError(parseText("[-3.5e38]", 0), "out of the float32 range");
  assertError(parseText("[1e999]", 0), "out of the float32 range");
  assertError(parseText("[.]", 0), "expected a number");
  assertError(parseText("[+]", 0), "expected a number");
  assertError(parseText("[-.]", 0), "expected a number");
  assertError(parseText("[.e1]", 0), "expected a number");
  assertError(parseText("[+-1]", 0), "expected a number");
  assertError(parseText("[1.5.]", 0), "expected ',' or ']'");
  assertError(parseText("[+01]", 0), "expected ',' or ']'");
  assertError(parseText("[1e]", 0), "malformed JSON");
  assertError(parseText("[01]", 0), "expected ',' or ']'");
  assertError(parseText("[0x10]", 0), "expected ',' or ']'");
  assertError(parseText("[\"1\"]", 0), "expected a number");
  assertError(parseText("[[1]]", 0), "expected a number");
  assertError(parseText("[true]", 0), "expected a number");
  assertError(parseText("[-]", 0), "expected a number");
}
END_TEST

/* A NUL inside the text must not end the parse early and succeed. */
START_TEST(test_json_embedded_nul) {
  static const char z[] = "[1,2]\0garbage";
  sqlite3_stmt *p = prep("SELECT t_parse(?1, ?2)");
  sqlite3_bind_text(p, 1, z, (int)sizeof(z) - 1, SQLITE_TRANSIENT);
  assertError(run(p, 0), "NUL character in the text; bind a binary vector "
                         "as a BLOB");
}
END_TEST

START_TEST(test_json_dims) {
  /* 8192 elements are fine, 8193 are not */
  size_t n = 8193 * 2 + 4;
  char *z = malloc(n);
  int i;
  z[0] = '[';
  for (i = 0; i < 8193; i++) {
    z[1 + 2 * i] = (char)('0' + i % 10);
    z[2 + 2 * i] = ',';
  }
  z[2 + 2 * 8191] = ']';
  z[3 + 2 * 8191] = 0;
  ck_assert_int_eq(parseText(z, 0), SQLITE_OK);
  ck_assert_int_eq(res.nDim, 8192);
  ck_assert_float_eq(resF32(8191), 1.0f);
  z[2 + 2 * 8191] = ',';
  z[3 + 2 * 8191] = '7'; /* element 8192, where the NUL was */
  z[2 + 2 * 8192] = ']';
  z[3 + 2 * 8192] = 0;
  assertError(parseText(z, 0), "maximum of 8192");
  assertError(parseText(z, VEC0_ELEM_I8), "maximum of 8192");
  free(z);
}
END_TEST

START_TEST(test_json_int8) {
  ck_assert_int_eq(parseText("[-128, 127, 0, -0, 5]", VEC0_ELEM_I8), SQLITE_OK);
  ck_assert_int_eq(res.eType, VEC0_ELEM_I8);
  ck_assert_int_eq(res.nDim, 5);
  ck_assert_int_eq((int8_t)res.a[0], -128);
  ck_assert_int_eq((int8_t)res.a[1], 127);
  ck_assert_int_eq((int8_t)res.a[3], 0);
  ck_assert_int_eq((int8_t)res.a[4], 5);
  assertError(parseText("[128]", VEC0_ELEM_I8), "outside -128..127");
  assertError(parseText("[-129]", VEC0_ELEM_I8), "outside -128..127");
  assertError(parseText("[99999999999999999999999]", VEC0_ELEM_I8),
              "outside -128..127");
  assertError(parseText("[1.5]", VEC0_ELEM_I8), "not an integer");
  assertError(parseText("[1.0]", VEC0_ELEM_I8), "not an integer");
  assertError(parseText("[1e2]", VEC0_ELEM_I8), "not an integer");
  assertError(parseText("[1.]", VEC0_ELEM_I8), "not an integer");
  assertError(parseText("[.5]", VEC0_ELEM_I8), "not an integer");
  assertError(parseText("[+128]", VEC0_ELEM_I8), "outside -128..127");
  ck_assert_int_eq(parseText("[+1, +0]", VEC0_ELEM_I8), SQLITE_OK);
  ck_assert_int_eq((int8_t)res.a[0], 1);
  assertError(parseText("[1,2", VEC0_ELEM_I8), "malformed JSON");
  assertError(parseText("[]", VEC0_ELEM_I8), "empty vector");
}
END_TEST

START_TEST(test_json_bit_refused) {
  assertError(parseText("[1,0,1]", VEC0_ELEM_BIT), "must be a BLOB");
}
END_TEST

START_TEST(test_blob_f32) {
  static const unsigned char a[] = {0, 0, 0x80, 0x3f, 0, 0, 0x20, 0x40};
  static const unsigned char aNan[] = {0, 0, 0x80, 0x3f, 0, 0, 0xc0, 0x7f};
  static const unsigned char aInf[] = {0, 0, 0x80, 0xff};
  ck_assert_int_eq(parseBlob(a, 8, 0), SQLITE_OK);
  ck_assert_int_eq(res.eType, VEC0_ELEM_F32);
  ck_assert_int_eq(res.nDim, 2);
  ck_assert_float_eq(resF32(0), 1.0f);
  ck_assert_float_eq(resF32(1), 2.5f);
  ck_assert_int_eq(parseBlob(a, 8, VEC0_ELEM_F32), SQLITE_OK);
  assertError(parseBlob(a, 7, 0), "must be a multiple of 4 (length 7)");
  assertError(parseBlob(a, 3, VEC0_ELEM_F32), "(length 3)");
  assertError(parseBlob(a, 0, 0), "empty vector");
  assertError(parseBlob(aNan, 8, 0), "element 1 is NaN");
  assertError(parseBlob(aInf, 4, 0), "element 0 is infinite");
}
END_TEST

START_TEST(test_blob_sizes) {
  unsigned char *a = calloc(8193 * 4, 1);
  ck_assert_int_eq(parseBlob(a, 8192 * 4, 0), SQLITE_OK);
  ck_assert_int_eq(res.nDim, 8192);
  assertError(parseBlob(a, 8193 * 4, 0), "maximum of 8192");
  ck_assert_int_eq(parseBlob(a, 8192, VEC0_ELEM_I8), SQLITE_OK);
  assertError(parseBlob(a, 8193, VEC0_ELEM_I8), "maximum of 8192");
  ck_assert_int_eq(parseBlob(a, 1024, VEC0_ELEM_BIT), SQLITE_OK);
  ck_assert_int_eq(res.nDim, 8192);
  assertError(parseBlob(a, 1025, VEC0_ELEM_BIT), "maximum of 8192");
  free(a);
}
END_TEST

/*
** The scalar functions' parser: no 8192 cap (the allocation for JSON text
** follows its commas, not its length), and with VEC0_PARSE_NONFINITE a
** float32 BLOB may hold NaN and infinity, which JSON text still may not.
*/
START_TEST(test_parse_any_length) {
  int nBig = 100000;
  unsigned char *a = calloc((size_t)nBig * 4, 1);
  char *z = malloc((size_t)nBig * 2 + 2);
  int i;
  parseFlags = VEC0_PARSE_ANY_LENGTH;
  ck_assert_int_eq(parseBlob(a, nBig * 4, 0), SQLITE_OK);
  ck_assert_int_eq(res.nDim, nBig);
  ck_assert_int_eq(parseBlob(a, nBig, VEC0_ELEM_I8), SQLITE_OK);
  ck_assert_int_eq(res.nDim, nBig);
  ck_assert_int_eq(parseBlob(a, nBig, VEC0_ELEM_BIT), SQLITE_OK);
  ck_assert_int_eq(res.nDim, nBig * 8);
  z[0] = '[';
  for (i = 0; i < nBig; i++) {
    z[1 + 2 * i] = (char)('0' + i % 10);
    z[2 + 2 * i] = ',';
  }
  z[2 * nBig] = ']';
  z[2 * nBig + 1] = 0;
  ck_assert_int_eq(parseText(z, 0), SQLITE_OK);
  ck_assert_int_eq(res.nDim, nBig);
  ck_assert_float_eq(resF32(8191), 1.0f);
  ck_assert_int_eq(parseText(z, VEC0_ELEM_I8), SQLITE_OK);
  ck_assert_int_eq(res.nDim, nBig);
  /* long numbers: few commas, so a small allocation, the same values */
  ck_assert_int_eq(parseText("[1.00000000000000000000000000000000000000, "
                             "   2.5000000000000000000000000000000000000]",
                             0), SQLITE_OK);
  ck_assert_int_eq(res.nDim, 2);
  ck_assert_float_eq(resF32(1), 2.5f);
  /* still strict about everything else */
  assertError(parseText("[1,]", 0), "expected a number");
  assertError(parseBlob(a, 7, 0), "multiple of 4");
  /* and the tables' parser keeps its cap */
  parseFlags = -1;
  assertError(parseBlob(a, nBig * 4, 0), "maximum of 8192");
  assertError(parseText(z, 0), "maximum of 8192");
  parseFlags = 0;
  assertError(parseBlob(a, nBig * 4, 0), "maximum of 8192");
  free(a);
  free(z);
}
END_TEST

START_TEST(test_parse_nonfinite) {
  static const unsigned char aNan[] = {0, 0, 0x80, 0x3f, 0, 0, 0xc0, 0x7f};
  static const unsigned char aInf[] = {0, 0, 0x80, 0x7f, 0, 0, 0x80, 0xff};
  parseFlags = VEC0_PARSE_NONFINITE;
  ck_assert_int_eq(parseBlob(aNan, 8, 0), SQLITE_OK);
  ck_assert_int_eq(res.nDim, 2);
  ck_assert(isnan(resF32(1)));
  ck_assert_int_eq(parseBlob(aInf, 8, VEC0_ELEM_F32), SQLITE_OK);
  ck_assert(isinf(resF32(0)) && resF32(0) > 0);
  ck_assert(isinf(resF32(1)) && resF32(1) < 0);
  /* JSON has no spelling for them, and overflow is not infinity */
  assertError(parseText("[NaN]", 0), "NaN and infinity");
  assertError(parseText("[1e39]", 0), "out of the float32 range");
  /* without the flag (tables, and functions that compute) they are errors */
  parseFlags = VEC0_PARSE_ANY_LENGTH;
  assertError(parseBlob(aNan, 8, 0), "element 1 is NaN");
  parseFlags = -1;
  assertError(parseBlob(aInf, 8, 0), "element 0 is infinite");
}
END_TEST

START_TEST(test_blob_int8_bit) {
  static const unsigned char a[] = {0x80, 0xff, 0x7f};
  ck_assert_int_eq(parseBlob(a, 3, VEC0_ELEM_I8), SQLITE_OK);
  ck_assert_int_eq(res.eType, VEC0_ELEM_I8);
  ck_assert_int_eq(res.nDim, 3);
  ck_assert_int_eq((int8_t)res.a[0], -128);
  ck_assert_int_eq((int8_t)res.a[1], -1);
  ck_assert_int_eq(parseBlob(a, 2, VEC0_ELEM_BIT), SQLITE_OK);
  ck_assert_int_eq(res.eType, VEC0_ELEM_BIT);
  ck_assert_int_eq(res.nDim, 16);
  ck_assert_int_eq(res.a[0], 0x80);
  assertError(parseBlob(a, 0, VEC0_ELEM_BIT), "empty vector");
  assertError(parseBlob(a, 0, VEC0_ELEM_I8), "empty vector");
}
END_TEST

/* Subtypes decide the type when none is expected, and must agree otherwise. */
START_TEST(test_subtypes) {
  ck_assert_int_eq(parseExpr("vec_int8(?1)", "[1,2,3]", 0), SQLITE_OK);
  ck_assert_int_eq(res.eType, VEC0_ELEM_I8);
  ck_assert_int_eq(res.nDim, 3);
  ck_assert_int_eq(parseExpr("vec_bit(x'ff01')", 0, 0), SQLITE_OK);
  ck_assert_int_eq(res.eType, VEC0_ELEM_BIT);
  ck_assert_int_eq(res.nDim, 16);
  ck_assert_int_eq(parseExpr("vec_f32(?1)", "[1]", 0), SQLITE_OK);
  ck_assert_int_eq(res.eType, VEC0_ELEM_F32);
  ck_assert_int_eq(parseExpr("vec_int8(?1)", "[1,2,3,4]", VEC0_ELEM_I8),
                   SQLITE_OK);
  /* 4 int8 bytes are also 1 valid float: the subtype must prevent that */
  assertError(parseExpr("vec_int8(?1)", "[1,2,3,4]", VEC0_ELEM_F32),
              "expected a float32 vector, got an int8 vector");
  assertError(parseExpr("vec_f32(?1)", "[1]", VEC0_ELEM_I8),
              "expected an int8 vector, got a float32 vector");
  assertError(parseExpr("vec_f32(?1)", "[1,2]", VEC0_ELEM_BIT),
              "expected a bit vector");
}
END_TEST

START_TEST(test_not_vectors) {
  sqlite3_stmt *p = prep("SELECT t_parse(?1, ?2)");
  assertError(run(p, 0), "got NULL");
  p = prep("SELECT t_parse(?1, ?2)");
  sqlite3_bind_int(p, 1, 5);
  assertError(run(p, 0), "got an INTEGER");
  p = prep("SELECT t_parse(?1, ?2)");
  sqlite3_bind_double(p, 1, 5.5);
  assertError(run(p, VEC0_ELEM_F32), "got a REAL");
}
END_TEST

/*
** A BLOB read from a table may point into the page at any alignment; the
** parser must copy it then, and the values must come out right either way.
*/
START_TEST(test_blob_from_table) {
  sqlite3_stmt *p;
  int k;
  ck_assert_int_eq(sqlite3_exec(db, "CREATE TABLE t(a, b);", 0, 0, 0),
                   SQLITE_OK);
  for (k = 0; k < 4; k++) {
    char zSql[200];
    snprintf(zSql, sizeof(zSql),
             "INSERT INTO t VALUES(substr('xxx', 1, %d),"
             " x'0000803f00002040');", k);
    ck_assert_int_eq(sqlite3_exec(db, zSql, 0, 0, 0), SQLITE_OK);
  }
  p = prep("SELECT t_parse(b, ?2) FROM t");
  sqlite3_bind_int(p, 2, 0);
  for (k = 0; k < 4; k++) {
    ck_assert_int_eq(sqlite3_step(p), SQLITE_ROW);
    ck_assert_int_eq(res.rc, SQLITE_OK);
    ck_assert_int_eq(res.nDim, 2);
    ck_assert_float_eq(resF32(0), 1.0f);
    ck_assert_float_eq(resF32(1), 2.5f);
  }
  sqlite3_finalize(p);
}
END_TEST

/* Random inputs: never a crash (run under ASan), always OK or a message. */
START_TEST(test_random_inputs) {
  static const char zAlpha[] = "[]0123456789.,-+eE nNIa\t\"x";
  uint64_t s = 12345;
  int iter, j;
  for (iter = 0; iter < 20000; iter++) {
    char z[40];
    unsigned char a[40];
    int n;
    int eExpect;
    int rc;
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    n = (int)((s >> 33) % 39);
    eExpect = (int)((s >> 20) % 4);
    for (j = 0; j < n; j++) {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      z[j] = zAlpha[(s >> 33) % (sizeof(zAlpha) - 1)];
      a[j] = (unsigned char)(s >> 40);
    }
    z[n] = 0;
    if (n > 0 && (iter & 1)) z[0] = '[';
    rc = parseText(z, eExpect);
    ck_assert(rc == SQLITE_OK || strncmp(res.zErr, "vec0: ", 6) == 0);
    rc = parseBlob(a, n, eExpect);
    ck_assert(rc == SQLITE_OK || strncmp(res.zErr, "vec0: ", 6) == 0);
  }
}
END_TEST

int main(void) {
  Suite *s = suite_create("vector");
  TCase *tc = tcase_create("parse");
  SRunner *sr;
  int nFail;
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_elem_helpers);
  tcase_add_test(tc, test_elem_table);
  tcase_add_test(tc, test_json_f32_good);
  tcase_add_test(tc, test_json_f32_bad);
  tcase_add_test(tc, test_json_embedded_nul);
  tcase_add_test(tc, test_json_dims);
  tcase_add_test(tc, test_json_int8);
  tcase_add_test(tc, test_json_bit_refused);
  tcase_add_test(tc, test_blob_f32);
  tcase_add_test(tc, test_blob_sizes);
  tcase_add_test(tc, test_blob_int8_bit);
  tcase_add_test(tc, test_parse_any_length);
  tcase_add_test(tc, test_parse_nonfinite);
  tcase_add_test(tc, test_subtypes);
  tcase_add_test(tc, test_not_vectors);
  tcase_add_test(tc, test_blob_from_table);
  tcase_add_test(tc, test_random_inputs);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  nFail = srunner_ntests_failed(sr);
  srunner_free(sr);
  return nFail == 0 ? 0 : 1;
}
