// The history chart: exact output for small cases, monotone series drawn
// monotone, one point, no points, huge values, and a terminal too small.
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "chart.hpp"

namespace {

using memproxyctl::ChartPanel;
using memproxyctl::ChartPoint;
using memproxyctl::ChartSize;
using memproxyctl::render_chart;

constexpr int64_t kSecond = 1'000'000'000;

// The code points of a UTF-8 line.
std::vector<char32_t> code_points(const std::string& s) {
  std::vector<char32_t> out;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    char32_t cp = n == 1 ? c : c & (0x3f >> (n - 1));
    for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
    out.push_back(cp);
    i += n;
  }
  return out;
}

// For each dot column of a panel's rows, the highest dot drawn (0 = the
// bottom dot row), or -1 where nothing is drawn.
std::vector<int> top_dots(const std::vector<std::string>& rows) {
  static const unsigned kBits[2][4] = {{0x01, 0x02, 0x04, 0x40}, {0x08, 0x10, 0x20, 0x80}};
  std::vector<int> top;
  const int dot_rows = static_cast<int>(rows.size()) * 4;
  for (size_t r = 0; r < rows.size(); ++r) {
    std::vector<char32_t> cells = code_points(rows[r]);
    for (size_t c = memproxyctl::kChartGutter; c < cells.size(); ++c) {
      unsigned dots = cells[c] >= 0x2800 && cells[c] <= 0x28ff ? cells[c] - 0x2800 : 0;
      for (int dx = 0; dx < 2; ++dx) {
        size_t x = (c - memproxyctl::kChartGutter) * 2 + dx;
        if (top.size() <= x) top.resize(x + 1, -1);
        for (int dy = 0; dy < 4; ++dy) {
          if (dots & kBits[dx][dy]) top[x] = std::max(top[x], dot_rows - 1 - static_cast<int>(r) * 4 - dy);
        }
      }
    }
  }
  return top;
}

TEST(Chart, BrailleCodePoints) {
  EXPECT_EQ(memproxyctl::braille(0x00), "\u2800");
  EXPECT_EQ(memproxyctl::braille(0x01), "\u2801");
  EXPECT_EQ(memproxyctl::braille(0xff), "\u28ff");
}

TEST(Chart, ARisingLineInOneRowExactly) {
  ChartPanel live{"live", {{0, 0}, {15 * kSecond, 3}}};
  std::vector<std::string> expected{
      "live",
      "     3 B ┤⣀⣠⠤⠤⠖⠒⠚⠉",
      "         └────────",
      "          00:00:00",
  };
  EXPECT_EQ(render_chart({live}, ChartSize{18, 4, 0}), expected);
}

TEST(Chart, TimeLabelsAtBothEndsWhenThereIsRoom) {
  ChartPanel live{"live", {{0, 0}, {15 * kSecond, 3}}};
  std::vector<std::string> lines = render_chart({live}, ChartSize{40, 4, 3600});
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines.back(), "          01:00:00              01:00:15");
}

TEST(Chart, OnePointIsOneDotAtTheTopLeft) {
  ChartPanel live{"live", {{5 * kSecond, 1024}}};
  std::vector<std::string> expected{
      "live",
      " 1.0 KiB ┤⠁",
      "         └────────",
      "          00:00:05",
  };
  EXPECT_EQ(render_chart({live}, ChartSize{18, 4, 0}), expected);
}

TEST(Chart, NoPointsSaySo) {
  EXPECT_EQ(render_chart({{"live", {}}, {"rss", {}}}, ChartSize{80, 24, 0}),
            std::vector<std::string>{"no samples in this time range"});
}

TEST(Chart, ATerminalTooSmallSaysSo) {
  ChartPanel live{"live", {{0, 1}}};
  EXPECT_EQ(render_chart({live, live}, ChartSize{17, 24, 0}),
            std::vector<std::string>{"(the terminal, 17x24, is too small for a chart)"});
  EXPECT_EQ(render_chart({live, live}, ChartSize{80, 5, 0}),
            std::vector<std::string>{"(the terminal, 80x5, is too small for a chart)"});
}

TEST(Chart, FillsExactlyTheHeightWithBothPanels) {
  ChartPanel live{"live heap bytes", {}}, rss{"resident set (RSS)", {}};
  for (int i = 0; i < 100; ++i) {
    live.points.push_back({i * kSecond, static_cast<uint64_t>(i) << 20});
    rss.points.push_back({i * kSecond, (static_cast<uint64_t>(i) << 20) + (4u << 20)});
  }
  for (int height : {6, 7, 21, 50}) {
    std::vector<std::string> lines = render_chart({live, rss}, ChartSize{80, height, 0});
    EXPECT_EQ(lines.size(), static_cast<size_t>(height));
    for (const std::string& line : lines) EXPECT_LE(code_points(line).size(), 80u) << line;
  }
  std::vector<std::string> lines = render_chart({live, rss}, ChartSize{80, 21, 0});
  EXPECT_EQ(lines[0], "live heap bytes");
  EXPECT_EQ(lines[1].substr(0, 12), "99.0 MiB ┤");
  EXPECT_EQ(lines[10], "resident set (RSS)");
  EXPECT_EQ(lines[19].substr(0, 12), "         └");
}

// Monotone series are drawn monotone: every dot column's highest dot is at
// least (rising) or at most (falling) the one before it.
TEST(Chart, MonotoneSeriesRenderMonotone) {
  std::mt19937_64 random(7);
  for (bool rising : {true, false}) {
    ChartPanel panel{"p", {}};
    uint64_t value = rising ? 0 : uint64_t{1} << 40;
    int64_t t = 0;
    for (int i = 0; i < 700; ++i) {
      panel.points.push_back({t, value});
      t += static_cast<int64_t>(random() % 3 + 1) * kSecond / 2;
      uint64_t step = random() % (uint64_t{1} << 30);
      value = rising ? value + step : (value > step ? value - step : 0);
    }
    std::vector<std::string> lines = render_chart({panel}, ChartSize{90, 30, 0});
    std::vector<std::string> rows(lines.begin() + 1, lines.end() - 2);
    std::vector<int> top = top_dots(rows);
    int previous = rising ? -1 : 1 << 30;
    size_t drawn = 0;
    for (int y : top) {
      if (y < 0) continue;
      ++drawn;
      if (rising) {
        EXPECT_GE(y, previous);
      } else {
        EXPECT_LE(y, previous);
      }
      previous = y;
    }
    EXPECT_EQ(drawn, 160u);  // every dot column: the line is joined
    EXPECT_EQ(top.front(), rising ? 0 : 4 * 27 - 1);
    // Falling, the last column's highest dot is where the line comes from,
    // a step above the lowest value.
    if (rising) {
      EXPECT_EQ(top.back(), 4 * 27 - 1);
    } else {
      EXPECT_LE(top.back(), 1);
    }
  }
}

TEST(Chart, HugeValuesAreLabelledAndDrawn) {
  ChartPanel panel{"p", {{0, 0}, {kSecond, UINT64_MAX}}};
  std::vector<std::string> lines = render_chart({panel}, ChartSize{30, 7, 0});
  ASSERT_EQ(lines.size(), 7u);
  EXPECT_EQ(lines[1].substr(0, 12), "16.0 EiB ┤");
  EXPECT_EQ(lines[4].substr(0, 12), "     0 B ┤");
  std::vector<int> top = top_dots(std::vector<std::string>(lines.begin() + 1, lines.end() - 2));
  EXPECT_EQ(top.front(), 0);
  EXPECT_EQ(top.back(), 4 * 4 - 1);
  ChartPanel near_top{"p", {{0, UINT64_MAX - 1}, {kSecond, UINT64_MAX}}};
  lines = render_chart({near_top}, ChartSize{30, 7, 0});
  ASSERT_EQ(lines.size(), 7u);
  EXPECT_EQ(lines[4].substr(0, 12), "16.0 EiB ┤");  // the lowest value, 2^64 - 2

}

TEST(Chart, SparsePointsAreJoinedIntoOneLine) {
  ChartPanel panel{"p", {}};
  for (int i = 0; i < 5; ++i) panel.points.push_back({i * 10 * kSecond, static_cast<uint64_t>(i)});
  std::vector<std::string> lines = render_chart({panel}, ChartSize{60, 6, 0});
  std::vector<int> top = top_dots({lines[1], lines[2], lines[3]});
  ASSERT_EQ(top.size(), 100u);
  for (size_t x = 0; x < top.size(); ++x) EXPECT_GE(top[x], 0) << "dot column " << x;
}

TEST(Chart, AGapInTheSamplesIsNotJoined) {
  ChartPanel panel{"p", {}};
  for (int i = 0; i < 10; ++i) panel.points.push_back({i * kSecond, 10});
  for (int i = 0; i < 10; ++i) panel.points.push_back({(90 + i) * kSecond, 10});
  std::vector<std::string> lines = render_chart({panel}, ChartSize{60, 4, 0});
  std::vector<int> top = top_dots({lines[1]});
  ASSERT_EQ(top.size(), 100u);
  EXPECT_EQ(top[50], -1);  // nothing drawn in the daemon's absence
  EXPECT_EQ(top[0], 3);
  EXPECT_EQ(top[99], 3);
}

}  // namespace
