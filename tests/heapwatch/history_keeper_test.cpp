// The history keeper over a real store in a temporary directory: what it
// records and answers, on the loop; its queue's bounds while the worker is
// held (a stalled disk), which never make posting wait; its stop, bounded
// while another connection holds the database's write lock (the worker
// then waits a busy timeout per transaction); the
// verdicts it posts back, with the warm-up counted from the process start;
// processes that ended unseen; a database it cannot use or must replace.
#include <sqlite3.h>
#include <sys/stat.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <fstream>
#include <functional>
#include <future>
#include <optional>
#include <span>

#include <gtest/gtest.h>

#include "heapwatch/analysis/daemon_verdict.hpp"
#include "heapwatch/store/history_keeper.hpp"
#include "heapwatch_fixtures.hpp"
#include "options.hpp"
#include "temp_dir.hpp"
#include "worker_gate.hpp"

namespace {

using namespace memproxy::heapwatch;
using namespace std::chrono_literals;
using heapwatch_fixtures::LockedDatabase;
using heapwatch_fixtures::now_ns;
using heapwatch_fixtures::process;
using heapwatch_fixtures::run_loop_until;
using heapwatch_fixtures::WorkerGate;

class HistoryKeeperTest : public ::testing::Test {
 protected:
  HistoryKeeperOptions options() {
    HistoryKeeperOptions o;
    o.path = dir_ / "history.sqlite";
    o.store.busy_timeout_ms = 300;
    return o;
  }
  // options() with the verdict 60 times faster than real time (a 30-minute
  // window becomes 30 s), a pass every `interval`.
  HistoryKeeperOptions fast_verdicts(std::chrono::milliseconds interval) {
    HistoryKeeperOptions o = options();
    o.verdict = time_scaled(VerdictParameters{}, 60);
    o.verdict_interval = interval;
    return o;
  }
  // Starts the keeper and waits until it has opened its store.
  void start(HistoryKeeperOptions o) {
    HistoryKeeper::Callbacks callbacks;
    callbacks.on_health = [this](const HistoryHealth& h) { health_ = h; };
    callbacks.on_verdicts = [this](HistoryKeeper::Verdicts v) {
      ++passes_;
      for (auto& [id, summary] : v) verdicts_[id.pid] = summary;
    };
    keeper_ = std::make_unique<HistoryKeeper>(io_, std::move(o), std::move(callbacks));
    ASSERT_TRUE(run_loop_until(io_, [&] { return health_ && health_->state != HistoryHealth::State::opening; }));
  }
  // The store's series of `id`, asked through the keeper and answered on the loop.
  Result<std::vector<Reading>> series(const ProcessId& id) {
    std::optional<Result<std::vector<Reading>>> got;
    EXPECT_TRUE(keeper_->query([id, &got](HistoryStore* store) -> HistoryKeeper::LoopContinuation {
      Result<std::vector<Reading>> r = store ? store->series(id) : Result<std::vector<Reading>>(Status::failure("none"));
      return [r, &got] { got = r; };
    }));
    EXPECT_TRUE(run_loop_until(io_, [&] { return got.has_value(); }));
    return got ? *got : Result<std::vector<Reading>>(Status::failure("no answer"));
  }
  Result<std::vector<WatchedProcess>> processes() {
    std::optional<Result<std::vector<WatchedProcess>>> got;
    EXPECT_TRUE(keeper_->query([&got](HistoryStore* store) -> HistoryKeeper::LoopContinuation {
      auto r = store ? store->processes() : Result<std::vector<WatchedProcess>>(Status::failure("none"));
      return [r, &got] { got = r; };
    }));
    EXPECT_TRUE(run_loop_until(io_, [&] { return got.has_value(); }));
    return got ? *got : Result<std::vector<WatchedProcess>>(Status::failure("no answer"));
  }

  memproxy::testing::TempDir dir_;
  boost::asio::io_context io_;
  std::optional<HistoryHealth> health_;
  std::map<pid_t, memproxy::heap_query::Verdict> verdicts_;
  int passes_ = 0;  // verdict passes posted back
  std::unique_ptr<HistoryKeeper> keeper_;
};

std::vector<Observation> tick(const WatchedProcess& p, int64_t t, uint64_t live) {
  Reading s;
  s.unix_ns = t;
  s.live_bytes = live;
  s.rss_bytes = live + (8u << 20);
  return {Observation{p, s}};
}

TEST_F(HistoryKeeperTest, RecordsTicksAndAnswersQueriesOnTheLoop) {
  start(options());
  EXPECT_EQ(health_->state, HistoryHealth::State::recording);
  EXPECT_TRUE(keeper_->accepting());
  const WatchedProcess p = process(41, 1000);
  const int64_t t0 = now_ns();
  for (int i = 0; i < 5; ++i) keeper_->record(tick(p, t0 + i * 100'000'000LL, 1000 + i));
  Result<std::vector<Reading>> got = series(id_of(p));
  ASSERT_TRUE(got) << got.error();
  ASSERT_EQ(got->size(), 5u);
  EXPECT_EQ(got->back().live_bytes, 1004u);

  keeper_->ended(id_of(p), t0 + 1'000'000'000);
  auto kept = processes();
  ASSERT_TRUE(kept) << kept.error();
  ASSERT_EQ(kept->size(), 1u);
  EXPECT_EQ((*kept)[0].ended_unix_ns, t0 + 1'000'000'000);
}

TEST_F(HistoryKeeperTest, AStalledWriterDropsAndCountsWhatOverflowsAndPostingNeverWaits) {
  HistoryKeeperOptions o = options();
  o.max_pending_ticks = 8;
  o.max_pending_queries = 2;
  o.maintenance_interval = 100ms;  // which reports the health, drops included
  start(o);
  const WatchedProcess p = process(42, 1000);
  const int64_t t0 = now_ns();
  WorkerGate gate;
  ASSERT_TRUE(gate.close(*keeper_));
  // Posted from another thread while the worker stays held: posting that
  // waited for the worker would never finish.
  int answered = 0;  // on the loop, this thread
  auto posting = std::async(std::launch::async, [&] {
    for (int i = 0; i < 200; ++i) keeper_->record(tick(p, t0 + i * 1'000'000LL, 1));
    int accepted = 0;
    for (int i = 0; i < 5; ++i) {
      accepted += keeper_->query([&answered](HistoryStore*) -> HistoryKeeper::LoopContinuation {
        return [&answered] { ++answered; };
      });
    }
    return accepted;
  });
  if (posting.wait_for(60s) != std::future_status::ready) {
    gate.open();  // the future's destructor waits for the posting thread
    FAIL() << "posting waits for the stalled worker";
  }
  // The worker took nothing meanwhile: exactly what overflowed is counted,
  // and queries beyond the bound are refused at once.
  EXPECT_EQ(keeper_->dropped_observations(), 200u - 8u);
  EXPECT_EQ(posting.get(), 2);
  // What was queued is recorded and answered once the worker moves again:
  // the oldest ticks, the queries accepted.
  gate.open();
  ASSERT_TRUE(run_loop_until(io_, [&] { return answered == 2; }));
  auto kept = series(id_of(p));
  ASSERT_TRUE(kept) << kept.error();
  ASSERT_EQ(kept->size(), 8u);
  EXPECT_EQ(kept->back().unix_ns, t0 + 7 * 1'000'000LL);
  // The count reaches the loop in the keeper's health (memproxyctl status shows it).
  EXPECT_TRUE(run_loop_until(io_, [&] { return health_ && health_->dropped_observations == 200u - 8u; }))
      << (health_ ? health_->dropped_observations : 0);
}

// Each tick drained at stop waits the busy timeout (300 ms) on a locked
// database and fails: 600 of them unbounded would take three minutes; the
// deadline stops the drain after about a second (the transaction under
// way, then the deadline's worth). A minute tells the two apart on any machine.
TEST_F(HistoryKeeperTest, StoppingWithALockedDatabaseIsBounded) {
  HistoryKeeperOptions o = options();
  o.stop_deadline = 500ms;
  start(o);
  LockedDatabase lock(dir_ / "history.sqlite");
  ASSERT_TRUE(lock.held()) << lock.error();
  const WatchedProcess p = process(43, 1000);
  WorkerGate gate;
  ASSERT_TRUE(gate.close(*keeper_));
  for (size_t i = 0; i < o.max_pending_ticks; ++i) keeper_->record(tick(p, now_ns() + static_cast<int64_t>(i), 1));
  auto stopped = std::async(std::launch::async, [&] { keeper_.reset(); });
  gate.open();
  EXPECT_EQ(stopped.wait_for(60s), std::future_status::ready) << "the stop drains past its deadline";
}

// `seconds` of two processes' heaps sampled every 100 ms and ending now,
// one growing 1 MiB/s and one flat, each with the same small wobble.
void record_pair(HistoryKeeper& keeper, const WatchedProcess& leaking, const WatchedProcess& other, int seconds,
                 bool other_leaks) {
  const int64_t t0 = now_ns() - seconds * 1'000'000'000LL;
  for (int i = 0; i < seconds * 10; ++i) {
    const uint64_t wobble = (static_cast<uint64_t>(i) * 7919u % 13u) * 4096u;
    const uint64_t grown = (1u << 20) * static_cast<uint64_t>(i) / 10;
    std::vector<Observation> both = tick(leaking, t0 + i * 100'000'000LL, (64u << 20) + grown + wobble);
    both.push_back(tick(other, t0 + i * 100'000'000LL, (64u << 20) + (other_leaks ? grown : 0) + wobble)[0]);
    keeper.record(std::move(both));
  }
}

TEST_F(HistoryKeeperTest, VerdictsOfRunningProcessesArePostedBackWithEverySummaryField) {
  HistoryKeeperOptions o = fast_verdicts(200ms);
  start(o);
  const int64_t long_ago = now_ns() - 3'600'000'000'000LL;
  WatchedProcess leaking = process(44, 1000);
  WatchedProcess steady = process(45, 1000);
  leaking.started_unix_ns = steady.started_unix_ns = long_ago;
  record_pair(*keeper_, leaking, steady, 36, false);
  // Passes may run while the ticks are still being recorded (the first one
  // as soon as the first tick is): the one that saw them all says growing.
  ASSERT_TRUE(run_loop_until(io_, [&] {
    return verdicts_[44].trend == "growing" && verdicts_[44].observed_s >= 35 && verdicts_[45].observed_s >= 35;
  })) << verdicts_[44].trend << ", observed " << verdicts_[44].observed_s << " s and " << verdicts_[45].observed_s << " s";
  const memproxy::heap_query::Verdict& grows = verdicts_[44];
  EXPECT_EQ(grows.trend, "growing");
  EXPECT_EQ(grows.finding, "growing");
  EXPECT_NEAR(grows.slope_bytes_per_hour, 3600.0 * (1 << 20), 0.1 * 3600.0 * (1 << 20));
  EXPECT_GT(grows.confidence, 0.999);
  EXPECT_GT(grows.mann_kendall_z, 3);
  EXPECT_GE(grows.observed_s, 35);
  EXPECT_GE(grows.analysed_s, 30);
  EXPECT_GT(grows.live_now_bytes, grows.live_at_start_bytes + (20u << 20));
  EXPECT_FALSE(grows.fragmentation_growing);
  const memproxy::heap_query::Verdict& flat = verdicts_[45];
  EXPECT_EQ(flat.trend, "stable");
  EXPECT_LT(flat.confidence, 0.999);
}

// A restarted daemon: the store holds the history of a process still
// running. Its verdict follows the new keeper's first tick, not a verdict
// interval later (an hour here), in which every view would say not judged
// and the leak metric would fall to 0.
TEST_F(HistoryKeeperTest, ARestartedKeeperJudgesAtItsFirstTickNotAnIntervalLater) {
  HistoryKeeperOptions o = fast_verdicts(200ms);
  start(o);
  WatchedProcess leaking = process(48, 1000);
  WatchedProcess steady = process(49, 1000);
  leaking.started_unix_ns = steady.started_unix_ns = now_ns() - 3'600'000'000'000LL;
  record_pair(*keeper_, leaking, steady, 36, false);
  ASSERT_TRUE(run_loop_until(io_, [&] { return verdicts_[48].trend == "growing"; })) << verdicts_[48].trend;
  keeper_.reset();
  verdicts_.clear();

  o.verdict_interval = std::chrono::hours(1);
  start(o);
  // The next tick as record_pair would have recorded it: the leak goes on.
  std::vector<Observation> now = tick(leaking, now_ns(), (64u << 20) + (1u << 20) * 361 / 10);
  now.push_back(tick(steady, now_ns(), 64u << 20)[0]);
  keeper_->record(std::move(now));
  ASSERT_TRUE(run_loop_until(io_, [&] { return verdicts_.count(48) == 1; }))
      << "no verdict within the loop's deadline: the first pass waited for the interval";
  EXPECT_EQ(verdicts_[48].trend, "growing");
  EXPECT_EQ(verdicts_[49].trend, "stable");
}

// A young fast leak judged growing, then a restart after which the
// daemon was down so long that the fast test cannot judge what is left of
// its horizon (a gap in the history), while the full verdict is not due:
// the new keeper answers with the verdict the store kept, not "not judged"
// (which would reset an alert on the leak). What it measured itself (how
// long the process was watched) is its own.
TEST_F(HistoryKeeperTest, AVerdictKeptInTheStoreStandsAcrossARestartAndAGapInTheHistory) {
  constexpr int64_t kStep = 50'000'000;  // 50 ms: five samples a window at 60 times real time
  const int64_t started = now_ns() - 18'400'000'000LL;
  WatchedProcess leaking = process(51, 1000);
  leaking.started_unix_ns = started;
  // 15% of 64 MiB per 10 s (10 minutes at 60 times real time): a fast leak.
  auto sample_at = [&](int64_t t) {
    Reading s;
    s.unix_ns = t;
    s.live_bytes = (64u << 20) + static_cast<uint64_t>(0.015 * (64u << 20) * static_cast<double>(t - started) / 1e9);
    s.rss_bytes = s.live_bytes + (8u << 20);
    return s;
  };
  std::vector<Reading> before_gap;
  std::vector<Reading> after_gap;
  for (int64_t t = started; t <= started + 10'667'000'000LL; t += kStep) before_gap.push_back(sample_at(t));
  for (int64_t t = started + 14'667'000'000LL; t <= started + 18'333'000'000LL; t += kStep) after_gap.push_back(sample_at(t));
  // What the history says alone, after the gap: too little to judge on.
  std::vector<Reading> both = before_gap;
  both.insert(both.end(), after_gap.begin(), after_gap.end());
  const HistoryKeeperOptions o = fast_verdicts(1h);
  VerdictInput alone;
  alone.samples = both;
  alone.process_started_unix_ns = started;
  const LeakAnalysis gap = analyse_leak(alone, o.verdict);
  ASSERT_EQ(gap.trend, Trend::not_enough_data);
  ASSERT_EQ(gap.finding, Finding::history_gap);

  auto record_directly = [&](std::span<const Reading> samples) {
    Result<HistoryStore> store = HistoryStore::open(o.path);
    ASSERT_TRUE(store) << store.error();
    std::vector<Observation> observations;
    for (const Reading& s : samples) observations.push_back({leaking, s});
    ASSERT_TRUE(store.value().record_batch(observations));
  };
  record_directly(std::span(before_gap).first(before_gap.size() - 1));
  start(o);
  keeper_->record({Observation{leaking, before_gap.back()}});
  ASSERT_TRUE(run_loop_until(io_, [&] { return passes_ == 1; }));
  ASSERT_EQ(verdicts_[51].trend, "growing") << verdicts_[51].finding;
  const double judged_slope = verdicts_[51].slope_bytes_per_hour;
  keeper_.reset();
  verdicts_.clear();
  passes_ = 0;

  record_directly(std::span(after_gap).first(after_gap.size() - 1));
  start(o);
  keeper_->record({Observation{leaking, after_gap.back()}});
  ASSERT_TRUE(run_loop_until(io_, [&] { return passes_ == 1; }));
  EXPECT_EQ(verdicts_[51].trend, "growing") << verdicts_[51].finding;
  EXPECT_EQ(verdicts_[51].finding, "growing");
  EXPECT_EQ(verdicts_[51].slope_bytes_per_hour, judged_slope);
  EXPECT_EQ(verdicts_[51].observed_s, gap.observed_s);
}

// Only the first tick makes a pass due at once; after it, passes come once
// a verdict interval, however many ticks arrive.
TEST_F(HistoryKeeperTest, AfterTheFirstPassTheNextWaitsForTheInterval) {
  HistoryKeeperOptions o = fast_verdicts(std::chrono::hours(1));
  start(o);
  WatchedProcess p = process(50, 1000);
  keeper_->record(tick(p, now_ns(), 64u << 20));
  ASSERT_TRUE(run_loop_until(io_, [&] { return passes_ == 1; }));
  for (int i = 1; i <= 5; ++i) keeper_->record(tick(p, now_ns() + i, 64u << 20));
  // The worker takes one task and one verdict step a turn, and posts in
  // order: once three queries behind the ticks have been answered, a pass
  // those ticks had started would have posted its verdicts before them.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(processes());
  EXPECT_EQ(passes_, 1);
}

TEST_F(HistoryKeeperTest, TheWarmUpCountsFromTheProcessStartNotFromTheFirstSample) {
  HistoryKeeperOptions o = fast_verdicts(200ms);
  // The leaks are fast enough for the fast test, which has its own warm-up.
  o.verdict.fast_horizon_s = 0;
  start(o);
  // Two leaks seen for the same 33 s: one whose process started with its
  // first sample (5 s of warm-up leave 28 s, too short), and one started
  // long before, as one a restarted daemon finds (no warm-up to wait).
  WatchedProcess old = process(46, 1000);
  old.started_unix_ns = now_ns() - 3'600'000'000'000LL;
  WatchedProcess fresh = process(47, 1000);
  fresh.started_unix_ns = now_ns() - 33'000'000'000LL;
  record_pair(*keeper_, old, fresh, 33, true);
  ASSERT_TRUE(run_loop_until(io_, [&] { return verdicts_[46].trend == "growing"; })) << verdicts_[46].trend;
  EXPECT_GE(verdicts_[46].analysed_s, 30);
  // Judged in the same pass, on the same samples.
  EXPECT_EQ(verdicts_[47].trend, "not enough data");
  EXPECT_LT(verdicts_[47].analysed_s, 30);
}

// The daemon's real timescale: default parameters, and hours of one-second
// samples back-dated into the store, so that maintenance has summarised all
// but the last hour into one-minute windows. The verdict then sees both tiers
// (summaries, then samples); a horizon longer than the hour of samples is
// only analysed when the summaries reach the verdict.
TEST_F(HistoryKeeperTest, AtTheRealTimescaleTheVerdictJudgesHoursOfSummariesAndSamples) {
  constexpr int kHours = 3;
  constexpr int64_t kSecond = 1'000'000'000LL;
  const int64_t now = now_ns();
  const int64_t t0 = now - kHours * 3600 * kSecond;
  WatchedProcess leaking = process(60, t0 - 600 * kSecond);
  WatchedProcess steady = process(61, t0 - 600 * kSecond);
  {
    auto store = HistoryStore::open(dir_ / "history.sqlite");
    ASSERT_TRUE(store) << store.error();
    std::vector<Observation> all;
    all.reserve(2u * kHours * 3600u);
    for (int64_t i = 0; i < kHours * 3600; ++i) {
      // Allocations in flight come and go: a wobble of up to 2 MiB, above
      // a 64 MiB heap; the leak adds 16 MiB an hour.
      const uint64_t wobble = (static_cast<uint64_t>(i) * 7919u % 17u) * (128u << 10);
      const uint64_t grown = (16u << 20) * static_cast<uint64_t>(i) / 3600u;
      all.push_back(tick(leaking, t0 + i * kSecond, (64u << 20) + grown + wobble)[0]);
      all.push_back(tick(steady, t0 + i * kSecond, (64u << 20) + wobble)[0]);
    }
    ASSERT_TRUE(store.value().record_batch(all));
    Result<MaintenanceReport> report = store.value().maintain(now);
    ASSERT_TRUE(report) << report.error();
    EXPECT_GT(report->summaries_written, 2 * (kHours - 1) * 60 - 4);
    Result<ProcessHistory> kept = store.value().history(id_of(leaking));
    ASSERT_TRUE(kept) << kept.error();
    // Both tiers: minutes older than the hour of samples, then the samples.
    EXPECT_GE(kept->summaries.size(), static_cast<size_t>((kHours - 1) * 60 - 2));
    EXPECT_LE(kept->samples.size(), 3600u + 60u);  // whole minutes only are summarised
    EXPECT_GE(kept->samples.size(), 3500u);
  }
  HistoryKeeperOptions o = options();
  EXPECT_EQ(o.verdict.window_s, 60);
  EXPECT_EQ(o.verdict.min_duration_s, 1800);
  o.verdict_interval = 200ms;
  o.maintenance_interval = 100ms;
  start(o);
  std::vector<Observation> latest = tick(leaking, now, (64u << 20) + (16u << 20) * kHours);
  latest.push_back(tick(steady, now, 64u << 20)[0]);
  keeper_->record(std::move(latest));
  ASSERT_TRUE(run_loop_until(io_, [&] { return verdicts_.count(60) != 0 && verdicts_.count(61) != 0; }));
  const memproxy::heap_query::Verdict& grows = verdicts_[60];
  EXPECT_EQ(grows.trend, "growing") << grows.finding;
  EXPECT_EQ(grows.finding, "growing");
  // The whole span, not the last hour of samples.
  EXPECT_GT(grows.analysed_s, 3600);
  EXPECT_GE(grows.analysed_s, (kHours * 3600) * 9 / 10);
  EXPECT_GE(grows.observed_s, kHours * 3600 - 120);
  EXPECT_NEAR(grows.slope_bytes_per_hour, 16.0 * (1 << 20), 0.15 * 16.0 * (1 << 20));
  const memproxy::heap_query::Verdict& flat = verdicts_[61];
  EXPECT_EQ(flat.trend, "stable") << flat.finding;
  EXPECT_GT(flat.analysed_s, 3600);
}

// What the daemon runs with when nothing is given: the verdict at its real
// timescale, judged once a minute, over one sample a second.
TEST(DaemonDefaults, TheVerdictRunsAtTheRealTimescaleOnceAMinuteOverOneSampleASecond) {
  const char* argv[] = {"memproxyd"};
  memproxy::daemon::ParsedOptions parsed = memproxy::daemon::parse_options(1, argv);
  ASSERT_TRUE(parsed.options.has_value()) << parsed.exit_code;
  EXPECT_EQ(parsed.options->verdict_time_scale, 1);
  EXPECT_EQ(parsed.options->sample_interval, 1000ms);
  EXPECT_EQ(kVerdictInterval, 60'000ms);
  EXPECT_EQ(time_scaled(kVerdictInterval, parsed.options->verdict_time_scale), 60'000ms);
  const VerdictParameters scaled = time_scaled(VerdictParameters{}, parsed.options->verdict_time_scale);
  EXPECT_EQ(scaled.window_s, 60);
  EXPECT_EQ(scaled.warm_up_s, 300);
  EXPECT_EQ(scaled.min_duration_s, 1800);
  EXPECT_EQ(scaled.min_recent_horizon_s, 3600);
  EXPECT_EQ(scaled.max_span_s, 7 * 24 * 3600);
  EXPECT_EQ(scaled.fast_warm_up_s, 30);
  EXPECT_EQ(scaled.fast_horizon_s, 540);
  EXPECT_EQ(scaled.fast_history_s, 7200);
  EXPECT_EQ(scaled.fast_growth_period_s, 600);
  const VerdictParameters sixty_times = time_scaled(VerdictParameters{}, 60);
  EXPECT_EQ(sixty_times.fast_horizon_s, 9);
  EXPECT_EQ(sixty_times.fast_history_s, 120);
  EXPECT_EQ(sixty_times.fast_growth_period_s, 10);
  EXPECT_EQ(HistoryKeeperOptions{}.verdict_interval, 60'000ms);
  const RetentionPolicy retention;
  EXPECT_EQ(retention.raw_for_s, 3600);
  EXPECT_EQ(retention.summary_width_s, 60);
}

TEST_F(HistoryKeeperTest, ProcessesTheStoreBelievesRunningThatNoTickShowsAreMarkedEnded) {
  const WatchedProcess gone = process(48, 1000);
  const int64_t last = now_ns() - 60'000'000'000LL;
  {
    auto store = HistoryStore::open(dir_ / "history.sqlite");
    ASSERT_TRUE(store) << store.error();
    ASSERT_TRUE(store.value().record(gone, tick(gone, last, 5)[0].sample));
  }
  start(options());
  const WatchedProcess running = process(49, 2000);
  keeper_->record(tick(running, now_ns(), 7));
  auto kept = processes();
  ASSERT_TRUE(kept) << kept.error();
  ASSERT_EQ(kept->size(), 2u);
  for (const WatchedProcess& p : *kept) {
    EXPECT_EQ(p.ended_unix_ns, id_of(p) == id_of(gone) ? last : 0) << p.pid;
  }
}

TEST_F(HistoryKeeperTest, AnUnusablePathLeavesItUnavailableAndQueriesWithoutAStore) {
  dir_.write("file", "not a directory");
  HistoryKeeperOptions o = options();
  o.path = dir_ / "file/history.sqlite";
  start(o);
  EXPECT_EQ(health_->state, HistoryHealth::State::unavailable);
  EXPECT_NE(health_->problem.find("file"), std::string::npos) << health_->problem;
  EXPECT_FALSE(keeper_->accepting());
  keeper_->record(tick(process(50, 1), now_ns(), 1));
  EXPECT_EQ(keeper_->dropped_observations(), 0u);
  EXPECT_FALSE(series(id_of(process(50, 1))));
}

TEST_F(HistoryKeeperTest, AGroupWritableDirectoryIsRefused) {
  ASSERT_EQ(::chmod(dir_.path().c_str(), 0770), 0);
  start(options());
  EXPECT_EQ(health_->state, HistoryHealth::State::unavailable);
  EXPECT_NE(health_->problem.find("writable by its group"), std::string::npos) << health_->problem;
}

TEST_F(HistoryKeeperTest, AMissingDirectoryIsCreatedPrivate) {
  HistoryKeeperOptions o = options();
  o.path = dir_ / "state/history.sqlite";
  start(o);
  EXPECT_EQ(health_->state, HistoryHealth::State::recording) << health_->problem;
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "state").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
}

TEST_F(HistoryKeeperTest, ADamagedDatabaseIsMovedAsideAndRecordingGoesOn) {
  dir_.write("history.sqlite", std::string(8192, 'x'));
  start(options());
  EXPECT_EQ(health_->state, HistoryHealth::State::recording);
  EXPECT_NE(health_->problem.find(".corrupt"), std::string::npos) << health_->problem;
  EXPECT_TRUE(std::ifstream(dir_ / "history.sqlite.corrupt").good());
  const WatchedProcess p = process(51, 1000);
  keeper_->record(tick(p, now_ns(), 3));
  auto got = series(id_of(p));
  ASSERT_TRUE(got) << got.error();
  EXPECT_EQ(got->size(), 1u);
}

}  // namespace
