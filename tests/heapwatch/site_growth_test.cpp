// One site's growth from its snapshots: the slope, the confidence, and
// what must not count as growth.
#include "heapwatch/analysis/site_growth.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace memproxy::heapwatch {
namespace {

constexpr int64_t kMinute = int64_t{60} * 1000000000;

std::vector<SitePoint> series(size_t n, double start, double per_minute) {
  std::vector<SitePoint> points;
  for (size_t i = 0; i < n; ++i) points.push_back({static_cast<int64_t>(i) * kMinute + 5, start + per_minute * i});
  return points;
}

TEST(SiteGrowth, SteadyGrowthIsFoundWithItsRate) {
  SiteGrowth g = estimate_growth(series(60, 1 << 20, 64 * 1024));
  EXPECT_TRUE(g.growing);
  EXPECT_NEAR(g.bytes_per_hour, 60.0 * 64 * 1024, 1e-6);
  EXPECT_GT(g.confidence, 0.9999);
  EXPECT_EQ(g.points, 60u);
}

TEST(SiteGrowth, AStaircaseOfSamplesIsGrowth) {
  // A leak seen through sampling: a sample more every fourth snapshot.
  std::vector<SitePoint> points;
  for (int i = 0; i < 60; ++i) points.push_back({i * kMinute, 600000.0 * (i / 4)});
  SiteGrowth g = estimate_growth(points);
  EXPECT_TRUE(g.growing);
  EXPECT_NEAR(g.bytes_per_hour, 600000.0 * 15, 600000.0 * 2);
}

TEST(SiteGrowth, ConstantIsNotGrowth) {
  SiteGrowth g = estimate_growth(series(60, 5 << 20, 0));
  EXPECT_FALSE(g.growing);
  EXPECT_EQ(g.bytes_per_hour, 0);
  EXPECT_LE(g.confidence, 0.5);
}

TEST(SiteGrowth, ShrinkingIsNotGrowth) {
  SiteGrowth g = estimate_growth(series(60, 100 << 20, -(1 << 20)));
  EXPECT_FALSE(g.growing);
  EXPECT_LT(g.bytes_per_hour, 0);
  EXPECT_LT(g.confidence, 0.01);
}

TEST(SiteGrowth, OneBurstMovesNeitherSlopeNorVerdict) {
  std::vector<SitePoint> points = series(60, 8 << 20, 0);
  points[40].estimated_bytes = 900 << 20;  // allocated and freed between two snapshots
  SiteGrowth g = estimate_growth(points);
  EXPECT_FALSE(g.growing);
  EXPECT_EQ(g.bytes_per_hour, 0);
}

TEST(SiteGrowth, AlternatingNoiseIsNotGrowth) {
  std::vector<SitePoint> points;
  for (int i = 0; i < 60; ++i) points.push_back({i * kMinute, (i % 2 ? 12.0 : 8.0) * (1 << 20)});
  EXPECT_FALSE(estimate_growth(points).growing);
}

TEST(SiteGrowth, TooFewPointsGiveNoEstimate) {
  SiteGrowth g = estimate_growth(series(9, 0, 10 << 20));
  EXPECT_FALSE(g.growing);
  EXPECT_EQ(g.points, 0u);
  EXPECT_EQ(g.bytes_per_hour, 0);
  EXPECT_EQ(g.confidence, 0);
  EXPECT_TRUE(estimate_growth(series(10, 0, 10 << 20)).growing);
  EXPECT_FALSE(estimate_growth({}).growing);
}

TEST(SiteGrowth, GrowthBelowTheMinimumRiseIsNoise) {
  // 100 KiB over the hour, certain but immaterial.
  SiteGrowth g = estimate_growth(series(60, 1 << 20, 100 * 1024 / 59.0));
  EXPECT_GT(g.confidence, 0.999);
  EXPECT_FALSE(g.growing);
  SiteGrowthParameters fine;
  fine.min_rise_bytes = 64 * 1024;
  EXPECT_TRUE(estimate_growth(series(60, 1 << 20, 100 * 1024 / 59.0), fine).growing);
}

// The process verdict's plateau rules: growth that is over is not growth.
TEST(SiteGrowth, ACacheThatFilledAndStoppedIsNotGrowing) {
  std::vector<SitePoint> points;
  for (int i = 0; i < 60; ++i) points.push_back({i * kMinute, (1 << 20) + 256.0 * 1024 * std::min(i, 35)});
  SiteGrowth g = estimate_growth(points);
  EXPECT_GT(g.confidence, 0.999);
  EXPECT_GT(g.bytes_per_hour, 4 << 20);
  EXPECT_FALSE(g.growing);
  EXPECT_TRUE(g.levelled);
}

TEST(SiteGrowth, AStepIsNotGrowing) {
  std::vector<SitePoint> points;
  for (int i = 0; i < 60; ++i) points.push_back({i * kMinute, i < 30 ? 2.0 * (1 << 20) : 40.0 * (1 << 20)});
  SiteGrowth g = estimate_growth(points);
  EXPECT_FALSE(g.growing);
}

TEST(SiteGrowth, AConfidentMaterialFallIsShrinking) {
  SiteGrowth g = estimate_growth(series(60, 100 << 20, -(64 * 1024)));
  EXPECT_TRUE(g.shrinking);
  EXPECT_FALSE(g.growing);
  EXPECT_FALSE(estimate_growth(series(60, 100 << 20, -(1024))).shrinking) << "60 KiB over the hour is immaterial";
  EXPECT_FALSE(estimate_growth(series(60, 1 << 20, 64 * 1024)).shrinking);
}

}  // namespace
}  // namespace memproxy::heapwatch
