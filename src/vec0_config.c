/*
** vec0_config.c: the arguments of CREATE VIRTUAL TABLE ... USING vec0(...).
**
** SQLite hands xCreate/xConnect one string per comma-separated module
** argument (parentheses keep "hnsw(m=8, ef_search=10)" in one piece).  This
** file turns those strings into a Vec0Config, checks every limit, and writes
** the CREATE TABLE statement for sqlite3_declare_vtab().  It calls nothing of
** the project and only the string/memory functions of SQLite, so it can be
** tested alone.
**
** GRAMMAR (one module argument; keywords are case-insensitive; whitespace and
** SQL comments may appear between any two tokens):
**
**   arg       := column | option
**   option    := "chunk_size" "=" INT        accepted for sqlite-vec; ignored
**   column    := NAME "integer"|"text" ("primary"|"partition") "key"
**              | NAME vectype "[" INT "]" vecopt*
**              | NAME metatype
**              | "+" NAME [typename]
**   vectype   := float | float32 | f32 | int8 | i8 | bit
**   vecopt    := "distance_metric" "=" (l2|cosine|l1|dot|hamming)
**              | "indexed" "by" form      (vec0_config_index.c: hnsw, flat,
**                                           rescore, diskann)
**   metatype  := integer|int|int64|integer64 | float|double|float64|f64
**              | text | boolean|bool              (what sqlite-vec 0.1.9 takes)
**   typename  := WORD+ ["(" ["+"|"-"] INT ["," ["+"|"-"] INT] ")"]
**   NAME      := identifier | "quoted" | `quoted` | [quoted]
**
** The integer words (integer, int, int64, integer64) are accepted for primary
** and partition keys too.  Each vecopt at most once, each hparam at most once.
**
** RANGES: dimensions 1..8192 (bit: a multiple of 8); the parameters of an
** index form as vec0_config_index.c says; a quantizer only on a float32
** column whose metric is l2, cosine or dot (what a code distance can stand
** for); chunk_size a positive multiple of 8.  Limits per table: 1 primary key, 16 vector, 4
** partition key, 16 metadata and 16 auxiliary columns; at least one vector
** column.
**
** DEFAULTS: float32 and int8 columns use l2 and hnsw(m=16, ef_construction=200,
** recall=0.95): the ef of a query is measured to meet the recall target,
** unless ef_search=N fixes it (ef_search and recall exclude each other);
** bit columns use hamming (their only metric) and flat().  A bit
** column may ask for `indexed by hnsw(...)`: hamming is a true metric, so the
** graph works as for the others.  Flat columns keep the hnsw defaults in m,
** efConstruction and efSearch, unused.
**
** NAMES: compared case-insensitively.  "distance", "k", "ef" and the table's
** own name are hidden columns and are refused (as is a table named like one
** of them; the hidden "rescore" and "recall" give way instead, see
** vec0ConfigDeclare); "rowid", "oid" and "_rowid_" only as an integer primary key,
** where they name the rowid anyway.
**
** AUXILIARY TYPES map to Vec0Column.eType by SQLite's affinity rules: INT ->
** integer, CHAR/CLOB/TEXT -> text, REAL/FLOA/DOUB -> float, none, BLOB or
** numeric affinity -> VEC0_VAL_ANY.  Auxiliary values are stored as given.
**
** ERRORS: SQLITE_ERROR and *pzErr = "vec0: table "T": <what>", where <what>
** names the offending token, option and column, e.g.
**   unknown option "metric" on column "embedding"
**   dimension 0 of column "v" out of range 1..8192
**   expected "]" on column "v", found end of argument
*/
#include "vec0Int.h"
#include "vec0_config.h"

#include <stdarg.h>
#include <string.h>

#define CFG_MAX_CHUNK_SIZE 2147483640 /* largest int multiple of 8 */
#define CFG_BIG ((sqlite3_int64)1 << 40) /* integers saturate here */
#define CFG_TOKEN_SHOW 40                /* bytes of a bad token in messages */

#if VEC0_N_HIDDEN != 6
#error "vec0_config.c knows six hidden columns"
#endif

void vec0CfgError(CfgParse *pP, const char *zFmt, ...) {
  va_list ap;
  char *zDetail;
  if (pP->rc != SQLITE_OK) return;
  va_start(ap, zFmt);
  zDetail = sqlite3_vmprintf(zFmt, ap);
  va_end(ap);
  if (zDetail == 0) {
    pP->rc = SQLITE_NOMEM;
    return;
  }
  *pP->pzErr = sqlite3_mprintf("vec0: table \"%w\": %z", pP->zTable, zDetail);
  pP->rc = *pP->pzErr ? SQLITE_ERROR : SQLITE_NOMEM;
}

/* ---------------------------------------------------------------- scanner */

static int isSpace(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
         c == '\v';
}
static int isDigit(unsigned char c) { return c >= '0' && c <= '9'; }
int vec0CfgIsIdStart(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         c >= 0x80;
}
static int isIdChar(unsigned char c) {
  return vec0CfgIsIdStart(c) || isDigit(c) || c == '$';
}

/* Skips whitespace and SQL comments (an unterminated one runs to the end). */
static void skipSpace(CfgScan *s) {
  for (;;) {
    unsigned char c = (unsigned char)s->z[s->i];
    if (isSpace(c)) {
      s->i++;
    } else if (c == '-' && s->z[s->i + 1] == '-') {
      s->i += 2;
      while (s->z[s->i] && s->z[s->i] != '\n') s->i++;
    } else if (c == '/' && s->z[s->i + 1] == '*') {
      s->i += 2;
      while (s->z[s->i] && !(s->z[s->i] == '*' && s->z[s->i + 1] == '/')) {
        s->i++;
      }
      if (s->z[s->i]) s->i += 2;
    } else {
      break;
    }
  }
}

/* The next non-space character, not consumed (0 at the end). */
char vec0CfgPeek(CfgScan *s) {
  skipSpace(s);
  return s->z[s->i];
}

/* Consumes character c if it is next. */
int vec0CfgEat(CfgScan *s, char c) {
  if (vec0CfgPeek(s) != c) return 0;
  s->i++;
  return 1;
}

/*
** Bytes of the token at z (after spaces), for messages and numbers: a word
** or number runs over identifier characters and '.', a quoted name to its
** closing quote, anything else is one character.
*/
static int tokenLen(const char *z) {
  unsigned char c = (unsigned char)z[0];
  int n = 1;
  if (c == 0) return 0;
  if (isIdChar(c)) {
    while (isIdChar((unsigned char)z[n]) || z[n] == '.') n++;
  } else if (c == '"' || c == '`' || c == '[' || c == '\'') {
    char cEnd = c == '[' ? ']' : (char)c;
    while (z[n] && z[n] != cEnd) n++;
    if (z[n]) n++;
  }
  return n;
}

/*
** The token at the cursor as a message shows it: "tok" (at most
** CFG_TOKEN_SHOW bytes, cut at a character boundary) or "end of argument".
** From sqlite3_mprintf(); NULL only on OOM, which vec0CfgError() then reports.
*/
char *vec0CfgTokenShow(CfgScan *s) {
  const char *z;
  int n;
  skipSpace(s);
  z = &s->z[s->i];
  n = tokenLen(z);
  if (n == 0) return sqlite3_mprintf("end of argument");
  if (n > CFG_TOKEN_SHOW) {
    n = CFG_TOKEN_SHOW;
    while (n > 0 && ((unsigned char)z[n] & 0xc0) == 0x80) n--;
    return sqlite3_mprintf("\"%.*w...\"", n, z);
  }
  return sqlite3_mprintf("\"%.*w\"", n, z);
}

/* Reads an unquoted word (keyword or type name); 0 if none is next. */
int vec0CfgReadWord(CfgScan *s, const char **pz, int *pn) {
  int n = 0;
  const char *z;
  skipSpace(s);
  z = &s->z[s->i];
  if (!vec0CfgIsIdStart((unsigned char)z[0])) return 0;
  while (isIdChar((unsigned char)z[n])) n++;
  *pz = z;
  *pn = n;
  s->i += n;
  return 1;
}

int vec0CfgWordIs(const char *z, int n, const char *zKw) {
  return (int)strlen(zKw) == n && sqlite3_strnicmp(z, zKw, n) == 0;
}

/* Reads keyword zKw if it is the next word. */
int vec0CfgEatWord(CfgScan *s, const char *zKw) {
  CfgScan save = *s;
  const char *z;
  int n;
  if (vec0CfgReadWord(s, &z, &n) && vec0CfgWordIs(z, n, zKw)) return 1;
  *s = save;
  return 0;
}

/*
** Reads an unsigned decimal integer.  The value saturates at CFG_BIG so that
** range checks see any huge number as out of range; *pz and *pn receive the
** token's text for messages.  Returns 0, consuming nothing, when the next
** token is not all digits.
*/
int vec0CfgReadInt(CfgScan *s, sqlite3_int64 *pv, const char **pz, int *pn) {
  const char *z;
  int n, j;
  sqlite3_int64 v = 0;
  skipSpace(s);
  z = &s->z[s->i];
  if (!isDigit((unsigned char)z[0])) return 0;
  n = tokenLen(z);
  for (j = 0; j < n; j++) {
    if (!isDigit((unsigned char)z[j])) return 0;
    v = v * 10 + (z[j] - '0');
    if (v > CFG_BIG) v = CFG_BIG;
  }
  s->i += n;
  *pv = v;
  *pz = z;
  *pn = n > CFG_TOKEN_SHOW ? CFG_TOKEN_SHOW : n;
  return 1;
}

/*
** Reads a column name, unquoting "..", `..` (doubled quote escapes) and
** [..].  On error reports it (iArg is the 1-based argument number).
*/
static int readName(CfgParse *pP, CfgScan *s, int iArg, char **pzOut) {
  const char *z;
  char c;
  int n;
  char *zOut;
  *pzOut = 0;
  c = vec0CfgPeek(s);
  z = &s->z[s->i];
  if (vec0CfgIsIdStart((unsigned char)c)) {
    vec0CfgReadWord(s, &z, &n);
    zOut = sqlite3_mprintf("%.*s", n, z);
  } else if (c == '"' || c == '`' || c == '[') {
    char cEnd = c == '[' ? ']' : c;
    int j = 1, k = 0;
    for (;;) {
      if (z[j] == 0) {
        vec0CfgError(pP, "unterminated quoted name in argument %d", iArg);
        return pP->rc;
      }
      if (z[j] == cEnd) {
        if (cEnd != ']' && z[j + 1] == cEnd) {
          j += 2;
          k++;
          continue;
        }
        break;
      }
      j++;
      k++;
    }
    if (k == 0) {
      vec0CfgError(pP, "empty column name in argument %d", iArg);
      return pP->rc;
    }
    zOut = sqlite3_malloc64((sqlite3_uint64)k + 1);
    if (zOut) {
      int a, b = 0;
      for (a = 1; a < j; a++) {
        zOut[b++] = z[a];
        if (z[a] == cEnd) a++; /* the second of a doubled quote */
      }
      zOut[b] = 0;
    }
    s->i += j + 1;
  } else {
    vec0CfgError(pP, "expected a column name in argument %d, found %z", iArg,
             vec0CfgTokenShow(s));
    return pP->rc;
  }
  if (zOut == 0) {
    pP->rc = SQLITE_NOMEM;
    return pP->rc;
  }
  *pzOut = zOut;
  return SQLITE_OK;
}

/* Reports "expected <zWhat> on column "C", found <token>". */
void vec0CfgExpected(CfgParse *pP, CfgScan *s, const char *zWhat,
                        const char *zCol) {
  vec0CfgError(pP, "expected %s on column \"%w\", found %z", zWhat, zCol,
           vec0CfgTokenShow(s));
}

/* Fails unless the argument ends here. */
static int expectEnd(CfgParse *pP, CfgScan *s, const char *zCol) {
  if (vec0CfgPeek(s) != 0) {
    vec0CfgError(pP, "unexpected %z on column \"%w\"", vec0CfgTokenShow(s), zCol);
  }
  return pP->rc;
}

/* ------------------------------------------------------- column kinds */

/* Registers column zName (owned by the config from here on). */
static int addColumn(CfgParse *pP, char *zName, Vec0ColKind eKind,
                     Vec0ValType eType, int *piCol) {
  static const char *const azHidden[] = {"distance", "k", "ef"};
  Vec0Config *p = pP->p;
  int i;
  int iCol = p->nCol;
  *piCol = -1;
  if (iCol >= VEC0_MAX_COLUMNS) { /* unreachable: each kind is capped */
    sqlite3_free(zName);
    vec0CfgError(pP, "too many columns");
    return pP->rc;
  }
  p->aCol[iCol].zName = zName;
  p->aCol[iCol].eKind = eKind;
  p->aCol[iCol].eType = eType;
  p->aCol[iCol].iSub = 0;
  p->nCol++;

  for (i = 0; i < (int)(sizeof(azHidden) / sizeof(azHidden[0])); i++) {
    if (sqlite3_stricmp(zName, azHidden[i]) == 0) {
      vec0CfgError(pP, "column name \"%w\" is reserved for a hidden column",
               zName);
      return pP->rc;
    }
  }
  if (sqlite3_stricmp(zName, pP->zTable) == 0) {
    vec0CfgError(pP,
             "column name \"%w\" is the table name, reserved for a hidden "
             "column",
             zName);
    return pP->rc;
  }
  if ((sqlite3_stricmp(zName, "rowid") == 0 ||
       sqlite3_stricmp(zName, "oid") == 0 ||
       sqlite3_stricmp(zName, "_rowid_") == 0) &&
      !(eKind == VEC0_COL_PK && eType == VEC0_VAL_INTEGER)) {
    vec0CfgError(pP,
             "column name \"%w\" is reserved (allowed only as an integer "
             "primary key)",
             zName);
    return pP->rc;
  }
  for (i = 0; i < iCol; i++) {
    if (sqlite3_stricmp(p->aCol[i].zName, zName) == 0) {
      vec0CfgError(pP, "duplicate column name \"%w\"", zName);
      return pP->rc;
    }
  }

  switch (eKind) {
  case VEC0_COL_PK:
    if (p->ePk != VEC0_PK_ROWID) {
      vec0CfgError(pP, "more than one primary key (\"%w\" and \"%w\")",
               p->zPkName, zName);
      return pP->rc;
    }
    p->ePk = eType == VEC0_VAL_TEXT ? VEC0_PK_TEXT : VEC0_PK_INTEGER;
    p->zPkName = sqlite3_mprintf("%s", zName);
    if (p->zPkName == 0) pP->rc = SQLITE_NOMEM;
    break;
  case VEC0_COL_VECTOR:
    if (p->nVec >= VEC0_MAX_VECTOR_COLUMNS) {
      vec0CfgError(pP, "column \"%w\" exceeds the limit of %d vector columns",
               zName, VEC0_MAX_VECTOR_COLUMNS);
      return pP->rc;
    }
    p->aCol[iCol].iSub = p->nVec;
    p->aVecCol[p->nVec++] = iCol;
    break;
  case VEC0_COL_PARTITION:
    if (p->nPart >= VEC0_MAX_PARTITION_COLUMNS) {
      vec0CfgError(pP,
               "column \"%w\" exceeds the limit of %d partition key columns",
               zName, VEC0_MAX_PARTITION_COLUMNS);
      return pP->rc;
    }
    p->aCol[iCol].iSub = p->nPart;
    p->aPartCol[p->nPart++] = iCol;
    break;
  case VEC0_COL_METADATA:
    if (p->nMeta >= VEC0_MAX_METADATA_COLUMNS) {
      vec0CfgError(pP, "column \"%w\" exceeds the limit of %d metadata columns",
               zName, VEC0_MAX_METADATA_COLUMNS);
      return pP->rc;
    }
    p->aCol[iCol].iSub = p->nMeta;
    p->aMetaCol[p->nMeta++] = iCol;
    break;
  case VEC0_COL_AUX:
    if (p->nAux >= VEC0_MAX_AUX_COLUMNS) {
      vec0CfgError(pP, "column \"%w\" exceeds the limit of %d auxiliary columns",
               zName, VEC0_MAX_AUX_COLUMNS);
      return pP->rc;
    }
    p->aCol[iCol].iSub = p->nAux;
    p->aAuxCol[p->nAux++] = iCol;
    break;
  }
  *piCol = iCol;
  return pP->rc;
}

/* The value types of metadata (and, for integer/text, key) columns. */
static Vec0ValType scalarType(const char *z, int n) {
  static const struct {
    const char *zName;
    Vec0ValType eType;
  } aType[] = {
      {"integer", VEC0_VAL_INTEGER}, {"int", VEC0_VAL_INTEGER},
      {"int64", VEC0_VAL_INTEGER},   {"integer64", VEC0_VAL_INTEGER},
      {"float", VEC0_VAL_FLOAT},     {"double", VEC0_VAL_FLOAT},
      {"float64", VEC0_VAL_FLOAT},   {"f64", VEC0_VAL_FLOAT},
      {"text", VEC0_VAL_TEXT},       {"boolean", VEC0_VAL_BOOLEAN},
      {"bool", VEC0_VAL_BOOLEAN},
  };
  int i;
  for (i = 0; i < (int)(sizeof(aType) / sizeof(aType[0])); i++) {
    if (vec0CfgWordIs(z, n, aType[i].zName)) return aType[i].eType;
  }
  return 0;
}

/* Each element type's own name, and sqlite-vec's other spellings. */
static Vec0ElemType vectorType(const char *z, int n) {
  const Vec0ElemDesc *d;
  int i;
  for (i = 0; (d = vec0ElemAt(i)) != 0; i++) {
    if (vec0CfgWordIs(z, n, d->zName)) return d->eType;
  }
  if (vec0CfgWordIs(z, n, "float") || vec0CfgWordIs(z, n, "f32")) return VEC0_ELEM_F32;
  if (vec0CfgWordIs(z, n, "i8")) return VEC0_ELEM_I8;
  return 0;
}

/* Case-insensitive substring test, for affinity rules. */
static int hasText(const char *z, int n, const char *zSub) {
  int nSub = (int)strlen(zSub);
  int i;
  for (i = 0; i + nSub <= n; i++) {
    if (sqlite3_strnicmp(&z[i], zSub, nSub) == 0) return 1;
  }
  return 0;
}

/* SQLite's affinity rules, applied to the text of an auxiliary type. */
static Vec0ValType auxType(const char *z, int n) {
  if (n == 0) return VEC0_VAL_ANY;
  if (hasText(z, n, "int")) return VEC0_VAL_INTEGER;
  if (hasText(z, n, "char") || hasText(z, n, "clob") || hasText(z, n, "text")) {
    return VEC0_VAL_TEXT;
  }
  if (hasText(z, n, "blob")) return VEC0_VAL_ANY;
  if (hasText(z, n, "real") || hasText(z, n, "floa") || hasText(z, n, "doub")) {
    return VEC0_VAL_FLOAT;
  }
  return VEC0_VAL_ANY;
}

/*
** Words that end a type name in SQLite (column constraints): auxiliary
** columns take none, so these are reported instead of read as the type.
*/
static int isConstraintWord(const char *z, int n) {
  static const char *const azWord[] = {
      "not",     "null",       "primary",    "unique",    "check",
      "default", "collate",    "references", "constraint", "generated",
      "as",      "autoincrement", "hidden",  "key",       "partition"};
  int i;
  for (i = 0; i < (int)(sizeof(azWord) / sizeof(azWord[0])); i++) {
    if (vec0CfgWordIs(z, n, azWord[i])) return 1;
  }
  return 0;
}

/* "+name [typename]" */
static void parseAux(CfgParse *pP, CfgScan *s, int iArg) {
  char *zName = 0;
  int iStart, iEnd, iCol;
  const char *z;
  int n;
  s->i++; /* the '+' */
  if (readName(pP, s, iArg, &zName)) return;
  skipSpace(s);
  iStart = iEnd = s->i;
  while (vec0CfgReadWord(s, &z, &n)) {
    if (isConstraintWord(z, n)) {
      s->i = iEnd;
      break;
    }
    iEnd = s->i;
  }
  if (iEnd > iStart && vec0CfgEat(s, '(')) {
    int nNum = 0;
    for (;;) {
      sqlite3_int64 v;
      if (!vec0CfgEat(s, '+')) vec0CfgEat(s, '-');
      if (!vec0CfgReadInt(s, &v, &z, &n)) {
        vec0CfgExpected(pP, s, "a number in the type", zName);
        break;
      }
      nNum++;
      if (nNum < 2 && vec0CfgEat(s, ',')) continue;
      if (!vec0CfgEat(s, ')')) vec0CfgExpected(pP, s, "\")\" after the type", zName);
      break;
    }
    iEnd = s->i;
  }
  if (pP->rc == SQLITE_OK) expectEnd(pP, s, zName);
  if (pP->rc != SQLITE_OK) {
    sqlite3_free(zName);
    return;
  }
  addColumn(pP, zName, VEC0_COL_AUX, auxType(&s->z[iStart], iEnd - iStart),
            &iCol);
}

/* The parameter list of hnsw(...), after the '('. */
/* "name vectype[N] vecopt*", the cursor just after vectype. */
static void parseVector(CfgParse *pP, CfgScan *s, char *zName,
                        Vec0ElemType eType, const char *zType, int nType) {
  Vec0Config *p = pP->p;
  Vec0VectorCol vec;
  const char *z;
  int n, iCol;
  sqlite3_int64 v;
  int bMetric = 0, bIndex = 0;

  memset(&vec, 0, sizeof(vec));
  vec.eType = eType;
  vec.eMetric = eType == VEC0_ELEM_BIT ? VEC0_METRIC_HAMMING : VEC0_METRIC_L2;
  vec.eIndex = eType == VEC0_ELEM_BIT ? VEC0_INDEX_FLAT : VEC0_INDEX_HNSW;
  vec.m = VEC0_HNSW_DEFAULT_M;
  vec.efConstruction = VEC0_HNSW_DEFAULT_EF_CONSTRUCTION;
  vec.efSearch = VEC0_HNSW_DEFAULT_EF_SEARCH;

  if (!vec0CfgEat(s, '[')) {
    char *zWhat = sqlite3_mprintf("\"[\" after \"%.*w\"", nType, zType);
    if (zWhat == 0) {
      pP->rc = SQLITE_NOMEM;
    } else {
      vec0CfgExpected(pP, s, zWhat, zName);
      sqlite3_free(zWhat);
    }
    goto out;
  }
  if (!vec0CfgReadInt(s, &v, &z, &n)) {
    vec0CfgExpected(pP, s, "a dimension", zName);
    goto out;
  }
  if (v < 1 || v > VEC0_MAX_DIMS) {
    vec0CfgError(pP, "dimension %.*s of column \"%w\" out of range 1..%d", n, z,
             zName, VEC0_MAX_DIMS);
    goto out;
  }
  if (eType == VEC0_ELEM_BIT && (v % 8) != 0) {
    vec0CfgError(pP, "dimension %d of bit column \"%w\" is not a multiple of 8",
             (int)v, zName);
    goto out;
  }
  vec.nDim = (int)v;
  if (!vec0CfgEat(s, ']')) {
    vec0CfgExpected(pP, s, "\"]\"", zName);
    goto out;
  }

  while (pP->rc == SQLITE_OK && vec0CfgPeek(s) != 0) {
    if (!vec0CfgReadWord(s, &z, &n)) {
      vec0CfgExpected(pP, s, "an option", zName);
    } else if (vec0CfgWordIs(z, n, "distance_metric")) {
      if (bMetric++) {
        vec0CfgError(pP, "duplicate option \"distance_metric\" on column \"%w\"",
                 zName);
      } else if (!vec0CfgEat(s, '=')) {
        vec0CfgExpected(pP, s, "\"=\" after distance_metric", zName);
      } else if (!vec0CfgReadWord(s, &z, &n)) {
        vec0CfgExpected(pP, s, "a distance_metric value", zName);
      } else {
        Vec0Metric eMetric = 0;
        if (vec0CfgWordIs(z, n, "l2")) eMetric = VEC0_METRIC_L2;
        if (vec0CfgWordIs(z, n, "cosine")) eMetric = VEC0_METRIC_COSINE;
        if (vec0CfgWordIs(z, n, "l1")) eMetric = VEC0_METRIC_L1;
        if (vec0CfgWordIs(z, n, "dot")) eMetric = VEC0_METRIC_DOT;
        if (vec0CfgWordIs(z, n, "hamming")) eMetric = VEC0_METRIC_HAMMING;
        if (eMetric == 0) {
          vec0CfgError(pP, "unknown distance_metric \"%.*w\" on column \"%w\"", n,
                   z, zName);
        } else if (eType == VEC0_ELEM_BIT && eMetric != VEC0_METRIC_HAMMING) {
          vec0CfgError(pP,
                   "distance_metric \"%.*w\" of bit column \"%w\" is not "
                   "supported (only hamming)",
                   n, z, zName);
        } else if (eType != VEC0_ELEM_BIT && eMetric == VEC0_METRIC_HAMMING) {
          vec0CfgError(pP,
                   "distance_metric \"hamming\" of %s column \"%w\" needs a "
                   "bit vector",
                   vec0ElemName(eType), zName);
        }
        vec.eMetric = eMetric;
      }
    } else if (vec0CfgWordIs(z, n, "indexed")) {
      if (bIndex++) {
        vec0CfgError(pP, "duplicate option \"indexed by\" on column \"%w\"",
                 zName);
      } else if (!vec0CfgEatWord(s, "by")) {
        vec0CfgExpected(pP, s, "\"by\" after indexed", zName);
      } else {
        vec0CfgIndex(pP, s, zName, &vec);
      }
    } else {
      vec0CfgError(pP, "unknown option \"%.*w\" on column \"%w\"", n, z, zName);
    }
  }

  if (pP->rc == SQLITE_OK) vec0CfgIndexCheck(pP, &vec, zName);

out:
  if (pP->rc != SQLITE_OK) {
    sqlite3_free(zName);
    return;
  }
  if (addColumn(pP, zName, VEC0_COL_VECTOR, 0, &iCol) == SQLITE_OK) {
    p->aVec[p->aCol[iCol].iSub] = vec;
  }
}

/* "chunk_size = N": sqlite-vec's only table option; its storage needs none. */
static void parseOption(CfgParse *pP, CfgScan *s, const char *zKey, int nKey) {
  sqlite3_int64 v;
  const char *z;
  int n;
  if (!vec0CfgWordIs(zKey, nKey, "chunk_size")) {
    vec0CfgError(pP, "unknown table option \"%.*w\"", nKey, zKey);
    return;
  }
  if (pP->bChunkSize++) {
    vec0CfgError(pP, "duplicate table option \"chunk_size\"");
    return;
  }
  if (!vec0CfgReadInt(s, &v, &z, &n)) {
    vec0CfgError(pP, "expected an integer value for chunk_size, found %z",
             vec0CfgTokenShow(s));
    return;
  }
  if (v < 8 || v > CFG_MAX_CHUNK_SIZE || (v % 8) != 0) {
    vec0CfgError(pP, "chunk_size %.*s must be a positive multiple of 8", n, z);
    return;
  }
  if (vec0CfgPeek(s) != 0) {
    vec0CfgError(pP, "unexpected %z after table option chunk_size",
             vec0CfgTokenShow(s));
  }
}

/* One module argument; iArg counts from 1. */
static void parseArg(CfgParse *pP, int iArg, const char *zArg) {
  CfgScan s;
  char *zName = 0;
  const char *z;
  int n, iCol, bPk;
  Vec0ValType eVal;
  Vec0ElemType eElem;

  s.z = zArg ? zArg : "";
  s.i = 0;
  switch (vec0CfgPeek(&s)) {
  case 0:
    vec0CfgError(pP, "argument %d is empty", iArg);
    return;
  case '+':
    parseAux(pP, &s, iArg);
    return;
  }
  if (vec0CfgIsIdStart((unsigned char)s.z[s.i])) {
    CfgScan save = s;
    vec0CfgReadWord(&s, &z, &n);
    if (vec0CfgEat(&s, '=')) {
      parseOption(pP, &s, z, n);
      return;
    }
    s = save;
  }

  if (readName(pP, &s, iArg, &zName)) return;
  if (!vec0CfgReadWord(&s, &z, &n)) {
    vec0CfgExpected(pP, &s, "a type", zName);
    goto error;
  }
  eElem = vectorType(z, n);
  eVal = scalarType(z, n);
  if (eElem && (vec0CfgPeek(&s) == '[' || eVal == 0)) {
    parseVector(pP, &s, zName, eElem, z, n);
    return;
  }
  if (eVal == 0) {
    vec0CfgError(pP, "unknown type \"%.*w\" of column \"%w\"", n, z, zName);
    goto error;
  }

  bPk = vec0CfgEatWord(&s, "primary");
  if (bPk || vec0CfgEatWord(&s, "partition")) {
    const char *zKind = bPk ? "primary key" : "partition key";
    if (!vec0CfgEatWord(&s, "key")) {
      vec0CfgExpected(pP, &s, bPk ? "\"key\" after primary" : "\"key\" after partition",
                  zName);
      goto error;
    }
    if (eVal != VEC0_VAL_INTEGER && eVal != VEC0_VAL_TEXT) {
      vec0CfgError(pP, "%s column \"%w\" must be integer or text", zKind, zName);
      goto error;
    }
    if (expectEnd(pP, &s, zName)) goto error;
    addColumn(pP, zName, bPk ? VEC0_COL_PK : VEC0_COL_PARTITION, eVal, &iCol);
    return;
  }
  if (expectEnd(pP, &s, zName)) goto error;
  addColumn(pP, zName, VEC0_COL_METADATA, eVal, &iCol);
  return;

error:
  sqlite3_free(zName);
}

/* The index of the column named zName, or -1. */
static int columnNamed(const Vec0Config *p, const char *zName) {
  for (int i = 0; i < p->nCol; i++) {
    if (sqlite3_stricmp(p->aCol[i].zName, zName) == 0) return i;
  }
  return -1;
}

/* The hidden rescore and recall, renamed "_rescore" and "_recall" when a
** column or the table takes their name (vec0ConfigDeclare), need that name
** free. */
static void renamedHiddenFree(CfgParse *pP) {
  static const char *const az[] = {"rescore", "recall"};
  for (int i = 0; i < 2 && pP->rc == SQLITE_OK; i++) {
    char zAlt[16];
    sqlite3_snprintf(sizeof(zAlt), zAlt, "_%s", az[i]);
    if ((columnNamed(pP->p, az[i]) >= 0 || sqlite3_stricmp(pP->zTable, az[i]) == 0) &&
        (columnNamed(pP->p, zAlt) >= 0 || sqlite3_stricmp(pP->zTable, zAlt) == 0)) {
      vec0CfgError(pP,
                   "the name \"%s\" is taken by the hidden column %s, renamed so because a "
                   "column or the table is named \"%s\"",
                   zAlt, az[i], az[i]);
    }
  }
}

/* ----------------------------------------------------------------- API */

int vec0ConfigParse(Vec0Config *p, const char *zTable, int nArg,
                    const char *const *azArg, char **pzErr) {
  static const char *const azHidden[] = {"distance", "k", "ef"};
  CfgParse parse;
  int i;

  memset(p, 0, sizeof(*p));
  memset(&parse, 0, sizeof(parse));
  parse.p = p;
  parse.zTable = zTable ? zTable : "";
  parse.pzErr = pzErr;
  parse.rc = SQLITE_OK;

  p->zTable = sqlite3_mprintf("%s", parse.zTable);
  if (p->zTable == 0) parse.rc = SQLITE_NOMEM;
  for (i = 0; i < (int)(sizeof(azHidden) / sizeof(azHidden[0])) && parse.rc == SQLITE_OK; i++) {
    if (sqlite3_stricmp(parse.zTable, azHidden[i]) == 0) {
      vec0CfgError(&parse, "the table name collides with hidden column \"%s\"",
               azHidden[i]);
    }
  }
  for (i = 0; i < nArg && parse.rc == SQLITE_OK; i++) {
    parseArg(&parse, i + 1, azArg[i]);
  }
  if (parse.rc == SQLITE_OK && p->nVec == 0) {
    vec0CfgError(&parse, "at least one vector column is required");
  }
  if (parse.rc == SQLITE_OK) renamedHiddenFree(&parse);
  if (parse.rc != SQLITE_OK) vec0ConfigClear(p);
  return parse.rc;
}

void vec0ConfigClear(Vec0Config *p) {
  int i;
  for (i = 0; i < p->nCol; i++) sqlite3_free(p->aCol[i].zName);
  sqlite3_free(p->zPkName);
  sqlite3_free(p->zTable);
  memset(p, 0, sizeof(*p));
}

/* Adds d to every column index at or above iFrom (index arrays of each kind). */
static void shiftIndexes(Vec0Config *p, int iFrom, int iTo, int d) {
  int *aa[4];
  int an[4];
  aa[0] = p->aVecCol, an[0] = p->nVec;
  aa[1] = p->aPartCol, an[1] = p->nPart;
  aa[2] = p->aMetaCol, an[2] = p->nMeta;
  aa[3] = p->aAuxCol, an[3] = p->nAux;
  for (int k = 0; k < 4; k++) {
    for (int i = 0; i < an[k]; i++) {
      if (aa[k][i] >= iFrom && aa[k][i] < iTo) aa[k][i] += d;
    }
  }
}

int vec0ConfigKeyFirst(Vec0Config *p) {
  Vec0Column key;
  int iPk = -1;
  for (int i = 0; i < p->nCol; i++) {
    if (p->aCol[i].eKind == VEC0_COL_PK) iPk = i;
  }
  if (iPk == 0) return SQLITE_OK;
  if (iPk < 0) {
    /* sqlite-vec's implicit key: a column named rowid, which SQL then
    ** means by that name (oid and _rowid_ still name the rowid itself). */
    if (p->nCol >= VEC0_MAX_COLUMNS) return SQLITE_INTERNAL; /* no room */
    memset(&key, 0, sizeof(key));
    key.zName = sqlite3_mprintf("rowid");
    if (key.zName == 0) return SQLITE_NOMEM;
    key.eKind = VEC0_COL_PK;
    key.eType = VEC0_VAL_INTEGER;
    iPk = p->nCol++;
  } else {
    key = p->aCol[iPk];
  }
  memmove(&p->aCol[1], &p->aCol[0], sizeof(Vec0Column) * (size_t)iPk);
  p->aCol[0] = key;
  shiftIndexes(p, 0, iPk, 1);
  return SQLITE_OK;
}

/*
** The declared type of column c, so that SQLite's own comparisons (a read
** without MATCH, a DELETE's WHERE, a filter it checks after the search)
** apply the column's affinity as in an ordinary table: without one,
** `id <= '1'` was true of every integer key, and DELETE removed them all.
** An integer key is INT: "INTEGER PRIMARY KEY" would make it the rowid's
** alias in SQLite's schema.  Values written are not changed by it (SQLite
** applies no affinity to a virtual table's INSERT).
*/
static const char *declType(const Vec0Column *c) {
  if (c->eKind == VEC0_COL_VECTOR) return "";
  if (c->eKind == VEC0_COL_PK && c->eType == VEC0_VAL_INTEGER) return " INT";
  switch (c->eType) {
    case VEC0_VAL_INTEGER:
    case VEC0_VAL_BOOLEAN: return " INTEGER";
    case VEC0_VAL_FLOAT: return " REAL";
    case VEC0_VAL_TEXT: return " TEXT";
    default: return "";
  }
}

char *vec0ConfigDeclare(const Vec0Config *p) {
  const char *azHidden[VEC0_N_HIDDEN];
  sqlite3_str *pStr = sqlite3_str_new(0);
  int i;
  azHidden[VEC0_HIDDEN_DISTANCE] = "distance";
  azHidden[VEC0_HIDDEN_K] = "k";
  azHidden[VEC0_HIDDEN_EF] = "ef";
  azHidden[VEC0_HIDDEN_RESCORE] = "rescore";
  azHidden[VEC0_HIDDEN_TABLE] = p->zTable ? p->zTable : "";
  /*
  ** rescore and recall came after the names users could take (sqlite-vec's
  ** tables may have columns so named): they give way to a column, or the
  ** table, of their name, as "_rescore" and "_recall".
  */
  azHidden[VEC0_HIDDEN_RECALL] = "recall";
  for (i = 0; i < p->nCol; i++) {
    if (sqlite3_stricmp(p->aCol[i].zName, "rescore") == 0) {
      azHidden[VEC0_HIDDEN_RESCORE] = "_rescore";
    }
    if (sqlite3_stricmp(p->aCol[i].zName, "recall") == 0) azHidden[VEC0_HIDDEN_RECALL] = "_recall";
  }
  if (sqlite3_stricmp(azHidden[VEC0_HIDDEN_TABLE], "rescore") == 0) {
    azHidden[VEC0_HIDDEN_RESCORE] = "_rescore";
  }
  if (sqlite3_stricmp(azHidden[VEC0_HIDDEN_TABLE], "recall") == 0) {
    azHidden[VEC0_HIDDEN_RECALL] = "_recall";
  }
  sqlite3_str_appendall(pStr, "CREATE TABLE x(");
  for (i = 0; i < p->nCol; i++) {
    /* A declared key shows as the primary key (pragma table_info), as in
    ** sqlite-vec; the rowid stays usable, so the table is not WITHOUT
    ** ROWID. */
    int bPk = p->aCol[i].eKind == VEC0_COL_PK && p->ePk != VEC0_PK_ROWID;
    sqlite3_str_appendf(pStr, "\"%w\"%s%s, ", p->aCol[i].zName, declType(&p->aCol[i]),
                        bPk ? " PRIMARY KEY" : "");
  }
  for (i = 0; i < VEC0_N_HIDDEN; i++) {
    sqlite3_str_appendf(pStr, "%s\"%w\" HIDDEN", i ? ", " : "", azHidden[i]);
  }
  sqlite3_str_appendall(pStr, ")");
  return sqlite3_str_finish(pStr);
}
