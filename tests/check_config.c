/*
** check_config.c: unit tests of vec0_config.c, the parser of the vec0
** CREATE VIRTUAL TABLE arguments.  Every accepted form, every error message
** (exact text), the limits, the defaults, quoting and the declared schema;
** then the same parser behind a throw-away SQLite module, so that the
** argument splitting of real CREATE statements is covered too, and finally
** truncated/random inputs and out-of-memory at every allocation.
**
** Run with CK_FORK=yes: each test starts from a fresh process.
*/
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vec0Int.h"

#define MAX_ARGS 128

static Vec0Config cfg;
static char *zErr;

static void clearState(void) {
  vec0ConfigClear(&cfg);
  sqlite3_free(zErr);
  zErr = 0;
}

static void setup(void) {
  memset(&cfg, 0, sizeof(cfg));
  zErr = 0;
}
static void teardown(void) { clearState(); }

static int parseArray(const char *zTable, int nArg, const char *const *azArg) {
  clearState();
  return vec0ConfigParse(&cfg, zTable, nArg, azArg, &zErr);
}

/* Parses the NULL-terminated argument list that follows zTable. */
static int parseList(const char *zTable, ...) {
  const char *azArg[MAX_ARGS];
  int nArg = 0;
  const char *z;
  va_list ap;
  va_start(ap, zTable);
  while ((z = va_arg(ap, const char *)) != 0 && nArg < MAX_ARGS) {
    azArg[nArg++] = z;
  }
  va_end(ap);
  return parseArray(zTable, nArg, azArg);
}

#define OK(...)                                                               \
  do {                                                                        \
    int rc_ = parseList(__VA_ARGS__, (const char *)0);                        \
    ck_assert_msg(rc_ == SQLITE_OK, "rc=%d err=%s", rc_,                      \
                  zErr ? zErr : "(none)");                                    \
    ck_assert_ptr_null(zErr);                                                 \
  } while (0)

#define ERR(zMsg, ...)                                                        \
  do {                                                                        \
    int rc_ = parseList(__VA_ARGS__, (const char *)0);                        \
    ck_assert_int_eq(rc_, SQLITE_ERROR);                                      \
    ck_assert_ptr_nonnull(zErr);                                              \
    ck_assert_str_eq(zErr, zMsg);                                             \
    ck_assert_int_eq(cfg.nCol, 0);                                            \
    ck_assert_ptr_null(cfg.zTable);                                           \
  } while (0)

static const Vec0VectorCol *vecCol(int i) { return &cfg.aVec[i]; }

static void assertVec(int i, Vec0ElemType eType, int nDim, Vec0Metric eMetric,
                      Vec0IndexType eIndex, int m, int efc, int efs) {
  const Vec0VectorCol *v = vecCol(i);
  ck_assert_int_eq(v->eType, eType);
  ck_assert_int_eq(v->nDim, nDim);
  ck_assert_int_eq(v->eMetric, eMetric);
  ck_assert_int_eq(v->eIndex, eIndex);
  ck_assert_int_eq(v->m, m);
  ck_assert_int_eq(v->efConstruction, efc);
  ck_assert_int_eq(v->efSearch, efs);
}

#define DEF_M VEC0_HNSW_DEFAULT_M
#define DEF_EFC VEC0_HNSW_DEFAULT_EF_CONSTRUCTION
#define DEF_EFS VEC0_HNSW_DEFAULT_EF_SEARCH

/* ------------------------------------------------------- accepted forms */

START_TEST(test_minimal) {
  OK("docs", "embedding float[4]");
  ck_assert_int_eq(cfg.ePk, VEC0_PK_ROWID);
  ck_assert_ptr_null(cfg.zPkName);
  ck_assert_int_eq(cfg.nCol, 1);
  ck_assert_int_eq(cfg.nVec, 1);
  ck_assert_int_eq(cfg.nPart + cfg.nMeta + cfg.nAux, 0);
  ck_assert_str_eq(cfg.zTable, "docs");
  ck_assert_str_eq(cfg.aCol[0].zName, "embedding");
  ck_assert_int_eq(cfg.aCol[0].eKind, VEC0_COL_VECTOR);
  ck_assert_int_eq(cfg.aCol[0].iSub, 0);
  ck_assert_int_eq(cfg.aVecCol[0], 0);
  assertVec(0, VEC0_ELEM_F32, 4, VEC0_METRIC_L2, VEC0_INDEX_HNSW, DEF_M,
            DEF_EFC, DEF_EFS);
}
END_TEST

START_TEST(test_vector_types) {
  static const struct {
    const char *zArg;
    Vec0ElemType eType;
    int nDim;
    Vec0Metric eMetric;
    Vec0IndexType eIndex;
  } a[] = {
      {"v float[3]", VEC0_ELEM_F32, 3, VEC0_METRIC_L2, VEC0_INDEX_HNSW},
      {"v float32[3]", VEC0_ELEM_F32, 3, VEC0_METRIC_L2, VEC0_INDEX_HNSW},
      {"v f32[3]", VEC0_ELEM_F32, 3, VEC0_METRIC_L2, VEC0_INDEX_HNSW},
      {"v FLOAT32[3]", VEC0_ELEM_F32, 3, VEC0_METRIC_L2, VEC0_INDEX_HNSW},
      {"v int8[5]", VEC0_ELEM_I8, 5, VEC0_METRIC_L2, VEC0_INDEX_HNSW},
      {"v i8[5]", VEC0_ELEM_I8, 5, VEC0_METRIC_L2, VEC0_INDEX_HNSW},
      {"v INT8[5]", VEC0_ELEM_I8, 5, VEC0_METRIC_L2, VEC0_INDEX_HNSW},
      {"v bit[16]", VEC0_ELEM_BIT, 16, VEC0_METRIC_HAMMING, VEC0_INDEX_FLAT},
      {"v Bit[8]", VEC0_ELEM_BIT, 8, VEC0_METRIC_HAMMING, VEC0_INDEX_FLAT},
  };
  int i;
  for (i = 0; i < (int)(sizeof(a) / sizeof(a[0])); i++) {
    OK("t", a[i].zArg);
    assertVec(0, a[i].eType, a[i].nDim, a[i].eMetric, a[i].eIndex, DEF_M,
              DEF_EFC, DEF_EFS);
  }
}
END_TEST

START_TEST(test_dimension_limits) {
  OK("t", "v float[1]");
  ck_assert_int_eq(vecCol(0)->nDim, 1);
  OK("t", "v float[8192]");
  ck_assert_int_eq(vecCol(0)->nDim, 8192);
  OK("t", "v float[0004]");
  ck_assert_int_eq(vecCol(0)->nDim, 4);
  OK("t", "v int8[8192]");
  OK("t", "v bit[8192]");
  ck_assert_int_eq(vecCol(0)->nDim, 8192);
  ERR("vec0: table \"t\": dimension 0 of column \"v\" out of range 1..8192",
      "t", "v float[0]");
  ERR("vec0: table \"t\": dimension 8193 of column \"v\" out of range 1..8192",
      "t", "v float[8193]");
  ERR("vec0: table \"t\": dimension 99999999999999999999 of column \"v\" out "
      "of range 1..8192",
      "t", "v float[99999999999999999999]");
  ERR("vec0: table \"t\": dimension 4294967297 of column \"v\" out of range "
      "1..8192",
      "t", "v int8[4294967297]");
  ERR("vec0: table \"t\": dimension 0 of column \"b\" out of range 1..8192",
      "t", "b bit[0]");
  ERR("vec0: table \"t\": dimension 8200 of column \"b\" out of range 1..8192",
      "t", "b bit[8200]");
  ERR("vec0: table \"t\": dimension 12 of bit column \"b\" is not a multiple "
      "of 8",
      "t", "b bit[12]");
  ERR("vec0: table \"t\": dimension 1 of bit column \"b\" is not a multiple "
      "of 8",
      "t", "b bit[1]");
}
END_TEST

START_TEST(test_metrics) {
  static const struct {
    const char *zArg;
    Vec0Metric eMetric;
  } a[] = {
      {"v float[2] distance_metric=l2", VEC0_METRIC_L2},
      {"v float[2] distance_metric=cosine", VEC0_METRIC_COSINE},
      {"v float[2] distance_metric=l1", VEC0_METRIC_L1},
      {"v float[2] distance_metric=dot", VEC0_METRIC_DOT},
      {"v float[2] DISTANCE_METRIC=COSINE", VEC0_METRIC_COSINE},
      {"v int8[2] distance_metric=cosine", VEC0_METRIC_COSINE},
      {"v int8[2] distance_metric=l1", VEC0_METRIC_L1},
      {"v int8[2] distance_metric=dot", VEC0_METRIC_DOT},
      {"v int8[2] distance_metric=l2", VEC0_METRIC_L2},
      {"v bit[8] distance_metric=hamming", VEC0_METRIC_HAMMING},
      {"v bit[8] distance_metric=Hamming", VEC0_METRIC_HAMMING},
  };
  int i;
  for (i = 0; i < (int)(sizeof(a) / sizeof(a[0])); i++) {
    OK("t", a[i].zArg);
    ck_assert_int_eq(vecCol(0)->eMetric, a[i].eMetric);
  }
  ERR("vec0: table \"t\": unknown distance_metric \"l3\" on column \"v\"", "t",
      "v float[2] distance_metric=l3");
  ERR("vec0: table \"t\": unknown distance_metric \"l2sq\" on column \"v\"",
      "t", "v float[2] distance_metric=l2sq");
  ERR("vec0: table \"t\": distance_metric \"hamming\" of float32 column \"v\" "
      "needs a bit vector",
      "t", "v float[2] distance_metric=hamming");
  ERR("vec0: table \"t\": distance_metric \"hamming\" of int8 column \"v\" "
      "needs a bit vector",
      "t", "v int8[2] distance_metric=hamming");
  ERR("vec0: table \"t\": distance_metric \"cosine\" of bit column \"b\" is "
      "not supported (only hamming)",
      "t", "b bit[8] distance_metric=cosine");
  ERR("vec0: table \"t\": distance_metric \"l2\" of bit column \"b\" is not "
      "supported (only hamming)",
      "t", "b bit[8] distance_metric=l2");
  ERR("vec0: table \"t\": distance_metric \"L1\" of bit column \"b\" is not "
      "supported (only hamming)",
      "t", "b bit[8] distance_metric=L1");
  ERR("vec0: table \"t\": distance_metric \"dot\" of bit column \"b\" is not "
      "supported (only hamming)",
      "t", "b bit[8] distance_metric=dot");
  ERR("vec0: table \"t\": duplicate option \"distance_metric\" on column "
      "\"v\"",
      "t", "v float[2] distance_metric=l2 distance_metric=l2");
  ERR("vec0: table \"t\": expected \"=\" after distance_metric on column "
      "\"v\", found \"cosine\"",
      "t", "v float[2] distance_metric cosine");
  ERR("vec0: table \"t\": expected \"=\" after distance_metric on column "
      "\"v\", found end of argument",
      "t", "v float[2] distance_metric");
  ERR("vec0: table \"t\": expected a distance_metric value on column \"v\", "
      "found end of argument",
      "t", "v float[2] distance_metric=");
  ERR("vec0: table \"t\": expected a distance_metric value on column \"v\", "
      "found \"'cosine'\"",
      "t", "v float[2] distance_metric='cosine'");
}
END_TEST

START_TEST(test_index_options) {
  OK("t", "v float[4] indexed by hnsw(m=8, ef_construction=100, ef_search=20)");
  assertVec(0, VEC0_ELEM_F32, 4, VEC0_METRIC_L2, VEC0_INDEX_HNSW, 8, 100, 20);
  OK("t", "v float[4] indexed by hnsw(ef_search=20, m=8)");
  assertVec(0, VEC0_ELEM_F32, 4, VEC0_METRIC_L2, VEC0_INDEX_HNSW, 8, DEF_EFC,
            20);
  OK("t", "v float[4] indexed by hnsw(ef_construction=300)");
  assertVec(0, VEC0_ELEM_F32, 4, VEC0_METRIC_L2, VEC0_INDEX_HNSW, DEF_M, 300,
            DEF_EFS);
  OK("t", "v float[4] indexed by hnsw()");
  assertVec(0, VEC0_ELEM_F32, 4, VEC0_METRIC_L2, VEC0_INDEX_HNSW, DEF_M,
            DEF_EFC, DEF_EFS);
  OK("t", "v float[4] indexed by hnsw");
  assertVec(0, VEC0_ELEM_F32, 4, VEC0_METRIC_L2, VEC0_INDEX_HNSW, DEF_M,
            DEF_EFC, DEF_EFS);
  OK("t", "v float[4] indexed by flat()");
  assertVec(0, VEC0_ELEM_F32, 4, VEC0_METRIC_L2, VEC0_INDEX_FLAT, DEF_M,
            DEF_EFC, DEF_EFS);
  OK("t", "v int8[4] indexed by flat");
  ck_assert_int_eq(vecCol(0)->eIndex, VEC0_INDEX_FLAT);
  /* Options in either order. */
  OK("t", "v float[4] indexed by flat() distance_metric=cosine");
  assertVec(0, VEC0_ELEM_F32, 4, VEC0_METRIC_COSINE, VEC0_INDEX_FLAT, DEF_M,
            DEF_EFC, DEF_EFS);
  OK("t", "v float[4] distance_metric=dot indexed by hnsw(m=4)");
  assertVec(0, VEC0_ELEM_F32, 4, VEC0_METRIC_DOT, VEC0_INDEX_HNSW, 4, DEF_EFC,
            DEF_EFS);
  /* A bit column may opt in to hnsw (hamming is a metric). */
  OK("t", "b bit[64] indexed by hnsw(m=12)");
  assertVec(0, VEC0_ELEM_BIT, 64, VEC0_METRIC_HAMMING, VEC0_INDEX_HNSW, 12,
            DEF_EFC, DEF_EFS);
  OK("t", "b bit[64] distance_metric=hamming indexed by flat()");
  ck_assert_int_eq(vecCol(0)->eIndex, VEC0_INDEX_FLAT);
  /* ef_construction below m is allowed (the graph library takes 1..4096). */
  OK("t", "v float[4] indexed by hnsw(m=32, ef_construction=8)");
  assertVec(0, VEC0_ELEM_F32, 4, VEC0_METRIC_L2, VEC0_INDEX_HNSW, 32, 8,
            DEF_EFS);
}
END_TEST

START_TEST(test_hnsw_recall) {
  OK("t", "v float[4]");
  ck_assert_int_eq(cfg.aVec[0].bEfFixed, 0);
  ck_assert_int_eq(cfg.aVec[0].iRecall, 0); /* the default target */
  OK("t", "v float[4] indexed by hnsw(m=8, recall=0.99)");
  ck_assert_int_eq(cfg.aVec[0].iRecall, 9900);
  ck_assert_int_eq(cfg.aVec[0].m, 8);
  OK("t", "v float[4] indexed by hnsw(recall = 0.5, m=8)");
  ck_assert_int_eq(cfg.aVec[0].iRecall, 5000);
  OK("t", "v float[4] indexed by hnsw(recall=.999)");
  ck_assert_int_eq(cfg.aVec[0].iRecall, 9990);
  OK("t", "v float[4] indexed by hnsw(ef_search=32)");
  ck_assert_int_eq(cfg.aVec[0].bEfFixed, 1);
  ERR("vec0: table \"t\": column \"v\" has both ef_search (a fixed ef) and recall (an ef "
      "measured to meet it): give one",
      "t", "v float[4] indexed by hnsw(ef_search=32, recall=0.9)");
  ERR("vec0: table \"t\": hnsw recall 1.0 of column \"v\" is not a decimal in "
      "0.5..0.999 (at most 4 places, such as 0.95)",
      "t", "v float[4] indexed by hnsw(recall=1.0)");
  ERR("vec0: table \"t\": hnsw recall 0.4 of column \"v\" is not a decimal in "
      "0.5..0.999 (at most 4 places, such as 0.95)",
      "t", "v float[4] indexed by hnsw(recall=0.4)");
  ERR("vec0: table \"t\": hnsw recall 0.95x of column \"v\" is not a decimal in "
      "0.5..0.999 (at most 4 places, such as 0.95)",
      "t", "v float[4] indexed by hnsw(recall=0.95x)");
  ERR("vec0: table \"t\": hnsw recall 9e-1 of column \"v\" is not a decimal in "
      "0.5..0.999 (at most 4 places, such as 0.95)",
      "t", "v float[4] indexed by hnsw(recall=9e-1)");
  ERR("vec0: table \"t\": hnsw recall 0.95001 of column \"v\" is not a decimal in "
      "0.5..0.999 (at most 4 places, such as 0.95)",
      "t", "v float[4] indexed by hnsw(recall=0.95001)");
  OK("t", "v float[4] indexed by hnsw(recall=0.95000)");
  ck_assert_int_eq(cfg.aVec[0].iRecall, 9500);
  ERR("vec0: table \"t\": the name \"_rescore\" is taken by the hidden column rescore, "
      "renamed so because a column or the table is named \"rescore\"",
      "t", "v float[4]", "rescore integer", "_rescore integer");
  ERR("vec0: table \"recall\": the name \"_recall\" is taken by the hidden column recall, "
      "renamed so because a column or the table is named \"recall\"",
      "recall", "v float[4]", "_recall integer");
  OK("t", "v float[4]", "_rescore integer");
  ERR("vec0: table \"t\": duplicate hnsw parameter \"recall\" on column \"v\"", "t",
      "v float[4] indexed by hnsw(recall=0.9, recall=0.9)");
}
END_TEST

/* sqlite-vec 0.1.10's rescore(...) and diskann(...) declarations. */
START_TEST(test_vec010_forms) {
  OK("t", "v float[8] indexed by rescore(quantizer=int8)");
  ck_assert_int_eq(vecCol(0)->eIndex, VEC0_INDEX_RESCORE);
  ck_assert_int_eq(vecCol(0)->eQuant, VEC0_QUANT_INT8);
  ck_assert_int_eq(vecCol(0)->nRescore, 8);
  OK("t", "v float[8] distance_metric=cosine indexed by rescore(oversample=3, quantizer=bit)");
  ck_assert_int_eq(vecCol(0)->eQuant, VEC0_QUANT_BIT);
  ck_assert_int_eq(vecCol(0)->nRescore, 3);
  /* diskann: the quantized graph, m = n_neighbors / 2, ef = search list. */
  OK("t", "v float[8] indexed by diskann(neighbor_quantizer=binary)");
  assertVec(0, VEC0_ELEM_F32, 8, VEC0_METRIC_L2, VEC0_INDEX_HNSW, 36, 128, 128);
  ck_assert_int_eq(vecCol(0)->eQuant, VEC0_QUANT_BIT);
  ck_assert_int_eq(vecCol(0)->bDiskann, 1);
  OK("t", "v float[8] indexed by diskann(neighbor_quantizer=int8, n_neighbors=32, "
          "search_list_size_search=40, search_list_size_insert=90, buffer_threshold=0)");
  assertVec(0, VEC0_ELEM_F32, 8, VEC0_METRIC_L2, VEC0_INDEX_HNSW, 16, 90, 40);
  ck_assert_int_eq(vecCol(0)->eQuant, VEC0_QUANT_INT8);
  OK("t", "v float[8] indexed by diskann(search_list_size=60, neighbor_quantizer=int8)");
  assertVec(0, VEC0_ELEM_F32, 8, VEC0_METRIC_L2, VEC0_INDEX_HNSW, 36, 60, 60);
  ERR("vec0: table \"t\": rescore(...) of column \"v\" needs quantizer=int8 or "
      "quantizer=bit",
      "t", "v float[8] indexed by rescore(oversample=2)");
  ERR("vec0: table \"t\": unknown quantizer \"none\" on column \"v\" (int8 or bit)",
      "t", "v float[8] indexed by rescore(quantizer=none)");
  ERR("vec0: table \"t\": rescore oversample 0 of column \"v\" out of range 1..128",
      "t", "v float[8] indexed by rescore(quantizer=int8, oversample=0)");
  ERR("vec0: table \"t\": duplicate rescore parameter \"quantizer\" on column \"v\"",
      "t", "v float[8] indexed by rescore(quantizer=int8, quantizer=bit)");
  ERR("vec0: table \"t\": expected \"(\" after diskann on column \"v\", found end of "
      "argument",
      "t", "v float[8] indexed by diskann");
  ERR("vec0: table \"t\": diskann n_neighbors 20 of column \"v\" is not a multiple of 8",
      "t", "v float[8] indexed by diskann(neighbor_quantizer=int8, n_neighbors=20)");
  ERR("vec0: table \"t\": diskann n_neighbors 264 of column \"v\" out of range 8..256",
      "t", "v float[8] indexed by diskann(neighbor_quantizer=int8, n_neighbors=264)");
  ERR("vec0: table \"t\": diskann search_list_size_insert 5000 of column \"v\" out of "
      "range 1..4096",
      "t", "v float[8] indexed by diskann(neighbor_quantizer=int8, "
           "search_list_size_insert=5000)");
  ERR("vec0: table \"t\": unknown diskann parameter \"alpha\" on column \"v\"",
      "t", "v float[8] indexed by diskann(neighbor_quantizer=int8, alpha=1)");
  ERR("vec0: table \"t\": quantizer of column \"v\" needs a float column with "
      "distance_metric l2, cosine or dot",
      "t", "v int8[8] indexed by diskann(neighbor_quantizer=int8)");
  /* a sqlite-vec table's column named rescore keeps its name (the hidden one gives way) */
  OK("t", "rescore float[8]");
}
END_TEST

START_TEST(test_hnsw_ranges) {
  OK("t", "v float[4] indexed by hnsw(m=2, ef_construction=1, ef_search=1)");
  assertVec(0, VEC0_ELEM_F32, 4, VEC0_METRIC_L2, VEC0_INDEX_HNSW, 2, 1, 1);
  OK("t",
     "v float[4] indexed by hnsw(m=128, ef_construction=4096, "
     "ef_search=100000)");
  assertVec(0, VEC0_ELEM_F32, 4, VEC0_METRIC_L2, VEC0_INDEX_HNSW, 128, 4096,
            100000);
  ERR("vec0: table \"t\": hnsw m 1 of column \"v\" out of range 2..128", "t",
      "v float[4] indexed by hnsw(m=1)");
  ERR("vec0: table \"t\": hnsw m 0 of column \"v\" out of range 2..128", "t",
      "v float[4] indexed by hnsw(m=0)");
  ERR("vec0: table \"t\": hnsw m 129 of column \"v\" out of range 2..128",
      "t", "v float[4] indexed by hnsw(m=129)");
  ERR("vec0: table \"t\": hnsw ef_construction 0 of column \"v\" out of range "
      "1..4096",
      "t", "v float[4] indexed by hnsw(ef_construction=0)");
  ERR("vec0: table \"t\": hnsw ef_construction 4097 of column \"v\" out of "
      "range 1..4096",
      "t", "v float[4] indexed by hnsw(ef_construction=4097)");
  ERR("vec0: table \"t\": hnsw ef_search 0 of column \"v\" out of range "
      "1..100000",
      "t", "v float[4] indexed by hnsw(ef_search=0)");
  ERR("vec0: table \"t\": hnsw ef_search 100001 of column \"v\" out of range "
      "1..100000",
      "t", "v float[4] indexed by hnsw(ef_search=100001)");
  ERR("vec0: table \"t\": hnsw m 18446744073709551617 of column \"v\" out of "
      "range 2..128",
      "t", "v float[4] indexed by hnsw(m=18446744073709551617)");
}
END_TEST

START_TEST(test_index_errors) {
  ERR("vec0: table \"t\": unknown hnsw parameter \"M0\" on column \"v\"", "t",
      "v float[4] indexed by hnsw(M0=3)");
  ERR("vec0: table \"t\": unknown hnsw parameter \"ef\" on column \"v\"", "t",
      "v float[4] indexed by hnsw(ef=3)");
  ERR("vec0: table \"t\": duplicate hnsw parameter \"m\" on column \"v\"", "t",
      "v float[4] indexed by hnsw(m=4, M=8)");
  ERR("vec0: table \"t\": expected \"=\" after m on column \"v\", found \"8\"",
      "t", "v float[4] indexed by hnsw(m 8)");
  ERR("vec0: table \"t\": expected an integer value for ef_search on column "
      "\"v\", found \"abc\"",
      "t", "v float[4] indexed by hnsw(ef_search=abc)");
  ERR("vec0: table \"t\": expected an integer value for m on column \"v\", "
      "found \"-\"",
      "t", "v float[4] indexed by hnsw(m=-4)");
  ERR("vec0: table \"t\": expected an integer value for m on column \"v\", "
      "found \"4.5\"",
      "t", "v float[4] indexed by hnsw(m=4.5)");
  ERR("vec0: table \"t\": expected an integer value for m on column \"v\", "
      "found \")\"",
      "t", "v float[4] indexed by hnsw(m=)");
  ERR("vec0: table \"t\": expected \",\" or \")\" on column \"v\", found end "
      "of argument",
      "t", "v float[4] indexed by hnsw(m=8");
  ERR("vec0: table \"t\": expected \",\" or \")\" on column \"v\", found "
      "\"ef_search\"",
      "t", "v float[4] indexed by hnsw(m=8 ef_search=9)");
  ERR("vec0: table \"t\": expected an hnsw parameter on column \"v\", found "
      "\")\"",
      "t", "v float[4] indexed by hnsw(m=8,)");
  ERR("vec0: table \"t\": expected an hnsw parameter on column \"v\", found "
      "\",\"",
      "t", "v float[4] indexed by hnsw(,)");
  ERR("vec0: table \"t\": expected an hnsw parameter on column \"v\", found "
      "end of argument",
      "t", "v float[4] indexed by hnsw(");
  ERR("vec0: table \"t\": flat() takes no parameters, found \"m\" on column "
      "\"v\"",
      "t", "v float[4] indexed by flat(m=3)");
  ERR("vec0: table \"t\": flat() takes no parameters, found end of argument "
      "on column \"v\"",
      "t", "v float[4] indexed by flat(");
  ERR("vec0: table \"t\": expected \"by\" after indexed on column \"v\", "
      "found \"hnsw\"",
      "t", "v float[4] indexed hnsw()");
  ERR("vec0: table \"t\": expected hnsw, flat, rescore or diskann after \"indexed by\" on "
      "column \"v\", found \"ivf\"",
      "t", "v float[4] indexed by ivf()");
  ERR("vec0: table \"t\": expected hnsw, flat, rescore or diskann after \"indexed by\" on "
      "column \"v\", found end of argument",
      "t", "v float[4] indexed by");
  ERR("vec0: table \"t\": duplicate option \"indexed by\" on column \"v\"",
      "t", "v float[4] indexed by flat() indexed by hnsw()");
  ERR("vec0: table \"t\": unknown option \"m\" on column \"v\"", "t",
      "v float[4] indexed by hnsw m=3");
}
END_TEST

START_TEST(test_vector_syntax_errors) {
  ERR("vec0: table \"docs\": unknown option \"metric\" on column "
      "\"embedding\"",
      "docs", "embedding float[4] metric=cosine");
  ERR("vec0: table \"t\": expected \"[\" after \"float32\" on column \"v\", "
      "found end of argument",
      "t", "v float32");
  ERR("vec0: table \"t\": expected \"[\" after \"int8\" on column \"v\", "
      "found \"(\"",
      "t", "v int8(4)");
  ERR("vec0: table \"t\": expected \"[\" after \"bit\" on column \"v\", found "
      "end of argument",
      "t", "v bit");
  ERR("vec0: table \"t\": expected a dimension on column \"v\", found \"]\"",
      "t", "v float[]");
  ERR("vec0: table \"t\": expected a dimension on column \"v\", found end of "
      "argument",
      "t", "v float[");
  ERR("vec0: table \"t\": expected a dimension on column \"v\", found \"-\"",
      "t", "v float[-4]");
  ERR("vec0: table \"t\": expected a dimension on column \"v\", found \"4.5\"",
      "t", "v float[4.5]");
  ERR("vec0: table \"t\": expected a dimension on column \"v\", found "
      "\"4abc\"",
      "t", "v float[4abc]");
  ERR("vec0: table \"t\": expected a dimension on column \"v\", found \"x\"",
      "t", "v float[x]");
  ERR("vec0: table \"t\": expected \"]\" on column \"v\", found end of "
      "argument",
      "t", "v float[4");
  ERR("vec0: table \"t\": expected \"]\" on column \"v\", found \"5\"", "t",
      "v float[4 5]");
  ERR("vec0: table \"t\": expected \"]\" on column \"v\", found \",\"", "t",
      "v float[4,5]");
  ERR("vec0: table \"t\": expected an option on column \"v\", found \"]\"",
      "t", "v float[4]]");
  ERR("vec0: table \"t\": expected an option on column \"v\", found \"[8]\"",
      "t", "v float[4][8]");
  ERR("vec0: table \"t\": expected an option on column \"v\", found \"=\"",
      "t", "v float[4] =cosine");
  ERR("vec0: table \"t\": unknown option \"primary\" on column \"v\"", "t",
      "v float[4] primary key");
  ERR("vec0: table \"t\": unknown option \"not\" on column \"v\"", "t",
      "v float[4] not null");
}
END_TEST

START_TEST(test_primary_key) {
  OK("t", "id integer primary key", "v float[4]");
  ck_assert_int_eq(cfg.ePk, VEC0_PK_INTEGER);
  ck_assert_str_eq(cfg.zPkName, "id");
  ck_assert_int_eq(cfg.nCol, 2);
  ck_assert_int_eq(cfg.aCol[0].eKind, VEC0_COL_PK);
  ck_assert_int_eq(cfg.aCol[0].eType, VEC0_VAL_INTEGER);
  ck_assert_int_eq(cfg.aCol[0].iSub, 0);
  ck_assert_int_eq(cfg.aVecCol[0], 1);

  OK("t", "v float[4]", "key TEXT PRIMARY KEY");
  ck_assert_int_eq(cfg.ePk, VEC0_PK_TEXT);
  ck_assert_str_eq(cfg.zPkName, "key");
  ck_assert_int_eq(cfg.aCol[1].eKind, VEC0_COL_PK);
  ck_assert_int_eq(cfg.aCol[1].eType, VEC0_VAL_TEXT);

  OK("t", "id int primary key", "v float[4]");
  ck_assert_int_eq(cfg.ePk, VEC0_PK_INTEGER);
  OK("t", "id int64 primary key", "v float[4]");
  ck_assert_int_eq(cfg.ePk, VEC0_PK_INTEGER);
  /* The rowid's own names are fine for an integer primary key. */
  OK("t", "rowid integer primary key", "v float[4]");
  ck_assert_str_eq(cfg.zPkName, "rowid");

  ERR("vec0: table \"t\": more than one primary key (\"a\" and \"b\")", "t",
      "a integer primary key", "b text primary key", "v float[4]");
  ERR("vec0: table \"t\": primary key column \"a\" must be integer or text",
      "t", "a float primary key", "v float[4]");
  ERR("vec0: table \"t\": primary key column \"a\" must be integer or text",
      "t", "a boolean primary key", "v float[4]");
  ERR("vec0: table \"t\": expected \"key\" after primary on column \"a\", "
      "found end of argument",
      "t", "a integer primary", "v float[4]");
  ERR("vec0: table \"t\": expected \"key\" after primary on column \"a\", "
      "found \"keys\"",
      "t", "a integer primary keys", "v float[4]");
  ERR("vec0: table \"t\": unexpected \"autoincrement\" on column \"a\"", "t",
      "a integer primary key autoincrement", "v float[4]");
  ERR("vec0: table \"t\": column name \"rowid\" is reserved (allowed only as "
      "an integer primary key)",
      "t", "rowid text primary key", "v float[4]");
}
END_TEST

START_TEST(test_partition_keys) {
  OK("t", "v float[4]", "user_id integer partition key",
     "lang text partition key", "x int partition key");
  ck_assert_int_eq(cfg.nPart, 3);
  ck_assert_int_eq(cfg.aPartCol[0], 1);
  ck_assert_int_eq(cfg.aPartCol[1], 2);
  ck_assert_int_eq(cfg.aPartCol[2], 3);
  ck_assert_int_eq(cfg.aCol[1].eKind, VEC0_COL_PARTITION);
  ck_assert_int_eq(cfg.aCol[1].eType, VEC0_VAL_INTEGER);
  ck_assert_int_eq(cfg.aCol[2].eType, VEC0_VAL_TEXT);
  ck_assert_int_eq(cfg.aCol[3].eType, VEC0_VAL_INTEGER);
  ck_assert_int_eq(cfg.aCol[2].iSub, 1);
  ck_assert_int_eq(cfg.ePk, VEC0_PK_ROWID);

  OK("t", "v float[4]", "a integer partition key", "b integer partition key",
     "c integer partition key", "d INTEGER PARTITION KEY");
  ck_assert_int_eq(cfg.nPart, 4);
  ERR("vec0: table \"t\": column \"e\" exceeds the limit of 4 partition key "
      "columns",
      "t", "v float[4]", "a integer partition key", "b integer partition key",
      "c integer partition key", "d integer partition key",
      "e text partition key");
  ERR("vec0: table \"t\": partition key column \"p\" must be integer or text",
      "t", "v float[4]", "p float partition key");
  ERR("vec0: table \"t\": expected \"key\" after partition on column \"p\", "
      "found end of argument",
      "t", "v float[4]", "p text partition");
  ERR("vec0: table \"t\": unexpected \"partition\" on column \"p\"", "t",
      "v float[4]", "p text primary key partition key");
}
END_TEST

START_TEST(test_metadata) {
  static const struct {
    const char *zType;
    Vec0ValType eType;
  } a[] = {
      {"integer", VEC0_VAL_INTEGER}, {"int", VEC0_VAL_INTEGER},
      {"int64", VEC0_VAL_INTEGER},   {"integer64", VEC0_VAL_INTEGER},
      {"INTEGER", VEC0_VAL_INTEGER}, {"float", VEC0_VAL_FLOAT},
      {"double", VEC0_VAL_FLOAT},    {"float64", VEC0_VAL_FLOAT},
      {"f64", VEC0_VAL_FLOAT},       {"Float", VEC0_VAL_FLOAT},
      {"text", VEC0_VAL_TEXT},       {"TEXT", VEC0_VAL_TEXT},
      {"boolean", VEC0_VAL_BOOLEAN}, {"bool", VEC0_VAL_BOOLEAN},
  };
  int i;
  char zArg[64];
  for (i = 0; i < (int)(sizeof(a) / sizeof(a[0])); i++) {
    snprintf(zArg, sizeof(zArg), "m %s", a[i].zType);
    OK("t", "v float[4]", zArg);
    ck_assert_int_eq(cfg.nMeta, 1);
    ck_assert_int_eq(cfg.aMetaCol[0], 1);
    ck_assert_int_eq(cfg.aCol[1].eKind, VEC0_COL_METADATA);
    ck_assert_int_eq(cfg.aCol[1].eType, a[i].eType);
  }
  ERR("vec0: table \"t\": unknown type \"real\" of column \"m\"", "t",
      "v float[4]", "m real");
  ERR("vec0: table \"t\": unknown type \"varchar\" of column \"m\"", "t",
      "v float[4]", "m varchar");
  ERR("vec0: table \"t\": unknown type \"blob\" of column \"m\"", "t",
      "v float[4]", "m blob");
  ERR("vec0: table \"t\": unknown type \"in\" of column \"m\"", "t",
      "v float[4]", "m in");
  ERR("vec0: table \"t\": expected a type on column \"m\", found end of "
      "argument",
      "t", "v float[4]", "m");
  ERR("vec0: table \"t\": expected a type on column \"m\", found \"4\"", "t",
      "v float[4]", "m 4");
  ERR("vec0: table \"t\": expected a type on column \"m\", found "
      "\"\"\"text\"\"\"",
      "t", "v float[4]", "m \"text\"");
  ERR("vec0: table \"t\": unexpected \"not\" on column \"m\"", "t",
      "v float[4]", "m text not null");
  ERR("vec0: table \"t\": unexpected \"unique\" on column \"m\"", "t",
      "v float[4]", "m integer unique");
  ERR("vec0: table \"t\": unexpected \"[4]\" on column \"m\"", "t",
      "v float[4]", "m f64[4]");
  ERR("vec0: table \"t\": unexpected \"(\" on column \"m\"", "t",
      "v float[4]", "m text(20)");
}
END_TEST

START_TEST(test_auxiliary) {
  static const struct {
    const char *zArg;
    const char *zName;
    Vec0ValType eType;
  } a[] = {
      {"+body", "body", VEC0_VAL_ANY},
      {"+body text", "body", VEC0_VAL_TEXT},
      {"+ body TEXT", "body", VEC0_VAL_TEXT},
      {"+n integer", "n", VEC0_VAL_INTEGER},
      {"+n int", "n", VEC0_VAL_INTEGER},
      {"+n unsigned big int", "n", VEC0_VAL_INTEGER},
      {"+r real", "r", VEC0_VAL_FLOAT},
      {"+r float", "r", VEC0_VAL_FLOAT},
      {"+r double precision", "r", VEC0_VAL_FLOAT},
      {"+s varchar(20)", "s", VEC0_VAL_TEXT},
      {"+s character varying ( 255 )", "s", VEC0_VAL_TEXT},
      {"+s clob", "s", VEC0_VAL_TEXT},
      {"+d decimal(10, 2)", "d", VEC0_VAL_ANY},
      {"+d numeric(+10,-2)", "d", VEC0_VAL_ANY},
      {"+b blob", "b", VEC0_VAL_ANY},
      {"+b boolean", "b", VEC0_VAL_ANY},
      {"+\"my body\" text", "my body", VEC0_VAL_TEXT},
      {"+[x y]", "x y", VEC0_VAL_ANY},
  };
  int i;
  for (i = 0; i < (int)(sizeof(a) / sizeof(a[0])); i++) {
    OK("t", "v float[4]", a[i].zArg);
    ck_assert_int_eq(cfg.nAux, 1);
    ck_assert_int_eq(cfg.aAuxCol[0], 1);
    ck_assert_int_eq(cfg.aCol[1].eKind, VEC0_COL_AUX);
    ck_assert_int_eq(cfg.aCol[1].iSub, 0);
    ck_assert_str_eq(cfg.aCol[1].zName, a[i].zName);
    ck_assert_msg(cfg.aCol[1].eType == a[i].eType, "%s: type %d", a[i].zArg,
                  cfg.aCol[1].eType);
  }
  ERR("vec0: table \"t\": expected a column name in argument 2, found end of "
      "argument",
      "t", "v float[4]", "+");
  ERR("vec0: table \"t\": expected a column name in argument 2, found \"+\"",
      "t", "v float[4]", "++a");
  ERR("vec0: table \"t\": unexpected \"not\" on column \"a\"", "t",
      "v float[4]", "+a text not null");
  ERR("vec0: table \"t\": unexpected \"primary\" on column \"a\"", "t",
      "v float[4]", "+a integer primary key");
  ERR("vec0: table \"t\": unexpected \"(\" on column \"a\"", "t",
      "v float[4]", "+a (3)");
  ERR("vec0: table \"t\": unexpected \"[4]\" on column \"a\"", "t",
      "v float[4]", "+a float[4]");
  ERR("vec0: table \"t\": expected a number in the type on column \"a\", "
      "found \")\"",
      "t", "v float[4]", "+a varchar()");
  ERR("vec0: table \"t\": expected \")\" after the type on column \"a\", "
      "found end of argument",
      "t", "v float[4]", "+a varchar(10");
  ERR("vec0: table \"t\": expected \")\" after the type on column \"a\", "
      "found \",\"",
      "t", "v float[4]", "+a decimal(1,2,3)");
  ERR("vec0: table \"t\": unexpected \"x\" on column \"a\"", "t",
      "v float[4]", "+a varchar(10) x");
}
END_TEST

/* Builds "<prefix><i><suffix>" arguments into the caller's buffers. */
static int makeArgs(char azBuf[][48], const char **azArg, int nArg,
                    const char *zFmt) {
  int i;
  for (i = 0; i < nArg; i++) {
    snprintf(azBuf[i], 48, zFmt, i);
    azArg[i] = azBuf[i];
  }
  return nArg;
}

START_TEST(test_column_limits) {
  char azBuf[MAX_ARGS][48];
  const char *azArg[MAX_ARGS];
  int n;

  n = makeArgs(azBuf, azArg, 16, "v%d float[2]");
  ck_assert_int_eq(parseArray("t", n, azArg), SQLITE_OK);
  ck_assert_int_eq(cfg.nVec, 16);
  ck_assert_int_eq(cfg.aVecCol[15], 15);
  ck_assert_int_eq(cfg.aCol[15].iSub, 15);
  n = makeArgs(azBuf, azArg, 17, "v%d float[2]");
  ck_assert_int_eq(parseArray("t", n, azArg), SQLITE_ERROR);
  ck_assert_str_eq(zErr, "vec0: table \"t\": column \"v16\" exceeds the limit "
                         "of 16 vector columns");

  n = makeArgs(azBuf, azArg, 17, "m%d integer");
  snprintf(azBuf[0], 48, "v float[2]");
  ck_assert_int_eq(parseArray("t", 17, azArg), SQLITE_OK);
  ck_assert_int_eq(cfg.nMeta, 16);
  n = makeArgs(azBuf, azArg, 18, "m%d integer");
  snprintf(azBuf[0], 48, "v float[2]");
  ck_assert_int_eq(parseArray("t", n, azArg), SQLITE_ERROR);
  ck_assert_str_eq(zErr, "vec0: table \"t\": column \"m17\" exceeds the limit "
                         "of 16 metadata columns");

  n = makeArgs(azBuf, azArg, 17, "+a%d");
  snprintf(azBuf[0], 48, "v float[2]");
  ck_assert_int_eq(parseArray("t", 17, azArg), SQLITE_OK);
  ck_assert_int_eq(cfg.nAux, 16);
  n = makeArgs(azBuf, azArg, 18, "+a%d text");
  snprintf(azBuf[0], 48, "v float[2]");
  ck_assert_int_eq(parseArray("t", n, azArg), SQLITE_ERROR);
  ck_assert_str_eq(zErr, "vec0: table \"t\": column \"a17\" exceeds the limit "
                         "of 16 auxiliary columns");
}
END_TEST

/* The largest table: every kind at its limit, interleaved. */
START_TEST(test_all_limits_together) {
  char azBuf[MAX_ARGS][48];
  const char *azArg[MAX_ARGS];
  int n = 0, i;
  for (i = 0; i < 16; i++) {
    snprintf(azBuf[n], 48, "v%d int8[8]", i), n++;
    snprintf(azBuf[n], 48, "m%d text", i), n++;
    snprintf(azBuf[n], 48, "+a%d", i), n++;
    if (i < 4) snprintf(azBuf[n], 48, "p%d text partition key", i), n++;
  }
  snprintf(azBuf[n], 48, "id text primary key"), n++;
  ck_assert_int_eq(n, VEC0_MAX_COLUMNS);
  for (i = 0; i < n; i++) azArg[i] = azBuf[i];
  ck_assert_int_eq(parseArray("big", n, azArg), SQLITE_OK);
  ck_assert_int_eq(cfg.nCol, VEC0_MAX_COLUMNS);
  ck_assert_int_eq(cfg.nVec, 16);
  ck_assert_int_eq(cfg.nMeta, 16);
  ck_assert_int_eq(cfg.nAux, 16);
  ck_assert_int_eq(cfg.nPart, 4);
  ck_assert_int_eq(cfg.ePk, VEC0_PK_TEXT);
  for (i = 0; i < cfg.nCol; i++) {
    const Vec0Column *c = &cfg.aCol[i];
    const int *aMap = c->eKind == VEC0_COL_VECTOR      ? cfg.aVecCol
                      : c->eKind == VEC0_COL_METADATA  ? cfg.aMetaCol
                      : c->eKind == VEC0_COL_AUX       ? cfg.aAuxCol
                      : c->eKind == VEC0_COL_PARTITION ? cfg.aPartCol
                                                       : 0;
    if (aMap) ck_assert_int_eq(aMap[c->iSub], i);
  }
}
END_TEST

START_TEST(test_names_and_quoting) {
  OK("t", "\"my vec\" float[4]", "`a``b` integer", "[c d] text",
     "\"q\"\"uote\" boolean", "_x$1 float", "\"  \" text");
  ck_assert_str_eq(cfg.aCol[0].zName, "my vec");
  ck_assert_str_eq(cfg.aCol[1].zName, "a`b");
  ck_assert_str_eq(cfg.aCol[2].zName, "c d");
  ck_assert_str_eq(cfg.aCol[3].zName, "q\"uote");
  ck_assert_str_eq(cfg.aCol[4].zName, "_x$1");
  ck_assert_str_eq(cfg.aCol[5].zName, "  ");
  /* Quoting keeps keywords and odd characters as names. */
  OK("t", "\"float\" float[4]", "[primary] text", "\"a,b(c)\" integer");
  ck_assert_str_eq(cfg.aCol[0].zName, "float");
  ck_assert_str_eq(cfg.aCol[1].zName, "primary");
  ck_assert_str_eq(cfg.aCol[2].zName, "a,b(c)");
  /* A column may be named like a keyword without quotes, too. */
  OK("t", "float float[4]", "text text", "chunk_size integer");
  ck_assert_str_eq(cfg.aCol[1].zName, "text");
  /* UTF-8 names. */
  OK("t", "vecteur_é float[4]", "名前 text");
  ck_assert_str_eq(cfg.aCol[0].zName, "vecteur_é");
  ck_assert_str_eq(cfg.aCol[1].zName, "名前");

  ERR("vec0: table \"t\": unterminated quoted name in argument 1", "t",
      "\"abc float[4]");
  ERR("vec0: table \"t\": unterminated quoted name in argument 1", "t",
      "[abc float");
  /* As in SQLite, [..] ends at the first ']'. */
  ERR("vec0: table \"t\": expected a type on column \"abc float[4\", found "
      "end of argument",
      "t", "[abc float[4]");
  ERR("vec0: table \"t\": unterminated quoted name in argument 1", "t",
      "`abc");
  ERR("vec0: table \"t\": unterminated quoted name in argument 1", "t",
      "\"ab\"\"");
  ERR("vec0: table \"t\": empty column name in argument 1", "t",
      "\"\" float[4]");
  ERR("vec0: table \"t\": empty column name in argument 2", "t", "v float[4]",
      "[] text");
  ERR("vec0: table \"t\": expected a column name in argument 1, found \"4\"",
      "t", "4");
  ERR("vec0: table \"t\": expected a column name in argument 1, found "
      "\"123abc\"",
      "t", "123abc float[4]");
  ERR("vec0: table \"t\": expected a column name in argument 1, found "
      "\"'v'\"",
      "t", "'v' float[4]");
  ERR("vec0: table \"t\": expected a column name in argument 1, found \")\"",
      "t", ")");
  ERR("vec0: table \"t\": expected a column name in argument 1, found \"]\"",
      "t", "]");
  ERR("vec0: table \"t\": argument 2 is empty", "t", "v float[4]", "");
  ERR("vec0: table \"t\": argument 1 is empty", "t", "  \t\n ");
  ERR("vec0: table \"t\": argument 1 is empty", "t", "-- only a comment");
  ERR("vec0: table \"t\": argument 1 is empty", "t", "/* unterminated");
}
END_TEST

START_TEST(test_duplicate_and_reserved_names) {
  ERR("vec0: table \"t\": duplicate column name \"A\"", "t", "a float[4]",
      "A float[4]");
  ERR("vec0: table \"t\": duplicate column name \"v\"", "t", "v float[4]",
      "+v text");
  ERR("vec0: table \"t\": duplicate column name \"Id\"", "t",
      "id integer primary key", "v float[4]", "Id text");
  ERR("vec0: table \"t\": duplicate column name \"MY COL\"", "t",
      "\"my col\" float[4]", "[MY COL] text partition key");
  ERR("vec0: table \"t\": column name \"distance\" is reserved for a hidden "
      "column",
      "t", "v float[4]", "distance float");
  ERR("vec0: table \"t\": column name \"K\" is reserved for a hidden column",
      "t", "v float[4]", "K integer");
  ERR("vec0: table \"t\": column name \"Ef\" is reserved for a hidden column",
      "t", "v float[4]", "+Ef");
  ERR("vec0: table \"t\": column name \"DISTANCE\" is reserved for a hidden "
      "column",
      "t", "DISTANCE float[4]");
  ERR("vec0: table \"docs\": column name \"Docs\" is the table name, reserved "
      "for a hidden column",
      "docs", "v float[4]", "Docs text");
  ERR("vec0: table \"t\": column name \"rowid\" is reserved (allowed only as "
      "an integer primary key)",
      "t", "v float[4]", "rowid integer");
  ERR("vec0: table \"t\": column name \"OID\" is reserved (allowed only as "
      "an integer primary key)",
      "t", "OID float[4]");
  ERR("vec0: table \"t\": column name \"_rowid_\" is reserved (allowed only "
      "as an integer primary key)",
      "t", "v float[4]", "+_rowid_");
  ERR("vec0: table \"k\": the table name collides with hidden column \"k\"",
      "k", "v float[4]");
  ERR("vec0: table \"Distance\": the table name collides with hidden column "
      "\"distance\"",
      "Distance", "v float[4]");
  /* Names that only contain a reserved word are fine. */
  OK("t", "v float[4]", "kk text", "distance2 integer", "efs float");
}
END_TEST

START_TEST(test_whitespace_comments_case) {
  OK("t", "  V   FLOAT [ 4 ]  DISTANCE_METRIC = COSINE  INDEXED  BY  HNSW ( "
          "M = 8 , EF_SEARCH=10 )  ");
  ck_assert_str_eq(cfg.aCol[0].zName, "V");
  assertVec(0, VEC0_ELEM_F32, 4, VEC0_METRIC_COSINE, VEC0_INDEX_HNSW, 8,
            DEF_EFC, 10);
  OK("t", "v\tfloat[\n4\n]\r\ndistance_metric\t=\tl1\n indexed\nby\nflat\n(\n)");
  assertVec(0, VEC0_ELEM_F32, 4, VEC0_METRIC_L1, VEC0_INDEX_FLAT, DEF_M,
            DEF_EFC, DEF_EFS);
  OK("t",
     "v /* the vector */ float[4] -- a comment, with commas\n"
     " indexed by /* inner */ hnsw(m=6 /* , */, ef_construction=50) -- end");
  assertVec(0, VEC0_ELEM_F32, 4, VEC0_METRIC_L2, VEC0_INDEX_HNSW, 6, 50,
            DEF_EFS);
  OK("t", "v float[4]", "Id   Integer\tPrimary\nKey", "p  TEXT  partition  key",
     "m  BoOlEaN");
  ck_assert_int_eq(cfg.ePk, VEC0_PK_INTEGER);
  ck_assert_int_eq(cfg.nPart, 1);
  ck_assert_int_eq(cfg.nMeta, 1);
  /* A '-' that is not a comment is an error, not silently skipped. */
  ERR("vec0: table \"t\": expected an option on column \"v\", found \"-\"",
      "t", "v float[4] - x");
}
END_TEST

START_TEST(test_table_options) {
  OK("t", "v float[4]", "chunk_size=8");
  ck_assert_int_eq(cfg.nCol, 1);
  OK("t", "chunk_size = 1024", "v float[4]");
  ck_assert_int_eq(cfg.nCol, 1);
  OK("t", "CHUNK_SIZE=2147483640", "v float[4]");
  ERR("vec0: table \"t\": chunk_size 0 must be a positive multiple of 8", "t",
      "v float[4]", "chunk_size=0");
  ERR("vec0: table \"t\": chunk_size 7 must be a positive multiple of 8", "t",
      "v float[4]", "chunk_size=7");
  ERR("vec0: table \"t\": chunk_size 99999999999999999992 must be a positive "
      "multiple of 8",
      "t", "v float[4]", "chunk_size=99999999999999999992");
  ERR("vec0: table \"t\": expected an integer value for chunk_size, found "
      "end of argument",
      "t", "v float[4]", "chunk_size=");
  ERR("vec0: table \"t\": expected an integer value for chunk_size, found "
      "\"=\"",
      "t", "v float[4]", "chunk_size==8");
  ERR("vec0: table \"t\": expected an integer value for chunk_size, found "
      "\"-\"",
      "t", "v float[4]", "chunk_size=-8");
  ERR("vec0: table \"t\": unexpected \"x\" after table option chunk_size",
      "t", "v float[4]", "chunk_size=8 x");
  ERR("vec0: table \"t\": duplicate table option \"chunk_size\"", "t",
      "v float[4]", "chunk_size=8", "chunk_size=16");
  ERR("vec0: table \"t\": unknown table option \"chunk_sizex\"", "t",
      "v float[4]", "chunk_sizex=8");
  ERR("vec0: table \"t\": unknown table option \"distance_metric\"", "t",
      "v float[4]", "distance_metric=cosine");
}
END_TEST

START_TEST(test_no_vector_column) {
  ERR("vec0: table \"t\": at least one vector column is required", "t",
      (const char *)0);
  ERR("vec0: table \"t\": at least one vector column is required", "t",
      "id integer primary key", "m text", "+a", "p integer partition key");
  ERR("vec0: table \"t\": at least one vector column is required", "t",
      "chunk_size=8");
}
END_TEST

START_TEST(test_error_names_table_with_quote) {
  ERR("vec0: table \"my\"\"table\": unknown option \"x\" on column \"a\"\"b\"",
      "my\"table", "\"a\"\"b\" float[4] x");
  /* The first error wins, later arguments are not looked at. */
  ERR("vec0: table \"t\": dimension 0 of column \"a\" out of range 1..8192",
      "t", "a float[0]", "b float[0]", "+");
  /* A long bad token is cut short in the message. */
  ERR("vec0: table \"t\": expected a dimension on column \"v\", found "
      "\"1234567890123456789012345678901234567890...\"",
      "t", "v float[12345678901234567890123456789012345678901234567890x]");
}
END_TEST

START_TEST(test_declare) {
  char *z;
  OK("docs", "embedding float[4]");
  z = vec0ConfigDeclare(&cfg);
  ck_assert_str_eq(z, "CREATE TABLE x(\"embedding\", \"distance\" HIDDEN, "
                      "\"k\" HIDDEN, \"ef\" HIDDEN, \"rescore\" HIDDEN, \"docs\" HIDDEN, \"recall\" HIDDEN)");
  sqlite3_free(z);

  OK("docs", "doc_id integer primary key", "embedding float[768]",
     "user_id integer partition key", "lang text", "+body text");
  z = vec0ConfigDeclare(&cfg);
  /* types for SQLite's own comparisons; INT, not INTEGER PRIMARY KEY (an alias) */
  ck_assert_str_eq(z, "CREATE TABLE x(\"doc_id\" INT PRIMARY KEY, \"embedding\", "
                      "\"user_id\" INTEGER, \"lang\" TEXT, \"body\" TEXT, "
                      "\"distance\" HIDDEN, \"k\" HIDDEN, "
                      "\"ef\" HIDDEN, \"rescore\" HIDDEN, \"docs\" HIDDEN, \"recall\" HIDDEN)");
  sqlite3_free(z);

  /* The key first, as sqlite-vec declares it: "rowid" when none is declared. */
  OK("docs", "embedding float[4]", "+body text");
  ck_assert_int_eq(vec0ConfigKeyFirst(&cfg), SQLITE_OK);
  z = vec0ConfigDeclare(&cfg);
  ck_assert_str_eq(z, "CREATE TABLE x(\"rowid\" INT, \"embedding\", \"body\" TEXT, \"distance\" "
                      "HIDDEN, \"k\" HIDDEN, \"ef\" HIDDEN, \"rescore\" HIDDEN, \"docs\" HIDDEN, "
                      "\"recall\" HIDDEN)");
  sqlite3_free(z);
  OK("docs", "embedding float[4]", "lang text", "id text primary key", "+body text");
  ck_assert_int_eq(vec0ConfigKeyFirst(&cfg), SQLITE_OK);
  z = vec0ConfigDeclare(&cfg);
  ck_assert_str_eq(z, "CREATE TABLE x(\"id\" TEXT PRIMARY KEY, \"embedding\", \"lang\" TEXT, "
                      "\"body\" TEXT, \"distance\" HIDDEN, \"k\" HIDDEN, \"ef\" HIDDEN, \"rescore\" HIDDEN, "
                      "\"docs\" HIDDEN, \"recall\" HIDDEN)");
  sqlite3_free(z);

  OK("we\"ird", "\"a\"\"b\" float[4]", "[c\"d] text");
  z = vec0ConfigDeclare(&cfg);
  ck_assert_str_eq(z, "CREATE TABLE x(\"a\"\"b\", \"c\"\"d\" TEXT, \"distance\" "
                      "HIDDEN, \"k\" HIDDEN, \"ef\" HIDDEN, \"rescore\" HIDDEN, \"we\"\"ird\" "
                      "HIDDEN, \"recall\" HIDDEN)");
  sqlite3_free(z);

  /* A column (or the table) named recall or rescore keeps its name: the hidden one gives way. */
  OK("docs", "embedding float[4]", "Recall float", "rescore text");
  z = vec0ConfigDeclare(&cfg);
  ck_assert_str_eq(z, "CREATE TABLE x(\"embedding\", \"Recall\" REAL, \"rescore\" TEXT, "
                      "\"distance\" HIDDEN, "
                      "\"k\" HIDDEN, \"ef\" HIDDEN, \"_rescore\" HIDDEN, \"docs\" HIDDEN, "
                      "\"_recall\" HIDDEN)");
  sqlite3_free(z);
  OK("recall", "embedding float[4]");
  z = vec0ConfigDeclare(&cfg);
  ck_assert_str_eq(z, "CREATE TABLE x(\"embedding\", \"distance\" HIDDEN, "
                      "\"k\" HIDDEN, \"ef\" HIDDEN, \"rescore\" HIDDEN, \"recall\" HIDDEN, "
                      "\"_recall\" HIDDEN)");
  sqlite3_free(z);
}
END_TEST

/* KeyFirst moves the key to column 0 and keeps every kind's index array
** pointing at its columns. */
START_TEST(test_key_first) {
  OK("t", "v float[2]", "p integer partition key", "id integer primary key",
     "m text", "+a text", "w int8[2]");
  ck_assert_int_eq(vec0ConfigKeyFirst(&cfg), SQLITE_OK);
  ck_assert_int_eq(cfg.nCol, 6);
  ck_assert_str_eq(cfg.aCol[0].zName, "id");
  ck_assert_str_eq(cfg.aCol[cfg.aVecCol[0]].zName, "v");
  ck_assert_str_eq(cfg.aCol[cfg.aVecCol[1]].zName, "w");
  ck_assert_str_eq(cfg.aCol[cfg.aPartCol[0]].zName, "p");
  ck_assert_str_eq(cfg.aCol[cfg.aMetaCol[0]].zName, "m");
  ck_assert_str_eq(cfg.aCol[cfg.aAuxCol[0]].zName, "a");
  ck_assert_int_eq(cfg.ePk, VEC0_PK_INTEGER);

  OK("t", "v float[2]", "p integer partition key", "+a text");
  ck_assert_int_eq(vec0ConfigKeyFirst(&cfg), SQLITE_OK);
  ck_assert_int_eq(cfg.nCol, 4);
  ck_assert_str_eq(cfg.aCol[0].zName, "rowid");
  ck_assert_int_eq(cfg.aCol[0].eKind, VEC0_COL_PK);
  ck_assert_int_eq(cfg.ePk, VEC0_PK_ROWID);
  ck_assert_ptr_null(cfg.zPkName);
  ck_assert_str_eq(cfg.aCol[cfg.aVecCol[0]].zName, "v");
  ck_assert_str_eq(cfg.aCol[cfg.aPartCol[0]].zName, "p");
  ck_assert_str_eq(cfg.aCol[cfg.aAuxCol[0]].zName, "a");
}
END_TEST

/* The declared statement is valid SQL with the hidden columns where
** VEC0_HIDDEN_* says, whatever the names. */
START_TEST(test_declare_is_valid_sql) {
  sqlite3 *db;
  sqlite3_stmt *pStmt;
  char *z, *zSql;
  int i, rc;
  OK("t\"x", "id text primary key", "\"a b\" float[4]", "`c``d` bit[8]",
     "[e\"f] integer", "+\"g\"\"\" blob");
  z = vec0ConfigDeclare(&cfg);
  ck_assert_ptr_nonnull(z);
  ck_assert_int_eq(sqlite3_open(":memory:", &db), SQLITE_OK);
  zSql = sqlite3_mprintf("%s", z);
  ck_assert_int_eq(sqlite3_exec(db, zSql, 0, 0, 0), SQLITE_OK);
  rc = sqlite3_prepare_v2(db, "SELECT name, hidden FROM pragma_table_xinfo('x')"
                              " ORDER BY cid",
                          -1, &pStmt, 0);
  ck_assert_int_eq(rc, SQLITE_OK);
  for (i = 0; sqlite3_step(pStmt) == SQLITE_ROW; i++) {
    const char *zName = (const char *)sqlite3_column_text(pStmt, 0);
    if (i < cfg.nCol) {
      ck_assert_str_eq(zName, cfg.aCol[i].zName);
    } else if (i == cfg.nCol + VEC0_HIDDEN_DISTANCE) {
      ck_assert_str_eq(zName, "distance");
    } else if (i == cfg.nCol + VEC0_HIDDEN_K) {
      ck_assert_str_eq(zName, "k");
    } else if (i == cfg.nCol + VEC0_HIDDEN_EF) {
      ck_assert_str_eq(zName, "ef");
    } else if (i == cfg.nCol + VEC0_HIDDEN_RECALL) {
      ck_assert_str_eq(zName, "recall");
    } else if (i == cfg.nCol + VEC0_HIDDEN_RESCORE) {
      ck_assert_str_eq(zName, "rescore");
    } else {
      ck_assert_int_eq(i, cfg.nCol + VEC0_HIDDEN_TABLE);
      ck_assert_str_eq(zName, "t\"x");
    }
  }
  ck_assert_int_eq(i, cfg.nCol + VEC0_N_HIDDEN);
  ck_assert_str_eq(cfg.aCol[3].zName, "e\"f");
  sqlite3_finalize(pStmt);
  sqlite3_close(db);
  sqlite3_free(zSql);
  sqlite3_free(z);
}
END_TEST

/* ------------------------------------------ behind a real SQLite module */

typedef struct TestVtab {
  sqlite3_vtab base;
} TestVtab;

static Vec0Config lastCfg; /* the config of the last successful CREATE */

static int tvCreate(sqlite3 *db, void *pAux, int argc, const char *const *argv,
                    sqlite3_vtab **ppVtab, char **pzErrOut) {
  Vec0Config c;
  char *zDecl;
  TestVtab *p;
  int rc = vec0ConfigParse(&c, argv[2], argc - 3, argv + 3, pzErrOut);
  if (rc != SQLITE_OK) return rc;
  zDecl = vec0ConfigDeclare(&c);
  if (zDecl == 0) {
    vec0ConfigClear(&c);
    return SQLITE_NOMEM;
  }
  rc = sqlite3_declare_vtab(db, zDecl);
  sqlite3_free(zDecl);
  if (rc != SQLITE_OK) {
    vec0ConfigClear(&c);
    return rc;
  }
  p = sqlite3_malloc(sizeof(*p));
  if (p == 0) {
    vec0ConfigClear(&c);
    return SQLITE_NOMEM;
  }
  memset(p, 0, sizeof(*p));
  vec0ConfigClear(&lastCfg);
  lastCfg = c;
  *ppVtab = &p->base;
  return SQLITE_OK;
}
static int tvBestIndex(sqlite3_vtab *pVtab, sqlite3_index_info *pInfo) {
  return SQLITE_OK;
}
static int tvDisconnect(sqlite3_vtab *pVtab) {
  sqlite3_free(pVtab);
  return SQLITE_OK;
}
static int tvOpen(sqlite3_vtab *pVtab, sqlite3_vtab_cursor **ppCur) {
  sqlite3_vtab_cursor *p = sqlite3_malloc(sizeof(*p));
  if (p == 0) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  *ppCur = p;
  return SQLITE_OK;
}
static int tvClose(sqlite3_vtab_cursor *pCur) {
  sqlite3_free(pCur);
  return SQLITE_OK;
}
static int tvFilter(sqlite3_vtab_cursor *pCur, int idxNum, const char *idxStr,
                    int argc, sqlite3_value **argv) {
  return SQLITE_OK;
}
static int tvNext(sqlite3_vtab_cursor *pCur) { return SQLITE_OK; }
static int tvEof(sqlite3_vtab_cursor *pCur) { return 1; }
static int tvColumn(sqlite3_vtab_cursor *pCur, sqlite3_context *ctx, int i) {
  return SQLITE_OK;
}
static int tvRowid(sqlite3_vtab_cursor *pCur, sqlite3_int64 *piRowid) {
  *piRowid = 0;
  return SQLITE_OK;
}

static sqlite3_module testModule = {
    0,           tvCreate, tvCreate, tvBestIndex, tvDisconnect, tvDisconnect,
    tvOpen,      tvClose,  tvFilter, tvNext,      tvEof,        tvColumn,
    tvRowid,     0,        0,        0,           0,            0,
    0,           0,        0,        0,           0,            0,
};

static sqlite3 *openDb(void) {
  sqlite3 *db;
  ck_assert_int_eq(sqlite3_open(":memory:", &db), SQLITE_OK);
  ck_assert_int_eq(sqlite3_create_module(db, "vec0", &testModule, 0),
                   SQLITE_OK);
  return db;
}

START_TEST(test_sqlite_module_args) {
  sqlite3 *db = openDb();
  char *zMsg = 0;
  int rc;
  rc = sqlite3_exec(
      db,
      "CREATE VIRTUAL TABLE docs USING vec0(\n"
      "  doc_id    integer primary key,          -- or `text primary key`\n"
      "  embedding float[768] distance_metric=cosine\n"
      "            indexed by hnsw(m=16, ef_construction=200),   -- the index\n"
      "  user_id   integer partition key,        -- up to 4; splits, really\n"
      "  lang      text,                         -- metadata: up to 16, yes\n"
      "  bits      bit[ 64 ] indexed by flat( ),\n"
      "  \"odd, name\" float,\n"
      "  +body     text\n"
      ");",
      0, 0, &zMsg);
  ck_assert_msg(rc == SQLITE_OK, "%s", zMsg ? zMsg : "?");
  ck_assert_int_eq(lastCfg.nCol, 7);
  ck_assert_int_eq(lastCfg.ePk, VEC0_PK_INTEGER);
  ck_assert_int_eq(lastCfg.nVec, 2);
  ck_assert_int_eq(lastCfg.aVec[0].nDim, 768);
  ck_assert_int_eq(lastCfg.aVec[0].eMetric, VEC0_METRIC_COSINE);
  ck_assert_int_eq(lastCfg.aVec[0].m, 16);
  ck_assert_int_eq(lastCfg.aVec[0].efConstruction, 200);
  ck_assert_int_eq(lastCfg.aVec[1].eType, VEC0_ELEM_BIT);
  ck_assert_int_eq(lastCfg.aVec[1].eIndex, VEC0_INDEX_FLAT);
  ck_assert_int_eq(lastCfg.nPart, 1);
  ck_assert_int_eq(lastCfg.nMeta, 2);
  ck_assert_str_eq(lastCfg.aCol[5].zName, "odd, name");
  ck_assert_int_eq(lastCfg.nAux, 1);
  ck_assert_str_eq(lastCfg.zTable, "docs");
  /* The hidden columns are there and hidden. */
  rc = sqlite3_exec(db, "SELECT distance, k, ef, docs FROM docs", 0, 0, &zMsg);
  ck_assert_msg(rc == SQLITE_OK, "%s", zMsg ? zMsg : "?");
  {
    sqlite3_stmt *pStmt;
    rc = sqlite3_prepare_v2(db, "SELECT * FROM docs", -1, &pStmt, 0);
    ck_assert_int_eq(rc, SQLITE_OK);
    ck_assert_int_eq(sqlite3_column_count(pStmt), 7);
    ck_assert_str_eq(sqlite3_column_name(pStmt, 5), "odd, name");
    sqlite3_finalize(pStmt);
  }

  /* Errors reach the user verbatim. */
  rc = sqlite3_exec(db,
                    "CREATE VIRTUAL TABLE e USING vec0(v float[4] "
                    "indexed by hnsw(m=8, ef_search=0))",
                    0, 0, &zMsg);
  ck_assert_int_eq(rc, SQLITE_ERROR);
  ck_assert_str_eq(zMsg, "vec0: table \"e\": hnsw ef_search 0 of column \"v\" "
                         "out of range 1..100000");
  sqlite3_free(zMsg);
  zMsg = 0;
  rc = sqlite3_exec(db, "CREATE VIRTUAL TABLE e USING vec0(m text)", 0, 0,
                    &zMsg);
  ck_assert_int_eq(rc, SQLITE_ERROR);
  ck_assert_str_eq(zMsg, "vec0: table \"e\": at least one vector column is "
                         "required");
  sqlite3_free(zMsg);
  zMsg = 0;
  rc = sqlite3_exec(db, "CREATE VIRTUAL TABLE e USING vec0()", 0, 0, &zMsg);
  ck_assert_int_eq(rc, SQLITE_ERROR);
  ck_assert_str_eq(zMsg, "vec0: table \"e\": at least one vector column is "
                         "required");
  sqlite3_free(zMsg);
  zMsg = 0;
  rc = sqlite3_exec(db, "CREATE VIRTUAL TABLE e USING vec0",
                    0, 0, &zMsg);
  ck_assert_int_eq(rc, SQLITE_ERROR);
  ck_assert_str_eq(zMsg, "vec0: table \"e\": at least one vector column is "
                         "required");
  sqlite3_free(zMsg);
  zMsg = 0;
  rc = sqlite3_exec(db, "CREATE VIRTUAL TABLE \"k\" USING vec0(v float[1])", 0,
                    0, &zMsg);
  ck_assert_int_eq(rc, SQLITE_ERROR);
  ck_assert_str_eq(zMsg, "vec0: table \"k\": the table name collides with "
                         "hidden column \"k\"");
  sqlite3_free(zMsg);
  zMsg = 0;
  /* A table named with a quote works end to end. */
  rc = sqlite3_exec(db,
                    "CREATE VIRTUAL TABLE \"a\"\"b\" USING vec0(v float[2]);"
                    "SELECT \"a\"\"b\" FROM \"a\"\"b\";",
                    0, 0, &zMsg);
  ck_assert_msg(rc == SQLITE_OK, "%s", zMsg ? zMsg : "?");
  ck_assert_str_eq(lastCfg.zTable, "a\"b");
  sqlite3_close(db);
  vec0ConfigClear(&lastCfg);
}
END_TEST

/* --------------------------------------------------------- robustness */

/* Any result is fine as long as it is consistent and does not crash. */
static void checkConsistent(int rc) {
  if (rc == SQLITE_OK) {
    char *z;
    ck_assert_ptr_null(zErr);
    ck_assert_int_ge(cfg.nVec, 1);
    z = vec0ConfigDeclare(&cfg);
    ck_assert_ptr_nonnull(z);
    sqlite3_free(z);
  } else {
    ck_assert_int_eq(rc, SQLITE_ERROR);
    ck_assert_ptr_nonnull(zErr);
    ck_assert_int_eq(strncmp(zErr, "vec0: table \"", 13), 0);
    ck_assert_int_eq(cfg.nCol, 0);
  }
}

START_TEST(test_every_prefix) {
  static const char *azFull[] = {
      ("\"e\"\"m\" float32[ 768 ] distance_metric = cosine indexed by hnsw( m "
       "= 8 , ef_construction = 100 , ef_search = 50 ) /* c */ -- x"),
      "[my col] bit[64] indexed by flat()",
      "`id` text primary key",
      "+aux numeric(10, -2)",
      "p integer partition key",
      "chunk_size = 64",
  };
  int i, n;
  for (i = 0; i < (int)(sizeof(azFull) / sizeof(azFull[0])); i++) {
    int nFull = (int)strlen(azFull[i]);
    for (n = 0; n <= nFull; n++) {
      char *zArg = sqlite3_mprintf("%.*s", n, azFull[i]);
      const char *azArg[2];
      ck_assert_ptr_nonnull(zArg);
      azArg[0] = "v float[2]";
      azArg[1] = zArg;
      checkConsistent(parseArray("t", 2, azArg));
      azArg[0] = zArg;
      checkConsistent(parseArray("t", 1, azArg));
      sqlite3_free(zArg);
    }
  }
}
END_TEST

START_TEST(test_random_inputs) {
  static const char *azPiece[] = {
      "v",     " ",       "float", "[",     "]",      "4",       "8",
      "=",     "(",       ")",     ",",     "+",      "\"",      "`",
      "'",     "--",      "/*",    "*/",    "\n",     "bit",     "int8",
      "indexed", "by",    "hnsw",  "flat",  "m",      "ef_search", "primary",
      "key",   "partition", "text", "integer", "distance_metric", "cosine",
      "hamming", "chunk_size", "-",  "99999999999999999999", "\xc3\xa9",
      "\x01",  "0",       "k",     "distance", "\xff"};
  unsigned int seed = 12345;
  int iter, j;
  char zBuf[256];
  for (iter = 0; iter < 20000; iter++) {
    const char *azArg[3];
    int nPiece, nBuf = 0;
    seed = seed * 1103515245u + 12345u;
    nPiece = (int)((seed >> 16) % 12);
    for (j = 0; j < nPiece; j++) {
      const char *zP;
      int nP;
      seed = seed * 1103515245u + 12345u;
      zP = azPiece[(seed >> 16) % (sizeof(azPiece) / sizeof(azPiece[0]))];
      nP = (int)strlen(zP);
      if (nBuf + nP >= (int)sizeof(zBuf)) break;
      memcpy(&zBuf[nBuf], zP, (size_t)nP);
      nBuf += nP;
    }
    zBuf[nBuf] = 0;
    azArg[0] = "v0 float[2]";
    azArg[1] = zBuf;
    azArg[2] = "+z";
    checkConsistent(parseArray("t", 3, azArg));
    checkConsistent(parseArray("t", 1, &azArg[1]));
  }
}
END_TEST

START_TEST(test_long_names) {
  int n = 100000;
  char *zName = malloc((size_t)n + 1);
  char *zArg;
  char *zDecl;
  ck_assert_ptr_nonnull(zName);
  memset(zName, 'x', (size_t)n);
  zName[n] = 0;
  zArg = sqlite3_mprintf("%s float[4]", zName);
  OK("t", zArg);
  ck_assert_str_eq(cfg.aCol[0].zName, zName);
  zDecl = vec0ConfigDeclare(&cfg);
  ck_assert_ptr_nonnull(zDecl);
  ck_assert_int_gt((int)strlen(zDecl), n);
  sqlite3_free(zDecl);
  sqlite3_free(zArg);
  zArg = sqlite3_mprintf("v float[4] %s=3", zName);
  ck_assert_int_eq(parseList("t", zArg, (const char *)0), SQLITE_ERROR);
  ck_assert_int_eq(strncmp(zErr, "vec0: table \"t\": unknown option \"xxx", 36),
                   0);
  sqlite3_free(zArg);
  free(zName);
}
END_TEST

/* Out of memory at every allocation: SQLITE_NOMEM or success, no leak. */
static sqlite3_mem_methods origMem;
static int nFailAfter = -1; /* allocations left before one fails; -1: none */

static void *failMalloc(int n) {
  if (nFailAfter == 0) return 0;
  if (nFailAfter > 0) nFailAfter--;
  return origMem.xMalloc(n);
}
static void *failRealloc(void *p, int n) {
  if (nFailAfter == 0) return 0;
  if (nFailAfter > 0) nFailAfter--;
  return origMem.xRealloc(p, n);
}

START_TEST(test_out_of_memory) {
  sqlite3_mem_methods m;
  static const char *azArg[] = {"id text primary key",
                                "\"v\"\"1\" float[4] indexed by hnsw(m=8)",
                                "p integer partition key", "m text", "+a blob",
                                "chunk_size=8"};
  static const char *azBad[] = {"v float[4]", "x float[4] metric=l2"};
  int i, bOk = 0, bBad = 0;
  sqlite3_shutdown();
  ck_assert_int_eq(sqlite3_config(SQLITE_CONFIG_GETMALLOC, &origMem),
                   SQLITE_OK);
  m = origMem;
  m.xMalloc = failMalloc;
  m.xRealloc = failRealloc;
  ck_assert_int_eq(sqlite3_config(SQLITE_CONFIG_MALLOC, &m), SQLITE_OK);
  ck_assert_int_eq(sqlite3_initialize(), SQLITE_OK);
  for (i = 0; i < 200 && !(bOk && bBad); i++) {
    int rc;
    char *z = 0;
    if (!bOk) {
      nFailAfter = i;
      rc = parseArray("tbl", 6, azArg);
      nFailAfter = -1;
      ck_assert_msg(rc == SQLITE_OK || rc == SQLITE_NOMEM, "rc=%d", rc);
      if (rc == SQLITE_NOMEM) {
        ck_assert_int_eq(cfg.nCol, 0);
      } else {
        bOk = 1;
        /* Declare under OOM: NULL or the full text. */
        for (int j = 0; j < 10; j++) {
          nFailAfter = j;
          z = vec0ConfigDeclare(&cfg);
          nFailAfter = -1;
          if (z) {
            ck_assert_int_eq(strncmp(z, "CREATE TABLE x(\"id\"", 19), 0);
            sqlite3_free(z);
          }
        }
      }
    }
    if (!bBad) {
      nFailAfter = i;
      rc = parseArray("tbl", 2, azBad);
      nFailAfter = -1;
      ck_assert_msg(rc == SQLITE_ERROR || rc == SQLITE_NOMEM, "rc=%d", rc);
      ck_assert_int_eq(cfg.nCol, 0);
      if (rc == SQLITE_ERROR) {
        ck_assert_str_eq(zErr, "vec0: table \"tbl\": unknown option "
                               "\"metric\" on column \"x\"");
        bBad = 1;
      }
    }
  }
  ck_assert(bOk && bBad);
  clearState();
  sqlite3_shutdown();
  sqlite3_config(SQLITE_CONFIG_MALLOC, &origMem);
}
END_TEST

START_TEST(test_clear_is_idempotent) {
  OK("t", "id text primary key", "v float[4]", "+a");
  vec0ConfigClear(&cfg);
  ck_assert_int_eq(cfg.nCol, 0);
  ck_assert_ptr_null(cfg.zPkName);
  ck_assert_ptr_null(cfg.zTable);
  vec0ConfigClear(&cfg);
  /* A NULL table name is treated as "". */
  OK((const char *)0, "v float[4]");
  ck_assert_str_eq(cfg.zTable, "");
}
END_TEST

static Suite *configSuite(void) {
  Suite *s = suite_create("config");
  TCase *tc = tcase_create("parse");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_minimal);
  tcase_add_test(tc, test_vector_types);
  tcase_add_test(tc, test_dimension_limits);
  tcase_add_test(tc, test_metrics);
  tcase_add_test(tc, test_index_options);
  tcase_add_test(tc, test_vec010_forms);
  tcase_add_test(tc, test_hnsw_ranges);
  tcase_add_test(tc, test_hnsw_recall);
  tcase_add_test(tc, test_index_errors);
  tcase_add_test(tc, test_vector_syntax_errors);
  tcase_add_test(tc, test_primary_key);
  tcase_add_test(tc, test_partition_keys);
  tcase_add_test(tc, test_metadata);
  tcase_add_test(tc, test_auxiliary);
  tcase_add_test(tc, test_column_limits);
  tcase_add_test(tc, test_all_limits_together);
  tcase_add_test(tc, test_names_and_quoting);
  tcase_add_test(tc, test_duplicate_and_reserved_names);
  tcase_add_test(tc, test_whitespace_comments_case);
  tcase_add_test(tc, test_table_options);
  tcase_add_test(tc, test_no_vector_column);
  tcase_add_test(tc, test_error_names_table_with_quote);
  tcase_add_test(tc, test_declare);
  tcase_add_test(tc, test_key_first);
  tcase_add_test(tc, test_declare_is_valid_sql);
  tcase_add_test(tc, test_sqlite_module_args);
  tcase_add_test(tc, test_every_prefix);
  tcase_add_test(tc, test_random_inputs);
  tcase_add_test(tc, test_long_names);
  tcase_add_test(tc, test_out_of_memory);
  tcase_add_test(tc, test_clear_is_idempotent);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(configSuite());
  int nFailed;
  srunner_run_all(sr, CK_NORMAL);
  nFailed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return nFailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
