/*
** vec0_storage.c: the shadow tables of a vec0 table and the cache over them.
**
** This file creates, connects, renames and drops the shadow tables described
** in vec0Int.h and keeps the cache over them: the counters, slot states,
** rowids, groups and partition/metadata cells (vectors are in
** vec0_storage_vec.c, the SQL in vec0_storage_sql.c), the slot allocator,
** and the undo of one write in memory.  Everything is loaded on first use,
** one slot at a time, or all at once when a scan needs every slot.  An
** index's in-memory state belongs to the cache too: it is dropped with it,
** through the index's xDiscard.  Calls SQLite and the other storage files;
** it knows nothing of xBestIndex, cursors or graphs.
*/
#include "vec0Int.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* Create, connect, rename, drop                                           */


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

  rc = vec0StorageExec(p, "CREATE TABLE \"%w\".\"%w_config\"(key TEXT PRIMARY KEY, value) "
                "WITHOUT ROWID",
             zDb, zT);
  if (rc == SQLITE_OK) {
    z = sqlite3_mprintf("CREATE TABLE \"%w\".\"%w_rows\"(id INTEGER PRIMARY KEY, "
                        "slot INTEGER NOT NULL%s",
                        zDb, zT, c->ePk == VEC0_PK_TEXT ? ", key TEXT NOT NULL UNIQUE" : "");
    z = vec0StorageAppendList(z, "a", c->nAux, "");
    rc = z ? vec0StorageExec(p, "%z)", z) : SQLITE_NOMEM;
  }
  if (rc == SQLITE_OK) {
    z = sqlite3_mprintf("CREATE TABLE \"%w\".\"%w_slots\"(slot INTEGER PRIMARY KEY, "
                        "id INTEGER",
                        zDb, zT);
    z = vec0StorageAppendList(z, "p", c->nPart, "");
    z = vec0StorageAppendList(z, "m", c->nMeta, "");
    rc = z ? vec0StorageExec(p, "%z%s)", z, c->nPart ? ", g INTEGER NOT NULL" : "") : SQLITE_NOMEM;
  }
  /*
  ** No CREATE INDEX anywhere: a vtab's xRename cannot DROP an index (the
  ** ALTER TABLE is still reading the schema), and an index keeps its name
  ** through ALTER TABLE, so it would collide with the next table of the old
  ** name.  Tables and their UNIQUE constraints are renamed by SQLite.
  */
  if (rc == SQLITE_OK) {
    rc = vec0StorageExec(p, c->nPart ? "CREATE TABLE \"%w\".\"%w_free\"(g INTEGER NOT NULL, "
                             "slot INTEGER NOT NULL, PRIMARY KEY(g, slot)) WITHOUT ROWID"
                           : "CREATE TABLE \"%w\".\"%w_free\"(slot INTEGER PRIMARY KEY)",
               zDb, zT);
  }
  if (rc == SQLITE_OK && c->nPart) {
    z = sqlite3_mprintf("CREATE TABLE \"%w\".\"%w_groups\"(g INTEGER PRIMARY KEY", zDb,
                        zT);
    z = vec0StorageAppendList(z, "p", c->nPart, "");
    if (z) z = sqlite3_mprintf("%z, live INTEGER NOT NULL", z);
    for (int i = 0; z && i < c->nVec; i++) {
      z = sqlite3_mprintf("%z, entry%d INTEGER, level%d INTEGER", z, i, i);
    }
    if (z) z = sqlite3_mprintf("%z, UNIQUE(p0", z);
    for (int i = 1; z && i < c->nPart; i++) z = sqlite3_mprintf("%z, p%d", z, i);
    rc = z ? vec0StorageExec(p, "%z))", z) : SQLITE_NOMEM;
  }
  if (rc == SQLITE_OK) rc = pageSize(p, &nPage);
  for (int i = 0; rc == SQLITE_OK && i < c->nVec; i++) {
    char zKey[32];
    /* low memory: a search reads single vectors, each from as few pages as can be */
    p->anChunk[i] = c->aVec[i].bLowMem ? 1 : vec0StorageChunkSize(p->aVecBytes[i], nPage);
    sqlite3_snprintf(sizeof(zKey), zKey, "chunk.%d", i);
    rc = vec0StorageConfigSet(p, zKey, p->anChunk[i]);
    if (rc != SQLITE_OK) break;
    rc = vec0StorageExec(p, "CREATE TABLE \"%w\".\"%w_vectors%d\"(chunk INTEGER PRIMARY KEY, "
                  "v BLOB NOT NULL)",
               zDb, zT, i);
    if (rc == SQLITE_OK && p->aIndex[i].pModule->zShadow) {
      rc = vec0StorageExec(p, "CREATE TABLE \"%w\".\"%w_%s%d\"(slot INTEGER PRIMARY KEY, "
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
  int rc = vec0StorageExec(p, "DROP TABLE IF EXISTS \"%w\".\"%w_config\";"
                    "DROP TABLE IF EXISTS \"%w\".\"%w_rows\";"
                    "DROP TABLE IF EXISTS \"%w\".\"%w_slots\";"
                    "DROP TABLE IF EXISTS \"%w\".\"%w_free\";"
                    "DROP TABLE IF EXISTS \"%w\".\"%w_groups\";",
                 p->zDb, p->zName, p->zDb, p->zName, p->zDb, p->zName, p->zDb,
                 p->zName, p->zDb, p->zName);
  for (int i = 0; rc == SQLITE_OK && i < p->cfg.nVec; i++) {
    rc = vec0StorageExec(p, "DROP TABLE IF EXISTS \"%w\".\"%w_vectors%d\";"
                  "DROP TABLE IF EXISTS \"%w\".\"%w_links%d\";",
               p->zDb, p->zName, i, p->zDb, p->zName, i);
  }
  return rc;
}

int vec0StorageRename(Vec0Table *p, const char *zNew) {
  static const char *azFixed[] = {"config", "rows", "slots", "free", "groups"};
  struct Vec0Renamed *aNew;
  char *zName = sqlite3_mprintf("%s", zNew);
  int rc = SQLITE_OK;
  vec0StorageFinalize(p);
  /* room for the undo record first: nothing can fail once renamed */
  aNew = zName ? sqlite3_realloc64(p->aRenamed, sizeof(*aNew) * (size_t)(p->nRenamed + 1)) : 0;
  if (aNew == 0) {
    sqlite3_free(zName);
    return SQLITE_NOMEM;
  }
  p->aRenamed = aNew;
  for (int i = 0; rc == SQLITE_OK && i < 5; i++) {
    if (i == 4 && !p->cfg.nPart) break;
    rc = vec0StorageExec(p, "ALTER TABLE \"%w\".\"%w_%s\" RENAME TO \"%w_%s\"", p->zDb,
               p->zName, azFixed[i], zNew, azFixed[i]);
  }
  for (int i = 0; rc == SQLITE_OK && i < p->cfg.nVec; i++) {
    rc = vec0StorageExec(p, "ALTER TABLE \"%w\".\"%w_vectors%d\" RENAME TO \"%w_vectors%d\"",
               p->zDb, p->zName, i, zNew, i);
    if (rc == SQLITE_OK && p->aIndex[i].pModule->zShadow) {
      const char *zS = p->aIndex[i].pModule->zShadow;
      rc = vec0StorageExec(p, "ALTER TABLE \"%w\".\"%w_%s%d\" RENAME TO \"%w_%s%d\"", p->zDb,
                 p->zName, zS, i, zNew, zS, i);
    }
  }
  if (rc != SQLITE_OK) {
    sqlite3_free(zName);
    return rc;
  }
  p->aRenamed[p->nRenamed].zOld = p->zName;
  p->aRenamed[p->nRenamed++].iDepth = p->nSavepoint;
  p->zName = zName;
  return SQLITE_OK;
}

const char *vec0StorageRenamedSince(Vec0Table *p, int iSavepoint) {
  if (p->nRenamed == 0 || p->aRenamed[p->nRenamed - 1].iDepth <= iSavepoint) return 0;
  return p->aRenamed[p->nRenamed - 1].zOld;
}

void vec0StorageRenameBack(Vec0Table *p) {
  vec0StorageFinalize(p); /* its statements name the shadow tables */
  sqlite3_free(p->zName);
  p->zName = p->aRenamed[--p->nRenamed].zOld;
}

void vec0StorageRenamesKeep(Vec0Table *p, int iSavepoint) {
  for (int i = 0; i < p->nRenamed; i++) {
    if (iSavepoint < 0) sqlite3_free(p->aRenamed[i].zOld);
    if (p->aRenamed[i].iDepth > iSavepoint) p->aRenamed[i].iDepth = iSavepoint;
  }
  if (iSavepoint < 0) {
    sqlite3_free(p->aRenamed);
    p->aRenamed = 0;
    p->nRenamed = 0;
  }
}

int vec0StorageCookie(Vec0Table *p, sqlite3_int64 *piCookie) {
  int bFound = 0;
  *piCookie = 0;
  return vec0StorageOneInt(p, sqlite3_mprintf("PRAGMA \"%w\".schema_version", p->zDb),
                           piCookie, &bFound);
}

int vec0StorageGone(Vec0Table *p, int *pbGone) {
  sqlite3_int64 v = 0;
  int bFound = 0;
  int rc = vec0StorageCookie(p, &v);
  *pbGone = 0;
  if (rc == SQLITE_OK && v < p->iCreateCookie) {
    *pbGone = 1;
    return SQLITE_OK;
  }
  if (rc == SQLITE_OK) {
    rc = vec0StorageOneInt(p, sqlite3_mprintf("SELECT 1 FROM \"%w\".sqlite_master "
                                              "WHERE type = 'table' AND name = '%q_config' "
                                              "COLLATE NOCASE", p->zDb, p->zName),
                           &v, &bFound);
  }
  *pbGone = rc == SQLITE_OK && !bFound;
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

/*
** The per-slot arrays (slot states and rowids, groups, filter cells, which
** vectors are loaded): each block starts with its size and kind, so that it
** is freed as it was made even when a growth failed half-way (nSlotAlloc
** then says nothing of the arrays already grown).  One of ARRAY_MAP_MIN
** bytes or more is mapped from the system (vec0MemMapZero), zeroed by it a
** page at a time as pages are first touched: opening a table of a million
** rows cleared 11 MB of them, with a page fault for each of their pages, for
** a first query that touches a few hundred places in them (it took a fifth
** of that query's time).  Those blocks are outside SQLite's allocator, so
** sqlite3_memory_used() does not count them (the vectors and the graph,
** which are nearly all of the memory, are counted); smaller ones, and all
** where the system has no such memory, are SQLite's.
*/
#define ARRAY_MAP_MIN ((size_t)1 << 20)
typedef union ArrayHead {
  struct {
    size_t nByte; /* of the whole block, this head included */
    int bMapped;
  } h;
  double align; /* the array after it is aligned as SQLite's blocks are */
  unsigned char pad[16];
} ArrayHead;

static void arrayFree(void *a) {
  ArrayHead *pHead;
  if (a == 0) return;
  pHead = (ArrayHead *)a - 1;
  if (pHead->h.bMapped) {
    vec0MemUnmap(pHead, pHead->h.nByte);
  } else {
    sqlite3_free(pHead);
  }
}

void vec0StorageDiscard(Vec0Table *p) {
  vec0StorageReadEnd(p);
  if (p->aCell) {
    for (size_t i = 0; i < (size_t)p->nSlotAlloc * (size_t)p->nFilt; i++) {
      sqlite3_free(p->aCell[i].z);
    }
  }
  arrayFree(p->aCell);
  arrayFree(p->aSlotState);
  arrayFree(p->aSlotRowid);
  arrayFree(p->aSlotGroup);
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
    arrayFree(p->aVecLoaded[i]);
    p->aVec[i] = 0;
    p->aVecLoaded[i] = 0;
    p->bAllVec[i] = 0;
    p->abHuge[i] = 0;
    p->aCollapsed[i] = 0;
    p->abHugeDone[i] = 0;
    vec0StorageFillReset(p, i);
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
** Grows array a (arrayFree's kind) from nOld to nNew elements of sz bytes,
** the new ones zero.  Vectors do not come here: they are not cleared
** (aVecLoaded says which are valid), so that the pages of a large vector
** array are only touched when a vector is read.
*/
static void *growArray(void *a, size_t nOld, size_t nNew, size_t sz, int *pRc) {
  size_t nByte = sizeof(ArrayHead) + nNew * sz, nKeep = nOld * sz;
  ArrayHead *pHead = 0;
  if (*pRc != SQLITE_OK) return a;
  if (nNew * sz >= ARRAY_MAP_MIN) pHead = vec0MemMapZero(nByte);
  if (pHead) {
    pHead->h.bMapped = 1;
  } else {
    pHead = sqlite3_malloc64(nByte);
    if (pHead == 0) {
      *pRc = SQLITE_NOMEM;
      return a;
    }
    memset((unsigned char *)(pHead + 1) + nKeep, 0, nNew * sz - nKeep);
    pHead->h.bMapped = 0;
  }
  pHead->h.nByte = nByte;
  if (nKeep) memcpy(pHead + 1, a, nKeep);
  arrayFree(a);
  return pHead + 1;
}

int vec0StorageGrow(Vec0Table *p, uint32_t nSlot) {
  int rc = SQLITE_OK;
  size_t nOld = p->nSlotAlloc, nNew;
  if (nSlot <= p->nSlotAlloc) return SQLITE_OK;
  nNew = nOld ? nOld : 64;
  while (nNew < nSlot) nNew *= 2;
  /* Each array is grown separately; nSlotAlloc moves only when all are. */
  p->aSlotState = growArray(p->aSlotState, nOld, nNew, 1, &rc);
  p->aSlotRowid = growArray(p->aSlotRowid, nOld, nNew, sizeof(sqlite3_int64), &rc);
  if (p->cfg.nPart) {
    p->aSlotGroup = growArray(p->aSlotGroup, nOld, nNew, sizeof(uint32_t), &rc);
  }
  if (p->nFilt) {
    Vec0Cell *a = growArray(p->aCell, nOld * p->nFilt, nNew * p->nFilt,
                            sizeof(Vec0Cell), &rc);
    p->aCell = a;
  }
  for (int i = 0; i < p->cfg.nVec; i++) {
    /*
    ** Huge pages once every vector is in memory (all of them are then
    ** written in order, by inserts or a full load), not for a lazily read
    ** cache: see askHuge().
    */
    if (rc == SQLITE_OK) rc = vec0StorageVecResize(p, i, nNew, p->abHuge[i] || p->bAllVec[i]);
    p->aVecLoaded[i] = growArray(p->aVecLoaded[i], nOld, nNew, 1, &rc);
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
    /*
    ** The default ef: the 'ef_search=' command's, else the 'recall='
    ** command's target (each command removes the other's key), else
    ** CREATE's ef_search or (0) its recall target.
    */
    if (rc == SQLITE_OK) p->aEfSearch[i] = bFound ? (int)iEf : 0;
    sqlite3_snprintf(sizeof(zKey), zKey, "recall_target.%d", i);
    if (rc == SQLITE_OK) rc = vec0StorageConfigGet(p, zKey, &iEf, &bFound);
    if (rc == SQLITE_OK && bFound && (iEf < VEC0_RECALL_MIN || iEf > VEC0_RECALL_MAX)) {
      vec0TableError(p, "vec0: table \"%s\": bad %s in %s_config", p->zName, zKey,
                     p->zName);
      rc = SQLITE_CORRUPT_VTAB;
    }
    if (rc == SQLITE_OK) {
      const Vec0VectorCol *pCol = &p->cfg.aVec[i];
      p->aRecallTarget[i] = bFound ? (int)iEf : 0;
      if (p->aEfSearch[i] == 0 && !bFound && pCol->bEfFixed) p->aEfSearch[i] = pCol->efSearch;
    }
    if (rc == SQLITE_OK) rc = vec0StorageRecallGet(p, i, &p->aRecall[i]);
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
    /* A pager's data version only grows: a smaller one is another database,
    ** whose 'changes' may be equal by chance (sqlite3_deserialize() under a
    ** statement prepared before it, which SQLite keeps running). */
    if (v >= p->iDataVersion) {
      rc = vec0StorageConfigGet(p, "changes", &iChanges, &bFound);
      if (rc != SQLITE_OK) return rc;
      if (iChanges == p->iChanges) {
        p->iDataVersion = v;
        return SQLITE_OK;
      }
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
    rc = vec0StorageStepDone(pStmt);
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
  return vec0StorageStepDone(pStmt);
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
    /* What the fill read may predate a change the tables now lack, or hold. */
    vec0StorageFillReset(p, i);
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

/* ---------------------------------------------------------------------- */
/* The slot allocator                                                      */

/* The lowest free slot, or a new one. */
int vec0StorageSlotAlloc(Vec0Table *p, uint32_t g, uint32_t *piSlot) {
  sqlite3_stmt *pStmt = 0;
  int rc = vec0StorageStmt(p, VEC0_STMT_FREE_FIRST, &pStmt);
  sqlite3_int64 iSlot = -1;
  if (rc != SQLITE_OK) return rc;
  if (p->cfg.nPart) sqlite3_bind_int64(pStmt, 1, g);
  if (sqlite3_step(pStmt) == SQLITE_ROW) iSlot = sqlite3_column_int64(pStmt, 0);
  rc = sqlite3_reset(pStmt);
  if (rc != SQLITE_OK) return rc;
  if (iSlot < 0) {
    if (p->nSlot >= 0x7fffffff) return SQLITE_FULL;
    rc = vec0StorageGrow(p, p->nSlot + 1);
    if (rc != SQLITE_OK) return rc;
    iSlot = p->nSlot++;
    p->aSlotState[iSlot] = VEC0_SLOT_FREE;
    if (p->cfg.nPart) p->aSlotGroup[iSlot] = g;
    p->bCountersDirty = 1;
  } else if (iSlot >= p->nSlot) {
    vec0TableError(p, "vec0: table \"%s\": free slot %lld out of range", p->zName,
                   iSlot);
    return SQLITE_CORRUPT_VTAB;
  } else {
    rc = vec0StorageStmt(p, VEC0_STMT_FREE_TAKE, &pStmt);
    if (rc != SQLITE_OK) return rc;
    sqlite3_bind_int64(pStmt, 1, iSlot);
    if (p->cfg.nPart) sqlite3_bind_int64(pStmt, 2, g);
    sqlite3_step(pStmt);
    rc = sqlite3_reset(pStmt);
    if (rc != SQLITE_OK) return rc;
    if (p->cfg.nPart) p->aSlotGroup[iSlot] = g;
  }
  *piSlot = (uint32_t)iSlot;
  return SQLITE_OK;
}

/* Writes T_slots for a live slot, its cells aNew (from newCells()). */
int vec0StorageSlotPut(Vec0Table *p, uint32_t iSlot, sqlite3_int64 iRowid,
                     const Vec0Cell *aNew, uint32_t g) {
  sqlite3_stmt *pStmt = 0;
  int rc = vec0StorageStmt(p, VEC0_STMT_SLOTS_PUT, &pStmt);
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_int64(pStmt, 1, iSlot);
  sqlite3_bind_int64(pStmt, 2, iRowid);
  for (int f = 0; f < p->nFilt; f++) vec0CellBind(pStmt, 3 + f, &aNew[f]);
  if (p->cfg.nPart) sqlite3_bind_int64(pStmt, 3 + p->nFilt, g);
  sqlite3_step(pStmt);
  rc = sqlite3_reset(pStmt);
  sqlite3_clear_bindings(pStmt);
  if (rc == SQLITE_OK) {
    /* Reload this slot from the table: one source of truth for the cells. */
    p->aSlotState[iSlot] = VEC0_SLOT_UNKNOWN;
    rc = vec0StorageSlot(p, iSlot);
  }
  return rc;
}

int vec0StorageSlotFree(Vec0Table *p, uint32_t iSlot) {
  sqlite3_stmt *pStmt = 0;
  uint32_t g = p->cfg.nPart ? p->aSlotGroup[iSlot] : 0;
  int rc = vec0StorageStmt(p, VEC0_STMT_SLOTS_DELETE, &pStmt);
  if (rc == SQLITE_OK) {
    sqlite3_bind_int64(pStmt, 1, iSlot);
    sqlite3_step(pStmt);
    rc = sqlite3_reset(pStmt);
  }
  if (rc == SQLITE_OK) rc = vec0StorageStmt(p, VEC0_STMT_FREE_ADD, &pStmt);
  if (rc == SQLITE_OK) {
    sqlite3_bind_int64(pStmt, 1, iSlot);
    if (p->cfg.nPart) sqlite3_bind_int64(pStmt, 2, g);
    sqlite3_step(pStmt);
    rc = sqlite3_reset(pStmt);
  }
  if (rc == SQLITE_OK) rc = vec0StorageGroupLive(p, g, -1);
  if (rc == SQLITE_OK) {
    p->aSlotState[iSlot] = VEC0_SLOT_FREE;
    for (int f = 0; f < p->nFilt; f++) {
      vec0CellClear(&p->aCell[(size_t)iSlot * p->nFilt + f]);
    }
  }
  return rc;
}

void vec0StorageLiveAdd(Vec0Table *p, int delta) {
  p->nLive += delta;
  p->bCountersDirty = 1;
}
