// The trend statistics against values worked out by hand.
#include "heapwatch/analysis/trend_statistics.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

namespace memproxy::heapwatch {
namespace {

TEST(MannKendallTest, StrictlyIncreasing) {
  std::vector<double> v{1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  MannKendall mk = mann_kendall(v);
  EXPECT_EQ(mk.n, 10u);
  EXPECT_EQ(mk.s, 45);
  EXPECT_DOUBLE_EQ(mk.variance, 125.0);  // 10 * 9 * 25 / 18
  EXPECT_NEAR(mk.z, 44 / std::sqrt(125.0), 1e-12);
  EXPECT_NEAR(mk.p_value, std::erfc(mk.z / std::sqrt(2.0)), 1e-15);
  EXPECT_NEAR(mk.p_upward(), mk.p_value / 2, 1e-15);
}

TEST(MannKendallTest, TiesReduceTheVariance) {
  std::vector<double> v{1, 2, 2, 3};
  MannKendall mk = mann_kendall(v);
  EXPECT_EQ(mk.s, 5);
  EXPECT_NEAR(mk.variance, (4 * 3 * 13 - 2 * 1 * 9) / 18.0, 1e-12);
  EXPECT_NEAR(mk.z, 4 / std::sqrt(mk.variance), 1e-12);
}

TEST(MannKendallTest, DecreasingIsNegativeAndNotUpward) {
  std::vector<double> v{9, 7, 8, 5, 3, 1};
  MannKendall mk = mann_kendall(v);
  EXPECT_LT(mk.s, 0);
  EXPECT_LT(mk.z, 0);
  EXPECT_GT(mk.p_upward(), 0.5);
}

TEST(MannKendallTest, ConstantSeriesHasNoTrend) {
  std::vector<double> v(20, 42.0);
  MannKendall mk = mann_kendall(v);
  EXPECT_EQ(mk.s, 0);
  EXPECT_EQ(mk.variance, 0);
  EXPECT_EQ(mk.z, 0);
  EXPECT_EQ(mk.p_value, 1);
}

TEST(MannKendallTest, EmptyAndSingle) {
  EXPECT_EQ(mann_kendall(std::vector<double>{}).s, 0);
  EXPECT_EQ(mann_kendall(std::vector<double>{1}).p_value, 1);
}

std::vector<TimedValue> points(const std::vector<double>& values) {
  std::vector<TimedValue> out;
  for (std::size_t i = 0; i < values.size(); ++i) out.push_back({static_cast<double>(i), values[i]});
  return out;
}

TEST(MannKendallTest, AutocorrelationInflatesTheVarianceOnlyWhenPresent) {
  // A slow oscillation: neighbours move together, so S overstates the evidence.
  std::vector<double> wave;
  for (int i = 0; i < 16; ++i) wave.push_back(std::sin(i * 0.5) + 0.05 * i);
  MannKendall plain = mann_kendall(wave);
  MannKendall corrected = mann_kendall_autocorrelated(points(wave), 0.05);
  EXPECT_EQ(corrected.s, plain.s);
  EXPECT_GT(corrected.variance_inflation, 1.5);
  EXPECT_LT(std::fabs(corrected.z), std::fabs(plain.z));

  // Alternating residuals about a line: negatively correlated, never deflated.
  std::vector<double> zigzag;
  for (int i = 0; i < 16; ++i) zigzag.push_back(i + (i % 2 == 0 ? 0.3 : -0.3));
  MannKendall z = mann_kendall_autocorrelated(points(zigzag), 1.0);
  EXPECT_EQ(z.variance_inflation, 1);
  EXPECT_EQ(z.z, mann_kendall(zigzag).z);
}

TEST(TheilSenTest, OutliersDoNotMoveTheSlope) {
  std::vector<TimedValue> p;
  for (int i = 0; i < 11; ++i) p.push_back({static_cast<double>(i), 3.0 * i + 7});
  p[4].value = 1e9;
  p[8].value = -1e9;
  EXPECT_DOUBLE_EQ(theil_sen_slope(p), 3.0);
}

TEST(TheilSenTest, EvenCountAveragesTheMiddleSlopes) {
  // Slopes 1, 2, 3, 3, 4, 5: the median is (3 + 3) / 2.
  std::vector<TimedValue> p{{0, 0}, {1, 1}, {2, 4}, {3, 9}};
  EXPECT_DOUBLE_EQ(theil_sen_slope(p), 3.0);
  // Slopes 1, 2, 3.
  std::vector<TimedValue> q{{0, 0}, {1, 1}, {2, 4}};
  EXPECT_DOUBLE_EQ(theil_sen_slope(q), 2.0);
}

TEST(TheilSenTest, UnevenTimesAndDegenerateInput) {
  std::vector<TimedValue> p{{0, 0}, {0.5, 1}, {4, 8}};
  EXPECT_DOUBLE_EQ(theil_sen_slope(p), 2.0);
  EXPECT_EQ(theil_sen_slope(std::vector<TimedValue>{}), 0);
  EXPECT_EQ(theil_sen_slope(std::vector<TimedValue>{{1, 5}}), 0);
}

}  // namespace
}  // namespace memproxy::heapwatch
