/*
** vec0_value.c: SQLite's rules for values, as a vec0 table applies them.
**
** A vec0 table stands in for an ordinary table whose key is an INTEGER
** PRIMARY KEY and whose partition and metadata columns have declared types,
** so a value that reaches it is read the way such a table would read it: a
** REAL or numeric TEXT whose value is an exact integer is that integer (a
** JavaScript number, bound as 2.0, names row 2), a number compared with a
** text column is its text, and comparisons, LIKE and GLOB follow SQLite's
** own order and case rules.  The cells here hold partition, metadata and
** auxiliary values in the cache and in the filters of a search.  Only SQLite
** is called.
*/
#include "vec0Int.h"

#include <math.h>
#include <string.h>

int vec0ValueInt64(sqlite3_value *v, sqlite3_int64 *piOut) {
  double r;
  switch (sqlite3_value_numeric_type(v)) {
    case SQLITE_INTEGER:
      *piOut = sqlite3_value_int64(v);
      return 1;
    case SQLITE_FLOAT:
      r = sqlite3_value_double(v);
      /* -2^63 <= r < 2^63, with no fraction: exactly one int64. */
      if (r >= -9223372036854775808.0 && r < 9223372036854775808.0 && r == floor(r)) {
        *piOut = (sqlite3_int64)r;
        return 1;
      }
      return 0;
    default:
      return 0;
  }
}

/* ---------------------------------------------------------------------- */
/* Cells                                                                   */

void vec0CellClear(Vec0Cell *pCell) {
  sqlite3_free(pCell->z);
  memset(pCell, 0, sizeof(*pCell));
  pCell->eType = SQLITE_NULL;
}

void vec0CellBind(sqlite3_stmt *pStmt, int i, const Vec0Cell *pCell) {
  switch (pCell->eType) {
    case SQLITE_INTEGER: sqlite3_bind_int64(pStmt, i, pCell->i); break;
    case SQLITE_FLOAT: sqlite3_bind_double(pStmt, i, pCell->r); break;
    case SQLITE_TEXT: sqlite3_bind_text(pStmt, i, pCell->z, pCell->n, SQLITE_STATIC); break;
    case SQLITE_BLOB: sqlite3_bind_blob(pStmt, i, pCell->z, pCell->n, SQLITE_STATIC); break;
    default: sqlite3_bind_null(pStmt, i);
  }
}

/* Makes the cell hold n bytes of z (TEXT or BLOB), NUL terminated. */
static int cellBytes(Vec0Cell *pCell, int eType, const void *z, int n) {
  pCell->z = sqlite3_malloc64((sqlite3_uint64)n + 1);
  if (pCell->z == 0) return SQLITE_NOMEM;
  if (n) memcpy(pCell->z, z, (size_t)n);
  pCell->z[n] = 0;
  pCell->n = n;
  pCell->eType = eType;
  return SQLITE_OK;
}

void vec0CellSet(Vec0Cell *pCell, sqlite3_value *v, int *pRc) {
  vec0CellClear(pCell);
  switch (sqlite3_value_type(v)) {
    case SQLITE_INTEGER:
      pCell->eType = SQLITE_INTEGER;
      pCell->i = sqlite3_value_int64(v);
      pCell->r = (double)pCell->i;
      break;
    case SQLITE_FLOAT:
      pCell->eType = SQLITE_FLOAT;
      pCell->r = sqlite3_value_double(v);
      break;
    case SQLITE_TEXT: {
      const unsigned char *z = sqlite3_value_text(v);
      if (z == 0 || cellBytes(pCell, SQLITE_TEXT, z, sqlite3_value_bytes(v))) {
        *pRc = SQLITE_NOMEM;
      }
      break;
    }
    case SQLITE_BLOB: {
      int n = sqlite3_value_bytes(v);
      const void *z = sqlite3_value_blob(v);
      if ((z == 0 && n > 0) || cellBytes(pCell, SQLITE_BLOB, z, n)) *pRc = SQLITE_NOMEM;
      break;
    }
    default:
      break;
  }
}

void vec0CellSetInt(Vec0Cell *pCell, sqlite3_int64 i) {
  vec0CellClear(pCell);
  pCell->eType = SQLITE_INTEGER;
  pCell->i = i;
  pCell->r = (double)i;
}

/* The text SQLite gives a number (sqlite3_value_text() of it). */
static int numberText(const Vec0Cell *pCell, char *zBuf, int nBuf) {
  if (pCell->eType == SQLITE_INTEGER) {
    sqlite3_snprintf(nBuf, zBuf, "%lld", pCell->i);
  } else {
    sqlite3_snprintf(nBuf, zBuf, "%!.15g", pCell->r);
  }
  return (int)strlen(zBuf);
}

int vec0CellSetAffinity(Vec0Cell *pCell, sqlite3_value *v, Vec0ValType eType) {
  int rc = SQLITE_OK;
  int bNumeric = eType == VEC0_VAL_INTEGER || eType == VEC0_VAL_BOOLEAN ||
                 eType == VEC0_VAL_FLOAT;
  if (bNumeric && sqlite3_value_type(v) == SQLITE_TEXT) {
    /* SQLite's own reading of the text, on a copy: v may be the caller's. */
    sqlite3_value *pNum = sqlite3_value_dup(v);
    if (pNum == 0) return SQLITE_NOMEM;
    sqlite3_value_numeric_type(pNum);
    vec0CellSet(pCell, pNum, &rc);
    sqlite3_value_free(pNum);
  } else {
    vec0CellSet(pCell, v, &rc);
  }
  if (rc != SQLITE_OK) return rc;
  if (bNumeric && eType != VEC0_VAL_FLOAT && pCell->eType == SQLITE_FLOAT) {
    double r = pCell->r;
    if (r >= -9223372036854775808.0 && r < 9223372036854775808.0 && r == floor(r)) {
      vec0CellSetInt(pCell, (sqlite3_int64)r);
    }
  } else if (eType == VEC0_VAL_TEXT &&
             (pCell->eType == SQLITE_INTEGER || pCell->eType == SQLITE_FLOAT)) {
    /* The number's text as SQLite writes it (1.0 is '1.0'). */
    sqlite3_value *pText = sqlite3_value_dup(v);
    const unsigned char *z = pText ? sqlite3_value_text(pText) : 0;
    vec0CellClear(pCell);
    rc = z ? cellBytes(pCell, SQLITE_TEXT, z, sqlite3_value_bytes(pText)) : SQLITE_NOMEM;
    sqlite3_value_free(pText);
  }
  return rc;
}

/* Numbers sort before text, text before BLOBs (NULL is never compared). */
static int cellClass(const Vec0Cell *c) {
  switch (c->eType) {
    case SQLITE_INTEGER:
    case SQLITE_FLOAT:
      return 1;
    case SQLITE_TEXT:
      return 2;
    case SQLITE_BLOB:
      return 3;
    default:
      return 0;
  }
}

/* NOCASE folds ASCII letters only, as SQLite's does. */
static int foldAscii(int c) {
  return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

int vec0CellCompare(const Vec0Cell *a, const Vec0Cell *b, int bNoCase) {
  int ca = cellClass(a), cb = cellClass(b);
  if (ca != cb) return ca < cb ? -1 : 1;
  if (ca == 1) {
    if (a->eType == SQLITE_INTEGER && b->eType == SQLITE_INTEGER) {
      return a->i < b->i ? -1 : a->i > b->i;
    } else {
      double x = a->eType == SQLITE_INTEGER ? (double)a->i : a->r;
      double y = b->eType == SQLITE_INTEGER ? (double)b->i : b->r;
      return x < y ? -1 : x > y;
    }
  } else {
    int n = a->n < b->n ? a->n : b->n;
    int c = 0;
    if (bNoCase && ca == 2) {
      for (int i = 0; i < n && c == 0; i++) {
        c = foldAscii((unsigned char)a->z[i]) - foldAscii((unsigned char)b->z[i]);
      }
    } else if (n) {
      c = memcmp(a->z, b->z, (size_t)n);
    }
    if (c) return c < 0 ? -1 : 1;
    return a->n < b->n ? -1 : a->n > b->n;
  }
}

/*
** LIKE and GLOB read both sides as text; NULL (or a BLOB's bytes) as SQLite
** does.  A SQLite built with SQLITE_LIKE_DOESNT_MATCH_BLOBS (Debian's is)
** matches no BLOB.
*/
static int patternPasses(const Vec0Filter *f, const Vec0Cell *pCell) {
  char zBuf[64];
  const char *zPat = f->aVal[0].z;
  const char *zStr;
  if (pCell->eType == SQLITE_NULL || f->aVal[0].eType != SQLITE_TEXT || zPat == 0) return 0;
  if (pCell->eType == SQLITE_BLOB && f->bNoBlobs) return 0;
  if (pCell->eType == SQLITE_TEXT || pCell->eType == SQLITE_BLOB) {
    zStr = pCell->z ? pCell->z : "";
  } else {
    numberText(pCell, zBuf, (int)sizeof(zBuf));
    zStr = zBuf;
  }
  if (f->op == VEC0_OP_LIKE) return sqlite3_strlike(zPat, zStr, 0) == 0;
  return sqlite3_strglob(zPat, zStr) == 0;
}

int vec0FilterPasses(const Vec0Filter *f, const Vec0Cell *pCell) {
  int bNull = pCell->eType == SQLITE_NULL, c;
  switch (f->op) {
    case VEC0_OP_ISNULL: return bNull;
    case VEC0_OP_ISNOTNULL: return !bNull;
    case VEC0_OP_IS:
    case VEC0_OP_ISNOT: {
      int bVNull = f->aVal[0].eType == SQLITE_NULL, bSame;
      if (bNull || bVNull) {
        bSame = bNull && bVNull;
      } else {
        bSame = vec0CellCompare(pCell, &f->aVal[0], f->bNoCase) == 0;
      }
      return f->op == VEC0_OP_IS ? bSame : !bSame;
    }
    case VEC0_OP_LIKE:
    case VEC0_OP_GLOB:
      return patternPasses(f, pCell);
    case VEC0_OP_IN:
      if (bNull) return 0;
      for (int i = 0; i < f->nVal; i++) {
        if (f->aVal[i].eType != SQLITE_NULL &&
            vec0CellCompare(pCell, &f->aVal[i], f->bNoCase) == 0) {
          return 1;
        }
      }
      return 0;
  }
  if (bNull || f->aVal[0].eType == SQLITE_NULL) return 0;
  c = vec0CellCompare(pCell, &f->aVal[0], f->bNoCase);
  switch (f->op) {
    case VEC0_OP_EQ: return c == 0;
    case VEC0_OP_NE: return c != 0;
    case VEC0_OP_LT: return c < 0;
    case VEC0_OP_LE: return c <= 0;
    case VEC0_OP_GT: return c > 0;
    case VEC0_OP_GE: return c >= 0;
  }
  return 0;
}

int vec0BindText(sqlite3_stmt *pStmt, int i, sqlite3_value *v) {
  Vec0Cell cell;
  int rc;
  if (sqlite3_value_type(v) == SQLITE_TEXT) return sqlite3_bind_value(pStmt, i, v);
  memset(&cell, 0, sizeof(cell));
  rc = vec0CellSetAffinity(&cell, v, VEC0_VAL_TEXT);
  if (rc == SQLITE_OK) rc = sqlite3_bind_text(pStmt, i, cell.z, cell.n, SQLITE_TRANSIENT);
  vec0CellClear(&cell);
  return rc;
}

/* ---------------------------------------------------------------------- */
/* Recall targets                                                          */

int vec0RecallParse(const char *z, int n, int *piOut) {
  int i = 0, v = 0, nFrac = 0;
  /* "0.95", "0.9", ".95", "0.95000": at most 4 places that are not 0, in
  ** 0.5 .. 0.999 */
  while (i < n && z[i] == '0') i++;
  if (i == n || z[i] != '.') return 0;
  for (i++; i < n; i++) {
    if (z[i] < '0' || z[i] > '9' || (nFrac == 4 && z[i] != '0')) return 0;
    if (nFrac == 4) continue;
    v = v * 10 + (z[i] - '0');
    nFrac++;
  }
  if (nFrac == 0) return 0;
  while (nFrac++ < 4) v *= 10;
  if (v < VEC0_RECALL_MIN || v > VEC0_RECALL_MAX) return 0;
  *piOut = v;
  return 1;
}
