/*
** vec0_maint.c: the maintenance commands that read or rewrite a whole table:
** 'integrity-check' (every shadow row consistent with the others and the
** graphs sound) and 'rebuild' / 'optimize' (every graph rebuilt from the
** stored vectors, free slots as tombstones).  These build their SQL at run time:
** they are not a hot path.  Calls the storage layer and the HNSW library.
*/
#include "vec0Int.h"

#include <string.h>

/* Runs a query that returns one row describing a problem, or none. */
static int findProblem(Vec0Table *p, char **pzErr, const char *zWhat, char *zSql) {
  sqlite3_stmt *pStmt = 0;
  int rc;
  if (zSql == 0) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(p->db, zSql, -1, &pStmt, 0);
  sqlite3_free(zSql);
  if (rc != SQLITE_OK) return rc;
  if (sqlite3_step(pStmt) == SQLITE_ROW) {
    /* zWhat takes two integers and, if the query has one, a string. */
    const char *z3 = sqlite3_column_count(pStmt) > 2
                         ? (const char *)sqlite3_column_text(pStmt, 2)
                         : "";
    *pzErr = sqlite3_mprintf(zWhat, sqlite3_column_int64(pStmt, 0),
                             sqlite3_column_int64(pStmt, 1), z3 ? z3 : "");
    rc = *pzErr ? SQLITE_CORRUPT_VTAB : SQLITE_NOMEM;
  }
  {
    int rc2 = sqlite3_finalize(pStmt);
    if (rc == SQLITE_OK) rc = rc2;
  }
  return rc;
}

/*
** "<zT>_<zShadow><i> <zRest>" as a format for findProblem(): a '%' in the
** table name would otherwise be read as a conversion.
*/
static char *shadowFormat(const char *zT, const char *zShadow, int i,
                          const char *zRest) {
  sqlite3_str *pStr = sqlite3_str_new(0);
  for (const char *z = zT; *z; z++) {
    if (*z == '%') sqlite3_str_appendchar(pStr, 1, '%');
    sqlite3_str_appendchar(pStr, 1, *z);
  }
  sqlite3_str_appendf(pStr, "_%s%d %s", zShadow, i, zRest);
  if (sqlite3_str_errcode(pStr) != SQLITE_OK) {
    sqlite3_free(sqlite3_str_finish(pStr));
    return 0;
  }
  return sqlite3_str_finish(pStr);
}

/* The integer a one-row query returns. */
static int countRows(Vec0Table *p, char *zSql, sqlite3_int64 *pn) {
  sqlite3_stmt *pStmt = 0;
  int rc;
  *pn = 0;
  if (zSql == 0) return SQLITE_NOMEM;
  rc = sqlite3_prepare_v2(p->db, zSql, -1, &pStmt, 0);
  sqlite3_free(zSql);
  if (rc != SQLITE_OK) return rc;
  if (sqlite3_step(pStmt) == SQLITE_ROW) *pn = sqlite3_column_int64(pStmt, 0);
  return sqlite3_finalize(pStmt);
}

int vec0StorageCheck(Vec0Table *p, char **pzErr) {
  const char *zDb = p->zDb, *zT = p->zName;
  int rc = SQLITE_OK;
  sqlite3_int64 nRows = 0;

  /* Check what is on disk, not what the cache believes. */
  vec0StorageDiscard(p);
  rc = vec0StorageValidate(p);
  if (rc == SQLITE_CORRUPT_VTAB && p->base.zErrMsg) {
    *pzErr = sqlite3_mprintf("%s", p->base.zErrMsg);
  }
  if (rc != SQLITE_OK) return rc;

  rc = findProblem(p, pzErr, "row %lld points to slot %lld, which is not its slot",
                   sqlite3_mprintf("SELECT r.id, r.slot FROM \"%w\".\"%w_rows\" r "
                                   "LEFT JOIN \"%w\".\"%w_slots\" s ON s.slot=r.slot "
                                   "WHERE s.id IS NOT r.id OR r.slot<0 OR r.slot>=%u",
                                   zDb, zT, zDb, zT, p->nSlot));
  if (rc == SQLITE_OK) {
    rc = findProblem(p, pzErr, "slot %lld belongs to row %lld, which does not point back",
                     sqlite3_mprintf("SELECT s.slot, s.id FROM \"%w\".\"%w_slots\" s "
                                     "LEFT JOIN \"%w\".\"%w_rows\" r ON r.id=s.id "
                                     "WHERE s.id IS NOT NULL AND r.slot IS NOT s.slot "
                                     "OR s.slot<0 OR s.slot>=%u",
                                     zDb, zT, zDb, zT, p->nSlot));
  }
  for (int i = 0; rc == SQLITE_OK && i < p->cfg.nVec; i++) {
    /* Chunk c holds slots [c*C, (c+1)*C) that exist: all of them were used
    ** once, so every chunk below the last exists and is full. */
    uint32_t C = p->anChunk[i], nChunk = (p->nSlot + C - 1) / C;
    sqlite3_int64 nFound = 0;
    char *zFmt = shadowFormat(zT, "vectors", i, "chunk %lld has %lld bytes, expected %s");
    if (zFmt == 0) return SQLITE_NOMEM;
    rc = findProblem(p, pzErr, zFmt,
                     sqlite3_mprintf("SELECT chunk, ifnull(length(v), -1), "
                                     "CASE WHEN chunk < 0 OR chunk >= %u THEN "
                                     "'none (no such chunk)' ELSE '%lld' END "
                                     "FROM \"%w\".\"%w_vectors%d\" WHERE chunk < 0 OR "
                                     "chunk >= %u OR typeof(v) != 'blob' OR length(v) != "
                                     "%lld",
                                     nChunk, (long long)C * (long long)p->aVecBytes[i],
                                     zDb, zT, i, nChunk,
                                     (long long)C * (long long)p->aVecBytes[i]));
    sqlite3_free(zFmt);
    if (rc == SQLITE_OK) {
      rc = countRows(p, sqlite3_mprintf("SELECT count(*) FROM \"%w\".\"%w_vectors%d\"",
                                        zDb, zT, i),
                     &nFound);
    }
    if (rc == SQLITE_OK && nFound != nChunk) {
      *pzErr = sqlite3_mprintf("%s_vectors%d has %lld chunks, expected %u for %u slots",
                               zT, i, nFound, nChunk, p->nSlot);
      rc = SQLITE_CORRUPT_VTAB;
    }
  }
  if (rc == SQLITE_OK) {
    rc = countRows(p, sqlite3_mprintf("SELECT count(*) FROM \"%w\".\"%w_rows\"", zDb, zT),
                   &nRows);
    if (rc == SQLITE_OK && nRows != p->nLive) {
      *pzErr = sqlite3_mprintf("%s_config says %lld rows, %s_rows has %lld", zT,
                               p->nLive, zT, nRows);
      rc = SQLITE_CORRUPT_VTAB;
    }
  }
  if (rc == SQLITE_OK) rc = vec0StorageAllSlots(p);
  for (int i = 0; rc == SQLITE_OK && i < p->cfg.nVec; i++) {
    Vec0Hnsw *h = 0;
    char *zHnswErr = 0;
    if (p->cfg.aVec[i].eIndex != VEC0_INDEX_HNSW) continue;
    {
      /* The graph check reads the nodes of slots below next_slot only. */
      char *zFmt = shadowFormat(zT, "links", i,
                                "has a node for slot %lld, not below next_slot %lld");
      if (zFmt == 0) return SQLITE_NOMEM;
      rc = findProblem(p, pzErr, zFmt,
                       sqlite3_mprintf("SELECT slot, %u FROM \"%w\".\"%w_links%d\" "
                                       "WHERE slot < 0 OR slot >= %u",
                                       p->nSlot, zDb, zT, i, p->nSlot));
      sqlite3_free(zFmt);
    }
    if (rc == SQLITE_OK) rc = vec0StorageHnsw(p, i, &h);
    if (rc == SQLITE_OK) rc = vec0HnswCheck(h, p->nSlot, &zHnswErr);
    if (zHnswErr) {
      *pzErr = sqlite3_mprintf("HNSW graph of %s_links%d: %s", zT, i, zHnswErr);
      sqlite3_free(zHnswErr);
      if (rc == SQLITE_OK) rc = SQLITE_CORRUPT_VTAB;
    }
    for (uint32_t s = 0; rc == SQLITE_OK && s < p->nSlot; s++) {
      int bLive = vec0HnswIsLive(h, s);
      if (bLive < 0) {
        rc = vec0StorageHnswRc(p, i, -bLive);
      } else if (bLive != (p->aSlotState[s] == VEC0_SLOT_LIVE)) {
        *pzErr = sqlite3_mprintf("slot %u is %s but its node in %s_links%d is %s", s,
                                 p->aSlotState[s] == VEC0_SLOT_LIVE ? "live" : "free",
                                 zT, i, bLive ? "live" : "absent or deleted");
        rc = SQLITE_CORRUPT_VTAB;
      }
    }
  }
  if (rc == SQLITE_CORRUPT_VTAB && *pzErr == 0 && p->base.zErrMsg) {
    *pzErr = sqlite3_mprintf("%s", p->base.zErrMsg);
  }
  return rc;
}

static int execf(Vec0Table *p, char *zSql) {
  int rc;
  if (zSql == 0) return SQLITE_NOMEM;
  rc = sqlite3_exec(p->db, zSql, 0, 0, 0);
  sqlite3_free(zSql);
  return rc;
}

int vec0StorageRebuild(Vec0Table *p) {
  const char *zDb = p->zDb, *zT = p->zName;
  int rc = SQLITE_OK;
  for (int i = 0; rc == SQLITE_OK && i < p->cfg.nVec; i++) {
    if (p->cfg.aVec[i].eIndex == VEC0_INDEX_HNSW) {
      rc = execf(p, sqlite3_mprintf("DELETE FROM \"%w\".\"%w_links%d\";"
                                    "DELETE FROM \"%w\".\"%w_config\" WHERE key='hnsw.%d'",
                                    zDb, zT, i, zDb, zT, i));
    }
  }
  vec0StorageDiscard(p);
  if (rc == SQLITE_OK) rc = vec0StorageValidate(p);
  if (rc == SQLITE_OK) rc = vec0StorageAllSlots(p);
  for (int i = 0; rc == SQLITE_OK && i < p->cfg.nVec; i++) {
    Vec0Hnsw *h = 0;
    if (p->cfg.aVec[i].eIndex != VEC0_INDEX_HNSW) continue;
    rc = vec0StorageHnsw(p, i, &h);
    /*
    ** A free slot becomes a tombstone again (its vector is still in its
    ** chunk): the graph's header counts its nodes and a reader takes that
    ** count as the bound of every node id, so ids must stay dense.  All
    ** nodes go in before any is deleted, as they did when the rows were
    ** written (an insert links only to live nodes).
    */
    for (uint32_t s = 0; rc == SQLITE_OK && s < p->nSlot; s++) {
      int bLive = p->aSlotState[s] == VEC0_SLOT_LIVE;
      rc = vec0HnswInsert(h, s, bLive ? (uint64_t)p->aSlotRowid[s] : (uint64_t)s);
      rc = vec0StorageHnswRc(p, i, rc);
    }
    for (uint32_t s = 0; rc == SQLITE_OK && s < p->nSlot; s++) {
      if (p->aSlotState[s] != VEC0_SLOT_LIVE) {
        rc = vec0StorageHnswRc(p, i, vec0HnswDelete(h, s));
      }
    }
  }
  if (rc == SQLITE_OK) rc = vec0StorageFlush(p);
  if (rc != SQLITE_OK) vec0StorageDiscard(p);
  return rc;
}
