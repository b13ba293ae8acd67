// Terminal charts of values over time, in Unicode braille: each character
// cell holds 2 x 4 dots, so a W x H plot has 2W x 4H points of resolution.
// Panels are stacked, each with its own title and value axis (human bytes),
// over one shared time axis. Pure: the same input gives the same lines.
//
// Drawing: a point's dot column is its time's place on the shared axis,
// its dot row its value's place between the panel's lowest and highest
// value (0 to the highest when all are equal). Consecutive points are
// joined by a line, unless they are more than five times the series'
// median step apart: a gap in the samples (the daemon was down) shows as
// one. A column holding several points is drawn from their lowest to
// their highest, so a spike between two columns is never lost.
#ifndef MEMPROXYCTL_CHART_HPP
#define MEMPROXYCTL_CHART_HPP

#include <cstdint>
#include <string>
#include <vector>

namespace memproxyctl {

struct ChartPoint {
  int64_t unix_ns = 0;
  uint64_t value = 0;
};

struct ChartPanel {
  std::string title;
  std::vector<ChartPoint> points;  // oldest first
};

struct ChartSize {
  int width = 80;   // columns
  int height = 24;  // lines, titles and the time axis included
  int64_t utc_offset_s = 0;  // the time labels' zone
};

// Columns left of the plot: the value labels and the axis.
inline constexpr int kChartGutter = 10;

// Exactly size.height lines (no newlines, trailing blanks trimmed), or one
// line saying why there is no chart: no points, or a size too small
// (under kChartGutter + 8 columns, or under 2 + 2 lines per panel).
std::vector<std::string> render_chart(const std::vector<ChartPanel>& panels, const ChartSize& size);

// The braille character with the given dots (bit 0..7 = dots 1..8, as in
// Unicode's braille block), UTF-8.
std::string braille(unsigned dots);

}  // namespace memproxyctl

#endif
