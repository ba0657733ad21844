/*
** vec0.h: the public interface of the vec0 SQLite extension.
**
** Loading vec0 at run time (sqlite3_load_extension(), ".load vec0" in the
** shell, conn.load_extension() in Python) needs no header.  This one is for
** programs that link vec0 in: the static library libvec0.a
** (`pkg-config --cflags --libs vec0`) or the amalgamation vec0.c compiled
** with -DSQLITE_CORE.  They register the extension themselves, either on
** every connection opened afterwards:
**
**     sqlite3_auto_extension((void (*)(void))sqlite3_vec_init);
**
** or on one open connection:
**
**     rc = sqlite3_vec_init(db, &zErrMsg, NULL);
**
** It returns SQLITE_OK or an SQLite error code.  On error *pzErrMsg may be
** set to a message from sqlite3_malloc(), which the caller frees with
** sqlite3_free().  pApi is the loader's routine table, NULL when linked in.
*/
#ifndef VEC0_H
#define VEC0_H

#include <sqlite3.h>

#ifdef __cplusplus
extern "C" {
#endif

int sqlite3_vec_init(sqlite3 *db, char **pzErrMsg,
                     const sqlite3_api_routines *pApi);

#ifdef __cplusplus
}
#endif

#endif /* VEC0_H */
