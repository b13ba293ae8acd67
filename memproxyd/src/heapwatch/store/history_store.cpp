#include "heapwatch/store/history_store.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <stdexcept>
#include <nlohmann/json.hpp>
#include <utility>

#include "heapwatch/store/history_schema.hpp"
#include "heapwatch/store/sqlite_statement.hpp"
#include "memproxy/clock.hpp"
#include "memproxy/program_name.hpp"

namespace memproxy::heapwatch {
namespace {

using sqlite::SqliteError;
using sqlite::Statement;

int64_t stored(uint64_t v) {
  return v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ? std::numeric_limits<int64_t>::max()
                                                                         : static_cast<int64_t>(v);
}
uint64_t loaded(int64_t v) { return v < 0 ? 0 : static_cast<uint64_t>(v); }

int64_t seconds_to_ns(int64_t s) {
  return s > std::numeric_limits<int64_t>::max() / kNsPerSecond ? std::numeric_limits<int64_t>::max() : s * kNsPerSecond;
}
int64_t saturating_sub(int64_t a, int64_t b) {
  return b > 0 && a < std::numeric_limits<int64_t>::min() + b ? std::numeric_limits<int64_t>::min() : a - b;
}

enum Sql : std::size_t {
  kUpsertProcess,
  kInsertSample,
  kMarkEnded,
  kProcessRow,
  kListProcesses,
  kFindByProgram,
  kRawRange,
  kSummaryRange,
  kSummaryAt,
  kPutSummary,
  kDeleteRawBefore,
  kDeleteSummariesBefore,
  kSetLastSample,
  kAllProcessRows,
  kAnySample,
  kExpireProcesses,
  kCountProcesses,
  kDeleteOverCap,
  kDeleteOverUserQuota,
  kKeepVerdict,
  kKeptVerdict,
  kSetEndedHow,
  kKeepSites,
  kKeptSites,
  kSqlCount,
};

constexpr std::array<const char*, kSqlCount> kSqlText{
    // kUpsertProcess: an ended process stays ended whatever a late sample says.
    "INSERT INTO process (pid, start_ticks, uid, user, program, exe, started_ns, ended_ns)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
    " ON CONFLICT (pid, start_ticks) DO UPDATE SET uid = excluded.uid, user = excluded.user,"
    " program = excluded.program, exe = excluded.exe, started_ns = excluded.started_ns,"
    " ended_ns = max(ended_ns, excluded.ended_ns) RETURNING id",
    // kInsertSample
    "INSERT OR REPLACE INTO sample (process, t, live, peak, rss, allocations, frees) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    // kMarkEnded
    "UPDATE process SET ended_ns = ?3 WHERE pid = ?1 AND start_ticks = ?2",
    // kProcessRow
    "SELECT id FROM process WHERE pid = ?1 AND start_ticks = ?2",
    // kListProcesses
    "SELECT pid, start_ticks, uid, user, program, exe, started_ns, ended_ns, ended_how FROM process"
    " ORDER BY ended_ns != 0, started_ns, pid",
    // kFindByProgram
    "SELECT pid, start_ticks, uid, user, program, exe, started_ns, ended_ns, ended_how FROM process"
    // A two-part name ("python3 app.py") is matched in process::program_matches.
    " WHERE program = ?1 OR exe = ?1 OR instr(program, ' ') > 0 ORDER BY ended_ns != 0, started_ns, pid",
    // kRawRange
    "SELECT t, live, peak, rss, allocations, frees FROM sample WHERE process = ?1 AND t >= ?2 AND t <= ?3 ORDER BY t",
    // kSummaryRange: windows are at most one width long, which bounds the scan.
    "SELECT start, first, last, count, live_min, live_max, live_mean, rss_max, rss_mean, peak, allocations, frees"
    " FROM summary WHERE process = ?1 AND start >= ?2 AND start <= ?3 AND last >= ?4 ORDER BY start",
    // kSummaryAt
    "SELECT start, first, last, count, live_min, live_max, live_mean, rss_max, rss_mean, peak, allocations, frees"
    " FROM summary WHERE process = ?1 AND start = ?2",
    // kPutSummary
    "INSERT OR REPLACE INTO summary (process, start, first, last, count, live_min, live_max, live_mean,"
    " rss_max, rss_mean, peak, allocations, frees) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    // kDeleteRawBefore
    "DELETE FROM sample WHERE process = ?1 AND t < ?2",
    // kDeleteSummariesBefore
    "DELETE FROM summary WHERE process = ?1 AND start < ?2",
    // kSetLastSample
    "UPDATE process SET last_sample_ns = max(last_sample_ns, ?2) WHERE id = ?1",
    // kAllProcessRows
    "SELECT id FROM process",
    // kAnySample
    "SELECT 1 FROM sample WHERE process = ?1 LIMIT 1",
    // kExpireProcesses: ended, or silent (a daemon that was down never saw them end).
    "DELETE FROM process WHERE (ended_ns != 0 AND ended_ns < ?1) OR max(last_sample_ns, started_ns) < ?1",
    // kCountProcesses
    "SELECT count(*) FROM process",
    // kDeleteOverCap: those that ended longest ago, then those sampled longest ago; of each, other
    // users' before root's and system users' (uid < 1000).
    "DELETE FROM process WHERE id IN (SELECT id FROM process ORDER BY ended_ns = 0, uid < 1000,"
    " CASE WHEN ended_ns != 0 THEN ended_ns ELSE max(last_sample_ns, started_ns) END, id LIMIT ?1)",
    // kDeleteOverUserQuota: of each uid but root's, all but its ?1 newest (running ones count as newest;
    // then the last ended or sampled).
    "DELETE FROM process WHERE id IN (SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY uid"
    " ORDER BY ended_ns = 0 DESC, CASE WHEN ended_ns != 0 THEN ended_ns ELSE max(last_sample_ns, started_ns) END"
    " DESC, id DESC) AS newness FROM process WHERE uid != 0) WHERE newness > ?1)",
    // kKeepVerdict
    "UPDATE process SET verdict = ?3, verdict_ns = ?4 WHERE pid = ?1 AND start_ticks = ?2",
    // kKeptVerdict
    "SELECT verdict, verdict_ns FROM process WHERE pid = ?1 AND start_ticks = ?2",
    // kSetEndedHow
    "UPDATE process SET ended_how = ?3 WHERE pid = ?1 AND start_ticks = ?2",
    // kKeepSites
    "UPDATE process SET sites = ?3, sites_ns = ?4 WHERE pid = ?1 AND start_ticks = ?2",
    // kKeptSites
    "SELECT sites, sites_ns FROM process WHERE pid = ?1 AND start_ticks = ?2",
};

WatchedProcess process_from(const Statement& row) {
  WatchedProcess p;
  p.pid = static_cast<pid_t>(row.integer(0));
  p.start_ticks = static_cast<uint64_t>(row.integer(1));
  p.uid = static_cast<uid_t>(row.integer(2));
  p.user = row.text(3);
  p.program = row.text(4);
  p.exe = row.text(5);
  p.started_unix_ns = row.integer(6);
  p.ended_unix_ns = row.integer(7);
  p.ended_how = row.text(8);
  return p;
}

WindowAggregate summary_from(const Statement& row) {
  WindowAggregate w;
  w.start_unix_ns = row.integer(0);
  w.first_unix_ns = row.integer(1);
  w.last_unix_ns = row.integer(2);
  w.count = static_cast<uint32_t>(std::clamp<int64_t>(row.integer(3), 0, std::numeric_limits<uint32_t>::max()));
  w.live_bytes_min = loaded(row.integer(4));
  w.live_bytes_max = loaded(row.integer(5));
  w.live_bytes_mean = loaded(row.integer(6));
  w.rss_bytes_max = loaded(row.integer(7));
  w.rss_bytes_mean = loaded(row.integer(8));
  w.peak_bytes = loaded(row.integer(9));
  w.allocations = loaded(row.integer(10));
  w.frees = loaded(row.integer(11));
  return w;
}

Reading sample_from(const Statement& row) {
  Reading s;
  s.unix_ns = row.integer(0);
  s.live_bytes = loaded(row.integer(1));
  s.peak_bytes = loaded(row.integer(2));
  s.rss_bytes = loaded(row.integer(3));
  s.allocations = loaded(row.integer(4));
  s.frees = loaded(row.integer(5));
  return s;
}

bool same_metadata(const WatchedProcess& a, const WatchedProcess& b) {
  return a.uid == b.uid && a.user == b.user && a.program == b.program && a.exe == b.exe &&
         a.started_unix_ns == b.started_unix_ns && a.ended_unix_ns == b.ended_unix_ns;
}

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

}  // namespace

struct HistoryStore::State {
  std::string path;
  HistoryOptions options;
  sqlite3* db = nullptr;
  std::array<Statement, kSqlCount> statements;
  // What the process row was last written with, so an unchanged process
  // costs no statement per sample.
  struct KnownProcess {
    int64_t row = 0;
    WatchedProcess written;
  };
  std::map<ProcessId, KnownProcess> known;
  // Newest sample per process row since the last maintenance, written to the
  // process rows then rather than with every sample.
  std::map<int64_t, int64_t> newest_sample;
  // The process rows that may hold one-second samples: maintenance looks at
  // these only, unless `all_need_maintenance` (after opening, or after a
  // failed transaction, when this set may be incomplete).
  std::set<int64_t> with_samples;
  bool all_need_maintenance = true;
  std::string recovered_from;

  State(std::string p, HistoryOptions o) : path(std::move(p)), options(o) {}
  ~State() {
    write_newest_samples();
    close();
  }

  // Best effort, on the way out: otherwise the next maintenance does it.
  void write_newest_samples() noexcept {
    if (db == nullptr || newest_sample.empty()) return;
    try {
      sqlite::execute(db, "BEGIN IMMEDIATE");
      for (const auto& [row, newest] : newest_sample) sql(kSetLastSample).bind(1, row).bind(2, newest).run();
      sqlite::execute(db, "COMMIT");
    } catch (...) {
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    }
  }

  Statement& sql(Sql id) {
    Statement& s = statements[id];
    if (!s.prepared()) s = Statement(db, kSqlText[id]);
    return s.start();
  }

  void connect() {
    // Created here, not by SQLite, so that it is private to the daemon from
    // the start (SQLite gives the -wal and -shm files the database's mode),
    // and so that a symbolic link in its place is refused.
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) throw std::runtime_error(errno_text("open " + path));
    ::close(fd);
    int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, nullptr);
    if (rc != SQLITE_OK) {
      std::string message = "open " + path + ": " + (db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
      close();
      throw SqliteError(rc, message);
    }
    try {
      sqlite3_extended_result_codes(db, 1);
      sqlite3_busy_timeout(db, options.busy_timeout_ms);
      sqlite::execute(db, "PRAGMA journal_mode = WAL");
      sqlite::execute(db, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA journal_size_limit = 16777216");
      if (options.check_on_open) quick_check();
      history_schema::create_or_upgrade(db);
      if (options.max_database_bytes > 0) {
        std::string limit = "PRAGMA max_page_count = " + std::to_string(std::max<int64_t>(1, options.max_database_bytes / page_size()));
        sqlite::execute(db, limit.c_str());
      }
    } catch (...) {
      close();
      throw;
    }
  }

  void quick_check() {
    Statement check(db, "PRAGMA quick_check(1)");
    if (check.start().step() && check.text(0) != "ok") {
      throw SqliteError(SQLITE_CORRUPT, "integrity check: " + check.text(0));
    }
  }

  int64_t page_size() {
    Statement s(db, "PRAGMA page_size");
    s.start().step();
    return std::max<int64_t>(512, s.integer(0));
  }

  void close() noexcept {
    for (Statement& s : statements) s = Statement();
    if (db != nullptr) sqlite3_close_v2(db);
    db = nullptr;
    forget_cached();
  }

  // After a failed transaction the cached rows may name rows that were rolled back.
  void forget_cached() noexcept {
    known.clear();
    newest_sample.clear();
    with_samples.clear();
    all_need_maintenance = true;
  }

  // Moves the damaged file aside (replacing an older one) and starts afresh.
  void replace_damaged(const std::string& reason) {
    close();
    std::string aside = path + ".corrupt";
    if (std::rename(path.c_str(), aside.c_str()) != 0 && errno != ENOENT) {
      throw std::runtime_error(errno_text("move " + path + " aside"));
    }
    std::string wal = path + "-wal";
    std::string wal_aside = aside + "-wal";
    if (std::rename(wal.c_str(), wal_aside.c_str()) != 0) ::unlink(wal_aside.c_str());
    ::unlink((path + "-shm").c_str());
    connect();
    recovered_from = reason;
  }

  template <class Body>
  auto guarded(const char* what, Body&& body) -> decltype(body()) {
    using Out = decltype(body());
    std::string message = std::string("history ") + what + ": ";
    try {
      if (db == nullptr) connect();  // a previous replacement failed: try again
      return body();
    } catch (const SqliteError& e) {
      rollback();
      message += e.what();
      if (e.corruption()) {
        try {
          replace_damaged(e.what());
          message += "; the damaged database was moved to " + path + ".corrupt and a new one created";
        } catch (const std::exception& again) {
          message += std::string("; replacing it failed: ") + again.what();
        }
      }
    } catch (const std::exception& e) {
      rollback();
      message += e.what();
    }
    return Out(Status::failure(message));
  }

  void rollback() noexcept {
    if (db != nullptr && sqlite3_get_autocommit(db) == 0) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    forget_cached();
  }

  int64_t process_row(const WatchedProcess& p) {
    auto it = known.find(id_of(p));
    if (it != known.end() && same_metadata(it->second.written, p)) return it->second.row;
    Statement& s = sql(kUpsertProcess);
    s.bind(1, p.pid).bind(2, stored(p.start_ticks)).bind(3, static_cast<int64_t>(p.uid)).bind(4, p.user);
    s.bind(5, p.program).bind(6, p.exe).bind(7, p.started_unix_ns).bind(8, p.ended_unix_ns);
    if (!s.step()) throw std::runtime_error("no row for process " + std::to_string(p.pid));
    int64_t row = s.integer(0);
    s.run();
    known[id_of(p)] = KnownProcess{row, p};
    return row;
  }

  // 0 when the process is not in the store.
  int64_t find_row(const ProcessId& id) {
    Statement& s = sql(kProcessRow).bind(1, id.pid).bind(2, stored(id.start_ticks));
    int64_t row = s.step() ? s.integer(0) : 0;
    // Finished, not left on its row: a statement left mid-way keeps a read
    // transaction open, which pins the WAL and makes the next write fail at
    // once, without its busy timeout, when another connection holds the lock.
    s.run();
    return row;
  }

  int64_t require_row(const ProcessId& id) {
    int64_t row = find_row(id);
    if (row == 0) {
      throw std::runtime_error("no history of process " + std::to_string(id.pid) + " (start " +
                               std::to_string(id.start_ticks) + ")");
    }
    return row;
  }

  std::vector<WatchedProcess> list(Statement& s) {
    std::vector<WatchedProcess> out;
    while (s.step()) out.push_back(process_from(s));
    return out;
  }

  std::vector<Reading> raw(int64_t row, int64_t since, int64_t until) {
    std::vector<Reading> out;
    Statement& s = sql(kRawRange).bind(1, row).bind(2, since).bind(3, until);
    while (s.step()) out.push_back(sample_from(s));
    return out;
  }

  std::vector<WindowAggregate> summarised(int64_t row, int64_t since, int64_t until) {
    std::vector<WindowAggregate> out;
    int64_t width = seconds_to_ns(options.retention.summary_width_s);
    Statement& s = sql(kSummaryRange).bind(1, row).bind(2, saturating_sub(since, width)).bind(3, until).bind(4, since);
    while (s.step()) out.push_back(summary_from(s));
    return out;
  }

  void put_summary(int64_t row, const WindowAggregate& w) {
    Statement& s = sql(kPutSummary);
    s.bind(1, row).bind(2, w.start_unix_ns).bind(3, w.first_unix_ns).bind(4, w.last_unix_ns).bind(5, w.count);
    s.bind(6, stored(w.live_bytes_min)).bind(7, stored(w.live_bytes_max)).bind(8, stored(w.live_bytes_mean));
    s.bind(9, stored(w.rss_bytes_max)).bind(10, stored(w.rss_bytes_mean)).bind(11, stored(w.peak_bytes));
    s.bind(12, stored(w.allocations)).bind(13, stored(w.frees)).run();
  }

  std::vector<int64_t> all_rows() {
    std::vector<int64_t> rows;
    Statement& s = sql(kAllProcessRows);
    while (s.step()) rows.push_back(s.integer(0));
    return rows;
  }

  // One process's samples older than `cutoff`, folded into its summaries.
  void summarise(int64_t row, int64_t cutoff, int64_t width, MaintenanceReport& report) {
    std::vector<Reading> old = raw(row, std::numeric_limits<int64_t>::min(), cutoff - 1);
    if (old.empty()) return;
    for (WindowAggregate w : aggregate_windows(old, width)) {
      // A sample that arrives after its window was summarised (the clock
      // went back) joins the summary already there.
      Statement& existing = sql(kSummaryAt).bind(1, row).bind(2, w.start_unix_ns);
      if (existing.step()) w = merge_windows(summary_from(existing), w);
      existing.run();
      put_summary(row, w);
      ++report.summaries_written;
    }
    sql(kDeleteRawBefore).bind(1, row).bind(2, cutoff).run();
    report.samples_summarised += static_cast<int64_t>(old.size());
  }

  bool has_samples(int64_t row) {
    Statement& s = sql(kAnySample).bind(1, row);
    bool any = s.step();
    s.run();
    return any;
  }

  int64_t changes() { return sqlite3_changes(db); }

  int64_t pragma(const char* name) {
    Statement s(db, name);
    return s.start().step() ? s.integer(0) : 0;
  }
};

namespace {

// BEGIN IMMEDIATE: takes the write lock at once, so a busy database fails
// (after the busy timeout) before any work rather than at COMMIT.
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) { sqlite::execute(db_, "BEGIN IMMEDIATE"); }
  void commit() {
    sqlite::execute(db_, "COMMIT");
    done_ = true;
  }
  ~Transaction() {
    if (!done_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

 private:
  sqlite3* db_;
  bool done_ = false;
};

}  // namespace

HistoryStore::HistoryStore(std::unique_ptr<State> state) : state_(std::move(state)) {}
HistoryStore::HistoryStore(HistoryStore&&) noexcept = default;
HistoryStore& HistoryStore::operator=(HistoryStore&&) noexcept = default;
HistoryStore::~HistoryStore() = default;

Result<HistoryStore> HistoryStore::open(const std::string& path, const HistoryOptions& options) {
  auto state = std::make_unique<State>(path, options);
  try {
    try {
      state->connect();
    } catch (const SqliteError& e) {
      if (!e.corruption()) throw;
      state->replace_damaged(e.what());
    }
  } catch (const std::exception& e) {
    return Status::failure(std::string("history open: ") + e.what());
  }
  return HistoryStore(std::move(state));
}

const std::string& HistoryStore::path() const { return state_->path; }
const std::string& HistoryStore::recovered_from() const { return state_->recovered_from; }

Status HistoryStore::record_batch(std::span<const Observation> observations) {
  if (!state_) return Status::failure("history store is closed");
  State& st = *state_;
  return st.guarded("record", [&] {
    Transaction tx(st.db);
    for (const Observation& o : observations) {
      int64_t row = st.process_row(o.process);
      const Reading& s = o.sample;
      st.sql(kInsertSample)
          .bind(1, row)
          .bind(2, s.unix_ns)
          .bind(3, stored(s.live_bytes))
          .bind(4, stored(s.peak_bytes))
          .bind(5, stored(s.rss_bytes))
          .bind(6, stored(s.allocations))
          .bind(7, stored(s.frees))
          .run();
      int64_t& newest = st.newest_sample[row];
      newest = std::max(newest, s.unix_ns);
      st.with_samples.insert(row);
    }
    tx.commit();
    return Status::success();
  });
}

Status HistoryStore::record(const WatchedProcess& process, const Reading& sample) {
  Observation o{process, sample};
  return record_batch(std::span<const Observation>(&o, 1));
}

Status HistoryStore::mark_ended(const ProcessId& id, int64_t ended_unix_ns) {
  if (!state_) return Status::failure("history store is closed");
  State& st = *state_;
  return st.guarded("mark ended", [&] {
    st.sql(kMarkEnded).bind(1, id.pid).bind(2, stored(id.start_ticks)).bind(3, ended_unix_ns).run();
    if (st.changes() == 0) {
      return Status::failure("history mark ended: no process " + std::to_string(id.pid) + " (start " +
                             std::to_string(id.start_ticks) + ")");
    }
    st.known.erase(id);
    return Status::success();
  });
}

Status HistoryStore::set_ended_how(const ProcessId& id, const std::string& how) {
  if (!state_) return Status::failure("history store is closed");
  State& st = *state_;
  return st.guarded("set how it ended", [&] {
    st.sql(kSetEndedHow).bind(1, id.pid).bind(2, stored(id.start_ticks)).bind(3, how).run();
    return Status::success();
  });
}

Status HistoryStore::keep_verdicts(std::span<const KeptVerdict> verdicts) {
  if (!state_) return Status::failure("history store is closed");
  State& st = *state_;
  return st.guarded("keep verdicts", [&] {
    Transaction tx(st.db);
    for (const KeptVerdict& k : verdicts) {
      st.sql(kKeepVerdict)
          .bind(1, k.id.pid)
          .bind(2, stored(k.id.start_ticks))
          .bind(3, nlohmann::json(k.verdict).dump())
          .bind(4, k.judged_unix_ns)
          .run();
    }
    tx.commit();
    return Status::success();
  });
}

Result<std::optional<KeptVerdict>> HistoryStore::kept_verdict(const ProcessId& id) {
  if (!state_) return Status::failure("history store is closed");
  State& st = *state_;
  return st.guarded("kept verdict", [&] {
    Statement& s = st.sql(kKeptVerdict).bind(1, id.pid).bind(2, stored(id.start_ticks));
    std::optional<KeptVerdict> kept;
    if (s.step() && !s.text(0).empty()) {
      // What this daemon wrote; one that cannot be read is as if none were kept.
      nlohmann::json j = nlohmann::json::parse(s.text(0), nullptr, false);
      if (!j.is_discarded()) {
        try {
          kept = KeptVerdict{id, j.get<heap_query::Verdict>(), s.integer(1)};
        } catch (const nlohmann::json::exception&) {
          kept.reset();
        }
      }
    }
    s.run();
    return Result<std::optional<KeptVerdict>>(std::move(kept));
  });
}

Status HistoryStore::keep_sites(const ProcessId& id, const heap_query::SitesAnswer& answer, int64_t kept_unix_ns) {
  if (!state_) return Status::failure("history store is closed");
  State& st = *state_;
  return st.guarded("keep call sites", [&] {
    st.sql(kKeepSites)
        .bind(1, id.pid)
        .bind(2, stored(id.start_ticks))
        .bind(3, nlohmann::json(answer).dump())
        .bind(4, kept_unix_ns)
        .run();
    return Status::success();
  });
}

Result<std::optional<KeptSites>> HistoryStore::kept_sites(const ProcessId& id) {
  if (!state_) return Status::failure("history store is closed");
  State& st = *state_;
  return st.guarded("kept call sites", [&] {
    Statement& s = st.sql(kKeptSites).bind(1, id.pid).bind(2, stored(id.start_ticks));
    std::optional<KeptSites> kept;
    if (s.step() && !s.text(0).empty()) {
      // What this daemon wrote; one that cannot be read is as if none were kept.
      nlohmann::json j = nlohmann::json::parse(s.text(0), nullptr, false);
      if (!j.is_discarded()) {
        try {
          kept = KeptSites{j.get<heap_query::SitesAnswer>(), s.integer(1)};
        } catch (const nlohmann::json::exception&) {
          kept.reset();
        }
      }
    }
    s.run();
    return Result<std::optional<KeptSites>>(std::move(kept));
  });
}

Result<std::vector<WatchedProcess>> HistoryStore::processes() {
  if (!state_) return Status::failure("history store is closed");
  State& st = *state_;
  return st.guarded("processes", [&] { return Result<std::vector<WatchedProcess>>(st.list(st.sql(kListProcesses))); });
}

Result<std::vector<WatchedProcess>> HistoryStore::find_by_program(const std::string& name) {
  if (!state_) return Status::failure("history store is closed");
  State& st = *state_;
  return st.guarded("find", [&] {
    std::vector<WatchedProcess> found = st.list(st.sql(kFindByProgram).bind(1, name));
    std::erase_if(found, [&](const WatchedProcess& p) { return !process::program_matches(p.program, p.exe, name); });
    return Result<std::vector<WatchedProcess>>(std::move(found));
  });
}

Result<std::vector<Reading>> HistoryStore::series(const ProcessId& id, int64_t since, int64_t until) {
  if (!state_) return Status::failure("history store is closed");
  State& st = *state_;
  return st.guarded("series", [&] {
    int64_t row = st.require_row(id);
    std::vector<Reading> recent = st.raw(row, since, until);
    int64_t raw_from = recent.empty() ? until : recent.front().unix_ns - 1;
    std::vector<Reading> out;
    for (const WindowAggregate& w : st.summarised(row, since, raw_from)) {
      if (w.last_unix_ns >= since && w.last_unix_ns <= raw_from) out.push_back(representative_sample(w));
    }
    out.insert(out.end(), recent.begin(), recent.end());
    return Result<std::vector<Reading>>(std::move(out));
  });
}

Result<std::vector<WindowAggregate>> HistoryStore::summaries(const ProcessId& id, int64_t since, int64_t until) {
  if (!state_) return Status::failure("history store is closed");
  State& st = *state_;
  return st.guarded("summaries", [&] {
    return Result<std::vector<WindowAggregate>>(st.summarised(st.require_row(id), since, until));
  });
}

Result<ProcessHistory> HistoryStore::history(const ProcessId& id, int64_t since) {
  if (!state_) return Status::failure("history store is closed");
  State& st = *state_;
  return st.guarded("history", [&] {
    int64_t row = st.require_row(id);
    ProcessHistory h;
    h.summaries = st.summarised(row, since, kForever);
    h.samples = st.raw(row, since, kForever);
    return Result<ProcessHistory>(std::move(h));
  });
}

Result<MaintenanceReport> HistoryStore::maintain(int64_t now) {
  if (!state_) return Status::failure("history store is closed");
  State& st = *state_;
  const RetentionPolicy& policy = st.options.retention;
  return st.guarded("maintenance", [&] {
    MaintenanceReport report;
    const int64_t width = seconds_to_ns(std::max<int64_t>(1, policy.summary_width_s));
    // Whole windows only: a window is summarised once, when it has aged out entirely.
    const int64_t cutoff = window_start(saturating_sub(now, seconds_to_ns(policy.raw_for_s)), width);
    {
      Transaction tx(st.db);
      for (const auto& [row, newest] : st.newest_sample) st.sql(kSetLastSample).bind(1, row).bind(2, newest).run();
      // Deletions first: no work is spent summarising what is about to go.
      st.sql(kExpireProcesses).bind(1, saturating_sub(now, seconds_to_ns(policy.ended_kept_for_s))).run();
      report.processes_deleted += st.changes();
      // Each user's share first, so that one user's churn is paid for by
      // that user's own oldest history, never by another's.
      if (policy.max_processes_per_user > 0) {
        st.sql(kDeleteOverUserQuota).bind(1, static_cast<int64_t>(policy.max_processes_per_user)).run();
        report.processes_deleted += st.changes();
      }
      Statement& count = st.sql(kCountProcesses);
      count.step();
      int64_t excess = count.integer(0) - static_cast<int64_t>(policy.max_processes);
      count.run();
      if (excess > 0) {
        st.sql(kDeleteOverCap).bind(1, excess).run();
        report.processes_deleted += st.changes();
      }

      std::vector<int64_t> rows = st.all_rows();
      std::set<int64_t> still_with_samples;
      for (int64_t row : st.all_need_maintenance ? std::set<int64_t>(rows.begin(), rows.end()) : st.with_samples) {
        st.summarise(row, cutoff, width, report);
        if (st.has_samples(row)) still_with_samples.insert(row);
      }
      const int64_t expired = saturating_sub(now, seconds_to_ns(policy.summaries_for_s));
      for (int64_t row : rows) {
        st.sql(kDeleteSummariesBefore).bind(1, row).bind(2, expired).run();
        report.summaries_expired += st.changes();
      }
      tx.commit();
      st.with_samples = std::move(still_with_samples);
    }
    st.known.clear();
    st.newest_sample.clear();
    st.all_need_maintenance = false;

    // Free pages are reused by later inserts anyway; hand them back only
    // when a quarter of the file is free (after a peak of processes).
    int64_t free_pages = st.pragma("PRAGMA freelist_count");
    if (free_pages > 64 && free_pages * 4 > st.pragma("PRAGMA page_count")) {
      sqlite::execute(st.db, "PRAGMA incremental_vacuum");
      report.pages_freed = free_pages - st.pragma("PRAGMA freelist_count");
    }
    return Result<MaintenanceReport>(report);
  });
}

}  // namespace memproxy::heapwatch
