// Line charts of byte counts over time as inline SVG, for the HTML report:
// no script, no external reference, drawn by any browser as it parses.
// Pure: the same input gives the same text.
//
// Drawing: the plot area is the rectangle `plot` inside the chart's
// width x height; a point's x is its time's place between the earliest and
// latest time of all series (a single instant is centred in a one-minute
// span), its y its value's place between the value axis's ends, which are
// the lowest and highest value of all series widened to whole tick steps
// (1, 2 or 5 times a power of 1024 bytes times a power of ten; when all
// values are equal, from 0 to a whole step above them). Each
// series is a <polyline class="CLASS"> per run of points, broken where two
// points are more than five times the series' median step apart (a gap in
// the samples shows as one); a run of one point is a <circle>. A run with
// more points than twice the plot's width in pixels keeps, per pixel
// column, its lowest and highest point, so no spike is lost. No points at
// all: the plot area carries `empty_text` instead.
#ifndef MEMPROXYCTL_REPORT_SVG_HPP
#define MEMPROXYCTL_REPORT_SVG_HPP

#include <cstdint>
#include <string>
#include <vector>

namespace memproxyctl {

struct SvgPoint {
  int64_t unix_ns = 0;
  uint64_t value = 0;
};

struct SvgSeries {
  std::string css_class;  // the polylines' class: a fixed name of ours, never daemon text
  std::string color;      // a CSS colour of ours
  double stroke_width = 2.5;
  std::vector<SvgPoint> points;  // oldest first
};

struct SvgBox {
  double left = 0, top = 0, right = 0, bottom = 0;
};

struct SvgChartLayout {
  int width = 920;
  int height = 320;
  SvgBox plot{80, 10, 905, 272};  // the plot area, inside width x height
  int value_ticks = 5;            // at most this many labelled values (and at least 2)
  int time_ticks = 7;             // at most this many labelled times
  bool time_axis_title = true;    // "time (UTC+HH:MM)" under the time labels
  std::string plot_class = "plot";    // the plot area's <rect> class
  std::string plot_fill = "#ffffff";  // and its colour
  std::string value_title;            // beside the value labels when not empty ("bytes")
  std::string label;                  // the chart's accessible name (escaped here)
  std::string empty_text = "no samples";
  int64_t utc_offset_s = 0;       // the time labels' zone
};

// Where data lands: the axes' ends and the mapping of both.
struct SvgScale {
  int64_t time_from = 0, time_to = 0;  // unix ns at the plot's left and right edge
  long double value_from = 0, value_to = 0;  // bytes at the plot's bottom and top edge
  long double value_step = 1;          // between labelled values
  SvgBox plot;
  double x(int64_t unix_ns) const;
  double y(uint64_t value) const;
};

// The scale svg_chart draws `series` with; meaningful when any has points.
SvgScale svg_scale(const std::vector<SvgSeries>& series, const SvgChartLayout& layout);

// One <svg> element, without a trailing newline.
std::string svg_chart(const std::vector<SvgSeries>& series, const SvgChartLayout& layout);

// "12.5", as coordinates are written in the SVG (one decimal).
std::string svg_number(double v);

}  // namespace memproxyctl

#endif
