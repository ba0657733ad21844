/*
** vec0_info.c: the table-valued function vec0_info('table'), what a vec0
** table holds and how its index and cache are doing, one row per vector
** column: the questions every user of a vector index asks ("why is it
** slow, big, what is in the index?").
**
** It needs the live Vec0Table of this connection, which SQL cannot name,
** so it keeps a registry per connection: the vec0 module registers each
** table it opens (vec0InfoAdd, from xCreate/xConnect) and forgets it when
** it closes, and each table's settings of this connection, which outlive
** its Vec0Table (vec0InfoKeep).  A table this connection has not opened yet is opened by
** preparing a statement on it.  Reads the cache through storage's
** accessors and the index interface; writes nothing.
*/
#include "vec0Int.h"

#include <string.h>

/*
** The settings of a table in this connection (Vec0Table.conn), kept by name
** beyond the Vec0Table: SQLite connects a table again after any schema
** change, and 'oversample=N', 'cache_budget=N' ... are the connection's.
*/
typedef struct Vec0Kept {
  char *zDb, *zName;    /* one allocation */
  sqlite3_uint64 iDecl; /* Vec0Table.iDeclHash: another table of the name is not this one */
  struct Vec0ConnSettings s;
} Vec0Kept;

struct Vec0Registry {
  Vec0Table **aTab;
  int nTab, nAlloc;
  Vec0Kept *aKept;
  int nKept, nKeptAlloc;
};

static void registryFree(void *p) {
  Vec0Registry *pReg = p;
  if (pReg) {
    for (int i = 0; i < pReg->nKept; i++) sqlite3_free(pReg->aKept[i].zDb);
    sqlite3_free(pReg->aKept);
    sqlite3_free(pReg->aTab);
  }
  sqlite3_free(pReg);
}

static Vec0Kept *keptFind(Vec0Registry *pReg, const char *zDb, const char *zName) {
  for (int i = 0; pReg && i < pReg->nKept; i++) {
    Vec0Kept *k = &pReg->aKept[i];
    if (sqlite3_stricmp(k->zName, zName) == 0 && sqlite3_stricmp(k->zDb, zDb) == 0) return k;
  }
  return 0;
}

static void keptRemove(Vec0Registry *pReg, Vec0Kept *k) {
  sqlite3_free(k->zDb);
  *k = pReg->aKept[--pReg->nKept];
}

static int keptName(Vec0Kept *k, const char *zDb, const char *zName) {
  size_t nDb = strlen(zDb) + 1, nName = strlen(zName) + 1;
  char *z = sqlite3_malloc64(nDb + nName);
  if (z == 0) return SQLITE_NOMEM;
  memcpy(z, zDb, nDb);
  memcpy(z + nDb, zName, nName);
  sqlite3_free(k->zDb);
  k->zDb = z;
  k->zName = z + nDb;
  return SQLITE_OK;
}

int vec0InfoKeep(Vec0Table *p) {
  Vec0Registry *pReg = p->pReg;
  Vec0Kept *k = keptFind(pReg, p->zDb, p->zName);
  if (pReg == 0) return SQLITE_OK;
  if (k == 0) {
    if (pReg->nKept == pReg->nKeptAlloc) {
      int nNew = pReg->nKeptAlloc ? pReg->nKeptAlloc * 2 : 4;
      Vec0Kept *aNew = sqlite3_realloc64(pReg->aKept, sizeof(Vec0Kept) * (size_t)nNew);
      if (aNew == 0) return SQLITE_NOMEM;
      pReg->aKept = aNew;
      pReg->nKeptAlloc = nNew;
    }
    k = &pReg->aKept[pReg->nKept];
    memset(k, 0, sizeof(*k));
    if (keptName(k, p->zDb, p->zName) != SQLITE_OK) return SQLITE_NOMEM;
    pReg->nKept++;
  }
  k->iDecl = p->iDeclHash;
  k->s = p->conn;
  return SQLITE_OK;
}

/* FNV-1a of a table's module arguments. */
static sqlite3_uint64 declHash(int nArg, const char *const *azArg) {
  sqlite3_uint64 h = 0xcbf29ce484222325ull;
  for (int i = 0; i < nArg; i++) {
    for (const unsigned char *z = (const unsigned char *)azArg[i]; *z; z++) {
      h = (h ^ *z) * 0x100000001b3ull;
    }
    h = (h ^ 0xff) * 0x100000001b3ull; /* between arguments */
  }
  return h;
}

void vec0InfoRestore(Vec0Registry *pReg, Vec0Table *p, int nArg, const char *const *azArg,
                     int bCreate) {
  Vec0Kept *k = keptFind(pReg, p->zDb, p->zName);
  p->iDeclHash = declHash(nArg, azArg);
  if (k && bCreate) {
    /* a new table: another's settings do not carry over (a DETACH, then
    ** a CREATE in the next database ATTACHed under the same name) */
    keptRemove(pReg, k);
  } else if (k && k->iDecl == p->iDeclHash) {
    p->conn = k->s;
  }
  /* Once a CREATE has taken the name, a table of it still open here is gone
  ** (dropped, or its CREATE taken back by ROLLBACK TO): bStale, vec0_vtab.c;
  ** after a connect, it is superseded (bSuperseded). */
  for (int i = 0; pReg && i < pReg->nTab; i++) {
    Vec0Table *q = pReg->aTab[i];
    if (sqlite3_stricmp(q->zName, p->zName) == 0 && sqlite3_stricmp(q->zDb, p->zDb) == 0) {
      if (bCreate) q->bStale = 1;
      q->bSuperseded = 1;
    }
  }
}

void vec0InfoForget(Vec0Table *p) {
  Vec0Registry *pReg = p->pReg;
  Vec0Kept *k = keptFind(pReg, p->zDb, p->zName);
  if (k) keptRemove(pReg, k);
}

int vec0InfoRenamed(Vec0Table *p, const char *zFrom, const char *zTo) {
  Vec0Kept *k = keptFind(p->pReg, p->zDb, zFrom);
  return k ? keptName(k, p->zDb, zTo) : SQLITE_OK;
}

int vec0InfoAdd(Vec0Registry *pReg, Vec0Table *p) {
  if (pReg == 0) return SQLITE_OK;
  if (pReg->nTab == pReg->nAlloc) {
    int nNew = pReg->nAlloc ? pReg->nAlloc * 2 : 8;
    Vec0Table **aNew = sqlite3_realloc64(pReg->aTab, sizeof(Vec0Table *) * (size_t)nNew);
    if (aNew == 0) return SQLITE_NOMEM;
    pReg->aTab = aNew;
    pReg->nAlloc = nNew;
  }
  pReg->aTab[pReg->nTab++] = p;
  return SQLITE_OK;
}

void vec0InfoRemove(Vec0Registry *pReg, Vec0Table *p) {
  if (pReg == 0) return;
  for (int i = 0; i < pReg->nTab; i++) {
    if (pReg->aTab[i] == p) {
      /* in the order they were added: registryFind wants the newest */
      memmove(&pReg->aTab[i], &pReg->aTab[i + 1],
              sizeof(Vec0Table *) * (size_t)(pReg->nTab - i - 1));
      pReg->nTab--;
      return;
    }
  }
}

/*
** The newest table of that name: after a schema change SQLite connects the
** table again and disconnects the old one only later, and the old one's
** cache no longer follows the writes.
*/
static Vec0Table *registryFind(Vec0Registry *pReg, const char *zSchema, const char *zName) {
  for (int i = pReg->nTab - 1; i >= 0; i--) {
    Vec0Table *p = pReg->aTab[i];
    if (sqlite3_stricmp(p->zName, zName) == 0 &&
        (zSchema == 0 || sqlite3_stricmp(p->zDb, zSchema) == 0)) {
      return p;
    }
  }
  return 0;
}

/* ---------------------------------------------------------------------- */
/* The table-valued function                                               */

enum {
  INFO_COLUMN,        /* the vector column */
  INFO_INDEX,         /* flat or hnsw */
  INFO_QUANTIZER,     /* none, int8 or bit */
  INFO_ROWS,          /* live rows */
  INFO_SLOTS,         /* slots ever used (next_slot) */
  INFO_FREE_SLOTS,    /* slots of deleted rows, to be reused */
  INFO_GRAPH_NODES,   /* nodes in memory of an HNSW graph (live and tombstones) */
  INFO_TOMBSTONES,    /* deleted rows still in the graph */
  INFO_M,
  INFO_EF_SEARCH,     /* the default ef of a query */
  INFO_DIMENSIONS,
  INFO_VECTORS_CACHED,  /* vectors of this column in memory now */
  INFO_CACHE_COMPLETE,  /* 1 when every vector is */
  INFO_CACHE_BYTES,     /* bytes those vectors take */
  INFO_KERNELS,
  INFO_LEVELS,          /* a graph's levels (first group) */
  INFO_ENTRY_ROWID,     /* the row of its entry point */
  INFO_INDEX_BYTES,     /* bytes the index holds in memory besides the vectors */
  INFO_RECALL_TARGET,   /* the recall the default ef follows (NULL: a fixed ef) */
  INFO_RECALL,          /* the measured recall@k at the default ef */
  INFO_RECALL_ROWS,     /* the live rows when it was measured */
  INFO_RECALL_CHANGES,  /* the table's 'changes' count then */
  INFO_DISK_BYTES,      /* bytes on disk of the column's own shadow tables */
  INFO_DISK,            /* JSON: bytes on disk of every shadow table */
  INFO_TABLE,         /* HIDDEN: the argument */
  INFO_SCHEMA         /* HIDDEN: optional second argument */
};

typedef struct InfoCursor {
  sqlite3_vtab_cursor base;
  Vec0Table *pTab;
  int iRow;
} InfoCursor;

typedef struct InfoVtab {
  sqlite3_vtab base;
  sqlite3 *db;
  Vec0Registry *pReg;
} InfoVtab;

static int infoConnect(sqlite3 *db, void *pAux, int argc, const char *const *argv,
                       sqlite3_vtab **ppVtab, char **pzErr) {
  InfoVtab *p;
  int rc;
  (void)argc;
  (void)argv;
  (void)pzErr;
  rc = sqlite3_declare_vtab(db,
                            "CREATE TABLE x(column_name, index_kind, quantizer, rows, slots, "
                            "free_slots, graph_nodes, tombstones, m, ef_search, dimensions, "
                            "vectors_cached, cache_complete, cache_bytes, kernels, levels, "
                            "entry_rowid, index_bytes, recall_target, recall, recall_rows, "
                            "recall_changes, disk_bytes, disk, "
                            "\"table\" HIDDEN, schema HIDDEN)");
  if (rc != SQLITE_OK) return rc;
  p = sqlite3_malloc64(sizeof(*p));
  if (p == 0) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  p->db = db;
  p->pReg = pAux;
  *ppVtab = &p->base;
  return SQLITE_OK;
}

static int infoDisconnect(sqlite3_vtab *pVtab) {
  sqlite3_free(pVtab);
  return SQLITE_OK;
}

static int infoBestIndex(sqlite3_vtab *pVtab, sqlite3_index_info *pInfo) {
  int iTable = -1, iSchema = -1;
  (void)pVtab;
  for (int i = 0; i < pInfo->nConstraint; i++) {
    const struct sqlite3_index_constraint *pC = &pInfo->aConstraint[i];
    if (pC->op != SQLITE_INDEX_CONSTRAINT_EQ) continue;
    if (pC->iColumn == INFO_TABLE) {
      if (!pC->usable) return SQLITE_CONSTRAINT;
      iTable = i;
    }
    if (pC->iColumn == INFO_SCHEMA) {
      if (!pC->usable) return SQLITE_CONSTRAINT;
      iSchema = i;
    }
  }
  if (iTable < 0) {
    /* vec0_info() names no table: nothing to show (an error in xFilter). */
    pInfo->idxNum = 0;
    pInfo->estimatedCost = 1e9;
    return SQLITE_OK;
  }
  pInfo->aConstraintUsage[iTable].argvIndex = 1;
  pInfo->aConstraintUsage[iTable].omit = 1;
  if (iSchema >= 0) {
    pInfo->aConstraintUsage[iSchema].argvIndex = 2;
    pInfo->aConstraintUsage[iSchema].omit = 1;
  }
  pInfo->idxNum = iSchema >= 0 ? 2 : 1;
  pInfo->estimatedCost = 10;
  pInfo->estimatedRows = 4;
  return SQLITE_OK;
}

static int infoOpen(sqlite3_vtab *pVtab, sqlite3_vtab_cursor **ppCur) {
  InfoCursor *pCur = sqlite3_malloc64(sizeof(*pCur));
  (void)pVtab;
  if (pCur == 0) return SQLITE_NOMEM;
  memset(pCur, 0, sizeof(*pCur));
  *ppCur = &pCur->base;
  return SQLITE_OK;
}

static int infoClose(sqlite3_vtab_cursor *pCur) {
  sqlite3_free(pCur);
  return SQLITE_OK;
}

static int infoError(InfoVtab *p, int rc, const char *zFmt, const char *zArg) {
  sqlite3_free(p->base.zErrMsg);
  p->base.zErrMsg = sqlite3_mprintf(zFmt, zArg);
  return rc;
}

/* The table, opened in this connection if it was not yet. */
static int findTable(InfoVtab *p, const char *zSchema, const char *zName, Vec0Table **ppOut) {
  Vec0Table *pTab = registryFind(p->pReg, zSchema, zName);
  if (pTab == 0) {
    sqlite3_stmt *pStmt = 0;
    char *zSql = zSchema ? sqlite3_mprintf("SELECT 1 FROM \"%w\".\"%w\" LIMIT 0", zSchema, zName)
                         : sqlite3_mprintf("SELECT 1 FROM \"%w\" LIMIT 0", zName);
    if (zSql == 0) return SQLITE_NOMEM;
    /* Preparing reads the schema and connects the virtual table. */
    if (sqlite3_prepare_v2(p->db, zSql, -1, &pStmt, 0) == SQLITE_OK) sqlite3_finalize(pStmt);
    sqlite3_free(zSql);
    pTab = registryFind(p->pReg, zSchema, zName);
  }
  if (pTab == 0 && zSchema) {
    char *z = sqlite3_mprintf("\"%s\" in schema \"%s\"", zName, zSchema);
    int rc = infoError(p, z ? SQLITE_ERROR : SQLITE_NOMEM,
                       "vec0: vec0_info(): no vec0 table named %s", z ? z : "");
    sqlite3_free(z);
    return rc;
  }
  if (pTab == 0) {
    return infoError(p, SQLITE_ERROR, "vec0: vec0_info(): no vec0 table named \"%s\"", zName);
  }
  *ppOut = pTab;
  return SQLITE_OK;
}

static int infoFilter(sqlite3_vtab_cursor *pCursor, int idxNum, const char *idxStr, int argc,
                      sqlite3_value **argv) {
  InfoCursor *pCur = (InfoCursor *)pCursor;
  InfoVtab *p = (InfoVtab *)pCursor->pVtab;
  const char *zName, *zSchema = 0;
  Vec0Table *pTab = 0;
  int rc;
  (void)idxStr;
  pCur->pTab = 0;
  pCur->iRow = 0;
  if (idxNum == 0 || argc < 1 || sqlite3_value_type(argv[0]) != SQLITE_TEXT) {
    return infoError(p, SQLITE_ERROR, "vec0: vec0_info(): %s",
                     "name a vec0 table: vec0_info('table' [, 'schema'])");
  }
  zName = (const char *)sqlite3_value_text(argv[0]);
  if (argc > 1) zSchema = (const char *)sqlite3_value_text(argv[1]);
  rc = findTable(p, zSchema, zName, &pTab);
  /* The cache must be this connection's view of the table now. */
  if (rc == SQLITE_OK) rc = vec0StorageValidate(pTab);
  if (rc != SQLITE_OK) {
    if (pTab && pTab->base.zErrMsg) {
      sqlite3_free(p->base.zErrMsg);
      p->base.zErrMsg = pTab->base.zErrMsg;
      pTab->base.zErrMsg = 0;
    }
    return rc;
  }
  pCur->pTab = pTab;
  return SQLITE_OK;
}

static int infoNext(sqlite3_vtab_cursor *pCursor) {
  ((InfoCursor *)pCursor)->iRow++;
  return SQLITE_OK;
}

static int infoEof(sqlite3_vtab_cursor *pCursor) {
  InfoCursor *pCur = (InfoCursor *)pCursor;
  return pCur->pTab == 0 || pCur->iRow >= pCur->pTab->cfg.nVec;
}

static int infoRowid(sqlite3_vtab_cursor *pCursor, sqlite3_int64 *pRowid) {
  *pRowid = ((InfoCursor *)pCursor)->iRow;
  return SQLITE_OK;
}

/*
** Bytes on disk of the table's shadow tables (with their indexes), by the
** dbstat table where SQLite has it (NULL where not): the sum of those of
** column iVec ("<T>_vectorsN", "<T>_<shadow>N"), or all of them as JSON.
*/
static int diskColumn(Vec0Table *p, int iVec, sqlite3_context *ctx, int bJson) {
  sqlite3_stmt *pStmt = 0;
  sqlite3_str *pJson;
  sqlite3_int64 nCol = 0;
  const char *zShadow = vec0IndexGet(p, iVec)->pModule->zShadow;
  char *zVec, *zIdx;
  int nName = (int)strlen(p->zName), n = 0, rc;
  char *zSql = sqlite3_mprintf(
      "SELECT s.tbl_name, sum(d.pgsize) FROM \"%w\".sqlite_schema s, dbstat(%Q, 1) d "
      "WHERE d.name = s.name AND s.tbl_name LIKE '%q\\_%%' ESCAPE '\\' "
      "GROUP BY s.tbl_name ORDER BY s.tbl_name",
      p->zDb, p->zDb, p->zName);
  if (zSql == 0) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(p->db, zSql, -1, &pStmt, 0);
  sqlite3_free(zSql);
  if (rc != SQLITE_OK) return SQLITE_OK; /* no dbstat: NULL */
  zVec = sqlite3_mprintf("%s_vectors%d", p->zName, iVec);
  zIdx = sqlite3_mprintf("%s_%s%d", p->zName, zShadow ? zShadow : "", iVec);
  pJson = sqlite3_str_new(0);
  sqlite3_str_appendchar(pJson, 1, '{');
  while (zVec && zIdx && sqlite3_step(pStmt) == SQLITE_ROW) {
    const char *zTab = (const char *)sqlite3_column_text(pStmt, 0);
    sqlite3_int64 nBytes = sqlite3_column_int64(pStmt, 1);
    /* only the vec0 table's own shadow tables, not another's named like them */
    if (zTab == 0 || (int)strlen(zTab) <= nName + 1 ||
        sqlite3_strnicmp(zTab, p->zName, nName) != 0 || zTab[nName] != '_' ||
        !vec0StorageShadowName(&zTab[nName + 1])) {
      continue;
    }
    if (sqlite3_stricmp(zTab, zVec) == 0 || (zShadow && sqlite3_stricmp(zTab, zIdx) == 0)) {
      nCol += nBytes;
    }
    sqlite3_str_appendf(pJson, "%s\"%w\":%lld", n++ ? "," : "", zTab, nBytes);
  }
  sqlite3_str_appendchar(pJson, 1, '}');
  rc = sqlite3_finalize(pStmt);
  sqlite3_free(zVec);
  sqlite3_free(zIdx);
  zSql = sqlite3_str_finish(pJson);
  if (rc == SQLITE_OK && zSql == 0) rc = SQLITE_NOMEM;
  if (rc == SQLITE_OK && bJson) {
    sqlite3_result_text(ctx, zSql, -1, sqlite3_free);
    zSql = 0;
  } else if (rc == SQLITE_OK) {
    sqlite3_result_int64(ctx, nCol);
  }
  sqlite3_free(zSql);
  return rc;
}

static int infoColumn(sqlite3_vtab_cursor *pCursor, sqlite3_context *ctx, int i) {
  InfoCursor *pCur = (InfoCursor *)pCursor;
  Vec0Table *p = pCur->pTab;
  int iVec = pCur->iRow;
  const Vec0VectorCol *pCol = &p->cfg.aVec[iVec];
  Vec0Index *pIdx = vec0IndexGet(p, iVec);
  /* A form that searches with ef is a graph: m, ef and its nodes mean something. */
  int bHnsw = pIdx->pModule->bUsesEf;
  uint32_t nSlot = vec0StorageSlotCount(p);
  sqlite3_int64 nLive = 0, nCached = 0;
  vec0StorageLiveCount(p, &nLive);
  switch (i) {
    case INFO_COLUMN:
      sqlite3_result_text(ctx, p->cfg.aCol[p->cfg.aVecCol[iVec]].zName, -1, SQLITE_TRANSIENT);
      break;
    case INFO_INDEX:
      sqlite3_result_text(ctx, p->aIndex[iVec].pModule->zName, -1, SQLITE_STATIC);
      break;
    case INFO_QUANTIZER:
      sqlite3_result_text(ctx,
                          pCol->eQuant == VEC0_QUANT_INT8  ? "int8"
                          : pCol->eQuant == VEC0_QUANT_BIT ? "bit"
                                                           : "none",
                          -1, SQLITE_STATIC);
      break;
    case INFO_ROWS: sqlite3_result_int64(ctx, nLive); break;
    case INFO_SLOTS: sqlite3_result_int64(ctx, nSlot); break;
    case INFO_FREE_SLOTS: sqlite3_result_int64(ctx, (sqlite3_int64)nSlot - nLive); break;
    case INFO_GRAPH_NODES:
    case INFO_TOMBSTONES: {
      sqlite3_int64 nNodes;
      if (!bHnsw || pIdx->pModule->xOpen(pIdx) != SQLITE_OK) break;
      nNodes = pIdx->pModule->xStats(pIdx);
      sqlite3_result_int64(ctx, i == INFO_GRAPH_NODES ? nNodes : nNodes - nLive);
      break;
    }
    case INFO_M:
      if (bHnsw) sqlite3_result_int(ctx, pCol->m);
      break;
    case INFO_EF_SEARCH:
      if (bHnsw) sqlite3_result_int(ctx, vec0RecallEf(p, iVec, 0));
      break;
    case INFO_DIMENSIONS: sqlite3_result_int(ctx, pCol->nDim); break;
    case INFO_VECTORS_CACHED:
    case INFO_CACHE_BYTES:
      nCached = vec0StorageVectorsCached(p, iVec);
      sqlite3_result_int64(ctx, i == INFO_VECTORS_CACHED
                                    ? nCached
                                    : nCached * (sqlite3_int64)p->aVecBytes[iVec]);
      break;
    case INFO_CACHE_COMPLETE: sqlite3_result_int(ctx, p->bAllVec[iVec] != 0); break;
    case INFO_KERNELS: sqlite3_result_text(ctx, vec0DistanceImpl(), -1, SQLITE_STATIC); break;
    case INFO_LEVELS:
    case INFO_ENTRY_ROWID:
    case INFO_INDEX_BYTES: {
      Vec0IndexInfo info;
      info.nLevel = -1;
      info.iEntry = -1;
      info.nBytes = -1;
      if (pIdx->pModule->xInfo == 0 || pIdx->pModule->xOpen(pIdx) != SQLITE_OK ||
          pIdx->pModule->xInfo(pIdx, &info) != SQLITE_OK) {
        break;
      }
      if (i == INFO_LEVELS && info.nLevel >= 0) sqlite3_result_int(ctx, info.nLevel);
      if (i == INFO_ENTRY_ROWID && info.iEntry >= 0 &&
          vec0StorageSlot(p, (uint32_t)info.iEntry) == SQLITE_OK) {
        sqlite3_result_int64(ctx, vec0StorageSlotRowid(p, (uint32_t)info.iEntry));
      }
      if (i == INFO_INDEX_BYTES && info.nBytes >= 0) sqlite3_result_int64(ctx, info.nBytes);
      break;
    }
    case INFO_RECALL_TARGET:
      if (bHnsw && vec0RecallTargetOf(p, iVec)) {
        sqlite3_result_double(ctx, vec0RecallTargetOf(p, iVec) / 10000.0);
      }
      break;
    case INFO_RECALL: {
      double r = bHnsw ? vec0RecallAt(p, iVec, vec0RecallEf(p, iVec, 0)) : -1.0;
      if (r >= 0) sqlite3_result_double(ctx, r);
      break;
    }
    case INFO_RECALL_ROWS:
      if (bHnsw && p->aRecall[iVec].nPoint) sqlite3_result_int64(ctx, p->aRecall[iVec].nRows);
      break;
    case INFO_RECALL_CHANGES:
      if (bHnsw && p->aRecall[iVec].nPoint) sqlite3_result_int64(ctx, p->aRecall[iVec].iChanges);
      break;
    case INFO_DISK_BYTES:
    case INFO_DISK: return diskColumn(p, iVec, ctx, i == INFO_DISK);
    case INFO_TABLE: sqlite3_result_text(ctx, p->zName, -1, SQLITE_TRANSIENT); break;
    case INFO_SCHEMA: sqlite3_result_text(ctx, p->zDb, -1, SQLITE_TRANSIENT); break;
  }
  return SQLITE_OK;
}

/* Eponymous only (no xCreate): used as vec0_info('t'), never created. */
static sqlite3_module infoModule = {
    .iVersion = 0,
    .xConnect = infoConnect,
    .xBestIndex = infoBestIndex,
    .xDisconnect = infoDisconnect,
    .xOpen = infoOpen,
    .xClose = infoClose,
    .xFilter = infoFilter,
    .xNext = infoNext,
    .xEof = infoEof,
    .xColumn = infoColumn,
    .xRowid = infoRowid,
};

int vec0InfoRegister(sqlite3 *db, Vec0Registry **ppReg) {
  Vec0Registry *pReg = sqlite3_malloc64(sizeof(*pReg));
  int rc;
  *ppReg = 0;
  if (pReg == 0) return SQLITE_NOMEM;
  memset(pReg, 0, sizeof(*pReg));
  /* The function owns the registry: it is freed when the connection closes. */
  rc = sqlite3_create_module_v2(db, "vec0_info", &infoModule, pReg, registryFree);
  if (rc == SQLITE_OK) *ppReg = pReg;
  return rc;
}
