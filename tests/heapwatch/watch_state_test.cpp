// The daemon's watch state over a registry and a history keeper with a
// real store: what is answered at once (a running process's recent
// samples), what comes later from the store (older history joined to the
// recent samples, ended processes), what a stalled store leaves the
// caller with (an answer within the patience), and the verdicts.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <optional>

#include "heapwatch/serve/watch_state.hpp"
#include "heapwatch_fixtures.hpp"
#include "temp_dir.hpp"
#include "worker_gate.hpp"

namespace {

using namespace memproxy::heapwatch;
using namespace std::chrono_literals;
using heapwatch_fixtures::process;
using heapwatch_fixtures::run_loop_until;
using heapwatch_fixtures::WorkerGate;

constexpr int64_t kSecond = 1'000'000'000;

Reading at(int64_t t, uint64_t live) {
  Reading s;
  s.unix_ns = t;
  s.live_bytes = live;
  return s;
}

class WatchStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HistoryKeeperOptions o;
    o.path = dir_ / "history.sqlite";
    o.store.busy_timeout_ms = 1000;
    HistoryKeeper::Callbacks callbacks;
    callbacks.on_health = [this](const HistoryHealth& h) { opened_ = h.state != HistoryHealth::State::opening; };
    keeper_ = std::make_unique<HistoryKeeper>(io_, o, callbacks);
    ASSERT_TRUE(run_loop_until(io_, [&] { return opened_; }));
  }
  // `p` running, its registry holding the samples at `from`..`to` seconds.
  void run(const WatchedProcess& p, int from, int to) {
    ASSERT_EQ(registry_.add(p, memproxy::heap::MappedAccount{}, nullptr), "");
    for (int i = from; i <= to; ++i) registry_.record(id_of(p), at(i * kSecond, static_cast<uint64_t>(i)), {});
  }
  // The store holding `p`'s samples at `from`..`to` seconds (a daemon's earlier ticks).
  void keep(const WatchedProcess& p, int from, int to) {
    for (int i = from; i <= to; ++i) keeper_->record({Observation{p, at(i * kSecond, static_cast<uint64_t>(i))}});
  }
  Result<std::vector<Reading>> history(const DaemonWatchState& state, const ProcessId& id, int64_t since) {
    std::optional<Result<std::vector<Reading>>> got;
    state.history(id, since, kForever, [&](Result<std::vector<Reading>> r) { got = std::move(r); });
    EXPECT_TRUE(run_loop_until(io_, [&] { return got.has_value(); }));
    return got ? *got : Result<std::vector<Reading>>(Status::failure("no answer"));
  }
  std::vector<WatchedProcess> known(const DaemonWatchState& state) {
    std::optional<Result<std::vector<WatchedProcess>>> got;
    state.known_processes([&](Result<std::vector<WatchedProcess>> r) { got = std::move(r); });
    EXPECT_TRUE(run_loop_until(io_, [&] { return got.has_value(); }));
    return got && *got ? got->value() : std::vector<WatchedProcess>{};
  }

  memproxy::testing::TempDir dir_;
  boost::asio::io_context io_;
  bool opened_ = false;
  Registry registry_;
  std::unique_ptr<HistoryKeeper> keeper_;
};

std::vector<int64_t> seconds_of(const std::vector<Reading>& samples) {
  std::vector<int64_t> out;
  for (const Reading& s : samples) out.push_back(s.unix_ns / kSecond);
  return out;
}

TEST_F(WatchStateTest, ASpanTheRecentSamplesCoverIsAnsweredAtOnce) {
  DaemonWatchState state(io_, registry_, keeper_.get());
  run(process(10, 1), 100, 110);
  bool answered = false;
  state.history(id_of(process(10, 1)), 105 * kSecond, kForever, [&](Result<std::vector<Reading>> r) {
    answered = true;
    ASSERT_TRUE(r);
    EXPECT_EQ(seconds_of(*r), (std::vector<int64_t>{105, 106, 107, 108, 109, 110}));
  });
  EXPECT_TRUE(answered) << "answered within the call, without the store";
}

TEST_F(WatchStateTest, OlderHistoryComesFromTheStoreJoinedToTheRecentSamplesOnce) {
  DaemonWatchState state(io_, registry_, keeper_.get());
  const WatchedProcess p = process(11, 1);
  keep(p, 100, 114);  // every tick goes to the store, the recent ones too
  run(p, 110, 114);
  Result<std::vector<Reading>> got = history(state, id_of(p), 0);
  ASSERT_TRUE(got) << got.error();
  std::vector<int64_t> expected;
  for (int64_t i = 100; i <= 114; ++i) expected.push_back(i);
  EXPECT_EQ(seconds_of(*got), expected);
}

TEST_F(WatchStateTest, EndedProcessesAndTheirHistoryComeFromTheStoreNewestFirst) {
  DaemonWatchState state(io_, registry_, keeper_.get());
  const WatchedProcess ended = process(12, 3000);
  keep(ended, 1, 3);
  keeper_->ended(id_of(ended), 4 * kSecond);
  run(process(13, 2000), 1, 2);
  run(process(14, 4000), 1, 2);
  std::vector<WatchedProcess> all = known(state);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].pid, 14);
  EXPECT_EQ(all[1].pid, 12);
  EXPECT_EQ(all[1].ended_unix_ns, 4 * kSecond);
  EXPECT_EQ(all[2].pid, 13);
  Result<std::vector<Reading>> got = history(state, id_of(ended), 0);
  ASSERT_TRUE(got) << got.error();
  EXPECT_EQ(seconds_of(*got), (std::vector<int64_t>{1, 2, 3}));
}

TEST_F(WatchStateTest, AStalledStoreIsAnsweredWithinThePatienceAndRecentStaysImmediate) {
  DaemonWatchState state(io_, registry_, keeper_.get(), 150ms);
  const WatchedProcess ended = process(15, 1);
  keep(ended, 1, 3);
  const WatchedProcess running = process(16, 2);
  run(running, 10, 12);
  ASSERT_TRUE(history(state, id_of(ended), 0));  // recorded before the stall
  // The worker is held (a disk that does not answer): only the patience can answer.
  WorkerGate gate;
  ASSERT_TRUE(gate.close(*keeper_));
  Result<std::vector<Reading>> late = history(state, id_of(ended), 0);
  ASSERT_FALSE(late);
  EXPECT_NE(late.error().find("did not answer within 150 ms"), std::string::npos) << late.error();
  // A running process: its recent samples, at once for a span they cover,
  // and instead of the store's when the store does not answer.
  bool answered = false;
  state.history(id_of(running), 10 * kSecond, kForever, [&](Result<std::vector<Reading>> r) { answered = r.ok(); });
  EXPECT_TRUE(answered);
  Result<std::vector<Reading>> whole = history(state, id_of(running), 0);
  ASSERT_TRUE(whole) << whole.error();
  EXPECT_EQ(seconds_of(*whole), (std::vector<int64_t>{10, 11, 12}));
  // The late answers arrive to nobody once the worker moves again: the
  // worker answers in order, so they have arrived when a later query's has.
  gate.open();
  Result<std::vector<Reading>> after = history(state, id_of(ended), 0);
  ASSERT_TRUE(after) << after.error();
  EXPECT_EQ(seconds_of(*after), (std::vector<int64_t>{1, 2, 3}));
}

TEST_F(WatchStateTest, WithoutAStoreOnlyRunningProcessesAndTheirRecentSamples) {
  DaemonWatchState state(io_, registry_, nullptr);
  run(process(17, 1), 5, 7);
  EXPECT_EQ(known(state).size(), 1u);
  Result<std::vector<Reading>> got = history(state, id_of(process(17, 1)), 0);
  ASSERT_TRUE(got);
  EXPECT_EQ(seconds_of(*got), (std::vector<int64_t>{5, 6, 7}));
  Result<std::vector<Reading>> none = history(state, id_of(process(18, 1)), 0);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST_F(WatchStateTest, ViewsCarryTheVerdictsOfWatchedProcessesOnly) {
  DaemonWatchState state(io_, registry_, keeper_.get());
  const WatchedProcess p = process(19, 1);
  run(p, 1, 31);
  ASSERT_EQ(state.views().size(), 1u);
  EXPECT_EQ(state.views()[0].verdict.trend, "not enough data");
  EXPECT_EQ(state.views()[0].verdict.observed_s, 30);
  memproxy::heap_query::Verdict growing;
  growing.trend = "growing";
  growing.slope_bytes_per_hour = 42;
  state.set_verdicts({{id_of(p), growing}, {id_of(process(20, 1)), growing}});
  EXPECT_EQ(state.views()[0].verdict.trend, "growing");
  EXPECT_EQ(state.views()[0].verdict.slope_bytes_per_hour, 42);
  state.forget(id_of(p));
  EXPECT_EQ(state.views()[0].verdict.trend, "not enough data");
}

}  // namespace
