/*
** vec0Int.h: the internal header of the vec0 extension.
**
** Every file under src/ includes this header and nothing else of the project
** (vec0_hnsw.c, which must not know SQLite, includes only vec0_hnsw.h, and
** the kernel files only vec0_vec.h).  It
** holds the shared types, the declarations of each subsystem's entry points,
** and, below, the one description of the on-disk format.
**
** ON-DISK FORMAT (format version VEC0_FORMAT_VERSION)
** ===================================================
**
** A vec0 table named T keeps all of its state in ordinary SQLite tables
** ("shadow tables") in the same schema.  Nothing lives outside the database.
**
**   T_config(key TEXT PRIMARY KEY, value) WITHOUT ROWID
**       One row per setting.  Keys:
**         'format'       integer, VEC0_FORMAT_VERSION of the writer.  A reader
**                        refuses a table whose format is newer than its own.
**         'seed'         integer, a hash of the table name at CREATE (not
**                        random: replicas replaying the same statements must
**                        agree); levels of HNSW nodes are a hash of
**                        (rowid, seed), so the same statements give the same
**                        bytes everywhere.
**         'changes'      integer, incremented once by every write transaction
**                        (on its first write).  Another connection compares it
**                        with the value its cache was built from.
**         'next_slot'    integer, the lowest slot never used (see T_slots).
**         'rows'         integer, the number of live rows.
**         'rowid_gone'   integer, the largest rowid that left T_rows (its row
**                        deleted, or given another rowid by an UPDATE) while
**                        no id in T_rows was larger; absent: none did.  A row
**                        inserted without a rowid gets one more than the
**                        largest of this and T_rows' ids, so a rowid is never
**                        given twice (sqlite-vec's rowids table is
**                        AUTOINCREMENT: the same rowids).
**         'chunk.N'      integer 1..VEC0_MAX_CHUNK, the slots per row of
**                        T_vectorsN (fixed at CREATE).
**         'ef_search.N'  integer, the persisted default ef of vector column N
**                        (set by the 'ef_search=' command, removed by the
**                        'recall=' command); absent: the value from CREATE,
**                        or the ef that meets the recall target.
**         'hnsw.N'       BLOB, the header of the HNSW graph of vector column
**                        N: see vec0HnswHeaderEncode() in vec0_hnsw.h.
**         'quant.N'      BLOB, the trained quantizer of vector column N when it
**                        has one (hnsw(quantizer=int8|bit), rescore(...),
**                        diskann(...)): see vec0QuantSave() in
**                        vec0_quant.h (absent until trained; a reader that
**                        does not know the key ignores it).
**         'recall.N'     BLOB, the last measurement of the recall of vector
**                        column N's graph (vec0_recall.c), little-endian:
**                        u32 version (1), u32 rows, u32 queries, u32 k,
**                        u32 points (1..VEC0_RECALL_POINTS), i64 changes,
**                        then per point u32 ef, u32 hits (of queries * k),
**                        ef increasing.  Absent: not measured yet.
**         'recall_target.N' integer 5000..9990, the recall target in 1/10000
**                        set by the 'recall=' command; absent: the one of
**                        CREATE (hnsw(recall=...), default 0.95).
**
**   T_rows(id INTEGER PRIMARY KEY, slot INTEGER NOT NULL,
**          [key TEXT NOT NULL UNIQUE,] a0, a1, ...)
**       One row per user row.  id is the user's rowid or integer primary
**       key; for a table with a TEXT primary key the id is internal (the
**       rowid SQL sees) and `key` holds the user's key.  a0.. are the auxiliary (+col) columns.
**
**   T_slots(slot INTEGER PRIMARY KEY, id INTEGER, p0.., m0.. [, g])
**       The dense row numbering used by vectors and graphs: one row per
**       live slot.  Slot s of every vector column belongs to the row
**       T_slots.id.  p0.. are partition key values and m0.. are metadata
**       values: the narrow table that filtered search reads.  With
**       partition keys, g is the slot's group (see T_groups).
**
**   T_free(slot INTEGER PRIMARY KEY)                     (no partition keys)
**   T_free(g, slot, PRIMARY KEY(g, slot)) WITHOUT ROWID  (partition keys)
**       The free slots below next_slot (their rows were deleted or moved to
**       another partition): each slot below next_slot is in exactly one of
**       T_slots and T_free.  Inserts reuse the lowest first, and with
**       partition keys only a free slot of the row's own group, because the
**       slot's HNSW tombstone belongs to that group's graph.  (A table, not
**       a partial index on T_slots: an index keeps its name through ALTER
**       TABLE RENAME and a vtab's xRename cannot drop it.)
**
**   T_groups(g INTEGER PRIMARY KEY, p0.., live INTEGER NOT NULL,
**            entry0, level0, entry1, level1, ...)      (partition keys only)
**       One row per distinct tuple of partition key values (UNIQUE(p0..),
**       so SQLite's own index finds it), g from 1 up.  live counts its live
**       rows (the planner's statistics).  Each HNSW column N keeps one graph
**       per group inside T_linksN: entryN / levelN are the entry point and
**       top level of group g's graph (NULL while it has none); nodes link
**       only within their group, so a search with the partition key given
**       walks that partition alone.
**
**   T_vectorsN(chunk INTEGER PRIMARY KEY, v BLOB NOT NULL)
**       Vector column N (0-based), C = 'chunk.N' slots per row: chunk c
**       holds the vectors of slots c*C .. c*C+C-1, one after the other, each
**       in the column's element type: float32 little-endian, int8, or bit
**       packed 8 per byte (dimension i is bit (i & 7) of byte i >> 3).  The
**       BLOB is always C vectors long, those of slots not allocated yet all
**       zero bytes; every chunk of a slot below next_slot exists.  C is chosen at CREATE so that the rows fill
**       the database pages (one 3136-byte vector per row would leave a
**       quarter of each 4096-byte page empty), except for a column declared
**       hnsw(..., low_memory=1), where C is 1: its searches read single
**       vectors from the table, and a vector alone in its row is read from
**       one page (or, larger than a page, from its leaf and the overflow
**       pages it fills), where in a row of several the overflow pages before
**       it must be read for their links.  The file is larger for it (784
**       float32: 4096 bytes a vector, not 3136).  A reader takes C from
**       'chunk.N' whatever it is, so tables made before keep their C.  A free slot keeps its last
**       vector (for an HNSW column the graph still routes through it, a
**       tombstone) until the slot is reused.
**
**   T_linksN(slot INTEGER PRIMARY KEY, links BLOB NOT NULL)
**       The HNSW node of slot s for vector column N, when that column is
**       `indexed by hnsw`.  The BLOB is the node record described in
**       vec0_hnsw.h (level, flags, group and neighbour lists of each level,
**       all little-endian u32).  Changed nodes are kept in memory and
**       written at xSync and before each savepoint, so always in the
**       transaction of the rows they index.
**
** A table made by sqlite-vec has T_chunks / T_rowids / T_vector_chunksNN
** shadow tables instead; vec0 recognises them and refuses to open the table.
*/
#ifndef VEC0INT_H
#define VEC0INT_H

#include <stddef.h>
#include <stdint.h>

#ifndef SQLITE_CORE
#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT3
#else
#include "sqlite3.h"
#endif

#define VEC0_VERSION "v0.1.0"
#define VEC0_FORMAT_VERSION 1

/* Element types, vectors, metrics and the kernels: no SQLite there. */
#include "vec0_vec.h"

/*
** Parse v as a vector.  eExpect == 0 accepts any type: a BLOB is read as the
** type its subtype names, float32 if none; JSON text is float32.  Otherwise
** the value must be (or, for JSON/untyped BLOB, is read as) that type.
** zWhat names the argument in messages ("1st argument", "query vector").
** On error returns SQLITE_ERROR (or SQLITE_NOMEM) and sets *pzErr to a
** message from sqlite3_mprintf() that starts with "vec0: ".
** This is the parser of table columns and query vectors: at most
** VEC0_MAX_DIMS dimensions, every float32 element finite.
*/
int vec0VectorFromValue(sqlite3_value *v, int eExpect, const char *zWhat,
                        Vec0Vector *pOut, char **pzErr);
/*
** vec0VectorFromValue() with some of its limits lifted, for the scalar
** functions, which (as in sqlite-vec) work on vectors of any length, and
** of which those that only show a vector must be able to show bad data.
*/
#define VEC0_PARSE_ANY_LENGTH 0x01 /* up to INT_MAX dimensions, not 8192 */
#define VEC0_PARSE_NONFINITE 0x02  /* float32 BLOB elements may be NaN/Inf */
int vec0VectorParse(sqlite3_value *v, int eExpect, int flags,
                    const char *zWhat, Vec0Vector *pOut, char **pzErr);
void vec0VectorClear(Vec0Vector *p);
/* Registers every scalar function and vec_each on db. */
int vec0FuncRegister(sqlite3 *db);

/*
** CREATE VIRTUAL TABLE arguments (vec0_config.c).
*/
#define VEC0_MAX_VECTOR_COLUMNS 16
#define VEC0_MAX_PARTITION_COLUMNS 4
#define VEC0_MAX_METADATA_COLUMNS 16
#define VEC0_MAX_AUX_COLUMNS 16
#define VEC0_MAX_COLUMNS                                                      \
  (1 + VEC0_MAX_VECTOR_COLUMNS + VEC0_MAX_PARTITION_COLUMNS +                 \
   VEC0_MAX_METADATA_COLUMNS + VEC0_MAX_AUX_COLUMNS)

typedef enum Vec0PkType {
  VEC0_PK_ROWID = 0, /* no primary key declared: the rowid */
  VEC0_PK_INTEGER = 1,
  VEC0_PK_TEXT = 2
} Vec0PkType;

typedef enum Vec0IndexType {
  VEC0_INDEX_FLAT = 1,
  VEC0_INDEX_HNSW = 2,
  VEC0_INDEX_RESCORE = 3 /* sqlite-vec 0.1.10's rescore(...): vec0_index_rescore.c */
} Vec0IndexType;

/* Types of partition key and metadata columns. */
typedef enum Vec0ValType {
  VEC0_VAL_INTEGER = 1,
  VEC0_VAL_FLOAT = 2,
  VEC0_VAL_TEXT = 3,
  VEC0_VAL_BOOLEAN = 4,
  VEC0_VAL_ANY = 5 /* auxiliary columns declared without a type */
} Vec0ValType;

typedef enum Vec0ColKind {
  VEC0_COL_PK = 1,
  VEC0_COL_VECTOR = 2,
  VEC0_COL_PARTITION = 3,
  VEC0_COL_METADATA = 4,
  VEC0_COL_AUX = 5
} Vec0ColKind;

#define VEC0_HNSW_DEFAULT_M 16
#define VEC0_HNSW_DEFAULT_EF_CONSTRUCTION 200
#define VEC0_HNSW_DEFAULT_EF_SEARCH 64
/*
** Default candidates per result a quantized walk re-ranks with float32.
** int8: the 2 x k best by code distance already hold all of the true 10
** nearest on fashion-mnist and on the text-like set of bench/datasets.py
** (300 queries each, codes ranked exactly), so more only costs reads.
*/
#define VEC0_RESCORE_INT8 2
#define VEC0_RESCORE_BIT 16

typedef struct Vec0VectorCol {
  Vec0ElemType eType;
  int nDim;
  Vec0Metric eMetric;
  Vec0IndexType eIndex;
  int m;              /* hnsw: links per node per level (level 0: 2*m) */
  int efConstruction; /* hnsw */
  int efSearch;       /* hnsw: default ef of a query */
  int eQuant;         /* hnsw: VEC0_QUANT_* the walk runs on (vec0_quant.h) */
  int nRescore;       /* with a quantizer: candidates re-ranked per result */
  int bDiskann;       /* hnsw declared as sqlite-vec's diskann(...) */
  int bLowMem;        /* hnsw(low_memory=1): searches hold codes and links only */
  int bEfFixed;       /* hnsw: ef_search was given (no recall target) */
  int iRecall;        /* hnsw: the recall target in 1/10000 (vec0_recall.c) */
} Vec0VectorCol;

/* One declared column, in declaration order. */
typedef struct Vec0Column {
  char *zName;
  Vec0ColKind eKind;
  int iSub;           /* index among the columns of its kind */
  Vec0ValType eType;  /* partition, metadata, aux */
} Vec0Column;

typedef struct Vec0Config {
  Vec0PkType ePk;
  char *zPkName; /* NULL for VEC0_PK_ROWID */
  int nCol;      /* declared columns, primary key included */
  Vec0Column aCol[VEC0_MAX_COLUMNS];
  int nVec, nPart, nMeta, nAux;
  Vec0VectorCol aVec[VEC0_MAX_VECTOR_COLUMNS];
  int aVecCol[VEC0_MAX_VECTOR_COLUMNS];      /* index into aCol */
  int aPartCol[VEC0_MAX_PARTITION_COLUMNS];  /* index into aCol */
  int aMetaCol[VEC0_MAX_METADATA_COLUMNS];   /* index into aCol */
  int aAuxCol[VEC0_MAX_AUX_COLUMNS];         /* index into aCol */
  char *zTable; /* the table name: the last hidden column (vec0_config.c) */
} Vec0Config;

/*
** Parse the module arguments (argv[3..argc-1] of xCreate/xConnect: one
** column or option definition each).  On error returns SQLITE_ERROR with
** *pzErr a "vec0: ..." message naming the offending token; the config is then
** cleared.  zTable is the table name, used in messages.
*/
int vec0ConfigParse(Vec0Config *p, const char *zTable, int nArg,
                    const char *const *azArg, char **pzErr);
void vec0ConfigClear(Vec0Config *p);
/*
** The CREATE TABLE statement for sqlite3_declare_vtab(): the declared columns
** in order, then the hidden columns named by VEC0_HIDDEN_*.  The SQL column
** index of hidden column h is p->nCol + h.  From sqlite3_mprintf().
*/
char *vec0ConfigDeclare(const Vec0Config *p);
/*
** Puts the key column first, as sqlite-vec declares it (so SELECT * and a
** positional INSERT see the key first): a declared primary key moves to
** aCol[0], and a table keyed by the rowid gets a column "rowid" there
** (ePk stays VEC0_PK_ROWID, zPkName NULL).  After vec0ConfigParse().
*/
int vec0ConfigKeyFirst(Vec0Config *p);

/* Hidden columns, after the declared ones, in this order. */
#define VEC0_HIDDEN_DISTANCE 0
#define VEC0_HIDDEN_K 1
#define VEC0_HIDDEN_EF 2
#define VEC0_HIDDEN_RESCORE 3
#define VEC0_HIDDEN_TABLE 4 /* named like the table: INSERT INTO t(t) VALUES('cmd') */
/* "recall" (AND recall = 0.99), or "_recall" where a column or the table is "recall" */
#define VEC0_HIDDEN_RECALL 5
#define VEC0_N_HIDDEN 6

#define VEC0_MAX_K 100000
#define VEC0_MAX_THREADS 64 /* 'threads=N' */


/*
** The vec0 table and its cache (vec0_storage*.c own the cache and the shadow
** tables; vec0_index*.c the index of each vector column; vec0_vtab.c the
** SQL surface; vec0_knn.c the search).  See docs/architecture.md.
**
** The cache mirrors the database as this connection's transaction sees it.
** Rows and vectors are written to the shadow tables at once; an index may
** keep its changes (HNSW links) dirty in memory: vec0IndexFlush() writes
** them at xSync and before a savepoint opens, so a ROLLBACK TO can drop the whole cache and reload
** lazily from tables that SQLite itself has rolled back.
*/
#include "vec0_hnsw.h"
#include "vec0_quant.h"
#include "vec0_mem.h"

/* A partition key or metadata value of one slot. */
typedef struct Vec0Cell {
  int eType;       /* SQLITE_INTEGER, SQLITE_FLOAT, SQLITE_TEXT, SQLITE_NULL */
  int n;           /* bytes of z */
  sqlite3_int64 i;
  double r;
  char *z;         /* sqlite3_malloc'd, NUL terminated */
} Vec0Cell;

/*
** vec0_value.c: SQLite's rules for values as the table applies them.
**
** vec0ValueInt64: 1 and *piOut if v is an integer, or a REAL or numeric
** TEXT whose value is an exact integer (what an INTEGER PRIMARY KEY
** accepts); 0 otherwise.
*/
int vec0ValueInt64(sqlite3_value *v, sqlite3_int64 *piOut);
void vec0CellSet(Vec0Cell *pCell, sqlite3_value *v, int *pRc);
void vec0CellSetInt(Vec0Cell *pCell, sqlite3_int64 i);
/*
** The cell of v as a column of type eType holds or compares it: integer
** and boolean columns read numeric text and whole REALs as integers, float
** columns read numeric text as a number, text columns read a number as its
** text; VEC0_VAL_ANY keeps v as it is.
*/
int vec0CellSetAffinity(Vec0Cell *pCell, sqlite3_value *v, Vec0ValType eType);
void vec0CellClear(Vec0Cell *pCell);
/* Binds the value of pCell to parameter i (static: the cell must outlive it). */
void vec0CellBind(sqlite3_stmt *pStmt, int i, const Vec0Cell *pCell);
/* Binds v to parameter i as a text column compares it (a number: its text). */
int vec0BindText(sqlite3_stmt *pStmt, int i, sqlite3_value *v);
/* SQLite's order: numbers < text < BLOB; text by BINARY or NOCASE. */
int vec0CellCompare(const Vec0Cell *a, const Vec0Cell *b, int bNoCase);
/* One constraint on a value: op (VEC0_OP_*) and its nVal (IN) values. */
typedef struct Vec0Filter {
  int op;
  int bNoCase;
  int bNoBlobs;  /* LIKE, GLOB: SQLite built with SQLITE_LIKE_DOESNT_MATCH_BLOBS */
  int nVal;
  Vec0Cell *aVal;
} Vec0Filter;
/* Whether a row whose value is pCell passes f, as SQL's WHERE decides. */
int vec0FilterPasses(const Vec0Filter *f, const Vec0Cell *pCell);

/* Slot states in Vec0Table.aSlotState. */
#define VEC0_SLOT_UNKNOWN 0 /* not read yet */
#define VEC0_SLOT_LIVE 1
#define VEC0_SLOT_FREE 2

/* Cached statements on the tables shared by all columns. */
enum {
  VEC0_STMT_CONFIG_GET,
  VEC0_STMT_CONFIG_SET,
  VEC0_STMT_ROWS_GET,       /* rowid -> slot [, key] */
  VEC0_STMT_ROWS_BY_KEY,    /* key -> rowid, slot */
  VEC0_STMT_ROWS_SCAN,      /* every rowid, slot (a full scan) */
  VEC0_STMT_ROWS_FILTER,    /* every slot, key (or NULL), a0.. (row filters) */
  VEC0_STMT_ROWS_INSERT,
  VEC0_STMT_ROWS_DELETE,
  VEC0_STMT_ROWS_REKEY,     /* change rowid [and key] */
  VEC0_STMT_ROWS_GONE,      /* whether a rowid that left is to be 'rowid_gone' */
  VEC0_STMT_ROWS_TOP,       /* 'rowid_gone' and the largest rowid */
  VEC0_STMT_ROWS_SET_SLOT,
  VEC0_STMT_ROWS_AUX_GET,
  VEC0_STMT_ROWS_AUX_SET,
  VEC0_STMT_SLOTS_GET,
  VEC0_STMT_SLOTS_ALL,
  VEC0_STMT_SLOTS_PUT,
  VEC0_STMT_SLOTS_DELETE,
  VEC0_STMT_FREE_ADD,
  VEC0_STMT_FREE_FIRST,     /* the lowest free slot [of group ?] */
  VEC0_STMT_FREE_TAKE,
  VEC0_STMT_SLOTS_SET_ROWID,
  VEC0_STMT_GROUP_FIND,     /* partition values -> g, live */
  VEC0_STMT_GROUP_ADD,
  VEC0_STMT_GROUP_LIVE,     /* live += ? */
  VEC0_STMT_GROUP_ALL,      /* g, live, p0.. of every group */
  VEC0_STMT_N
};
/* Cached statements per vector column. */
enum {
  VEC0_VSTMT_GET,
  VEC0_VSTMT_ALL,
  VEC0_VSTMT_PUT,
  VEC0_VSTMT_RANGE,         /* chunks from ? on, ? of them */
  VEC0_VSTMT_LINK_RANGE,    /* node records from slot ? on */
  VEC0_VSTMT_LINK_GET,
  VEC0_VSTMT_LINK_PUT,
  VEC0_VSTMT_GROUP_GET,     /* entry point of a group's graph */
  VEC0_VSTMT_GROUP_PUT,
  VEC0_VSTMT_N
};

#include "vec0_index.h"

/*
** A column's measured recall (vec0_recall.c; stored as 'recall.N' of
** T_config, format in vec0_storage_sql.c): at nRows live rows (and the
** table's 'changes' count iChanges), nQuery stored rows searched for their
** k nearest others at each aEf[i], aHit[i] of the nQuery * k exact
** neighbours found.  nPoint 0: not measured.
*/
#define VEC0_RECALL_POINTS 16
/* Recall targets, in 1/10000: 0.5 .. 0.999, default 0.95. */
#define VEC0_RECALL_MIN 5000
#define VEC0_RECALL_MAX 9990
#define VEC0_RECALL_DEFAULT 9500
typedef struct Vec0RecallCurve {
  uint32_t nRows, nQuery, k;
  int nPoint;
  sqlite3_int64 iChanges;
  uint32_t aEf[VEC0_RECALL_POINTS];
  uint32_t aHit[VEC0_RECALL_POINTS];
} Vec0RecallCurve;

/* A helper thread reading the fill (vec0_storage_fill.c). */
typedef struct Vec0FillHelper Vec0FillHelper;

struct Vec0Table {
  sqlite3_vtab base;
  sqlite3 *db;
  char *zDb;
  char *zName;
  Vec0Config cfg;
  int nFilt; /* partition + metadata columns: T_slots columns p0.., m0.. */
  sqlite3_stmt *aStmt[VEC0_STMT_N];
  sqlite3_stmt *aVecStmt[VEC0_MAX_VECTOR_COLUMNS][VEC0_VSTMT_N];
  sqlite3_int64 seed;
  int aEfSearch[VEC0_MAX_VECTOR_COLUMNS]; /* fixed default ef, or 0: from recall */
  /*
  ** The settings of this connection, not stored (vec0_maint.c's commands);
  ** the registry of vec0_info.c keeps a copy, since SQLite connects a table
  ** again (a new Vec0Table) after any schema change.
  */
  struct Vec0ConnSettings {
    /* sqlite-vec 0.1.10's 'search_list_size_search=N' of a diskann column
    ** (ef) and 'oversample=N' of a column with a quantizer; 0 when not set */
    int aEf[VEC0_MAX_VECTOR_COLUMNS];
    int aRescore[VEC0_MAX_VECTOR_COLUMNS];
    /* 'cache_budget=N' (kept across cache drops): the fill reads a column
    ** ahead only when its vectors take at most this many bytes */
    sqlite3_int64 nCacheBudget; /* < 0: no limit */
    int nThread; /* 'threads=N': threads of a bulk build (0: one per core) */
  } conn;
  sqlite3_uint64 iDeclHash; /* of the CREATE's arguments (vec0_info.c) */
  int bScanBusy;           /* a cursor holds aStmt[VEC0_STMT_ROWS_SCAN] */

  /* The cache. */
  int bCache;              /* the fields below are loaded and current */
  sqlite3_int64 iChanges;  /* 'changes' the cache was read at */
  unsigned int iDataVersion;
  int bBumped;             /* 'changes' already incremented this transaction */
  int bCountersDirty;      /* next_slot must be written */
  uint32_t nSlot;          /* slots [0, nSlot) have been used */
  uint32_t nSlotAlloc;
  unsigned char *aSlotState;
  sqlite3_int64 *aSlotRowid;
  uint32_t *aSlotGroup;    /* with partition keys: the group of each slot */
  Vec0Cell *aCell;         /* nSlotAlloc x nFilt */
  int bAllSlots;           /* every slot of [0, nSlot) is loaded */
  unsigned char *aVec[VEC0_MAX_VECTOR_COLUMNS];       /* nSlotAlloc x bytes */
  unsigned char *aVecMem[VEC0_MAX_VECTOR_COLUMNS];    /* the block aVec is in */
  unsigned char *aVecLoaded[VEC0_MAX_VECTOR_COLUMNS]; /* per slot: nonzero loaded */
  int bAllVec[VEC0_MAX_VECTOR_COLUMNS];
  int abHuge[VEC0_MAX_VECTOR_COLUMNS];          /* aVec[i] asks for huge pages */
  size_t aCollapsed[VEC0_MAX_VECTOR_COLUMNS];   /* bytes of aVec[i] made huge */
  int abHugeDone[VEC0_MAX_VECTOR_COLUMNS];      /* vec0StorageHugeStep is done */
  uint32_t aWarmChunk[VEC0_MAX_VECTOR_COLUMNS]; /* the fill: chunk rows read */
  /*
  ** The fill (vec0StorageWarm): column i's vectors read in order into a new
  ** block aFill[i] (in aFillMem[i], huge pages from the start), which
  ** replaces aVec[i] once it holds them all; meanwhile a slot not loaded in
  ** aVec[i] below aWarmChunk[i] chunks is read from it.
  */
  unsigned char *aFill[VEC0_MAX_VECTOR_COLUMNS];
  unsigned char *aFillMem[VEC0_MAX_VECTOR_COLUMNS];
  uint32_t aFillRows[VEC0_MAX_VECTOR_COLUMNS];  /* chunk rows read into it */
  Vec0MemPrefault aPrefault[VEC0_MAX_VECTOR_COLUMNS]; /* populates aFill[i] */
  /*
  ** The fill's helper thread (vec0_storage_fill.c) reads chunk rows from the
  ** end down while the caller's steps read from aWarmChunk[i] up: rows
  ** [aFillBack[i], aFillBackEnd[i]) are in aFill[i] too (aFillBackEnd[i]
  ** 0 when there is no such range).  The two never write the same row: the
  ** helper claims each row (aFillClaim[i]) before it checks the caller's
  ** limit (aFillLimit[i]), and a step sets its limit before it reads the
  ** claim, all sequentially consistent.  aFillBack/aFillClaim move while
  ** the helper runs (atomic builtins).
  */
  Vec0FillHelper *apFillHelper[VEC0_MAX_VECTOR_COLUMNS];
  uint32_t aFillBack[VEC0_MAX_VECTOR_COLUMNS];
  uint32_t aFillBackEnd[VEC0_MAX_VECTOR_COLUMNS];
  uint32_t aFillClaim[VEC0_MAX_VECTOR_COLUMNS];
  uint32_t aFillLimit[VEC0_MAX_VECTOR_COLUMNS];
  size_t aLazyBytes[VEC0_MAX_VECTOR_COLUMNS];   /* read lazily since the last step */
  int abFillWait[VEC0_MAX_VECTOR_COLUMNS]; /* the first statement's step skipped */
  /*
  ** The lazy block: vectors read one at a time (a walk before the cache is
  ** complete) are packed in read order into aLazy[i] (in aLazyMem[i], huge
  ** pages when large), not at their slot's place in aVec[i]: on a machine
  ** where a first-touched 4 KiB page costs ~30 us, hundreds of vectors
  ** scattered over a 188 MB array cost more than reading them.  Its first
  ** aLazyCap[i] uint32 are the index (slot -> position + 1) of slots below
  ** aLazyCap[i]; aLazyN[i] vectors follow.  Freed with the fill.
  */
  unsigned char *aLazy[VEC0_MAX_VECTOR_COLUMNS];
  unsigned char *aLazyMem[VEC0_MAX_VECTOR_COLUMNS];
  uint32_t aLazyCap[VEC0_MAX_VECTOR_COLUMNS];
  uint32_t aLazyN[VEC0_MAX_VECTOR_COLUMNS];
  sqlite3_blob *apBlob[VEC0_MAX_VECTOR_COLUMNS]; /* lazy reads of one vector */
  size_t aVecBytes[VEC0_MAX_VECTOR_COLUMNS];
  uint32_t anChunk[VEC0_MAX_VECTOR_COLUMNS]; /* slots per T_vectorsN row */
  unsigned char *aChunkBuf; /* a last, partly used chunk row being written */
  size_t nChunkBuf;
  Vec0Index aIndex[VEC0_MAX_VECTOR_COLUMNS]; /* their pState is part of the cache */
  sqlite3_int64 nLive;     /* live rows */
  /* Per vector column: 'recall.N' and 'recall_target.N' (vec0_recall.c). */
  Vec0RecallCurve aRecall[VEC0_MAX_VECTOR_COLUMNS];
  int aRecallTarget[VEC0_MAX_VECTOR_COLUMNS]; /* 1/10000, 0: the column's */
#define VEC0_MAX_CACHE_BUDGET 1048576 /* MiB: 1 TiB */

  /*
  ** The write in progress (vec0StorageOpBegin/End, which vec0IndexOpBegin/
  ** End wrap around each index's xBegin/xEnd), one xUpdate: what it must
  ** put back in memory if it fails.  Rows, slots and vectors are written to
  ** the shadow tables at once, so their caches are simply dropped; the
  ** counters (and an index's graph) live in memory until the next flush
  ** and are restored.  bPoison: a failed write left part of its
  ** changes in the tables and SQLite will not undo them, so this
  ** transaction must not commit (xSync refuses).
  */
  int bOp;
  uint32_t opNSlot;
  sqlite3_int64 opNLive;
  int opCountersDirty;
  sqlite3_int64 opTotalChanges;
  int bPoison;
  int iPoisonDepth; /* nSavepoint when it happened: ROLLBACK TO below clears */
  int nSavepoint;   /* savepoints open (xSavepoint numbers them from 0) */
  int nBusy;          /* methods using the cache now (vec0_vtab.c) */
  sqlite3_int64 iLastRowid; /* last_insert_rowid when the outermost began */
  int bRollbackLater; /* xRollback came meanwhile: done when nBusy is 0 */
  struct Vec0Registry *pReg; /* this connection's open tables (vec0_info.c) */
  /*
  ** Schema changes a ROLLBACK TO can take back (vec0_storage.c).  aRenamed:
  ** this transaction's renames, newest last, each with the name it replaced
  ** and nSavepoint when it was made; ROLLBACK TO puts the name back as
  ** SQLite puts back the shadow tables'.  bMaybeGone: a ROLLBACK TO may
  ** have taken the table away (its CREATE, or the RENAME that gave it its
  ** name), or it was made by xCreate inside a transaction, which SQLite
  ** enters in it with no savepoint, so no ROLLBACK TO tells it: such a table
  ** looks for its shadow tables before it writes.  bStale: they are gone,
  ** or a later CREATE took the name (vec0InfoRestore), or the schema
  ** cookie is below iCreateCookie, its value after this table's xCreate
  ** inside a transaction (the cookie only grows in a transaction, so the
  ** CREATE was taken back: tables of the name now are another's, a DROP
  ** and CREATE in the savepoint): nothing is written.
  */
  struct Vec0Renamed {
    char *zOld;
    int iDepth;
  } *aRenamed;
  int nRenamed;
  int bMaybeGone;
  int bStale;
  sqlite3_int64 iCreateCookie;
  /* A later xConnect in this connection took the name (SQLite read the
  ** schema again): this object, still in the transaction, writes what it
  ** holds at xSync but leaves the commit's upkeep (vec0RecallAfterWrite)
  ** to the table's current object, since its cache may miss that one's
  ** writes (the connection's own writes do not change the data version). */
  int bSuperseded;
  /*
  ** Rowids an UPDATE OR REPLACE deleted because another row took their key,
  ** in the statement under way (vec0_write.c; emptied when a cursor opens,
  ** as every UPDATE begins by scanning): a hash set, open addressing.
  */
  struct Vec0RowidSet {
    sqlite3_int64 *a;
    unsigned char *aUsed; /* in the same allocation as a */
    uint32_t nSlot, nUsed;
  } replaced;
};

/*
** vec0_info.c: the vec0_info('table') function and the registry of the
** tables a connection has open, which it reads.  vec0InfoRegister creates
** both on db (the registry is freed with the connection); the module adds
** each table it opens and removes it when it closes.
*/
typedef struct Vec0Registry Vec0Registry;
int vec0InfoRegister(sqlite3 *db, Vec0Registry **ppReg);
int vec0InfoAdd(Vec0Registry *pReg, Vec0Table *p);
void vec0InfoRemove(Vec0Registry *pReg, Vec0Table *p);
/* p->conn kept for the table's next Vec0Table in this connection, given to it
** (if it has the same declaration: its module arguments) and forgotten by
** DROP TABLE. */
int vec0InfoKeep(Vec0Table *p);
void vec0InfoRestore(Vec0Registry *pReg, Vec0Table *p, int nArg, const char *const *azArg,
                     int bCreate);
void vec0InfoForget(Vec0Table *p);
int vec0InfoRenamed(Vec0Table *p, const char *zFrom, const char *zTo);

/*
** vec0_table.c: helpers of every layer of the table.
**
** vec0TableVector parses v as a vector of vector column iVec (bQuery: the
** query vector of a KNN search), checking type and dimensions; on error
** p->base.zErrMsg names the table and the column.
*/
int vec0TableVector(Vec0Table *p, sqlite3_value *v, int iVec, int bQuery,
                    Vec0Vector *pOut);
/* Writes the error message of p->base.zErrMsg. */
void vec0TableError(Vec0Table *p, const char *zFmt, ...);
/* The worker threads of a bulk job: 'threads=N', or one per core. */
int vec0TableThreads(const Vec0Table *p);

/*
** Inside the storage layer only (vec0_storage*.c): the helpers its files
** share.  AppendList appends ", <zPre>0<zPost>, <zPre>1<zPost>, ..." (n
** items) to z, freeing it; Exec runs SQL made by sqlite3_mprintf(zFmt, ...);
** StepDone steps a statement that returns no rows and resets it; VecResize
** gives vector column i room for nSlot vectors (bHuge: in huge pages).
*/
char *vec0StorageAppendList(char *z, const char *zPre, int n, const char *zPost);
int vec0StorageExec(Vec0Table *p, const char *zFmt, ...);
/* The integer of the first row of zSql (from sqlite3_mprintf, freed), if any. */
int vec0StorageOneInt(Vec0Table *p, char *zSql, sqlite3_int64 *piVal, int *pbFound);
int vec0StorageStepDone(sqlite3_stmt *pStmt);
int vec0StorageVecResize(Vec0Table *p, int i, size_t nSlot, int bHuge);
/* Deletes every chunk row of T_vectorsN (before a rewrite). */
int vec0StorageVectorsClear(Vec0Table *p, int iVec);

/* vec0_storage.c */
int vec0StorageCreate(Vec0Table *p, char **pzErr);
int vec0StorageConnect(Vec0Table *p, char **pzErr);
int vec0StorageDestroy(Vec0Table *p);
int vec0StorageRename(Vec0Table *p, const char *zNew);
/* The name the newest rename made since savepoint iSavepoint began (every
** one: -1) replaced, or NULL; RenameBack puts it back (SQLite has put back
** the shadow tables); RenamesKeep makes those renames savepoint
** iSavepoint's (RELEASE), or forgets them all with -1 (COMMIT). */
const char *vec0StorageRenamedSince(Vec0Table *p, int iSavepoint);
void vec0StorageRenameBack(Vec0Table *p);
void vec0StorageRenamesKeep(Vec0Table *p, int iSavepoint);
/* *pbGone: the table's T_config is not in its schema, or the schema cookie
** is below iCreateCookie.  Cookie reads the schema cookie. */
int vec0StorageGone(Vec0Table *p, int *pbGone);
int vec0StorageCookie(Vec0Table *p, sqlite3_int64 *piCookie);
int vec0StorageShadowName(const char *zSuffix);
void vec0StorageFinalize(Vec0Table *p);
int vec0StorageStmt(Vec0Table *p, int eStmt, sqlite3_stmt **pp);
int vec0StorageVecStmt(Vec0Table *p, int iVec, int eStmt, sqlite3_stmt **pp);
int vec0StorageConfigGet(Vec0Table *p, const char *zKey, sqlite3_int64 *piVal,
                         int *pbFound);
int vec0StorageConfigSet(Vec0Table *p, const char *zKey, sqlite3_int64 iVal);
void vec0StorageDiscard(Vec0Table *p);
int vec0StorageValidate(Vec0Table *p);
int vec0StorageGrow(Vec0Table *p, uint32_t nSlot);
int vec0StorageSlot(Vec0Table *p, uint32_t iSlot);
int vec0StorageAllSlots(Vec0Table *p);
int vec0StorageVector(Vec0Table *p, int iVec, uint32_t iSlot,
                      const unsigned char **ppOut);
int vec0StorageAllVectors(Vec0Table *p, int iVec);
/*
** Low-memory reads: the vector of iSlot copied to pOut (aVecBytes[iVec]
** bytes) without keeping it in the cache; and xEach called on the vectors
** of the chunk rows from *piChunk on (about nSlotMax slots), none kept,
** *piChunk advanced past them, *pbDone once the last row was read (a chunk
** of a corrupt size is skipped: integrity-check reports it).
*/
int vec0StorageVectorCopy(Vec0Table *p, int iVec, uint32_t iSlot, void *pOut);
int vec0StorageVectorScan(Vec0Table *p, int iVec, uint32_t *piChunk, uint32_t nSlotMax,
                          int (*xEach)(void *, uint32_t, const unsigned char *),
                          void *pCtx, int *pbDone);
/*
** After a query (or for 'warm'): reads the next nBytes of column iVec's
** vectors in order, in one sequential scan of T_vectorsN into huge pages, so
** that a reopened table comes to hold them all in memory after about ten
** statements, none of them waiting long.  *pnStep: the slots one step covers
** (an index reads as many of its own records ahead; 0 when the cache is not
** loaded or the column is above 'cache_budget'); *pbAll: every vector is in
** memory.  vec0StorageWarmAllowed: the column is within the budget.
*/
#define VEC0_WARM_BYTES ((size_t)32 << 20)
#define VEC0_WARM_FIRST ((size_t)1 << 20)
int vec0StorageWarm(Vec0Table *p, int iVec, size_t nBytes, uint32_t *pnStep, int *pbAll);
int vec0StorageWarmAllowed(const Vec0Table *p, int iVec);
/*
** The xIdle step of a form whose search reads every vector anyway (flat,
** rescore): all of them only for 'warm' (nBytes unbounded), then huge pages.
*/
int vec0StorageScanIdle(Vec0Table *p, int iVec, size_t nBytes);
/*
** The end of a method that read the cache (vec0_vtab.c): closes the BLOB
** handles of lazy reads, which would otherwise keep the read transaction open.
*/
void vec0StorageReadEnd(Vec0Table *p);
/* The vectors of column iVec in memory now (read lazily or by the fill). */
sqlite3_int64 vec0StorageVectorsCached(const Vec0Table *p, int iVec);
/* Forgets the fill of column iVec (its block may be out of date). */
void vec0StorageFillReset(Vec0Table *p, int iVec);
/*
** vec0_storage_fill.c: the fill of column iVec read on a helper thread with
** a read-only connection of its own, into aFill[iVec] from the last chunk
** row down (aFillBack[iVec], moved atomically) until it meets the caller's
** steps.  Start: 1 if one runs now.  Poll: 1 while it runs, else joined
** (its rows added to aFillRows).  Stop: stopped and joined (before the
** block goes).  Running: helpers not yet joined in the process (tests).
*/
int vec0FillHelperStart(Vec0Table *p, int iVec);
int vec0FillHelperPoll(Vec0Table *p, int iVec);
void vec0FillHelperStop(Vec0Table *p, int iVec);
int vec0FillHelperRunning(void);
/* From now on column iVec's vectors ask for huge pages (all are in memory). */
void vec0StorageVectorsHuge(Vec0Table *p, int iVec);
/*
** After a query: once column iVec's vectors are all in memory, turns the
** next VEC0_HUGE_STEP bytes of them into huge pages in place, so that walks
** take fewer TLB misses and no one query pays for the whole array (a 1M x
** 128 table holds 650 MB, which takes this machine about a second).  1 when
** they all are (an index may then do the same with its own arrays).
*/
#define VEC0_HUGE_STEP ((size_t)2 << 20)
int vec0StorageHugeStep(Vec0Table *p, int iVec);
/* Stores the vector of slot iSlot (< nSlot) in the cache and its chunk row. */
int vec0StorageWriteVector(Vec0Table *p, int iVec, uint32_t iSlot, const void *pV);
/* Writes every chunk row of column iVec anew from the (complete) cache. */
int vec0StorageRewriteVectors(Vec0Table *p, int iVec);
/* Slots per chunk row for vectors of nBytes on pages of nPage bytes. */
#define VEC0_MAX_CHUNK 256
uint32_t vec0StorageChunkSize(size_t nBytes, int nPage);
/* Writes the counters (next_slot, rows) if they changed. */
int vec0StorageFlush(Vec0Table *p);
/*
** A BLOB config value: *pa is valid until vec0StorageConfigBlobDone(),
** which must follow every call.  SetBlob writes one.
*/
int vec0StorageConfigBlob(Vec0Table *p, const char *zKey, const unsigned char **pa,
                          int *pn, int *pbFound);
void vec0StorageConfigBlobDone(Vec0Table *p);
int vec0StorageConfigSetBlob(Vec0Table *p, const char *zKey, const void *a, int n);
/* Deletes a config row (absent: nothing). */
int vec0StorageConfigDelete(Vec0Table *p, const char *zKey);
/*
** 'recall.N' of column iVec (the format is in the comment at the top):
** Get fills *pCurve (nPoint 0 if absent; SQLITE_CORRUPT_VTAB if malformed),
** Put writes it.
*/
int vec0StorageRecallGet(Vec0Table *p, int iVec, Vec0RecallCurve *pCurve);
int vec0StorageRecallPut(Vec0Table *p, int iVec, const Vec0RecallCurve *pCurve);
/*
** An index's per-column table T_<zShadow>N (vec0_index.h): the record of
** slot iSlot (a copy from sqlite3_malloc, or VEC0_HNSW_NOTFOUND), written;
** LinkRange hands back its statement positioned before the records from
** slot iFrom on, n of them (step it, then sqlite3_reset); LinkOutside finds
** a record not below next_slot; LinkClear deletes every record of column
** iVec with its 'hnsw.N' header and its groups' entry points.
*/
int vec0StorageLinkGet(Vec0Table *p, int iVec, uint32_t iSlot, unsigned char **paRec,
                       int *pnRec);
int vec0StorageLinkPut(Vec0Table *p, int iVec, uint32_t iSlot, const unsigned char *a,
                       int n);
int vec0StorageLinkRange(Vec0Table *p, int iVec, uint32_t iFrom, int n,
                         sqlite3_stmt **ppStmt);
int vec0StorageLinkOutside(Vec0Table *p, int iVec, sqlite3_int64 *piSlot, int *pbFound);
int vec0StorageLinkClear(Vec0Table *p, int iVec);
/*
** The entry point (slot, level) of group g's index of column iVec in
** T_groups; *pbFound 0 when it has none.  Set: maxLevel < 0 clears it.
*/
int vec0StorageGroupEntry(Vec0Table *p, int iVec, uint32_t g, sqlite3_int64 *piEntry,
                          sqlite3_int64 *piLevel, int *pbFound);
int vec0StorageGroupEntrySet(Vec0Table *p, int iVec, uint32_t g, uint32_t entry,
                             int maxLevel);
int vec0StorageBeginWrite(Vec0Table *p);
void vec0StorageOpBegin(Vec0Table *p);
int vec0StorageOpEnd(Vec0Table *p, int rc);
int vec0StorageLiveCount(Vec0Table *p, sqlite3_int64 *pn);
/*
** Rows and groups as the module reads them.  RowSlot: the slot of row
** iRowid; KeyRow: the row whose text key is pKey as a text column compares
** it (a number is its text; NULL and BLOB name none); *pbFound 0 if there
** is none.  RowColumn: the text key (iAux < 0) or auxiliary value iAux of
** row iRowid as ctx's result (none if no row).  RowEach calls xRow for
** every row of T_rows with its slot, apVal[0] its text key (NULL for an
** integer key) and apVal[1+a] its auxiliary value a, valid during the
** call; GroupGet: the group of the partition key values apVal[0..nPart-1]
** and its live rows; GroupEach: xGroup for every group, in g order, with
** its partition key values.  Each stops at a callback's non-zero return.
*/
int vec0StorageRowSlot(Vec0Table *p, sqlite3_int64 iRowid, sqlite3_int64 *piSlot,
                       int *pbFound);
int vec0StorageKeyRow(Vec0Table *p, sqlite3_value *pKey, sqlite3_int64 *piRowid,
                      sqlite3_int64 *piSlot, int *pbFound);
int vec0StorageRowColumn(Vec0Table *p, sqlite3_int64 iRowid, int iAux,
                         sqlite3_context *ctx);
/*
** T_rows written.  aArg: the row's values as xUpdate has them from argv[2]
** (declared column order); for AuxSet a value SQLite marks unchanged keeps
** the stored one.  RowInsert: with bAuto SQLite chooses *piRowid.
*/
int vec0StorageRowInsert(Vec0Table *p, sqlite3_int64 *piRowid, int bAuto, uint32_t iSlot,
                         sqlite3_value *pKey, sqlite3_value **aArg);
int vec0StorageRowDelete(Vec0Table *p, sqlite3_int64 iRowid);
int vec0StorageRowRekey(Vec0Table *p, sqlite3_int64 iOld, sqlite3_int64 iNew,
                        sqlite3_value *pKey);
int vec0StorageRowSetSlot(Vec0Table *p, sqlite3_int64 iRowid, uint32_t iSlot);
int vec0StorageRowAuxSet(Vec0Table *p, sqlite3_int64 iRowid, sqlite3_value **aArg);
int vec0StorageRowEach(Vec0Table *p,
                       int (*xRow)(void *pCtx, sqlite3_int64 iSlot, sqlite3_value **apVal),
                       void *pCtx);
int vec0StorageGroupGet(Vec0Table *p, const Vec0Cell *const *apVal, sqlite3_int64 *pg,
                        sqlite3_int64 *pnLive, int *pbFound);
int vec0StorageGroupEach(Vec0Table *p,
                         int (*xGroup)(void *pCtx, sqlite3_int64 g, sqlite3_int64 nLive,
                                       sqlite3_value **apKey),
                         void *pCtx);
/*
** A cursor's scan of every row (id, slot) by id; End after the last step
** (bOwn as RowScan set it).
*/
int vec0StorageRowScan(Vec0Table *p, sqlite3_stmt **ppStmt, int *pbOwn);
void vec0StorageRowScanEnd(Vec0Table *p, sqlite3_stmt *pStmt, int bOwn);
/*
** The slot allocator.  SlotAlloc: the lowest free slot of group g (0
** without partition keys), or a new one; SlotPut writes T_slots for live
** slot iSlot (row iRowid, cells aNew, group g) and reloads it; SlotFree
** moves it to T_free (its vectors stay until it is reused); LiveAdd counts
** rows in or out.
*/
int vec0StorageSlotAlloc(Vec0Table *p, uint32_t g, uint32_t *piSlot);
int vec0StorageSlotPut(Vec0Table *p, uint32_t iSlot, sqlite3_int64 iRowid,
                       const Vec0Cell *aNew, uint32_t g);
int vec0StorageSlotFree(Vec0Table *p, uint32_t iSlot);
void vec0StorageLiveAdd(Vec0Table *p, int delta);
/*
** vec0_storage_maint.c.
** integrity-check of the shadow tables, read from disk (the cache is
** dropped first): SQLITE_CORRUPT_VTAB with *pzErr saying what is wrong;
** on success every slot is loaded.
*/
int vec0StorageCheck(Vec0Table *p, char **pzErr);
/*
** 'optimize': the live rows take slots 0 .. n-1 in their old order; the
** indexes must be rebuilt after it.
*/
int vec0StorageCompact(Vec0Table *p);

/*
** Reading the cache: what the module and the indexes may ask of it without
** a call.  A slot's state, rowid, group and cells are valid once
** vec0StorageSlot() (or vec0StorageAllSlots()) has loaded it.
*/
static inline uint32_t vec0StorageSlotCount(const Vec0Table *p) { return p->nSlot; }
static inline int vec0StorageSlotLive(const Vec0Table *p, uint32_t iSlot) {
  return p->aSlotState[iSlot] == VEC0_SLOT_LIVE;
}
static inline sqlite3_int64 vec0StorageSlotRowid(const Vec0Table *p, uint32_t iSlot) {
  return p->aSlotRowid[iSlot];
}
/* Starts the state and rowid of a slot on their way into the CPU cache: the
** rows a KNN query returns are read right after its search. */
static inline void vec0StorageSlotPrefetch(const Vec0Table *p, uint32_t iSlot) {
  if (iSlot < p->nSlot) {
    VEC0_PREFETCH(&p->aSlotState[iSlot]);
    VEC0_PREFETCH(&p->aSlotRowid[iSlot]);
  }
}
/* The group of a slot; 0 without partition keys. */
static inline uint32_t vec0StorageSlotGroup(const Vec0Table *p, uint32_t iSlot) {
  return p->cfg.nPart ? p->aSlotGroup[iSlot] : 0;
}
/* Partition/metadata cell f of a slot. */
static inline const Vec0Cell *vec0StorageSlotCell(const Vec0Table *p, uint32_t iSlot,
                                                  int f) {
  return &p->aCell[(size_t)iSlot * p->nFilt + f];
}
/* Vectors of column iVec, nSlot of them by slot (all loaded: AllVectors). */
static inline const unsigned char *vec0StorageVectors(const Vec0Table *p, int iVec) {
  return p->aVec[iVec];
}
static inline size_t vec0StorageVectorBytes(const Vec0Table *p, int iVec) {
  return p->aVecBytes[iVec];
}
/* Slots [0, n) whose vectors lie by slot in vec0StorageVectors() and stay there
** until the next write or read-ahead: every slot once all are in memory, else 0. */
static inline uint32_t vec0StorageVectorsInArray(const Vec0Table *p, int iVec) {
  return p->bAllVec[iVec] ? p->nSlot : 0;
}
static inline int vec0StorageInOp(const Vec0Table *p) { return p->bOp; }
static inline int vec0StorageCached(const Vec0Table *p) { return p->bCache; }
/*
** Groups (tables with partition keys): the group id of the partition key
** values aVal[0..nPart-1] (in declaration order), 0 if there is none and
** bCreate is 0; with bCreate a new group is added.  GroupLive adds delta to
** the group's count of live rows.
*/
int vec0StorageGroupFind(Vec0Table *p, const Vec0Cell *aVal, int bCreate,
                         uint32_t *pg);
int vec0StorageGroupLive(Vec0Table *p, uint32_t g, int delta);

/*
** The plan xBestIndex hands to xFilter: idxNum is one of VEC0_PLAN_*, idxStr
** has one 4-character token per argv[] value, in order: a kind, an operator
** and a two-digit hex column number (vector column, filter column).
*/
#define VEC0_PLAN_SCAN 1  /* every row, by rowid */
#define VEC0_PLAN_POINT 2 /* rowid/key = or IN */
#define VEC0_PLAN_KNN 3   /* MATCH with k or LIMIT */

#define VEC0_TOK_MATCH 'M'    /* query vector for vector column NN */
#define VEC0_TOK_K 'K'        /* k = ? */
#define VEC0_TOK_LIMIT 'L'    /* LIMIT ? */
#define VEC0_TOK_EF 'E'       /* ef = ? */
#define VEC0_TOK_RECALL 'C'   /* recall = ? */
#define VEC0_TOK_RESCORE 'S'  /* rescore = ? */
#define VEC0_TOK_DISTANCE 'D' /* distance <op> ? */
#define VEC0_TOK_ROWID 'R'    /* rowid or key = ? or IN (...) */
#define VEC0_TOK_FILTER 'F'   /* partition/metadata NN <op> ? */

#define VEC0_OP_EQ '='
#define VEC0_OP_NE '!'
#define VEC0_OP_LT '<'
#define VEC0_OP_LE 'l'
#define VEC0_OP_GT '>'
#define VEC0_OP_GE 'g'
#define VEC0_OP_IN 'I'
#define VEC0_OP_IS 's'
#define VEC0_OP_ISNOT 'S'
#define VEC0_OP_ISNULL 'n'
#define VEC0_OP_ISNOTNULL 'N'
#define VEC0_OP_LIKE '~'
#define VEC0_OP_GLOB '*'
/*
** A VEC0_TOK_FILTER token names the SQL column (aCol index) in its two hex
** digits, or VEC0_COL_ROWID for the rowid itself; VEC0_TOK_FILTER_NOCASE is
** the same filter compared with the NOCASE collation.
*/
#define VEC0_TOK_FILTER_NOCASE 'f'
#define VEC0_COL_ROWID 0xff

/* vec0_knn.c: one KNN query, from the constraints xFilter received. */
typedef struct Vec0Knn Vec0Knn;
typedef struct Vec0KnnRow {
  uint32_t slot;
  float distance;
  sqlite3_int64 rowid; /* the slot's row when found: a cursor skips it if that changed */
} Vec0KnnRow;
/* The rows, nearest first; *pk, *pef and *pRescore the k, ef and rescore
** the search used (ef 0 for an exact index, rescore 0 without a quantizer). */
int vec0KnnRun(Vec0Table *p, const char *idxStr, int argc, sqlite3_value **argv,
               Vec0KnnRow **paRow, int *pnRow, int *pk, int *pef, int *pRescore);
/* vec0_plan.c: the module's xBestIndex. */
int vec0PlanBestIndex(sqlite3_vtab *pVtab, sqlite3_index_info *pInfo);
/* vec0_write.c: one row written by xUpdate (argv as xUpdate has it). */
int vec0WriteInsert(Vec0Table *p, sqlite3_value **argv, sqlite3_int64 *pRowid);
int vec0WriteUpdate(Vec0Table *p, sqlite3_value **argv);
int vec0WriteDelete(Vec0Table *p, sqlite3_int64 iRowid);
void vec0WriteStatementBegin(Vec0Table *p);
void vec0WriteFree(Vec0Table *p);

/*
** vec0_recall.c: the recall target of a graph column (see its header).
** vec0RecallEf: the ef of a query of column iVec asking for recall iRecall
** (1/10000), or with 0 the default ef of a query in this connection (its
** 'search_list_size_search=N', else the column's: fixed, or from its target).
** vec0RecallAt: the measured recall at ef (-1 if not measured).
** vec0RecallTargetOf: the target the default ef follows (0: a fixed ef).
** vec0RecallMeasure: measures now ('rebuild', 'optimize', 'recall=').
** vec0RecallAfterWrite: at commit, the measurement and tombstone upkeep the
** transaction's writes call for.
*/
int vec0RecallEf(Vec0Table *p, int iVec, int iRecall);
double vec0RecallAt(const Vec0Table *p, int iVec, int ef);
int vec0RecallTargetOf(const Vec0Table *p, int iVec);
int vec0RecallMeasure(Vec0Table *p, int iVec);
int vec0RecallAfterWrite(Vec0Table *p);
/* vec0_value.c: "0.95" (n bytes) as 9500; 0 unless a decimal in 0.5..0.999. */
int vec0RecallParse(const char *z, int n, int *piOut);

/* vec0_maint.c: runs the command of INSERT INTO t(t) VALUES('command') (argv
** as xUpdate has it). */
int vec0MaintCommand(Vec0Table *p, sqlite3_value **argv);
/*
** The check of 'integrity-check' (and of xIntegrity): SQLITE_CORRUPT_VTAB
** with *pzErr saying what is wrong (from sqlite3_mprintf).
*/
int vec0MaintCheck(Vec0Table *p, char **pzErr);

/* The module itself (vec0_vtab.c). */
int vec0VtabRegister(sqlite3 *db);

#endif /* VEC0INT_H */
