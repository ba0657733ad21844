/*
** vec0_maint.c: the maintenance commands (INSERT INTO t(t) VALUES('...')),
** which read or rewrite a whole table:
** 'integrity-check' (every shadow row consistent with the others and the
** graphs sound), 'rebuild' / 'optimize' (every graph rebuilt from the
** stored vectors of the live rows; 'optimize' first compacts the slots),
** 'ef_search=N' (a fixed default ef), 'recall=X' (a default ef measured
** to meet recall X: vec0_recall.c) and 'threads=N' (the threads of such a
** rebuild), sqlite-vec 0.1.10's per-connection knobs (connCommand), 'warm'
** (every column's vectors and index read into this connection's cache now)
** and 'cache_budget=N' (the MiB of a column's vectors above which its cache
** is only read lazily).
** Storage checks and compacts its shadow tables, each index checks and
** rebuilds its own part.  Calls the index interface and the storage layer.
*/
#include "vec0Int.h"

#include <string.h>

int vec0MaintCheck(Vec0Table *p, char **pzErr) {
  /* The shadow tables first; every slot is loaded after it. */
  int rc = vec0StorageCheck(p, pzErr);
  /* Then each index checks what it keeps of its own against the slots. */
  for (int i = 0; rc == SQLITE_OK && i < p->cfg.nVec; i++) {
    Vec0Index *pIdx = vec0IndexGet(p, i);
    rc = pIdx->pModule->xCheck(pIdx, pzErr);
  }
  if (rc == SQLITE_CORRUPT_VTAB && *pzErr == 0 && p->base.zErrMsg) {
    *pzErr = sqlite3_mprintf("%s", p->base.zErrMsg);
  }
  return rc;
}

/* Every index rebuilt from the stored vectors of the live slots. */
static int rebuildIndexes(Vec0Table *p) {
  int rc;
  vec0StorageDiscard(p);
  rc = vec0StorageValidate(p);
  if (rc == SQLITE_OK) rc = vec0StorageAllSlots(p);
  for (int i = 0; rc == SQLITE_OK && i < p->cfg.nVec; i++) {
    Vec0Index *pIdx = vec0IndexGet(p, i);
    rc = pIdx->pModule->xRebuild(pIdx);
  }
  if (rc == SQLITE_OK) rc = vec0IndexFlush(p);
  /* A new graph: the ef of a recall target is measured again. */
  for (int i = 0; rc == SQLITE_OK && i < p->cfg.nVec; i++) {
    if (vec0RecallTargetOf(p, i)) rc = vec0RecallMeasure(p, i);
  }
  if (rc != SQLITE_OK) vec0StorageDiscard(p);
  return rc;
}

/*
** 'warm': every column's vectors and index records read into the cache now,
** in large sequential reads, rather than lazily and a step after each query.
** A column above the budget is refused, before anything is read.
*/
static int warmAll(Vec0Table *p) {
  int rc = SQLITE_OK;
  for (int i = 0; i < p->cfg.nVec; i++) {
    if (!vec0StorageWarmAllowed(p, i)) {
      sqlite3_int64 n = (sqlite3_int64)vec0StorageSlotCount(p) *
                        (sqlite3_int64)vec0StorageVectorBytes(p, i);
      vec0TableError(p, "vec0: table \"%s\": 'warm' would read %lld bytes of vectors of "
                        "column %s, above cache_budget=%lld (MiB)",
                     p->zName, n, p->cfg.aCol[p->cfg.aVecCol[i]].zName,
                     p->conn.nCacheBudget >> 20);
      return SQLITE_ERROR;
    }
  }
  for (int i = 0; rc == SQLITE_OK && i < p->cfg.nVec; i++) {
    Vec0Index *pIdx = vec0IndexGet(p, i);
    rc = pIdx->pModule->xOpen(pIdx);
    if (rc == SQLITE_OK) rc = pIdx->pModule->xIdle(pIdx, (size_t)-1 / 2);
  }
  return rc;
}

/* The decimal integer z (all of it, up to 10 digits) in iMin..iMax. */
static int commandNumber(const char *z, sqlite3_int64 iMin, sqlite3_int64 iMax,
                         sqlite3_int64 *pn) {
  sqlite3_int64 n = 0;
  int nDigit = 0;
  while (*z >= '0' && *z <= '9' && nDigit < 10) {
    n = n * 10 + (*z++ - '0');
    nDigit++;
  }
  if (nDigit == 0 || *z != 0 || n < iMin || n > iMax) return 0;
  *pn = n;
  return 1;
}

/*
** 'recall=X': every graph column's default ef follows recall target X
** from now on (stored; an 'ef_search=N' before is forgotten), measured now.
*/
static int recallCommand(Vec0Table *p, const char *z) {
  int iRecall = 0, rc;
  if (!vec0RecallParse(&z[7], (int)strlen(&z[7]), &iRecall)) {
    vec0TableError(p, "vec0: table \"%s\": bad command \"%s\": recall must be a "
                      "decimal in 0.5..0.999 (at most 4 places, such as 0.95)",
                   p->zName, z);
    return SQLITE_ERROR;
  }
  rc = vec0StorageBeginWrite(p);
  if (rc == SQLITE_OK) rc = vec0IndexFlush(p);
  for (int i = 0; rc == SQLITE_OK && i < p->cfg.nVec; i++) {
    char zKey[32];
    if (!vec0IndexGet(p, i)->pModule->bUsesEf) continue;
    sqlite3_snprintf(sizeof(zKey), zKey, "ef_search.%d", i);
    rc = vec0StorageConfigDelete(p, zKey);
    sqlite3_snprintf(sizeof(zKey), zKey, "recall_target.%d", i);
    if (rc == SQLITE_OK) rc = vec0StorageConfigSet(p, zKey, iRecall);
    if (rc == SQLITE_OK) {
      p->aEfSearch[i] = 0;
      p->aRecallTarget[i] = iRecall;
      rc = vec0RecallMeasure(p, i);
    }
  }
  /* SQLite takes back what the statement wrote: the cache is read again. */
  if (rc != SQLITE_OK) vec0StorageDiscard(p);
  return rc;
}

/*
** sqlite-vec 0.1.10's commands, per connection and not stored, as there:
** 'oversample=N' sets the rescore count of every column with a quantizer
** (rescore(...), diskann(...), hnsw(quantizer=...)); 'search_list_size_search=N'
** and 'search_list_size=N' the search breadth (ef) of the diskann(...)
** columns.  'search_list_size_insert=N' would change how later rows are
** linked into a graph whose bytes must not depend on a connection's
** settings: it is refused (the insert breadth is the CREATE's).
** SQLITE_EMPTY: not one of them.
*/
static int connCommand(Vec0Table *p, const char *z) {
  static const char *const azCmd[] = {"oversample=", "search_list_size_search=",
                                      "search_list_size="};
  sqlite3_int64 n = 0;
  int iCmd, nHit = 0;
  if (sqlite3_strnicmp(z, "search_list_size_insert=", 24) == 0) {
    vec0TableError(p, "vec0: table \"%s\": command \"%s\" is not supported: the insert "
                      "breadth of a diskann column is fixed when the table is created "
                      "(diskann(search_list_size_insert=N))",
                   p->zName, z);
    return SQLITE_ERROR;
  }
  for (iCmd = 0; iCmd < 3; iCmd++) {
    if (sqlite3_strnicmp(z, azCmd[iCmd], (int)strlen(azCmd[iCmd])) == 0) break;
  }
  if (iCmd == 3) return SQLITE_EMPTY;
  if (!commandNumber(&z[strlen(azCmd[iCmd])], 1, VEC0_MAX_K, &n)) {
    vec0TableError(p, "vec0: table \"%s\": bad command \"%s\": the value must be an "
                      "integer in 1..%d",
                   p->zName, z, VEC0_MAX_K);
    return SQLITE_ERROR;
  }
  for (int i = 0; i < p->cfg.nVec; i++) {
    const Vec0VectorCol *pCol = &p->cfg.aVec[i];
    if (iCmd == 0 && pCol->eQuant != VEC0_QUANT_NONE) {
      p->conn.aRescore[i] = (int)n;
      nHit++;
    } else if (iCmd > 0 && pCol->bDiskann) {
      p->conn.aEf[i] = (int)n;
      nHit++;
    }
  }
  if (nHit == 0) {
    vec0TableError(p, "vec0: table \"%s\": command \"%s\" needs a %s column", p->zName, z,
                   iCmd == 0 ? "rescore(...), diskann(...) or quantized hnsw(...)"
                             : "diskann(...)");
    return SQLITE_ERROR;
  }
  return vec0InfoKeep(p);
}

/*
** The command's text, or an error: a BLOB is not one, a NUL would end it
** early, and the values of a row given beside it would be dropped without a
** word.
*/
static int commandText(Vec0Table *p, sqlite3_value **argv, const char **pz) {
  Vec0Config *c = &p->cfg;
  sqlite3_value *pCmd = argv[2 + c->nCol + VEC0_HIDDEN_TABLE];
  int eType = sqlite3_value_type(pCmd);
  const char *z = eType == SQLITE_TEXT ? (const char *)sqlite3_value_text(pCmd) : 0;
  int bValues = sqlite3_value_type(argv[1]) != SQLITE_NULL;
  for (int i = 0; i < c->nCol + VEC0_N_HIDDEN; i++) {
    if (i != c->nCol + VEC0_HIDDEN_TABLE && sqlite3_value_type(argv[2 + i]) != SQLITE_NULL) {
      bValues = 1;
    }
  }
  if (eType == SQLITE_TEXT && z == 0) return SQLITE_NOMEM;
  if (bValues) {
    vec0TableError(p, "vec0: table \"%s\": a command is given alone: INSERT INTO "
                      "%s(%s) VALUES('command'), without other columns",
                   p->zName, p->zName, p->zName);
    return SQLITE_ERROR;
  }
  if (z == 0 || (size_t)sqlite3_value_bytes(pCmd) != strlen(z)) {
    vec0TableError(p, "vec0: table \"%s\": a command is text without NUL characters, "
                      "not %s",
                   p->zName, z                     ? "text with one"
                             : eType == SQLITE_BLOB ? "a BLOB"
                                                    : "a number");
    return SQLITE_ERROR;
  }
  *pz = z;
  return SQLITE_OK;
}

int vec0MaintCommand(Vec0Table *p, sqlite3_value **argv) {
  const char *z = 0;
  int rc = commandText(p, argv, &z);
  if (rc != SQLITE_OK) return rc;
  if (sqlite3_stricmp(z, "integrity-check") == 0) {
    char *zErr = 0;
    rc = vec0IndexFlush(p);
    if (rc == SQLITE_OK) rc = vec0MaintCheck(p, &zErr);
    if (zErr) {
      vec0TableError(p, "vec0: table \"%s\": integrity-check failed: %s", p->zName, zErr);
      sqlite3_free(zErr);
    }
    return rc;
  }
  if (sqlite3_stricmp(z, "optimize") == 0 || sqlite3_stricmp(z, "rebuild") == 0) {
    int bCompact = sqlite3_stricmp(z, "optimize") == 0;
    rc = vec0StorageBeginWrite(p);
    if (rc == SQLITE_OK) rc = vec0IndexFlush(p);
    vec0IndexOpBegin(p);
    if (rc == SQLITE_OK && bCompact) rc = vec0StorageCompact(p);
    if (rc == SQLITE_OK) rc = rebuildIndexes(p);
    return vec0IndexOpEnd(p, rc);
  }
  if (sqlite3_strnicmp(z, "threads=", 8) == 0) {
    /* Per connection, not stored: the bytes a build writes do not depend on it. */
    sqlite3_int64 n = 0;
    if (!commandNumber(&z[8], 0, VEC0_MAX_THREADS, &n)) {
      vec0TableError(p, "vec0: table \"%s\": bad command \"%s\": threads must be an "
                        "integer in 0..%d (0: one per core)",
                     p->zName, z, VEC0_MAX_THREADS);
      return SQLITE_ERROR;
    }
    p->conn.nThread = (int)n;
    return vec0InfoKeep(p);
  }
  if (sqlite3_stricmp(z, "warm") == 0) return warmAll(p);
  if (sqlite3_strnicmp(z, "cache_budget=", 13) == 0) {
    /* Per connection, like threads=N: a process's memory, not the table's. */
    sqlite3_int64 n = 0;
    if (!commandNumber(&z[13], 0, VEC0_MAX_CACHE_BUDGET, &n)) {
      vec0TableError(p, "vec0: table \"%s\": bad command \"%s\": cache_budget must be an "
                        "integer in 0..%d (MiB)",
                     p->zName, z, VEC0_MAX_CACHE_BUDGET);
      return SQLITE_ERROR;
    }
    p->conn.nCacheBudget = n << 20;
    return vec0InfoKeep(p);
  }
  if (sqlite3_strnicmp(z, "ef_search=", 10) == 0) {
    sqlite3_int64 n = 0;
    if (!commandNumber(&z[10], 1, VEC0_MAX_K, &n)) {
      vec0TableError(p, "vec0: table \"%s\": bad command \"%s\": ef_search must be an "
                        "integer in 1..%d",
                     p->zName, z, VEC0_MAX_K);
      return SQLITE_ERROR;
    }
    rc = vec0StorageBeginWrite(p);
    for (int i = 0; rc == SQLITE_OK && i < p->cfg.nVec; i++) {
      char zKey[32];
      sqlite3_snprintf(sizeof(zKey), zKey, "ef_search.%d", i);
      rc = vec0StorageConfigSet(p, zKey, n);
      sqlite3_snprintf(sizeof(zKey), zKey, "recall_target.%d", i);
      if (rc == SQLITE_OK) rc = vec0StorageConfigDelete(p, zKey);
      if (rc == SQLITE_OK) p->aEfSearch[i] = (int)n;
    }
    return rc;
  }
  if (sqlite3_strnicmp(z, "recall=", 7) == 0) return recallCommand(p, z);
  rc = connCommand(p, z);
  if (rc != SQLITE_EMPTY) return rc;
  vec0TableError(p, "vec0: table \"%s\": unknown command \"%s\" (known: "
                    "integrity-check, optimize, rebuild, ef_search=N, recall=X, threads=N, "
                    "oversample=N, search_list_size_search=N, search_list_size=N, warm, "
                    "cache_budget=N)",
                 p->zName, z);
  return SQLITE_ERROR;
}

