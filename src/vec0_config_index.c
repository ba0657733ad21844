/*
** vec0_config_index.c: the "indexed by <form>(...)" clause of a vector
** column, for vec0_config.c (whose scanner it calls through vec0_config.h).
**
** GRAMMAR (the cursor just after "by"; keywords case-insensitive):
**
**   form    := "hnsw" ["(" [hparam ("," hparam)*] ")"]
**            | "flat" ["(" ")"]
**            | "rescore" "(" [rparam ("," rparam)*] ")"       sqlite-vec 0.1.10
**            | "diskann" "(" [dparam ("," dparam)*] ")"       sqlite-vec 0.1.10
**   hparam  := ("m"|"ef_construction"|"ef_search"|"rescore"|"low_memory") "=" INT
**            | "quantizer" "=" ("none"|"int8"|"bit")
**            | "recall" "=" DECIMAL                  0.5 .. 0.999 (vec0_recall.c)
**   rparam  := "quantizer" "=" ("int8"|"bit") | "oversample" "=" INT
**   dparam  := "neighbor_quantizer" "=" ("binary"|"int8")
**            | ("n_neighbors"|"search_list_size"|"search_list_size_search"
**              |"search_list_size_insert"|"buffer_threshold") "=" INT
**
** ("binary" and "bit" name the same quantizer everywhere.)  Each parameter
** at most once.
**
** RANGES (hnsw): m 2..128; ef_construction 1..4096 (below m works but
** builds a weaker graph); ef_search 1..100000 (VEC0_MAX_K); rescore 1..100
** (a quantizer's candidates per result, default VEC0_RESCORE_INT8 or
** VEC0_RESCORE_BIT); low_memory 0..1, 1 only with a quantizer (searches
** keep codes and links in memory, not the vectors: vec0_index_hnsw.c);
** recall 0.5..0.999, the target the default ef is measured to meet
** (default 0.95), and ef_search, a fixed default ef, exclude each other.
**
** WHAT THEY BECOME: rescore(quantizer=Q, oversample=N) is the form of
** vec0_index_rescore.c, an exact scan of Q codes whose best N * k are
** re-ranked in float32 (eQuant Q, nRescore N, default 8 and at most 128 as
** in sqlite-vec; quantizer required).  diskann(...) is vec0's quantized HNSW
** graph (eIndex VEC0_INDEX_HNSW, bDiskann set for the diskann commands of
** vec0_maint.c): neighbor_quantizer (required) is its quantizer;
** n_neighbors R (a multiple of 8 in 8..256, default 72) is the degree of
** DiskANN's one-level graph, which is an HNSW graph's level 0, 2*m, so m =
** R/2; search_list_size L (default 128) is the breadth of both the search
** and the insert, ef_search = ef_construction = L, which the _search and
** _insert forms set apart (they may not be mixed with it, as in sqlite-vec);
** ef_construction is at most 4096 here.  buffer_threshold batches inserts
** in sqlite-vec; vec0's writes need no such buffer, so it is accepted and
** has no effect.  sqlite-vec's alpha is not an option there either.
*/
#include "vec0Int.h"
#include "vec0_config.h"

#include <string.h>

#define CFG_M_MIN 2
#define CFG_M_MAX 128
#define CFG_EFC_MAX 4096
#define CFG_RESCORE_MAX 100
#define CFG_OVERSAMPLE_DEFAULT 8
#define CFG_OVERSAMPLE_MAX 128
#define CFG_DISKANN_R_DEFAULT 72
#define CFG_DISKANN_L_DEFAULT 128
#define CFG_MAX_PARAM 7

/* One parameter of a form: an integer in iMin..iMax, or one of azWord. */
typedef struct CfgParam {
  const char *zName;
  int iMin, iMax;
  const char *const *azWord; /* NULL-terminated; NULL for an integer */
  const int *aWordVal;       /* the value of each word */
  const char *zChoices;      /* the words, for messages */
  int bDecimal;              /* a decimal recall target, kept in 1/10000 */
} CfgParam;

/* A form's parameter list; zWhat names one in messages ("an hnsw parameter"). */
typedef struct CfgForm {
  const char *zName;
  const char *zWhat;
  const CfgParam *aParam;
  int nParam;
} CfgForm;

static const char *const azQuantAll[] = {"none", "int8", "bit", "binary", 0};
static const int aQuantAll[] = {VEC0_QUANT_NONE, VEC0_QUANT_INT8, VEC0_QUANT_BIT, VEC0_QUANT_BIT};
static const char *const azQuant[] = {"int8", "bit", "binary", 0};
static const int aQuant[] = {VEC0_QUANT_INT8, VEC0_QUANT_BIT, VEC0_QUANT_BIT};

static const CfgParam aHnswParam[] = {
    {"m", CFG_M_MIN, CFG_M_MAX, 0, 0, 0, 0},
    {"ef_construction", 1, CFG_EFC_MAX, 0, 0, 0, 0},
    {"ef_search", 1, VEC0_MAX_K, 0, 0, 0, 0},
    {"rescore", 1, CFG_RESCORE_MAX, 0, 0, 0, 0},
    {"quantizer", 0, 0, azQuantAll, aQuantAll, "(none, int8 or bit)", 0},
    {"low_memory", 0, 1, 0, 0, 0, 0},
    {"recall", VEC0_RECALL_MIN, VEC0_RECALL_MAX, 0, 0, 0, 1},
};
static const CfgParam aRescoreParam[] = {
    {"quantizer", 0, 0, azQuant, aQuant, "(int8 or bit)", 0},
    {"oversample", 1, CFG_OVERSAMPLE_MAX, 0, 0, 0, 0},
};
static const CfgParam aDiskannParam[] = {
    {"neighbor_quantizer", 0, 0, azQuant, aQuant, "(binary or int8)", 0},
    {"n_neighbors", 8, 2 * CFG_M_MAX, 0, 0, 0, 0},
    {"search_list_size", 1, CFG_EFC_MAX, 0, 0, 0, 0},
    {"search_list_size_search", 1, VEC0_MAX_K, 0, 0, 0, 0},
    {"search_list_size_insert", 1, CFG_EFC_MAX, 0, 0, 0, 0},
    {"buffer_threshold", 0, 0x7fffffff, 0, 0, 0, 0},
};
static const CfgForm aForm[] = {
    {"hnsw", "an hnsw parameter", aHnswParam, 7},
    {"rescore", "a rescore parameter", aRescoreParam, 2},
    {"diskann", "a diskann parameter", aDiskannParam, 6},
};

/* "\"=\" after NAME" and the like, reported as expected on column zCol. */
static void expectedAfter(CfgParse *pP, CfgScan *s, const char *zFmt, const char *zName,
                          const char *zCol) {
  char *zWhat = sqlite3_mprintf(zFmt, zName);
  if (zWhat == 0) {
    pP->rc = SQLITE_NOMEM;
    return;
  }
  vec0CfgExpected(pP, s, zWhat, zCol);
  sqlite3_free(zWhat);
}

/* The value of parameter pPar into *pv; the cursor just after its name. */
static void readValue(CfgParse *pP, CfgScan *s, const CfgForm *pF, const CfgParam *pPar,
                      const char *zCol, int *pv) {
  const char *z;
  int n;
  sqlite3_int64 v;
  if (!vec0CfgEat(s, '=')) {
    expectedAfter(pP, s, "\"=\" after %s", pPar->zName, zCol);
  } else if (pPar->bDecimal) {
    vec0CfgPeek(s);
    z = &s->z[s->i];
    for (n = 0; z[n] == '.' || z[n] == '-' || z[n] == '+' || (z[n] >= '0' && z[n] <= '9') ||
                vec0CfgIsIdStart((unsigned char)z[n]);
         n++) {
    }
    s->i += n;
    if (!vec0RecallParse(z, n, pv)) {
      vec0CfgError(pP,
                   "%s %s %.*s of column \"%w\" is not a decimal in 0.5..0.999 "
                   "(at most 4 places, such as 0.95)",
                   pF->zName, pPar->zName, n > 40 ? 40 : n, z, zCol);
    }
  } else if (pPar->azWord) {
    int i;
    if (!vec0CfgReadWord(s, &z, &n)) {
      char *zWhat = sqlite3_mprintf("a %s %s", pPar->zName, pPar->zChoices);
      if (zWhat == 0) {
        pP->rc = SQLITE_NOMEM;
        return;
      }
      vec0CfgExpected(pP, s, zWhat, zCol);
      sqlite3_free(zWhat);
      return;
    }
    for (i = 0; pPar->azWord[i] && !vec0CfgWordIs(z, n, pPar->azWord[i]); i++) {
    }
    if (pPar->azWord[i] == 0) {
      vec0CfgError(pP, "unknown %s \"%.*w\" on column \"%w\" %s", pPar->zName, n, z, zCol,
                   pPar->zChoices);
    } else {
      *pv = pPar->aWordVal[i];
    }
  } else if (!vec0CfgReadInt(s, &v, &z, &n)) {
    expectedAfter(pP, s, "an integer value for %s", pPar->zName, zCol);
  } else if (v < pPar->iMin || v > pPar->iMax) {
    vec0CfgError(pP, "%s %s %.*s of column \"%w\" out of range %d..%d", pF->zName,
                 pPar->zName, n, z, zCol, pPar->iMin, pPar->iMax);
  } else {
    *pv = (int)v;
  }
}

/*
** "name = value, ..." ")" of form pF, the cursor just after "(": aVal[i]
** the value of parameter i, -1 where it is not given.
*/
static void readParams(CfgParse *pP, CfgScan *s, const CfgForm *pF, const char *zCol,
                       int *aVal) {
  for (int i = 0; i < pF->nParam; i++) aVal[i] = -1;
  if (vec0CfgEat(s, ')')) return;
  while (pP->rc == SQLITE_OK) {
    const char *z;
    int n, i;
    if (!vec0CfgReadWord(s, &z, &n)) {
      vec0CfgExpected(pP, s, pF->zWhat, zCol);
      return;
    }
    for (i = 0; i < pF->nParam && !vec0CfgWordIs(z, n, pF->aParam[i].zName); i++) {
    }
    if (i == pF->nParam) {
      vec0CfgError(pP, "unknown %s parameter \"%.*w\" on column \"%w\"", pF->zName, n, z,
                   zCol);
      return;
    }
    if (aVal[i] != -1) {
      vec0CfgError(pP, "duplicate %s parameter \"%s\" on column \"%w\"", pF->zName,
                   pF->aParam[i].zName, zCol);
      return;
    }
    readValue(pP, s, pF, &pF->aParam[i], zCol, &aVal[i]);
    if (pP->rc != SQLITE_OK || vec0CfgEat(s, ')')) return;
    if (!vec0CfgEat(s, ',')) {
      vec0CfgExpected(pP, s, "\",\" or \")\"", zCol);
      return;
    }
  }
}

/* diskann(...)'s values (aVal as readParams gives them) into the graph's. */
static void diskannParams(CfgParse *pP, const int *aVal, const char *zCol,
                          Vec0VectorCol *pVec) {
  int nR = aVal[1] >= 0 ? aVal[1] : CFG_DISKANN_R_DEFAULT;
  int nL = aVal[2] >= 0 ? aVal[2] : CFG_DISKANN_L_DEFAULT;
  if (aVal[0] < 0) {
    vec0CfgError(pP, "diskann(...) of column \"%w\" needs neighbor_quantizer=binary or "
                     "neighbor_quantizer=int8",
                 zCol);
  } else if (nR % 8 != 0) {
    vec0CfgError(pP, "diskann n_neighbors %d of column \"%w\" is not a multiple of 8", nR,
                 zCol);
  } else if (aVal[2] >= 0 && (aVal[3] >= 0 || aVal[4] >= 0)) {
    vec0CfgError(pP, "diskann search_list_size of column \"%w\" cannot be mixed with "
                     "search_list_size_search or search_list_size_insert",
                 zCol);
  }
  pVec->bDiskann = 1;
  pVec->bEfFixed = 1; /* sqlite-vec's search_list_size: a fixed breadth */
  pVec->eQuant = aVal[0];
  pVec->m = nR / 2;
  pVec->efSearch = aVal[3] >= 0 ? aVal[3] : nL;
  pVec->efConstruction = aVal[4] >= 0 ? aVal[4] : nL;
}

void vec0CfgIndex(CfgParse *pP, CfgScan *s, const char *zCol, Vec0VectorCol *pVec) {
  int aVal[CFG_MAX_PARAM];
  const CfgForm *pF = 0;
  if (vec0CfgEatWord(s, "flat")) {
    pVec->eIndex = VEC0_INDEX_FLAT;
    if (vec0CfgEat(s, '(') && !vec0CfgEat(s, ')')) {
      vec0CfgError(pP, "flat() takes no parameters, found %z on column \"%w\"",
                   vec0CfgTokenShow(s), zCol);
    }
    return;
  }
  for (int i = 0; i < (int)(sizeof(aForm) / sizeof(aForm[0])); i++) {
    if (vec0CfgEatWord(s, aForm[i].zName)) pF = &aForm[i];
    if (pF) break;
  }
  if (pF == 0) {
    vec0CfgExpected(pP, s, "hnsw, flat, rescore or diskann after \"indexed by\"", zCol);
    return;
  }
  if (!vec0CfgEat(s, '(')) {
    if (pF != &aForm[0]) expectedAfter(pP, s, "\"(\" after %s", pF->zName, zCol);
    pVec->eIndex = VEC0_INDEX_HNSW;
    return;
  }
  readParams(pP, s, pF, zCol, aVal);
  if (pP->rc != SQLITE_OK) return;
  pVec->eIndex = pF == &aForm[1] ? VEC0_INDEX_RESCORE : VEC0_INDEX_HNSW;
  if (pF == &aForm[0]) {
    if (aVal[0] >= 0) pVec->m = aVal[0];
    if (aVal[1] >= 0) pVec->efConstruction = aVal[1];
    if (aVal[2] >= 0) pVec->efSearch = aVal[2];
    if (aVal[3] >= 0) pVec->nRescore = aVal[3];
    if (aVal[4] >= 0) pVec->eQuant = aVal[4];
    if (aVal[5] >= 0) pVec->bLowMem = aVal[5];
    if (aVal[6] >= 0) pVec->iRecall = aVal[6];
    pVec->bEfFixed = aVal[2] >= 0;
    if (aVal[2] >= 0 && aVal[6] >= 0) {
      vec0CfgError(pP, "column \"%w\" has both ef_search (a fixed ef) and recall (an ef "
                       "measured to meet it): give one",
                   zCol);
    }
  } else if (pF == &aForm[1]) {
    if (aVal[0] < 0) {
      vec0CfgError(pP, "rescore(...) of column \"%w\" needs quantizer=int8 or quantizer=bit",
                   zCol);
    }
    pVec->eQuant = aVal[0];
    pVec->nRescore = aVal[1] >= 0 ? aVal[1] : CFG_OVERSAMPLE_DEFAULT;
  } else {
    diskannParams(pP, aVal, zCol, pVec);
  }
}

/* A quantizer's column must be one a code distance can stand for. */
void vec0CfgIndexCheck(CfgParse *pP, Vec0VectorCol *pVec, const char *zCol) {
  if (pVec->eQuant != VEC0_QUANT_NONE &&
      (pVec->eType != VEC0_ELEM_F32 || pVec->eMetric == VEC0_METRIC_L1)) {
    vec0CfgError(pP, "quantizer of column \"%w\" needs a float column with distance_metric "
                     "l2, cosine or dot",
                 zCol);
  }
  if (pVec->bLowMem && pVec->eQuant == VEC0_QUANT_NONE) {
    vec0CfgError(pP, "low_memory=1 of column \"%w\" needs a quantizer (int8 or bit)", zCol);
  }
  if (pVec->nRescore == 0) {
    pVec->nRescore = pVec->eQuant == VEC0_QUANT_BIT ? VEC0_RESCORE_BIT : VEC0_RESCORE_INT8;
  }
}
