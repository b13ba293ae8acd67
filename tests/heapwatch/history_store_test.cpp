// The history store: round trips, the two tiers and their boundary,
// retention, the process cap and each user's share of it, surviving a restart, and every way the file
// can fail under the daemon (damaged, full, unwritable, not ours).
#include "heapwatch/store/history_store.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "capability.hpp"
#include "heapwatch/analysis/window_aggregate.hpp"
#include "heapwatch/store/history_schema.hpp"
#include "process.hpp"
#include "staged.hpp"
#include "temp_dir.hpp"

namespace memproxy::heapwatch {
namespace {

using memproxy::testing::TempDir;

constexpr int64_t kSecond = 1'000'000'000LL;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 3600 * kSecond;
constexpr int64_t kDay = 24 * kHour;
// A minute boundary plus 17.25 s: samples do not start on a window.
constexpr int64_t kT0 = 1'750'000'020LL * kSecond + 17'250'000'000LL;

WatchedProcess process(pid_t pid, const std::string& program = "server") {
  WatchedProcess p;
  p.set_id({pid, 1000u + static_cast<uint64_t>(pid)});
  p.uid = 1000;
  p.user = "alice";
  p.program = program;
  p.exe = "/usr/bin/" + program;
  p.started_unix_ns = kT0 - 10 * kSecond;
  return p;
}

Reading sample_at(int64_t t, uint64_t live) {
  Reading s;
  s.unix_ns = t;
  s.live_bytes = live;
  s.peak_bytes = live + 100;
  s.rss_bytes = live + 4096;
  s.allocations = static_cast<uint64_t>((t - kT0) / kSecond) * 10;
  s.frees = s.allocations / 2;
  return s;
}

// `seconds` one-second samples of each process, one batch per tick.
std::vector<Reading> record_seconds(HistoryStore& store, const std::vector<WatchedProcess>& procs, int64_t from,
                                   int64_t seconds) {
  std::vector<Reading> first_process;
  for (int64_t i = 0; i < seconds; ++i) {
    std::vector<Observation> tick;
    for (std::size_t p = 0; p < procs.size(); ++p) {
      Reading s = sample_at(from + i * kSecond, 1'000'000 + static_cast<uint64_t>(i * 37 % 5000) + p);
      tick.push_back({procs[p], s});
      if (p == 0) first_process.push_back(s);
    }
    Status st = store.record_batch(tick);
    EXPECT_TRUE(st.ok()) << st.error();
  }
  return first_process;
}

HistoryStore open_store(const std::string& path, HistoryOptions options = {}) {
  Result<HistoryStore> r = HistoryStore::open(path, options);
  EXPECT_TRUE(r.ok()) << r.error();
  return std::move(r).value();
}

bool same(const Reading& a, const Reading& b) {
  return a.unix_ns == b.unix_ns && a.live_bytes == b.live_bytes && a.peak_bytes == b.peak_bytes &&
         a.rss_bytes == b.rss_bytes && a.allocations == b.allocations && a.frees == b.frees;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void sql(const std::string& path, const char* statement) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  EXPECT_EQ(sqlite3_exec(db, statement, nullptr, nullptr, &error), SQLITE_OK) << (error ? error : "");
  sqlite3_free(error);
  sqlite3_close(db);
}

TEST(HistoryStoreTest, RoundTrip) {
  TempDir dir;
  HistoryStore store = open_store(dir / "history.db");
  EXPECT_EQ(store.recovered_from(), "");
  std::vector<WatchedProcess> procs{process(10), process(11, "worker"), process(12, "worker")};
  std::vector<Reading> written = record_seconds(store, procs, kT0, 30);

  Result<std::vector<Reading>> read = store.series(id_of(procs[0]));
  ASSERT_TRUE(read.ok()) << read.error();
  ASSERT_EQ(read->size(), written.size());
  for (std::size_t i = 0; i < written.size(); ++i) EXPECT_TRUE(same((*read)[i], written[i])) << i;

  Result<std::vector<Reading>> window = store.series(id_of(procs[0]), kT0 + 5 * kSecond, kT0 + 9 * kSecond);
  ASSERT_TRUE(window.ok());
  EXPECT_EQ(window->size(), 5u);

  Result<std::vector<WatchedProcess>> all = store.processes();
  ASSERT_TRUE(all.ok()) << all.error();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].user, "alice");
  EXPECT_EQ((*all)[0].uid, 1000u);
  EXPECT_EQ((*all)[0].started_unix_ns, kT0 - 10 * kSecond);

  Result<std::vector<WatchedProcess>> workers = store.find_by_program("worker");
  ASSERT_TRUE(workers.ok());
  EXPECT_EQ(workers->size(), 2u);
  EXPECT_EQ(store.find_by_program("/usr/bin/server")->size(), 1u);
  EXPECT_TRUE(store.find_by_program("nothing")->empty());

  ASSERT_TRUE(store.mark_ended(id_of(procs[1]), kT0 + 31 * kSecond).ok());
  all = store.processes();
  EXPECT_EQ(id_of(all->back()), id_of(procs[1]));  // running ones first
  EXPECT_EQ(all->back().ended_unix_ns, kT0 + 31 * kSecond);
  // A late sample does not bring it back to life.
  ASSERT_TRUE(store.record(procs[1], sample_at(kT0 + 32 * kSecond, 5)).ok());
  EXPECT_EQ(store.find_by_program("worker")->back().ended_unix_ns, kT0 + 31 * kSecond);

  EXPECT_FALSE(store.mark_ended({99, 1}, kT0).ok());
  Result<std::vector<Reading>> unknown = store.series({99, 1});
  EXPECT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().find("no history of process 99"), std::string::npos) << unknown.error();
}

TEST(HistoryStoreTest, ExecChangesTheProgramOfTheSameProcess) {
  TempDir dir;
  HistoryStore store = open_store(dir / "history.db");
  WatchedProcess p = process(20, "sh");
  ASSERT_TRUE(store.record(p, sample_at(kT0, 1)).ok());
  p.program = "server";
  p.exe = "/usr/sbin/server";
  ASSERT_TRUE(store.record(p, sample_at(kT0 + kSecond, 2)).ok());
  Result<std::vector<WatchedProcess>> all = store.processes();
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].program, "server");
  EXPECT_EQ(store.series(id_of(p))->size(), 2u);
}

TEST(HistoryStoreTest, ValuesAboveTheSignedRangeAreClamped) {
  TempDir dir;
  HistoryStore store = open_store(dir / "history.db");
  Reading s = sample_at(kT0, ~0ULL);
  s.allocations = ~0ULL;
  ASSERT_TRUE(store.record(process(1), s).ok());
  Reading back = store.series(id_of(process(1)))->front();
  EXPECT_EQ(back.live_bytes, static_cast<uint64_t>(INT64_MAX));
  EXPECT_EQ(back.allocations, static_cast<uint64_t>(INT64_MAX));
}

TEST(HistoryStoreTest, HistorySurvivesReopening) {
  TempDir dir;
  std::vector<Reading> written;
  std::vector<WatchedProcess> procs{process(30), process(31)};
  {
    HistoryStore store = open_store(dir / "history.db");
    written = record_seconds(store, procs, kT0, 90);
    ASSERT_TRUE(store.maintain(kT0 + 2 * kHour).ok());  // everything summarised
    record_seconds(store, procs, kT0 + 2 * kHour, 10);
  }
  HistoryStore store = open_store(dir / "history.db");
  EXPECT_EQ(store.recovered_from(), "");
  EXPECT_EQ(store.processes()->size(), 2u);
  Result<ProcessHistory> h = store.history(id_of(procs[0]));
  ASSERT_TRUE(h.ok()) << h.error();
  EXPECT_EQ(h->summaries.size(), 2u);  // 90 s from 17.25 s past a minute: two windows
  EXPECT_EQ(h->samples.size(), 10u);
  EXPECT_EQ(h->summaries, aggregate_windows(written, kMinute));
}

TEST(HistoryStoreTest, DownsamplingAtTheBoundary) {
  TempDir dir;
  HistoryStore store = open_store(dir / "history.db");
  std::vector<WatchedProcess> procs{process(40), process(41)};
  const int64_t seconds = 2 * 3600 + 30;
  std::vector<Reading> written = record_seconds(store, procs, kT0, seconds);
  const int64_t now = written.back().unix_ns;

  Result<MaintenanceReport> m = store.maintain(now);
  ASSERT_TRUE(m.ok()) << m.error();
  const int64_t cutoff = window_start(now - kHour, kMinute);
  auto split = std::lower_bound(written.begin(), written.end(), cutoff,
                                [](const Reading& s, int64_t t) { return s.unix_ns < t; });
  std::vector<Reading> old(written.begin(), split);
  std::vector<WindowAggregate> expected = aggregate_windows(old, kMinute);
  EXPECT_EQ(m->samples_summarised, static_cast<int64_t>(2 * old.size()));
  EXPECT_EQ(m->summaries_written, static_cast<int64_t>(2 * expected.size()));

  Result<ProcessHistory> h = store.history(id_of(procs[0]));
  ASSERT_TRUE(h.ok()) << h.error();
  EXPECT_EQ(h->summaries, expected);
  ASSERT_FALSE(h->samples.empty());
  EXPECT_EQ(h->samples.front().unix_ns, split->unix_ns);  // the first one at or after the cutoff
  EXPECT_GE(h->samples.front().unix_ns, cutoff);
  EXPECT_EQ(h->samples.size(), static_cast<std::size_t>(written.end() - split));
  EXPECT_LE(h->samples.size(), 3600u + 60u);  // an hour, and the window the cutoff falls in

  // The merged series: one point per summary, then every second.
  Result<std::vector<Reading>> merged = store.series(id_of(procs[0]));
  ASSERT_TRUE(merged.ok());
  ASSERT_EQ(merged->size(), expected.size() + h->samples.size());
  for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_TRUE(same((*merged)[i], representative_sample(expected[i])));
  EXPECT_TRUE(std::is_sorted(merged->begin(), merged->end(),
                             [](const Reading& a, const Reading& b) { return a.unix_ns < b.unix_ns; }));
  // A range inside the summarised part holds only summary points.
  Result<std::vector<Reading>> early = store.series(id_of(procs[0]), kT0 + 10 * kMinute, kT0 + 20 * kMinute);
  EXPECT_EQ(early->size(), 10u);
  Result<std::vector<WindowAggregate>> some = store.summaries(id_of(procs[0]), kT0 + 10 * kMinute, kT0 + 20 * kMinute);
  EXPECT_EQ(some->size(), 11u);  // overlapping, so both ends' windows

  // Idempotent: nothing left to summarise until time moves on.
  m = store.maintain(now);
  EXPECT_EQ(m->samples_summarised, 0);
  m = store.maintain(now + kMinute);
  EXPECT_EQ(m->samples_summarised, 2 * 60);
}

TEST(HistoryStoreTest, LateSampleJoinsItsSummarisedWindow) {
  TempDir dir;
  HistoryStore store = open_store(dir / "history.db");
  std::vector<Reading> written = record_seconds(store, {process(50)}, kT0, 300);
  ASSERT_TRUE(store.maintain(kT0 + 2 * kHour).ok());
  const WindowAggregate before = store.summaries(id_of(process(50)))->at(1);
  ASSERT_TRUE(store.record(process(50), sample_at(before.start_unix_ns + 30 * kSecond + 1, 7)).ok());
  ASSERT_TRUE(store.maintain(kT0 + 2 * kHour).ok());
  std::vector<WindowAggregate> after = *store.summaries(id_of(process(50)));
  ASSERT_EQ(after.size(), aggregate_windows(written, kMinute).size());
  EXPECT_EQ(after[1].count, before.count + 1);
  EXPECT_EQ(after[1].live_bytes_min, 7u);
}

TEST(HistoryStoreTest, Retention) {
  TempDir dir;
  HistoryStore store = open_store(dir / "history.db");
  WatchedProcess running = process(60), ended = process(61), silent = process(62);
  record_seconds(store, {running, ended, silent}, kT0, 120);
  ASSERT_TRUE(store.mark_ended(id_of(ended), kT0 + 200 * kSecond).ok());
  ASSERT_TRUE(store.maintain(kT0 + 2 * kHour).ok());
  // Six days on, the running one is still sampled.
  record_seconds(store, {running}, kT0 + 6 * kDay, 5);
  ASSERT_TRUE(store.maintain(kT0 + 6 * kDay + 5 * kSecond).ok());
  EXPECT_EQ(store.processes()->size(), 3u);

  // Past a week: the ended and the silent process go with their history,
  // and the running one keeps only its summary of day six.
  Result<MaintenanceReport> m = store.maintain(kT0 + 7 * kDay + kHour);
  ASSERT_TRUE(m.ok()) << m.error();
  EXPECT_EQ(m->processes_deleted, 2);
  EXPECT_GT(m->summaries_expired, 0);
  Result<std::vector<WatchedProcess>> left = store.processes();
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ(id_of((*left)[0]), id_of(running));
  EXPECT_FALSE(store.series(id_of(ended)).ok());
  Result<ProcessHistory> h = store.history(id_of(running));
  ASSERT_EQ(h->summaries.size(), 1u);
  EXPECT_EQ(h->summaries[0].start_unix_ns, window_start(kT0 + 6 * kDay, kMinute));
  EXPECT_TRUE(h->samples.empty());

  // No row of a deleted process is left behind.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir / "history.db").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT (SELECT count(*) FROM sample) + (SELECT count(*) FROM summary)", -1, &stmt, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int64(stmt, 0), 1);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

TEST(HistoryStoreTest, ProcessCapDropsThoseThatEndedLongestAgoFirst) {
  TempDir dir;
  HistoryOptions options;
  options.retention.max_processes = 4;
  HistoryStore store = open_store(dir / "history.db", options);
  std::vector<WatchedProcess> procs;
  for (pid_t pid = 100; pid < 107; ++pid) procs.push_back(process(pid));
  record_seconds(store, procs, kT0, 3);
  // 101 ended first, then 103, then 105; the others keep running.
  ASSERT_TRUE(store.mark_ended(id_of(procs[1]), kT0 + 10 * kSecond).ok());
  ASSERT_TRUE(store.mark_ended(id_of(procs[3]), kT0 + 20 * kSecond).ok());
  ASSERT_TRUE(store.mark_ended(id_of(procs[5]), kT0 + 30 * kSecond).ok());
  Result<MaintenanceReport> m = store.maintain(kT0 + kMinute);
  ASSERT_TRUE(m.ok()) << m.error();
  EXPECT_EQ(m->processes_deleted, 3);
  std::vector<pid_t> left;
  for (const WatchedProcess& p : *store.processes()) left.push_back(p.pid);
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<pid_t>{100, 102, 104, 106}));

  // All running: those sampled longest ago go.
  record_seconds(store, {procs[0], procs[2]}, kT0 + 2 * kMinute, 1);
  record_seconds(store, {process(200)}, kT0 + 3 * kMinute, 1);
  m = store.maintain(kT0 + 4 * kMinute);
  ASSERT_TRUE(m.ok());
  left.clear();
  for (const WatchedProcess& p : *store.processes()) left.push_back(p.pid);
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<pid_t>{100, 102, 106, 200}));
}

TEST(HistoryStoreTest, OneUsersChurnErasesOnlyThatUsersOldestHistory) {
  TempDir dir;
  HistoryOptions options;
  options.retention.max_processes = 30;
  options.retention.max_processes_per_user = 10;
  HistoryStore store = open_store(dir / "history.db", options);
  auto of_uid = [](pid_t pid, uid_t uid) {
    WatchedProcess p = process(pid);
    p.uid = uid;
    return p;
  };
  // Root's, a system user's and another user's processes, all ended before
  // the churner's: the oldest of all.
  std::vector<WatchedProcess> others;
  for (pid_t i = 0; i < 5; ++i) {
    others.push_back(of_uid(100 + i, 0));
    others.push_back(of_uid(200 + i, 33));
    others.push_back(of_uid(300 + i, 1001));
  }
  std::vector<WatchedProcess> churner;
  for (pid_t i = 0; i < 40; ++i) churner.push_back(of_uid(1000 + i, 2000));
  std::vector<WatchedProcess> all = others;
  all.insert(all.end(), churner.begin(), churner.end());
  record_seconds(store, all, kT0, 2);
  for (std::size_t i = 0; i < others.size(); ++i) {
    ASSERT_TRUE(store.mark_ended(id_of(others[i]), kT0 + 10 * kSecond + static_cast<int64_t>(i)).ok());
  }
  for (std::size_t i = 0; i < churner.size(); ++i) {
    ASSERT_TRUE(store.mark_ended(id_of(churner[i]), kT0 + 20 * kSecond + static_cast<int64_t>(i)).ok());
  }
  Result<MaintenanceReport> m = store.maintain(kT0 + kMinute);
  ASSERT_TRUE(m.ok()) << m.error();
  EXPECT_EQ(m->processes_deleted, 30);
  std::vector<pid_t> left, expected;
  for (const WatchedProcess& p : *store.processes()) left.push_back(p.pid);
  std::sort(left.begin(), left.end());
  for (const WatchedProcess& p : others) expected.push_back(p.pid);
  for (pid_t i = 30; i < 40; ++i) expected.push_back(1000 + i);  // the churner's newest
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(left, expected);
}

TEST(HistoryStoreTest, OverTheCapUsersGoBeforeRootAndSystemUsers) {
  TempDir dir;
  HistoryOptions options;
  options.retention.max_processes = 4;
  HistoryStore store = open_store(dir / "history.db", options);
  std::vector<WatchedProcess> procs;
  for (uid_t uid : {0u, 33u, 1000u, 1001u, 2000u, 2001u}) {
    procs.push_back(process(static_cast<pid_t>(100 + uid)));
    procs.back().uid = uid;
  }
  record_seconds(store, procs, kT0, 2);
  // Root's and the system user's ended first, yet the users' go.
  for (std::size_t i = 0; i < procs.size(); ++i) {
    ASSERT_TRUE(store.mark_ended(id_of(procs[i]), kT0 + 10 * kSecond + static_cast<int64_t>(i)).ok());
  }
  Result<MaintenanceReport> m = store.maintain(kT0 + kMinute);
  ASSERT_TRUE(m.ok()) << m.error();
  std::vector<pid_t> left;
  for (const WatchedProcess& p : *store.processes()) left.push_back(p.pid);
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<pid_t>{100, 133, 2100, 2101}));
}

TEST(HistoryStoreTest, ManyProcesses) {
  TempDir dir;
  HistoryOptions options;
  options.retention.max_processes = 1500;
  options.retention.max_processes_per_user = 0;
  HistoryStore store = open_store(dir / "history.db", options);
  std::vector<WatchedProcess> procs;
  for (pid_t pid = 1; pid <= 2000; ++pid) procs.push_back(process(pid, "p" + std::to_string(pid % 50)));
  record_seconds(store, procs, kT0, 20);
  EXPECT_EQ(store.processes()->size(), 2000u);
  EXPECT_EQ(store.find_by_program("p7")->size(), 40u);
  for (pid_t pid : {1, 999, 2000}) EXPECT_EQ(store.series(id_of(procs[static_cast<std::size_t>(pid - 1)]))->size(), 20u);
  for (std::size_t i = 0; i < 500; ++i) ASSERT_TRUE(store.mark_ended(id_of(procs[i]), kT0 + 30 * kSecond).ok());
  Result<MaintenanceReport> m = store.maintain(kT0 + 2 * kHour);
  ASSERT_TRUE(m.ok()) << m.error();
  EXPECT_EQ(m->processes_deleted, 500);
  EXPECT_EQ(m->samples_summarised, 1500 * 20);
  EXPECT_EQ(store.processes()->size(), 1500u);
  EXPECT_FALSE(store.series(id_of(procs[0])).ok());
  EXPECT_EQ(store.summaries(id_of(procs[1999]))->size(), 1u);  // 20 s from 17.25 s past a minute
}

TEST(HistoryStoreTest, FilesArePrivateAndInWalMode) {
  TempDir dir;
  HistoryStore store = open_store(dir / "history.db");
  ASSERT_TRUE(store.record(process(1), sample_at(kT0, 1)).ok());
  struct stat st {};
  ASSERT_EQ(::stat((dir / "history.db").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((dir / "history.db-wal").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(HistoryStoreTest, AReaderDoesNotBlockTheWriter) {
  TempDir dir;
  HistoryStore store = open_store(dir / "history.db");
  record_seconds(store, {process(1)}, kT0, 5);
  sqlite3* reader = nullptr;
  ASSERT_EQ(sqlite3_open_v2((dir / "history.db").c_str(), &reader, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(reader, "BEGIN; SELECT count(*) FROM sample;", nullptr, nullptr, nullptr), SQLITE_OK);
  record_seconds(store, {process(1)}, kT0 + 5 * kSecond, 5);
  EXPECT_TRUE(store.maintain(kT0 + 2 * kHour).ok());
  sqlite3_exec(reader, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_close(reader);
  EXPECT_EQ(store.summaries(id_of(process(1)))->size(), 1u);
}

// SQLite's default VFS, its sleeps counted while this is alive (it is the
// default VFS meanwhile). A connection refused a lock that another holds
// waits its busy timeout in sleeps through its VFS between attempts: a sleep
// on the counted thread is that thread's connection waiting for a lock.
class CountedSleeps {
 public:
  CountedSleeps() {
    original_ = sqlite3_vfs_find(nullptr);
    vfs_ = *original_;  // pAppData and all: the default VFS's own methods run
    vfs_.zName = "memproxy-test-counted-sleeps";
    vfs_.xSleep = &CountedSleeps::sleep;
    counted_ = std::this_thread::get_id();
    sleeps_ = 0;
    sqlite3_vfs_register(&vfs_, 1);
  }
  ~CountedSleeps() {
    sqlite3_vfs_unregister(&vfs_);
    sqlite3_vfs_register(original_, 1);
  }
  CountedSleeps(const CountedSleeps&) = delete;
  CountedSleeps& operator=(const CountedSleeps&) = delete;

  // Sleeps of the thread that made this.
  static int count() { return sleeps_.load(); }

 private:
  static int sleep(sqlite3_vfs*, int microseconds) {
    if (std::this_thread::get_id() == counted_) sleeps_.fetch_add(1);
    return original_->xSleep(original_, microseconds);
  }
  sqlite3_vfs vfs_{};
  static inline sqlite3_vfs* original_ = nullptr;
  static inline std::thread::id counted_;
  static inline std::atomic<int> sleeps_{0};
};

// Another connection's write lock (an administrator's sqlite3 in a
// transaction) makes a write wait its busy timeout, after any read: a read
// that left a statement on its row kept a read transaction open, and the
// next write failed at once instead of waiting. The lock is released once
// the write has been refused it and waits (a sleep of its busy handler),
// and the write then succeeds.
TEST(HistoryStoreTest, AWriteWaitsForAnotherWritersLockAfterReads) {
  TempDir dir;
  CountedSleeps sleeps;
  HistoryOptions options;
  options.busy_timeout_ms = 30000;  // the release comes at the write's first wait
  HistoryStore store = open_store(dir / "history.db", options);
  record_seconds(store, {process(1)}, kT0, 5);
  ASSERT_TRUE(store.series(id_of(process(1))).ok());
  ASSERT_TRUE(store.history(id_of(process(1))).ok());
  ASSERT_EQ(CountedSleeps::count(), 0) << "nothing held a lock yet";
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open((dir / "history.db").c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  std::atomic<bool> returned{false};
  std::thread release([other, &returned] {
    while (CountedSleeps::count() == 0 && !returned.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr);
  });
  Status recorded = store.record(process(1), sample_at(kT0 + 10 * kSecond, 7));
  returned = true;
  release.join();
  sqlite3_close(other);
  EXPECT_TRUE(recorded.ok()) << recorded.error();
  EXPECT_GT(CountedSleeps::count(), 0) << "the write waited for the lock";
  EXPECT_EQ(store.series(id_of(process(1)))->size(), 6u);
}

TEST(HistoryStoreTest, GarbageFileIsMovedAsideAndReplaced) {
  TempDir dir;
  const std::string path = dir / "history.db";
  std::string garbage(10000, '\x5a');
  dir.write("history.db", garbage);
  Result<HistoryStore> opened = HistoryStore::open(path);
  ASSERT_TRUE(opened.ok()) << opened.error();
  HistoryStore store = std::move(opened).value();
  EXPECT_NE(store.recovered_from().find("not a database"), std::string::npos) << store.recovered_from();
  EXPECT_EQ(slurp(path + ".corrupt"), garbage);
  EXPECT_TRUE(store.record(process(1), sample_at(kT0, 1)).ok());
  EXPECT_EQ(store.series(id_of(process(1)))->size(), 1u);
}

// Overwrites the middle of a closed database with garbage.
void damage(const std::string& path) {
  std::string bytes = slurp(path);
  ASSERT_GT(bytes.size(), 6u * 4096);
  for (std::size_t i = 3 * 4096; i < bytes.size() - 4096; ++i) bytes[i] = static_cast<char>(i * 7);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

std::string filled_database(const TempDir& dir) {
  const std::string path = dir / "history.db";
  HistoryStore store = open_store(path);
  std::vector<WatchedProcess> procs;
  for (pid_t pid = 1; pid <= 20; ++pid) procs.push_back(process(pid));
  record_seconds(store, procs, kT0, 120);
  EXPECT_TRUE(store.maintain(kT0 + 2 * kHour).ok());
  sql(path, "PRAGMA wal_checkpoint(TRUNCATE)");
  return path;
}

TEST(HistoryStoreTest, DamageFoundOnOpenIsRecovered) {
  TempDir dir;
  const std::string path = filled_database(dir);
  damage(path);
  Result<HistoryStore> opened = HistoryStore::open(path);
  ASSERT_TRUE(opened.ok()) << opened.error();
  HistoryStore store = std::move(opened).value();
  EXPECT_FALSE(store.recovered_from().empty());
  EXPECT_TRUE(std::filesystem::exists(path + ".corrupt"));
  EXPECT_TRUE(store.processes()->empty());
  EXPECT_TRUE(store.record(process(1), sample_at(kT0, 1)).ok());
}

TEST(HistoryStoreTest, DamageFoundLaterIsReportedAndRecovered) {
  TempDir dir;
  const std::string path = filled_database(dir);
  damage(path);
  HistoryOptions trusting;
  trusting.check_on_open = false;
  Result<HistoryStore> opened = HistoryStore::open(path, trusting);
  ASSERT_TRUE(opened.ok()) << opened.error();
  HistoryStore store = std::move(opened).value();
  // Reading every process's history runs into the damage.
  std::string error;
  for (pid_t pid = 1; pid <= 20 && error.empty(); ++pid) {
    Result<std::vector<WindowAggregate>> r = store.summaries(id_of(process(pid)));
    if (!r.ok()) error = r.error();
  }
  if (error.empty()) {
    Result<MaintenanceReport> m = store.maintain(kT0 + 3 * kHour);
    if (!m.ok()) error = m.error();
  }
  ASSERT_FALSE(error.empty()) << "the damage went unnoticed";
  EXPECT_NE(error.find("malformed"), std::string::npos) << error;
  EXPECT_NE(error.find("moved to " + path + ".corrupt"), std::string::npos) << error;
  EXPECT_TRUE(store.record(process(1), sample_at(kT0, 1)).ok());
  EXPECT_EQ(store.processes()->size(), 1u);
}

TEST(HistoryStoreTest, FullDatabaseFailsTheWriteOnlyAndRecovers) {
  TempDir dir;
  HistoryOptions options;
  options.max_database_bytes = 256 * 1024;  // stands for a full disk: SQLite reports SQLITE_FULL either way
  HistoryStore store = open_store(dir / "history.db", options);
  std::vector<WatchedProcess> procs;
  for (pid_t pid = 1; pid <= 50; ++pid) procs.push_back(process(pid));
  std::string error;
  int64_t t = kT0;
  for (int tick = 0; tick < 5000 && error.empty(); ++tick, t += kSecond) {
    std::vector<Observation> batch;
    for (const WatchedProcess& p : procs) batch.push_back({p, sample_at(t, 1)});
    Status st = store.record_batch(batch);
    if (!st.ok()) error = st.error();
  }
  ASSERT_FALSE(error.empty());
  EXPECT_NE(error.find("full"), std::string::npos) << error;
  EXPECT_FALSE(std::filesystem::exists(dir / "history.db.corrupt"));
  // Reads still work, the failed tick left nothing half-written...
  Result<std::vector<Reading>> s = store.series(id_of(procs[0]));
  ASSERT_TRUE(s.ok()) << s.error();
  EXPECT_EQ(s->size(), store.series(id_of(procs[49]))->size());
  // ...and once maintenance has made room, recording resumes.
  Result<MaintenanceReport> m = store.maintain(t + 8 * kDay);
  ASSERT_TRUE(m.ok()) << m.error();
  EXPECT_TRUE(store.record(procs[0], sample_at(t + 8 * kDay, 1)).ok());
}

TEST(HistoryStoreTest, UnusablePathsAreReported) {
  TempDir dir;
  ASSERT_EQ(::mkdir((dir / "history.db").c_str(), 0700), 0);
  Result<HistoryStore> on_directory = HistoryStore::open(dir / "history.db");
  EXPECT_FALSE(on_directory.ok());
  EXPECT_NE(on_directory.error().find("history.db"), std::string::npos) << on_directory.error();
  EXPECT_TRUE(std::filesystem::is_directory(dir / "history.db"));  // never moved aside

  EXPECT_FALSE(HistoryStore::open(dir / "missing/history.db").ok());

  ASSERT_EQ(::symlink((dir / "elsewhere.db").c_str(), (dir / "link.db").c_str()), 0);
  EXPECT_FALSE(HistoryStore::open(dir / "link.db").ok());
  EXPECT_FALSE(std::filesystem::exists(dir / "elsewhere.db"));
}

// Root writes to read-only files and directories regardless of their modes:
// as root, a test of what an unwritable database does runs again in a copy
// of this program as `nobody`, which the modes bind.
// Called by root only; skips with the reason where nobody cannot run it.
void run_again_as_nobody() {
  MEMPROXY_REQUIRE(memproxy::testing::missing_unprivileged_runner());
  memproxy::testing::StagedForOtherUser staged;
  MEMPROXY_REQUIRE(staged.missing());
  const std::string self = std::filesystem::read_symlink("/proc/self/exe");
  const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string filter = std::string("--gtest_filter=") + test->test_suite_name() + "." + test->name();
  memproxy::testing::Outcome outcome =
      memproxy::testing::run(memproxy::testing::as_nobody({staged.program(self), filter}), {"TMPDIR=/tmp"});
  EXPECT_TRUE(outcome.ok()) << outcome.describe();
  // It ran, as nobody, rather than skipping there too.
  EXPECT_NE(outcome.out.find("[  PASSED  ] 1 test"), std::string::npos) << outcome.describe();
  EXPECT_EQ(outcome.out.find("[  SKIPPED ]"), std::string::npos) << outcome.describe();
}

TEST(HistoryStoreTest, ReadOnlyFileFailsAtOpenAndIsLeftAlone) {
  if (::geteuid() == 0) return run_again_as_nobody();
  TempDir dir;
  const std::string path = dir / "history.db";
  {
    HistoryStore store = open_store(path);
    ASSERT_TRUE(store.record(process(1), sample_at(kT0, 1)).ok());
  }
  ASSERT_EQ(::chmod(path.c_str(), 0400), 0);
  std::string before = slurp(path);
  Result<HistoryStore> opened = HistoryStore::open(path);
  EXPECT_FALSE(opened.ok());
  EXPECT_NE(opened.error().find("Permission denied"), std::string::npos) << opened.error();
  EXPECT_EQ(slurp(path), before);
  EXPECT_FALSE(std::filesystem::exists(path + ".corrupt"));
  ::chmod(path.c_str(), 0600);
}

TEST(HistoryStoreTest, UnwritableDirectoryFailsAtOpen) {
  if (::geteuid() == 0) return run_again_as_nobody();
  TempDir dir;
  ASSERT_EQ(::chmod(dir.path().c_str(), 0500), 0);
  Result<HistoryStore> opened = HistoryStore::open(dir / "history.db");
  EXPECT_FALSE(opened.ok());
  EXPECT_NE(opened.error().find("Permission denied"), std::string::npos) << opened.error();
  ::chmod(dir.path().c_str(), 0700);
}

TEST(HistoryStoreTest, NewerOrForeignDatabasesAreLeftAlone) {
  TempDir dir;
  const std::string newer = dir / "newer.db";
  { HistoryStore store = open_store(newer); }
  sql(newer, "UPDATE meta SET value = 99 WHERE key = 'schema_version'");
  std::string before = slurp(newer);
  Result<HistoryStore> r = HistoryStore::open(newer);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.error().find("schema version 99"), std::string::npos) << r.error();
  EXPECT_EQ(slurp(newer), before);
  EXPECT_FALSE(std::filesystem::exists(newer + ".corrupt"));

  const std::string foreign = dir / "foreign.db";
  sql(foreign, "CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER)");
  Result<HistoryStore> f = HistoryStore::open(foreign);
  EXPECT_FALSE(f.ok());
  EXPECT_NE(f.error().find("not memproxy's"), std::string::npos) << f.error();
  EXPECT_FALSE(std::filesystem::exists(foreign + ".corrupt"));
}

TEST(HistoryStoreTest, SchemaVersionIsRecorded) {
  TempDir dir;
  { HistoryStore store = open_store(dir / "history.db"); }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir / "history.db").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'schema_version'", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int64(stmt, 0), history_schema::kCurrentVersion);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

// A process's last judged verdict is kept whole, replaced by the next,
// and outlives the process's end, as how it ended does; a process never
// judged has none.
TEST(HistoryStoreTest, TheLastVerdictAndHowItEndedAreKeptAndOutliveTheProcess) {
  TempDir dir;
  HistoryStore store = open_store(dir / "history.db");
  const WatchedProcess judged = process(1);
  const WatchedProcess never = process(2);
  ASSERT_TRUE(store.record_batch(std::vector<Observation>{{judged, sample_at(kT0, 1)}, {never, sample_at(kT0, 1)}}));
  memproxy::heap_query::Verdict first;
  first.trend = "stable";
  memproxy::heap_query::Verdict second;
  second.trend = "growing";
  second.finding = "growing";
  second.slope_bytes_per_hour = 1.5e9;
  second.confidence = 0.9999;
  second.analysed_s = 1800;
  second.live_at_start_bytes = uint64_t{1} << 40;
  second.fragmentation_growing = true;
  second.memory_limit_source = "cgroup memory.max";
  ASSERT_TRUE(store.keep_verdicts(std::vector<KeptVerdict>{{id_of(judged), first, kT0}}));
  ASSERT_TRUE(store.keep_verdicts(std::vector<KeptVerdict>{{id_of(judged), second, kT0 + kMinute}, {id_of(process(3)), second, kT0}}));
  ASSERT_TRUE(store.mark_ended(id_of(judged), kT0 + 2 * kMinute));
  ASSERT_TRUE(store.set_ended_how(id_of(judged), "killed by the OOM killer (SIGKILL)"));
  ASSERT_TRUE(store.set_ended_how(id_of(process(3)), "exited with status 0"));
  Result<std::vector<WatchedProcess>> listed = store.processes();
  ASSERT_TRUE(listed) << listed.error();
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].ended_how, "");  // running first
  EXPECT_EQ((*listed)[1].ended_how, "killed by the OOM killer (SIGKILL)");

  Result<std::optional<KeptVerdict>> kept = store.kept_verdict(id_of(judged));
  ASSERT_TRUE(kept) << kept.error();
  ASSERT_TRUE(kept->has_value());
  const KeptVerdict& k = **kept;
  EXPECT_EQ(k.judged_unix_ns, kT0 + kMinute);
  EXPECT_EQ(nlohmann::json(k.verdict), nlohmann::json(second));
  Result<std::optional<KeptVerdict>> none = store.kept_verdict(id_of(never));
  ASSERT_TRUE(none) << none.error();
  EXPECT_FALSE(none->has_value());
  Result<std::optional<KeptVerdict>> unknown = store.kept_verdict(id_of(process(3)));
  ASSERT_TRUE(unknown) << unknown.error();
  EXPECT_FALSE(unknown->has_value());
}

// A database of the first version (no verdicts) is upgraded in place: its
// history stays, and verdicts are kept from then on.
TEST(HistoryStoreTest, AVersionOneDatabaseIsUpgradedKeepingItsHistory) {
  TempDir dir;
  const std::string path = dir / "history.db";
  {
    HistoryStore store = open_store(path);
    record_seconds(store, {process(1)}, kT0, 5);
  }
  sql(path, "ALTER TABLE process DROP COLUMN verdict; ALTER TABLE process DROP COLUMN verdict_ns;"
            " ALTER TABLE process DROP COLUMN ended_how; ALTER TABLE process DROP COLUMN sites;"
            " ALTER TABLE process DROP COLUMN sites_ns; UPDATE meta SET value = 1 WHERE key = 'schema_version'");
  HistoryStore store = open_store(path);
  Result<std::vector<Reading>> series = store.series(id_of(process(1)));
  ASSERT_TRUE(series) << series.error();
  EXPECT_EQ(series->size(), 5u);
  memproxy::heap_query::Verdict stable;
  stable.trend = "stable";
  ASSERT_TRUE(store.keep_verdicts(std::vector<KeptVerdict>{{id_of(process(1)), stable, kT0}}));
  Result<std::optional<KeptVerdict>> kept = store.kept_verdict(id_of(process(1)));
  ASSERT_TRUE(kept && kept->has_value());
  EXPECT_EQ((*kept)->verdict.trend, "stable");
  ASSERT_TRUE(store.keep_sites(id_of(process(1)), heap_query::SitesAnswer{}, kT0));
  Result<std::optional<KeptSites>> sites = store.kept_sites(id_of(process(1)));
  ASSERT_TRUE(sites && sites->has_value());
}

// A process's call sites are kept whole (frames, series), replaced by the
// next keeping, and outlive the process; a process none were kept of has
// none, and what cannot be read back counts as none.
TEST(HistoryStoreTest, TheLastCallSitesAreKeptAndOutliveTheProcess) {
  TempDir dir;
  const std::string path = dir / "history.db";
  HistoryStore store = open_store(path);
  const WatchedProcess kept = process(1);
  const WatchedProcess never = process(2);
  ASSERT_TRUE(store.record_batch(std::vector<Observation>{{kept, sample_at(kT0, 1)}, {never, sample_at(kT0, 1)}}));
  heap_query::SitesAnswer first;
  first.unix_ns = kT0;
  first.sites.resize(1);
  heap_query::SitesAnswer second;
  second.unix_ns = kT0 + kMinute;
  second.sample_mean_bytes = 65536;
  second.samples = 12;
  second.estimated_bytes = 3 << 20;
  second.sites_total = 2;
  heap_query::SiteView site;
  heap_query::FrameView inlined;
  inlined.address = 0x401234;
  inlined.function = "remember";
  inlined.file = "leak.c";
  inlined.line = 12;
  inlined.inlined = true;
  heap_query::FrameView caller = inlined;
  caller.function = "handle";
  caller.line = 30;
  caller.inlined = false;
  site.frames = {inlined, caller};
  site.estimated_bytes = 3 << 20;
  site.growing = true;
  site.growth_bytes_per_hour = 2.5e8;
  site.series = {{kT0, 1 << 20}, {kT0 + kMinute, 3 << 20}};
  second.sites = {site};
  ASSERT_TRUE(store.keep_sites(id_of(kept), first, kT0));
  ASSERT_TRUE(store.keep_sites(id_of(kept), second, kT0 + kMinute));
  ASSERT_TRUE(store.keep_sites(id_of(process(3)), second, kT0));  // not kept: no failure
  ASSERT_TRUE(store.mark_ended(id_of(kept), kT0 + 2 * kMinute));
  ASSERT_TRUE(store.maintain(kT0 + 3 * kMinute));

  Result<std::optional<KeptSites>> sites = store.kept_sites(id_of(kept));
  ASSERT_TRUE(sites) << sites.error();
  ASSERT_TRUE(sites->has_value());
  EXPECT_EQ((*sites)->kept_unix_ns, kT0 + kMinute);
  EXPECT_EQ(nlohmann::json((*sites)->answer), nlohmann::json(second));
  Result<std::optional<KeptSites>> none = store.kept_sites(id_of(never));
  ASSERT_TRUE(none) << none.error();
  EXPECT_FALSE(none->has_value());
  Result<std::optional<KeptSites>> unknown = store.kept_sites(id_of(process(3)));
  ASSERT_TRUE(unknown) << unknown.error();
  EXPECT_FALSE(unknown->has_value());

  sql(path, "UPDATE process SET sites = '{\"sites\": 7' WHERE pid = 1");
  Result<std::optional<KeptSites>> garbled = store.kept_sites(id_of(kept));
  ASSERT_TRUE(garbled) << garbled.error();
  EXPECT_FALSE(garbled->has_value());
}

TEST(HistoryStoreTest, MovedFromStoreReportsClosed) {
  TempDir dir;
  HistoryStore a = open_store(dir / "history.db");
  HistoryStore b = std::move(a);
  EXPECT_FALSE(a.record(process(1), sample_at(kT0, 1)).ok());  // NOLINT(bugprone-use-after-move): the point
  EXPECT_TRUE(b.record(process(1), sample_at(kT0, 1)).ok());
}

}  // namespace
}  // namespace memproxy::heapwatch
