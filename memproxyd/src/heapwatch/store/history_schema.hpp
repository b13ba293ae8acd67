// The history database's schema and its migrations. The schema version is a
// row of the `meta` table; each migration moves one version up inside its
// own transaction, so a daemon can open any older database and a failed
// upgrade leaves the file as it was.
#ifndef MEMPROXYD_HEAPWATCH_HISTORY_SCHEMA_HPP
#define MEMPROXYD_HEAPWATCH_HISTORY_SCHEMA_HPP

#include <sqlite3.h>

#include <cstdint>

namespace memproxy::heapwatch::history_schema {

inline constexpr int64_t kCurrentVersion = 3;

// Creates the schema in an empty database, or upgrades an older one. Throws
// SqliteError, or std::runtime_error for a database this daemon must not
// touch (a newer schema, or tables that are not ours).
void create_or_upgrade(sqlite3* db);

}  // namespace memproxy::heapwatch::history_schema

#endif
