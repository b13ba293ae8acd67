#include "report_svg.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "html_text.hpp"
#include "human_units.hpp"
#include "memproxy/clock.hpp"

namespace memproxyctl {

using memproxy::kNsPerSecond;

namespace {


// Tick steps in bytes, ascending: 1, 2, 5, 10, 20, 50, 100, 200, 500 times
// each power of 1024, so that labels read "512 KiB", "2.0 MiB".
std::vector<long double> byte_steps() {
  std::vector<long double> steps;
  long double unit = 1;
  for (int k = 0; k <= 6; ++k, unit *= 1024) {
    for (long double m : {1.0L, 2.0L, 5.0L, 10.0L, 20.0L, 50.0L, 100.0L, 200.0L, 500.0L}) steps.push_back(m * unit);
  }
  steps.push_back(unit);  // 1024^7 = 1 ZiB: beyond every uint64_t
  return steps;
}

// Time tick steps in seconds, ascending.
constexpr int64_t kTimeSteps[] = {1,    2,    5,     10,    15,    30,    60,     120,    300,    600,   900,
                                  1800, 3600, 7200,  10800, 21600, 43200, 86400,  172800, 604800, 1209600,
                                  2419200, 7257600, 31449600};

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0); }

std::string time_zone_text(int64_t offset_s) {
  if (offset_s == 0) return "UTC";
  char text[32];
  const int64_t magnitude = offset_s < 0 ? -offset_s : offset_s;
  std::snprintf(text, sizeof text, "UTC%c%02lld:%02lld", offset_s < 0 ? '-' : '+',
                static_cast<long long>(magnitude / 3600), static_cast<long long>(magnitude % 3600 / 60));
  return text;
}

// The runs of `points` between gaps (see report_svg.hpp).
std::vector<std::vector<SvgPoint>> runs_of(const std::vector<SvgPoint>& points) {
  std::vector<std::vector<SvgPoint>> runs;
  if (points.empty()) return runs;
  std::vector<long double> steps;
  for (size_t i = 1; i < points.size(); ++i) {
    steps.push_back(static_cast<long double>(points[i].unix_ns) - static_cast<long double>(points[i - 1].unix_ns));
  }
  long double median = 0;
  if (!steps.empty()) {
    std::vector<long double> sorted = steps;
    std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(sorted.size() / 2), sorted.end());
    median = sorted[sorted.size() / 2];
  }
  runs.emplace_back(1, points.front());
  for (size_t i = 1; i < points.size(); ++i) {
    if (median > 0 && steps[i - 1] > 5 * median) runs.emplace_back();
    runs.back().push_back(points[i]);
  }
  return runs;
}

// `run` cut to its first and last point and each pixel column's lowest and
// highest, in time order, when it has more points than twice the columns.
std::vector<SvgPoint> thinned(const std::vector<SvgPoint>& run, const SvgScale& scale) {
  const double columns = std::max(1.0, scale.plot.right - scale.plot.left);
  if (static_cast<double>(run.size()) <= 2 * columns) return run;
  std::vector<size_t> keep{0, run.size() - 1};
  long current = -1;
  size_t low = 0, high = 0;
  auto flush = [&] {
    if (current < 0) return;
    keep.push_back(low);
    keep.push_back(high);
  };
  for (size_t i = 0; i < run.size(); ++i) {
    const long column = static_cast<long>(std::floor(scale.x(run[i].unix_ns) - scale.plot.left));
    if (column != current) {
      flush();
      current = column;
      low = high = i;
    }
    if (run[i].value < run[low].value) low = i;
    if (run[i].value > run[high].value) high = i;
  }
  flush();
  std::sort(keep.begin(), keep.end());
  keep.erase(std::unique(keep.begin(), keep.end()), keep.end());
  std::vector<SvgPoint> out;
  out.reserve(keep.size());
  for (size_t i : keep) out.push_back(run[i]);
  return out;
}

std::string attribute(const char* name, double v) { return std::string(" ") + name + "=\"" + svg_number(v) + "\""; }

}  // namespace

std::string svg_number(double v) {
  if (!std::isfinite(v)) v = 0;
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", v);
  return std::string(text) == "-0.0" ? "0.0" : text;
}

double SvgScale::x(int64_t unix_ns) const {
  const long double span = static_cast<long double>(time_to) - static_cast<long double>(time_from);
  const long double at = (static_cast<long double>(unix_ns) - static_cast<long double>(time_from)) / span;
  return static_cast<double>(plot.left + at * (plot.right - plot.left));
}

double SvgScale::y(uint64_t value) const {
  const long double at = (static_cast<long double>(value) - value_from) / (value_to - value_from);
  return static_cast<double>(plot.bottom - at * (plot.bottom - plot.top));
}

SvgScale svg_scale(const std::vector<SvgSeries>& series, const SvgChartLayout& layout) {
  SvgScale scale;
  scale.plot = layout.plot;
  bool any = false;
  int64_t t0 = 0, t1 = 0;
  uint64_t v0 = 0, v1 = 0;
  for (const SvgSeries& s : series) {
    for (const SvgPoint& p : s.points) {
      if (!any) {
        t0 = t1 = p.unix_ns;
        v0 = v1 = p.value;
        any = true;
      }
      t0 = std::min(t0, p.unix_ns);
      t1 = std::max(t1, p.unix_ns);
      v0 = std::min(v0, p.value);
      v1 = std::max(v1, p.value);
    }
  }
  if (t0 == t1) {
    t0 = t0 > std::numeric_limits<int64_t>::min() + 30 * kNsPerSecond ? t0 - 30 * kNsPerSecond : t0;
    t1 = t1 < std::numeric_limits<int64_t>::max() - 30 * kNsPerSecond ? t1 + 30 * kNsPerSecond : t1;
  }
  scale.time_from = t0;
  scale.time_to = t1;

  // All values equal: from 0 up, as the terminal chart draws them.
  const long double low = v0 == v1 ? 0.0L : static_cast<long double>(v0);
  const long double high = static_cast<long double>(v1);
  const int intervals = std::max(1, layout.value_ticks - 1);
  const long double wanted = std::max(1.0L, (high - low) / intervals);
  for (long double step : byte_steps()) {
    if (step < wanted) continue;
    const long double from = std::floor(low / step) * step;
    long double to = std::ceil(high / step) * step;
    // A flat line stays clear of the plot's top edge, where it would hide.
    if (to <= from || (v0 == v1 && to <= high)) to += step;
    if ((to - from) / step <= intervals + 0.5L) {
      scale.value_from = from;
      scale.value_to = to;
      scale.value_step = step;
      break;
    }
  }
  if (scale.value_to <= scale.value_from) scale.value_to = scale.value_from + 1;
  return scale;
}

std::string svg_chart(const std::vector<SvgSeries>& series, const SvgChartLayout& layout) {
  const SvgScale scale = svg_scale(series, layout);
  const SvgBox& plot = layout.plot;
  const bool any = std::any_of(series.begin(), series.end(), [](const SvgSeries& s) { return !s.points.empty(); });
  std::string out = "<svg class=\"chart\" width=\"" + std::to_string(layout.width) + "\" height=\"" +
                    std::to_string(layout.height) + "\" viewBox=\"0 0 " + std::to_string(layout.width) + " " +
                    std::to_string(layout.height) + "\" role=\"img\" aria-label=\"" + html_escape(layout.label) +
                    "\" font-family=\"sans-serif\" font-size=\"11\">";
  out += "<rect class=\"" + layout.plot_class + "\"" + attribute("x", plot.left) + attribute("y", plot.top) +
         attribute("width", plot.right - plot.left) + attribute("height", plot.bottom - plot.top) + " fill=\"" +
         layout.plot_fill + "\" stroke=\"#9aa4b1\" stroke-width=\"1\"/>";
  if (!any) {
    out += "<text class=\"empty\"" + attribute("x", (plot.left + plot.right) / 2) +
           attribute("y", (plot.top + plot.bottom) / 2) + " text-anchor=\"middle\" fill=\"#555\">" +
           html_escape(layout.empty_text) + "</text></svg>";
    return out;
  }

  // The value axis: grid lines and labels at each step.
  out += "<g class=\"values\" fill=\"#333\">";
  for (long double v = scale.value_from; v <= scale.value_to + scale.value_step / 2; v += scale.value_step) {
    const uint64_t value = v >= 1.8e19L ? std::numeric_limits<uint64_t>::max() : static_cast<uint64_t>(v);
    const double y = scale.y(value);
    out += "<line" + attribute("x1", plot.left) + attribute("y1", y) + attribute("x2", plot.right) +
           attribute("y2", y) + " stroke=\"#dde3ea\"/>";
    out += "<text" + attribute("x", plot.left - 6) + attribute("y", y + 4) + " text-anchor=\"end\">" +
           html_escape(human_bytes(value)) + "</text>";
  }
  out += "</g>";
  if (!layout.value_title.empty()) {
    const double cy = (plot.top + plot.bottom) / 2;
    out += "<text class=\"axis-title\" x=\"12\"" + attribute("y", cy) + " transform=\"rotate(-90 12 " +
           svg_number(cy) + ")\" text-anchor=\"middle\" fill=\"#333\">" + html_escape(layout.value_title) + "</text>";
  }

  // The time axis: ticks at whole steps of the local clock.
  const int64_t span_s = std::max<int64_t>(1, (scale.time_to - scale.time_from) / kNsPerSecond);
  int64_t step_s = kTimeSteps[std::size(kTimeSteps) - 1];
  for (int64_t candidate : kTimeSteps) {
    if (span_s / candidate <= std::max(1, layout.time_ticks - 1)) {
      step_s = candidate;
      break;
    }
  }
  const int64_t offset = layout.utc_offset_s;
  const bool with_date = floor_div(floor_div(scale.time_from, kNsPerSecond) + offset, 86400) !=
                         floor_div(floor_div(scale.time_to, kNsPerSecond) + offset, 86400);
  out += "<g class=\"times\" fill=\"#333\">";
  const int64_t first = (floor_div(floor_div(scale.time_from, kNsPerSecond) + offset + step_s - 1, step_s)) * step_s - offset;
  for (int64_t t = first; t < std::numeric_limits<int64_t>::max() / kNsPerSecond - step_s && t * kNsPerSecond <= scale.time_to;
       t += step_s) {
    if (t * kNsPerSecond < scale.time_from) continue;
    const double x = scale.x(t * kNsPerSecond);
    out += "<line" + attribute("x1", x) + attribute("y1", plot.bottom) + attribute("x2", x) +
           attribute("y2", plot.bottom + 4) + " stroke=\"#9aa4b1\"/>";
    out += "<text" + attribute("x", x) + attribute("y", plot.bottom + 16) + " text-anchor=\"middle\">" +
           html_escape(clock_time(t * kNsPerSecond, offset, with_date)) + "</text>";
  }
  out += "</g>";
  if (layout.time_axis_title) {
    out += "<text class=\"axis-title\"" + attribute("x", (plot.left + plot.right) / 2) +
           attribute("y", plot.bottom + 32) + " text-anchor=\"middle\" fill=\"#333\">time (" +
           time_zone_text(offset) + ")</text>";
  }

  for (const SvgSeries& s : series) {
    for (const std::vector<SvgPoint>& run : runs_of(s.points)) {
      if (run.size() == 1) {
        out += "<circle class=\"" + s.css_class + "\"" + attribute("cx", scale.x(run[0].unix_ns)) +
               attribute("cy", scale.y(run[0].value)) + attribute("r", s.stroke_width * 1.5) + " fill=\"" + s.color +
               "\"/>";
        continue;
      }
      out += "<polyline class=\"" + s.css_class + "\" fill=\"none\" stroke=\"" + s.color + "\"" +
             attribute("stroke-width", s.stroke_width) + " stroke-linejoin=\"round\" points=\"";
      bool first_point = true;
      for (const SvgPoint& p : thinned(run, scale)) {
        if (!first_point) out += ' ';
        first_point = false;
        out += svg_number(scale.x(p.unix_ns)) + "," + svg_number(scale.y(p.value));
      }
      out += "\"/>";
    }
  }
  out += "</svg>";
  return out;
}

}  // namespace memproxyctl
