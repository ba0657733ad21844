/*
** vec0_storage_vec.c: the vector cache of the storage layer.  Each vector
** column's vectors are held once, in the element type, contiguous by slot
** (so the exact scan reads memory sequentially), read from T_vectorsN one
** vector at a time on demand (through a BLOB handle: only its bytes, not its
** chunk row's) or all at once, written back a whole chunk row at a time.
** A vector read alone goes into the lazy block, packed in read order.
** The fill reads them all in order into a block of huge pages, on a helper
** thread with its own connection (vec0_storage_fill.c) or else a step at a
** time between statements, and then takes the place of the array and the
** lazy block.
** Calls the statements of vec0_storage_sql.c, SQLite, the fill helper of
** vec0_storage_fill.c, and the page helpers of vec0_mem.h.
*/
#include "vec0Int.h"

#include <string.h>

/*
** aVecLoaded[i][s]: 0 not read, VEC_IN_ARRAY in aVec[i] (which wins: the
** connection's writes go there), VEC_IN_LAZY read alone into the lazy block.
*/
#define VEC_IN_ARRAY 1
#define VEC_IN_LAZY 2

static void fillDrop(Vec0Table *p, int iVec);

/*
** Whether chunk row c is in the fill's block: read by the caller's steps
** (below aWarmChunk) or by the helper thread (vec0_storage_fill.c), which
** moves aFillBack down as it goes.
*/
static int inFill(const Vec0Table *p, int iVec, uint32_t c) {
  return c < p->aWarmChunk[iVec] ||
         (c < p->aFillBackEnd[iVec] && c >= __atomic_load_n(&p->aFillBack[iVec], __ATOMIC_ACQUIRE));
}

/* No rows read from the end (no helper, or met by the caller's steps). */
static void fillNoBack(Vec0Table *p, int iVec) {
  p->aFillBack[iVec] = p->aFillBackEnd[iVec] = p->aFillClaim[iVec] = 0;
  p->aFillLimit[iVec] = 0;
}

/*
** Once the helper is joined and the caller's steps have reached the rows
** it read, the block holds [0, aFillBackEnd): the steps go on from there
** (rows the caller's writes added since the helper started).
*/
static void fillMerge(Vec0Table *p, int iVec) {
  if (p->apFillHelper[iVec] == 0 && p->aFillBackEnd[iVec] != 0 &&
      p->aWarmChunk[iVec] >= p->aFillBack[iVec]) {
    p->aWarmChunk[iVec] = p->aFillBackEnd[iVec];
    fillNoBack(p, iVec);
  }
}

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
  if (nNew != nOld) fillDrop(p, i); /* its block has the old size */
  if (bHuge && nNew >= 2 * HUGE_PAGE) aMem = sqlite3_malloc64(nNew + HUGE_PAGE);
  if (aMem == 0) {
    /* Small, lazily read, or short of memory: an ordinary block. */
    if (nNew == nOld && p->aVecMem[i]) return SQLITE_OK;
    if (p->aVec[i] != p->aVecMem[i]) {
      /* aligned inside its block: realloc() would keep the block's start */
      size_t nKeep = nOld < nNew ? nOld : nNew;
      aMem = sqlite3_malloc64(nNew ? nNew : 1);
      if (aMem == 0) return SQLITE_NOMEM;
      memcpy(aMem, p->aVec[i], nKeep);
      sqlite3_free(p->aVecMem[i]);
    } else {
      aMem = sqlite3_realloc64(p->aVecMem[i], nNew ? nNew : 1);
      if (aMem == 0) return SQLITE_NOMEM;
    }
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

/* The vector of slot iSlot in the lazy block, or NULL. */
static unsigned char *lazyAt(const Vec0Table *p, int iVec, uint32_t iSlot) {
  uint32_t k;
  if (iSlot >= p->aLazyCap[iVec] || p->aLazy[iVec] == 0) return 0;
  k = ((const uint32_t *)p->aLazy[iVec])[iSlot];
  if (k == 0) return 0;
  return p->aLazy[iVec] + (size_t)p->aLazyCap[iVec] * 4 +
         (size_t)(k - 1) * p->aVecBytes[iVec];
}

static void lazyFree(Vec0Table *p, int iVec) {
  sqlite3_free(p->aLazyMem[iVec]);
  p->aLazyMem[iVec] = p->aLazy[iVec] = 0;
  p->aLazyCap[iVec] = p->aLazyN[iVec] = 0;
}

/*
** Where the vector of slot iSlot, about to be read alone, goes: the next
** place of the lazy block (made on first use, for the slots allocated
** then, in huge pages when large: its vectors are written in order), or
** NULL if it has no room (a slot allocated since) or no memory: the caller
** then reads it into the array, as before the lazy block existed.
*/
static unsigned char *lazyNext(Vec0Table *p, int iVec, uint32_t iSlot) {
  size_t nBytes = p->aVecBytes[iVec];
  uint32_t k;
  if (p->aLazyMem[iVec] == 0) {
    uint32_t nCap = p->nSlotAlloc;
    size_t n = (size_t)nCap * 4 + (size_t)nCap * nBytes;
    int bHuge = n >= 2 * HUGE_PAGE;
    unsigned char *aMem = sqlite3_malloc64(n + (bHuge ? HUGE_PAGE : 0));
    if (aMem == 0) return 0;
    p->aLazyMem[iVec] = p->aLazy[iVec] = aMem;
    if (bHuge) {
      p->aLazy[iVec] += (HUGE_PAGE - ((uintptr_t)aMem & (HUGE_PAGE - 1))) & (HUGE_PAGE - 1);
      vec0MemAdviseHuge(p->aLazy[iVec], n);
    }
    memset(p->aLazy[iVec], 0, (size_t)nCap * 4);
    p->aLazyCap[iVec] = nCap;
    p->aLazyN[iVec] = 0;
  }
  if (iSlot >= p->aLazyCap[iVec] || p->aLazyN[iVec] >= p->aLazyCap[iVec]) return 0;
  k = p->aLazyN[iVec]++;
  ((uint32_t *)p->aLazy[iVec])[iSlot] = k + 1;
  return p->aLazy[iVec] + (size_t)p->aLazyCap[iVec] * 4 + (size_t)k * nBytes;
}

/* A place taken by lazyNext() whose read failed: given back. */
static void lazyUndo(Vec0Table *p, int iVec, uint32_t iSlot) {
  ((uint32_t *)p->aLazy[iVec])[iSlot] = 0;
  p->aLazyN[iVec]--;
}

void vec0StorageReadEnd(Vec0Table *p) {
  for (int i = 0; i < VEC0_MAX_VECTOR_COLUMNS; i++) {
    if (p->apBlob[i]) {
      sqlite3_blob_close(p->apBlob[i]);
      p->apBlob[i] = 0;
    }
  }
}

/*
** Reads the vector of slot iSlot alone: a walk after a reopen needs one
** vector here and there, and copying its whole chunk row into the cache
** would touch (and, the first time, fault in) pages it never reads.  The
** handle moves from row to row (sqlite3_blob_reopen); it is closed at the
** end of the method (vec0StorageReadEnd), or here when a write expired it.
** blobAt: the handle on the chunk row of slot iSlot, its size checked.
*/
static int blobAt(Vec0Table *p, int iVec, uint32_t iSlot) {
  size_t nBytes = p->aVecBytes[iVec];
  uint32_t C = p->anChunk[iVec];
  sqlite3_int64 iChunk = iSlot / C;
  int rc = SQLITE_ERROR;
  if (p->apBlob[iVec]) {
    rc = sqlite3_blob_reopen(p->apBlob[iVec], iChunk);
    if (rc != SQLITE_OK) {
      sqlite3_blob_close(p->apBlob[iVec]);
      p->apBlob[iVec] = 0;
      /* Only an expired handle (a write since) or a missing row is tried
      ** again: after an I/O error, NOMEM or FULL SQLite has rolled the
      ** transaction back, and the write must fail, not go on in a new one. */
      if (rc != SQLITE_ABORT && rc != SQLITE_ERROR) return rc;
    }
  }
  if (rc != SQLITE_OK) {
    char *zTab = sqlite3_mprintf("%s_vectors%d", p->zName, iVec);
    if (zTab == 0) return SQLITE_NOMEM;
    rc = sqlite3_blob_open(p->db, p->zDb, zTab, "v", iChunk, 0, &p->apBlob[iVec]);
    sqlite3_free(zTab);
    if (rc == SQLITE_ERROR) return missingVector(p, iVec, iSlot); /* no such row */
    if (rc != SQLITE_OK) return rc;
  }
  if ((size_t)sqlite3_blob_bytes(p->apBlob[iVec]) != nBytes * C) {
    vec0TableError(p, "vec0: table \"%s\": chunk %lld of %s_vectors%d has %d bytes, "
                      "expected %lld",
                   p->zName, iChunk, p->zName, iVec, sqlite3_blob_bytes(p->apBlob[iVec]),
                   (long long)nBytes * (long long)C);
    return SQLITE_CORRUPT_VTAB;
  }
  return SQLITE_OK;
}

static int loadOne(Vec0Table *p, int iVec, uint32_t iSlot, int bRetry) {
  size_t nBytes = p->aVecBytes[iVec];
  uint32_t C = p->anChunk[iVec];
  int rc = blobAt(p, iVec, iSlot);
  if (rc == SQLITE_OK) {
    unsigned char *aDst = lazyNext(p, iVec, iSlot);
    int bLazy = aDst != 0;
    if (!bLazy) aDst = p->aVec[iVec] + (size_t)iSlot * nBytes;
    rc = sqlite3_blob_read(p->apBlob[iVec], aDst, (int)nBytes, (int)((iSlot % C) * nBytes));
    if (rc == SQLITE_OK) {
      p->aVecLoaded[iVec][iSlot] = bLazy ? VEC_IN_LAZY : VEC_IN_ARRAY;
      p->aLazyBytes[iVec] += nBytes;
    } else if (bLazy) {
      lazyUndo(p, iVec, iSlot);
    }
  }
  if (rc == SQLITE_ABORT && bRetry) {
    /* The row was written since the handle was opened on it. */
    vec0StorageReadEnd(p);
    return loadOne(p, iVec, iSlot, 0);
  }
  return rc;
}

int vec0StorageVector(Vec0Table *p, int iVec, uint32_t iSlot,
                      const unsigned char **ppOut) {
  int rc = SQLITE_OK;
  size_t nBytes = p->aVecBytes[iVec];
  *ppOut = 0;
  if (iSlot >= p->nSlot) {
    vec0TableError(p, "vec0: table \"%s\": slot %u out of range", p->zName, iSlot);
    return SQLITE_CORRUPT_VTAB;
  }
  /* Every vector in the array: no per-slot byte to read (at a million
  ** slots a read of its own from memory, before the vector's address). */
  if (!p->bAllVec[iVec] && p->aVecLoaded[iVec][iSlot] != VEC_IN_ARRAY) {
    /* Read by the fill, or alone into the lazy block: what the table holds. */
    if (p->aFill[iVec] && inFill(p, iVec, iSlot / p->anChunk[iVec])) {
      *ppOut = p->aFill[iVec] + (size_t)iSlot * nBytes;
      return SQLITE_OK;
    }
    if (p->aVecLoaded[iVec][iSlot] != VEC_IN_LAZY) {
      rc = loadOne(p, iVec, iSlot, 1);
      if (rc != SQLITE_OK) return rc;
    }
    if (p->aVecLoaded[iVec][iSlot] == VEC_IN_LAZY) {
      *ppOut = lazyAt(p, iVec, iSlot);
      return SQLITE_OK;
    }
  }
  *ppOut = p->aVec[iVec] + (size_t)iSlot * nBytes;
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
    const unsigned char *aHeld = 0;
    if (i == iSlot || aLoaded[i] == VEC_IN_ARRAY) continue;
    if (p->aFill[iVec] && inFill(p, iVec, i / C)) {
      aHeld = p->aFill[iVec] + (size_t)i * nBytes;
    } else if (aLoaded[i] == VEC_IN_LAZY) {
      aHeld = lazyAt(p, iVec, i);
    }
    if (aHeld) {
      memcpy(p->aVec[iVec] + (size_t)i * nBytes, aHeld, nBytes);
      aLoaded[i] = VEC_IN_ARRAY;
      continue;
    }
    rc = loadChunk(p, iVec, i);
    if (rc == SQLITE_OK && !aLoaded[i]) rc = missingVector(p, iVec, i);
  }
  if (rc != SQLITE_OK) return rc;
  memcpy(p->aVec[iVec] + (size_t)iSlot * nBytes, pV, nBytes);
  aLoaded[iSlot] = VEC_IN_ARRAY;
  aChunk = chunkRow(p, iVec, first, n);
  vec0StorageReadEnd(p); /* the rewrite of the row would expire a handle on it */
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
  int rc;
  vec0StorageReadEnd(p);
  vec0StorageFillReset(p, iVec);
  rc = vec0StorageVectorsClear(p, iVec);
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
** The bytes of column iVec's vectors in use: the slots below nSlot.  What
** is collapsed into huge pages or made resident ahead of the fill stops
** there: the array's room beyond (up to a doubling of the table) would
** otherwise become resident too, all zeros (MADV_COLLAPSE fills a range
** it is given, and a 200 000-row table has room for 262 144).
*/
static size_t vecBytesInUse(const Vec0Table *p, int iVec) {
  uint32_t n = p->nSlot < p->nSlotAlloc ? p->nSlot : p->nSlotAlloc;
  return (size_t)n * p->aVecBytes[iVec];
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
  if (!vec0MemCollapseHuge(p->aVec[iVec], vecBytesInUse(p, iVec), &p->aCollapsed[iVec],
                            VEC0_HUGE_STEP)) {
    return 0;
  }
  p->abHugeDone[iVec] = 1;
  return 1;
}

static void fillDrop(Vec0Table *p, int iVec) {
  vec0FillHelperStop(p, iVec);
  vec0MemPrefaultStop(&p->aPrefault[iVec]);
  sqlite3_free(p->aFillMem[iVec]);
  p->aFillMem[iVec] = p->aFill[iVec] = 0;
  p->aWarmChunk[iVec] = 0;
  p->aFillRows[iVec] = 0;
  fillNoBack(p, iVec);
}

void vec0StorageFillReset(Vec0Table *p, int iVec) {
  if (p->aLazyMem[iVec] && p->aVecLoaded[iVec]) {
    uint32_t n = p->nSlot < p->nSlotAlloc ? p->nSlot : p->nSlotAlloc;
    for (uint32_t i = 0; i < n; i++) {
      if (p->aVecLoaded[iVec][i] == VEC_IN_LAZY) p->aVecLoaded[iVec][i] = 0;
    }
  }
  lazyFree(p, iVec);
  fillDrop(p, iVec);
  p->abFillWait[iVec] = 0;
}

sqlite3_int64 vec0StorageVectorsCached(const Vec0Table *p, int iVec) {
  sqlite3_int64 n = 0;
  for (uint32_t s = 0; s < p->nSlot; s++) {
    n += p->aVecLoaded[iVec][s] != 0 || (p->aFill[iVec] && inFill(p, iVec, s / p->anChunk[iVec]));
  }
  return n;
}

int vec0StorageWarmAllowed(const Vec0Table *p, int iVec) {
  return p->conn.nCacheBudget < 0 ||
         (sqlite3_uint64)p->nSlot * p->aVecBytes[iVec] <= (sqlite3_uint64)p->conn.nCacheBudget;
}

/* The fill's block (of huge pages) made resident on another core, unless 'threads=1'. */
static void prefaultFill(Vec0Table *p, int iVec) {
  if ((size_t)p->nSlotAlloc * p->aVecBytes[iVec] >= 2 * HUGE_PAGE && vec0TableThreads(p) > 1) {
    vec0MemPrefaultStart(&p->aPrefault[iVec], p->aFill[iVec], vecBytesInUse(p, iVec));
  }
}

/*
** A new block for the fill, in huge pages from the start: the fill writes
** it in order, so each 2 MiB is faulted in once, whole, with no copy into
** huge pages afterwards (the lazily read array is made of small pages, where
** each vector read at random faults its own).  bHelper: read by a helper
** thread with a connection of its own where one can run
** (vec0_storage_fill.c; it clears the fresh pages on its own core as it
** writes them).  Else the caller's steps read it, and another thread makes
** its pages resident ahead of them (vec0MemPrefaultStart): clearing them
** is half the fill's cost.
*/
static int fillStart(Vec0Table *p, int iVec, int bHelper) {
  size_t n = (size_t)p->nSlotAlloc * p->aVecBytes[iVec];
  int bHuge = n >= 2 * HUGE_PAGE;
  unsigned char *aMem = sqlite3_malloc64(n + (bHuge ? HUGE_PAGE : 1));
  if (aMem == 0) return SQLITE_NOMEM;
  p->aFillMem[iVec] = p->aFill[iVec] = aMem;
  if (bHuge) {
    p->aFill[iVec] += (HUGE_PAGE - ((uintptr_t)aMem & (HUGE_PAGE - 1))) & (HUGE_PAGE - 1);
    vec0MemAdviseHuge(p->aFill[iVec], n);
  }
  p->aWarmChunk[iVec] = 0;
  p->aFillRows[iVec] = 0;
  fillNoBack(p, iVec);
  /*
  ** The fill from the end down on a helper thread where it can be (it clears the fresh
  ** pages on its own core as it writes them); else the fresh pages are
  ** cleared on another core ahead of the caller's steps, unless 'threads=1'.
  */
  if (bHuge && bHelper && vec0FillHelperStart(p, iVec)) return SQLITE_OK;
  prefaultFill(p, iVec);
  return SQLITE_OK;
}

/*
** The fill has read every chunk row: the vectors loaded in the array (the
** connection's own writes among them) are copied over what it read, and its
** block becomes the array.  A chunk row missing from the table leaves the
** array as it is: a lazy read reports it.
*/
static void fillFinish(Vec0Table *p, int iVec) {
  size_t nBytes = p->aVecBytes[iVec], n = (size_t)p->nSlotAlloc * nBytes;
  uint32_t C = p->anChunk[iVec], nChunk = (p->nSlot + C - 1) / C, i = 0;
  unsigned char *aLoaded = p->aVecLoaded[iVec];
  if (p->aFillRows[iVec] != nChunk) {
    fillDrop(p, iVec);
    return;
  }
  vec0MemPrefaultStop(&p->aPrefault[iVec]); /* done by now, or not needed */
  while (i < p->nSlot) {
    uint32_t j;
    if (aLoaded[i] != VEC_IN_ARRAY) {
      i++;
      continue;
    }
    for (j = i; j < p->nSlot && aLoaded[j] == VEC_IN_ARRAY; j++) {
    }
    memcpy(p->aFill[iVec] + (size_t)i * nBytes, p->aVec[iVec] + (size_t)i * nBytes,
           (size_t)(j - i) * nBytes);
    i = j;
  }
  sqlite3_free(p->aVecMem[iVec]);
  p->aVecMem[iVec] = p->aFillMem[iVec];
  p->aVec[iVec] = p->aFill[iVec];
  p->aFillMem[iVec] = p->aFill[iVec] = 0;
  p->aFillRows[iVec] = 0;
  memset(aLoaded, VEC_IN_ARRAY, p->nSlot);
  lazyFree(p, iVec);
  p->bAllVec[iVec] = 1;
  /* Huge pages already where the system gave them: nothing to collapse. */
  p->abHuge[iVec] = 1;
  p->aCollapsed[iVec] = (size_t)-1;
  p->abHugeDone[iVec] = n < 2 * HUGE_PAGE;
}

/*
** Reads chunk rows [aWarmChunk, +nRow) into the fill's block, up to the
** rows the helper thread has read or claimed.
*/
static int fillStep(Vec0Table *p, int iVec, int nRow) {
  sqlite3_stmt *pStmt = 0;
  size_t nBytes = p->aVecBytes[iVec];
  uint32_t C = p->anChunk[iVec], front = p->aWarmChunk[iVec];
  uint32_t lim = (p->nSlot + C - 1) / C;
  int rc;
  if (p->apFillHelper[iVec]) {
    uint64_t want = (uint64_t)front + (uint64_t)nRow;
    uint32_t claim;
    __atomic_store_n(&p->aFillLimit[iVec], want < UINT32_MAX ? (uint32_t)want : UINT32_MAX,
                     __ATOMIC_SEQ_CST);
    claim = __atomic_load_n(&p->aFillClaim[iVec], __ATOMIC_SEQ_CST);
    if (claim < lim) lim = claim;
  } else if (p->aFillBackEnd[iVec] != 0 && p->aFillBack[iVec] < lim) {
    lim = p->aFillBack[iVec];
  }
  if (lim <= front) return SQLITE_OK;
  if ((uint32_t)nRow > lim - front) nRow = (int)(lim - front);
  rc = vec0StorageVecStmt(p, iVec, VEC0_VSTMT_RANGE, &pStmt);
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_int64(pStmt, 1, p->aWarmChunk[iVec]);
  sqlite3_bind_int(pStmt, 2, nRow);
  while (rc == SQLITE_OK && sqlite3_step(pStmt) == SQLITE_ROW) {
    sqlite3_int64 c = sqlite3_column_int64(pStmt, 0);
    uint32_t first = 0, nVec = chunkSpan(p, iVec, c, &first);
    int n = sqlite3_column_bytes(pStmt, 1);
    if (nVec == 0 || sqlite3_column_type(pStmt, 1) != SQLITE_BLOB || (size_t)n != nBytes * C) {
      vec0TableError(p, "vec0: table \"%s\": chunk %lld of %s_vectors%d has %d bytes, "
                        "expected %lld",
                     p->zName, c, p->zName, iVec, n, (long long)nBytes * (long long)C);
      rc = SQLITE_CORRUPT_VTAB;
      break;
    }
    memcpy(p->aFill[iVec] + (size_t)first * nBytes, sqlite3_column_blob(pStmt, 1),
           (size_t)nVec * nBytes);
    p->aWarmChunk[iVec] = (uint32_t)c + 1;
    p->aFillRows[iVec]++;
  }
  {
    int rc2 = sqlite3_reset(pStmt);
    if (rc == SQLITE_OK) rc = rc2;
  }
  /* A failed step may have moved the cursor past rows it did not read. */
  if (rc != SQLITE_OK) vec0StorageFillReset(p, iVec);
  return rc;
}

int vec0StorageWarm(Vec0Table *p, int iVec, size_t nBytes, uint32_t *pnStep, int *pbAll) {
  uint32_t C = p->anChunk[iVec], nChunk = (p->nSlot + C - 1) / C;
  size_t nRowBytes = (size_t)C * p->aVecBytes[iVec], nRow;
  int rc = SQLITE_OK, bStepwise = nBytes < (size_t)-1 / 2;
  /*
  ** The helper thread reading the fill: joined once it is done; 'warm' and
  ** the reads of every vector stop it and read the rest here at once.  A
  ** helper that could not read (not WAL, busy, another snapshot) leaves the
  ** rest to the steps here, their fresh pages cleared on another core.
  */
  if (p->apFillHelper[iVec]) {
    if (!bStepwise) {
      vec0FillHelperStop(p, iVec);
    } else if (!vec0FillHelperPoll(p, iVec) && p->aWarmChunk[iVec] < p->aFillBack[iVec]) {
      prefaultFill(p, iVec);
    }
    fillMerge(p, iVec);
  }
  /*
  ** A step after a query or a write (not 'warm') doubles from
  ** VEC0_WARM_FIRST up to nBytes, so the first statement after opening,
  ** which reads the most lazily, waits the least for the fill; but a later
  ** one reads at least twice what was read lazily since the last step, so
  ** that the fill soon overtakes statements that touch much of the table
  ** (an INSERT walks with ef_construction).
  */
  if (nBytes > VEC0_WARM_FIRST && bStepwise && !p->bAllVec[iVec]) {
    size_t nDone = (size_t)p->aFillRows[iVec] * nRowBytes;
    if (nDone < nBytes) nBytes = nDone < VEC0_WARM_FIRST ? VEC0_WARM_FIRST : nDone;
    if (p->aFill[iVec] && nBytes < 2 * p->aLazyBytes[iVec]) nBytes = 2 * p->aLazyBytes[iVec];
  }
  *pnStep = 0;
  *pbAll = 0;
  /*
  ** The first statement after opening (or after the cache was dropped)
  ** takes no step: it pays for its own lazy reads, the most any statement
  ** reads, and a step would add a chunk of the table's pages to them (and,
  ** for an INSERT, whose walk comes at the commit, after this step, start
  ** the helper thread that reads the fill, whose reads would then compete
  ** with the walk's).  What it read lazily counts for the next step.
  */
  if (bStepwise && p->aFill[iVec] == 0 && !p->bAllVec[iVec] && !p->abFillWait[iVec]) {
    p->abFillWait[iVec] = 1;
    return SQLITE_OK;
  }
  p->aLazyBytes[iVec] = 0;
  nRow = nBytes / nRowBytes + 1;
  if (!p->bCache) return SQLITE_OK;
  if (nRow > (size_t)nChunk + 1) nRow = (size_t)nChunk + 1;
  if (!p->bAllVec[iVec]) {
    if (!vec0StorageWarmAllowed(p, iVec)) return SQLITE_OK;
    if (p->aFill[iVec] == 0) rc = fillStart(p, iVec, bStepwise);
    /* From the first row up, to where the helper's rows begin (if any). */
    if (rc == SQLITE_OK && p->aWarmChunk[iVec] < nChunk) rc = fillStep(p, iVec, (int)nRow);
    if (rc == SQLITE_OK) fillMerge(p, iVec);
    if (rc == SQLITE_OK && !bStepwise && p->aWarmChunk[iVec] < nChunk) {
      rc = fillStep(p, iVec, (int)nRow); /* the rows added above the helper's */
    }
    if (rc != SQLITE_OK) return rc;
    if (p->apFillHelper[iVec] == 0 && p->aWarmChunk[iVec] >= nChunk) fillFinish(p, iVec);
  }
  *pnStep = (uint32_t)nRow * C;
  *pbAll = p->bAllVec[iVec];
  return SQLITE_OK;
}

/* Reads every chunk row into the array itself (no second block). */
static int allIntoArray(Vec0Table *p, int iVec) {
  sqlite3_stmt *pStmt = 0;
  int rc = vec0StorageVecStmt(p, iVec, VEC0_VSTMT_ALL, &pStmt);
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
    lazyFree(p, iVec); /* every slot is VEC_IN_ARRAY now */
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
  size_t nBytes = p->aVecBytes[iVec];
  uint32_t C = p->anChunk[iVec];
  int rc, bRetry = 1;
  if (iSlot >= p->nSlot) {
    vec0TableError(p, "vec0: table \"%s\": slot %u out of range", p->zName, iSlot);
    return SQLITE_CORRUPT_VTAB;
  }
  if (p->aVecLoaded[iVec][iSlot]) {
    memcpy(pOut, p->aVecLoaded[iVec][iSlot] == VEC_IN_LAZY ? lazyAt(p, iVec, iSlot)
                 : p->aVec[iVec] + (size_t)iSlot * nBytes, nBytes);
    return SQLITE_OK;
  }
  if (p->aFill[iVec] && inFill(p, iVec, iSlot / C)) {
    memcpy(pOut, p->aFill[iVec] + (size_t)iSlot * nBytes, nBytes);
    return SQLITE_OK;
  }
  /*
  ** Through the BLOB handle of the lazy reads, moved to the chunk's row: only
  ** the pages that hold this vector's bytes are read (and the overflow
  ** pages before them, for their links), not the whole row into a value.
  */
  do {
    rc = blobAt(p, iVec, iSlot);
    if (rc == SQLITE_OK) {
      rc = sqlite3_blob_read(p->apBlob[iVec], pOut, (int)nBytes, (int)((iSlot % C) * nBytes));
    }
    /* SQLITE_ABORT: the row was written since the handle was opened on it */
    if (rc == SQLITE_ABORT && bRetry) vec0StorageReadEnd(p);
  } while (rc == SQLITE_ABORT && bRetry--);
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

/* Every vector of column iVec, read now (the exact scan, rebuild, check). */
int vec0StorageAllVectors(Vec0Table *p, int iVec) {
  uint32_t nStep = 0;
  int bAll = 0, rc;
  if (p->bAllVec[iVec]) return SQLITE_OK;
  rc = vec0StorageWarm(p, iVec, (size_t)-1 / 2, &nStep, &bAll);
  if (rc == SQLITE_OK && !bAll) {
    /* Above the budget, or a chunk row missing: into the array itself. */
    rc = allIntoArray(p, iVec);
  }
  return rc;
}

int vec0StorageScanIdle(Vec0Table *p, int iVec, size_t nBytes) {
  uint32_t nStep = 0;
  int bAll = 0, rc = SQLITE_OK;
  if (nBytes >= (size_t)-1 / 2) rc = vec0StorageWarm(p, iVec, nBytes, &nStep, &bAll);
  vec0StorageHugeStep(p, iVec);
  return rc;
}
