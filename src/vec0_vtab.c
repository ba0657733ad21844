/*
** vec0_vtab.c: the vec0 virtual table module, its SQL surface.
**
** xCreate/xConnect parse the arguments (vec0_config.c), bind each vector
** column to its index form (vec0_index.c) and open the shadow tables
** (vec0_storage.c); xBestIndex (vec0_plan.c) chooses between a full scan, a
** rowid lookup and a KNN search and hands the choice to xFilter in
** idxNum/idxStr; xFilter runs it (KNN in vec0_knn.c); xUpdate hands rows to vec0_write.c
** and commands to vec0_maint.c, each write inside one operation
** (vec0IndexOpBegin/End) so that a failed one leaves nothing behind in
** memory; the transaction methods flush the indexes at xSync and before
** each savepoint and drop the cache on rollback.  Every message starts with
** "vec0: " and names the table.  Calls the module files below it, the index
** interface, storage and config; nothing calls it but the entry point.
*/
#include "vec0Int.h"

#include <stdlib.h>
#include <string.h>

typedef struct Vec0Cursor {
  sqlite3_vtab_cursor base;
  int ePlan;
  int bEof;
  sqlite3_stmt *pScan;   /* VEC0_PLAN_SCAN: id, slot of T_rows by id */
  int bOwnScan;          /* pScan is this cursor's, not the table's cached one */
  sqlite3_int64 iRowid;  /* current row */
  uint32_t iSlot;
  Vec0KnnRow *aRow;      /* KNN results, or the rows of a point lookup */
  int nRow, iRow;
  int k, ef, nRescore;   /* KNN: what the search used */
} Vec0Cursor;

static void tableFree(Vec0Table *p) {
  if (p == 0) return;
  vec0InfoRemove(p->pReg, p);
  vec0StorageDiscard(p);
  vec0StorageFinalize(p);
  vec0StorageRenamesKeep(p, -1);
  vec0ConfigClear(&p->cfg);
  vec0WriteFree(p);
  sqlite3_free(p->base.zErrMsg); /* a message no method returned with */
  sqlite3_free(p->zDb);
  sqlite3_free(p->zName);
  sqlite3_free(p);
}

/* ---------------------------------------------------------------------- */
/* Create and connect                                                      */

static int tableInit(sqlite3 *db, void *pAux, int argc, const char *const *argv,
                     sqlite3_vtab **ppVtab, char **pzErr, int bCreate) {
  Vec0Table *p;
  char *zDecl = 0;
  int rc;
  *ppVtab = 0;
  p = sqlite3_malloc64(sizeof(*p));
  if (p == 0) return SQLITE_NOMEM;
  memset(p, 0, sizeof(*p));
  p->db = db;
  p->zDb = sqlite3_mprintf("%s", argv[1]);
  p->zName = sqlite3_mprintf("%s", argv[2]);
  if (p->zDb == 0 || p->zName == 0) {
    tableFree(p);
    return SQLITE_NOMEM;
  }
  rc = vec0ConfigParse(&p->cfg, argv[2], argc - 3, argv + 3, pzErr);
  if (rc != SQLITE_OK) goto fail;
  rc = vec0ConfigKeyFirst(&p->cfg);
  if (rc != SQLITE_OK) goto fail;
  p->nFilt = p->cfg.nPart + p->cfg.nMeta;
  p->conn.nCacheBudget = -1;
  vec0InfoRestore(pAux, p, argc - 3, argv + 3, bCreate);
  p->bMaybeGone = bCreate && !sqlite3_get_autocommit(db);
  for (int i = 0; i < p->cfg.nVec; i++) {
    p->aVecBytes[i] = vec0ElemBytes(p->cfg.aVec[i].eType, p->cfg.aVec[i].nDim);
    p->aEfSearch[i] = p->cfg.aVec[i].bEfFixed ? p->cfg.aVec[i].efSearch : 0;
    vec0IndexInit(p, i);
  }
  zDecl = vec0ConfigDeclare(&p->cfg);
  if (zDecl == 0) {
    rc = SQLITE_NOMEM;
    goto fail;
  }
  rc = sqlite3_declare_vtab(db, zDecl);
  sqlite3_free(zDecl);
  if (rc != SQLITE_OK) {
    *pzErr = sqlite3_mprintf("vec0: table \"%s\": %s", argv[2], sqlite3_errmsg(db));
    goto fail;
  }
  sqlite3_vtab_config(db, SQLITE_VTAB_CONSTRAINT_SUPPORT, 1);
  rc = bCreate ? vec0StorageCreate(p, pzErr) : vec0StorageConnect(p, pzErr);
  if (rc == SQLITE_OK && p->bMaybeGone) rc = vec0StorageCookie(p, &p->iCreateCookie);
  if (rc == SQLITE_OK) rc = vec0InfoAdd(pAux, p);
  if (rc != SQLITE_OK) goto fail;
  p->pReg = pAux;
  *ppVtab = &p->base;
  return SQLITE_OK;
fail:
  tableFree(p);
  return rc;
}

static int vec0Create(sqlite3 *db, void *pAux, int argc, const char *const *argv,
                      sqlite3_vtab **ppVtab, char **pzErr) {
  return tableInit(db, pAux, argc, argv, ppVtab, pzErr, 1);
}

static int vec0Connect(sqlite3 *db, void *pAux, int argc, const char *const *argv,
                       sqlite3_vtab **ppVtab, char **pzErr) {
  return tableInit(db, pAux, argc, argv, ppVtab, pzErr, 0);
}

static int vec0Disconnect(sqlite3_vtab *pVtab) {
  tableFree((Vec0Table *)pVtab);
  return SQLITE_OK;
}

static int vec0Destroy(sqlite3_vtab *pVtab) {
  Vec0Table *p = (Vec0Table *)pVtab;
  int rc;
  vec0StorageDiscard(p);
  vec0StorageFinalize(p);
  rc = vec0StorageDestroy(p);
  if (rc == SQLITE_OK) vec0InfoForget(p);
  if (rc == SQLITE_OK) tableFree(p);
  return rc;
}

/* ---------------------------------------------------------------------- */
/* Cursors                                                                 */

static int vec0Open(sqlite3_vtab *pVtab, sqlite3_vtab_cursor **ppCur) {
  Vec0Cursor *pCur = sqlite3_malloc64(sizeof(*pCur));
  /* every UPDATE begins with a scan: a statement's rows replaced so far */
  vec0WriteStatementBegin((Vec0Table *)pVtab);
  if (pCur == 0) return SQLITE_NOMEM;
  memset(pCur, 0, sizeof(*pCur));
  pCur->bEof = 1;
  *ppCur = &pCur->base;
  return SQLITE_OK;
}

static void cursorReset(Vec0Cursor *pCur) {
  if (pCur->pScan) {
    vec0StorageRowScanEnd((Vec0Table *)pCur->base.pVtab, pCur->pScan, pCur->bOwnScan);
  }
  pCur->pScan = 0;
  pCur->bOwnScan = 0;
  sqlite3_free(pCur->aRow);
  pCur->aRow = 0;
  pCur->nRow = pCur->iRow = 0;
  pCur->bEof = 1;
}

static int vec0Close(sqlite3_vtab_cursor *pCursor) {
  Vec0Cursor *pCur = (Vec0Cursor *)pCursor;
  cursorReset(pCur);
  sqlite3_free(pCur);
  return SQLITE_OK;
}

static Vec0Table *cursorTable(Vec0Cursor *pCur) {
  return (Vec0Table *)pCur->base.pVtab;
}

/* The cache may have been dropped (rollback, another connection) since the
** cursor started; make it usable again. */
static int cacheReady(Vec0Table *p) {
  return vec0StorageCached(p) ? SQLITE_OK : vec0StorageValidate(p);
}

/*
** Positions a list cursor (KNN or point) on aRow[iRow], or the first row
** after it still in the table.  This connection may have written between
** two steps (a DELETE, 'optimize' renumbering the slots): a row that left
** is skipped, as an ordinary table's cursor does, and a slot that another
** row took since is not that row.
*/
static int listRow(Vec0Cursor *pCur) {
  Vec0Table *p = cursorTable(pCur);
  int rc = cacheReady(p);
  for (; rc == SQLITE_OK && pCur->iRow < pCur->nRow; pCur->iRow++) {
    const Vec0KnnRow *r = &pCur->aRow[pCur->iRow];
    if (r->slot >= vec0StorageSlotCount(p)) continue;
    rc = vec0StorageSlot(p, r->slot);
    if (rc == SQLITE_OK && vec0StorageSlotLive(p, r->slot) &&
        vec0StorageSlotRowid(p, r->slot) == r->rowid) {
      pCur->iSlot = r->slot;
      pCur->iRowid = r->rowid;
      pCur->bEof = 0;
      return SQLITE_OK;
    }
  }
  pCur->bEof = 1;
  return rc;
}

/* The rowids of the rows a KNN search found, from their slots. */
static int knnRowids(Vec0Cursor *pCur) {
  Vec0Table *p = cursorTable(pCur);
  int rc = SQLITE_OK;
  for (int i = 0; rc == SQLITE_OK && i < pCur->nRow; i++) {
    rc = vec0StorageSlot(p, pCur->aRow[i].slot);
    if (rc == SQLITE_OK) pCur->aRow[i].rowid = vec0StorageSlotRowid(p, pCur->aRow[i].slot);
  }
  return rc;
}

static int scanRow(Vec0Cursor *pCur) {
  int rc = sqlite3_step(pCur->pScan);
  if (rc == SQLITE_ROW) {
    pCur->iRowid = sqlite3_column_int64(pCur->pScan, 0);
    pCur->iSlot = (uint32_t)sqlite3_column_int64(pCur->pScan, 1);
    pCur->bEof = 0;
    return SQLITE_OK;
  }
  pCur->bEof = 1;
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int cmpRowid(const void *a, const void *b) {
  const sqlite3_int64 *x = a, *y = b;
  return *x < *y ? -1 : *x > *y;
}

/* rowid = ? or rowid IN (...): collects the slots of the rows that exist. */
static int pointRows(Vec0Cursor *pCur, const char *idxStr, sqlite3_value *pArg) {
  Vec0Table *p = cursorTable(pCur);
  int bKey = idxStr[3] == '1'; /* the text key, not the rowid */
  sqlite3_value *v = 0;
  sqlite3_int64 *aPair = 0; /* rowid, slot pairs */
  int n = 0, nAlloc = 0, rc = SQLITE_OK;
  int bIn = idxStr[1] == VEC0_OP_IN;
  if (bIn) {
    rc = sqlite3_vtab_in_first(pArg, &v);
  } else {
    v = pArg;
  }
  while (rc == SQLITE_OK && v) {
    sqlite3_int64 iRowid = 0, iSlot = 0;
    int bFound = 0;
    if (bKey) {
      /* A number names the text key that is its text (1.0: '1.0'). */
      rc = vec0StorageKeyRow(p, v, &iRowid, &iSlot, &bFound);
    } else if (vec0ValueInt64(v, &iRowid)) {
      rc = vec0StorageRowSlot(p, iRowid, &iSlot, &bFound);
    }
    if (rc == SQLITE_OK && bFound) {
      if (n + 2 > nAlloc) {
        int nNew = nAlloc ? nAlloc * 2 : 16;
        sqlite3_int64 *aNew = sqlite3_realloc64(aPair, sizeof(sqlite3_int64) * (size_t)nNew);
        if (aNew == 0) {
          rc = SQLITE_NOMEM;
        } else {
          aPair = aNew;
          nAlloc = nNew;
        }
      }
      if (rc == SQLITE_OK) {
        aPair[n] = iRowid;
        aPair[n + 1] = iSlot;
        n += 2;
      }
    }
    if (!bIn) break;
    if (rc == SQLITE_OK) {
      rc = sqlite3_vtab_in_next(pArg, &v);
      if (rc == SQLITE_DONE) {
        rc = SQLITE_OK;
        break;
      }
    }
  }
  if (rc == SQLITE_DONE) rc = SQLITE_OK;
  if (rc == SQLITE_OK && n) {
    int nRow = 0;
    qsort(aPair, (size_t)n / 2, sizeof(sqlite3_int64) * 2, cmpRowid);
    pCur->aRow = sqlite3_malloc64(sizeof(Vec0KnnRow) * (size_t)(n / 2));
    if (pCur->aRow == 0) rc = SQLITE_NOMEM;
    for (int i = 0; rc == SQLITE_OK && i < n; i += 2) {
      if (i > 0 && aPair[i] == aPair[i - 2]) continue;
      pCur->aRow[nRow].slot = (uint32_t)aPair[i + 1];
      pCur->aRow[nRow].distance = 0;
      pCur->aRow[nRow].rowid = aPair[i];
      nRow++;
    }
    pCur->nRow = nRow;
  }
  sqlite3_free(aPair);
  return rc;
}

static int cursorFilter(sqlite3_vtab_cursor *pCursor, int idxNum, const char *idxStr,
                        int argc, sqlite3_value **argv) {
  Vec0Cursor *pCur = (Vec0Cursor *)pCursor;
  Vec0Table *p = cursorTable(pCur);
  int rc;
  cursorReset(pCur);
  pCur->ePlan = idxNum;
  rc = vec0StorageValidate(p);
  if (rc != SQLITE_OK) return rc;
  switch (idxNum) {
    case VEC0_PLAN_KNN:
      rc = vec0KnnRun(p, idxStr, argc, argv, &pCur->aRow, &pCur->nRow, &pCur->k,
                      &pCur->ef, &pCur->nRescore);
      if (rc == SQLITE_OK) rc = knnRowids(pCur);
      if (rc == SQLITE_OK) rc = listRow(pCur);
      break;
    case VEC0_PLAN_POINT:
      if (argc != 1 || idxStr == 0 || strlen(idxStr) != 4) return SQLITE_ERROR;
      rc = pointRows(pCur, idxStr, argv[0]);
      if (rc == SQLITE_OK) rc = listRow(pCur);
      break;
    default:
      rc = vec0StorageRowScan(p, &pCur->pScan, &pCur->bOwnScan);
      if (rc == SQLITE_OK) rc = scanRow(pCur);
      break;
  }
  return rc;
}

static int cursorNext(sqlite3_vtab_cursor *pCursor) {
  Vec0Cursor *pCur = (Vec0Cursor *)pCursor;
  if (pCur->pScan) return scanRow(pCur);
  pCur->iRow++;
  return listRow(pCur);
}

static int vec0Eof(sqlite3_vtab_cursor *pCursor) {
  return ((Vec0Cursor *)pCursor)->bEof;
}

static int vec0Rowid(sqlite3_vtab_cursor *pCursor, sqlite3_int64 *pRowid) {
  *pRowid = ((Vec0Cursor *)pCursor)->iRowid;
  return SQLITE_OK;
}

static void resultColumnVector(sqlite3_context *ctx, const Vec0VectorCol *pCol,
                         const unsigned char *a, size_t n) {
  sqlite3_result_blob(ctx, a, (int)n, SQLITE_TRANSIENT);
  if (pCol->eType != VEC0_ELEM_F32) sqlite3_result_subtype(ctx, (unsigned)vec0ElemSubtype(pCol->eType));
}

static int cursorColumn(sqlite3_vtab_cursor *pCursor, sqlite3_context *ctx, int i) {
  Vec0Cursor *pCur = (Vec0Cursor *)pCursor;
  Vec0Table *p = cursorTable(pCur);
  Vec0Config *c = &p->cfg;
  int rc = cacheReady(p);
  if (rc != SQLITE_OK) return rc;
  if (i >= c->nCol) {
    if (pCur->ePlan != VEC0_PLAN_KNN) return SQLITE_OK;
    if (i == c->nCol + VEC0_HIDDEN_DISTANCE) {
      sqlite3_result_double(ctx, pCur->aRow[pCur->iRow].distance);
    } else if (i == c->nCol + VEC0_HIDDEN_K) {
      sqlite3_result_int(ctx, pCur->k);
    } else if (i == c->nCol + VEC0_HIDDEN_EF && pCur->ef > 0) {
      sqlite3_result_int(ctx, pCur->ef);
    } else if (i == c->nCol + VEC0_HIDDEN_RESCORE && pCur->nRescore > 0) {
      sqlite3_result_int(ctx, pCur->nRescore);
    }
    return SQLITE_OK;
  }
  switch (c->aCol[i].eKind) {
    case VEC0_COL_PK:
      if (c->ePk == VEC0_PK_TEXT) return vec0StorageRowColumn(p, pCur->iRowid, -1, ctx);
      sqlite3_result_int64(ctx, pCur->iRowid);
      return SQLITE_OK;
    case VEC0_COL_VECTOR: {
      int iVec = c->aCol[i].iSub;
      const unsigned char *a = 0;
      if (sqlite3_vtab_nochange(ctx)) return SQLITE_OK;
      rc = vec0StorageVector(p, iVec, pCur->iSlot, &a);
      if (rc == SQLITE_OK) resultColumnVector(ctx, &c->aVec[iVec], a, vec0StorageVectorBytes(p, iVec));
      return rc;
    }
    case VEC0_COL_PARTITION:
    case VEC0_COL_METADATA: {
      int f = c->aCol[i].eKind == VEC0_COL_PARTITION ? c->aCol[i].iSub
                                                     : c->nPart + c->aCol[i].iSub;
      const Vec0Cell *pCell;
      rc = vec0StorageSlot(p, pCur->iSlot);
      if (rc != SQLITE_OK) return rc;
      pCell = vec0StorageSlotCell(p, pCur->iSlot, f);
      switch (pCell->eType) {
        case SQLITE_INTEGER: sqlite3_result_int64(ctx, pCell->i); break;
        case SQLITE_FLOAT: sqlite3_result_double(ctx, pCell->r); break;
        case SQLITE_TEXT:
          sqlite3_result_text(ctx, pCell->z, pCell->n, SQLITE_TRANSIENT);
          break;
        default: break;
      }
      return SQLITE_OK;
    }
    case VEC0_COL_AUX:
      if (sqlite3_vtab_nochange(ctx)) return SQLITE_OK;
      return vec0StorageRowColumn(p, pCur->iRowid, c->aCol[i].iSub, ctx);
  }
  return SQLITE_OK;
}

static int tableUpdate(sqlite3_vtab *pVtab, int argc, sqlite3_value **argv,
                       sqlite3_int64 *pRowid) {
  Vec0Table *p = (Vec0Table *)pVtab;
  int rc = vec0StorageValidate(p);
  if (rc != SQLITE_OK) return rc;
  if (argc == 1) {
    vec0IndexOpBegin(p);
    rc = vec0IndexOpEnd(p, vec0WriteDelete(p, sqlite3_value_int64(argv[0])));
  } else if (sqlite3_value_type(argv[2 + p->cfg.nCol + VEC0_HIDDEN_TABLE]) !=
             SQLITE_NULL) {
    if (sqlite3_value_type(argv[0]) != SQLITE_NULL) {
      vec0TableError(p, "vec0: table \"%s\": commands are run with INSERT INTO "
                        "%s(%s) VALUES('command')",
                     p->zName, p->zName, p->zName);
      rc = SQLITE_ERROR;
    } else {
      rc = vec0MaintCommand(p, argv);
      *pRowid = p->iLastRowid; /* a command inserts no row: SQLite sets this */
    }
  } else if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
    vec0IndexOpBegin(p);
    rc = vec0IndexOpEnd(p, vec0WriteInsert(p, argv, pRowid));
    /*
    ** A write after a reopen reads the index as a query does: it warms up
    ** too.  A failed step fails the statement, which SQLite then rolls back
    ** (a failed read inside it may have rolled back the transaction already,
    ** so the write cannot be reported as done), and the cache is dropped.
    */
    if (rc == SQLITE_OK) rc = vec0IndexIdle(p);
  } else {
    vec0IndexOpBegin(p);
    rc = vec0IndexOpEnd(p, vec0WriteUpdate(p, argv));
    if (rc == SQLITE_OK) rc = vec0IndexIdle(p);
  }
  return rc;
}

/* ---------------------------------------------------------------------- */
/* Transactions                                                            */

/* Takes back the renames made since savepoint iSavepoint began (-1: all). */
static void renameUndo(Vec0Table *p, int iSavepoint) {
  const char *zOld;
  while ((zOld = vec0StorageRenamedSince(p, iSavepoint)) != 0) {
    vec0InfoRenamed(p, p->zName, zOld); /* NOMEM: the settings are lost */
    vec0StorageRenameBack(p);
  }
}

/*
** SQLite can call xRollback from inside our own methods: when a statement
** we run on a shadow table fails with SQLITE_NOMEM (or IOERR, FULL), SQLite
** rolls back the whole transaction there and then, virtual tables included.
** The cache must not be freed under the method still using it, so every
** method that uses it counts itself in nBusy, and a rollback that arrives
** meanwhile is carried out when the outermost one returns.
*/
static void rollbackCache(Vec0Table *p) {
  renameUndo(p, -1);
  p->bMaybeGone = 0;
  vec0StorageDiscard(p);
  p->bBumped = 0;
  p->bPoison = 0;
  p->nSavepoint = 0;
}

/*
** The shadow tables' writes (rows, slots, the graph's records written at
** xSync) would leave their own rowids in sqlite3_last_insert_rowid(), where
** a program reads the rowid of the row it inserted (Python's lastrowid,
** better-sqlite3's lastInsertRowid): the outermost method puts back the value
** it found, and SQLite then sets an INSERT's own rowid after xUpdate.
*/
static void busyBegin(Vec0Table *p) {
  if (p->nBusy++ == 0) p->iLastRowid = sqlite3_last_insert_rowid(p->db);
}

static int busyEnd(Vec0Table *p, int rc) {
  if (p->nBusy == 1) {
    vec0StorageReadEnd(p);
    /* (a read leaves it: no call that takes the connection's mutex) */
    if (sqlite3_last_insert_rowid(p->db) != p->iLastRowid) {
      sqlite3_set_last_insert_rowid(p->db, p->iLastRowid);
    }
  }
  if (--p->nBusy == 0 && p->bRollbackLater) {
    p->bRollbackLater = 0;
    rollbackCache(p);
  }
  return rc;
}

static int vec0Filter(sqlite3_vtab_cursor *pCursor, int idxNum, const char *idxStr,
                      int argc, sqlite3_value **argv) {
  Vec0Table *p = cursorTable((Vec0Cursor *)pCursor);
  busyBegin(p);
  return busyEnd(p, cursorFilter(pCursor, idxNum, idxStr, argc, argv));
}

static int vec0Next(sqlite3_vtab_cursor *pCursor) {
  Vec0Table *p = cursorTable((Vec0Cursor *)pCursor);
  busyBegin(p);
  return busyEnd(p, cursorNext(pCursor));
}

static int vec0Column(sqlite3_vtab_cursor *pCursor, sqlite3_context *ctx, int i) {
  Vec0Table *p = cursorTable((Vec0Cursor *)pCursor);
  busyBegin(p);
  return busyEnd(p, cursorColumn(pCursor, ctx, i));
}

static int vec0Update(sqlite3_vtab *pVtab, int argc, sqlite3_value **argv,
                      sqlite3_int64 *pRowid) {
  Vec0Table *p = (Vec0Table *)pVtab;
  busyBegin(p);
  return busyEnd(p, tableUpdate(pVtab, argc, argv, pRowid));
}

static int vec0Begin(sqlite3_vtab *pVtab) {
  Vec0Table *p = (Vec0Table *)pVtab;
  p->bBumped = 0;
  return vec0StorageValidate(p);
}

/*
** Whether the table's shadow tables are gone (see bStale): then it only
** drops its cache.  SQLite still syncs and commits such a table, which
** must not fail the transaction (with writes of its own, those were taken
** back with it).
*/
static int tableStale(Vec0Table *p, int *pbStale) {
  int rc = SQLITE_OK;
  if (p->bMaybeGone && !p->bStale) {
    rc = vec0StorageGone(p, &p->bStale);
    /* still there: a later ROLLBACK TO sets bMaybeGone again, and a later
    ** connect of its name supersedes it */
    if (rc == SQLITE_OK) p->bMaybeGone = 0;
  }
  if (p->bStale) vec0StorageDiscard(p);
  *pbStale = p->bStale;
  return rc;
}

static int vec0Sync(sqlite3_vtab *pVtab) {
  Vec0Table *p = (Vec0Table *)pVtab;
  int rc, bStale;
  if ((rc = tableStale(p, &bStale)) != SQLITE_OK || bStale) return rc;
  if (p->bPoison) {
    vec0TableError(p, "vec0: table \"%s\": a statement of this transaction failed "
                      "after writing part of its changes; the transaction is rolled "
                      "back",
                   p->zName);
    return SQLITE_ABORT;
  }
  busyBegin(p);
  rc = vec0IndexFlush(p);
  /* The recall measurement and graph upkeep the transaction calls for. */
  if (rc == SQLITE_OK && !p->bSuperseded) rc = vec0RecallAfterWrite(p);
  /* busyEnd closes the BLOB handles of the reads: none may outlive the commit */
  return busyEnd(p, rc);
}

static int vec0Commit(sqlite3_vtab *pVtab) {
  Vec0Table *p = (Vec0Table *)pVtab;
  p->bBumped = 0;
  p->nSavepoint = 0;
  p->bMaybeGone = 0;
  vec0StorageRenamesKeep(p, -1);
  return SQLITE_OK;
}

static int vec0Rollback(sqlite3_vtab *pVtab) {
  Vec0Table *p = (Vec0Table *)pVtab;
  if (p->nBusy) {
    p->bRollbackLater = 1;
  } else {
    rollbackCache(p);
  }
  return SQLITE_OK;
}

/*
** A savepoint (a user's, or the one SQLite opens for a statement that writes
** several rows): the dirty graph goes to the tables first, so that whatever
** SQLite later rolls back to is entirely in them.
**
** SQLite also calls these three for a statement this module runs on its
** shadow tables, from inside one of its own methods (nBusy), when that
** statement takes a statement journal: it then opens a savepoint on every
** virtual table of the transaction, and rolls back to it when the statement
** halts with an error, even one it retries (SQLITE_SCHEMA after a schema
** change).  Such a savepoint is not the user's and must not drop the cache
** under the method using it (that was a crash: UPDATE of a rowid, CREATE
** TABLE, DELETE).  None of vec0's statements takes a journal now; should one,
** its failure fails the method, and the statement's own rollback follows.
*/
static int vec0Savepoint(sqlite3_vtab *pVtab, int iSavepoint) {
  Vec0Table *p = (Vec0Table *)pVtab;
  int rc, bStale;
  if (p->nBusy) return SQLITE_OK; /* a statement of this module's own */
  p->nSavepoint = iSavepoint + 1;
  if ((rc = tableStale(p, &bStale)) != SQLITE_OK || bStale) return rc;
  busyBegin(p);
  return busyEnd(p, vec0IndexFlush(p));
}

static int vec0Release(sqlite3_vtab *pVtab, int iSavepoint) {
  Vec0Table *p = (Vec0Table *)pVtab;
  if (p->nBusy == 0) {
    p->nSavepoint = iSavepoint;
    vec0StorageRenamesKeep(p, iSavepoint);
  }
  return SQLITE_OK;
}

static int vec0RollbackTo(sqlite3_vtab *pVtab, int iSavepoint) {
  Vec0Table *p = (Vec0Table *)pVtab;
  if (p->nBusy) return SQLITE_OK; /* a statement of this module's own */
  vec0StorageDiscard(p);
  renameUndo(p, iSavepoint);
  p->bMaybeGone = 1;
  p->bBumped = 0;
  p->nSavepoint = iSavepoint + 1;
  /* SQLite has undone every write made since savepoint iSavepoint began. */
  if (p->bPoison && iSavepoint < p->iPoisonDepth) p->bPoison = 0;
  return SQLITE_OK;
}

static int vec0Rename(sqlite3_vtab *pVtab, const char *zNew) {
  Vec0Table *p = (Vec0Table *)pVtab;
  int rc;
  busyBegin(p);
  rc = vec0IndexFlush(p);
  if (rc == SQLITE_OK) {
    rc = vec0StorageRename(p, zNew);
    if (rc != SQLITE_OK && rc != SQLITE_NOMEM && p->base.zErrMsg == 0) {
      /* a shadow table's new name is taken, say */
      vec0TableError(p, "vec0: table \"%s\": cannot rename it to \"%s\": %s", p->zName,
                     zNew, sqlite3_errmsg(p->db));
    }
  }
  /* NOMEM: the connection's settings are lost, the rename stands */
  if (rc == SQLITE_OK) vec0InfoRenamed(p, p->aRenamed[p->nRenamed - 1].zOld, zNew);
  return busyEnd(p, rc);
}

static int vec0ShadowName(const char *zName) {
  return vec0StorageShadowName(zName);
}

/*
** PRAGMA integrity_check runs the check of 'integrity-check' on SQLite 3.44
** and later (xIntegrity, iVersion 4).  Changes still in memory are written
** first, as the command does, since the check reads the tables.
*/
static int vec0Integrity(sqlite3_vtab *pVtab, const char *zSchema,
                         const char *zTabName, int mFlags, char **pzErr) {
  Vec0Table *p = (Vec0Table *)pVtab;
  char *zErr = 0;
  int rc;
  (void)zSchema;
  (void)mFlags;
  busyBegin(p);
  rc = vec0IndexFlush(p);
  if (rc == SQLITE_OK) rc = vec0MaintCheck(p, &zErr);
  rc = busyEnd(p, rc);
  if (rc == SQLITE_CORRUPT_VTAB) {
    *pzErr = sqlite3_mprintf("vec0 table %s: %s", zTabName,
                             zErr ? zErr : "shadow tables are damaged");
    rc = *pzErr ? SQLITE_OK : SQLITE_NOMEM;
  }
  sqlite3_free(zErr);
  return rc;
}

/*
** The module, with xIntegrity after the version-3 methods.  Built against
** headers older than 3.44, whose sqlite3_module ends at xShadowName, the
** method follows the struct where a newer SQLite looks for it; iVersion is
** set from the library actually running, so an older one never reads it.
*/
typedef int (*Vec0IntegrityFn)(sqlite3_vtab *, const char *, const char *, int,
                               char **);
#if SQLITE_VERSION_NUMBER >= 3044000
static sqlite3_module vec0Module = {
#else
static struct Vec0ModuleV4 {
  sqlite3_module base;
  Vec0IntegrityFn xIntegrity;
} vec0ModuleV4 = {{
#endif
    /* iVersion      */ 3,
    /* xCreate       */ vec0Create,
    /* xConnect      */ vec0Connect,
    /* xBestIndex    */ vec0PlanBestIndex,
    /* xDisconnect   */ vec0Disconnect,
    /* xDestroy      */ vec0Destroy,
    /* xOpen         */ vec0Open,
    /* xClose        */ vec0Close,
    /* xFilter       */ vec0Filter,
    /* xNext         */ vec0Next,
    /* xEof          */ vec0Eof,
    /* xColumn       */ vec0Column,
    /* xRowid        */ vec0Rowid,
    /* xUpdate       */ vec0Update,
    /* xBegin        */ vec0Begin,
    /* xSync         */ vec0Sync,
    /* xCommit       */ vec0Commit,
    /* xRollback     */ vec0Rollback,
    /* xFindFunction */ 0,
    /* xRename       */ vec0Rename,
    /* xSavepoint    */ vec0Savepoint,
    /* xRelease      */ vec0Release,
    /* xRollbackTo   */ vec0RollbackTo,
    /* xShadowName   */ vec0ShadowName,
#if SQLITE_VERSION_NUMBER >= 3044000
    /* xIntegrity    */ vec0Integrity,
};
#define VEC0_MODULE (&vec0Module)
#else
    }, vec0Integrity};
#define VEC0_MODULE (&vec0ModuleV4.base)
#endif

int vec0VtabRegister(sqlite3 *db) {
  Vec0Registry *pReg = 0;
  int rc = vec0InfoRegister(db, &pReg);
  VEC0_MODULE->iVersion = sqlite3_libversion_number() >= 3044000 ? 4 : 3;
  /* Each table finds the registry of vec0_info in its module's pAux. */
  if (rc == SQLITE_OK) rc = sqlite3_create_module_v2(db, "vec0", VEC0_MODULE, pReg, 0);
  return rc;
}
