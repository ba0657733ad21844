/*
** vec0_knn.c: answers one KNN query of a vec0 table.
**
** xFilter hands over the constraints xBestIndex chose (see VEC0_TOK_* in
** vec0Int.h); this file turns them into a query vector, k, ef and a filter,
** then picks how to search: the index's own search (vec0_index.h) with the
** filter applied inside it, or an exact scan (of every slot, of the slots
** that match the filter, or of the rows named by rowid IN) when the index
** has no cheaper search (flat), when the filter is so selective that
** scanning the matches is cheaper, or when the search came back with fewer
** rows than the filter admits.  So a query always returns min(k, matching
** rows) rows.  It calls the index interface, the storage cache and the
** kernels.
*/
#include "vec0Int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/*
** One filter of the query, on one column of the row.  Where its values live
** decides how it is checked: partition keys and metadata (KNN_ON_CELL,
** iFilt indexes the slot's cells) and the integer key (KNN_ON_ROWID) are in
** the slot cache, checked per slot; auxiliary columns and a text key
** (KNN_ON_ROW, iAux, -1 for the key) live in T_rows, checked once per query
** by a scan of it into KnnQuery.aRowPass.
*/
#define KNN_ON_CELL 1
#define KNN_ON_ROWID 2
#define KNN_ON_ROW 3
typedef struct KnnFilter {
  int eOn;         /* KNN_ON_* */
  int iFilt;       /* KNN_ON_CELL: index of the partition/metadata cell */
  int iAux;        /* KNN_ON_ROW: auxiliary column, or -1 for the text key */
  int bPart;       /* on a partition key */
  Vec0Filter f;
} KnnFilter;

typedef struct KnnQuery {
  Vec0Table *p;
  int iVec;
  Vec0Vector q;
  int k;
  int ef;
  int iRecall;         /* AND recall = X: X in 1/10000, or 0 */
  int nRescore;        /* rescore = ?, or 0 */
  int nFilter;
  KnnFilter aFilter[VEC0_MAX_COLUMNS * 2];
  int nBound;
  struct { int op; double r; } aBound[8];
  int bOverflow; /* a distance compared with aBound was not finite */
  int bRowids;         /* a rowid/key constraint was given */
  uint32_t *aCand;     /* slots named by it, or matching the filter */
  int nCand, nCandAlloc;
  int nMetaFilter;      /* filters on anything but partition keys */
  int nRowFilter;       /* filters of kind KNN_ON_ROW */
  unsigned char *aRowPass; /* with nRowFilter: per slot, 1 if its row passes them */
  uint32_t nRowPass;    /* the size of aRowPass */
  int rcAccept;         /* an error met by the walk's accept callback */
  Vec0DistanceFn xDist; /* the order kernel (L2 -> squared) */
  Vec0DistanceBoundFn xBound; /* its early-exit variant, or NULL */
  Vec0DistanceBatchFn xBatch; /* four at once, or NULL */
  int bSqrt;            /* final distance = sqrt(order distance) */
} KnnQuery;

/* ---------------------------------------------------------------------- */
/* Filters                                                                 */

/* Whether live slot iSlot (loaded) passes filter f (not a KNN_ON_ROW one). */
static int slotFilterPasses(Vec0Table *p, const KnnFilter *f, uint32_t iSlot) {
  if (f->eOn == KNN_ON_CELL) {
    return vec0FilterPasses(&f->f, vec0StorageSlotCell(p, iSlot, f->iFilt));
  } else if (f->eOn == KNN_ON_ROWID) {
    Vec0Cell cell;
    memset(&cell, 0, sizeof(cell));
    cell.eType = SQLITE_INTEGER;
    cell.i = vec0StorageSlotRowid(p, iSlot);
    return vec0FilterPasses(&f->f, &cell);
  }
  return 1;
}

/* Whether the row of slot iSlot passes the filters on T_rows columns. */
static int rowPasses(const KnnQuery *pQ, uint32_t iSlot) {
  return pQ->aRowPass == 0 || (iSlot < pQ->nRowPass && pQ->aRowPass[iSlot]);
}

/* Non-zero if live slot iSlot (loaded) passes every filter. */
static int slotPasses(KnnQuery *pQ, uint32_t iSlot) {
  if (!rowPasses(pQ, iSlot)) return 0;
  for (int i = 0; i < pQ->nFilter; i++) {
    if (!slotFilterPasses(pQ->p, &pQ->aFilter[i], iSlot)) return 0;
  }
  return 1;
}

/* The same, for the filters on anything but partition keys. */
static int slotPassesMeta(KnnQuery *pQ, uint32_t iSlot) {
  if (!rowPasses(pQ, iSlot)) return 0;
  for (int i = 0; i < pQ->nFilter; i++) {
    const KnnFilter *f = &pQ->aFilter[i];
    if (!f->bPart && !slotFilterPasses(pQ->p, f, iSlot)) return 0;
  }
  return 1;
}

/*
** The filters on auxiliary columns and the text key, checked over all of
** T_rows once: their values are not in the cache, and reading every row
** in order costs less than a lookup per slot the search meets.
*/
static int rowFilterRow(void *pCtx, sqlite3_int64 iSlot, sqlite3_value **apVal) {
  KnnQuery *pQ = pCtx;
  Vec0Table *p = pQ->p;
  Vec0Cell cell;
  int rc = SQLITE_OK, bPass = 1;
  memset(&cell, 0, sizeof(cell));
  for (int i = 0; rc == SQLITE_OK && bPass && i < pQ->nFilter; i++) {
    const KnnFilter *f = &pQ->aFilter[i];
    if (f->eOn != KNN_ON_ROW) continue;
    if (f->iAux >= 0 && f->f.op != VEC0_OP_LIKE && f->f.op != VEC0_OP_GLOB) {
      /* An auxiliary value is stored as given: SQLite's comparison reads
      ** both sides with the declared type's affinity (+a text: 5 is '5'). */
      vec0CellClear(&cell);
      rc = vec0CellSetAffinity(&cell, apVal[1 + f->iAux],
                               p->cfg.aCol[p->cfg.aAuxCol[f->iAux]].eType);
    } else {
      vec0CellSet(&cell, apVal[1 + f->iAux], &rc);
    }
    if (rc == SQLITE_OK) bPass = vec0FilterPasses(&f->f, &cell);
  }
  vec0CellClear(&cell);
  if (rc == SQLITE_OK && bPass) {
    if (iSlot < 0 || iSlot >= pQ->nRowPass) {
      vec0TableError(p, "vec0: table \"%s\": a row of %s_rows has slot %lld, out of "
                        "range",
                     p->zName, p->zName, iSlot);
      rc = SQLITE_CORRUPT_VTAB;
    } else {
      pQ->aRowPass[iSlot] = 1;
    }
  }
  return rc;
}

static int rowFilterScan(KnnQuery *pQ) {
  Vec0Table *p = pQ->p;
  if (pQ->nRowFilter == 0) return SQLITE_OK;
  pQ->nRowPass = vec0StorageSlotCount(p);
  pQ->aRowPass = sqlite3_malloc64((sqlite3_uint64)pQ->nRowPass + 1);
  if (pQ->aRowPass == 0) return SQLITE_NOMEM;
  memset(pQ->aRowPass, 0, (size_t)pQ->nRowPass + 1);
  return vec0StorageRowEach(p, rowFilterRow, pQ);
}

static int boundPasses(KnnQuery *pQ, double d) {
  if (!isfinite(d)) {
    pQ->bOverflow = 1; /* finiteDistances() reports it */
    return 0;
  }
  for (int i = 0; i < pQ->nBound; i++) {
    double r = pQ->aBound[i].r;
    switch (pQ->aBound[i].op) {
      case VEC0_OP_LT: if (!(d < r)) return 0; break;
      case VEC0_OP_LE: if (!(d <= r)) return 0; break;
      case VEC0_OP_GT: if (!(d > r)) return 0; break;
      case VEC0_OP_GE: if (!(d >= r)) return 0; break;
    }
  }
  return 1;
}

/* ---------------------------------------------------------------------- */
/* The top-k heap: a max-heap on (distance, slot), so ties go to the lower   */
/* slot and results are deterministic.                                      */

typedef struct TopK {
  Vec0KnnRow *a;
  int n, k;
} TopK;

static int rowAfter(const Vec0KnnRow *x, const Vec0KnnRow *y) {
  return x->distance > y->distance || (x->distance == y->distance && x->slot > y->slot);
}

static void topkPush(TopK *t, uint32_t slot, float d) {
  Vec0KnnRow r;
  int i;
  r.slot = slot;
  r.distance = d;
  r.rowid = 0; /* set by the cursor */
  if (t->n < t->k) {
    i = t->n++;
    while (i > 0) {
      int up = (i - 1) / 2;
      if (!rowAfter(&r, &t->a[up])) break;
      t->a[i] = t->a[up];
      i = up;
    }
    t->a[i] = r;
    return;
  }
  if (!rowAfter(&t->a[0], &r)) return;
  i = 0;
  for (;;) {
    int c = 2 * i + 1;
    if (c >= t->n) break;
    if (c + 1 < t->n && rowAfter(&t->a[c + 1], &t->a[c])) c++;
    if (!rowAfter(&t->a[c], &r)) break;
    t->a[i] = t->a[c];
    i = c;
  }
  t->a[i] = r;
}

static int cmpRow(const void *a, const void *b) {
  const Vec0KnnRow *x = a, *y = b;
  return rowAfter(x, y) ? 1 : (rowAfter(y, x) ? -1 : 0);
}

/* ---------------------------------------------------------------------- */
/* Exact search                                                            */

static float finalDistance(KnnQuery *pQ, float d) {
  return pQ->bSqrt ? sqrtf(d > 0 ? d : 0) : d;
}

/*
** The order distance of a candidate for t.  Once t is full, a candidate
** farther than its worst row can never enter it: the early-exit kernel stops
** reading such a vector as soon as that is certain (and returns a value
** topkPush() rejects; a distance bound cannot accept it either, since the
** true distance is larger still).
*/
static float candidateDistance(KnnQuery *pQ, const TopK *t, const void *v) {
  if (t->n < t->k || pQ->xBound == 0) return pQ->xDist(pQ->q.p, v, pQ->q.nDim);
  return pQ->xBound(pQ->q.p, v, pQ->q.nDim, t->a[0].distance);
}

/*
** Scores n (1..4) candidate slots into t.  Four at a time go through the
** batch kernel: their sequential reads overlap.  Its early exit uses the
** bound of the batch's start, looser than the one each push then meets, so
** an exited value is still refused.
*/
static void scoreSlots(KnnQuery *pQ, TopK *t, const unsigned char *aVec,
                       size_t nBytes, const uint32_t *aS, int n) {
  float ad[4];
  if (n == 4 && pQ->xBatch) {
    const void *ap[4];
    for (int j = 0; j < 4; j++) ap[j] = aVec + (size_t)aS[j] * nBytes;
    pQ->xBatch(pQ->q.p, ap, pQ->q.nDim,
               t->n < t->k ? INFINITY : t->a[0].distance, ad);
  } else {
    for (int j = 0; j < n; j++) {
      ad[j] = candidateDistance(pQ, t, aVec + (size_t)aS[j] * nBytes);
    }
  }
  for (int j = 0; j < n; j++) {
    if (pQ->nBound && !boundPasses(pQ, finalDistance(pQ, ad[j]))) continue;
    topkPush(t, aS[j], ad[j]);
  }
}

/*
** Every live slot that passes the filters and, if aInGroup is not NULL, is
** of a group it flags (groups 0..gMax): the exact scan, over vectors laid
** out by slot.
*/
static int exactAll(KnnQuery *pQ, TopK *t, const unsigned char *aInGroup,
                    uint32_t gMax) {
  Vec0Table *p = pQ->p;
  int iVec = pQ->iVec, n = 0;
  int rc = vec0StorageAllSlots(p);
  const unsigned char *aVec;
  size_t nBytes = vec0StorageVectorBytes(p, iVec);
  uint32_t nSlot = vec0StorageSlotCount(p);
  uint32_t aS[4];
  if (rc == SQLITE_OK) rc = vec0StorageAllVectors(p, iVec);
  if (rc != SQLITE_OK) return rc;
  aVec = vec0StorageVectors(p, iVec);
  for (uint32_t i = 0; i < nSlot; i++) {
    if (!vec0StorageSlotLive(p, i)) continue;
    if (aInGroup) {
      uint32_t g = vec0StorageSlotGroup(p, i);
      if (g > gMax || !aInGroup[g]) continue;
    }
    if (pQ->nFilter && !slotPasses(pQ, i)) continue;
    aS[n++] = i;
    if (n == 4) {
      scoreSlots(pQ, t, aVec, nBytes, aS, n);
      n = 0;
    }
  }
  if (n) scoreSlots(pQ, t, aVec, nBytes, aS, n);
  return SQLITE_OK;
}

/* The slots in pQ->aCand (live, already filtered). */
static int exactCandidates(KnnQuery *pQ, TopK *t) {
  Vec0Table *p = pQ->p;
  for (int i = 0; i < pQ->nCand; i++) {
    const unsigned char *v = 0;
    float d;
    int rc = vec0StorageVector(p, pQ->iVec, pQ->aCand[i], &v);
    if (rc != SQLITE_OK) return rc;
    d = candidateDistance(pQ, t, v);
    if (pQ->nBound && !boundPasses(pQ, finalDistance(pQ, d))) continue;
    topkPush(t, pQ->aCand[i], d);
  }
  return SQLITE_OK;
}

static int candAdd(KnnQuery *pQ, uint32_t iSlot) {
  if (pQ->nCand == pQ->nCandAlloc) {
    int nNew = pQ->nCandAlloc ? pQ->nCandAlloc * 2 : 64;
    uint32_t *aNew = sqlite3_realloc64(pQ->aCand, (sqlite3_uint64)nNew * sizeof(uint32_t));
    if (aNew == 0) return SQLITE_NOMEM;
    pQ->aCand = aNew;
    pQ->nCandAlloc = nNew;
  }
  pQ->aCand[pQ->nCand++] = iSlot;
  return SQLITE_OK;
}

/* ---------------------------------------------------------------------- */
/* Constraints                                                             */

static int hexCol(const char *z) {
  int v = 0;
  for (int i = 0; i < 2; i++) {
    char c = z[i];
    v = v * 16 + (c >= 'a' ? c - 'a' + 10 : c - '0');
  }
  return v;
}

/* Looks up the slot of one rowid or text key; adds it when it passes. */
static int addRowid(KnnQuery *pQ, sqlite3_value *pVal, int bText) {
  Vec0Table *p = pQ->p;
  sqlite3_int64 iSlot = -1, iRowid = 0;
  int rc, bFound = 0;
  if (bText) {
    rc = vec0StorageKeyRow(p, pVal, &iRowid, &iSlot, &bFound);
  } else {
    if (!vec0ValueInt64(pVal, &iRowid)) return SQLITE_OK; /* 2.5 names no row */
    rc = vec0StorageRowSlot(p, iRowid, &iSlot, &bFound);
  }
  if (rc != SQLITE_OK || !bFound) return rc;
  rc = vec0StorageSlot(p, (uint32_t)iSlot);
  if (rc == SQLITE_OK && iSlot >= 0 && vec0StorageSlotLive(p, (uint32_t)iSlot) &&
      slotPasses(pQ, (uint32_t)iSlot)) {
    /* rowid IN (1, 1) names the row once. */
    for (int i = 0; i < pQ->nCand; i++) {
      if (pQ->aCand[i] == (uint32_t)iSlot) return SQLITE_OK;
    }
    rc = candAdd(pQ, (uint32_t)iSlot);
  }
  return rc;
}

static int valueCount(sqlite3_value *pList, int *pn) {
  sqlite3_value *v = 0;
  int n = 0, rc;
  for (rc = sqlite3_vtab_in_first(pList, &v); rc == SQLITE_OK && v;
       rc = sqlite3_vtab_in_next(pList, &v)) {
    n++;
  }
  *pn = n;
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/*
** A filter on SQL column col (or VEC0_COL_ROWID), its values read as the
** column's type reads them (vec0CellSetAffinity).
*/
static int addFilter(KnnQuery *pQ, int col, int op, int bNoCase, sqlite3_value *pVal) {
  Vec0Table *p = pQ->p;
  Vec0Config *c = &p->cfg;
  KnnFilter *f;
  Vec0ValType eAff = VEC0_VAL_INTEGER;
  int rc = SQLITE_OK;
  if (pQ->nFilter >= (int)(sizeof(pQ->aFilter) / sizeof(pQ->aFilter[0]))) {
    return SQLITE_OK; /* unreachable: one per constraint SQLite can pass */
  }
  f = &pQ->aFilter[pQ->nFilter++];
  memset(f, 0, sizeof(*f));
  if (col == VEC0_COL_ROWID || col >= c->nCol ||
      (c->aCol[col].eKind == VEC0_COL_PK && c->ePk != VEC0_PK_TEXT)) {
    f->eOn = KNN_ON_ROWID;
  } else if (c->aCol[col].eKind == VEC0_COL_PK) {
    f->eOn = KNN_ON_ROW;
    f->iAux = -1;
    eAff = VEC0_VAL_TEXT;
  } else if (c->aCol[col].eKind == VEC0_COL_AUX) {
    f->eOn = KNN_ON_ROW;
    f->iAux = c->aCol[col].iSub;
    /* stored as given, compared as SQLite compares with the declared type */
    eAff = c->aCol[col].eType;
  } else {
    f->eOn = KNN_ON_CELL;
    f->bPart = c->aCol[col].eKind == VEC0_COL_PARTITION;
    f->iFilt = f->bPart ? c->aCol[col].iSub : c->nPart + c->aCol[col].iSub;
    eAff = c->aCol[col].eType;
  }
  if (!f->bPart) pQ->nMetaFilter++;
  if (f->eOn == KNN_ON_ROW) pQ->nRowFilter++;
  f->f.op = op;
  f->f.bNoCase = bNoCase;
  if (op == VEC0_OP_LIKE || op == VEC0_OP_GLOB) {
    f->f.bNoBlobs = sqlite3_compileoption_used("LIKE_DOESNT_MATCH_BLOBS");
  }
  f->f.nVal = 1;
  if (op == VEC0_OP_IN) {
    rc = valueCount(pVal, &f->f.nVal);
    if (rc != SQLITE_OK) {
      f->f.nVal = 0; /* aVal is not allocated: queryClear() must not read it */
      return rc;
    }
  }
  f->f.aVal = sqlite3_malloc64(sizeof(Vec0Cell) * (size_t)(f->f.nVal ? f->f.nVal : 1));
  if (f->f.aVal == 0) {
    f->f.nVal = 0;
    return SQLITE_NOMEM;
  }
  memset(f->f.aVal, 0, sizeof(Vec0Cell) * (size_t)(f->f.nVal ? f->f.nVal : 1));
  if (op == VEC0_OP_LIKE || op == VEC0_OP_GLOB) eAff = VEC0_VAL_TEXT; /* a pattern */
  if (op == VEC0_OP_ISNULL || op == VEC0_OP_ISNOTNULL) {
    /* no value: SQLite may pass anything */
  } else if (op == VEC0_OP_IN) {
    sqlite3_value *v = 0;
    int i = 0;
    for (rc = sqlite3_vtab_in_first(pVal, &v); rc == SQLITE_OK && v && i < f->f.nVal;
         rc = sqlite3_vtab_in_next(pVal, &v)) {
      rc = vec0CellSetAffinity(&f->f.aVal[i++], v, eAff);
      if (rc != SQLITE_OK) break; /* not overwritten by the next in_next */
    }
    if (rc == SQLITE_DONE) rc = SQLITE_OK;
  } else {
    rc = vec0CellSetAffinity(&f->f.aVal[0], pVal, eAff);
  }
  return rc;
}

static void queryClear(KnnQuery *pQ) {
  for (int i = 0; i < pQ->nFilter; i++) {
    Vec0Filter *f = &pQ->aFilter[i].f;
    for (int j = 0; j < f->nVal; j++) vec0CellClear(&f->aVal[j]);
    sqlite3_free(f->aVal);
  }
  sqlite3_free(pQ->aCand);
  sqlite3_free(pQ->aRowPass);
  vec0VectorClear(&pQ->q);
}

/* Reads an integer constraint (k, ef, LIMIT), checking its range. */
static int intArg(Vec0Table *p, sqlite3_value *v, const char *zWhat, int iMin,
                  int iMax, int *piOut) {
  sqlite3_int64 i = 0;
  if (!vec0ValueInt64(v, &i)) {
    /* A whole REAL (a JavaScript number) is that integer; 2.5 is not. */
    vec0TableError(p, "vec0: table \"%s\": %s must be an integer, not %s%s%s", p->zName,
                   zWhat, sqlite3_value_type(v) == SQLITE_TEXT ? "'" : "",
                   sqlite3_value_type(v) == SQLITE_BLOB ? "a BLOB"
                   : sqlite3_value_type(v) == SQLITE_NULL ? "NULL"
                                                          : (const char *)sqlite3_value_text(v),
                   sqlite3_value_type(v) == SQLITE_TEXT ? "'" : "");
    return SQLITE_ERROR;
  }
  if (i < iMin || i > iMax) {
    vec0TableError(p, "vec0: table \"%s\": %s = %lld is out of range %d..%d", p->zName,
                   zWhat, i, iMin, iMax);
    return SQLITE_ERROR;
  }
  *piOut = (int)i;
  return SQLITE_OK;
}

/* recall = X: a number in 0.5..0.999 (REAL, or its decimal TEXT). */
static int recallArg(Vec0Table *p, sqlite3_value *v, int *piOut) {
  double r = sqlite3_value_double(v);
  int t = sqlite3_value_numeric_type(v);
  if ((t == SQLITE_FLOAT || t == SQLITE_INTEGER) && r >= 0.5 && r <= 0.999) {
    *piOut = (int)floor(r * 10000.0 + 0.5);
    return SQLITE_OK;
  }
  vec0TableError(p, "vec0: table \"%s\": recall must be a number in 0.5..0.999, not %s",
                 p->zName, sqlite3_value_type(v) == SQLITE_NULL ? "NULL"
                           : sqlite3_value_type(v) == SQLITE_BLOB ? "a BLOB"
                           : (const char *)sqlite3_value_text(v));
  return SQLITE_ERROR;
}

/* ---------------------------------------------------------------------- */
/* The query                                                               */

static int parseConstraints(KnnQuery *pQ, const char *idxStr, int argc,
                            sqlite3_value **argv) {
  Vec0Table *p = pQ->p;
  int rc = SQLITE_OK, bK = 0, bLimit = 0, bMatch = 0, iLimit = 0;
  sqlite3_value *pQuery = 0;
  int n = idxStr ? (int)strlen(idxStr) / 4 : 0;
  if (n != argc) {
    vec0TableError(p, "vec0: table \"%s\": bad query plan", p->zName);
    return SQLITE_ERROR;
  }
  pQ->iVec = -1;
  for (int i = 0; rc == SQLITE_OK && i < argc; i++) {
    const char *t = &idxStr[i * 4];
    int col = hexCol(&t[2]);
    switch (t[0]) {
      case VEC0_TOK_MATCH:
        pQ->iVec = col;
        pQuery = argv[i];
        bMatch = 1;
        break;
      case VEC0_TOK_K:
        rc = intArg(p, argv[i], "k", 0, VEC0_MAX_K, &pQ->k);
        bK = 1;
        break;
      case VEC0_TOK_LIMIT: {
        sqlite3_int64 l = 0;
        if (vec0ValueInt64(argv[i], &l)) {
          iLimit = l < 0 ? VEC0_MAX_K : (l > VEC0_MAX_K ? VEC0_MAX_K : (int)l);
          bLimit = 1;
        }
        break;
      }
      case VEC0_TOK_EF:
        rc = intArg(p, argv[i], "ef", 1, VEC0_MAX_K, &pQ->ef);
        break;
      case VEC0_TOK_RECALL:
        rc = recallArg(p, argv[i], &pQ->iRecall);
        break;
      case VEC0_TOK_RESCORE:
        rc = intArg(p, argv[i], "rescore", 1, VEC0_MAX_K, &pQ->nRescore);
        break;
      case VEC0_TOK_DISTANCE:
        if (pQ->nBound < 8) {
          if (sqlite3_value_type(argv[i]) == SQLITE_NULL) {
            pQ->k = 0; /* distance < NULL matches nothing */
          } else {
            pQ->aBound[pQ->nBound].op = t[1];
            pQ->aBound[pQ->nBound].r = sqlite3_value_double(argv[i]);
            pQ->nBound++;
          }
        }
        break;
      case VEC0_TOK_ROWID:
        pQ->bRowids = 1;
        break;
      case VEC0_TOK_FILTER:
      case VEC0_TOK_FILTER_NOCASE:
        rc = addFilter(pQ, col, t[1], t[0] == VEC0_TOK_FILTER_NOCASE, argv[i]);
        break;
    }
  }
  if (rc != SQLITE_OK) return rc;
  if (!bMatch || pQ->iVec < 0 || pQ->iVec >= p->cfg.nVec) {
    vec0TableError(p, "vec0: table \"%s\": bad query plan", p->zName);
    return SQLITE_ERROR;
  }
  if (!bK && !bLimit) {
    vec0TableError(p, "vec0: table \"%s\": a KNN query needs \"k = ?\" (from SQLite 3.41 on a LIMIT serves as k when the query has no ORDER BY, or ORDER BY distance alone)",
                   p->zName);
    return SQLITE_ERROR;
  }
  if (!bK) pQ->k = iLimit;
  {
    Vec0VectorCol *pCol = &p->cfg.aVec[pQ->iVec];
    rc = vec0TableVector(p, pQuery, pQ->iVec, 1, &pQ->q);
    if (rc != SQLITE_OK) return rc;
    if (pQ->ef && pQ->iRecall) {
      vec0TableError(p, "vec0: table \"%s\": a KNN query takes ef or recall, not both",
                     p->zName);
      return SQLITE_ERROR;
    }
    int bQueryRescore = pQ->nRescore > 0, bQueryEf = pQ->ef > 0;
    if (pQ->nRescore == 0) pQ->nRescore = p->conn.aRescore[pQ->iVec];
    if (pQ->nRescore == 0) pQ->nRescore = pCol->nRescore;
    if (pQ->ef == 0) {
      /* ef: the query's, its recall's, the connection's, the column's */
      pQ->ef = vec0RecallEf(p, pQ->iVec, pQ->iRecall);
    }
    /* A quantized walk at its default breadth keeps at least the rescore x
    ** k candidates it re-ranks; an explicit ef is the breadth, as without a
    ** quantizer (a cheap search stays cheap), and so is a diskann column's
    ** search_list_size, declared or set by its command, unless the query
    ** itself asks for more re-ranked candidates (AND rescore = N). */
    if (!bQueryEf && pQ->ef > 0 && pCol->eQuant != VEC0_QUANT_NONE && pQ->nRescore > 0 &&
        (!pCol->bDiskann || bQueryRescore)) {
      sqlite3_int64 n = (sqlite3_int64)pQ->nRescore * pQ->k;
      if (n > VEC0_MAX_K) n = VEC0_MAX_K;
      if (n > pQ->ef) pQ->ef = (int)n;
    }
    pQ->bSqrt = pCol->eMetric == VEC0_METRIC_L2;
    pQ->xDist = vec0DistanceFn(pCol->eType, pQ->bSqrt ? VEC0_METRIC_L2SQ : pCol->eMetric);
    pQ->xBound = vec0DistanceBoundFn(pCol->eType, pQ->bSqrt ? VEC0_METRIC_L2SQ : pCol->eMetric);
    pQ->xBatch = vec0DistanceBatchFn(pCol->eType, pQ->bSqrt ? VEC0_METRIC_L2SQ : pCol->eMetric);
    if (pQ->xDist == 0) return SQLITE_INTERNAL;
  }
  return SQLITE_OK;
}

/* Second pass for rowid constraints, once the filters are known. */
static int collectRowids(KnnQuery *pQ, const char *idxStr, int argc,
                         sqlite3_value **argv) {
  int rc = SQLITE_OK;
  int bFirst = 1;
  for (int i = 0; rc == SQLITE_OK && i < argc; i++) {
    const char *t = &idxStr[i * 4];
    uint32_t *aPrev = 0;
    int nPrev = 0;
    if (t[0] != VEC0_TOK_ROWID) continue;
    if (!bFirst) {
      /* A second rowid constraint intersects with the first. */
      aPrev = pQ->aCand;
      nPrev = pQ->nCand;
      pQ->aCand = 0;
      pQ->nCand = pQ->nCandAlloc = 0;
    }
    if (t[1] == VEC0_OP_IN) {
      sqlite3_value *v = 0;
      for (rc = sqlite3_vtab_in_first(argv[i], &v); rc == SQLITE_OK && v;
           rc = sqlite3_vtab_in_next(argv[i], &v)) {
        rc = addRowid(pQ, v, t[3] == '1');
        if (rc != SQLITE_OK) break; /* not overwritten by the next in_next */
      }
      if (rc == SQLITE_DONE) rc = SQLITE_OK;
    } else {
      rc = addRowid(pQ, argv[i], t[3] == '1');
    }
    if (!bFirst) {
      int n = 0;
      for (int a = 0; a < pQ->nCand; a++) {
        for (int b = 0; b < nPrev; b++) {
          if (aPrev[b] == pQ->aCand[a]) {
            pQ->aCand[n++] = pQ->aCand[a];
            break;
          }
        }
      }
      pQ->nCand = n;
      sqlite3_free(aPrev);
    }
    bFirst = 0;
  }
  return rc;
}

/* ---------------------------------------------------------------------- */
/* The HNSW plan                                                           */

/*
** The walk accepts a node when its row passes the filters (read lazily:
** the walk touches few rows) and the distance bounds.  It cannot report an
** error, so one is kept in pQ->rcAccept and the node refused.
*/
static int acceptRow(void *pCtx, uint32_t id) {
  KnnQuery *pQ = pCtx;
  Vec0Table *p = pQ->p;
  int rc = vec0StorageSlot(p, id);
  if (rc == SQLITE_OK && !vec0StorageSlotLive(p, id)) return 0;
  if (rc == SQLITE_OK && pQ->nFilter && !slotPasses(pQ, id)) return 0;
  if (rc == SQLITE_OK && pQ->nBound) {
    const unsigned char *v = 0;
    rc = vec0StorageVector(p, pQ->iVec, id, &v);
    if (rc == SQLITE_OK) {
      return boundPasses(pQ, finalDistance(pQ, pQ->xDist(pQ->q.p, v, pQ->q.nDim)));
    }
  }
  if (rc != SQLITE_OK) {
    if (pQ->rcAccept == SQLITE_OK) pQ->rcAccept = rc;
    return 0;
  }
  return 1;
}

/*
** The share of rows passing the metadata filters, from a fixed sample of
** slots (kept in the cache once read), not a count of the whole table.  A
** sample without a match says "rarer than the sample can tell".
*/
#define KNN_SAMPLE 256
static int estimateSelectivity(KnnQuery *pQ, double *pSel) {
  Vec0Table *p = pQ->p;
  uint32_t nSlot = vec0StorageSlotCount(p);
  uint32_t nSample = nSlot < KNN_SAMPLE ? nSlot : KNN_SAMPLE, i;
  int nLive = 0, nPass = 0, rc = SQLITE_OK;
  *pSel = 1.0;
  if (pQ->nMetaFilter == 0) return SQLITE_OK;
  for (i = 0; i < nSample && rc == SQLITE_OK; i++) {
    uint32_t s = (uint32_t)(((uint64_t)i * nSlot) / nSample);
    rc = vec0StorageSlot(p, s);
    if (rc == SQLITE_OK && vec0StorageSlotLive(p, s)) {
      nLive++;
      nPass += slotPassesMeta(pQ, s);
    }
  }
  if (rc == SQLITE_OK && nLive > 0) {
    *pSel = (nPass ? nPass : 0.5) / (double)nLive;
  }
  return rc;
}

/*
** Whether an exact scan of a group of nLive rows, a share sel of them
** passing the filters, is cheaper than the index's search: the scan
** computes nLive * sel distances, plus a little per row to evaluate the
** filters; the index says what its search costs (negative: never cheaper).
*/
static int exactIsCheaper(Vec0Index *pIdx, double nLive, double sel, int ef) {
  double search = pIdx->pModule->xSearchCost(pIdx, nLive, sel, ef);
  return search < 0 || nLive * sel + nLive * 0.05 <= search;
}

typedef struct KnnGroup {
  uint32_t g;
  sqlite3_int64 nLive;
} KnnGroup;

static int groupAdd(KnnGroup **pa, int *pn, int *pnAlloc, uint32_t g,
                    sqlite3_int64 nLive) {
  if (*pn == *pnAlloc) {
    int nNew = *pnAlloc ? *pnAlloc * 2 : 8;
    KnnGroup *aNew = sqlite3_realloc64(*pa, sizeof(KnnGroup) * (size_t)nNew);
    if (aNew == 0) return SQLITE_NOMEM;
    *pa = aNew;
    *pnAlloc = nNew;
  }
  (*pa)[*pn].g = g;
  (*pa)[(*pn)++].nLive = nLive;
  return SQLITE_OK;
}

/*
** The groups a search covers: without partition keys the one group 0.
** When every partition key is given by "=", the group those values name
** (none: no rows); otherwise every group whose values pass the filters on
** partition keys.
*/
/* The groups a search covers, as knnGroups() collects them. */
typedef struct KnnGroupList {
  KnnQuery *pQ;
  KnnGroup *aG;
  int nG, nAlloc;
} KnnGroupList;

/* A group of T_groups: kept when its values pass the partition filters. */
static int groupPasses(void *pCtx, sqlite3_int64 g, sqlite3_int64 nLive,
                       sqlite3_value **apKey) {
  KnnGroupList *pL = pCtx;
  KnnQuery *pQ = pL->pQ;
  int nPart = pQ->p->cfg.nPart, bPass = 1, rc = SQLITE_OK;
  Vec0Cell aKey[VEC0_MAX_PARTITION_COLUMNS];
  memset(aKey, 0, sizeof(aKey));
  for (int i = 0; i < nPart; i++) vec0CellSet(&aKey[i], apKey[i], &rc);
  for (int i = 0; rc == SQLITE_OK && bPass && i < pQ->nFilter; i++) {
    const KnnFilter *f = &pQ->aFilter[i];
    if (f->bPart) bPass = vec0FilterPasses(&f->f, &aKey[f->iFilt]);
  }
  if (rc == SQLITE_OK && bPass) {
    rc = groupAdd(&pL->aG, &pL->nG, &pL->nAlloc, (uint32_t)g, nLive);
  }
  for (int i = 0; i < nPart; i++) vec0CellClear(&aKey[i]);
  return rc;
}

static int knnGroups(KnnQuery *pQ, KnnGroup **paG, int *pnG) {
  Vec0Table *p = pQ->p;
  int nPart = p->cfg.nPart, rc = SQLITE_OK;
  const Vec0Cell *apEq[VEC0_MAX_PARTITION_COLUMNS];
  KnnGroupList l;
  int nEq = 0;
  memset(&l, 0, sizeof(l));
  l.pQ = pQ;
  *paG = 0;
  *pnG = 0;
  if (nPart == 0) {
    sqlite3_int64 nLive = 0;
    rc = vec0StorageLiveCount(p, &nLive);
    return rc == SQLITE_OK ? groupAdd(paG, pnG, &l.nAlloc, 0, nLive) : rc;
  }
  memset(apEq, 0, sizeof(apEq));
  for (int i = 0; i < pQ->nFilter; i++) {
    const KnnFilter *f = &pQ->aFilter[i];
    if (f->bPart && f->f.op == VEC0_OP_EQ && !f->f.bNoCase && apEq[f->iFilt] == 0 &&
        f->f.aVal[0].eType != SQLITE_NULL) {
      apEq[f->iFilt] = &f->f.aVal[0];
      nEq++;
    }
  }
  if (nEq == nPart) {
    sqlite3_int64 g = 0, nLive = 0;
    int bFound = 0;
    rc = vec0StorageGroupGet(p, apEq, &g, &nLive, &bFound);
    if (rc == SQLITE_OK && bFound) {
      rc = groupAdd(&l.aG, &l.nG, &l.nAlloc, (uint32_t)g, nLive);
    }
  } else {
    rc = vec0StorageGroupEach(p, groupPasses, &l);
  }
  *paG = l.aG;
  *pnG = l.nG;
  for (int i = 0; rc == SQLITE_OK && i < *pnG; i++) {
    if ((*paG)[i].g < 1 || (*paG)[i].g > VEC0_HNSW_MAX_GROUP) {
      vec0TableError(p, "vec0: table \"%s\": group %u in %s_groups is out of range",
                     p->zName, (*paG)[i].g, p->zName);
      rc = SQLITE_CORRUPT_VTAB;
    }
  }
  return rc;
}

/*
** The index's search of group g.  It answers only when it found k rows;
** fewer mean that the filters leave fewer than k rows or that a graph walk
** gave up early, and the caller then scans the group exactly (so *pbDone
** is 0 and t is untouched).
*/
static int searchGroup(KnnQuery *pQ, Vec0Index *pIdx, uint32_t g, Vec0IndexHit *aHit,
                       TopK *t, int *pbDone) {
  Vec0IndexSearch s;
  int nHit = 0, rc;
  int bAccept = pQ->nFilter > 0 || pQ->nBound > 0;
  *pbDone = 0;
  pQ->rcAccept = SQLITE_OK;
  memset(&s, 0, sizeof(s));
  s.g = g;
  s.pQuery = pQ->q.p;
  s.k = pQ->k;
  s.ef = pQ->ef > pQ->k ? pQ->ef : pQ->k;
  s.nRescore = pQ->nRescore;
  s.xAccept = bAccept ? acceptRow : 0;
  s.pAcceptCtx = pQ;
  rc = pIdx->pModule->xSearch(pIdx, &s, aHit, &nHit);
  if (rc == SQLITE_OK) rc = pQ->rcAccept;
  if (rc == SQLITE_OK && nHit >= pQ->k) {
    for (int i = 0; i < nHit; i++) topkPush(t, aHit[i].slot, aHit[i].distance);
    *pbDone = 1;
  }
  return rc;
}

/*
** A KNN search without rowids: for each group it covers, the index's search
** or, when that is dearer or comes back short, the exact scan.
*/
static int indexPlan(KnnQuery *pQ, Vec0Index *pIdx, TopK *t) {
  Vec0Table *p = pQ->p;
  Vec0IndexHit *aHit = 0;
  KnnGroup *aG = 0;
  unsigned char *aInGroup = 0;
  int nG = 0, nExact = 0, rc;
  double sel = 1.0;
  int ef = pQ->ef > pQ->k ? pQ->ef : pQ->k;
  int bSearch = pIdx->pModule->xSearchCost(pIdx, 1.0, 1.0, ef) >= 0;
  uint32_t gMax = 0;

  if (!bSearch) return exactAll(pQ, t, 0, 0);
  rc = knnGroups(pQ, &aG, &nG);
  if (rc == SQLITE_OK && nG > 0) rc = estimateSelectivity(pQ, &sel);
  if (rc == SQLITE_OK && nG > 0) {
    aHit = sqlite3_malloc64(sizeof(Vec0IndexHit) * (size_t)pQ->k);
    if (aHit == 0) rc = SQLITE_NOMEM;
  }
  for (int i = 0; i < nG; i++) {
    if (aG[i].g > gMax) gMax = aG[i].g;
  }
  if (rc == SQLITE_OK && p->cfg.nPart && nG > 0) {
    aInGroup = sqlite3_malloc64((size_t)gMax + 1);
    if (aInGroup == 0) rc = SQLITE_NOMEM;
    else memset(aInGroup, 0, (size_t)gMax + 1);
  }
  for (int i = 0; rc == SQLITE_OK && i < nG; i++) {
    int bDone = 0;
    if (aG[i].nLive <= 0) continue;
    if (!exactIsCheaper(pIdx, (double)aG[i].nLive, sel, ef)) {
      rc = searchGroup(pQ, pIdx, aG[i].g, aHit, t, &bDone);
    }
    if (rc == SQLITE_OK && !bDone) {
      if (aInGroup) aInGroup[aG[i].g] = 1;
      nExact++;
    }
  }
  /* One pass over the slots serves every group that is to be scanned. */
  if (rc == SQLITE_OK && nExact > 0) rc = exactAll(pQ, t, aInGroup, gMax);
  sqlite3_free(aHit);
  sqlite3_free(aG);
  sqlite3_free(aInGroup);
  return rc;
}

/*
** A float32 distance beyond the float range (elements of about 1e19 and
** more: their squares overflow) is Inf, and rows at Inf tie: which of them
** would come back, and in what order, says nothing of their distances.  An
** error instead (vec_distance_*() give those distances in double).
*/
static int finiteDistances(KnnQuery *pQ, const TopK *t) {
  Vec0Table *p = pQ->p;
  for (int i = 0; i <= t->n; i++) {
    if (i == t->n ? pQ->bOverflow : !isfinite(t->a[i].distance)) {
      vec0TableError(p, "vec0: table \"%s\": the distances of column \"%s\" to this query "
                        "are too large for float32 (vector elements of about 1e19 or more): "
                        "scale the vectors down",
                     p->zName, p->cfg.aCol[p->cfg.aVecCol[pQ->iVec]].zName);
      return SQLITE_ERROR;
    }
  }
  return SQLITE_OK;
}

int vec0KnnRun(Vec0Table *p, const char *idxStr, int argc, sqlite3_value **argv,
               Vec0KnnRow **paRow, int *pnRow, int *pk, int *pef, int *pRescore) {
  KnnQuery q;
  TopK t;
  Vec0Index *pIdx = 0;
  int rc;
  memset(&q, 0, sizeof(q));
  memset(&t, 0, sizeof(t));
  q.p = p;
  *paRow = 0;
  *pnRow = 0;
  rc = parseConstraints(&q, idxStr, argc, argv);
  if (rc == SQLITE_OK) {
    pIdx = vec0IndexGet(p, q.iVec);
    *pk = q.k;
    *pef = pIdx->pModule->bUsesEf ? (q.ef > q.k ? q.ef : q.k) : 0;
    *pRescore = p->cfg.aVec[q.iVec].eQuant != VEC0_QUANT_NONE ? q.nRescore : 0;
  }
  if (rc == SQLITE_OK && q.k == 0) goto out;
  if (rc == SQLITE_OK) rc = rowFilterScan(&q);
  if (rc == SQLITE_OK) {
    t.k = q.k;
    t.a = sqlite3_malloc64(sizeof(Vec0KnnRow) * (size_t)q.k);
    if (t.a == 0) rc = SQLITE_NOMEM;
  }
  if (rc == SQLITE_OK && q.bRowids) {
    rc = collectRowids(&q, idxStr, argc, argv);
    if (rc == SQLITE_OK) rc = exactCandidates(&q, &t);
  } else if (rc == SQLITE_OK) {
    rc = indexPlan(&q, pIdx, &t);
    if (rc == SQLITE_OK) rc = pIdx->pModule->xIdle(pIdx, VEC0_WARM_BYTES);
  }
  if (rc == SQLITE_OK) {
    for (int i = 0; i < t.n; i++) vec0StorageSlotPrefetch(p, t.a[i].slot);
    if (t.n) qsort(t.a, (size_t)t.n, sizeof(Vec0KnnRow), cmpRow);
    for (int i = 0; i < t.n; i++) t.a[i].distance = finalDistance(&q, t.a[i].distance);
    rc = finiteDistances(&q, &t);
  }
  if (rc == SQLITE_OK) {
    *paRow = t.a;
    *pnRow = t.n;
    t.a = 0;
  }
out:
  sqlite3_free(t.a);
  queryClear(&q);
  return rc;
}
