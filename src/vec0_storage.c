/*
** vec0_storage.c: the shadow tables of a vec0 table and the cache over them.
**
** This file creates, renames and drops the shadow tables described in
** vec0Int.h, prepares (lazily, once) every statement that reads or writes
** them, and keeps the in-memory cache: slot states and rowids, partition and
** metadata values, vectors (each held once, in its element type, contiguous
** by slot so the exact scan reads memory sequentially) and the HNSW graphs.
** Everything is loaded on first use, one slot at a time, or all at once when
** a scan needs every slot.  It calls SQLite, the distance kernels and the
** HNSW library; it knows nothing of xBestIndex or cursors.
*/
#include "vec0Int.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* Statements                                                              */

/* Appends ", <zPre>0, <zPre>1, ..." (n items, each followed by zPost). */
static char *appendList(char *z, const char *zPre, int n, const char *zPost) {
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
      z = appendList(z, "a", nAux, "");
      if (z) z = sqlite3_mprintf("%z FROM \"%w\".\"%w_rows\"", z, zDb, zT);
      return z;
    case VEC0_STMT_ROWS_BY_KEY:
      return sqlite3_mprintf("SELECT id, slot FROM \"%w\".\"%w_rows\" WHERE key=?",
                             zDb, zT);
    case VEC0_STMT_ROWS_INSERT:
      z = sqlite3_mprintf("INSERT INTO \"%w\".\"%w_rows\"(id, slot%s", zDb, zT,
                          bKey ? ", key" : "");
      z = appendList(z, "a", nAux, "");
      if (z) z = sqlite3_mprintf("%z) VALUES(?, ?%s", z, bKey ? ", ?" : "");
      z = appendList(z, "?", 0, "");
      for (int i = 0; z && i < nAux; i++) z = sqlite3_mprintf("%z, ?", z);
      if (z) z = sqlite3_mprintf("%z)", z);
      return z;
    case VEC0_STMT_ROWS_DELETE:
      return sqlite3_mprintf("DELETE FROM \"%w\".\"%w_rows\" WHERE id=?", zDb, zT);
    case VEC0_STMT_ROWS_REKEY:
      return sqlite3_mprintf("UPDATE \"%w\".\"%w_rows\" SET id=?2%s WHERE id=?1",
                             zDb, zT, bKey ? ", key=?3" : "");
    case VEC0_STMT_ROWS_SET_SLOT:
      return sqlite3_mprintf("UPDATE \"%w\".\"%w_rows\" SET slot=?2 WHERE id=?1", zDb,
                             zT);
    case VEC0_STMT_ROWS_AUX_GET:
      z = sqlite3_mprintf("SELECT NULL");
      z = appendList(z, "a", nAux, "");
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
      z = appendList(z, "p", nPart, "");
      z = appendList(z, "m", nMeta, "");
      if (z) {
        z = sqlite3_mprintf("%z%s FROM \"%w\".\"%w_slots\"%s", z, nPart ? ", g" : "",
                            zDb, zT, e == VEC0_STMT_SLOTS_GET ? " WHERE slot=?" : "");
      }
      return z;
    case VEC0_STMT_SLOTS_PUT:
      z = sqlite3_mprintf("INSERT OR REPLACE INTO \"%w\".\"%w_slots\"(slot, id", zDb,
                          zT);
      z = appendList(z, "p", nPart, "");
      z = appendList(z, "m", nMeta, "");
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
      z = appendList(z, "p", nPart, "");
      if (z) z = sqlite3_mprintf("%z) VALUES(0", z);
      for (int i = 0; z && i < nPart; i++) z = sqlite3_mprintf("%z, ?", z);
      if (z) z = sqlite3_mprintf("%z)", z);
      return z;
    case VEC0_STMT_GROUP_LIVE:
      return sqlite3_mprintf("UPDATE \"%w\".\"%w_groups\" SET live=live+?2 WHERE g=?1",
                             zDb, zT);
    case VEC0_STMT_GROUP_ALL:
      z = sqlite3_mprintf("SELECT g, live");
      z = appendList(z, "p", nPart, "");
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
static int stepDone(sqlite3_stmt *pStmt) {
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
  return stepDone(pStmt);
}

int vec0StorageConfigSetBlob(Vec0Table *p, const char *zKey, const void *a, int n) {
  sqlite3_stmt *pStmt = 0;
  int rc = vec0StorageStmt(p, VEC0_STMT_CONFIG_SET, &pStmt);
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_text(pStmt, 1, zKey, -1, SQLITE_STATIC);
  sqlite3_bind_blob(pStmt, 2, a, n, SQLITE_STATIC);
  return stepDone(pStmt);
}

/* ---------------------------------------------------------------------- */
/* Create, connect, rename, drop                                           */

static int execf(Vec0Table *p, const char *zFmt, ...) {
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

static sqlite3_int64 hashName(const char *z) {
  uint64_t h = 1469598103934665603ull;
  for (; *z; z++) h = (h ^ (unsigned char)*z) * 1099511628211ull;
  return (sqlite3_int64)(h >> 1);
}

/* The page size of the table's schema. */
static int pageSize(Vec0Table *p, int *pnPage) {
  sqlite3_stmt *pStmt = 0;
  char *zSql = sqlite3_mprintf("PRAGMA \"%w\".page_size", p->zDb);
  int rc;
  *pnPage = 4096;
  if (zSql == 0) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(p->db, zSql, -1, &pStmt, 0);
  sqlite3_free(zSql);
  if (rc != SQLITE_OK) return rc;
  if (sqlite3_step(pStmt) == SQLITE_ROW) *pnPage = sqlite3_column_int(pStmt, 0);
  return sqlite3_finalize(pStmt);
}

/*
** The pages a BLOB of n bytes takes as one row of a table b-tree with pages
** of nPage bytes, after SQLite's rule for the part of a record kept in the
** leaf (what does not fit goes to whole overflow pages, the rest stays in
** the leaf, which several small cells share).
*/
static double rowPages(double n, int nPage) {
  int maxLocal = nPage - 35, minLocal = (nPage - 12) * 32 / 255 - 23;
  double local = n, nOver = 0, cell;
  if (n > maxLocal) {
    double surplus = minLocal + fmod(n - minLocal, (double)(nPage - 4));
    local = surplus <= maxLocal ? surplus : minLocal;
    nOver = ceil((n - local) / (nPage - 4));
  }
  /* cell pointer, record header, payload size and rowid varints, overflow */
  cell = local + 14 + (nOver > 0 ? 4 : 0);
  return nOver + 1.0 / floor((nPage - 8) / cell);
}

uint32_t vec0StorageChunkSize(size_t nBytes, int nPage) {
  double aEff[VEC0_MAX_CHUNK + 1], best = 0;
  uint32_t c;
  if (nPage < 512 || nPage > 65536) nPage = 4096;
  for (c = 1; c <= VEC0_MAX_CHUNK; c++) {
    double n = (double)nBytes * c;
    aEff[c] = n / (rowPages(n, nPage) * nPage);
    if (aEff[c] > best) best = aEff[c];
    if (n > 64.0 * nPage) break;
  }
  /* The smallest chunk within 2% of the best: small chunks are cheap to
  ** rewrite and to read for one vector. */
  for (c = 1; c <= VEC0_MAX_CHUNK && aEff[c] < best * 0.98; c++) {
  }
  return c;
}

int vec0StorageCreate(Vec0Table *p, char **pzErr) {
  const char *zDb = p->zDb, *zT = p->zName;
  Vec0Config *c = &p->cfg;
  int rc = SQLITE_OK, nPage = 4096;
  char *z;

  rc = execf(p, "CREATE TABLE \"%w\".\"%w_config\"(key TEXT PRIMARY KEY, value) "
                "WITHOUT ROWID",
             zDb, zT);
  if (rc == SQLITE_OK) {
    z = sqlite3_mprintf("CREATE TABLE \"%w\".\"%w_rows\"(id INTEGER PRIMARY KEY, "
                        "slot INTEGER NOT NULL%s",
                        zDb, zT, c->ePk == VEC0_PK_TEXT ? ", key TEXT NOT NULL UNIQUE" : "");
    z = appendList(z, "a", c->nAux, "");
    rc = z ? execf(p, "%z)", z) : SQLITE_NOMEM;
  }
  if (rc == SQLITE_OK) {
    z = sqlite3_mprintf("CREATE TABLE \"%w\".\"%w_slots\"(slot INTEGER PRIMARY KEY, "
                        "id INTEGER",
                        zDb, zT);
    z = appendList(z, "p", c->nPart, "");
    z = appendList(z, "m", c->nMeta, "");
    rc = z ? execf(p, "%z%s)", z, c->nPart ? ", g INTEGER NOT NULL" : "") : SQLITE_NOMEM;
  }
  /*
  ** No CREATE INDEX anywhere: a vtab's xRename cannot DROP an index (the
  ** ALTER TABLE is still reading the schema), and an index keeps its name
  ** through ALTER TABLE, so it would collide with the next table of the old
  ** name.  Tables and their UNIQUE constraints are renamed by SQLite.
  */
  if (rc == SQLITE_OK) {
    rc = execf(p, c->nPart ? "CREATE TABLE \"%w\".\"%w_free\"(g INTEGER NOT NULL, "
                             "slot INTEGER NOT NULL, PRIMARY KEY(g, slot)) WITHOUT ROWID"
                           : "CREATE TABLE \"%w\".\"%w_free\"(slot INTEGER PRIMARY KEY)",
               zDb, zT);
  }
  if (rc == SQLITE_OK && c->nPart) {
    z = sqlite3_mprintf("CREATE TABLE \"%w\".\"%w_groups\"(g INTEGER PRIMARY KEY", zDb,
                        zT);
    z = appendList(z, "p", c->nPart, "");
    if (z) z = sqlite3_mprintf("%z, live INTEGER NOT NULL", z);
    for (int i = 0; z && i < c->nVec; i++) {
      z = sqlite3_mprintf("%z, entry%d INTEGER, level%d INTEGER", z, i, i);
    }
    if (z) z = sqlite3_mprintf("%z, UNIQUE(p0", z);
    for (int i = 1; z && i < c->nPart; i++) z = sqlite3_mprintf("%z, p%d", z, i);
    rc = z ? execf(p, "%z))", z) : SQLITE_NOMEM;
  }
  if (rc == SQLITE_OK) rc = pageSize(p, &nPage);
  for (int i = 0; rc == SQLITE_OK && i < c->nVec; i++) {
    char zKey[32];
    p->anChunk[i] = vec0StorageChunkSize(p->aVecBytes[i], nPage);
    sqlite3_snprintf(sizeof(zKey), zKey, "chunk.%d", i);
    rc = vec0StorageConfigSet(p, zKey, p->anChunk[i]);
    if (rc != SQLITE_OK) break;
    rc = execf(p, "CREATE TABLE \"%w\".\"%w_vectors%d\"(chunk INTEGER PRIMARY KEY, "
                  "v BLOB NOT NULL)",
               zDb, zT, i);
    if (rc == SQLITE_OK && p->aIndex[i].pModule->zShadow) {
      rc = execf(p, "CREATE TABLE \"%w\".\"%w_%s%d\"(slot INTEGER PRIMARY KEY, "
                    "links BLOB NOT NULL)",
                 zDb, zT, p->aIndex[i].pModule->zShadow, i);
    }
  }
  p->seed = hashName(zT);
  if (rc == SQLITE_OK) rc = vec0StorageConfigSet(p, "format", VEC0_FORMAT_VERSION);
  if (rc == SQLITE_OK) rc = vec0StorageConfigSet(p, "seed", p->seed);
  if (rc == SQLITE_OK) rc = vec0StorageConfigSet(p, "changes", 0);
  if (rc == SQLITE_OK) rc = vec0StorageConfigSet(p, "next_slot", 0);
  if (rc == SQLITE_OK) rc = vec0StorageConfigSet(p, "rows", 0);
  if (rc != SQLITE_OK && *pzErr == 0) {
    *pzErr = sqlite3_mprintf("vec0: table \"%s\": cannot create shadow tables: %s",
                             zT, sqlite3_errmsg(p->db));
  }
  return rc;
}

static int tableExists(Vec0Table *p, const char *zSuffix, int *pbExists) {
  sqlite3_stmt *pStmt = 0;
  char *zSql = sqlite3_mprintf(
      "SELECT 1 FROM \"%w\".sqlite_schema WHERE type='table' AND name='%q_%q'",
      p->zDb, p->zName, zSuffix);
  int rc;
  if (zSql == 0) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(p->db, zSql, -1, &pStmt, 0);
  sqlite3_free(zSql);
  if (rc != SQLITE_OK) return rc;
  *pbExists = sqlite3_step(pStmt) == SQLITE_ROW;
  return sqlite3_finalize(pStmt);
}

int vec0StorageConnect(Vec0Table *p, char **pzErr) {
  int rc, bExists = 0, bFound = 0;
  sqlite3_int64 iVal = 0;
  rc = tableExists(p, "config", &bExists);
  if (rc == SQLITE_OK && !bExists) {
    int bChunks = 0;
    rc = tableExists(p, "chunks", &bChunks);
    if (rc == SQLITE_OK && bChunks) {
      *pzErr = sqlite3_mprintf(
          "vec0: table \"%s\" was created by sqlite-vec (it has the shadow table "
          "\"%s_chunks\"), whose storage this extension does not read; to migrate, "
          "read the rows with sqlite-vec and insert them into a new vec0 table",
          p->zName, p->zName);
      return SQLITE_ERROR;
    }
    if (rc == SQLITE_OK) {
      *pzErr = sqlite3_mprintf("vec0: table \"%s\": shadow table \"%s_config\" is "
                               "missing",
                               p->zName, p->zName);
      return SQLITE_CORRUPT_VTAB;
    }
  }
  if (rc == SQLITE_OK) rc = vec0StorageConfigGet(p, "format", &iVal, &bFound);
  if (rc == SQLITE_OK && (!bFound || iVal < 1)) {
    *pzErr = sqlite3_mprintf("vec0: table \"%s\": bad format version in %s_config",
                             p->zName, p->zName);
    return SQLITE_CORRUPT_VTAB;
  }
  if (rc == SQLITE_OK && iVal > VEC0_FORMAT_VERSION) {
    *pzErr = sqlite3_mprintf("vec0: table \"%s\" has format version %lld, newer than "
                             "this extension's %d: upgrade the extension",
                             p->zName, iVal, VEC0_FORMAT_VERSION);
    return SQLITE_ERROR;
  }
  /* The other shadow tables: a missing one is named here rather than being
  ** an "SQL logic error" from the first statement that reads it. */
  for (int i = -4; rc == SQLITE_OK && i < 2 * p->cfg.nVec; i++) {
    static const char *azFixed[] = {"rows", "slots", "free", "groups"};
    char zSuffix[32];
    if (i == -1 && p->cfg.nPart == 0) {
      continue; /* T_groups exists with partition keys only */
    } else if (i < 0) {
      sqlite3_snprintf(sizeof(zSuffix), zSuffix, "%s", azFixed[i + 4]);
    } else if (i % 2 == 0 || p->aIndex[i / 2].pModule->zShadow) {
      sqlite3_snprintf(sizeof(zSuffix), zSuffix, "%s%d",
                       i % 2 ? p->aIndex[i / 2].pModule->zShadow : "vectors", i / 2);
    } else {
      continue;
    }
    rc = tableExists(p, zSuffix, &bExists);
    if (rc == SQLITE_OK && !bExists) {
      *pzErr = sqlite3_mprintf("vec0: table \"%s\": shadow table \"%s_%s\" is missing",
                               p->zName, p->zName, zSuffix);
      return SQLITE_CORRUPT_VTAB;
    }
  }
  if (rc == SQLITE_OK) rc = vec0StorageConfigGet(p, "seed", &p->seed, &bFound);
  for (int i = 0; rc == SQLITE_OK && i < p->cfg.nVec; i++) {
    char zKey[32];
    sqlite3_snprintf(sizeof(zKey), zKey, "chunk.%d", i);
    rc = vec0StorageConfigGet(p, zKey, &iVal, &bFound);
    if (rc == SQLITE_OK && (!bFound || iVal < 1 || iVal > VEC0_MAX_CHUNK)) {
      *pzErr = sqlite3_mprintf("vec0: table \"%s\": bad %s in %s_config", p->zName,
                               zKey, p->zName);
      return SQLITE_CORRUPT_VTAB;
    }
    if (rc != SQLITE_OK) break;
    p->anChunk[i] = (uint32_t)iVal;
  }
  if (rc != SQLITE_OK && *pzErr == 0) {
    *pzErr = sqlite3_mprintf("vec0: table \"%s\": %s", p->zName,
                             p->base.zErrMsg ? p->base.zErrMsg : sqlite3_errmsg(p->db));
  }
  return rc;
}

int vec0StorageDestroy(Vec0Table *p) {
  int rc = execf(p, "DROP TABLE IF EXISTS \"%w\".\"%w_config\";"
                    "DROP TABLE IF EXISTS \"%w\".\"%w_rows\";"
                    "DROP TABLE IF EXISTS \"%w\".\"%w_slots\";"
                    "DROP TABLE IF EXISTS \"%w\".\"%w_free\";"
                    "DROP TABLE IF EXISTS \"%w\".\"%w_groups\";",
                 p->zDb, p->zName, p->zDb, p->zName, p->zDb, p->zName, p->zDb,
                 p->zName, p->zDb, p->zName);
  for (int i = 0; rc == SQLITE_OK && i < p->cfg.nVec; i++) {
    rc = execf(p, "DROP TABLE IF EXISTS \"%w\".\"%w_vectors%d\";"
                  "DROP TABLE IF EXISTS \"%w\".\"%w_links%d\";",
               p->zDb, p->zName, i, p->zDb, p->zName, i);
  }
  return rc;
}

int vec0StorageRename(Vec0Table *p, const char *zNew) {
  int rc;
  vec0StorageFinalize(p);
  static const char *azFixed[] = {"config", "rows", "slots", "free", "groups"};
  rc = SQLITE_OK;
  for (int i = 0; rc == SQLITE_OK && i < 5; i++) {
    if (i == 4 && !p->cfg.nPart) break;
    rc = execf(p, "ALTER TABLE \"%w\".\"%w_%s\" RENAME TO \"%w_%s\"", p->zDb,
               p->zName, azFixed[i], zNew, azFixed[i]);
  }
  for (int i = 0; rc == SQLITE_OK && i < p->cfg.nVec; i++) {
    rc = execf(p, "ALTER TABLE \"%w\".\"%w_vectors%d\" RENAME TO \"%w_vectors%d\"",
               p->zDb, p->zName, i, zNew, i);
    if (rc == SQLITE_OK && p->aIndex[i].pModule->zShadow) {
      const char *zS = p->aIndex[i].pModule->zShadow;
      rc = execf(p, "ALTER TABLE \"%w\".\"%w_%s%d\" RENAME TO \"%w_%s%d\"", p->zDb,
                 p->zName, zS, i, zNew, zS, i);
    }
  }
  if (rc == SQLITE_OK) {
    char *z = sqlite3_mprintf("%s", zNew);
    if (z == 0) return SQLITE_NOMEM;
    sqlite3_free(p->zName);
    p->zName = z;
  }
  return rc;
}

int vec0StorageShadowName(const char *z) {
  static const char *azFixed[] = {"config", "rows", "slots", "free", "groups"};
  for (int i = 0; i < 5; i++) {
    if (sqlite3_stricmp(z, azFixed[i]) == 0) return 1;
  }
  for (int i = 0; i < 2; i++) {
    const char *zPre = i ? "links" : "vectors";
    size_t n = strlen(zPre);
    if (sqlite3_strnicmp(z, zPre, (int)n) == 0 && z[n] >= '0' && z[n] <= '9') {
      const char *zNum = &z[n];
      if (zNum[1] == 0 || (zNum[0] != '0' && zNum[1] >= '0' && zNum[1] <= '9' &&
                           zNum[2] == 0)) {
        return 1;
      }
    }
  }
  return 0;
}

/* ---------------------------------------------------------------------- */
/* The cache                                                               */

void vec0StorageDiscard(Vec0Table *p) {
  if (p->aCell) {
    for (size_t i = 0; i < (size_t)p->nSlotAlloc * (size_t)p->nFilt; i++) {
      sqlite3_free(p->aCell[i].z);
    }
  }
  sqlite3_free(p->aCell);
  sqlite3_free(p->aSlotState);
  sqlite3_free(p->aSlotRowid);
  sqlite3_free(p->aSlotGroup);
  p->aCell = 0;
  p->aSlotState = 0;
  p->aSlotRowid = 0;
  p->aSlotGroup = 0;
  sqlite3_free(p->aChunkBuf);
  p->aChunkBuf = 0;
  p->nChunkBuf = 0;
  for (int i = 0; i < VEC0_MAX_VECTOR_COLUMNS; i++) {
    sqlite3_free(p->aVecMem[i]);
    p->aVecMem[i] = 0;
    sqlite3_free(p->aVecLoaded[i]);
    p->aVec[i] = 0;
    p->aVecLoaded[i] = 0;
    p->bAllVec[i] = 0;
    p->abHuge[i] = 0;
    p->aCollapsed[i] = 0;
    p->abHugeDone[i] = 0;
    p->aWarmChunk[i] = 0;
    /* An index's in-memory state is part of the cache (vec0_index.h). */
    if (p->aIndex[i].pModule) p->aIndex[i].pModule->xDiscard(&p->aIndex[i]);
  }
  p->nSlotAlloc = 0;
  p->nSlot = 0;
  p->bAllSlots = 0;
  p->bCache = 0;
  p->bCountersDirty = 0;
}

/*
** Gives vector column i room for nSlot vectors (the first nSlotAlloc kept).
** bHuge: in a new block aligned to 2 MiB and backed by huge pages; a block
** grown by realloc() would be moved by mremap() to any alignment, which
** splits its huge pages.  aVec[i] points into the block aVecMem[i].
*/
#define HUGE_PAGE ((size_t)2 << 20)
static int vecArrayResize(Vec0Table *p, int i, size_t nSlot, int bHuge) {
  size_t nOld = (size_t)p->nSlotAlloc * p->aVecBytes[i], nNew = nSlot * p->aVecBytes[i];
  unsigned char *aMem = 0, *a;
  if (bHuge && nNew >= 2 * HUGE_PAGE) aMem = sqlite3_malloc64(nNew + HUGE_PAGE);
  if (aMem == 0) {
    /* Small, lazily read, or short of memory: an ordinary block. */
    if (nNew == nOld && p->aVecMem[i]) return SQLITE_OK;
    aMem = sqlite3_realloc64(p->aVecMem[i], nNew ? nNew : 1);
    if (aMem == 0) return SQLITE_NOMEM;
    p->aVecMem[i] = p->aVec[i] = aMem;
    p->abHuge[i] = 0;
    return SQLITE_OK;
  }
  a = aMem + ((HUGE_PAGE - ((uintptr_t)aMem & (HUGE_PAGE - 1))) & (HUGE_PAGE - 1));
  vec0HnswAdviseHuge(a, nNew);
  {
    /*
    ** Copy the vectors in use 2 MiB at a time, handing each copied part of
    ** the old block back to the system at once: the two blocks never hold
    ** the vectors twice, which for a large table would double its peak
    ** memory.
    */
    size_t nUsed = (size_t)p->nSlot * p->aVecBytes[i], off;
    if (nUsed > nOld) nUsed = nOld;
    if (nUsed > nNew) nUsed = nNew;
    for (off = 0; off < nUsed; off += HUGE_PAGE) {
      size_t n = nUsed - off < HUGE_PAGE ? nUsed - off : HUGE_PAGE;
      memcpy(a + off, p->aVec[i] + off, n);
      vec0HnswReleasePages(p->aVec[i] + off, n);
    }
  }
  sqlite3_free(p->aVecMem[i]);
  p->aVecMem[i] = aMem;
  p->aVec[i] = a;
  p->abHuge[i] = 1;
  p->aCollapsed[i] = (size_t)-1; /* written through the advice: huge already */
  return SQLITE_OK;
}

/*
** Grows array a from nOld to nNew elements of sz bytes.  bZero clears the new
** part; vectors are not cleared (aVecLoaded says which are valid), so that
** the pages of a large vector array are only touched when a vector is read.
*/
static void *growArray(void *a, size_t nOld, size_t nNew, size_t sz, int bZero,
                       int *pRc) {
  unsigned char *aNew;
  if (*pRc != SQLITE_OK) return a;
  aNew = sqlite3_realloc64(a, nNew * sz);
  if (aNew == 0) {
    *pRc = SQLITE_NOMEM;
    return a;
  }
  if (bZero) memset(aNew + nOld * sz, 0, (nNew - nOld) * sz);
  return aNew;
}

int vec0StorageGrow(Vec0Table *p, uint32_t nSlot) {
  int rc = SQLITE_OK;
  size_t nOld = p->nSlotAlloc, nNew;
  if (nSlot <= p->nSlotAlloc) return SQLITE_OK;
  nNew = nOld ? nOld : 64;
  while (nNew < nSlot) nNew *= 2;
  /* Each array is grown separately; nSlotAlloc moves only when all are. */
  p->aSlotState = growArray(p->aSlotState, nOld, nNew, 1, 1, &rc);
  p->aSlotRowid = growArray(p->aSlotRowid, nOld, nNew, sizeof(sqlite3_int64), 1, &rc);
  if (p->cfg.nPart) {
    p->aSlotGroup = growArray(p->aSlotGroup, nOld, nNew, sizeof(uint32_t), 1, &rc);
  }
  if (p->nFilt) {
    Vec0Cell *a = growArray(p->aCell, nOld * p->nFilt, nNew * p->nFilt,
                            sizeof(Vec0Cell), 1, &rc);
    p->aCell = a;
  }
  for (int i = 0; i < p->cfg.nVec; i++) {
    /*
    ** Huge pages once every vector is in memory (all of them are then
    ** written in order, by inserts or a full load), not for a lazily read
    ** cache: see askHuge().
    */
    if (rc == SQLITE_OK) rc = vecArrayResize(p, i, nNew, p->abHuge[i] || p->bAllVec[i]);
    p->aVecLoaded[i] = growArray(p->aVecLoaded[i], nOld, nNew, 1, 1, &rc);
  }
  if (rc == SQLITE_OK) p->nSlotAlloc = (uint32_t)nNew;
  return rc;
}

/* Reads the counters of the cache from T_config. */
static int loadCounters(Vec0Table *p) {
  sqlite3_int64 iNext = 0, nRows = 0;
  int bFound = 0;
  int rc = vec0StorageConfigGet(p, "changes", &p->iChanges, &bFound);
  if (rc == SQLITE_OK) rc = vec0StorageConfigGet(p, "next_slot", &iNext, &bFound);
  if (rc == SQLITE_OK && (!bFound || iNext < 0 || iNext > 0x7fffffff)) {
    vec0TableError(p, "vec0: table \"%s\": bad next_slot %lld in %s_config", p->zName,
                   iNext, p->zName);
    rc = SQLITE_CORRUPT_VTAB;
  }
  if (rc == SQLITE_OK) rc = vec0StorageConfigGet(p, "rows", &nRows, &bFound);
  if (rc == SQLITE_OK && (!bFound || nRows < 0 || nRows > iNext)) {
    vec0TableError(p, "vec0: table \"%s\": bad rows %lld in %s_config", p->zName,
                   nRows, p->zName);
    rc = SQLITE_CORRUPT_VTAB;
  }
  /*
  ** The persisted ef_search defaults are read with the counters: like them
  ** they change with a transaction ('ef_search=N') that may be rolled back
  ** or made by another connection.
  */
  for (int i = 0; rc == SQLITE_OK && i < p->cfg.nVec; i++) {
    char zKey[32];
    sqlite3_int64 iEf = 0;
    sqlite3_snprintf(sizeof(zKey), zKey, "ef_search.%d", i);
    rc = vec0StorageConfigGet(p, zKey, &iEf, &bFound);
    if (rc == SQLITE_OK && bFound && (iEf < 1 || iEf > VEC0_MAX_K)) {
      vec0TableError(p, "vec0: table \"%s\": bad %s in %s_config", p->zName, zKey,
                     p->zName);
      rc = SQLITE_CORRUPT_VTAB;
    }
    if (rc == SQLITE_OK) p->aEfSearch[i] = bFound ? (int)iEf : p->cfg.aVec[i].efSearch;
  }
  if (rc == SQLITE_OK) {
    p->nSlot = (uint32_t)iNext;
    p->nLive = nRows;
    /* An empty table has all of its (no) vectors in memory. */
    for (int i = 0; i < p->cfg.nVec; i++) p->bAllVec[i] = p->nSlot == 0;
    rc = vec0StorageGrow(p, p->nSlot);
  }
  return rc;
}

static unsigned int dataVersion(Vec0Table *p) {
  unsigned int v = 0;
  if (sqlite3_file_control(p->db, p->zDb, SQLITE_FCNTL_DATA_VERSION, &v) !=
      SQLITE_OK) {
    v = 0;
  }
  return v;
}

int vec0StorageValidate(Vec0Table *p) {
  int rc = SQLITE_OK;
  unsigned int v = dataVersion(p);
  if (p->bCache) {
    sqlite3_int64 iChanges = 0;
    int bFound = 0;
    if (v == p->iDataVersion && v != 0) return SQLITE_OK;
    rc = vec0StorageConfigGet(p, "changes", &iChanges, &bFound);
    if (rc != SQLITE_OK) return rc;
    if (iChanges == p->iChanges) {
      p->iDataVersion = v;
      return SQLITE_OK;
    }
    vec0StorageDiscard(p);
  }
  rc = loadCounters(p);
  if (rc == SQLITE_OK) {
    p->bCache = 1;
    p->iDataVersion = v;
  } else {
    vec0StorageDiscard(p);
  }
  return rc;
}

/* Loads slot state, rowid and filter cells from the current row of pStmt. */
static int slotFromRow(Vec0Table *p, uint32_t iSlot, sqlite3_stmt *pStmt, int iCol0) {
  int rc = SQLITE_OK;
  if (sqlite3_column_type(pStmt, iCol0) != SQLITE_INTEGER) {
    /* T_slots holds live slots only: a free one is in T_free. */
    vec0TableError(p, "vec0: table \"%s\": slot %u has no row id in %s_slots",
                   p->zName, iSlot, p->zName);
    return SQLITE_CORRUPT_VTAB;
  }
  p->aSlotRowid[iSlot] = sqlite3_column_int64(pStmt, iCol0);
  for (int f = 0; f < p->nFilt; f++) {
    vec0CellSet(&p->aCell[(size_t)iSlot * p->nFilt + f],
                sqlite3_column_value(pStmt, iCol0 + 1 + f), &rc);
  }
  if (rc == SQLITE_OK) p->aSlotState[iSlot] = VEC0_SLOT_LIVE;
  return rc;
}

/* The group column of a T_slots row (after id and the cells). */
static int groupFromRow(Vec0Table *p, uint32_t iSlot, sqlite3_stmt *pStmt,
                        int iCol0) {
  sqlite3_int64 g;
  if (!p->cfg.nPart) return SQLITE_OK;
  g = sqlite3_column_int64(pStmt, iCol0 + 1 + p->nFilt);
  if (sqlite3_column_type(pStmt, iCol0 + 1 + p->nFilt) != SQLITE_INTEGER || g < 1 ||
      g > VEC0_HNSW_MAX_GROUP) {
    vec0TableError(p, "vec0: table \"%s\": slot %u has a bad group in %s_slots",
                   p->zName, iSlot, p->zName);
    return SQLITE_CORRUPT_VTAB;
  }
  p->aSlotGroup[iSlot] = (uint32_t)g;
  return SQLITE_OK;
}

int vec0StorageSlot(Vec0Table *p, uint32_t iSlot) {
  sqlite3_stmt *pStmt = 0;
  int rc;
  if (iSlot >= p->nSlot) {
    vec0TableError(p, "vec0: table \"%s\": slot %u out of range", p->zName, iSlot);
    return SQLITE_CORRUPT_VTAB;
  }
  if (p->aSlotState[iSlot] != VEC0_SLOT_UNKNOWN) return SQLITE_OK;
  rc = vec0StorageStmt(p, VEC0_STMT_SLOTS_GET, &pStmt);
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_int64(pStmt, 1, iSlot);
  rc = sqlite3_step(pStmt);
  if (rc == SQLITE_ROW) {
    rc = groupFromRow(p, iSlot, pStmt, 0);
    if (rc == SQLITE_OK) rc = slotFromRow(p, iSlot, pStmt, 0);
  } else if (rc == SQLITE_DONE) {
    /* Only a slot that truly has no row is free, not one whose read failed. */
    p->aSlotState[iSlot] = VEC0_SLOT_FREE;
    rc = SQLITE_OK;
  }
  {
    int rc2 = sqlite3_reset(pStmt);
    if (rc == SQLITE_OK) rc = rc2;
  }
  return rc;
}

int vec0StorageAllSlots(Vec0Table *p) {
  sqlite3_stmt *pStmt = 0;
  int rc = SQLITE_OK;
  if (p->bAllSlots) return SQLITE_OK;
  rc = vec0StorageStmt(p, VEC0_STMT_SLOTS_ALL, &pStmt);
  if (rc != SQLITE_OK) return rc;
  while (rc == SQLITE_OK && sqlite3_step(pStmt) == SQLITE_ROW) {
    sqlite3_int64 iSlot = sqlite3_column_int64(pStmt, 0);
    if (iSlot < 0 || iSlot >= p->nSlot) {
      vec0TableError(p, "vec0: table \"%s\": slot %lld in %s_slots out of range",
                     p->zName, iSlot, p->zName);
      rc = SQLITE_CORRUPT_VTAB;
    } else if (p->aSlotState[iSlot] == VEC0_SLOT_UNKNOWN) {
      rc = groupFromRow(p, (uint32_t)iSlot, pStmt, 1);
      if (rc == SQLITE_OK) rc = slotFromRow(p, (uint32_t)iSlot, pStmt, 1);
    }
  }
  {
    int rc2 = sqlite3_reset(pStmt);
    if (rc == SQLITE_OK) rc = rc2;
  }
  if (rc == SQLITE_OK) {
    for (uint32_t i = 0; i < p->nSlot; i++) {
      if (p->aSlotState[i] == VEC0_SLOT_UNKNOWN) p->aSlotState[i] = VEC0_SLOT_FREE;
    }
    p->bAllSlots = 1;
  }
  return rc;
}

/* The slots of chunk iChunk of vector column iVec that exist: [*pFirst, +n). */
static uint32_t chunkSpan(const Vec0Table *p, int iVec, sqlite3_int64 iChunk,
                          uint32_t *pFirst) {
  uint64_t first = (uint64_t)iChunk * p->anChunk[iVec];
  *pFirst = (uint32_t)first;
  if (iChunk < 0 || first >= p->nSlot) return 0;
  return p->nSlot - first < p->anChunk[iVec] ? (uint32_t)(p->nSlot - first)
                                            : p->anChunk[iVec];
}

/*
** Copies the vectors of the slots that exist from chunk iChunk (column iCol
** of pStmt's row) into the cache.
*/
static int chunkFromColumn(Vec0Table *p, int iVec, sqlite3_int64 iChunk,
                           sqlite3_stmt *pStmt, int iCol) {
  size_t nBytes = p->aVecBytes[iVec];
  uint32_t first = 0, nVec = chunkSpan(p, iVec, iChunk, &first);
  int n = sqlite3_column_bytes(pStmt, iCol);
  if (nVec == 0 || sqlite3_column_type(pStmt, iCol) != SQLITE_BLOB ||
      (size_t)n != nBytes * p->anChunk[iVec]) {
    vec0TableError(p, "vec0: table \"%s\": chunk %lld of %s_vectors%d has %d bytes, "
                      "expected %lld",
                   p->zName, iChunk, p->zName, iVec, n,
                   (long long)nBytes * (long long)p->anChunk[iVec]);
    return SQLITE_CORRUPT_VTAB;
  }
  memcpy(p->aVec[iVec] + (size_t)first * nBytes, sqlite3_column_blob(pStmt, iCol),
         (size_t)nVec * nBytes);
  memset(p->aVecLoaded[iVec] + first, 1, nVec);
  return SQLITE_OK;
}

/* Loads the chunk of slot iSlot, if it has a row. */
static int loadChunk(Vec0Table *p, int iVec, uint32_t iSlot) {
  sqlite3_stmt *pStmt = 0;
  sqlite3_int64 iChunk = iSlot / p->anChunk[iVec];
  int rc = vec0StorageVecStmt(p, iVec, VEC0_VSTMT_GET, &pStmt);
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_int64(pStmt, 1, iChunk);
  if (sqlite3_step(pStmt) == SQLITE_ROW) {
    rc = chunkFromColumn(p, iVec, iChunk, pStmt, 0);
  }
  {
    int rc2 = sqlite3_reset(pStmt);
    if (rc == SQLITE_OK) rc = rc2;
  }
  return rc;
}

static int missingVector(Vec0Table *p, int iVec, uint32_t iSlot) {
  vec0TableError(p, "vec0: table \"%s\": vector of slot %u missing from %s_vectors%d",
                 p->zName, iSlot, p->zName, iVec);
  return SQLITE_CORRUPT_VTAB;
}

int vec0StorageVector(Vec0Table *p, int iVec, uint32_t iSlot,
                      const unsigned char **ppOut) {
  int rc = SQLITE_OK;
  *ppOut = 0;
  if (iSlot >= p->nSlot) {
    vec0TableError(p, "vec0: table \"%s\": slot %u out of range", p->zName, iSlot);
    return SQLITE_CORRUPT_VTAB;
  }
  if (!p->aVecLoaded[iVec][iSlot]) {
    rc = loadChunk(p, iVec, iSlot);
    if (rc == SQLITE_OK && !p->aVecLoaded[iVec][iSlot]) rc = missingVector(p, iVec, iSlot);
    if (rc != SQLITE_OK) return rc;
  }
  *ppOut = p->aVec[iVec] + (size_t)iSlot * p->aVecBytes[iVec];
  return SQLITE_OK;
}

/*
** The BLOB of the chunk row whose n existing slots start at slot first, all
** in the cache.  Every row is C vectors long, the slots not allocated yet
** zero: a row that grew in place would keep the leaf page it started in to
** itself.  NULL on out-of-memory.
*/
static const unsigned char *chunkRow(Vec0Table *p, int iVec, uint32_t first,
                                     uint32_t n) {
  size_t nBytes = p->aVecBytes[iVec];
  uint32_t C = p->anChunk[iVec];
  const unsigned char *a = p->aVec[iVec] + (size_t)first * nBytes;
  if (n == C) return a;
  if (p->nChunkBuf < nBytes * C) {
    unsigned char *aNew = sqlite3_realloc64(p->aChunkBuf, nBytes * C);
    if (aNew == 0) return 0;
    p->aChunkBuf = aNew;
    p->nChunkBuf = nBytes * C;
  }
  memcpy(p->aChunkBuf, a, nBytes * n);
  memset(p->aChunkBuf + nBytes * n, 0, nBytes * (C - n));
  return p->aChunkBuf;
}

int vec0StorageWriteVector(Vec0Table *p, int iVec, uint32_t iSlot, const void *pV) {
  sqlite3_stmt *pStmt = 0;
  size_t nBytes = p->aVecBytes[iVec];
  uint32_t C = p->anChunk[iVec];
  uint32_t first = 0, n = chunkSpan(p, iVec, iSlot / C, &first), i;
  unsigned char *aLoaded = p->aVecLoaded[iVec];
  const unsigned char *aChunk;
  int rc = SQLITE_OK;
  if (iSlot >= p->nSlot) {
    vec0TableError(p, "vec0: table \"%s\": slot %u out of range", p->zName, iSlot);
    return SQLITE_CORRUPT_VTAB;
  }
  /*
  ** The chunk row is rewritten whole, so its other vectors must be in the
  ** cache.  A new chunk (its first slot just allocated) has no row yet.
  */
  for (i = first; i < first + n && rc == SQLITE_OK; i++) {
    if (i == iSlot || aLoaded[i]) continue;
    rc = loadChunk(p, iVec, i);
    if (rc == SQLITE_OK && !aLoaded[i]) rc = missingVector(p, iVec, i);
  }
  if (rc != SQLITE_OK) return rc;
  memcpy(p->aVec[iVec] + (size_t)iSlot * nBytes, pV, nBytes);
  aLoaded[iSlot] = 1;
  aChunk = chunkRow(p, iVec, first, n);
  rc = aChunk ? vec0StorageVecStmt(p, iVec, VEC0_VSTMT_PUT, &pStmt) : SQLITE_NOMEM;
  if (rc == SQLITE_OK) {
    sqlite3_bind_int64(pStmt, 1, iSlot / C);
    sqlite3_bind_blob64(pStmt, 2, aChunk, (sqlite3_uint64)C * nBytes, SQLITE_STATIC);
    rc = stepDone(pStmt);
  }
  if (rc != SQLITE_OK) aLoaded[iSlot] = 0; /* the table still has the old one */
  return rc;
}

int vec0StorageRewriteVectors(Vec0Table *p, int iVec) {
  sqlite3_stmt *pStmt = 0;
  size_t nBytes = p->aVecBytes[iVec];
  uint32_t C = p->anChunk[iVec], nChunk = (p->nSlot + C - 1) / C, c;
  char *zSql = sqlite3_mprintf("DELETE FROM \"%w\".\"%w_vectors%d\"", p->zDb,
                               p->zName, iVec);
  int rc = zSql ? sqlite3_exec(p->db, zSql, 0, 0, 0) : SQLITE_NOMEM;
  sqlite3_free(zSql);
  if (rc == SQLITE_OK) rc = vec0StorageVecStmt(p, iVec, VEC0_VSTMT_PUT, &pStmt);
  for (c = 0; rc == SQLITE_OK && c < nChunk; c++) {
    uint32_t first = c * C, n = p->nSlot - first < C ? p->nSlot - first : C;
    const unsigned char *a = chunkRow(p, iVec, first, n);
    if (a == 0) return SQLITE_NOMEM;
    sqlite3_bind_int64(pStmt, 1, c);
    sqlite3_bind_blob64(pStmt, 2, a, (sqlite3_uint64)C * nBytes, SQLITE_STATIC);
    rc = stepDone(pStmt);
  }
  return rc;
}

/*
** The vectors of column iVec ask for huge pages once they are all in memory
** (vec0StorageHugeStep then makes them so, a part after each query): a walk
** then reads them without a TLB miss per vector.  Asking earlier would make
** the first, lazy query after a reopen fault in and zero 2 MiB for every
** vector it reads; moving them all at once would stall one query.
*/
static void askHuge(Vec0Table *p, int iVec) {
  if (p->abHuge[iVec]) return;
  p->abHuge[iVec] = 1;
  p->aCollapsed[iVec] = 0;
  p->abHugeDone[iVec] = 0;
  vec0HnswAdviseHuge(p->aVec[iVec], (size_t)p->nSlotAlloc * p->aVecBytes[iVec]);
}

void vec0StorageVectorsHuge(Vec0Table *p, int iVec) {
  askHuge(p, iVec);
}

int vec0StorageHugeStep(Vec0Table *p, int iVec) {
  if (!p->abHuge[iVec]) return 0;
  if (p->abHugeDone[iVec]) return 1;
  if (!vec0HnswCollapseHuge(p->aVec[iVec], (size_t)p->nSlotAlloc * p->aVecBytes[iVec],
                            &p->aCollapsed[iVec], VEC0_HUGE_STEP)) {
    return 0;
  }
  p->abHugeDone[iVec] = 1;
  return 1;
}

int vec0StorageWarm(Vec0Table *p, int iVec, uint32_t *pnStep, int *pbAll) {
  sqlite3_stmt *pStmt = 0;
  uint32_t C = p->anChunk[iVec], nChunk;
  int n, rc = SQLITE_OK;
  *pnStep = 0;
  *pbAll = 0;
  if (!p->bCache) return SQLITE_OK;
  nChunk = (p->nSlot + C - 1) / C;
  n = (int)(VEC0_WARM_BYTES / ((size_t)C * p->aVecBytes[iVec])) + 1;
  *pnStep = (uint32_t)n * C;
  if (p->bAllVec[iVec] || p->aWarmChunk[iVec] >= nChunk) {
    p->bAllVec[iVec] = 1;
  } else {
    rc = vec0StorageVecStmt(p, iVec, VEC0_VSTMT_RANGE, &pStmt);
    if (rc != SQLITE_OK) return rc;
    sqlite3_bind_int64(pStmt, 1, p->aWarmChunk[iVec]);
    sqlite3_bind_int(pStmt, 2, n);
    while (rc == SQLITE_OK && sqlite3_step(pStmt) == SQLITE_ROW) {
      sqlite3_int64 c = sqlite3_column_int64(pStmt, 0);
      rc = chunkFromColumn(p, iVec, c, pStmt, 1);
      if (rc == SQLITE_OK) p->aWarmChunk[iVec] = (uint32_t)c + 1;
    }
    {
      int rc2 = sqlite3_reset(pStmt);
      if (rc == SQLITE_OK) rc = rc2;
    }
    if (rc != SQLITE_OK) return rc;
    if (p->aWarmChunk[iVec] >= nChunk) p->bAllVec[iVec] = 1;
  }
  *pbAll = p->bAllVec[iVec];
  return SQLITE_OK;
}

int vec0StorageAllVectors(Vec0Table *p, int iVec) {
  sqlite3_stmt *pStmt = 0;
  int rc;
  if (p->bAllVec[iVec]) return SQLITE_OK;
  rc = vec0StorageVecStmt(p, iVec, VEC0_VSTMT_ALL, &pStmt);
  if (rc != SQLITE_OK) return rc;
  while (rc == SQLITE_OK && sqlite3_step(pStmt) == SQLITE_ROW) {
    rc = chunkFromColumn(p, iVec, sqlite3_column_int64(pStmt, 0), pStmt, 1);
  }
  {
    int rc2 = sqlite3_reset(pStmt);
    if (rc == SQLITE_OK) rc = rc2;
  }
  if (rc == SQLITE_OK) {
    p->bAllVec[iVec] = 1;
    askHuge(p, iVec);
  }
  return rc;
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
  return stepDone(pStmt);
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
  return stepDone(pStmt);
}

int vec0StorageLinkOutside(Vec0Table *p, int iVec, sqlite3_int64 *piSlot, int *pbFound) {
  sqlite3_stmt *pStmt = 0;
  char *zSql = sqlite3_mprintf("SELECT slot FROM \"%w\".\"%w_links%d\" "
                               "WHERE slot < 0 OR slot >= %u",
                               p->zDb, p->zName, iVec, p->nSlot);
  int rc;
  *pbFound = 0;
  if (zSql == 0) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(p->db, zSql, -1, &pStmt, 0);
  sqlite3_free(zSql);
  if (rc != SQLITE_OK) return rc;
  if (sqlite3_step(pStmt) == SQLITE_ROW) {
    *piSlot = sqlite3_column_int64(pStmt, 0);
    *pbFound = 1;
  }
  return sqlite3_finalize(pStmt);
}

int vec0StorageLinkClear(Vec0Table *p, int iVec) {
  int rc = execf(p, "DELETE FROM \"%w\".\"%w_links%d\";"
                    "DELETE FROM \"%w\".\"%w_config\" WHERE key='hnsw.%d'",
                 p->zDb, p->zName, iVec, p->zDb, p->zName, iVec);
  if (rc == SQLITE_OK && p->cfg.nPart) {
    rc = execf(p, "UPDATE \"%w\".\"%w_groups\" SET entry%d=NULL, level%d=NULL", p->zDb,
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
  }
  return SQLITE_OK;
}

void vec0StorageConfigBlobDone(Vec0Table *p) {
  if (p->aStmt[VEC0_STMT_CONFIG_GET]) sqlite3_reset(p->aStmt[VEC0_STMT_CONFIG_GET]);
}

int vec0StorageFlush(Vec0Table *p) {
  int rc = SQLITE_OK;
  if (!p->bCache) return SQLITE_OK;
  if (rc == SQLITE_OK && p->bCountersDirty) {
    rc = vec0StorageConfigSet(p, "next_slot", p->nSlot);
    if (rc == SQLITE_OK) rc = vec0StorageConfigSet(p, "rows", p->nLive);
    if (rc == SQLITE_OK) p->bCountersDirty = 0;
  }
  return rc;
}

int vec0StorageBeginWrite(Vec0Table *p) {
  int rc = SQLITE_OK;
  if (!p->bBumped) {
    sqlite3_int64 iChanges = 0;
    int bFound = 0;
    rc = vec0StorageConfigGet(p, "changes", &iChanges, &bFound);
    if (rc == SQLITE_OK) rc = vec0StorageConfigSet(p, "changes", iChanges + 1);
    if (rc == SQLITE_OK) {
      p->iChanges = iChanges + 1;
      p->bBumped = 1;
    }
  }
  return rc;
}

int vec0StorageGroupFind(Vec0Table *p, const Vec0Cell *aVal, int bCreate,
                         uint32_t *pg) {
  sqlite3_stmt *pStmt = 0;
  sqlite3_int64 g = 0;
  int rc = vec0StorageStmt(p, VEC0_STMT_GROUP_FIND, &pStmt);
  *pg = 0;
  if (rc != SQLITE_OK) return rc;
  for (int i = 0; i < p->cfg.nPart; i++) vec0CellBind(pStmt, i + 1, &aVal[i]);
  if (sqlite3_step(pStmt) == SQLITE_ROW) g = sqlite3_column_int64(pStmt, 0);
  rc = sqlite3_reset(pStmt);
  if (rc == SQLITE_OK && g == 0 && bCreate) {
    rc = vec0StorageStmt(p, VEC0_STMT_GROUP_ADD, &pStmt);
    if (rc != SQLITE_OK) return rc;
    for (int i = 0; i < p->cfg.nPart; i++) vec0CellBind(pStmt, i + 1, &aVal[i]);
    rc = stepDone(pStmt);
    if (rc == SQLITE_OK) g = sqlite3_last_insert_rowid(p->db);
  }
  if (rc == SQLITE_OK && g != 0 && (g < 1 || g > VEC0_HNSW_MAX_GROUP)) {
    vec0TableError(p, "vec0: table \"%s\": group %lld in %s_groups is out of range",
                   p->zName, g, p->zName);
    rc = SQLITE_CORRUPT_VTAB;
  }
  if (rc == SQLITE_OK) *pg = (uint32_t)g;
  return rc;
}

int vec0StorageGroupLive(Vec0Table *p, uint32_t g, int delta) {
  sqlite3_stmt *pStmt = 0;
  int rc;
  if (!p->cfg.nPart) return SQLITE_OK;
  rc = vec0StorageStmt(p, VEC0_STMT_GROUP_LIVE, &pStmt);
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_int64(pStmt, 1, g);
  sqlite3_bind_int(pStmt, 2, delta);
  return stepDone(pStmt);
}

void vec0StorageOpBegin(Vec0Table *p) {
  p->bOp = 1;
  p->opNSlot = p->nSlot;
  p->opNLive = p->nLive;
  p->opCountersDirty = p->bCountersDirty;
  p->opTotalChanges = (sqlite3_int64)sqlite3_total_changes(p->db);
}

/* SQLite itself rolls back the statement or the transaction after these. */
static int rolledBackBySqlite(int rc) {
  switch (rc & 0xff) {
    case SQLITE_NOMEM:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_INTERRUPT:
      return 1;
  }
  return 0;
}

int vec0StorageOpEnd(Vec0Table *p, int rc) {
  if (!p->bOp) return rc;
  p->bOp = 0;
  if (rc == SQLITE_OK) return rc;
  p->nSlot = p->opNSlot;
  p->nLive = p->opNLive;
  p->bCountersDirty = p->opCountersDirty;
  /* Slots and vectors are re-read from the tables, which are their truth. */
  if (p->aSlotState) memset(p->aSlotState, VEC0_SLOT_UNKNOWN, p->nSlotAlloc);
  p->bAllSlots = 0;
  for (int i = 0; i < p->cfg.nVec; i++) {
    if (p->aVecLoaded[i]) memset(p->aVecLoaded[i], 0, p->nSlotAlloc);
    p->bAllVec[i] = 0;
  }
  if ((sqlite3_int64)sqlite3_total_changes(p->db) != p->opTotalChanges &&
      !rolledBackBySqlite(rc) && !p->bPoison) {
    p->bPoison = 1;
    p->iPoisonDepth = p->nSavepoint;
  }
  return rc;
}

int vec0StorageLiveCount(Vec0Table *p, sqlite3_int64 *pn) {
  *pn = p->nLive;
  return SQLITE_OK;
}
