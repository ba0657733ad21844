/*
** fuzz_vector.c: libFuzzer target for vector parsing.
**
** The input is split at its first byte: a mode byte, then one or two
** values.  Each value is bound as TEXT (JSON) or as a BLOB, optionally
** retyped with vec_int8()/vec_bit() so it carries a subtype, and handed to
** vec0VectorFromValue() directly (through a test function, which is how a
** sqlite3_value with a subtype is made) for every expected type, then to the
** SQL functions that take vectors.  The parser must either accept with sane
** dimensions or fail with a "vec0: " message; SQL errors are fine, crashes,
** sanitizer reports and messages without the prefix are not.
*/
#include "vec0Int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sqlite3_vec_init(sqlite3 *db, char **pzErrMsg, const sqlite3_api_routines *pApi);

static sqlite3 *db;

static void fail(const char *zWhat, const char *zDetail) {
  fprintf(stderr, "fuzz_vector: %s: %s\n", zWhat, zDetail ? zDetail : "(null)");
  abort();
}

/* t_parse(v, eExpect): what vec0VectorFromValue() makes of v. */
static void tParse(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  Vec0Vector v;
  char *zErr = 0;
  int rc = vec0VectorFromValue(argv[0], sqlite3_value_int(argv[1]), "fuzz arg", &v, &zErr);
  (void)argc;
  if (rc == SQLITE_OK) {
    size_t n;
    if (zErr) fail("error message on success", zErr);
    if (v.nDim < 1 || v.nDim > VEC0_MAX_DIMS) fail("dimensions out of range", 0);
    if (v.eType == VEC0_ELEM_BIT && v.nDim % 8) fail("bit vector not whole bytes", 0);
    n = vec0ElemBytes(v.eType, v.nDim);
    if (sqlite3_value_type(argv[0]) == SQLITE_BLOB &&
        n != (size_t)sqlite3_value_bytes(argv[0])) {
      fail("BLOB length and dimensions disagree", 0);
    }
    /* Touch every byte: a sanitizer sees a read past the end. */
    {
      unsigned x = 0;
      for (size_t i = 0; i < n; i++) x += ((const unsigned char *)v.p)[i];
      sqlite3_result_int(ctx, (int)(x & 1));
    }
  } else {
    if (rc != SQLITE_ERROR && rc != SQLITE_NOMEM) fail("unexpected code", 0);
    if (zErr == 0 || strncmp(zErr, "vec0: ", 6) != 0) fail("message", zErr);
    if (v.p || v.pFree) fail("vector left after an error", zErr);
    sqlite3_result_null(ctx);
  }
  sqlite3_free(zErr);
  vec0VectorClear(&v);
}

/* The statements every value goes through; ?1 and ?2 are the values. */
static const char *azSql[] = {
    "SELECT t_parse(?1, 0), t_parse(?1, 1), t_parse(?1, 2), t_parse(?1, 3)",
    "SELECT t_parse(vec_int8(?1), 0), t_parse(vec_bit(?1), 0), t_parse(vec_f32(?1), 2)",
    "SELECT vec_f32(?1), vec_int8(?1), vec_bit(?1), vec_length(?1), vec_type(?1)",
    "SELECT vec_to_json(?1), vec_to_json(vec_int8(?1)), vec_to_json(vec_bit(?1))",
    "SELECT vec_normalize(?1), vec_quantize_binary(?1), vec_quantize_int8(?1, 'unit')",
    "SELECT vec_slice(?1, 0, 1), vec_slice(?1, 1, vec_length(?1)), vec_slice(?1, -1, 2)",
    "SELECT vec_add(?1, ?2), vec_sub(?1, ?2), vec_distance_l2(?1, ?2)",
    "SELECT vec_distance_cosine(?1, ?2), vec_distance_l1(?1, ?2), "
    "vec_distance_dot(?1, ?2), vec_distance_l2sq(?1, ?2)",
    "SELECT vec_distance_hamming(vec_bit(?1), vec_bit(?2)), "
    "vec_distance_l2(vec_int8(?1), vec_int8(?2))",
    "SELECT count(*), sum(value) FROM vec_each(?1)",
    /* What vec_to_json() writes (rounded, as sqlite-vec does) parses again. */
    "SELECT vec_length(vec_f32(vec_to_json(vec_f32(?1)))) = vec_length(vec_f32(?1))",
};
#define N_SQL ((int)(sizeof(azSql) / sizeof(azSql[0])))
static sqlite3_stmt *apStmt[N_SQL];

static void init(void) {
  if (db) return;
  if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
      sqlite3_vec_init(db, 0, 0) != SQLITE_OK ||
      sqlite3_create_function(db, "t_parse", 2, SQLITE_UTF8 | SQLITE_SUBTYPE, 0, tParse,
                              0, 0) != SQLITE_OK) {
    fail("setup", sqlite3_errmsg(db));
  }
  for (int i = 0; i < N_SQL; i++) {
    if (sqlite3_prepare_v2(db, azSql[i], -1, &apStmt[i], 0) != SQLITE_OK) {
      fail("prepare", sqlite3_errmsg(db));
    }
  }
}

static void bindValue(sqlite3_stmt *pStmt, int i, const uint8_t *a, size_t n, int bText) {
  if (bText) {
    sqlite3_bind_text(pStmt, i, (const char *)a, (int)n, SQLITE_STATIC);
  } else {
    sqlite3_bind_blob(pStmt, i, n ? (const void *)a : "", (int)n, SQLITE_STATIC);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *aData, size_t nData) {
  size_t nA, nB;
  uint8_t mode;
  if (nData < 1 || nData > 40000) return 0;
  init();
  mode = aData[0];
  aData++;
  nData--;
  /* Bits 0-1: text or blob for each value; bits 2-7: where value 2 starts. */
  nA = nData ? (size_t)(mode >> 2) * nData / 63 : 0;
  if (nA > nData) nA = nData;
  nB = nData - nA;
  for (int i = 0; i < N_SQL; i++) {
    sqlite3_stmt *pStmt = apStmt[i];
    int rc;
    bindValue(pStmt, 1, aData, nA ? nA : nData, mode & 1);
    bindValue(pStmt, 2, aData + nA, nB, (mode >> 1) & 1);
    while ((rc = sqlite3_step(pStmt)) == SQLITE_ROW) {
    }
    if (rc != SQLITE_DONE) {
      const char *z = sqlite3_errmsg(db);
      if (strncmp(z, "vec0: ", 6) != 0) fail("an error without the vec0 prefix", z);
    }
    sqlite3_reset(pStmt);
    sqlite3_clear_bindings(pStmt);
  }
  return 0;
}
