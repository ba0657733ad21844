/*
** vec0_storage_maint.c: storage's share of the maintenance commands: the
** integrity-check queries over every shadow table, and the compaction that
** 'optimize' runs (live slots renumbered densely, vectors rewritten).  Not a
** hot path, so its SQL is built at run time.  It sits above the rest of
** storage: it reads the cache (vec0_storage.c, vec0_storage_vec.c) and runs
** statements (vec0_storage_sql.c); nothing of storage calls it.
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
** "<zHead><zT>_<zShadow><i> <zRest>" (no <i> if i < 0) as a format for
** findProblem(): a '%' in the table name would otherwise be read as a
** conversion.
*/
static char *shadowFormat(const char *zHead, const char *zT, const char *zShadow, int i,
                          const char *zRest) {
  sqlite3_str *pStr = sqlite3_str_new(0);
  sqlite3_str_appendall(pStr, zHead);
  for (const char *z = zT; *z; z++) {
    if (*z == '%') sqlite3_str_appendchar(pStr, 1, '%');
    sqlite3_str_appendchar(pStr, 1, *z);
  }
  if (i < 0) {
    sqlite3_str_appendf(pStr, "_%s %s", zShadow, zRest);
  } else {
    sqlite3_str_appendf(pStr, "_%s%d %s", zShadow, i, zRest);
  }
  if (sqlite3_str_errcode(pStr) != SQLITE_OK) {
    sqlite3_free(sqlite3_str_finish(pStr));
    return 0;
  }
  return sqlite3_str_finish(pStr);
}

/* The integer a one-row query returns (0 if none). */
static int countRows(Vec0Table *p, char *zSql, sqlite3_int64 *pn) {
  int bFound = 0;
  *pn = 0;
  return vec0StorageOneInt(p, zSql, pn, &bFound);
}

/*
** With partition keys: every slot in an existing group, the partition key
** values of a live slot those of its group, and each group's live count
** that of its live slots.
*/
static int checkGroups(Vec0Table *p, char **pzErr) {
  const char *zDb = p->zDb, *zT = p->zName;
  char *zDiff = sqlite3_mprintf("s.p0 IS NOT g.p0");
  int rc;
  for (int i = 1; zDiff && i < p->cfg.nPart; i++) {
    zDiff = sqlite3_mprintf("%z OR s.p%d IS NOT g.p%d", zDiff, i, i);
  }
  if (zDiff == 0) return SQLITE_NOMEM;
  rc = findProblem(p, pzErr, "slot %lld is in group %lld, which %s",
                   sqlite3_mprintf("SELECT s.slot, s.g, CASE WHEN g.g IS NULL THEN "
                                   "'does not exist' ELSE 'has other partition key "
                                   "values' END FROM \"%w\".\"%w_slots\" s LEFT JOIN "
                                   "\"%w\".\"%w_groups\" g ON g.g=s.g WHERE g.g IS NULL "
                                   "OR (s.id IS NOT NULL AND (%s))",
                                   zDb, zT, zDb, zT, zDiff));
  sqlite3_free(zDiff);
  if (rc == SQLITE_OK) {
    rc = findProblem(p, pzErr, "group %lld counts %lld live rows, its slots hold %s",
                     sqlite3_mprintf("SELECT g.g, g.live, ifnull(n, 0) FROM "
                                     "\"%w\".\"%w_groups\" g LEFT JOIN (SELECT g, "
                                     "count(*) AS n FROM \"%w\".\"%w_slots\" WHERE id "
                                     "IS NOT NULL GROUP BY g) s ON s.g=g.g WHERE "
                                     "g.live IS NOT ifnull(n, 0)",
                                     zDb, zT, zDb, zT));
  }
  return rc;
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
  if (rc == SQLITE_OK) {
    char *zFmt = shadowFormat("", zT, "free", -1, "has slot %lld (next_slot %lld), which %s");
    if (zFmt == 0) return SQLITE_NOMEM;
    rc = findProblem(p, pzErr, zFmt,
                     sqlite3_mprintf("SELECT f.slot, %u, CASE WHEN s.slot IS NOT NULL THEN "
                                     "'has a row in %q_slots' ELSE 'is out of range' END "
                                     "FROM \"%w\".\"%w_free\" f LEFT JOIN "
                                     "\"%w\".\"%w_slots\" s ON s.slot=f.slot WHERE "
                                     "s.slot IS NOT NULL OR f.slot<0 OR f.slot>=%u",
                                     p->nSlot, zT, zDb, zT, zDb, zT, p->nSlot));
    sqlite3_free(zFmt);
  }
  if (rc == SQLITE_OK) {
    sqlite3_int64 nUsed = 0, nFree = 0;
    rc = countRows(p, sqlite3_mprintf("SELECT count(*) FROM \"%w\".\"%w_slots\"", zDb, zT),
                   &nUsed);
    if (rc == SQLITE_OK) {
      rc = countRows(p, sqlite3_mprintf("SELECT count(*) FROM \"%w\".\"%w_free\"", zDb,
                                        zT),
                     &nFree);
    }
    if (rc == SQLITE_OK && nUsed + nFree != p->nSlot) {
      *pzErr = sqlite3_mprintf("%lld slots in %s_slots and %lld in %s_free, but next_slot "
                               "is %u",
                               nUsed, zT, nFree, zT, p->nSlot);
      rc = SQLITE_CORRUPT_VTAB;
    }
  }
  if (rc == SQLITE_OK && p->cfg.nPart) rc = checkGroups(p, pzErr);
  for (int i = 0; rc == SQLITE_OK && i < p->cfg.nVec; i++) {
    /* Chunk c holds slots [c*C, (c+1)*C) that exist: all of them were used
    ** once, so every chunk below the last exists and is full. */
    uint32_t C = p->anChunk[i], nChunk = (p->nSlot + C - 1) / C;
    sqlite3_int64 nFound = 0;
    char *zFmt = shadowFormat("chunk %lld of ", zT, "vectors", i, "has %lld bytes, expected %s");
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
  if (rc == SQLITE_OK) {
    sqlite3_int64 nBad = 0;
    rc = countRows(p, sqlite3_mprintf("SELECT count(*) FROM \"%w\".\"%w_config\" WHERE "
                                      "key = 'rowid_gone' AND typeof(value) != 'integer'",
                                      zDb, zT),
                   &nBad);
    if (rc == SQLITE_OK && nBad) {
      *pzErr = sqlite3_mprintf("%s_config has a rowid_gone that is not an integer", zT);
      rc = SQLITE_CORRUPT_VTAB;
    }
  }
  if (rc == SQLITE_OK) rc = vec0StorageAllSlots(p);
  return rc;
}

static int execOwned(Vec0Table *p, char *zSql) {
  int rc;
  if (zSql == 0) return SQLITE_NOMEM;
  rc = sqlite3_exec(p->db, zSql, 0, 0, 0);
  sqlite3_free(zSql);
  return rc;
}

/*
** 'optimize': the live rows take slots 0 .. n-1 in their old order, so that
** the slots of deleted rows and their tombstones are gone and the chunk
** rows they filled are freed (their pages go to the freelist, which later
** writes reuse and VACUUM returns).  The indexes must then be rebuilt.
*/
int vec0StorageCompact(Vec0Table *p) {
  const char *zDb = p->zDb, *zT = p->zName;
  sqlite3_stmt *pSlot = 0, *pRow = 0;
  uint32_t s, n = 0;
  int rc = vec0StorageAllSlots(p);
  for (int i = 0; rc == SQLITE_OK && i < p->cfg.nVec; i++) {
    rc = vec0StorageAllVectors(p, i);
  }
  if (rc == SQLITE_OK) {
    rc = execOwned(p, sqlite3_mprintf("DELETE FROM \"%w\".\"%w_free\"", zDb, zT));
  }
  if (rc == SQLITE_OK) {
    char *zSql = sqlite3_mprintf("UPDATE \"%w\".\"%w_slots\" SET slot=?2 WHERE slot=?1",
                                 zDb, zT);
    rc = zSql ? sqlite3_prepare_v2(p->db, zSql, -1, &pSlot, 0) : SQLITE_NOMEM;
    sqlite3_free(zSql);
  }
  if (rc == SQLITE_OK) rc = vec0StorageStmt(p, VEC0_STMT_ROWS_SET_SLOT, &pRow);
  /* Ascending: slot n (n <= s) is free by the time slot s moves there. */
  for (s = 0; rc == SQLITE_OK && s < p->nSlot; s++) {
    if (p->aSlotState[s] != VEC0_SLOT_LIVE) continue;
    if (s != n) {
      sqlite3_bind_int64(pSlot, 1, s);
      sqlite3_bind_int64(pSlot, 2, n);
      sqlite3_step(pSlot);
      rc = sqlite3_reset(pSlot);
      if (rc == SQLITE_OK) {
        sqlite3_bind_int64(pRow, 1, p->aSlotRowid[s]);
        sqlite3_bind_int64(pRow, 2, n);
        sqlite3_step(pRow);
        rc = sqlite3_reset(pRow);
      }
      for (int i = 0; i < p->cfg.nVec; i++) {
        size_t nb = p->aVecBytes[i];
        memcpy(p->aVec[i] + (size_t)n * nb, p->aVec[i] + (size_t)s * nb, nb);
      }
    }
    n++;
  }
  sqlite3_finalize(pSlot);
  if (rc == SQLITE_OK) {
    p->nSlot = n;
    rc = vec0StorageConfigSet(p, "next_slot", n);
  }
  for (int i = 0; rc == SQLITE_OK && i < p->cfg.nVec; i++) {
    rc = vec0StorageRewriteVectors(p, i);
  }
  return rc;
}
