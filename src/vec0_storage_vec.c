/*
** vec0_storage_vec.c: the vector cache of the storage layer.  Each vector
** column's vectors are held once, in the element type, contiguous by slot
** (so the exact scan reads memory sequentially), read from T_vectorsN a
** chunk row at a time on demand or all at once, written back a whole chunk
** row at a time; warmed up after queries and moved to huge pages a step at
** a time.  Calls the statements of vec0_storage_sql.c, SQLite, and the
** page helpers of vec0_mem.h.
*/
#include "vec0Int.h"

#include <string.h>

/*
** Gives vector column i room for nSlot vectors (the first nSlotAlloc kept).
** bHuge: in a new block aligned to 2 MiB and backed by huge pages; a block
** grown by realloc() would be moved by mremap() to any alignment, which
** splits its huge pages.  aVec[i] points into the block aVecMem[i].
*/
#define HUGE_PAGE ((size_t)2 << 20)
int vec0StorageVecResize(Vec0Table *p, int i, size_t nSlot, int bHuge) {
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
  vec0MemAdviseHuge(a, nNew);
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
      vec0MemReleasePages(p->aVec[i] + off, n);
    }
  }
  sqlite3_free(p->aVecMem[i]);
  p->aVecMem[i] = aMem;
  p->aVec[i] = a;
  p->abHuge[i] = 1;
  p->aCollapsed[i] = (size_t)-1; /* written through the advice: huge already */
  return SQLITE_OK;
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
    rc = vec0StorageStepDone(pStmt);
  }
  if (rc != SQLITE_OK) aLoaded[iSlot] = 0; /* the table still has the old one */
  return rc;
}

int vec0StorageRewriteVectors(Vec0Table *p, int iVec) {
  sqlite3_stmt *pStmt = 0;
  size_t nBytes = p->aVecBytes[iVec];
  uint32_t C = p->anChunk[iVec], nChunk = (p->nSlot + C - 1) / C, c;
  int rc = vec0StorageVectorsClear(p, iVec);
  if (rc == SQLITE_OK) rc = vec0StorageVecStmt(p, iVec, VEC0_VSTMT_PUT, &pStmt);
  for (c = 0; rc == SQLITE_OK && c < nChunk; c++) {
    uint32_t first = c * C, n = p->nSlot - first < C ? p->nSlot - first : C;
    const unsigned char *a = chunkRow(p, iVec, first, n);
    if (a == 0) return SQLITE_NOMEM;
    sqlite3_bind_int64(pStmt, 1, c);
    sqlite3_bind_blob64(pStmt, 2, a, (sqlite3_uint64)C * nBytes, SQLITE_STATIC);
    rc = vec0StorageStepDone(pStmt);
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
  vec0MemAdviseHuge(p->aVec[iVec], (size_t)p->nSlotAlloc * p->aVecBytes[iVec]);
}

void vec0StorageVectorsHuge(Vec0Table *p, int iVec) {
  askHuge(p, iVec);
}

int vec0StorageHugeStep(Vec0Table *p, int iVec) {
  if (!p->abHuge[iVec]) return 0;
  if (p->abHugeDone[iVec]) return 1;
  if (!vec0MemCollapseHuge(p->aVec[iVec], (size_t)p->nSlotAlloc * p->aVecBytes[iVec],
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

/*
** The low-memory reads (hnsw(..., low_memory=1)): vectors read from
** T_vectorsN for one use, never kept in the cache (a vector already in the
** cache is taken from there).
*/
int vec0StorageVectorCopy(Vec0Table *p, int iVec, uint32_t iSlot, void *pOut) {
  sqlite3_stmt *pStmt = 0;
  size_t nBytes = p->aVecBytes[iVec];
  sqlite3_int64 iChunk;
  int rc, bFound = 0;
  if (iSlot >= p->nSlot) {
    vec0TableError(p, "vec0: table \"%s\": slot %u out of range", p->zName, iSlot);
    return SQLITE_CORRUPT_VTAB;
  }
  if (p->aVecLoaded[iVec][iSlot]) {
    memcpy(pOut, p->aVec[iVec] + (size_t)iSlot * nBytes, nBytes);
    return SQLITE_OK;
  }
  iChunk = iSlot / p->anChunk[iVec];
  rc = vec0StorageVecStmt(p, iVec, VEC0_VSTMT_GET, &pStmt);
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_int64(pStmt, 1, iChunk);
  if (sqlite3_step(pStmt) == SQLITE_ROW) {
    const unsigned char *a = sqlite3_column_blob(pStmt, 0);
    size_t off = (size_t)(iSlot - iChunk * p->anChunk[iVec]) * nBytes;
    if ((size_t)sqlite3_column_bytes(pStmt, 0) != nBytes * p->anChunk[iVec] || a == 0) {
      rc = sqlite3_errcode(p->db) == SQLITE_NOMEM ? SQLITE_NOMEM : SQLITE_CORRUPT_VTAB;
      if (rc == SQLITE_CORRUPT_VTAB) {
        vec0TableError(p, "vec0: table \"%s\": chunk %lld of %s_vectors%d has %d bytes",
                       p->zName, iChunk, p->zName, iVec, sqlite3_column_bytes(pStmt, 0));
      }
    } else {
      memcpy(pOut, a + off, nBytes);
      bFound = 1;
    }
  }
  {
    int rc2 = sqlite3_reset(pStmt);
    if (rc == SQLITE_OK) rc = rc2;
  }
  if (rc == SQLITE_OK && !bFound) rc = missingVector(p, iVec, iSlot);
  return rc;
}

int vec0StorageVectorScan(Vec0Table *p, int iVec, uint32_t *piChunk, uint32_t nSlotMax,
                          int (*xEach)(void *, uint32_t, const unsigned char *),
                          void *pCtx, int *pbDone) {
  sqlite3_stmt *pStmt = 0;
  size_t nBytes = p->aVecBytes[iVec];
  uint32_t C = p->anChunk[iVec], nChunk = (p->nSlot + C - 1) / C;
  int rc, n = (int)(nSlotMax / C) + 1;
  *pbDone = *piChunk >= nChunk;
  if (*pbDone) return SQLITE_OK;
  rc = vec0StorageVecStmt(p, iVec, VEC0_VSTMT_RANGE, &pStmt);
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_int64(pStmt, 1, *piChunk);
  sqlite3_bind_int(pStmt, 2, n);
  while (rc == SQLITE_OK && sqlite3_step(pStmt) == SQLITE_ROW) {
    sqlite3_int64 c = sqlite3_column_int64(pStmt, 0);
    uint32_t first = 0, nVec = chunkSpan(p, iVec, c, &first);
    const unsigned char *a = sqlite3_column_blob(pStmt, 1);
    if (nVec == 0 || a == 0 || (size_t)sqlite3_column_bytes(pStmt, 1) != nBytes * C) continue;
    for (uint32_t i = 0; rc == SQLITE_OK && i < nVec; i++) {
      rc = xEach(pCtx, first + i, a + (size_t)i * nBytes);
    }
    *piChunk = (uint32_t)c + 1;
  }
  {
    int rc2 = sqlite3_reset(pStmt);
    if (rc == SQLITE_OK) rc = rc2;
  }
  if (rc == SQLITE_OK && *piChunk >= nChunk) *pbDone = 1;
  return rc;
}
