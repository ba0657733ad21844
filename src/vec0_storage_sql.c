/*
** vec0_storage_sql.c: the SQL of the shadow tables that runs after CREATE:
** the text of every cached statement and their cache (prepared lazily,
** once per table, reset after use), the config rows, an index's own table
** and its entry points, and the queries that read or rewrite a whole table
** for the maintenance commands (not a hot path: built at run time).  The
** table definitions are with create/connect in vec0_storage.c.  Calls
** SQLite only.
*/
#include "vec0Int.h"

#include <stdarg.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* Statements                                                              */

/* Appends ", <zPre>0, <zPre>1, ..." (n items, each followed by zPost). */
char *vec0StorageAppendList(char *z, const char *zPre, int n, const char *zPost) {
  for (int i = 0; z && i < n; i++) {
    char *zNew = sqlite3_mprintf("%s, %s%d%s", z, zPre, i, zPost);
    sqlite3_free(z);
    z = zNew;
  }
  return z;
}

static char *stmtSql(Vec0Table *p, int e) {
  const char *zDb = p->zDb, *zT = p->zName;
  int bKey = p->cfg.ePk == VEC0_PK_TEXT;
  int nAux = p->cfg.nAux, nPart = p->cfg.nPart, nMeta = p->cfg.nMeta;
  char *z = 0;
  switch (e) {
    case VEC0_STMT_CONFIG_GET:
      return sqlite3_mprintf("SELECT value FROM \"%w\".\"%w_config\" WHERE key=?",
                             zDb, zT);
    case VEC0_STMT_CONFIG_SET:
      return sqlite3_mprintf(
          "INSERT OR REPLACE INTO \"%w\".\"%w_config\"(key, value) VALUES(?, ?)",
          zDb, zT);
    case VEC0_STMT_ROWS_GET:
      return sqlite3_mprintf("SELECT slot%s FROM \"%w\".\"%w_rows\" WHERE id=?",
                             bKey ? ", key" : "", zDb, zT);
    case VEC0_STMT_ROWS_SCAN:
      return sqlite3_mprintf("SELECT id, slot FROM \"%w\".\"%w_rows\" ORDER BY id", zDb,
                             zT);
    case VEC0_STMT_ROWS_FILTER:
      z = sqlite3_mprintf("SELECT slot, %s", bKey ? "key" : "NULL");
      z = vec0StorageAppendList(z, "a", nAux, "");
      if (z) z = sqlite3_mprintf("%z FROM \"%w\".\"%w_rows\"", z, zDb, zT);
      return z;
    case VEC0_STMT_ROWS_BY_KEY:
      return sqlite3_mprintf("SELECT id, slot FROM \"%w\".\"%w_rows\" WHERE key=?",
                             zDb, zT);
    case VEC0_STMT_ROWS_INSERT:
      z = sqlite3_mprintf("INSERT INTO \"%w\".\"%w_rows\"(id, slot%s", zDb, zT,
                          bKey ? ", key" : "");
      z = vec0StorageAppendList(z, "a", nAux, "");
      if (z) z = sqlite3_mprintf("%z) VALUES(?, ?%s", z, bKey ? ", ?" : "");
      z = vec0StorageAppendList(z, "?", 0, "");
      for (int i = 0; z && i < nAux; i++) z = sqlite3_mprintf("%z, ?", z);
      if (z) z = sqlite3_mprintf("%z)", z);
      return z;
    case VEC0_STMT_ROWS_DELETE:
      return sqlite3_mprintf("DELETE FROM \"%w\".\"%w_rows\" WHERE id=?", zDb, zT);
    case VEC0_STMT_ROWS_REKEY:
      return sqlite3_mprintf("UPDATE \"%w\".\"%w_rows\" SET id=?2%s WHERE id=?1",
                             zDb, zT, bKey ? ", key=?3" : "");
    case VEC0_STMT_ROWS_GONE:
      /* ?1 has just left T_rows: whether it is above every id left and kept
      ** before.  (A read: a write of several rows here, INSERT ... SELECT,
      ** would take a statement journal, whose savepoint SQLite opens and
      ** rolls back on every virtual table of the transaction, this one
      ** included, in the middle of its write.) */
      return sqlite3_mprintf(
          "SELECT NOT EXISTS (SELECT 1 FROM \"%w\".\"%w_rows\" WHERE id > ?1) "
          "AND NOT EXISTS (SELECT 1 FROM \"%w\".\"%w_config\" "
          "WHERE key = 'rowid_gone' AND value >= ?1)",
          zDb, zT, zDb, zT);
    case VEC0_STMT_ROWS_TOP:
      return sqlite3_mprintf("SELECT (SELECT value FROM \"%w\".\"%w_config\" "
                             "WHERE key = 'rowid_gone'), "
                             "(SELECT max(id) FROM \"%w\".\"%w_rows\")",
                             zDb, zT, zDb, zT);
    case VEC0_STMT_ROWS_SET_SLOT:
      return sqlite3_mprintf("UPDATE \"%w\".\"%w_rows\" SET slot=?2 WHERE id=?1", zDb,
                             zT);
    case VEC0_STMT_ROWS_AUX_GET:
      z = sqlite3_mprintf("SELECT NULL");
      z = vec0StorageAppendList(z, "a", nAux, "");
      if (z) z = sqlite3_mprintf("%z FROM \"%w\".\"%w_rows\" WHERE id=?", z, zDb, zT);
      return z;
    case VEC0_STMT_ROWS_AUX_SET:
      z = sqlite3_mprintf("UPDATE \"%w\".\"%w_rows\" SET slot=slot", zDb, zT);
      for (int i = 0; z && i < nAux; i++) z = sqlite3_mprintf("%z, a%d=?%d", z, i, i + 2);
      if (z) z = sqlite3_mprintf("%z WHERE id=?1", z);
      return z;
    case VEC0_STMT_SLOTS_GET:
    case VEC0_STMT_SLOTS_ALL:
      z = sqlite3_mprintf("SELECT %sid", e == VEC0_STMT_SLOTS_ALL ? "slot, " : "");
      z = vec0StorageAppendList(z, "p", nPart, "");
      z = vec0StorageAppendList(z, "m", nMeta, "");
      if (z) {
        z = sqlite3_mprintf("%z%s FROM \"%w\".\"%w_slots\"%s", z, nPart ? ", g" : "",
                            zDb, zT, e == VEC0_STMT_SLOTS_GET ? " WHERE slot=?" : "");
      }
      return z;
    case VEC0_STMT_SLOTS_PUT:
      z = sqlite3_mprintf("INSERT OR REPLACE INTO \"%w\".\"%w_slots\"(slot, id", zDb,
                          zT);
      z = vec0StorageAppendList(z, "p", nPart, "");
      z = vec0StorageAppendList(z, "m", nMeta, "");
      if (z) z = sqlite3_mprintf("%z%s) VALUES(?, ?", z, nPart ? ", g" : "");
      for (int i = 0; z && i < nPart + nMeta + (nPart > 0); i++) {
        z = sqlite3_mprintf("%z, ?", z);
      }
      if (z) z = sqlite3_mprintf("%z)", z);
      return z;
    case VEC0_STMT_SLOTS_DELETE:
      return sqlite3_mprintf("DELETE FROM \"%w\".\"%w_slots\" WHERE slot=?", zDb, zT);
    case VEC0_STMT_FREE_ADD:
      return sqlite3_mprintf("INSERT INTO \"%w\".\"%w_free\"(slot%s) VALUES(?1%s)", zDb,
                             zT, nPart ? ", g" : "", nPart ? ", ?2" : "");
    case VEC0_STMT_FREE_FIRST:
      /* A slot is reused only within its group: its tombstone is there. */
      return sqlite3_mprintf("SELECT slot FROM \"%w\".\"%w_free\"%s ORDER BY slot "
                             "LIMIT 1",
                             zDb, zT, nPart ? " WHERE g=?1" : "");
    case VEC0_STMT_FREE_TAKE:
      return sqlite3_mprintf("DELETE FROM \"%w\".\"%w_free\" WHERE slot=?1%s", zDb, zT,
                             nPart ? " AND g=?2" : "");
    case VEC0_STMT_GROUP_FIND:
      z = sqlite3_mprintf("SELECT g, live FROM \"%w\".\"%w_groups\" WHERE ", zDb, zT);
      for (int i = 0; z && i < nPart; i++) {
        z = sqlite3_mprintf("%z%sp%d=?%d", z, i ? " AND " : "", i, i + 1);
      }
      return z;
    case VEC0_STMT_GROUP_ADD:
      z = sqlite3_mprintf("INSERT INTO \"%w\".\"%w_groups\"(live", zDb, zT);
      z = vec0StorageAppendList(z, "p", nPart, "");
      if (z) z = sqlite3_mprintf("%z) VALUES(0", z);
      for (int i = 0; z && i < nPart; i++) z = sqlite3_mprintf("%z, ?", z);
      if (z) z = sqlite3_mprintf("%z)", z);
      return z;
    case VEC0_STMT_GROUP_LIVE:
      return sqlite3_mprintf("UPDATE \"%w\".\"%w_groups\" SET live=live+?2 WHERE g=?1",
                             zDb, zT);
    case VEC0_STMT_GROUP_ALL:
      z = sqlite3_mprintf("SELECT g, live");
      z = vec0StorageAppendList(z, "p", nPart, "");
      if (z) z = sqlite3_mprintf("%z FROM \"%w\".\"%w_groups\" ORDER BY g", z, zDb, zT);
      return z;
    case VEC0_STMT_SLOTS_SET_ROWID:
      return sqlite3_mprintf("UPDATE \"%w\".\"%w_slots\" SET id=?2 WHERE slot=?1",
                             zDb, zT);
  }
  return 0;
}

static char *vecStmtSql(Vec0Table *p, int iVec, int e) {
  const char *zDb = p->zDb, *zT = p->zName;
  switch (e) {
    case VEC0_VSTMT_GET:
      return sqlite3_mprintf("SELECT v FROM \"%w\".\"%w_vectors%d\" WHERE chunk=?",
                             zDb, zT, iVec);
    case VEC0_VSTMT_ALL:
      return sqlite3_mprintf("SELECT chunk, v FROM \"%w\".\"%w_vectors%d\"", zDb, zT,
                             iVec);
    case VEC0_VSTMT_PUT:
      return sqlite3_mprintf(
          "INSERT OR REPLACE INTO \"%w\".\"%w_vectors%d\"(chunk, v) VALUES(?, ?)", zDb,
          zT, iVec);
    case VEC0_VSTMT_RANGE:
      return sqlite3_mprintf("SELECT chunk, v FROM \"%w\".\"%w_vectors%d\" "
                             "WHERE chunk >= ? ORDER BY chunk LIMIT ?",
                             zDb, zT, iVec);
    case VEC0_VSTMT_LINK_RANGE:
      return sqlite3_mprintf("SELECT slot, links FROM \"%w\".\"%w_links%d\" "
                             "WHERE slot >= ? ORDER BY slot LIMIT ?",
                             zDb, zT, iVec);
    case VEC0_VSTMT_LINK_GET:
      return sqlite3_mprintf("SELECT links FROM \"%w\".\"%w_links%d\" WHERE slot=?",
                             zDb, zT, iVec);
    case VEC0_VSTMT_LINK_PUT:
      return sqlite3_mprintf(
          "INSERT OR REPLACE INTO \"%w\".\"%w_links%d\"(slot, links) VALUES(?, ?)",
          zDb, zT, iVec);
    case VEC0_VSTMT_GROUP_GET:
      return sqlite3_mprintf("SELECT entry%d, level%d FROM \"%w\".\"%w_groups\" "
                             "WHERE g=?",
                             iVec, iVec, zDb, zT);
    case VEC0_VSTMT_GROUP_PUT:
      return sqlite3_mprintf("UPDATE \"%w\".\"%w_groups\" SET entry%d=?2, level%d=?3 "
                             "WHERE g=?1",
                             zDb, zT, iVec, iVec);
  }
  return 0;
}

static int prepare(Vec0Table *p, char *zSql, sqlite3_stmt **pp) {
  int rc;
  if (zSql == 0) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v3(p->db, zSql, -1, SQLITE_PREPARE_PERSISTENT, pp, 0);
  if (rc != SQLITE_OK) {
    vec0TableError(p, "vec0: table \"%s\": %s", p->zName, sqlite3_errmsg(p->db));
  }
  sqlite3_free(zSql);
  return rc;
}

int vec0StorageStmt(Vec0Table *p, int eStmt, sqlite3_stmt **pp) {
  if (p->aStmt[eStmt] == 0) {
    int rc = prepare(p, stmtSql(p, eStmt), &p->aStmt[eStmt]);
    if (rc != SQLITE_OK) return rc;
  }
  *pp = p->aStmt[eStmt];
  return SQLITE_OK;
}

int vec0StorageVecStmt(Vec0Table *p, int iVec, int eStmt, sqlite3_stmt **pp) {
  if (p->aVecStmt[iVec][eStmt] == 0) {
    int rc = prepare(p, vecStmtSql(p, iVec, eStmt), &p->aVecStmt[iVec][eStmt]);
    if (rc != SQLITE_OK) return rc;
  }
  *pp = p->aVecStmt[iVec][eStmt];
  return SQLITE_OK;
}

void vec0StorageFinalize(Vec0Table *p) {
  for (int i = 0; i < VEC0_STMT_N; i++) {
    sqlite3_finalize(p->aStmt[i]);
    p->aStmt[i] = 0;
  }
  for (int v = 0; v < VEC0_MAX_VECTOR_COLUMNS; v++) {
    for (int i = 0; i < VEC0_VSTMT_N; i++) {
      sqlite3_finalize(p->aVecStmt[v][i]);
      p->aVecStmt[v][i] = 0;
    }
  }
}

/* Steps a statement that returns no rows, then resets it. */
int vec0StorageStepDone(sqlite3_stmt *pStmt) {
  int rc = sqlite3_step(pStmt);
  int rc2 = sqlite3_reset(pStmt);
  if (rc == SQLITE_DONE || rc == SQLITE_ROW) return rc2;
  return rc2 != SQLITE_OK ? rc2 : rc;
}

/* ---------------------------------------------------------------------- */
/* Config                                                                  */

int vec0StorageConfigGet(Vec0Table *p, const char *zKey, sqlite3_int64 *piVal,
                         int *pbFound) {
  sqlite3_stmt *pStmt = 0;
  int rc = vec0StorageStmt(p, VEC0_STMT_CONFIG_GET, &pStmt);
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_text(pStmt, 1, zKey, -1, SQLITE_STATIC);
  *pbFound = 0;
  if (sqlite3_step(pStmt) == SQLITE_ROW) {
    if (sqlite3_column_type(pStmt, 0) != SQLITE_INTEGER) {
      vec0TableError(p, "vec0: table \"%s\": config value \"%s\" is not an integer",
                     p->zName, zKey);
      rc = SQLITE_CORRUPT_VTAB;
    }
    *piVal = sqlite3_column_int64(pStmt, 0);
    *pbFound = 1;
  }
  {
    int rc2 = sqlite3_reset(pStmt);
    if (rc == SQLITE_OK) rc = rc2;
  }
  return rc;
}

int vec0StorageConfigSet(Vec0Table *p, const char *zKey, sqlite3_int64 iVal) {
  sqlite3_stmt *pStmt = 0;
  int rc = vec0StorageStmt(p, VEC0_STMT_CONFIG_SET, &pStmt);
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_text(pStmt, 1, zKey, -1, SQLITE_STATIC);
  sqlite3_bind_int64(pStmt, 2, iVal);
  return vec0StorageStepDone(pStmt);
}

int vec0StorageConfigSetBlob(Vec0Table *p, const char *zKey, const void *a, int n) {
  sqlite3_stmt *pStmt = 0;
  int rc = vec0StorageStmt(p, VEC0_STMT_CONFIG_SET, &pStmt);
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_text(pStmt, 1, zKey, -1, SQLITE_STATIC);
  sqlite3_bind_blob(pStmt, 2, a, n, SQLITE_STATIC);
  return vec0StorageStepDone(pStmt);
}


/* ---------------------------------------------------------------------- */
/* An index's own table (T_linksN) and its entry points in T_groups        */

int vec0StorageLinkGet(Vec0Table *p, int iVec, uint32_t iSlot, unsigned char **paRec,
                       int *pnRec) {
  sqlite3_stmt *pStmt = 0;
  int rc = vec0StorageVecStmt(p, iVec, VEC0_VSTMT_LINK_GET, &pStmt);
  *paRec = 0;
  *pnRec = 0;
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_int64(pStmt, 1, iSlot);
  if (sqlite3_step(pStmt) == SQLITE_ROW) {
    int n = sqlite3_column_bytes(pStmt, 0);
    const void *a = sqlite3_column_blob(pStmt, 0);
    unsigned char *aCopy = sqlite3_malloc64(n > 0 ? (sqlite3_uint64)n : 1);
    if (aCopy == 0) {
      rc = SQLITE_NOMEM;
    } else {
      if (n) memcpy(aCopy, a, (size_t)n);
      *paRec = aCopy;
      *pnRec = n;
    }
  } else {
    rc = VEC0_HNSW_NOTFOUND;
  }
  {
    int rc2 = sqlite3_reset(pStmt);
    if (rc2 != SQLITE_OK) {
      sqlite3_free(*paRec);
      *paRec = 0;
      rc = rc2;
    }
  }
  return rc;
}

int vec0StorageLinkPut(Vec0Table *p, int iVec, uint32_t iSlot, const unsigned char *a,
                       int n) {
  sqlite3_stmt *pStmt = 0;
  int rc = vec0StorageVecStmt(p, iVec, VEC0_VSTMT_LINK_PUT, &pStmt);
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_int64(pStmt, 1, iSlot);
  sqlite3_bind_blob(pStmt, 2, a, n, SQLITE_STATIC);
  return vec0StorageStepDone(pStmt);
}

int vec0StorageLinkRange(Vec0Table *p, int iVec, uint32_t iFrom, int n,
                         sqlite3_stmt **ppStmt) {
  int rc = vec0StorageVecStmt(p, iVec, VEC0_VSTMT_LINK_RANGE, ppStmt);
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_int64(*ppStmt, 1, iFrom);
  sqlite3_bind_int(*ppStmt, 2, n);
  return SQLITE_OK;
}

int vec0StorageGroupEntry(Vec0Table *p, int iVec, uint32_t g, sqlite3_int64 *piEntry,
                          sqlite3_int64 *piLevel, int *pbFound) {
  sqlite3_stmt *pStmt = 0;
  int rc = vec0StorageVecStmt(p, iVec, VEC0_VSTMT_GROUP_GET, &pStmt);
  *pbFound = 0;
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_int64(pStmt, 1, g);
  if (sqlite3_step(pStmt) == SQLITE_ROW &&
      sqlite3_column_type(pStmt, 0) != SQLITE_NULL) {
    *piEntry = sqlite3_column_int64(pStmt, 0);
    *piLevel = sqlite3_column_int64(pStmt, 1);
    *pbFound = 1;
  }
  return sqlite3_reset(pStmt);
}

int vec0StorageGroupEntrySet(Vec0Table *p, int iVec, uint32_t g, uint32_t entry,
                             int maxLevel) {
  sqlite3_stmt *pStmt = 0;
  int rc = vec0StorageVecStmt(p, iVec, VEC0_VSTMT_GROUP_PUT, &pStmt);
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_int64(pStmt, 1, g);
  if (maxLevel >= 0) {
    sqlite3_bind_int64(pStmt, 2, entry);
    sqlite3_bind_int(pStmt, 3, maxLevel);
  } else {
    sqlite3_bind_null(pStmt, 2);
    sqlite3_bind_null(pStmt, 3);
  }
  return vec0StorageStepDone(pStmt);
}

int vec0StorageOneInt(Vec0Table *p, char *zSql, sqlite3_int64 *piVal, int *pbFound) {
  sqlite3_stmt *pStmt = 0;
  int rc;
  *pbFound = 0;
  if (zSql == 0) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(p->db, zSql, -1, &pStmt, 0);
  sqlite3_free(zSql);
  if (rc != SQLITE_OK) return rc;
  if (sqlite3_step(pStmt) == SQLITE_ROW) {
    *piVal = sqlite3_column_int64(pStmt, 0);
    *pbFound = 1;
  }
  return sqlite3_finalize(pStmt);
}

int vec0StorageLinkOutside(Vec0Table *p, int iVec, sqlite3_int64 *piSlot, int *pbFound) {
  return vec0StorageOneInt(p,
                           sqlite3_mprintf("SELECT slot FROM \"%w\".\"%w_links%d\" "
                                           "WHERE slot < 0 OR slot >= %u",
                                           p->zDb, p->zName, iVec, p->nSlot),
                           piSlot, pbFound);
}

int vec0StorageVectorsClear(Vec0Table *p, int iVec) {
  return vec0StorageExec(p, "DELETE FROM \"%w\".\"%w_vectors%d\"", p->zDb, p->zName,
                         iVec);
}

int vec0StorageLinkClear(Vec0Table *p, int iVec) {
  int rc = vec0StorageExec(p, "DELETE FROM \"%w\".\"%w_links%d\";"
                    "DELETE FROM \"%w\".\"%w_config\" WHERE key='hnsw.%d'",
                 p->zDb, p->zName, iVec, p->zDb, p->zName, iVec);
  if (rc == SQLITE_OK && p->cfg.nPart) {
    rc = vec0StorageExec(p, "UPDATE \"%w\".\"%w_groups\" SET entry%d=NULL, level%d=NULL", p->zDb,
               p->zName, iVec, iVec);
  }
  return rc;
}

int vec0StorageConfigBlob(Vec0Table *p, const char *zKey, const unsigned char **pa,
                          int *pn, int *pbFound) {
  sqlite3_stmt *pStmt = 0;
  int rc = vec0StorageStmt(p, VEC0_STMT_CONFIG_GET, &pStmt);
  *pa = 0;
  *pn = 0;
  *pbFound = 0;
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_text(pStmt, 1, zKey, -1, SQLITE_STATIC);
  if (sqlite3_step(pStmt) == SQLITE_ROW) {
    *pa = sqlite3_column_blob(pStmt, 0);
    *pn = sqlite3_column_bytes(pStmt, 0);
    *pbFound = 1;
    /* a BLOB that could not be copied out of the row is an error, not absent */
    if (*pa == 0 && *pn > 0) return SQLITE_NOMEM;
    return SQLITE_OK;
  }
  /* No row, or an error (out of memory, I/O): not the same as absent. */
  return sqlite3_reset(pStmt);
}

void vec0StorageConfigBlobDone(Vec0Table *p) {
  if (p->aStmt[VEC0_STMT_CONFIG_GET]) sqlite3_reset(p->aStmt[VEC0_STMT_CONFIG_GET]);
}

int vec0StorageConfigDelete(Vec0Table *p, const char *zKey) {
  return vec0StorageExec(p, "DELETE FROM \"%w\".\"%w_config\" WHERE key = %Q", p->zDb,
                         p->zName, zKey);
}

/* 'recall.N': five u32, an i64 (as two u32), then nPoint pairs of u32. */
#define RECALL_HEAD 28
static uint32_t getU32(const unsigned char *a) {
  return (uint32_t)a[0] | (uint32_t)a[1] << 8 | (uint32_t)a[2] << 16 | (uint32_t)a[3] << 24;
}
static void putU32(unsigned char *a, uint32_t v) {
  a[0] = (unsigned char)v;
  a[1] = (unsigned char)(v >> 8);
  a[2] = (unsigned char)(v >> 16);
  a[3] = (unsigned char)(v >> 24);
}

int vec0StorageRecallGet(Vec0Table *p, int iVec, Vec0RecallCurve *pCurve) {
  const unsigned char *a = 0;
  char zKey[32];
  int n = 0, bFound = 0, rc;
  memset(pCurve, 0, sizeof(*pCurve));
  sqlite3_snprintf(sizeof(zKey), zKey, "recall.%d", iVec);
  rc = vec0StorageConfigBlob(p, zKey, &a, &n, &bFound);
  if (rc == SQLITE_OK && bFound) {
    uint32_t nPoint = n >= RECALL_HEAD ? getU32(&a[16]) : 0;
    int bOk = n >= RECALL_HEAD && getU32(a) == 1 && nPoint >= 1 &&
              nPoint <= VEC0_RECALL_POINTS && n == RECALL_HEAD + 8 * (int)nPoint;
    if (bOk) {
      pCurve->nRows = getU32(&a[4]);
      pCurve->nQuery = getU32(&a[8]);
      pCurve->k = getU32(&a[12]);
      pCurve->iChanges = (sqlite3_int64)((uint64_t)getU32(&a[20]) | (uint64_t)getU32(&a[24]) << 32);
      for (uint32_t i = 0; i < nPoint; i++) {
        pCurve->aEf[i] = getU32(&a[RECALL_HEAD + 8 * i]);
        pCurve->aHit[i] = getU32(&a[RECALL_HEAD + 8 * i + 4]);
        if (pCurve->aEf[i] < 1 || pCurve->aEf[i] > VEC0_MAX_K ||
            (i > 0 && pCurve->aEf[i] <= pCurve->aEf[i - 1]) ||
            pCurve->aHit[i] > pCurve->nQuery * pCurve->k) {
          bOk = 0;
        }
      }
      pCurve->nPoint = (int)nPoint;
    }
    if (!bOk || pCurve->nQuery == 0 || pCurve->k == 0) {
      memset(pCurve, 0, sizeof(*pCurve));
      vec0TableError(p, "vec0: table \"%s\": bad %s in %s_config", p->zName, zKey,
                     p->zName);
      rc = SQLITE_CORRUPT_VTAB;
    }
  }
  vec0StorageConfigBlobDone(p);
  return rc;
}

int vec0StorageRecallPut(Vec0Table *p, int iVec, const Vec0RecallCurve *pCurve) {
  unsigned char a[RECALL_HEAD + 8 * VEC0_RECALL_POINTS];
  char zKey[32];
  uint64_t iChanges = (uint64_t)pCurve->iChanges;
  putU32(a, 1);
  putU32(&a[4], pCurve->nRows);
  putU32(&a[8], pCurve->nQuery);
  putU32(&a[12], pCurve->k);
  putU32(&a[16], (uint32_t)pCurve->nPoint);
  putU32(&a[20], (uint32_t)iChanges);
  putU32(&a[24], (uint32_t)(iChanges >> 32));
  for (int i = 0; i < pCurve->nPoint; i++) {
    putU32(&a[RECALL_HEAD + 8 * i], pCurve->aEf[i]);
    putU32(&a[RECALL_HEAD + 8 * i + 4], pCurve->aHit[i]);
  }
  sqlite3_snprintf(sizeof(zKey), zKey, "recall.%d", iVec);
  return vec0StorageConfigSetBlob(p, zKey, a, RECALL_HEAD + 8 * pCurve->nPoint);
}

int vec0StorageExec(Vec0Table *p, const char *zFmt, ...) {
  va_list ap;
  char *zSql;
  int rc;
  va_start(ap, zFmt);
  zSql = sqlite3_vmprintf(zFmt, ap);
  va_end(ap);
  if (zSql == 0) return SQLITE_NOMEM;
  rc = sqlite3_exec(p->db, zSql, 0, 0, 0);
  sqlite3_free(zSql);
  return rc;
}

/* ---------------------------------------------------------------------- */
/* Rows and groups, read for the module                                    */

int vec0StorageRowSlot(Vec0Table *p, sqlite3_int64 iRowid, sqlite3_int64 *piSlot,
                       int *pbFound) {
  sqlite3_stmt *pStmt = 0;
  int rc = vec0StorageStmt(p, VEC0_STMT_ROWS_GET, &pStmt);
  *pbFound = 0;
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_int64(pStmt, 1, iRowid);
  if (sqlite3_step(pStmt) == SQLITE_ROW) {
    *piSlot = sqlite3_column_int64(pStmt, 0);
    *pbFound = 1;
  }
  return sqlite3_reset(pStmt);
}

int vec0StorageKeyRow(Vec0Table *p, sqlite3_value *pKey, sqlite3_int64 *piRowid,
                      sqlite3_int64 *piSlot, int *pbFound) {
  sqlite3_stmt *pStmt = 0;
  int t = sqlite3_value_type(pKey), rc;
  *pbFound = 0;
  if (t == SQLITE_NULL || t == SQLITE_BLOB) return SQLITE_OK;
  rc = vec0StorageStmt(p, VEC0_STMT_ROWS_BY_KEY, &pStmt);
  if (rc == SQLITE_OK) rc = vec0BindText(pStmt, 1, pKey);
  if (rc != SQLITE_OK) return rc;
  if (sqlite3_step(pStmt) == SQLITE_ROW) {
    *piRowid = sqlite3_column_int64(pStmt, 0);
    *piSlot = sqlite3_column_int64(pStmt, 1);
    *pbFound = 1;
  }
  return sqlite3_reset(pStmt);
}

/*
** Rowid iRowid has left T_rows (deleted, or changed by an UPDATE): if it was
** above every id left, T_config keeps it as 'rowid_gone', so that no later
** row is given it (rowidTop).
*/
static int rowidGone(Vec0Table *p, sqlite3_int64 iRowid) {
  sqlite3_stmt *pStmt = 0;
  int rc = vec0StorageStmt(p, VEC0_STMT_ROWS_GONE, &pStmt), bTop = 0;
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_int64(pStmt, 1, iRowid);
  if (sqlite3_step(pStmt) == SQLITE_ROW) bTop = sqlite3_column_int(pStmt, 0);
  rc = sqlite3_reset(pStmt);
  if (rc == SQLITE_OK && bTop) rc = vec0StorageConfigSet(p, "rowid_gone", iRowid);
  return rc;
}

/*
** The rowid of a row inserted without one, as with sqlite-vec (whose rowids
** table is AUTOINCREMENT): one more than the largest rowid the table has
** had.  While the largest is a live row's, SQLite's own choice is that
** (*pbAuto stays set); once it is 'rowid_gone', *piRowid is the one after.
** After 9223372036854775807 there is none: SQLITE_FULL, as sqlite-vec.
*/
static int rowidTop(Vec0Table *p, sqlite3_int64 *piRowid, int *pbAuto) {
  sqlite3_stmt *pStmt = 0;
  int rc = vec0StorageStmt(p, VEC0_STMT_ROWS_TOP, &pStmt);
  if (rc != SQLITE_OK) return rc;
  if (sqlite3_step(pStmt) == SQLITE_ROW) {
    int bGone = sqlite3_column_type(pStmt, 0) != SQLITE_NULL;
    int bLive = sqlite3_column_type(pStmt, 1) != SQLITE_NULL;
    sqlite3_int64 iGone = sqlite3_column_int64(pStmt, 0);
    sqlite3_int64 iMax = sqlite3_column_int64(pStmt, 1);
    if (bGone && sqlite3_column_type(pStmt, 0) != SQLITE_INTEGER) {
      vec0TableError(p, "vec0: table \"%s\": bad rowid_gone in %s_config", p->zName,
                     p->zName);
      rc = SQLITE_CORRUPT_VTAB;
    } else if ((bGone && iGone == INT64_MAX) || (bLive && iMax == INT64_MAX)) {
      /* (SQLite would pick an unused rowid at random, perhaps one used before) */
      vec0TableError(p, "vec0: table \"%s\": no rowid is left for a new row (a row "
                        "has had the largest, %lld)",
                     p->zName, (long long)INT64_MAX);
      rc = SQLITE_FULL;
    } else if (bGone && (!bLive || iGone >= iMax)) {
      *piRowid = iGone + 1;
      *pbAuto = 0;
    }
  }
  {
    int rc2 = sqlite3_reset(pStmt);
    if (rc == SQLITE_OK) rc = rc2;
  }
  return rc;
}

int vec0StorageRowInsert(Vec0Table *p, sqlite3_int64 *piRowid, int bAuto, uint32_t iSlot,
                         sqlite3_value *pKey, sqlite3_value **aArg) {
  const Vec0Config *c = &p->cfg;
  sqlite3_stmt *pStmt = 0;
  int rc = bAuto ? rowidTop(p, piRowid, &bAuto) : SQLITE_OK, iBind = 3;
  if (rc == SQLITE_OK) rc = vec0StorageStmt(p, VEC0_STMT_ROWS_INSERT, &pStmt);
  if (rc != SQLITE_OK) return rc;
  if (bAuto) {
    sqlite3_bind_null(pStmt, 1);
  } else {
    sqlite3_bind_int64(pStmt, 1, *piRowid);
  }
  sqlite3_bind_int64(pStmt, 2, iSlot);
  if (pKey) sqlite3_bind_value(pStmt, iBind++, pKey);
  for (int a = 0; a < c->nAux; a++) sqlite3_bind_value(pStmt, iBind++, aArg[c->aAuxCol[a]]);
  sqlite3_step(pStmt);
  rc = sqlite3_reset(pStmt);
  sqlite3_clear_bindings(pStmt);
  if (rc == SQLITE_OK && bAuto) *piRowid = sqlite3_last_insert_rowid(p->db);
  return rc;
}

int vec0StorageRowDelete(Vec0Table *p, sqlite3_int64 iRowid) {
  sqlite3_stmt *pStmt = 0;
  int rc = vec0StorageStmt(p, VEC0_STMT_ROWS_DELETE, &pStmt);
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_int64(pStmt, 1, iRowid);
  rc = vec0StorageStepDone(pStmt);
  if (rc == SQLITE_OK) rc = rowidGone(p, iRowid);
  return rc;
}

int vec0StorageRowRekey(Vec0Table *p, sqlite3_int64 iOld, sqlite3_int64 iNew,
                        sqlite3_value *pKey) {
  sqlite3_stmt *pStmt = 0;
  int rc = vec0StorageStmt(p, VEC0_STMT_ROWS_REKEY, &pStmt);
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_int64(pStmt, 1, iOld);
  sqlite3_bind_int64(pStmt, 2, iNew);
  if (pKey) sqlite3_bind_value(pStmt, 3, pKey);
  sqlite3_step(pStmt);
  rc = sqlite3_reset(pStmt);
  sqlite3_clear_bindings(pStmt);
  if (rc == SQLITE_OK && iNew != iOld) rc = rowidGone(p, iOld);
  return rc;
}

int vec0StorageRowSetSlot(Vec0Table *p, sqlite3_int64 iRowid, uint32_t iSlot) {
  sqlite3_stmt *pStmt = 0;
  int rc = vec0StorageStmt(p, VEC0_STMT_ROWS_SET_SLOT, &pStmt);
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_int64(pStmt, 1, iRowid);
  sqlite3_bind_int64(pStmt, 2, iSlot);
  sqlite3_step(pStmt);
  return sqlite3_reset(pStmt);
}

int vec0StorageRowAuxSet(Vec0Table *p, sqlite3_int64 iRowid, sqlite3_value **aArg) {
  const Vec0Config *c = &p->cfg;
  sqlite3_stmt *pStmt = 0, *pGet = 0;
  int rc = vec0StorageStmt(p, VEC0_STMT_ROWS_AUX_SET, &pStmt);
  if (rc == SQLITE_OK) rc = vec0StorageStmt(p, VEC0_STMT_ROWS_AUX_GET, &pGet);
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_int64(pGet, 1, iRowid);
  if (sqlite3_step(pGet) == SQLITE_ROW) {
    sqlite3_bind_int64(pStmt, 1, iRowid);
    for (int a = 0; a < c->nAux; a++) {
      sqlite3_value *v = aArg[c->aAuxCol[a]];
      if (sqlite3_value_nochange(v)) v = sqlite3_column_value(pGet, a + 1);
      sqlite3_bind_value(pStmt, a + 2, v);
    }
    sqlite3_step(pStmt);
    rc = sqlite3_reset(pStmt);
    sqlite3_clear_bindings(pStmt);
  }
  {
    int rc2 = sqlite3_reset(pGet);
    if (rc == SQLITE_OK) rc = rc2;
  }
  return rc;
}

int vec0StorageRowColumn(Vec0Table *p, sqlite3_int64 iRowid, int iAux,
                         sqlite3_context *ctx) {
  sqlite3_stmt *pStmt = 0;
  int rc = vec0StorageStmt(p, iAux < 0 ? VEC0_STMT_ROWS_GET : VEC0_STMT_ROWS_AUX_GET,
                           &pStmt);
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_int64(pStmt, 1, iRowid);
  if (sqlite3_step(pStmt) == SQLITE_ROW) {
    sqlite3_result_value(ctx, sqlite3_column_value(pStmt, iAux < 0 ? 1 : iAux + 1));
  }
  return sqlite3_reset(pStmt);
}

int vec0StorageRowEach(Vec0Table *p,
                       int (*xRow)(void *pCtx, sqlite3_int64 iSlot, sqlite3_value **apVal),
                       void *pCtx) {
  sqlite3_value *apVal[1 + VEC0_MAX_AUX_COLUMNS];
  sqlite3_stmt *pStmt = 0;
  int rc = vec0StorageStmt(p, VEC0_STMT_ROWS_FILTER, &pStmt);
  if (rc != SQLITE_OK) return rc;
  while (rc == SQLITE_OK && sqlite3_step(pStmt) == SQLITE_ROW) {
    for (int i = 0; i <= p->cfg.nAux; i++) apVal[i] = sqlite3_column_value(pStmt, 1 + i);
    rc = xRow(pCtx, sqlite3_column_int64(pStmt, 0), apVal);
  }
  {
    int rc2 = sqlite3_reset(pStmt);
    if (rc == SQLITE_OK) rc = rc2;
  }
  return rc;
}

int vec0StorageGroupGet(Vec0Table *p, const Vec0Cell *const *apVal, sqlite3_int64 *pg,
                        sqlite3_int64 *pnLive, int *pbFound) {
  sqlite3_stmt *pStmt = 0;
  int rc = vec0StorageStmt(p, VEC0_STMT_GROUP_FIND, &pStmt);
  *pbFound = 0;
  if (rc != SQLITE_OK) return rc;
  for (int i = 0; i < p->cfg.nPart; i++) vec0CellBind(pStmt, i + 1, apVal[i]);
  if (sqlite3_step(pStmt) == SQLITE_ROW) {
    *pg = sqlite3_column_int64(pStmt, 0);
    *pnLive = sqlite3_column_int64(pStmt, 1);
    *pbFound = 1;
  }
  return sqlite3_reset(pStmt);
}

int vec0StorageGroupEach(Vec0Table *p,
                         int (*xGroup)(void *pCtx, sqlite3_int64 g, sqlite3_int64 nLive,
                                       sqlite3_value **apKey),
                         void *pCtx) {
  sqlite3_value *apKey[VEC0_MAX_PARTITION_COLUMNS];
  sqlite3_stmt *pStmt = 0;
  int rc = vec0StorageStmt(p, VEC0_STMT_GROUP_ALL, &pStmt);
  if (rc != SQLITE_OK) return rc;
  while (rc == SQLITE_OK && sqlite3_step(pStmt) == SQLITE_ROW) {
    for (int i = 0; i < p->cfg.nPart; i++) apKey[i] = sqlite3_column_value(pStmt, 2 + i);
    rc = xGroup(pCtx, sqlite3_column_int64(pStmt, 0), sqlite3_column_int64(pStmt, 1),
                apKey);
  }
  {
    int rc2 = sqlite3_reset(pStmt);
    if (rc == SQLITE_OK) rc = rc2;
  }
  return rc;
}

/*
** The full scan of a cursor: the table's cached statement, unless another
** scan of the table (a self-join) is using it: then one of the cursor's
** own (*pbOwn), finalized at the end.
*/
int vec0StorageRowScan(Vec0Table *p, sqlite3_stmt **ppStmt, int *pbOwn) {
  int rc;
  *pbOwn = 0;
  if (!p->bScanBusy) {
    rc = vec0StorageStmt(p, VEC0_STMT_ROWS_SCAN, ppStmt);
    if (rc == SQLITE_OK) p->bScanBusy = 1;
  } else {
    char *zSql = stmtSql(p, VEC0_STMT_ROWS_SCAN);
    if (zSql == 0) return SQLITE_NOMEM;
    rc = sqlite3_prepare_v2(p->db, zSql, -1, ppStmt, 0);
    sqlite3_free(zSql);
    *pbOwn = 1;
  }
  return rc;
}

void vec0StorageRowScanEnd(Vec0Table *p, sqlite3_stmt *pStmt, int bOwn) {
  if (bOwn) {
    sqlite3_finalize(pStmt);
  } else {
    sqlite3_reset(pStmt);
    p->bScanBusy = 0;
  }
}
