/*
** vec0_ext.c: the entry point of the extension and nothing else.  It picks
** the distance kernels for this CPU, then registers the SQL functions and the
** vec0 module on the connection.
*/
#include "vec0Int.h"
#ifndef SQLITE_CORE
SQLITE_EXTENSION_INIT1
#endif

#ifdef _WIN32
__declspec(dllexport)
#else
__attribute__((visibility("default")))
#endif
int sqlite3_vec_init(sqlite3 *db, char **pzErrMsg,
                     const sqlite3_api_routines *pApi) {
  int rc = SQLITE_OK;
#ifndef SQLITE_CORE
  /* Every load hands the same routines: written once, so that a connection
  ** loading it does not write what other threads' connections read. */
  if (__atomic_load_n(&sqlite3_api, __ATOMIC_ACQUIRE) != pApi) {
    __atomic_store_n(&sqlite3_api, pApi, __ATOMIC_RELEASE);
  }
#else
  (void)pApi;
#endif
  (void)pzErrMsg;
  vec0DistanceInit();
  rc = vec0FuncRegister(db);
  if (rc == SQLITE_OK) rc = vec0VtabRegister(db);
  return rc;
}
