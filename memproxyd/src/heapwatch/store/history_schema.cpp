#include "heapwatch/store/history_schema.hpp"

#include <array>
#include <stdexcept>
#include <string>

#include "heapwatch/store/sqlite_statement.hpp"

namespace memproxy::heapwatch::history_schema {
namespace {

// Version 1. Samples and summaries are clustered by (process, time)
// (WITHOUT ROWID), so a process's series is one range scan, and deleting a
// process or its old rows touches only its own pages. Values are the
// sampler's unsigned counters stored as signed 64-bit integers (the store
// clamps anything above INT64_MAX).
constexpr const char* kVersion1 = R"sql(
CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE process (
  id INTEGER PRIMARY KEY,
  pid INTEGER NOT NULL,
  start_ticks INTEGER NOT NULL,
  uid INTEGER NOT NULL,
  user TEXT NOT NULL,
  program TEXT NOT NULL,
  exe TEXT NOT NULL,
  started_ns INTEGER NOT NULL,
  ended_ns INTEGER NOT NULL DEFAULT 0,      -- 0 while running
  last_sample_ns INTEGER NOT NULL DEFAULT 0,
  UNIQUE (pid, start_ticks)
);
CREATE INDEX process_by_program ON process (program);

-- One-second samples, for the most recent hour.
CREATE TABLE sample (
  process INTEGER NOT NULL REFERENCES process (id) ON DELETE CASCADE,
  t INTEGER NOT NULL,
  live INTEGER NOT NULL,
  peak INTEGER NOT NULL,
  rss INTEGER NOT NULL,
  allocations INTEGER NOT NULL,
  frees INTEGER NOT NULL,
  PRIMARY KEY (process, t)
) WITHOUT ROWID;

-- One-minute summaries (WindowAggregate), for a week.
CREATE TABLE summary (
  process INTEGER NOT NULL REFERENCES process (id) ON DELETE CASCADE,
  start INTEGER NOT NULL,
  first INTEGER NOT NULL,
  last INTEGER NOT NULL,
  count INTEGER NOT NULL,
  live_min INTEGER NOT NULL,
  live_max INTEGER NOT NULL,
  live_mean INTEGER NOT NULL,
  rss_max INTEGER NOT NULL,
  rss_mean INTEGER NOT NULL,
  peak INTEGER NOT NULL,
  allocations INTEGER NOT NULL,
  frees INTEGER NOT NULL,
  PRIMARY KEY (process, start)
) WITHOUT ROWID;

INSERT INTO meta (key, value) VALUES ('schema_version', 1);
)sql";

// Version 2: each process's last judged verdict (its JSON as the query
// socket sends it; '' while none was made) and when it was made, so a
// restarted daemon answers with it and a process that ended keeps it; and
// how the process ended, in words ('' while running, or unknown).
constexpr const char* kVersion2 = R"sql(
ALTER TABLE process ADD COLUMN verdict TEXT NOT NULL DEFAULT '';
ALTER TABLE process ADD COLUMN verdict_ns INTEGER NOT NULL DEFAULT 0;
ALTER TABLE process ADD COLUMN ended_how TEXT NOT NULL DEFAULT '';
)sql";

// Version 3: each process's call sites as the daemon last kept them (their
// JSON as the query socket sends a sites answer, frames symbolized while
// the process ran; '' while none were kept) and when, so a process that
// ended can still be examined and a restarted daemon goes on with their
// growth.
constexpr const char* kVersion3 = R"sql(
ALTER TABLE process ADD COLUMN sites TEXT NOT NULL DEFAULT '';
ALTER TABLE process ADD COLUMN sites_ns INTEGER NOT NULL DEFAULT 0;
)sql";

// migrations[v] brings a database from version v to v + 1; [0] creates it.
constexpr std::array<const char*, kCurrentVersion> kMigrations{kVersion1, kVersion2, kVersion3};

int64_t stored_version(sqlite3* db) {
  sqlite::Statement tables(db, "SELECT count(*), sum(name = 'meta') FROM sqlite_master WHERE type = 'table'");
  tables.start().step();
  if (tables.integer(0) == 0) return 0;
  if (tables.integer(1) == 0) throw std::runtime_error("the database holds tables that are not memproxy's history");
  sqlite::Statement version(db, "SELECT value FROM meta WHERE key = 'schema_version'");
  if (!version.start().step()) throw std::runtime_error("the database has no schema version");
  return version.integer(0);
}

}  // namespace

void create_or_upgrade(sqlite3* db) {
  int64_t version = stored_version(db);
  if (version > kCurrentVersion) {
    throw std::runtime_error("the database has schema version " + std::to_string(version) +
                             ", newer than this memproxyd's " + std::to_string(kCurrentVersion));
  }
  if (version == 0) {
    // Must precede the first table: lets maintenance hand free pages back.
    sqlite::execute(db, "PRAGMA auto_vacuum = INCREMENTAL");
  }
  for (; version < kCurrentVersion; ++version) {
    sqlite::execute(db, "BEGIN IMMEDIATE");
    try {
      sqlite::execute(db, kMigrations[static_cast<std::size_t>(version)]);
      if (version > 0) {
        sqlite::Statement set(db, "UPDATE meta SET value = ? WHERE key = 'schema_version'");
        set.start().bind(1, version + 1).run();
      }
      sqlite::execute(db, "COMMIT");
    } catch (...) {
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }
}

}  // namespace memproxy::heapwatch::history_schema
