#ifndef NAUTILUS_CSQLITE_SHIM_H
#define NAUTILUS_CSQLITE_SHIM_H
// SQLite 3 as Debian's libsqlite3-dev ships it (3.40 on Debian 12).
#include <sqlite3.h>

// SQLITE_TRANSIENT is a cast macro Swift cannot import: bound text and blobs are copied by SQLite.
static inline sqlite3_destructor_type nautilus_sqlite_transient(void) { return SQLITE_TRANSIENT; }
#endif
