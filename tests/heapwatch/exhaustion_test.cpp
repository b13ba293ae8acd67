// The exhaustion forecast: when a process's memory reaches what it may use,
// from its recent samples, and nothing for a steady process.
#include "heapwatch/analysis/exhaustion.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <vector>

namespace memproxy::heapwatch {
namespace exhaustion_test {

constexpr double kMiB = 1024.0 * 1024.0;
constexpr int64_t kSecond = 1'000'000'000LL;
constexpr int64_t kStart = 1'750'000'003LL * kSecond;

// One sample a second for `seconds`; live and RSS as functions of the time.
std::vector<Reading> samples(int64_t seconds, const std::function<double(double)>& live,
                            const std::function<double(double)>& rss) {
  std::vector<Reading> out;
  for (int64_t t = 0; t <= seconds; ++t) {
    Reading s;
    s.unix_ns = kStart + t * kSecond;
    s.live_bytes = static_cast<uint64_t>(live(static_cast<double>(t)));
    s.rss_bytes = static_cast<uint64_t>(rss(static_cast<double>(t)));
    out.push_back(s);
  }
  return out;
}

// Churn of about +-2 MiB, from second to second and over minutes.
double churn(double t) { return 2 * kMiB * (0.6 * std::sin(t * 0.9) + 0.4 * std::sin(t / 50.0)); }

TEST(Exhaustion, AGrowingProcessReachesItsLimitWhenItsSlopeSays) {
  // 600 MiB/h from 200 MiB under a 1 GiB limit: 824 MiB left, 82.4 minutes.
  const double rate = 600 * kMiB / 3600;
  auto rss = [&](double t) { return 200 * kMiB + rate * t + churn(t); };
  auto live = [&](double t) { return 150 * kMiB + rate * t + churn(t); };
  const std::vector<Reading> s = samples(600, live, rss);
  const uint64_t limit = 1024 * (1 << 20) + 200 * (1 << 20) + static_cast<uint64_t>(rate * 600);
  std::optional<Exhaustion> e = forecast_exhaustion(s, limit);
  ASSERT_TRUE(e);
  EXPECT_NEAR(e->slope_bytes_per_hour, 600 * kMiB, 0.05 * 600 * kMiB);
  const double seconds = static_cast<double>(e->at_unix_ns - s.back().unix_ns) / 1e9;
  EXPECT_NEAR(seconds, 1024.0 / 600 * 3600, 0.06 * 1024.0 / 600 * 3600);
  EXPECT_EQ(e->limit_bytes, limit);
}

TEST(Exhaustion, ASteadyProcessHasNoForecast) {
  auto flat = [](double t) { return 300 * kMiB + churn(t); };
  EXPECT_FALSE(forecast_exhaustion(samples(600, flat, flat), 512 * (1 << 20)));
  // Nor one whose memory went back down (a cache trimmed in the window).
  auto trimmed = [](double t) { return 300 * kMiB + (t < 500 ? t * 100 * 1024.0 : 0) + churn(t); };
  EXPECT_FALSE(forecast_exhaustion(samples(600, trimmed, trimmed), 512 * (1 << 20)));
}

TEST(Exhaustion, AHeapGrowingIntoKeptMemoryCountsBeforeItIsResident) {
  const double rate = 300 * kMiB / 3600;
  auto live = [&](double t) { return 100 * kMiB + rate * t + churn(t); };
  auto rss = [](double) { return 400 * kMiB; };  // the allocator kept 300 MiB from before
  std::optional<Exhaustion> e = forecast_exhaustion(samples(600, live, rss), 1024 * (1 << 20));
  ASSERT_TRUE(e);
  EXPECT_NEAR(e->slope_bytes_per_hour, 300 * kMiB, 0.05 * 300 * kMiB);
  EXPECT_EQ(e->resident_now_bytes, 400u << 20);
}

TEST(Exhaustion, TooLittleHistoryNoLimitOrTooFarAwayIsNoForecast) {
  const double rate = 600 * kMiB / 3600;
  auto grow = [&](double t) { return 200 * kMiB + rate * t; };
  EXPECT_FALSE(forecast_exhaustion(samples(60, grow, grow), 1024 * (1 << 20))) << "a minute is too little";
  EXPECT_TRUE(forecast_exhaustion(samples(120, grow, grow), 1024 * (1 << 20))) << "two minutes are enough";
  EXPECT_FALSE(forecast_exhaustion(samples(600, grow, grow), 0)) << "no limit known";
  ExhaustionParameters near;
  near.max_forecast_s = 600;
  EXPECT_FALSE(forecast_exhaustion(samples(600, grow, grow), 1024 * (1 << 20), near)) << "beyond the horizon";
  EXPECT_FALSE(forecast_exhaustion({}, 1024 * (1 << 20)));
}

TEST(Exhaustion, AProcessAtItsLimitIsForecastNow) {
  const double rate = 600 * kMiB / 3600;
  auto grow = [&](double t) { return 200 * kMiB + rate * t; };
  const std::vector<Reading> s = samples(600, grow, grow);
  std::optional<Exhaustion> e = forecast_exhaustion(s, 100 * (1 << 20));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->at_unix_ns, s.back().unix_ns);
}

}  // namespace exhaustion_test
}  // namespace memproxy::heapwatch
