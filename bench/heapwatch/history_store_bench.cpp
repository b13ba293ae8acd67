// The history store at the daemon's load: N processes sampled every second
// (one transaction per tick), maintenance once a simulated minute. Time runs
// on a simulated clock as fast as the store allows. Prints insert cost per
// sample, maintenance time, the database's size per process for an hour of
// one-second samples and for a week of one-minute summaries, and the cost
// of the integrity check on open.
//
//   heapwatch-bench-history [--processes N] [--dir DIR] [--skip-week]
#include <stdlib.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "heapwatch/store/history_store.hpp"

namespace {

using namespace memproxy::heapwatch;

constexpr int64_t kSecond = 1'000'000'000LL;

double now_s(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

struct TableSizes {
  int64_t sample_bytes = 0, sample_rows = 0, summary_bytes = 0, summary_rows = 0, file_bytes = 0;
};

// Bytes of the pages each table and its index use, from SQLite's dbstat.
TableSizes measure(const std::string& path) {
  TableSizes t;
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  auto one = [&](const char* sql) {
    sqlite3_stmt* s = nullptr;
    int64_t v = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW) v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
  };
  t.sample_bytes = one("SELECT sum(pgsize) FROM dbstat WHERE name = 'sample'");
  t.summary_bytes = one("SELECT sum(pgsize) FROM dbstat WHERE name = 'summary'");
  t.sample_rows = one("SELECT count(*) FROM sample");
  t.summary_rows = one("SELECT count(*) FROM summary");
  t.file_bytes = one("SELECT page_count * page_size FROM pragma_page_count, pragma_page_size");
  sqlite3_close(db);
  return t;
}

WatchedProcess process(int i) {
  WatchedProcess p;
  p.set_id({10000 + i, 123456u + static_cast<uint64_t>(i)});
  p.uid = 1000;
  p.user = "user";
  p.program = "program-" + std::to_string(i % 10);
  p.exe = "/usr/bin/" + p.program;
  p.started_unix_ns = 1'750'000'000LL * kSecond;
  return p;
}

// Plausible values: a heap of tens of MiB that moves every second.
Reading sample(int i, int64_t t, int64_t tick) {
  Reading s;
  s.unix_ns = t;
  s.live_bytes = 50'000'000ULL + static_cast<uint64_t>(i) * 1000 + static_cast<uint64_t>((tick * 7919 + i * 104729) % 3'000'000);
  s.peak_bytes = 60'000'000ULL + static_cast<uint64_t>(i);
  s.rss_bytes = s.live_bytes + 9'000'000;
  s.allocations = static_cast<uint64_t>(tick) * 2000 + static_cast<uint64_t>(i);
  s.frees = s.allocations - 1000;
  return s;
}

bool measure_load(const std::string& path, const std::string& dir, int processes, bool week) {
  Result<HistoryStore> opened = HistoryStore::open(path);
  if (!opened.ok()) {
    std::fprintf(stderr, "%s\n", opened.error().c_str());
    return false;
  }
  HistoryStore store = std::move(opened).value();
  std::vector<WatchedProcess> procs;
  for (int i = 0; i < processes; ++i) procs.push_back(process(i));

  // Phase 1: 75 minutes of one-second ticks; the last 15 minutes are in
  // steady state (the hour of samples is full and maintenance summarises).
  const int64_t t0 = 1'750'000'000LL * kSecond + 17 * kSecond;
  int64_t t = t0;
  std::vector<double> tick_wall_us, steady_tick_wall_us, maintenance_ms;
  double cpu_inserts = 0;
  int64_t inserted = 0;
  std::vector<Observation> batch(static_cast<std::size_t>(processes));
  for (int64_t tick = 0; tick < 75 * 60; ++tick, t += kSecond) {
    for (int i = 0; i < processes; ++i) batch[static_cast<std::size_t>(i)] = {procs[static_cast<std::size_t>(i)], sample(i, t, tick)};
    double w0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
    Status st = store.record_batch(batch);
    double w1 = now_s(CLOCK_MONOTONIC), c1 = now_s(CLOCK_PROCESS_CPUTIME_ID);
    if (!st.ok()) {
      std::fprintf(stderr, "%s\n", st.error().c_str());
      return false;
    }
    cpu_inserts += c1 - c0;
    inserted += processes;
    tick_wall_us.push_back((w1 - w0) * 1e6);
    if (tick >= 61 * 60) steady_tick_wall_us.push_back((w1 - w0) * 1e6);
    if (tick % 60 == 59) {
      double m0 = now_s(CLOCK_MONOTONIC);
      Result<MaintenanceReport> m = store.maintain(t);
      if (!m.ok()) {
        std::fprintf(stderr, "%s\n", m.error().c_str());
        return false;
      }
      if (tick >= 61 * 60) maintenance_ms.push_back((now_s(CLOCK_MONOTONIC) - m0) * 1e3);
    }
  }
  TableSizes hour = measure(path);

  std::printf("Directory: %s (%d processes)\n\n", dir.c_str(), processes);
  std::printf("| measure | value |\n|---|---|\n");
  std::printf("| one tick (%d samples, one transaction), wall p50 / p99 / max | %.0f / %.0f / %.0f us |\n", processes,
              percentile(tick_wall_us, 0.5), percentile(tick_wall_us, 0.99), percentile(tick_wall_us, 1.0));
  std::printf("| one tick in steady state (last 14 min), wall p50 / p99 | %.0f / %.0f us |\n",
              percentile(steady_tick_wall_us, 0.5), percentile(steady_tick_wall_us, 0.99));
  std::printf("| CPU per sample (insert) | %.2f us |\n", cpu_inserts / static_cast<double>(inserted) * 1e6);
  std::printf("| CPU share of one core for inserts at one tick per second | %.3f%% |\n",
              cpu_inserts / static_cast<double>(75 * 60) * 100);
  std::printf("| maintenance in steady state (%d x 60 samples summarised), p50 / max | %.2f / %.2f ms |\n", processes,
              percentile(maintenance_ms, 0.5), percentile(maintenance_ms, 1.0));
  std::printf("| one-second tier: rows, bytes, bytes per row | %lld, %lld, %.1f |\n",
              static_cast<long long>(hour.sample_rows), static_cast<long long>(hour.sample_bytes),
              static_cast<double>(hour.sample_bytes) / static_cast<double>(std::max<int64_t>(1, hour.sample_rows)));
  std::printf("| one-second tier per process (the last hour and the window in progress) | %.0f KiB |\n",
              static_cast<double>(hour.sample_bytes) / processes / 1024);
  std::printf("| file after 75 min | %.1f MiB |\n", static_cast<double>(hour.file_bytes) / (1 << 20));

  if (week) {
    // Phase 2: the rest of a week at one sample per process per minute
    // (each becomes a summary as a second-by-second minute would), with
    // maintenance each minute.
    double w0 = now_s(CLOCK_MONOTONIC);
    for (int64_t minute = 0; minute < 7 * 24 * 60; ++minute, t += 60 * kSecond) {
      for (int i = 0; i < processes; ++i) batch[static_cast<std::size_t>(i)] = {procs[static_cast<std::size_t>(i)], sample(i, t, minute)};
      if (!store.record_batch(batch).ok() || !store.maintain(t).ok()) {
        std::fprintf(stderr, "week phase failed\n");
        return false;
      }
    }
    double week_s = now_s(CLOCK_MONOTONIC) - w0;
    TableSizes w = measure(path);
    std::printf("| one-minute tier after a week: rows, bytes, bytes per row | %lld, %lld, %.1f |\n",
                static_cast<long long>(w.summary_rows), static_cast<long long>(w.summary_bytes),
                static_cast<double>(w.summary_bytes) / static_cast<double>(std::max<int64_t>(1, w.summary_rows)));
    std::printf("| one-minute tier per process per week | %.0f KiB |\n",
                static_cast<double>(w.summary_bytes) / processes / 1024);
    std::printf("| file after the week (%.0f s to simulate) | %.1f MiB |\n", week_s,
                static_cast<double>(w.file_bytes) / (1 << 20));
    double per_process = static_cast<double>(hour.sample_bytes) / processes + static_cast<double>(w.summary_bytes) / processes;
    std::printf("| worst case per process (an hour of seconds + a week of minutes) | %.0f KiB |\n", per_process / 1024);
    std::printf("| worst case at the 10,000-process cap | %.1f GiB |\n", per_process * 10000 / (1 << 30));
  }

  return true;
}

}  // namespace

int main(int argc, char** argv) {
  int processes = 100;
  std::string dir_base = "/var/tmp";
  bool week = true;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--processes") == 0 && i + 1 < argc) processes = std::atoi(argv[++i]);
    else if (std::strcmp(argv[i], "--dir") == 0 && i + 1 < argc) dir_base = argv[++i];
    else if (std::strcmp(argv[i], "--skip-week") == 0) week = false;
    else {
      std::fprintf(stderr, "usage: %s [--processes N] [--dir DIR] [--skip-week]\n", argv[0]);
      return 2;
    }
  }
  std::string dir = dir_base + "/heapwatch-bench-XXXXXX";
  if (mkdtemp(dir.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  const std::string path = dir + "/history.db";
  if (!measure_load(path, dir, processes, week)) return 1;

  // Reopening with the integrity check, as the daemon does at start.
  double q0 = now_s(CLOCK_MONOTONIC);
  Result<HistoryStore> reopened = HistoryStore::open(path);
  double q1 = now_s(CLOCK_MONOTONIC);
  struct stat st {};
  ::stat(path.c_str(), &st);
  std::printf("| open with quick_check, %.1f MiB file | %.0f ms (%s) |\n", static_cast<double>(st.st_size) / (1 << 20),
              (q1 - q0) * 1e3, reopened.ok() ? "ok" : reopened.error().c_str());
  std::filesystem::remove_all(dir);
  return 0;
}

