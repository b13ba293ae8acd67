// A process's call sites over time: one leaking site among stable and
// churning ones ranked first, the bounds on what is kept, displacement,
// and reading a real (and a hostile) sample section through observe().
#include "heapwatch/analysis/site_history.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <vector>

namespace memproxy::heapwatch {
namespace site_history_test {

constexpr int64_t kSecond = 1000000000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr uint64_t kMean = 512 * 1024;

void add(std::vector<heap::Sample>& samples, const Stack& stack, size_t count, uint64_t size) {
  for (size_t i = 0; i < count; ++i) {
    heap::Sample s;
    s.address = 0x100000 + samples.size() * 64;
    s.size = size;
    s.mean_bytes = kMean;
    s.allocated_unix_ns = 1;
    s.pcs = stack;
    samples.push_back(std::move(s));
  }
}

const Stack kBig{0x401000, 0x402000};     // the largest site, stable
const Stack kLeak{0x401000, 0x403000};    // grows by a sample every other minute
const Stack kChurn{0x401000, 0x404000};   // comes and goes
Stack stable(int i) { return {0x500000 + 16 * static_cast<uint64_t>(i)}; }

std::vector<heap::Sample> world(int minute, std::mt19937_64& random) {
  std::vector<heap::Sample> samples;
  add(samples, kBig, 200, 1 << 20);
  for (int i = 0; i < 5; ++i) add(samples, stable(i), 20, 64 * 1024);
  add(samples, kLeak, static_cast<size_t>(minute / 2), 256 * 1024);
  add(samples, kChurn, std::uniform_int_distribution<size_t>(10, 30)(random), 128 * 1024);
  return samples;
}

TEST(SiteHistory, TheLeakingSiteComesFirst) {
  SiteHistory history;
  std::mt19937_64 random(7);
  for (int m = 0; m < 60; ++m) history.update(world(m, random), m * kMinute);
  EXPECT_EQ(history.snapshots(), 60u);
  std::vector<RankedSite> ranked = history.ranked(100);
  ASSERT_EQ(ranked.size(), 8u);

  EXPECT_EQ(ranked[0].site.stack, kLeak);
  EXPECT_TRUE(ranked[0].growth.growing);
  // 29 samples more over 59 minutes, each standing for w(256 KiB).
  const double per_hour = 29.0 / 59 * 60 * heap::estimated_bytes(256 * 1024, kMean);
  EXPECT_NEAR(ranked[0].growth.bytes_per_hour, per_hour, per_hour * 0.15);
  EXPECT_EQ(ranked[0].series.size(), 58u);  // tracked from its first sample, at minute 2
  EXPECT_EQ(ranked[0].first_seen_unix_ns, 2 * kMinute);

  // Then by bytes: the big one, the five stable ones and the churn, none growing.
  EXPECT_EQ(ranked[1].site.stack, kBig);
  for (size_t i = 1; i < ranked.size(); ++i) {
    EXPECT_FALSE(ranked[i].growth.growing) << i;
    if (i > 1) {
      EXPECT_LE(ranked[i].site.estimated_bytes, ranked[i - 1].site.estimated_bytes) << i;
    }
  }
  EXPECT_NEAR(ranked[1].site.estimated_bytes, 200 * heap::estimated_bytes(1 << 20, kMean), 1);  // summed one by one
  EXPECT_EQ(history.ranked(3).size(), 3u);
}

TEST(SiteHistory, SnapshotsOnlyWhenDue) {
  SiteHistory history;
  std::mt19937_64 random(1);
  for (int s = 0; s < 600; s += 10) history.update(world(0, random), s * kSecond);
  EXPECT_EQ(history.snapshots(), 10u);  // one a minute over ten minutes
  EXPECT_EQ(history.read_unix_ns(), 590 * kSecond);
}

TEST(SiteHistory, AClockSteppedBackRestarts) {
  SiteHistory history;
  std::mt19937_64 random(1);
  for (int m = 10; m < 20; ++m) history.update(world(m, random), m * kMinute);
  EXPECT_EQ(history.snapshots(), 10u);
  history.update(world(20, random), 5 * kMinute);
  EXPECT_EQ(history.snapshots(), 1u);
  for (const RankedSite& r : history.ranked(100)) EXPECT_EQ(r.series.size(), 1u);
}

// The verdict's warm-up holds for sites too: a cache filled in the first
// minutes after the start, then flat, has no growth at all, though its
// series (all of it shown) rises; the same history of a process whose start
// is unknown reads the fill.
TEST(SiteHistory, SnapshotsInTheWarmUpDoNotCountTowardGrowth) {
  auto reading = [](int minute) {
    std::vector<heap::Sample> samples;
    add(samples, kLeak, static_cast<size_t>(std::min(minute, 12) * 4), 256 * 1024);  // fills for 12 minutes
    add(samples, kBig, 50, 1 << 20);
    return samples;
  };
  SiteHistoryLimits limits;
  limits.warm_up_ns = 13 * kMinute;
  SiteHistory warmed(limits);
  warmed.set_started(0);  // unknown: nothing is warm-up
  SiteHistory started(limits);
  started.set_started(1);  // started a nanosecond after the epoch: the first 13 minutes are warm-up
  for (int m = 0; m < 24; ++m) {
    warmed.update(reading(m), m * kMinute);
    started.update(reading(m), m * kMinute);
  }
  auto leak_of = [](const std::vector<RankedSite>& sites) {
    return std::find_if(sites.begin(), sites.end(), [](const RankedSite& r) { return r.site.stack == kLeak; });
  };
  const std::vector<RankedSite> all = warmed.ranked(10);
  ASSERT_NE(leak_of(all), all.end());
  const RankedSite unknown = *leak_of(all);
  EXPECT_EQ(unknown.growth.points, 23u) << "the fill is read";
  EXPECT_GT(unknown.growth.bytes_per_hour, 0);
  const std::vector<RankedSite> ranked = started.ranked(10);
  auto leak = leak_of(ranked);
  ASSERT_NE(leak, ranked.end());
  EXPECT_FALSE(leak->growth.growing);
  EXPECT_FALSE(leak->growth.levelled);
  EXPECT_EQ(leak->growth.bytes_per_hour, 0);
  EXPECT_EQ(leak->growth.points, 10u);  // minutes 14..23: the warm-up ends a nanosecond past minute 13
  EXPECT_EQ(leak->series.size(), 23u);  // all shown, from its first sample at minute 1

  // Still within the warm-up: no snapshot counts, none is estimated.
  SiteHistoryLimits young_limits;
  young_limits.warm_up_ns = 60 * kMinute;
  SiteHistory young(young_limits);
  young.set_started(1);
  for (int m = 0; m < 24; ++m) young.update(reading(m), m * kMinute);
  for (const RankedSite& r : young.ranked(10)) {
    EXPECT_EQ(r.growth.points, 0u);
    EXPECT_FALSE(r.series.empty());
  }
}

// What an earlier daemon kept of a process's sites, as a restarted one
// gets it: the ranking of its history, through the wire.
std::vector<KeptSite> kept_of(const SiteHistory& earlier) {
  std::vector<KeptSite> kept;
  for (const RankedSite& r : earlier.ranked(100)) kept.push_back({r.site.stack, r.first_seen_unix_ns, r.series});
  return kept;
}

// A restarted daemon's history goes on from the kept one: the leak is
// growing again at its first reading after the restart, its series runs
// from before the restart, and the gap the restart left stays a gap in
// time, not missing snapshots moved together.
TEST(SiteHistory, AResumedHistoryGoesOnFromTheKeptOne) {
  std::mt19937_64 random(7);
  SiteHistory earlier;
  for (int m = 0; m < 40; ++m) earlier.update(world(m, random), m * kMinute);
  const std::vector<KeptSite> kept = kept_of(earlier);

  // The daemon was down from minute 40 to 45; it read the process once
  // before what was kept came back from the history.
  SiteHistory resumed;
  resumed.update(world(45, random), 45 * kMinute);
  ASSERT_FALSE(resumed.ranked(100).empty());
  EXPECT_FALSE(resumed.ranked(100)[0].growth.growing);
  resumed.resume(kept);
  EXPECT_EQ(resumed.snapshots(), 41u);
  std::vector<RankedSite> ranked = resumed.ranked(100);
  ASSERT_FALSE(ranked.empty());
  EXPECT_EQ(ranked[0].site.stack, kLeak);
  EXPECT_TRUE(ranked[0].growth.growing);
  EXPECT_EQ(ranked[0].first_seen_unix_ns, 2 * kMinute);
  ASSERT_EQ(ranked[0].series.size(), 39u);  // minutes 2..39, then 45
  EXPECT_EQ(ranked[0].series.front().unix_ns, 2 * kMinute);
  EXPECT_EQ(ranked[0].series[37].unix_ns, 39 * kMinute);
  EXPECT_EQ(ranked[0].series.back().unix_ns, 45 * kMinute);
  // The resumed sites carry the reading of minute 45, not the kept values.
  EXPECT_EQ(ranked[0].site.samples, 22u);
  // And it goes on as any history does.
  for (int m = 46; m < 70; ++m) resumed.update(world(m, random), m * kMinute);
  EXPECT_EQ(resumed.snapshots(), 60u);
  EXPECT_EQ(resumed.ranked(1)[0].series.size(), 60u);
  EXPECT_TRUE(resumed.ranked(1)[0].growth.growing);
}

// Resumed before its first reading, a history ranks the kept sites at
// their last kept values; a second resume, or kept snapshots newer than
// its own, add nothing.
TEST(SiteHistory, AFreshHistoryTakesTheKeptSitesAndNothingTwice) {
  std::mt19937_64 random(3);
  SiteHistory earlier;
  for (int m = 0; m < 30; ++m) earlier.update(world(m, random), m * kMinute);
  const std::vector<KeptSite> kept = kept_of(earlier);
  SiteHistory resumed;
  resumed.resume(kept);
  EXPECT_EQ(resumed.snapshots(), 30u);
  std::vector<RankedSite> ranked = resumed.ranked(100);
  ASSERT_EQ(ranked.size(), earlier.ranked(100).size());
  EXPECT_EQ(ranked[0].site.stack, kLeak);
  EXPECT_TRUE(ranked[0].growth.growing);
  EXPECT_EQ(ranked[0].series, earlier.ranked(100)[0].series);
  resumed.resume(kept);
  EXPECT_EQ(resumed.snapshots(), 30u);
  EXPECT_EQ(resumed.ranked(100)[0].series.size(), ranked[0].series.size());
}

// What was kept may be wrong in every way (an older daemon's, a damaged
// row): times out of order or repeated, a series that is not the last of
// the kept times, negative or absurd values, empty or over-long stacks.
// Each such site is left out; the history's invariants hold.
TEST(SiteHistory, KeptSitesThatBreakTheInvariantsAreLeftOut) {
  SiteHistoryLimits limits;
  limits.snapshots = 5;
  SiteHistory history(limits);
  const Stack good{1}, hole{2}, negative{3}, huge{4}, empty{}, deep(heap::kMaxFrames + 1, 5);
  std::vector<KeptSite> kept{
      {good, 0, {{1, 10}, {2, 20}, {3, 30}, {4, 40}, {5, 50}, {6, 60}, {7, 70}}},
      {hole, 0, {{1, 10}, {3, 30}}},  // not the last of the kept times
      {negative, 0, {{6, -1}, {7, 5}}},
      {huge, 0, {{7, 1e30}}},
      {empty, 0, {{7, 5}}},
      {deep, 0, {{7, 5}}},
  };
  history.resume(kept);
  EXPECT_EQ(history.snapshots(), 5u);
  std::vector<RankedSite> ranked = history.ranked(100);
  ASSERT_EQ(ranked.size(), 1u);
  EXPECT_EQ(ranked[0].site.stack, good);
  ASSERT_EQ(ranked[0].series.size(), 5u);
  EXPECT_EQ(ranked[0].series.front().unix_ns, 3);
  EXPECT_EQ(ranked[0].series.back().estimated_bytes, 70);
  EXPECT_LE(history.memory_bytes(), SiteHistory::memory_bound(limits));
}

TEST(SiteHistory, ABiggerSiteDisplacesTheSmallest) {
  SiteHistoryLimits limits;
  limits.tracked_sites = 2;
  limits.snapshots = 3;
  SiteHistory history(limits);
  auto reading = [](std::vector<std::pair<Stack, size_t>> sites) {
    std::vector<heap::Sample> samples;
    for (auto& [stack, count] : sites) add(samples, stack, count, 1 << 20);
    return samples;
  };
  const Stack a{1}, b{2}, c{3};
  history.update(reading({{a, 10}, {b, 5}}), 0);
  history.update(reading({{a, 10}, {b, 5}, {c, 7}}), kMinute);
  std::vector<RankedSite> ranked = history.ranked(10);
  ASSERT_EQ(ranked.size(), 2u);
  EXPECT_EQ(ranked[0].site.stack, a);
  EXPECT_EQ(ranked[0].series.size(), 2u);
  EXPECT_EQ(ranked[1].site.stack, c);
  EXPECT_EQ(ranked[1].series.size(), 1u);
  EXPECT_EQ(history.sites(), 3u);  // every site of the reading is counted

  // A smaller newcomer does not displace anyone.
  history.update(reading({{a, 10}, {c, 7}, {b, 1}}), 2 * kMinute);
  EXPECT_EQ(history.ranked(10)[1].site.stack, c);

  // A tracked site that is gone stays, at 0, until its values are all 0.
  history.update(reading({{a, 10}}), 3 * kMinute);
  EXPECT_EQ(history.tracked(), 2u);
  EXPECT_EQ(history.ranked(10).size(), 1u);  // only sites with bytes now are ranked
  history.update(reading({{a, 10}}), 4 * kMinute);
  EXPECT_EQ(history.tracked(), 2u);  // c: 7, 0, 0
  history.update(reading({{a, 10}}), 5 * kMinute);
  EXPECT_EQ(history.tracked(), 1u);  // c: 0, 0, 0
}

// A process that makes every sample a site of its own, with the deepest
// stack, and new ones every minute: what is kept stays within the bound.
TEST(SiteHistory, MemoryStaysWithinTheBound) {
  EXPECT_LE(SiteHistory::memory_bound({}), 300u * 1024);
  SiteHistory history;
  std::mt19937_64 random(3);
  for (int m = 0; m < 100; ++m) {
    std::vector<heap::Sample> samples(heap::kSampleCapacity);
    for (heap::Sample& s : samples) {
      s.address = 1;
      s.size = 1 + random() % (1 << 20);
      s.mean_bytes = kMean;
      s.pcs.resize(heap::kMaxFrames);
      for (uint64_t& pc : s.pcs) pc = random();
    }
    history.update(samples, m * kMinute);
    ASSERT_LE(history.tracked(), 256u);
    ASSERT_LE(history.snapshots(), 60u);
    ASSERT_LE(history.memory_bytes(), SiteHistory::memory_bound({})) << m;
  }
  EXPECT_EQ(history.tracked(), 256u);
  EXPECT_EQ(history.sites(), heap::kSampleCapacity);
}

TEST(SiteHistory, LimitsAreClamped) {
  SiteHistoryLimits absurd;
  absurd.snapshots = 1u << 30;
  absurd.tracked_sites = 1u << 30;
  absurd.snapshot_interval_ns = -5;
  EXPECT_LE(SiteHistory::memory_bound(absurd), 2u * heap::kSampleCapacity * (heap::kMaxFrames * 8 + 1440 * 8 + 256));
  SiteHistory history(absurd);
  std::mt19937_64 random(1);
  history.update(world(4, random), 0);
  history.update(world(4, random), 1);
  EXPECT_EQ(history.snapshots(), 2u);
}

// A sample section as the library lays it out, written by hand.
struct Section {
  std::unique_ptr<heap::SampleSection> section = std::make_unique<heap::SampleSection>();
  void put(uint32_t record, const Stack& pcs, uint64_t size, uint16_t depth_claimed = 0) {
    heap::SampleRecord& r = section->records[record];
    r.sequence += 2;
    r.address = 0x1000 + record;
    r.size = size;
    r.mean_bytes = kMean;
    r.depth = depth_claimed != 0 ? depth_claimed : static_cast<uint16_t>(pcs.size());
    for (size_t i = 0; i < pcs.size() && i < heap::kMaxFrames; ++i) r.pcs[i] = pcs[i];
    ++section->changes;
  }
};

TEST(SiteHistory, ObserveReadsOnlyWhenDueOrAskedAndChanged) {
  Section s;
  s.put(0, {1, 2}, 4096);
  SiteHistory history;
  EXPECT_TRUE(history.observe(*s.section, 0));  // the first snapshot is due
  EXPECT_EQ(history.samples(), 1u);
  EXPECT_EQ(history.snapshots(), 1u);

  s.put(1, {1, 3}, 4096);
  EXPECT_FALSE(history.observe(*s.section, 10 * kSecond));  // changed, but nothing is due
  EXPECT_EQ(history.samples(), 1u);
  EXPECT_TRUE(history.observe(*s.section, 20 * kSecond, true));  // a query wants it now
  EXPECT_EQ(history.samples(), 2u);
  EXPECT_EQ(history.snapshots(), 1u);
  EXPECT_FALSE(history.observe(*s.section, 30 * kSecond, true));  // unchanged since

  // Unchanged at the next snapshot: the last reading stands for it.
  EXPECT_FALSE(history.observe(*s.section, 60 * kSecond));
  EXPECT_EQ(history.snapshots(), 2u);
  EXPECT_EQ(history.ranked(10)[0].series.size(), 2u);

  s.put(2, {1, 2}, 4096);
  EXPECT_TRUE(history.observe(*s.section, 120 * kSecond));
  EXPECT_EQ(history.snapshots(), 3u);
  EXPECT_EQ(history.ranked(10)[0].site.samples, 2u);
}

TEST(SiteHistory, AHostileSectionIsBounded) {
  Section s;
  Stack deep(heap::kMaxFrames, 7);
  s.put(0, deep, 4096, 65535);                // claims more frames than a record holds
  s.put(1, {1}, UINT64_MAX);                  // an absurd size
  s.put(2, {1}, 0);                           // none
  s.put(3, {2}, 64);
  s.section->records[3].mean_bytes = 0;       // not sampled: stands for itself
  s.put(4, {3}, 64);
  s.section->records[4].sequence |= 1;        // forever being written
  SiteHistory history;
  EXPECT_TRUE(history.observe(*s.section, 0));
  EXPECT_EQ(history.rejected_samples(), 2u);
  EXPECT_EQ(history.samples(), 2u);
  std::vector<RankedSite> ranked = history.ranked(10);
  ASSERT_EQ(ranked.size(), 2u);
  EXPECT_EQ(ranked[0].site.stack.size(), heap::kMaxFrames);
  EXPECT_EQ(ranked[1].site.stack, Stack{2});
  EXPECT_DOUBLE_EQ(ranked[1].site.estimated_bytes, 64);
}

}  // namespace site_history_test
}  // namespace memproxy::heapwatch
