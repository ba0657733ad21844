/*
** vec0_write.c: the rows a vec0 table is given, INSERT, UPDATE and DELETE
** (xUpdate hands them over; commands are in vec0_maint.c).
**
** Each write checks everything it can before it writes anything: types,
** dimensions, conflicts.  Then it writes the row, slot and vector tables at
** once and tells each column's index (vec0_index.h), which may keep its
** changes in memory until the flush at xSync.  A failure after the first
** write is undone in memory by vec0IndexOpEnd(); the tables are SQLite's to
** roll back.  Calls the index interface and the storage layer.
*/
#include "vec0Int.h"

#include <string.h>

/*
** Reads v, the new value of partition or metadata column iCol, into pCell
** as the column's type reads it (a whole REAL or numeric text is an integer,
** as in an INTEGER column) and checks that type.
*/
static int filterCell(Vec0Table *p, int iCol, sqlite3_value *v, Vec0Cell *pCell) {
  static const char *azType[] = {"", "integer", "float", "text", "blob", "NULL"};
  Vec0Column *pCol = &p->cfg.aCol[iCol];
  /* Text columns take text only (a number is refused, not stored as text). */
  int rc = vec0CellSetAffinity(pCell, v,
                               pCol->eType == VEC0_VAL_TEXT ? VEC0_VAL_ANY : pCol->eType);
  int t = pCell->eType, bOk = 0;
  const char *zWant = "";
  if (rc != SQLITE_OK) return rc;
  switch (pCol->eType) {
    case VEC0_VAL_INTEGER:
      bOk = t == SQLITE_INTEGER;
      zWant = "an integer";
      break;
    case VEC0_VAL_FLOAT:
      if (t == SQLITE_INTEGER) {
        pCell->eType = SQLITE_FLOAT; /* a float column stores 2 as 2.0 */
        pCell->r = (double)pCell->i;
        t = SQLITE_FLOAT;
      }
      bOk = t == SQLITE_FLOAT;
      zWant = "a float";
      break;
    case VEC0_VAL_TEXT:
      bOk = t == SQLITE_TEXT;
      zWant = "text";
      break;
    case VEC0_VAL_BOOLEAN:
      bOk = t == SQLITE_INTEGER && (pCell->i == 0 || pCell->i == 1);
      zWant = "a boolean (0 or 1)";
      break;
    default:
      bOk = 1;
  }
  if (t == SQLITE_NULL && pCol->eKind == VEC0_COL_METADATA) bOk = 1;
  if (!bOk) {
    int bNum;
    t = sqlite3_value_type(v);
    bNum = t == SQLITE_FLOAT || t == SQLITE_INTEGER; /* a number is shown, 1.5 or 2 */
    vec0TableError(p, "vec0: table \"%s\": column \"%s\" must be %s, not %s%s%s", p->zName,
                   pCol->zName, zWant, azType[t], bNum ? " " : "",
                   bNum ? (const char *)sqlite3_value_text(v) : "");
    return SQLITE_MISMATCH;
  }
  return SQLITE_OK;
}

/* The column (aCol index) of partition/metadata cell f. */
static int filterColumn(const Vec0Config *c, int f) {
  return f < c->nPart ? c->aPartCol[f] : c->aMetaCol[f - c->nPart];
}

/*
** The partition and metadata cells of a row being written, from aArg (in
** declared order); for an UPDATE, a value SQLite marks unchanged is the
** row's own (slot iSlot, loaded).  aNew has p->nFilt cells, cleared by the
** caller with cellsClear().
*/
static int newCells(Vec0Table *p, sqlite3_value **aArg, int bUpdate, uint32_t iSlot,
                    Vec0Cell *aNew) {
  int rc = SQLITE_OK;
  for (int f = 0; rc == SQLITE_OK && f < p->nFilt; f++) {
    sqlite3_value *v = aArg[filterColumn(&p->cfg, f)];
    if (bUpdate && sqlite3_value_nochange(v)) {
      const Vec0Cell *pOld = vec0StorageSlotCell(p, iSlot, f);
      aNew[f] = *pOld;
      aNew[f].z = 0;
      if (pOld->z) {
        aNew[f].z = sqlite3_malloc64((sqlite3_uint64)pOld->n + 1);
        if (aNew[f].z == 0) {
          aNew[f].eType = SQLITE_NULL;
          rc = SQLITE_NOMEM;
        } else {
          memcpy(aNew[f].z, pOld->z, (size_t)pOld->n + 1);
        }
      }
    } else {
      rc = filterCell(p, filterColumn(&p->cfg, f), v, &aNew[f]);
    }
  }
  return rc;
}

static void cellsClear(Vec0Cell *a, int n) {
  for (int i = 0; i < n; i++) vec0CellClear(&a[i]);
}

/* Parses the vectors of a new row; aVec[i].p is NULL where unchanged. */
static int parseVectors(Vec0Table *p, sqlite3_value **aArg, Vec0Vector *aVec,
                        int bUpdate) {
  Vec0Config *c = &p->cfg;
  for (int i = 0; i < c->nVec; i++) {
    sqlite3_value *v = aArg[c->aVecCol[i]];
    const char *zCol = c->aCol[c->aVecCol[i]].zName;
    int rc;
    if (bUpdate && sqlite3_value_nochange(v)) continue;
    if (sqlite3_value_type(v) == SQLITE_NULL) {
      vec0TableError(p, "vec0: table \"%s\": column \"%s\" needs a vector, not NULL",
                     p->zName, zCol);
      return SQLITE_CONSTRAINT;
    }
    rc = vec0TableVector(p, v, i, 0, &aVec[i]);
    if (rc != SQLITE_OK) return rc;
  }
  return SQLITE_OK;
}

/*
** UPDATE OR REPLACE and the rows it deletes.  SQLite reads every row an
** UPDATE changes, and computes its new values, before the first xUpdate.  So
** when row A takes the key of row B and the REPLACE deletes B, a later
** xUpdate of B brings the values B had.  With a text key B's rowid stays
** free, and an ordinary table skips it: so does vec0.  With an integer key A
** now holds B's rowid; an ordinary table would update A with values computed
** from A, which a virtual table is never given, so vec0 refuses the statement
** rather than make one row of two.
*/
static uint32_t rowidHash(sqlite3_int64 iRowid) {
  return (uint32_t)(((sqlite3_uint64)iRowid * 0x9E3779B97F4A7C15ull) >> 32);
}

/* Whether iRowid is in the set; *pi its slot, or the empty slot for it. */
static int replacedFind(const struct Vec0RowidSet *s, sqlite3_int64 iRowid, uint32_t *pi) {
  uint32_t m = s->nSlot - 1, i = rowidHash(iRowid) & m;
  while (s->aUsed[i] && s->a[i] != iRowid) i = (i + 1) & m;
  *pi = i;
  return s->aUsed[i];
}

static int replacedAdd(Vec0Table *p, sqlite3_int64 iRowid) {
  struct Vec0RowidSet *s = &p->replaced;
  uint32_t i;
  if ((s->nUsed + 1) * 2 > s->nSlot) {
    struct Vec0RowidSet t;
    t.nSlot = s->nSlot ? s->nSlot * 2 : 16;
    t.nUsed = s->nUsed;
    t.a = sqlite3_malloc64((sizeof(sqlite3_int64) + 1) * (sqlite3_uint64)t.nSlot);
    if (t.a == 0) return SQLITE_NOMEM;
    t.aUsed = (unsigned char *)&t.a[t.nSlot];
    memset(t.aUsed, 0, t.nSlot);
    for (uint32_t j = 0; j < s->nSlot; j++) {
      if (!s->aUsed[j]) continue;
      replacedFind(&t, s->a[j], &i);
      t.a[i] = s->a[j];
      t.aUsed[i] = 1;
    }
    sqlite3_free(s->a);
    *s = t;
  }
  if (!replacedFind(s, iRowid, &i)) {
    s->a[i] = iRowid;
    s->aUsed[i] = 1;
    s->nUsed++;
  }
  return SQLITE_OK;
}

void vec0WriteStatementBegin(Vec0Table *p) {
  if (p->replaced.nUsed) {
    memset(p->replaced.aUsed, 0, p->replaced.nSlot);
    p->replaced.nUsed = 0;
  }
}

void vec0WriteFree(Vec0Table *p) {
  sqlite3_free(p->replaced.a);
  memset(&p->replaced, 0, sizeof(p->replaced));
}

/* Deletes row iRowid, whose key the row being updated takes (OR REPLACE). */
static int replaceRow(Vec0Table *p, sqlite3_int64 iRowid) {
  int rc = replacedAdd(p, iRowid);
  if (rc == SQLITE_OK) rc = vec0StorageBeginWrite(p);
  if (rc == SQLITE_OK) rc = vec0WriteDelete(p, iRowid);
  return rc;
}

/* Returns the slot of an existing row in *piSlot, or -1. */
static int findRow(Vec0Table *p, sqlite3_int64 iRowid, sqlite3_int64 *piSlot) {
  int bFound = 0;
  int rc = vec0StorageRowSlot(p, iRowid, piSlot, &bFound);
  if (!bFound) *piSlot = -1;
  return rc;
}

/* The rowid of the row with text key pKey: SQLITE_ROW, or SQLITE_DONE if none. */
static int findKey(Vec0Table *p, sqlite3_value *pKey, sqlite3_int64 *piRowid) {
  sqlite3_int64 iSlot = 0;
  int bFound = 0;
  int rc = vec0StorageKeyRow(p, pKey, piRowid, &iSlot, &bFound);
  if (rc == SQLITE_OK) rc = bFound ? SQLITE_ROW : SQLITE_DONE;
  return rc;
}

/*
** Frees slot iSlot of a row that is gone or has moved: storage frees it,
** then each index forgets it (an HNSW graph keeps it as a tombstone).
*/
static int freeSlot(Vec0Table *p, uint32_t iSlot) {
  int rc = vec0StorageSlotFree(p, iSlot);
  if (rc == SQLITE_OK) rc = vec0IndexDelete(p, iSlot);
  return rc;
}

int vec0WriteDelete(Vec0Table *p, sqlite3_int64 iRowid) {
  sqlite3_int64 iSlot = -1;
  int rc = findRow(p, iRowid, &iSlot);
  if (rc != SQLITE_OK || iSlot < 0) return rc;
  if (iSlot >= vec0StorageSlotCount(p)) {
    vec0TableError(p, "vec0: table \"%s\": row %lld has slot %lld out of range",
                   p->zName, iRowid, iSlot);
    return SQLITE_CORRUPT_VTAB;
  }
  rc = vec0StorageSlot(p, (uint32_t)iSlot);
  if (rc == SQLITE_OK) rc = vec0StorageBeginWrite(p);
  if (rc == SQLITE_OK) rc = vec0StorageRowDelete(p, iRowid);
  if (rc == SQLITE_OK) rc = freeSlot(p, (uint32_t)iSlot);
  if (rc == SQLITE_OK) vec0StorageLiveAdd(p, -1);
  return rc;
}

/* Whether the partition key values aNew differ from those of iSlot. */
static int partitionChanged(Vec0Table *p, uint32_t iSlot, const Vec0Cell *aNew) {
  for (int i = 0; i < p->cfg.nPart; i++) {
    const Vec0Cell *pCell = vec0StorageSlotCell(p, iSlot, i);
    if (pCell->eType != aNew[i].eType || vec0CellCompare(pCell, &aNew[i], 0) != 0) {
      return 1;
    }
  }
  return 0;
}

/*
** Fills slot iSlot (allocated in group g) with the row iRowid: its T_slots
** row from the cells aNew, its vectors (aVec[i].p, or when NULL the vector of slot
** iFrom, the row's old slot) and its HNSW nodes.
*/
static int fillSlot(Vec0Table *p, uint32_t iSlot, sqlite3_int64 iRowid,
                    const Vec0Cell *aNew, uint32_t g, const Vec0Vector *aVec,
                    uint32_t iFrom) {
  Vec0Config *c = &p->cfg;
  int rc = vec0StorageSlotPut(p, iSlot, iRowid, aNew, g);
  for (int i = 0; rc == SQLITE_OK && i < c->nVec; i++) {
    const unsigned char *v = aVec[i].p;
    /* first: what it does may read vectors into the cache, moving v's */
    rc = vec0IndexBeforeWrite(p, i, iSlot);
    if (rc == SQLITE_OK && v == 0) rc = vec0StorageVector(p, i, iFrom, &v);
    if (rc == SQLITE_OK) rc = vec0StorageWriteVector(p, i, iSlot, v);
  }
  if (rc == SQLITE_OK) rc = vec0IndexInsert(p, iSlot, iRowid, g);
  if (rc == SQLITE_OK) rc = vec0StorageGroupLive(p, g, 1);
  return rc;
}

static int conflictError(Vec0Table *p, const char *zWhat) {
  vec0TableError(p, "vec0: table \"%s\": UNIQUE constraint failed: %s", p->zName, zWhat);
  return SQLITE_CONSTRAINT;
}

/*
** One integer key (the rowid, or the integer primary key): as for an
** INTEGER PRIMARY KEY, a REAL or numeric text whose value is a whole number
** is that integer (a JavaScript 2 arrives as 2.0); anything else is refused.
*/
static int keyValue(Vec0Table *p, sqlite3_value *v, const char *zWhat,
                    sqlite3_int64 *piOut) {
  int t = sqlite3_value_type(v);
  if (t == SQLITE_NULL) {
    vec0TableError(p, "vec0: table \"%s\": %s cannot be NULL", p->zName, zWhat);
    return SQLITE_MISMATCH;
  }
  if (!vec0ValueInt64(v, piOut)) {
    vec0TableError(p, "vec0: table \"%s\": %s must be an integer, not %s%s%s%s", p->zName,
                   zWhat, t == SQLITE_BLOB ? "a BLOB" : t == SQLITE_TEXT ? "text '" : "",
                   t == SQLITE_BLOB ? "" : (const char *)sqlite3_value_text(v),
                   t == SQLITE_TEXT ? "'" : "",
                   t == SQLITE_TEXT && p->cfg.ePk != VEC0_PK_TEXT
                       ? " (a table with text keys declares \"<name> text primary key\")"
                       : "");
    return SQLITE_MISMATCH;
  }
  return SQLITE_OK;
}

/* The new row's rowid for an INSERT; *pbAuto if SQLite is to choose it. */
static int newRowid(Vec0Table *p, sqlite3_value **argv, sqlite3_int64 *piRowid,
                    int *pbAuto) {
  Vec0Config *c = &p->cfg;
  sqlite3_value *v = argv[1];
  *pbAuto = 0;
  if (c->ePk != VEC0_PK_TEXT) {
    /* The key column (first) is the rowid under its declared name, or
    ** under "rowid" itself; the rowid proper comes as oid or _rowid_. */
    if (sqlite3_value_type(argv[2]) != SQLITE_NULL) v = argv[2];
  }
  if (sqlite3_value_type(v) == SQLITE_NULL) {
    *pbAuto = 1;
    return SQLITE_OK;
  }
  return keyValue(p, v, c->zPkName ? c->zPkName : "rowid", piRowid);
}

static int pkColumn(Vec0Config *c) {
  for (int i = 0; i < c->nCol; i++) {
    if (c->aCol[i].eKind == VEC0_COL_PK) return i;
  }
  return -1;
}

/*
** The rowid a row gets from an UPDATE (argv as xUpdate has it).  An integer
** primary key is the rowid under another name, as in an ordinary table: SQL
** may set either one, and SQLite passes the other one unchanged.
*/
static int updatedRowid(Vec0Table *p, sqlite3_value **argv, sqlite3_int64 *piNew) {
  Vec0Config *c = &p->cfg;
  sqlite3_int64 iOld = sqlite3_value_int64(argv[0]), iRowid = 0, iPk = 0;
  int rc = keyValue(p, argv[1], "rowid", &iRowid);
  if (rc != SQLITE_OK || c->ePk == VEC0_PK_TEXT) {
    *piNew = iRowid;
    return rc;
  }
  rc = keyValue(p, argv[2 + pkColumn(c)], c->zPkName ? c->zPkName : "rowid", &iPk);
  if (rc != SQLITE_OK) return rc;
  if (iPk != iOld && iRowid != iOld && iPk != iRowid) {
    vec0TableError(p, "vec0: table \"%s\": rowid and %s are one value and cannot be "
                      "set to %lld and %lld",
                   p->zName, c->zPkName ? c->zPkName : "the rowid column", iRowid, iPk);
    return SQLITE_ERROR;
  }
  *piNew = iPk != iOld ? iPk : iRowid;
  return SQLITE_OK;
}

int vec0WriteInsert(Vec0Table *p, sqlite3_value **argv, sqlite3_int64 *pRowid) {
  Vec0Config *c = &p->cfg;
  sqlite3_value **aArg = &argv[2];
  Vec0Vector aVec[VEC0_MAX_VECTOR_COLUMNS];
  Vec0Cell aNew[VEC0_MAX_PARTITION_COLUMNS + VEC0_MAX_METADATA_COLUMNS];
  sqlite3_int64 iRowid = 0, iSlotOld = -1;
  sqlite3_value *pKey = 0;
  uint32_t iSlot = 0, g = 0;
  int bAuto = 0, rc, onConflict = sqlite3_vtab_on_conflict(p->db);

  memset(aVec, 0, sizeof(aVec));
  memset(aNew, 0, sizeof(aNew));
  for (int h = 0; h < VEC0_N_HIDDEN; h++) {
    if (h != VEC0_HIDDEN_TABLE && sqlite3_value_type(aArg[c->nCol + h]) != SQLITE_NULL) {
      static const char *azHidden[] = {"distance", "k", "ef", "rescore", "", "recall"};
      vec0TableError(p, "vec0: table \"%s\": cannot write hidden column \"%s\"",
                     p->zName, azHidden[h]);
      return SQLITE_ERROR;
    }
  }
  rc = newRowid(p, argv, &iRowid, &bAuto);
  if (rc == SQLITE_OK && c->ePk == VEC0_PK_TEXT) {
    pKey = aArg[pkColumn(c)];
    if (sqlite3_value_type(pKey) != SQLITE_TEXT) {
      vec0TableError(p, "vec0: table \"%s\": primary key \"%s\" must be text", p->zName,
                     c->zPkName);
      rc = SQLITE_MISMATCH;
    }
  }
  if (rc == SQLITE_OK) rc = newCells(p, aArg, 0, 0, aNew);
  if (rc == SQLITE_OK) rc = parseVectors(p, aArg, aVec, 0);

  /* Uniqueness: before anything is written (SQLITE_VTAB_CONSTRAINT_SUPPORT). */
  if (rc == SQLITE_OK && pKey) {
    sqlite3_int64 iOld = 0;
    rc = findKey(p, pKey, &iOld);
    if (rc == SQLITE_ROW) {
      if (onConflict == SQLITE_REPLACE) {
        rc = vec0StorageBeginWrite(p);
        if (rc == SQLITE_OK) rc = vec0WriteDelete(p, iOld);
      } else {
        rc = conflictError(p, c->zPkName);
      }
    } else if (rc == SQLITE_DONE) {
      rc = SQLITE_OK;
    }
  }
  if (rc == SQLITE_OK && !bAuto) {
    rc = findRow(p, iRowid, &iSlotOld);
    if (rc == SQLITE_OK && iSlotOld >= 0) {
      if (onConflict == SQLITE_REPLACE) {
        rc = vec0StorageBeginWrite(p);
        if (rc == SQLITE_OK) rc = vec0WriteDelete(p, iRowid);
      } else {
        rc = conflictError(p, c->zPkName ? c->zPkName : "rowid");
      }
    }
  }

  if (rc == SQLITE_OK) rc = vec0StorageBeginWrite(p);
  if (rc == SQLITE_OK && c->nPart) rc = vec0StorageGroupFind(p, aNew, 1, &g);
  if (rc == SQLITE_OK) rc = vec0StorageSlotAlloc(p, g, &iSlot);
  if (rc == SQLITE_OK) rc = vec0StorageRowInsert(p, &iRowid, bAuto, iSlot, pKey, aArg);
  if (rc == SQLITE_OK) rc = fillSlot(p, iSlot, iRowid, aNew, g, aVec, 0);
  if (rc == SQLITE_OK) {
    vec0StorageLiveAdd(p, 1);
    *pRowid = iRowid;
  }
  for (int i = 0; i < c->nVec; i++) vec0VectorClear(&aVec[i]);
  cellsClear(aNew, p->nFilt);
  return rc;
}

/*
** The keys an UPDATE gives the row (argv as xUpdate has it): *piNew the
** new rowid (unchanged for a text primary key, which *ppKey then is).
*/
static int updateKeys(Vec0Table *p, sqlite3_value **argv, sqlite3_int64 *piNew,
                      sqlite3_value **ppKey) {
  Vec0Config *c = &p->cfg;
  sqlite3_value **aArg = &argv[2];
  sqlite3_int64 iOld = sqlite3_value_int64(argv[0]);
  int rc = SQLITE_OK;
  for (int h = 0; rc == SQLITE_OK && h < VEC0_N_HIDDEN; h++) {
    if (h != VEC0_HIDDEN_TABLE && sqlite3_value_type(aArg[c->nCol + h]) != SQLITE_NULL) {
      vec0TableError(p, "vec0: table \"%s\": cannot write hidden columns", p->zName);
      rc = SQLITE_ERROR;
    }
  }
  if (rc == SQLITE_OK && c->ePk != VEC0_PK_TEXT) {
    rc = updatedRowid(p, argv, piNew);
  } else if (rc == SQLITE_OK) {
    *ppKey = aArg[pkColumn(c)];
    if (sqlite3_value_type(*ppKey) != SQLITE_TEXT) {
      vec0TableError(p, "vec0: table \"%s\": primary key \"%s\" must be text", p->zName,
                     c->zPkName);
      rc = SQLITE_MISMATCH;
    }
    if (rc == SQLITE_OK && sqlite3_value_int64(argv[1]) != iOld) {
      vec0TableError(p, "vec0: table \"%s\": the rowid of a table with a text primary "
                        "key cannot be changed",
                     p->zName);
      rc = SQLITE_ERROR;
    }
  }
  return rc;
}

/*
** Another row holding the new rowid iNew or text key pKey of row iOld: a
** conflict, or with OR REPLACE a row to delete first.
*/
static int updateConflicts(Vec0Table *p, sqlite3_int64 iOld, sqlite3_int64 iNew,
                           sqlite3_value *pKey) {
  Vec0Config *c = &p->cfg;
  int rc = SQLITE_OK, onConflict = sqlite3_vtab_on_conflict(p->db);
  if (iNew != iOld) {
    sqlite3_int64 iOther = -1;
    rc = findRow(p, iNew, &iOther);
    if (rc == SQLITE_OK && iOther >= 0) {
      if (onConflict == SQLITE_REPLACE) {
        rc = replaceRow(p, iNew);
      } else {
        rc = conflictError(p, c->zPkName ? c->zPkName : "rowid");
      }
    }
  }
  if (rc == SQLITE_OK && pKey) {
    sqlite3_int64 iOther = 0;
    rc = findKey(p, pKey, &iOther);
    if (rc == SQLITE_ROW && iOther != iOld) {
      if (onConflict == SQLITE_REPLACE) {
        rc = replaceRow(p, iOther);
      } else {
        rc = conflictError(p, c->zPkName);
      }
    } else if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
      rc = SQLITE_OK;
    }
  }
  return rc;
}

int vec0WriteUpdate(Vec0Table *p, sqlite3_value **argv) {
  Vec0Config *c = &p->cfg;
  sqlite3_value **aArg = &argv[2];
  sqlite3_int64 iOld = sqlite3_value_int64(argv[0]), iNew = iOld, iSlot = -1;
  Vec0Vector aVec[VEC0_MAX_VECTOR_COLUMNS];
  Vec0Cell aNew[VEC0_MAX_PARTITION_COLUMNS + VEC0_MAX_METADATA_COLUMNS];
  sqlite3_value *pKey = 0;
  int rc, bFilt = 0, bAux = 0, bRekey = 0, bMove = 0, bPart = 0;
  uint32_t gNew = 0, iSlotNew = 0;

  memset(aVec, 0, sizeof(aVec));
  memset(aNew, 0, sizeof(aNew));
  rc = findRow(p, iOld, &iSlot);
  if (rc == SQLITE_OK && p->replaced.nUsed) {
    uint32_t i;
    if (replacedFind(&p->replaced, iOld, &i)) {
      if (iSlot < 0) return SQLITE_OK; /* deleted with its key: nothing to update */
      vec0TableError(p, "vec0: table \"%s\": UPDATE OR REPLACE gave another row the rowid "
                        "%lld, then came to update the row that had it, whose values SQLite "
                        "read before (a virtual table is not given the new row's): update "
                        "these rows in separate statements",
                     p->zName, iOld);
      return SQLITE_ERROR;
    }
  }
  if (rc == SQLITE_OK && (iSlot < 0 || iSlot >= vec0StorageSlotCount(p))) {
    vec0TableError(p, "vec0: table \"%s\": row %lld is missing from %s_rows", p->zName,
                   iOld, p->zName);
    return SQLITE_CORRUPT_VTAB;
  }
  if (rc == SQLITE_OK) rc = updateKeys(p, argv, &iNew, &pKey);
  for (int f = 0; f < p->nFilt; f++) {
    if (!sqlite3_value_nochange(aArg[filterColumn(c, f)])) bFilt = 1;
  }
  /* The old values stand in for those SQLite marks unchanged. */
  if (rc == SQLITE_OK && bFilt) rc = vec0StorageSlot(p, (uint32_t)iSlot);
  if (rc == SQLITE_OK && bFilt) rc = newCells(p, aArg, 1, (uint32_t)iSlot, aNew);
  for (int a = 0; a < c->nAux; a++) {
    if (!sqlite3_value_nochange(aArg[c->aAuxCol[a]])) bAux = 1;
  }
  if (rc == SQLITE_OK) rc = parseVectors(p, aArg, aVec, 1);

  /* Key changes: conflicts first, before any write. */
  bRekey = iNew != iOld || pKey != 0;
  if (rc == SQLITE_OK) rc = updateConflicts(p, iOld, iNew, pKey);
  if (rc == SQLITE_OK) rc = vec0StorageBeginWrite(p);
  if (rc == SQLITE_OK) rc = vec0StorageSlot(p, (uint32_t)iSlot);
  if (rc == SQLITE_OK && c->nPart && bFilt) bPart = partitionChanged(p, (uint32_t)iSlot, aNew);
  if (rc == SQLITE_OK && bPart) {
    /* Its new partition key values move the row to another group: a slot of
    ** that group (whose tombstones only its rows may reuse). */
    rc = vec0StorageGroupFind(p, aNew, 1, &gNew);
    if (rc == SQLITE_OK && gNew != vec0StorageSlotGroup(p, (uint32_t)iSlot)) {
      rc = vec0StorageSlotAlloc(p, gNew, &iSlotNew);
      bMove = 1;
    }
  }
  if (rc == SQLITE_OK && bRekey) {
    rc = vec0StorageRowRekey(p, iOld, iNew, pKey);
  }
  if (rc == SQLITE_OK && bMove) {
    rc = fillSlot(p, iSlotNew, iNew, aNew, gNew, aVec, (uint32_t)iSlot);
    if (rc == SQLITE_OK) rc = freeSlot(p, (uint32_t)iSlot);
    if (rc == SQLITE_OK) rc = vec0StorageRowSetSlot(p, iNew, iSlotNew);
  } else if (rc == SQLITE_OK && (bFilt || iNew != iOld)) {
    if (!bFilt) rc = newCells(p, aArg, 1, (uint32_t)iSlot, aNew); /* all unchanged */
    if (rc == SQLITE_OK) {
      rc = vec0StorageSlotPut(p, (uint32_t)iSlot, iNew, aNew, vec0StorageSlotGroup(p, (uint32_t)iSlot));
    }
  }
  if (rc == SQLITE_OK && bAux) rc = vec0StorageRowAuxSet(p, iNew, aArg);
  for (int i = 0; rc == SQLITE_OK && !bMove && i < c->nVec; i++) {
    const unsigned char *aOld = 0;
    if (aVec[i].p == 0) continue;
    rc = vec0StorageVector(p, i, (uint32_t)iSlot, &aOld);
    if (rc != SQLITE_OK) break;
    if (memcmp(aOld, aVec[i].p, vec0StorageVectorBytes(p, i)) == 0) continue;
    rc = vec0IndexBeforeWrite(p, i, (uint32_t)iSlot);
    if (rc == SQLITE_OK) rc = vec0StorageWriteVector(p, i, (uint32_t)iSlot, aVec[i].p);
    if (rc == SQLITE_OK) {
      Vec0Index *pIdx = vec0IndexGet(p, i);
      rc = pIdx->pModule->xUpdate(pIdx, (uint32_t)iSlot);
    }
  }
  for (int i = 0; i < c->nVec; i++) vec0VectorClear(&aVec[i]);
  cellsClear(aNew, p->nFilt);
  return rc;
}

