// The heap watch's history: per watched process, its samples over time, in
// an embedded SQLite database (under /var/lib/memproxy/ in service), bounded
// in time, in processes and so on disk:
//  - one-second samples for the last `raw_for_s` (an hour);
//  - older samples summarised per `summary_width_s` (a minute: min, max and
//    mean live bytes, max and mean RSS, the peak and counters at its end),
//    kept for `summaries_for_s` (a week);
//  - processes that ended, or were last sampled, more than
//    `ended_kept_for_s` ago are deleted with their history;
//  - at most `max_processes_per_user` are kept of any uid but root's (a
//    tenth of the cap), the uid's own oldest going first: one user's churn
//    of short-lived processes erases only that user's history;
//  - at most `max_processes` are kept in all (those that ended longest ago
//    go first, then those sampled longest ago; of each, users' before
//    root's and system users', uid < 1000).
// Worst case on disk, measured (docs/benchmarks/heapwatch.md): a process
// sampled for a whole week takes about 155 KiB for its hour of samples (43
// bytes each) and 790 KiB for its week of summaries (81 bytes each), so
// 0.95 MiB: 92 MiB for 100 such processes, 9 GiB at the default cap of
// 10,000. Short-lived processes take what they lived. The call sites kept
// of a process (keep_sites) add about 140 KiB for 16 sites of 14 frames,
// at most about 400 KiB, replaced at each keeping. Lower `max_processes`
// (or set `max_database_bytes`) where that is too much.
//
// Every operation returns its outcome: nothing throws past this API into the
// daemon's loop. A full disk, a read-only file or a busy database fail that
// operation only, and the store stays usable. A damaged database (on open,
// or found damaged later) is moved aside to PATH.corrupt and a new one is
// created in its place: history is lost, the daemon keeps running, and the
// reason is reported. The database is in WAL mode with synchronous=NORMAL,
// so readers (memproxyctl) never block the writer and a crash loses at most
// the last transactions, never the file.
//
// One writer: a store is used from one thread at a time. Other processes may
// read the same file concurrently.
#ifndef MEMPROXYD_HEAPWATCH_HISTORY_STORE_HPP
#define MEMPROXYD_HEAPWATCH_HISTORY_STORE_HPP

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "heapwatch/analysis/process_view.hpp"
#include "heapwatch/analysis/window_aggregate.hpp"
#include "heapwatch/intake/result.hpp"
#include "heapwatch/intake/watched_process.hpp"

namespace memproxy::heapwatch {

struct RetentionPolicy {
  int64_t raw_for_s = 3600;
  int64_t summary_width_s = 60;
  int64_t summaries_for_s = 7 * 24 * 3600;
  int64_t ended_kept_for_s = 7 * 24 * 3600;
  std::size_t max_processes = 10'000;
  std::size_t max_processes_per_user = 1'000;  // 0: no per-user share
};

struct HistoryOptions {
  RetentionPolicy retention;
  int busy_timeout_ms = 1000;
  // Reads every page once on open (PRAGMA quick_check): finds damage before
  // it is written over (cost in docs/benchmarks/heapwatch.md).
  bool check_on_open = true;
  // A hard limit on the database file (0: none). Past it, recording fails as
  // on a full disk, while maintenance can still delete.
  int64_t max_database_bytes = 0;
};

// One process's sample, as the sampler takes it once per tick.
struct Observation {
  WatchedProcess process;
  Reading sample;
};

// A process's history in the two forms the leak verdict takes: the
// summaries of older windows, then the one-second samples after them.
struct ProcessHistory {
  std::vector<WindowAggregate> summaries;
  std::vector<Reading> samples;
};

struct MaintenanceReport {
  int64_t samples_summarised = 0;
  int64_t summaries_written = 0;
  int64_t summaries_expired = 0;
  int64_t processes_deleted = 0;  // expired or over the cap
  int64_t pages_freed = 0;        // returned to the file system
};

// A process's last judged verdict (stable or growing), and when the verdict
// pass made it.
struct KeptVerdict {
  ProcessId id;
  heap_query::Verdict verdict;
  int64_t judged_unix_ns = 0;
};

// A process's call sites as they were last kept, and when.
struct KeptSites {
  heap_query::SitesAnswer answer;
  int64_t kept_unix_ns = 0;
};

inline constexpr int64_t kForever = std::numeric_limits<int64_t>::max();

class HistoryStore {
 public:
  // Opens or creates the database at `path` (its directory must exist).
  // A damaged file is moved aside and a new one created (recovered_from()
  // says why); a file this daemon must not touch (written by a newer
  // memproxyd, or not a history at all) is left alone and reported.
  static Result<HistoryStore> open(const std::string& path, const HistoryOptions& options = {});

  HistoryStore(HistoryStore&&) noexcept;
  HistoryStore& operator=(HistoryStore&&) noexcept;
  ~HistoryStore();

  const std::string& path() const;
  // Why the database was replaced on open ("" when it was not).
  const std::string& recovered_from() const;

  // One sampling tick, in one transaction: the processes are created or
  // updated (a process that execs keeps its id, not its program), and each
  // sample stored. Values above INT64_MAX are stored as INT64_MAX.
  Status record_batch(std::span<const Observation> observations);
  Status record(const WatchedProcess& process, const Reading& sample);

  Status mark_ended(const ProcessId& id, int64_t ended_unix_ns);
  // How it ended in words (WatchedProcess::ended_how); a process not kept
  // is no failure.
  Status set_ended_how(const ProcessId& id, const std::string& how);

  // Keeps each process's verdict in place of the one kept before, in one
  // transaction; a process no longer kept is skipped. Kept until the
  // process's history is deleted, so it outlives the process and the daemon.
  Status keep_verdicts(std::span<const KeptVerdict> verdicts);
  // The verdict kept of a process; none while no verdict was kept.
  Result<std::optional<KeptVerdict>> kept_verdict(const ProcessId& id);

  // Keeps a process's call sites in place of those kept before (a process
  // not kept is no failure); kept until its history is deleted.
  Status keep_sites(const ProcessId& id, const heap_query::SitesAnswer& answer, int64_t kept_unix_ns);
  // The call sites kept of a process; none while none were kept (or what
  // was kept cannot be read).
  Result<std::optional<KeptSites>> kept_sites(const ProcessId& id);

  // Every process kept, running first, then by start time.
  Result<std::vector<WatchedProcess>> processes();
  // Those whose invoked name, or resolved binary path, is `name`.
  Result<std::vector<WatchedProcess>> find_by_program(const std::string& name);

  // Samples in [since, until], oldest first: one-second samples where they
  // are kept, and before them one per summary (its representative_sample).
  Result<std::vector<Reading>> series(const ProcessId& id, int64_t since_unix_ns = 0,
                                     int64_t until_unix_ns = kForever);
  // The summaries overlapping [since, until], oldest first.
  Result<std::vector<WindowAggregate>> summaries(const ProcessId& id, int64_t since_unix_ns = 0,
                                                 int64_t until_unix_ns = kForever);
  // Both tiers from `since`, as the leak verdict takes them.
  Result<ProcessHistory> history(const ProcessId& id, int64_t since_unix_ns = 0);

  // Summarises one-second samples older than `raw_for_s` (whole windows
  // only), deletes expired summaries and processes, enforces the process
  // cap, and returns free pages to the file system. Meant to run once a
  // minute; `now` is the daemon's clock, so tests can run it at any time.
  Result<MaintenanceReport> maintain(int64_t now_unix_ns);

 private:
  struct State;
  explicit HistoryStore(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace memproxy::heapwatch

#endif
