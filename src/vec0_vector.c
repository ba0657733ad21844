/*
** vec0_vector.c: vector element types and the one strict parser that turns a
** sqlite3_value (JSON text such as '[1,2.5]', or a little-endian BLOB) into a
** Vec0Vector.  Every SQL function and the vec0 table read vectors through
** vec0VectorFromValue(), so "what is a valid vector" is decided here and only
** here.  Calls only the SQLite value/memory API and the C library.
**
** The parser refuses rather than guesses: malformed JSON, trailing garbage,
** NaN or infinity, an empty vector, more than VEC0_MAX_DIMS dimensions, a
** BLOB that is not a whole number of elements, and out-of-range int8 values
** are errors whose message starts with "vec0: " and names the argument.
** The scalar functions lift two of those limits through vec0VectorParse():
** the dimension cap (tables keep it) and, for functions that only show a
** vector, the finiteness of float32 BLOB elements.  What an element type
** is (its size, name and subtype) the descriptors of vec0_elem.c say.
*/
#include "vec0Int.h"

#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void vec0VectorClear(Vec0Vector *p) {
  if (p == 0) return;
  sqlite3_free(p->pFree);
  memset(p, 0, sizeof(*p));
}

/* The element type a subtype announces, 0 for none of ours. */
static int typeOfSubtype(unsigned int st) {
  const Vec0ElemDesc *d = vec0ElemBySubtype(st);
  return d ? (int)d->eType : 0;
}

static const char *withArticle(int eType) {
  return vec0ElemDesc((Vec0ElemType)eType)->zArticle;
}

static const char *sqlTypeName(int eType) {
  switch (eType) {
    case SQLITE_INTEGER: return "an INTEGER";
    case SQLITE_FLOAT: return "a REAL";
    case SQLITE_NULL: return "NULL";
    case SQLITE_TEXT: return "TEXT";
  }
  return "a BLOB";
}

static int isBigEndian(void) {
  const uint16_t one = 1;
  unsigned char c;
  memcpy(&c, &one, 1);
  return c == 0;
}

/*
** Whether none of the n floats at a (native order, 4-aligned) is NaN or
** infinite, i.e. has every exponent bit set: (bits & exponent) + one
** exponent step carries into the sign bit exactly then.  A KNN query checks
** its whole vector this way before the search: 16 at a time, a cache line
** per step, so the first touch of a vector not yet in cache reads its lines
** side by side (a float-by-float loop waited for them one after the other:
** 6 % of a short query's time).
*/
#if defined(__GNUC__) || defined(__clang__)
typedef uint32_t Vec0U32x4 __attribute__((vector_size(16)));
#endif
static int allFinite(const unsigned char *a, int n) {
  uint32_t m = 0;
  int i = 0;
#if defined(__GNUC__) || defined(__clang__)
  Vec0U32x4 m0 = {0, 0, 0, 0}, m1 = m0, m2 = m0, m3 = m0;
  for (; i + 16 <= n; i += 16) {
    Vec0U32x4 x0, x1, x2, x3;
    memcpy(&x0, a + 4 * i, 16);
    memcpy(&x1, a + 4 * i + 16, 16);
    memcpy(&x2, a + 4 * i + 32, 16);
    memcpy(&x3, a + 4 * i + 48, 16);
    m0 |= (x0 & 0x7f800000u) + 0x00800000u;
    m1 |= (x1 & 0x7f800000u) + 0x00800000u;
    m2 |= (x2 & 0x7f800000u) + 0x00800000u;
    m3 |= (x3 & 0x7f800000u) + 0x00800000u;
  }
  m0 |= m1 | m2 | m3;
  m = m0[0] | m0[1] | m0[2] | m0[3];
#endif
  for (; i < n; i++) {
    uint32_t u;
    memcpy(&u, a + 4 * i, 4);
    m |= (u & 0x7f800000u) + 0x00800000u;
  }
  return (m & 0x80000000u) == 0;
}

/*
** A float32 BLOB.  The bytes are used in place when they are aligned for
** float and the host is little-endian (the usual case: no copy); otherwise
** they are copied, so the kernels may always read aligned native floats.
*/
static int blobF32(const unsigned char *a, int n, int flags,
                   const char *zWhat, Vec0Vector *pOut, char **pzErr) {
  int nDim = n / 4;
  const float *af;
  int i;
  if ((((uintptr_t)a) & 3) != 0 || isBigEndian()) {
    unsigned char *pCopy = sqlite3_malloc64((sqlite3_uint64)n);
    if (pCopy == 0) return SQLITE_NOMEM;
    for (i = 0; i < n; i += 4) {
      int j;
      for (j = 0; j < 4; j++) {
        pCopy[i + j] = isBigEndian() ? a[i + 3 - j] : a[i + j];
      }
    }
    pOut->pFree = pCopy;
    a = pCopy;
  }
  af = (const float *)(const void *)a;
  /* the functions that only show a vector let NaN and Inf through; the
  ** element-by-element loop below only names the first bad one */
  for (i = (flags & VEC0_PARSE_NONFINITE) || allFinite(a, nDim) ? nDim : 0; i < nDim; i++) {
    if (isnan(af[i]) || isinf(af[i])) {
      *pzErr = sqlite3_mprintf("vec0: %s: element %d is %s; vectors must be "
                               "finite", zWhat, i,
                               isnan(af[i]) ? "NaN" : "infinite");
      return SQLITE_ERROR;
    }
  }
  pOut->p = a;
  pOut->nDim = nDim;
  return SQLITE_OK;
}

/*
** The most dimensions a vector may have: VEC0_MAX_DIMS for tables; for the
** scalar functions whatever an int counts (a bit vector stays a whole
** number of bytes), SQLite's length limit and the allocator coming first.
*/
static int maxDims(int flags, int eType) {
  if (!(flags & VEC0_PARSE_ANY_LENGTH)) return VEC0_MAX_DIMS;
  return eType == VEC0_ELEM_BIT ? INT_MAX / 8 * 8 : INT_MAX;
}

/*
** A BLOB is a whole number of elements, or of bytes for a type packed below
** a byte (bit).  The float32 bytes need the alignment, byte order and
** finiteness of blobF32(); a new type wider than a byte needs the same.
*/
static int fromBlob(sqlite3_value *v, int eType, int flags, const char *zWhat,
                    Vec0Vector *pOut, char **pzErr) {
  const Vec0ElemDesc *d = vec0ElemDesc((Vec0ElemType)eType);
  const unsigned char *a = sqlite3_value_blob(v);
  int n = sqlite3_value_bytes(v);
  size_t elem = d->nBits >= 8 ? (size_t)d->nBits / 8 : 1;
  sqlite3_int64 nDim;
  if (a == 0 && n > 0) return SQLITE_NOMEM;
  if (n == 0) {
    *pzErr = sqlite3_mprintf("vec0: %s: empty vector (a BLOB of 0 bytes)",
                             zWhat);
    return SQLITE_ERROR;
  }
  if (n % elem != 0) {
    *pzErr = sqlite3_mprintf("vec0: %s: the length of a %s vector BLOB must "
                             "be a multiple of %d (length %d)",
                             zWhat, d->zName, (int)elem, n);
    return SQLITE_ERROR;
  }
  nDim = (sqlite3_int64)n * 8 / d->nBits;
  if (nDim > maxDims(flags, eType)) {
    *pzErr = sqlite3_mprintf("vec0: %s: %lld dimensions is more than the "
                             "maximum of %d", zWhat, nDim,
                             maxDims(flags, eType));
    return SQLITE_ERROR;
  }
  pOut->eType = (Vec0ElemType)eType;
  if (eType == VEC0_ELEM_F32) return blobF32(a, n, flags, zWhat, pOut, pzErr);
  pOut->p = a;
  pOut->nDim = (int)nDim;
  return SQLITE_OK;
}

static int isJsonSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
** Scan a number at z[i..].  Returns the index just past it, or -1 when the
** text there is not a number.  *pbInt is set when it has neither a decimal
** point nor an exponent.  The grammar is JSON's widened by the spellings
** whose meaning nobody can doubt and that sqlite-vec accepts: a leading '+',
** and a decimal point with digits on one side only (".5", "1.", "-.5").
** Leading zeros ("01", octal in some languages) stay refused.  Everything
** accepted is a subset of what strtof() reads, so strtof() never reads past
** what was checked here (no hex, no "inf").
*/
static int scanNumber(const char *z, int i, int *pbInt) {
  int bDigits = 0; /* a digit before or after the point */
  *pbInt = 1;
  if (z[i] == '-' || z[i] == '+') i++;
  if (z[i] == '0') {
    i++;
    bDigits = 1;
  } else if (z[i] >= '1' && z[i] <= '9') {
    while (z[i] >= '0' && z[i] <= '9') i++;
    bDigits = 1;
  }
  if (z[i] == '.') {
    *pbInt = 0;
    i++;
    if (z[i] >= '0' && z[i] <= '9') bDigits = 1;
    while (z[i] >= '0' && z[i] <= '9') i++;
  }
  if (!bDigits) return -1;
  if (z[i] == 'e' || z[i] == 'E') {
    *pbInt = 0;
    i++;
    if (z[i] == '+' || z[i] == '-') i++;
    if (!(z[i] >= '0' && z[i] <= '9')) return -1;
    while (z[i] >= '0' && z[i] <= '9') i++;
  }
  return i;
}

/*
** strtof() of a checked JSON number z[0..n).  strtof() follows LC_NUMERIC, so
** if the host program changed the locale and '.' stopped the conversion, the
** number is converted again with the locale's decimal point.
*/
static int toFloat(const char *z, int n, float *pf) {
  char *zEnd = 0;
  char buf[400];
  const char *zDot;
  size_t nDot;
  int i, j;
  *pf = strtof(z, &zEnd);
  if (zEnd == z + n) return 1;
  zDot = localeconv()->decimal_point;
  nDot = strlen(zDot);
  if ((size_t)n + nDot >= sizeof(buf)) return 0;
  for (i = j = 0; i < n; i++) {
    if (z[i] == '.') {
      memcpy(&buf[j], zDot, nDot);
      j += (int)nDot;
    } else {
      buf[j++] = z[i];
    }
  }
  buf[j] = 0;
  *pf = strtof(buf, &zEnd);
  return zEnd == buf + j;
}

static char *jsonError(const char *zWhat, const char *z, int i,
                       const char *zExpect) {
  if (z[i] == 0) {
    return sqlite3_mprintf("vec0: %s: malformed JSON vector: %s at the end "
                           "of the text", zWhat, zExpect);
  }
  if (z[i] == 'N' || z[i] == 'n' || z[i] == 'I' || z[i] == 'i' ||
      ((z[i] == '-' || z[i] == '+') && (z[i + 1] == 'I' || z[i + 1] == 'i'))) {
    return sqlite3_mprintf("vec0: %s: NaN and infinity are not valid vector "
                           "elements (character %d)", zWhat, i + 1);
  }
  return sqlite3_mprintf("vec0: %s: malformed JSON vector: %s at character "
                         "%d", zWhat, zExpect, i + 1);
}

/*
** Element nDim of a JSON vector, the n characters at z (a number, bInt if
** written as an integer), stored through the type's xSet.  0 and *pzErr on
** a value the type cannot hold.
*/
static int jsonElement(const Vec0ElemDesc *d, int bInt, const char *z, int n, int nDim,
                       const char *zWhat, unsigned char *aOut, char **pzErr) {
  if (!d->bInteger) {
    float f = 0;
    if (!toFloat(z, n, &f)) {
      *pzErr = sqlite3_mprintf("vec0: %s: cannot convert element %d ('%.*s') to %s", zWhat,
                               nDim, n, z, d->zName);
      return 0;
    }
    if (isinf(f)) {
      *pzErr = sqlite3_mprintf("vec0: %s: element %d (%.*s) is out of the %s range", zWhat,
                               nDim, n, z, d->zName);
      return 0;
    }
    d->xSet(aOut, nDim, f);
  } else {
    /* Integers only; digits past the fourth cannot be in range anyway. */
    int bNeg = (z[0] == '-');
    int j = (z[0] == '-' || z[0] == '+');
    int val = 0;
    if (!bInt) {
      *pzErr = sqlite3_mprintf("vec0: %s: int8 element %d (%.*s) is not an integer", zWhat,
                               nDim, n, z);
      return 0;
    }
    for (; j < n && val <= 1000; j++) val = val * 10 + (z[j] - '0');
    if (bNeg) val = -val;
    if (j < n || val < -128 || val > 127) {
      *pzErr = sqlite3_mprintf("vec0: %s: int8 element %d (%.*s) is outside -128..127",
                               zWhat, nDim, n, z);
      return 0;
    }
    d->xSet(aOut, nDim, val);
  }
  return 1;
}

/*
** A JSON array of numbers: float32, or int8 (integers in -128..127 only).
** Elements are stored through the type's xSet; the integer branch knows
** int8's range, the one integer type JSON may spell (bit vectors are
** refused before: their text would be a list of 0 and 1, not bytes).
*/
static int fromJson(sqlite3_value *v, int eType, int flags, const char *zWhat,
                    Vec0Vector *pOut, char **pzErr) {
  const Vec0ElemDesc *d = vec0ElemDesc((Vec0ElemType)eType);
  const char *z = (const char *)sqlite3_value_text(v);
  int n = sqlite3_value_bytes(v);
  int nLimit = maxDims(flags, eType);
  sqlite3_int64 nMax;
  const char *zComma;
  unsigned char *aOut = 0;
  int nDim = 0;
  int i = 0;
  if (z == 0) return SQLITE_NOMEM;
  /* A NUL inside the text ends the scan early: treat it as garbage.  The
  ** usual cause is a binary vector bound as text (PHP's and Perl's default
  ** for a string), so the message says what to do instead. */
  if ((int)strlen(z) != n) {
    *pzErr = sqlite3_mprintf("vec0: %s: malformed JSON vector: NUL character "
                             "in the text; bind a binary vector as a BLOB",
                             zWhat);
    return SQLITE_ERROR;
  }
  while (isJsonSpace(z[i])) i++;
  if (z[i] == 0) {
    *pzErr = sqlite3_mprintf("vec0: %s: empty text, expected a JSON array "
                             "such as '[1,2.5]'", zWhat);
    return SQLITE_ERROR;
  }
  if (z[i] != '[') {
    *pzErr = jsonError(zWhat, z, i, "expected '['");
    return SQLITE_ERROR;
  }
  i++;
  while (isJsonSpace(z[i])) i++;
  if (z[i] == ']') {
    *pzErr = sqlite3_mprintf("vec0: %s: empty vector ('[]')", zWhat);
    return SQLITE_ERROR;
  }
  /* Each element after the first follows a comma, so the commas bound
  ** the size; a long text with long numbers then takes no more memory
  ** than its vector. */
  nMax = 1;
  for (zComma = strchr(&z[i], ','); zComma && nMax < nLimit;
       zComma = strchr(zComma + 1, ',')) {
    nMax++;
  }
  aOut = sqlite3_malloc64(vec0ElemBytes(d->eType, (int)nMax));
  if (aOut == 0) return SQLITE_NOMEM;
  for (;;) {
    int bInt = 0;
    int iEnd;
    while (isJsonSpace(z[i])) i++;
    iEnd = scanNumber(z, i, &bInt);
    if (iEnd < 0) {
      *pzErr = jsonError(zWhat, z, i, "expected a number");
      goto error;
    }
    if (nDim >= nLimit) {
      *pzErr = sqlite3_mprintf("vec0: %s: more than the maximum of %d "
                               "dimensions", zWhat, nLimit);
      goto error;
    }
    if (!jsonElement(d, bInt, &z[i], iEnd - i, nDim, zWhat, aOut, pzErr)) goto error;
    nDim++;
    i = iEnd;
    while (isJsonSpace(z[i])) i++;
    if (z[i] == ']') break;
    if (z[i] != ',') {
      *pzErr = jsonError(zWhat, z, i, "expected ',' or ']'");
      goto error;
    }
    i++;
  }
  i++;
  while (isJsonSpace(z[i])) i++;
  if (z[i] != 0) {
    *pzErr = sqlite3_mprintf("vec0: %s: malformed JSON vector: unexpected "
                             "text after ']' at character %d", zWhat, i + 1);
    goto error;
  }
  pOut->eType = (Vec0ElemType)eType;
  pOut->nDim = nDim;
  pOut->p = aOut;
  pOut->pFree = aOut;
  return SQLITE_OK;

error:
  sqlite3_free(aOut);
  return *pzErr ? SQLITE_ERROR : SQLITE_NOMEM;
}

int vec0VectorFromValue(sqlite3_value *v, int eExpect, const char *zWhat,
                        Vec0Vector *pOut, char **pzErr) {
  return vec0VectorParse(v, eExpect, 0, zWhat, pOut, pzErr);
}

int vec0VectorParse(sqlite3_value *v, int eExpect, int flags,
                    const char *zWhat, Vec0Vector *pOut, char **pzErr) {
  int rc = SQLITE_OK;
  int eVal = sqlite3_value_type(v);
  int eType = eExpect;
  memset(pOut, 0, sizeof(*pOut));
  *pzErr = 0;
  if (zWhat == 0) zWhat = "vector";
  if (eVal == SQLITE_BLOB) {
    int eSub = typeOfSubtype(sqlite3_value_subtype(v));
    if (eExpect == 0) {
      eType = eSub ? eSub : VEC0_ELEM_F32;
    } else if (eSub != 0 && eSub != eExpect) {
      /* Reading the bytes of one type as another is never what was meant. */
      *pzErr = sqlite3_mprintf("vec0: %s: expected %s vector, got %s "
                               "vector", zWhat,
                               withArticle(eExpect), withArticle(eSub));
      return SQLITE_ERROR;
    }
    rc = fromBlob(v, eType, flags, zWhat, pOut, pzErr);
  } else if (eVal == SQLITE_TEXT) {
    if (eType == 0) eType = VEC0_ELEM_F32;
    if (eType == VEC0_ELEM_BIT) {
      *pzErr = sqlite3_mprintf("vec0: %s: a bit vector must be a BLOB, not "
                               "JSON text", zWhat);
      return SQLITE_ERROR;
    }
    rc = fromJson(v, eType, flags, zWhat, pOut, pzErr);
  } else {
    *pzErr = sqlite3_mprintf("vec0: %s: expected a vector (a BLOB or JSON "
                             "text), got %s", zWhat, sqlTypeName(eVal));
    return SQLITE_ERROR;
  }
  if (rc != SQLITE_OK) vec0VectorClear(pOut);
  return rc;
}
