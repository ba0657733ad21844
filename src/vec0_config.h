/*
** vec0_config.h: what the two halves of the CREATE VIRTUAL TABLE parser
** share.  vec0_config.c has the scanner, the columns and the table options;
** vec0_config_index.c the "indexed by <form>(...)" clause of a vector
** column (hnsw, flat, and sqlite-vec 0.1.10's rescore and diskann).  Both
** include vec0Int.h first; this header includes nothing.
*/
#ifndef VEC0_CONFIG_H
#define VEC0_CONFIG_H

/* The state of one parse: the first error wins, later ones are dropped. */
typedef struct CfgParse {
  Vec0Config *p;
  const char *zTable;
  char **pzErr;
  int rc;
  int bChunkSize; /* chunk_size seen */
} CfgParse;

/* A cursor on one module argument. */
typedef struct CfgScan {
  const char *z;
  int i;
} CfgScan;

/* The scanner (vec0_config.c); see there. */
void vec0CfgError(CfgParse *pP, const char *zFmt, ...);
int vec0CfgIsIdStart(unsigned char c);
char vec0CfgPeek(CfgScan *s);
int vec0CfgEat(CfgScan *s, char c);
char *vec0CfgTokenShow(CfgScan *s);
int vec0CfgReadWord(CfgScan *s, const char **pz, int *pn);
int vec0CfgWordIs(const char *z, int n, const char *zKw);
int vec0CfgEatWord(CfgScan *s, const char *zKw);
int vec0CfgReadInt(CfgScan *s, sqlite3_int64 *pv, const char **pz, int *pn);
void vec0CfgExpected(CfgParse *pP, CfgScan *s, const char *zWhat, const char *zCol);

/*
** vec0_config_index.c: the form after "indexed by" (the cursor just after
** "by") into pVec, and the checks of a finished column (its quantizer).
*/
void vec0CfgIndex(CfgParse *pP, CfgScan *s, const char *zCol, Vec0VectorCol *pVec);
void vec0CfgIndexCheck(CfgParse *pP, Vec0VectorCol *pVec, const char *zCol);

#endif /* VEC0_CONFIG_H */
