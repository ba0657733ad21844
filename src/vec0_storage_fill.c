/*
** vec0_storage_fill.c: the fill of the vector cache read on a helper
** thread, through a read-only connection of its own, in one sequential scan
** of T_vectorsN from its last chunk row down, while the caller's statements
** go on and their own steps read from the first row up (issue 16: the
** caller paid for the whole fill in the first ten or so statements after
** opening; now the two halves meet where they meet, and the caller never
** waits for the helper).  The caller's connection is never used on the
** helper thread; the helper writes only the fill's block, rows it has
** claimed (aFillClaim) above the caller's limit (aFillLimit), and publishes
** the lowest row it has read (aFillBack), from which on the caller reads
** vectors from the block.
**
** The helper reads what the caller's connection sees: it runs only on a
** database file in WAL mode (a reader there blocks no writer; in a rollback
** journal its shared lock would make the caller's commits busy), and in its
** read transaction T_config's 'changes' must be the value the caller's cache
** was loaded at, else it reads nothing.  Later commits of other connections
** make the caller drop its cache (vec0StorageValidate), which stops the
** helper; the caller's own writes are in aVec, which wins over the fill's
** block.  It runs only when the caller's connection is serialized (so SQLite
** was set up for threads), on SQLite's own Unix VFSes, and 'threads' is not
** 1.  Any failure of the helper
** (no memory, busy, an odd row) leaves the rest of the fill to the caller's
** own steps, which report what is wrong.
**
** Calls SQLite (the helper's own connection only, on the helper thread) and
** pthreads.
*/
#include "vec0Int.h"

#include <string.h>

#if defined(__linux__) || defined(__APPLE__) || defined(__unix__)
#define VEC0_FILL_THREAD 1
#include <pthread.h>
#include <unistd.h>
#endif

#ifdef VEC0_FILL_THREAD
struct Vec0FillHelper {
  pthread_t tid;
  long pid;              /* the process that started it: a forked child joins none */
  char *zFile;           /* the database file and VFS of the caller's schema */
  char *zVfs;
  char *zRange;          /* SQL: the chunk rows below ?1, from the last down */
  char *zChanges;        /* SQL: T_config's 'changes' */
  sqlite3_int64 iChanges; /* what the caller's cache was loaded at */
  unsigned char *aDst;   /* the fill's block */
  uint32_t *piBack;      /* &p->aFillBack[iVec]: published with release */
  uint32_t *piClaim;     /* &p->aFillClaim[iVec] */
  uint32_t *piLimit;     /* &p->aFillLimit[iVec]: the caller's steps read below */
  uint32_t nChunk;       /* chunk rows below nChunk, from the last down */
  uint32_t nSlot;        /* slots that exist (the last row may be partly used) */
  uint32_t C;            /* slots per chunk row */
  size_t nBytes;         /* bytes per vector */
  uint32_t nRows;        /* rows read (read by the caller after the join) */
  int bStop;             /* set by the caller (atomic) */
  int bDone;             /* set by the helper when it ends (atomic) */
};

static int nFillRunning = 0; /* helpers not yet joined (atomic): tests */

/* The scan itself, on the helper's connection db. */
static void fillScan(Vec0FillHelper *h, sqlite3 *db) {
  sqlite3_stmt *pStmt = 0;
  const unsigned char *zMode;
  int bOk = 0;
  size_t nRowBytes = (size_t)h->C * h->nBytes;
  uint32_t c = h->nChunk;
  /* WAL only: see the header comment. */
  if (sqlite3_prepare_v2(db, "PRAGMA main.journal_mode", -1, &pStmt, 0) != SQLITE_OK) return;
  if (sqlite3_step(pStmt) == SQLITE_ROW && (zMode = sqlite3_column_text(pStmt, 0)) != 0) {
    bOk = sqlite3_stricmp((const char *)zMode, "wal") == 0;
  }
  sqlite3_finalize(pStmt);
  if (!bOk || sqlite3_exec(db, "BEGIN", 0, 0, 0) != SQLITE_OK) return;
  bOk = 0;
  if (sqlite3_prepare_v2(db, h->zChanges, -1, &pStmt, 0) == SQLITE_OK) {
    int e = sqlite3_step(pStmt);
    sqlite3_int64 v = e == SQLITE_ROW ? sqlite3_column_int64(pStmt, 0) : 0;
    bOk = (e == SQLITE_ROW || e == SQLITE_DONE) && v == h->iChanges;
  }
  sqlite3_finalize(pStmt);
  pStmt = 0;
  if (bOk && sqlite3_prepare_v2(db, h->zRange, -1, &pStmt, 0) == SQLITE_OK) {
    sqlite3_bind_int64(pStmt, 1, h->nChunk);
    while (c > 0 && !__atomic_load_n(&h->bStop, __ATOMIC_ACQUIRE)) {
      uint64_t first = (uint64_t)(c - 1) * h->C;
      uint32_t nVec = h->nSlot - first < h->C ? (uint32_t)(h->nSlot - first) : h->C;
      const void *a;
      /* Claim row c-1, then see whether the caller's steps reach it. */
      __atomic_store_n(h->piClaim, c - 1, __ATOMIC_SEQ_CST);
      if (__atomic_load_n(h->piLimit, __ATOMIC_SEQ_CST) > c - 1) break;
      if (sqlite3_step(pStmt) != SQLITE_ROW) break;
      a = sqlite3_column_blob(pStmt, 1);
      /* A gap or an odd row: the caller's own step reads (and reports) it. */
      if (sqlite3_column_int64(pStmt, 0) != c - 1 || a == 0 ||
          (size_t)sqlite3_column_bytes(pStmt, 1) != nRowBytes) {
        break;
      }
      memcpy(h->aDst + first * h->nBytes, a, (size_t)nVec * h->nBytes);
      c--;
      h->nRows++;
      __atomic_store_n(h->piBack, c, __ATOMIC_RELEASE);
    }
  }
  sqlite3_finalize(pStmt);
  sqlite3_exec(db, "COMMIT", 0, 0, 0);
}

static void *fillMain(void *pArg) {
  Vec0FillHelper *h = pArg;
  sqlite3 *db = 0;
  /* A cache of its own even when the process shares caches
  ** (sqlite3_enable_shared_cache): in the caller's, its table locks would
  ** fail the caller's writes, and stopping it then, from inside the
  ** caller's step, would wait for a mutex the caller holds. */
  if (sqlite3_open_v2(h->zFile, &db,
                      SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_PRIVATECACHE,
                      h->zVfs) == SQLITE_OK) {
    fillScan(h, db);
  }
  sqlite3_close(db);
  __atomic_store_n(&h->bDone, 1, __ATOMIC_RELEASE);
  return 0;
}

static void helperFree(Vec0FillHelper *h) {
  sqlite3_free(h->zFile);
  sqlite3_free(h->zVfs);
  sqlite3_free(h->zRange);
  sqlite3_free(h->zChanges);
  sqlite3_free(h);
}

int vec0FillHelperStart(Vec0Table *p, int iVec) {
  Vec0FillHelper *h;
  sqlite3_vfs *pVfs = 0;
  const char *zFile = sqlite3_db_filename(p->db, p->zDb);
  uint32_t C = p->anChunk[iVec];
  if (p->apFillHelper[iVec] || vec0TableThreads(p) <= 1 || !sqlite3_threadsafe() ||
      sqlite3_db_mutex(p->db) == 0 || zFile == 0 || zFile[0] == 0 ||
      sqlite3_file_control(p->db, p->zDb, SQLITE_FCNTL_VFS_POINTER, &pVfs) != SQLITE_OK ||
      pVfs == 0 || pVfs->zName == 0 || strncmp(pVfs->zName, "unix", 4) != 0) {
    /* Only SQLite's own Unix VFSes: another (replication, encryption, a
    ** store in memory) need not bear a second connection on another
    ** thread (dqlite's is driven from one thread only). */
    return 0;
  }
  h = sqlite3_malloc64(sizeof(*h));
  if (h == 0) return 0;
  memset(h, 0, sizeof(*h));
  h->zFile = sqlite3_mprintf("%s", zFile);
  h->zVfs = sqlite3_mprintf("%s", pVfs->zName);
  h->zRange = sqlite3_mprintf("SELECT chunk, v FROM \"main\".\"%w_vectors%d\" "
                              "WHERE chunk < ?1 ORDER BY chunk DESC",
                              p->zName, iVec);
  h->zChanges = sqlite3_mprintf("SELECT value FROM \"main\".\"%w_config\" "
                                "WHERE key = 'changes'",
                                p->zName);
  if (!h->zFile || !h->zVfs || !h->zRange || !h->zChanges) {
    helperFree(h);
    return 0;
  }
  /* The committed value: a write of this transaction has bumped it already. */
  h->iChanges = p->bBumped ? p->iChanges - 1 : p->iChanges;
  h->aDst = p->aFill[iVec];
  h->piBack = &p->aFillBack[iVec];
  h->piClaim = &p->aFillClaim[iVec];
  h->piLimit = &p->aFillLimit[iVec];
  h->nSlot = p->nSlot;
  h->C = C;
  h->nChunk = (p->nSlot + C - 1) / C;
  /* Nothing read from the end yet: [nChunk, nChunk). */
  p->aFillBack[iVec] = p->aFillBackEnd[iVec] = p->aFillClaim[iVec] = h->nChunk;
  p->aFillLimit[iVec] = p->aWarmChunk[iVec];
  h->nBytes = p->aVecBytes[iVec];
  h->pid = (long)getpid();
  __atomic_add_fetch(&nFillRunning, 1, __ATOMIC_ACQ_REL);
  if (pthread_create(&h->tid, NULL, fillMain, h) != 0) {
    __atomic_sub_fetch(&nFillRunning, 1, __ATOMIC_ACQ_REL);
    p->aFillBack[iVec] = p->aFillBackEnd[iVec] = p->aFillClaim[iVec] = 0;
    helperFree(h);
    return 0;
  }
  p->apFillHelper[iVec] = h;
  return 1;
}

/*
** Joins the helper (stopping it first if bStop): its rows count as read,
** [aFillBack, aFillBackEnd) stays for the caller's steps to meet.
*/
static void helperJoin(Vec0Table *p, int iVec, int bStop) {
  Vec0FillHelper *h = p->apFillHelper[iVec];
  p->apFillHelper[iVec] = 0;
  if (h->pid != (long)getpid()) {
    /* After fork() the thread is the parent's: nothing here to join. */
    return;
  }
  if (bStop) __atomic_store_n(&h->bStop, 1, __ATOMIC_RELEASE);
  pthread_join(h->tid, NULL);
  __atomic_sub_fetch(&nFillRunning, 1, __ATOMIC_ACQ_REL);
  p->aFillRows[iVec] += h->nRows;
  helperFree(h);
}

int vec0FillHelperPoll(Vec0Table *p, int iVec) {
  Vec0FillHelper *h = p->apFillHelper[iVec];
  if (h == 0) return 0;
  if (!__atomic_load_n(&h->bDone, __ATOMIC_ACQUIRE)) return 1;
  helperJoin(p, iVec, 0);
  return 0;
}

void vec0FillHelperStop(Vec0Table *p, int iVec) {
  if (p->apFillHelper[iVec]) helperJoin(p, iVec, 1);
}

int vec0FillHelperRunning(void) {
  return __atomic_load_n(&nFillRunning, __ATOMIC_ACQUIRE);
}

#else /* no threads here: the caller fills */
int vec0FillHelperStart(Vec0Table *p, int iVec) {
  (void)p;
  (void)iVec;
  return 0;
}
int vec0FillHelperPoll(Vec0Table *p, int iVec) {
  (void)p;
  (void)iVec;
  return 0;
}
void vec0FillHelperStop(Vec0Table *p, int iVec) {
  (void)p;
  (void)iVec;
}
int vec0FillHelperRunning(void) {
  return 0;
}
#endif
