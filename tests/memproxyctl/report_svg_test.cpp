// The report's SVG charts: data lands where the axes say, the axes are
// labelled in human units and clock time, gaps and single points show,
// long series are thinned without losing a spike, and no points draw no line.
#include <gtest/gtest.h>

#include "report_svg.hpp"
#include "svg_parse.hpp"

namespace report_svg_test {

using memproxyctl::svg_chart;
using memproxyctl::SvgChartLayout;
using memproxyctl::SvgSeries;
using svg_parse::count;
using svg_parse::shapes;

constexpr int64_t kSecond = 1'000'000'000;
constexpr uint64_t kMiB = 1u << 20;

SvgSeries line(std::vector<memproxyctl::SvgPoint> points) { return {"series-a", "#123456", 2, std::move(points)}; }

TEST(ReportSvg, PointsLandWhereTheAxesSay) {
  SvgChartLayout layout;
  layout.plot = {100, 10, 700, 310};
  // 0..4 MiB over a minute: the value axis runs exactly 0 to 4 MiB in 1 MiB steps.
  const std::vector<memproxyctl::SvgPoint> data{{0, 0}, {15 * kSecond, kMiB}, {30 * kSecond, 3 * kMiB},
                                                {60 * kSecond, 4 * kMiB}};
  const std::string svg = svg_chart({line(data)}, layout);
  auto drawn = shapes(svg, "series-a");
  ASSERT_EQ(drawn.size(), 1u) << svg;
  ASSERT_EQ(drawn[0].size(), 4u) << svg;
  const double expected_x[] = {100, 250, 400, 700};
  const double expected_y[] = {310, 235, 85, 10};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_NEAR(drawn[0][i].first, expected_x[i], 0.05) << i;
    EXPECT_NEAR(drawn[0][i].second, expected_y[i], 0.05) << i;
  }
  for (const char* label : {">0 B<", ">1.0 MiB<", ">2.0 MiB<", ">3.0 MiB<", ">4.0 MiB<"}) {
    EXPECT_NE(svg.find(label), std::string::npos) << label << '\n' << svg;
  }
  EXPECT_EQ(svg.find(">5.0 MiB<"), std::string::npos) << svg;
}

TEST(ReportSvg, TheTimeAxisIsLabelledInTheGivenZone) {
  SvgChartLayout layout;
  const std::vector<memproxyctl::SvgPoint> data{{0, 1}, {3600 * kSecond, 2}};
  const std::string utc = svg_chart({line(data)}, layout);
  EXPECT_NE(utc.find(">00:00:00<"), std::string::npos) << utc;
  EXPECT_NE(utc.find(">01:00:00<"), std::string::npos) << utc;
  EXPECT_NE(utc.find(">time (UTC)<"), std::string::npos) << utc;
  layout.utc_offset_s = 5400;
  const std::string east = svg_chart({line(data)}, layout);
  EXPECT_NE(east.find(">01:30:00<"), std::string::npos) << east;
  EXPECT_NE(east.find(">time (UTC+01:30)<"), std::string::npos) << east;
  // Over midnight, the labels carry the date.
  const std::string days = svg_chart({line({{0, 1}, {3 * 86400 * kSecond, 2}})}, SvgChartLayout{});
  EXPECT_NE(days.find(">01-02 00:00<"), std::string::npos) << days;
}

TEST(ReportSvg, AGapInTheSamplesBreaksTheLine) {
  std::vector<memproxyctl::SvgPoint> data;
  for (int i = 0; i < 10; ++i) data.push_back({i * kSecond, static_cast<uint64_t>(i)});
  for (int i = 0; i < 10; ++i) data.push_back({(100 + i) * kSecond, static_cast<uint64_t>(i)});
  auto drawn = shapes(svg_chart({line(data)}, SvgChartLayout{}), "series-a");
  ASSERT_EQ(drawn.size(), 2u);
  EXPECT_EQ(drawn[0].size(), 10u);
  EXPECT_EQ(drawn[1].size(), 10u);
}

TEST(ReportSvg, OnePointIsADotInTheMiddle) {
  SvgChartLayout layout;
  layout.plot = {100, 10, 700, 310};
  auto drawn = shapes(svg_chart({line({{50 * kSecond, 3 * kMiB}})}, layout), "series-a");
  ASSERT_EQ(drawn.size(), 1u);
  ASSERT_EQ(drawn[0].size(), 1u);
  EXPECT_NEAR(drawn[0][0].first, 400, 0.05);
  EXPECT_NEAR(drawn[0][0].second, 85, 0.05);  // all equal: 0 to a step above, 4 MiB
}

TEST(ReportSvg, NoPointsDrawNoLineAndSaySo) {
  SvgChartLayout layout;
  layout.empty_text = "nothing <here>";
  const std::string svg = svg_chart({line({}), {"series-b", "#654321", 2, {}}}, layout);
  EXPECT_EQ(count(svg, "<polyline"), 0u) << svg;
  EXPECT_EQ(count(svg, "<circle"), 0u) << svg;
  EXPECT_NE(svg.find(">nothing &lt;here&gt;<"), std::string::npos) << svg;
  EXPECT_NE(svg.find("class=\"plot\""), std::string::npos) << svg;
}

TEST(ReportSvg, ALongSeriesIsThinnedWithoutLosingItsSpike) {
  SvgChartLayout layout;
  layout.plot = {100, 10, 700, 310};
  std::vector<memproxyctl::SvgPoint> data;
  for (int i = 0; i < 100000; ++i) data.push_back({i * kSecond / 10, i == 54321 ? 4 * kMiB : kMiB});
  auto drawn = shapes(svg_chart({line(data)}, layout), "series-a");
  ASSERT_EQ(drawn.size(), 1u);
  EXPECT_LE(drawn[0].size(), 2u * 601 + 2);
  EXPECT_GE(drawn[0].size(), 600u);
  double highest = 1e9;
  for (auto [x, y] : drawn[0]) highest = std::min(highest, y);
  EXPECT_NEAR(highest, 10, 0.05);
  EXPECT_NEAR(drawn[0].front().first, 100, 0.05);
  EXPECT_NEAR(drawn[0].back().first, 700, 0.05);
}

TEST(ReportSvg, HugeValuesStayInsideThePlot) {
  SvgChartLayout layout;
  layout.plot = {100, 10, 700, 310};
  auto drawn = shapes(svg_chart({line({{0, 0}, {kSecond, UINT64_MAX}})}, layout), "series-a");
  ASSERT_EQ(drawn.size(), 1u);
  for (auto [x, y] : drawn[0]) {
    EXPECT_GE(y, 10 - 0.05);
    EXPECT_LE(y, 310 + 0.05);
  }
}

}  // namespace report_svg_test
