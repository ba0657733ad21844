/*
** vec0_plan.c: xBestIndex of the vec0 module.  It chooses between a full
** scan, a rowid (or key) lookup and a KNN search, and hands the choice to
** xFilter (vec0_vtab.c) in idxNum and idxStr: four characters per argument,
** its token, operator and column (VEC0_TOK_*, vec0Int.h).  Constraints the
** search applies itself are taken, with SQLite's comparison rules, so that
** k rows come back however few pass them; the others SQLite checks after.
** Reads the table's config only (an error goes to its message).
*/
#include "vec0Int.h"

static int opOf(unsigned char op) {
  switch (op) {
    case SQLITE_INDEX_CONSTRAINT_EQ: return VEC0_OP_EQ;
    case SQLITE_INDEX_CONSTRAINT_NE: return VEC0_OP_NE;
    case SQLITE_INDEX_CONSTRAINT_LT: return VEC0_OP_LT;
    case SQLITE_INDEX_CONSTRAINT_LE: return VEC0_OP_LE;
    case SQLITE_INDEX_CONSTRAINT_GT: return VEC0_OP_GT;
    case SQLITE_INDEX_CONSTRAINT_GE: return VEC0_OP_GE;
    case SQLITE_INDEX_CONSTRAINT_IS: return VEC0_OP_IS;
    case SQLITE_INDEX_CONSTRAINT_ISNOT: return VEC0_OP_ISNOT;
    case SQLITE_INDEX_CONSTRAINT_ISNULL: return VEC0_OP_ISNULL;
    case SQLITE_INDEX_CONSTRAINT_ISNOTNULL: return VEC0_OP_ISNOTNULL;
    case SQLITE_INDEX_CONSTRAINT_LIKE: return VEC0_OP_LIKE;
    case SQLITE_INDEX_CONSTRAINT_GLOB: return VEC0_OP_GLOB;
  }
  return 0;
}

/*
** Whether a KNN search can apply constraint pC (op, from opOf()) on a row
** column itself: the key, the rowid, partition keys, metadata and auxiliary
** columns, compared with BINARY or NOCASE (*pbNoCase).  Anything else is
** left to SQLite, after the k rows are chosen.
*/
static int knnFilterable(Vec0Table *p, sqlite3_index_info *pInfo, int i, int op,
                         int *pbNoCase) {
  const struct sqlite3_index_constraint *pC = &pInfo->aConstraint[i];
  const char *zColl;
  int col = pC->iColumn;
  *pbNoCase = 0;
  if (op == 0) return 0;
  if (col >= 0) {
    if (col >= p->cfg.nCol) return 0;
    switch (p->cfg.aCol[col].eKind) {
      case VEC0_COL_PK:
      case VEC0_COL_PARTITION:
      case VEC0_COL_METADATA:
      case VEC0_COL_AUX:
        break;
      default:
        return 0;
    }
  }
  if (op == VEC0_OP_LIKE || op == VEC0_OP_GLOB || op == VEC0_OP_ISNULL ||
      op == VEC0_OP_ISNOTNULL) {
    return 1; /* no collation applies */
  }
  zColl = sqlite3_vtab_collation(pInfo, i);
  if (zColl == 0 || sqlite3_stricmp(zColl, "BINARY") == 0) return 1;
  if (sqlite3_stricmp(zColl, "NOCASE") == 0) {
    *pbNoCase = 1;
    return 1;
  }
  return 0;
}

/*
** Whether the search's filter on SQL column col (-1: the rowid) gives what
** SQLite's own check would, so that SQLite need not check it again (omit).
** Not for LIKE and GLOB (PRAGMA case_sensitive_like, which a virtual table
** cannot see), not for NOCASE (SQLite's LIKE optimization hands over range
** terms with NOCASE; omitted, a LEFT JOIN whose ON clause had LIKE ... ESCAPE
** lost its left row), and not for != or IS NOT on a column that can hold
** text: SQLite reports BINARY as their collation whatever it is, so a NOCASE
** or RTRIM one is only applied by SQLite's check.
*/
/* Whether SQL column col (-1: the rowid) can hold text: TEXT, or auxiliary
** (whose values are stored as given). */
static int holdsText(const Vec0Table *p, int col) {
  const Vec0Column *c = col >= 0 ? &p->cfg.aCol[col] : 0;
  return c && (c->eKind == VEC0_COL_AUX || c->eType == VEC0_VAL_TEXT);
}

static int filterIsSqlites(Vec0Table *p, int col, int op, int bNoCase) {
  if (op == VEC0_OP_LIKE || op == VEC0_OP_GLOB || bNoCase) return 0;
  return !(holdsText(p, col) && (op == VEC0_OP_NE || op == VEC0_OP_ISNOT));
}

/*
** Whether constraint i on SQL column col (-1: the rowid) compares the column
** with a constant of its own class (a number for a numeric column, text for
** a text one), so that the comparison's affinity is the column's.  With any
** other right side (a parameter, a column of a table read before, a number
** for a text column) SQLite may compare with another affinity: a join's
** t.s <= q.n compares s as a number, and constant propagation turns b >= s
** AND b = 0 into s <= 0 compared with b's affinity.  SQLite then checks the
** term again on the rows returned (a comparison each).
*/
static int rhsOfItsClass(Vec0Table *p, sqlite3_index_info *pInfo, int i, int col) {
  sqlite3_value *v = 0;
  int t;
  if (sqlite3_libversion_number() < 3038000) return 0;
  if (sqlite3_vtab_rhs_value(pInfo, i, &v) != SQLITE_OK || v == 0) return 0;
  t = sqlite3_value_type(v);
  return holdsText(p, col) ? t == SQLITE_TEXT : (t == SQLITE_INTEGER || t == SQLITE_FLOAT);
}

/* Whether "key = ?" (constraint i) is a lookup of the key as stored: any
** integer key, or a text key compared with BINARY. */
static int keyBinary(Vec0Table *p, sqlite3_index_info *pInfo, int i) {
  const char *zColl;
  if (p->cfg.ePk != VEC0_PK_TEXT) return 1;
  zColl = sqlite3_vtab_collation(pInfo, i);
  return zColl == 0 || sqlite3_stricmp(zColl, "BINARY") == 0;
}

/*
** The MATCH constraint that makes this a KNN query: *piMatch (-1 if none
** is usable; *pbUnusable if one is not).  Errors for a MATCH SQLite could
** only report as "unable to use function MATCH in the requested context".
*/
static int findMatch(Vec0Table *p, sqlite3_index_info *pInfo, int *piMatch,
                     int *pbUnusable) {
  Vec0Config *c = &p->cfg;
  int iMatch = -1;
  for (int i = 0; i < pInfo->nConstraint; i++) {
    const struct sqlite3_index_constraint *pC = &pInfo->aConstraint[i];
    if (pC->op == SQLITE_INDEX_CONSTRAINT_MATCH &&
        (pC->iColumn < 0 || pC->iColumn >= c->nCol ||
         c->aCol[pC->iColumn].eKind != VEC0_COL_VECTOR)) {
      /* SQLite would say "unable to use function MATCH in the requested
      ** context", which does not tell what is wrong. */
      const char *zCol = pC->iColumn < 0 ? "rowid"
                         : pC->iColumn < c->nCol ? c->aCol[pC->iColumn].zName
                                                 : "a hidden column";
      vec0TableError(p, "vec0: table \"%s\": MATCH takes a vector column on its left, "
                        "not %s%s%s",
                     p->zName, pC->iColumn >= 0 && pC->iColumn < c->nCol ? "\"" : "",
                     zCol, pC->iColumn >= 0 && pC->iColumn < c->nCol ? "\"" : "");
      return SQLITE_ERROR;
    }
    if (pC->op == SQLITE_INDEX_CONSTRAINT_MATCH) {
      if (!pC->usable) {
        *pbUnusable = 1;
      } else if (iMatch < 0) {
        iMatch = i;
      } else {
        /* SQLite would say "unable to use function MATCH in the requested
        ** context" of the second one. */
        vec0TableError(p, "vec0: table \"%s\": a KNN query takes one MATCH, not two "
                          "(on \"%s\" and \"%s\"); search each vector column in its "
                          "own subquery",
                       p->zName, c->aCol[pInfo->aConstraint[iMatch].iColumn].zName,
                       c->aCol[pC->iColumn].zName);
        return SQLITE_ERROR;
      }
    }
  }
  *piMatch = iMatch;
  return SQLITE_OK;
}

#define ADD_ARG(iCons, kind, op, col)                                          \
  do {                                                                         \
    sqlite3_snprintf(5, &zIdx[*pnArg * 4], "%c%c%02x", kind, op, col);         \
    pInfo->aConstraintUsage[iCons].argvIndex = ++*pnArg;                       \
  } while (0)

/*
** The arguments of a KNN plan (MATCH is constraint iMatch): k, ef, LIMIT,
** distance bounds, rowids and the filters the search applies itself.
** SQLITE_CONSTRAINT: not this plan.
*/
static int planKnn(Vec0Table *p, sqlite3_index_info *pInfo, int iMatch, int iPk,
                   char *zIdx, int *pnArg) {
  Vec0Config *c = &p->cfg;
  int iDistance = c->nCol + VEC0_HIDDEN_DISTANCE;
  int iK = c->nCol + VEC0_HIDDEN_K, iEf = c->nCol + VEC0_HIDDEN_EF;
  int iRecall = c->nCol + VEC0_HIDDEN_RECALL;
  int iRescore = c->nCol + VEC0_HIDDEN_RESCORE;
  int bLimit = 0, bK = 0, bNoCase = 0;
  /* A LIMIT is k only when the rows come in the order it counts them in:
  ** with ORDER BY distance DESC, rowid, or m, distance it is not the k
  ** nearest (sqlite-vec refuses those; without k they are an error here). */
  int bLimitIsK = pInfo->nOrderBy == 0 ||
                  (pInfo->nOrderBy == 1 && pInfo->aOrderBy[0].iColumn == iDistance &&
                   !pInfo->aOrderBy[0].desc);
  int bHasIn = sqlite3_libversion_number() >= 3038000;
  int iVecCol = pInfo->aConstraint[iMatch].iColumn;

  ADD_ARG(iMatch, VEC0_TOK_MATCH, '=', c->aCol[iVecCol].iSub);
  pInfo->aConstraintUsage[iMatch].omit = 1;
  for (int i = 0; i < pInfo->nConstraint; i++) {
    const struct sqlite3_index_constraint *pC = &pInfo->aConstraint[i];
    int col = pC->iColumn, op = opOf(pC->op);
    if (!pC->usable && (col == iK || col == iEf || col == iRescore || col == iRecall) &&
        op == VEC0_OP_EQ) {
      /*
      ** k or ef from a table not yet read: SQLite would compare it with
      ** the hidden column (NULL) after the search.  Not this plan.
      */
      return SQLITE_CONSTRAINT;
    }
    if (!pC->usable || i == iMatch) continue;
    if (pC->op == SQLITE_INDEX_CONSTRAINT_LIMIT) {
      if (!bLimit && bLimitIsK) ADD_ARG(i, VEC0_TOK_LIMIT, '=', 0);
      bLimit = 1;
    } else if (col == iK && op == VEC0_OP_EQ && !bK) {
      ADD_ARG(i, VEC0_TOK_K, '=', 0);
      pInfo->aConstraintUsage[i].omit = 1;
      bK = 1;
    } else if (col == iEf && op == VEC0_OP_EQ) {
      ADD_ARG(i, VEC0_TOK_EF, '=', 0);
      pInfo->aConstraintUsage[i].omit = 1;
    } else if (col == iRecall && op == VEC0_OP_EQ) {
      ADD_ARG(i, VEC0_TOK_RECALL, '=', 0);
      pInfo->aConstraintUsage[i].omit = 1;
    } else if (col == iRescore && op == VEC0_OP_EQ) {
      ADD_ARG(i, VEC0_TOK_RESCORE, '=', 0);
      pInfo->aConstraintUsage[i].omit = 1;
    } else if (col == iDistance && op && op != VEC0_OP_EQ && op != VEC0_OP_NE) {
      ADD_ARG(i, VEC0_TOK_DISTANCE, op, 0);
      pInfo->aConstraintUsage[i].omit = 1;
    } else if (op == VEC0_OP_EQ && (col == -1 || (col == iPk && keyBinary(p, pInfo, i)))) {
      int bIn = bHasIn && sqlite3_vtab_in(pInfo, i, -1);
      if (bIn) sqlite3_vtab_in(pInfo, i, 1);
      ADD_ARG(i, VEC0_TOK_ROWID, bIn ? VEC0_OP_IN : VEC0_OP_EQ,
              col == iPk && c->ePk == VEC0_PK_TEXT);
      pInfo->aConstraintUsage[i].omit = 1;
    } else if (knnFilterable(p, pInfo, i, op, &bNoCase)) {
      if (op == VEC0_OP_EQ && bHasIn && sqlite3_vtab_in(pInfo, i, -1)) {
        sqlite3_vtab_in(pInfo, i, 1);
        op = VEC0_OP_IN;
      }
      ADD_ARG(i, bNoCase ? VEC0_TOK_FILTER_NOCASE : VEC0_TOK_FILTER, op,
              col < 0 ? VEC0_COL_ROWID : col);
      pInfo->aConstraintUsage[i].omit = filterIsSqlites(p, col, op, bNoCase) &&
                                         op != VEC0_OP_IN && rhsOfItsClass(p, pInfo, i, col);
    }
  }
  pInfo->idxNum = VEC0_PLAN_KNN;
  pInfo->estimatedCost = 10.0;
  pInfo->estimatedRows = 10;
  if (pInfo->nOrderBy == 1 && pInfo->aOrderBy[0].iColumn == iDistance &&
      !pInfo->aOrderBy[0].desc) {
    pInfo->orderByConsumed = 1;
  }
  return SQLITE_OK;
}
#undef ADD_ARG

/* Whether the statement reads column iCol (the last bit stands for the rest). */
static int readsColumn(const sqlite3_index_info *pInfo, int iCol) {
  return (int)((pInfo->colUsed >> (iCol < 63 ? iCol : 63)) & 1);
}

int vec0PlanBestIndex(sqlite3_vtab *pVtab, sqlite3_index_info *pInfo) {
  Vec0Table *p = (Vec0Table *)pVtab;
  Vec0Config *c = &p->cfg;
  int iPk = c->ePk == VEC0_PK_ROWID ? -2 : 0;
  int iMatch = -1, bUnusableMatch = 0, nArg = 0, rc;
  char *zIdx;
  int bHasIn = sqlite3_libversion_number() >= 3038000;

  for (int i = 0; i < c->nCol; i++) {
    if (c->aCol[i].eKind == VEC0_COL_PK) iPk = i;
  }
  zIdx = sqlite3_malloc64((size_t)pInfo->nConstraint * 4 + 1);
  if (zIdx == 0) return SQLITE_NOMEM;
  zIdx[0] = 0;

  rc = findMatch(p, pInfo, &iMatch, &bUnusableMatch);
  if (rc != SQLITE_OK) {
    sqlite3_free(zIdx);
    return rc;
  }

#define ADD_ARG(iCons, kind, op, col)                                          \
  do {                                                                         \
    sqlite3_snprintf(5, &zIdx[nArg * 4], "%c%c%02x", kind, op, col);           \
    pInfo->aConstraintUsage[iCons].argvIndex = ++nArg;                         \
  } while (0)

  if (iMatch >= 0) {
    rc = planKnn(p, pInfo, iMatch, iPk, zIdx, &nArg);
    if (rc != SQLITE_OK) {
      sqlite3_free(zIdx);
      return rc;
    }
  } else if (bUnusableMatch) {
    /* The query vector comes from a table not yet read: not this plan. */
    sqlite3_free(zIdx);
    return SQLITE_CONSTRAINT;
  } else {
    int iEq = -1;
    for (int i = 0; i < pInfo->nConstraint; i++) {
      const struct sqlite3_index_constraint *pC = &pInfo->aConstraint[i];
      if (pC->usable && pC->op == SQLITE_INDEX_CONSTRAINT_EQ &&
          (pC->iColumn == -1 || (pC->iColumn == iPk && keyBinary(p, pInfo, i)))) {
        iEq = i;
        break;
      }
    }
    if (iEq >= 0) {
      int bIn = bHasIn && sqlite3_vtab_in(pInfo, iEq, -1);
      if (bIn) sqlite3_vtab_in(pInfo, iEq, 1);
      ADD_ARG(iEq, VEC0_TOK_ROWID, bIn ? VEC0_OP_IN : VEC0_OP_EQ,
              pInfo->aConstraint[iEq].iColumn == iPk && c->ePk == VEC0_PK_TEXT);
      pInfo->aConstraintUsage[iEq].omit = 1;
      pInfo->idxNum = VEC0_PLAN_POINT;
      pInfo->estimatedCost = bIn ? 20.0 : 1.0;
      pInfo->estimatedRows = bIn ? 10 : 1;
      if (!bIn) pInfo->idxFlags = SQLITE_INDEX_SCAN_UNIQUE;
    } else {
      pInfo->idxNum = VEC0_PLAN_SCAN;
      pInfo->estimatedCost = 1e6;
      pInfo->estimatedRows = 100000;
    }
    if (readsColumn(pInfo, c->nCol + VEC0_HIDDEN_K) ||
        readsColumn(pInfo, c->nCol + VEC0_HIDDEN_DISTANCE)) {
      /*
      ** A query that reads k or distance is a KNN query, and this plan
      ** has no MATCH: SQLite plans each side of an OR of rowid terms on
      ** its own (a MULTI-INDEX OR), then compares k and MATCH with rows
      ** that have neither, and returned no row at all.  Costlier than any
      ** KNN plan, so that SQLite takes that one and checks the OR after.
      */
      pInfo->estimatedCost += 1e12;
    }
    /* Rows come out by rowid (the integer key is the rowid). */
    if (pInfo->nOrderBy == 1 && !pInfo->aOrderBy[0].desc &&
        (pInfo->aOrderBy[0].iColumn == -1 ||
         (c->ePk != VEC0_PK_TEXT && pInfo->aOrderBy[0].iColumn == iPk))) {
      pInfo->orderByConsumed = 1;
    }
  }
#undef ADD_ARG
  pInfo->idxStr = zIdx;
  pInfo->needToFreeIdxStr = 1;
  return SQLITE_OK;
}
