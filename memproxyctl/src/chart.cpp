#include "chart.hpp"

#include <algorithm>
#include <climits>
#include <cmath>

#include "human_units.hpp"

namespace memproxyctl {
namespace {

constexpr int kLabelWidth = kChartGutter - 2;

// The braille bit of the dot at column dx (0, 1) and row dy (0 = top .. 3) of a cell.
unsigned dot_bit(int dx, int dy) {
  static const unsigned kBits[2][4] = {{0x01, 0x02, 0x04, 0x40}, {0x08, 0x10, 0x20, 0x80}};
  return kBits[dx][dy];
}

std::string right_aligned(const std::string& text, size_t width) {
  return text.size() >= width ? text : std::string(width - text.size(), ' ') + text;
}

// The median time between consecutive points (0 for fewer than two).
int64_t median_step(const std::vector<ChartPoint>& points) {
  if (points.size() < 2) return 0;
  std::vector<int64_t> steps;
  steps.reserve(points.size() - 1);
  for (size_t i = 1; i < points.size(); ++i) steps.push_back(points[i].unix_ns - points[i - 1].unix_ns);
  std::nth_element(steps.begin(), steps.begin() + static_cast<long>(steps.size() / 2), steps.end());
  return steps[steps.size() / 2];
}

std::string trimmed(std::string line) {
  while (!line.empty() && line.back() == ' ') line.pop_back();
  return line;
}

// The plot rows of one panel, `rows` x `columns` cells, over [t0, t1].
std::vector<std::string> plot(const ChartPanel& panel, int rows, int columns, int64_t t0, int64_t t1) {
  const int dot_columns = columns * 2;
  const int dot_rows = rows * 4;
  uint64_t lo = UINT64_MAX, hi = 0;
  for (const ChartPoint& p : panel.points) {
    lo = std::min(lo, p.value);
    hi = std::max(hi, p.value);
  }
  if (panel.points.empty()) lo = hi = 0;
  if (lo == hi) lo = 0;
  const bool flat = lo == hi;  // every value 0

  auto x_of = [&](int64_t t) {
    if (t1 == t0) return 0;
    long double f = static_cast<long double>(t - t0) / static_cast<long double>(t1 - t0);
    return static_cast<int>(std::lround(f * (dot_columns - 1)));
  };
  auto y_of = [&](uint64_t v) {  // 0 = bottom
    if (flat) return 0;
    long double f = static_cast<long double>(v - lo) / static_cast<long double>(hi - lo);
    return static_cast<int>(std::lround(f * (dot_rows - 1)));
  };

  std::vector<std::vector<unsigned>> cells(rows, std::vector<unsigned>(columns, 0));
  auto fill = [&](int x, int y0, int y1) {
    for (int y = std::min(y0, y1); y <= std::max(y0, y1); ++y) {
      int from_top = dot_rows - 1 - y;
      cells[from_top / 4][x / 2] |= dot_bit(x % 2, from_top % 4);
    }
  };
  const int64_t join_limit = 5 * median_step(panel.points);
  for (size_t i = 0; i < panel.points.size(); ++i) {
    const ChartPoint& q = panel.points[i];
    const int xq = std::clamp(x_of(q.unix_ns), 0, dot_columns - 1), yq = y_of(q.value);
    fill(xq, yq, yq);
    if (i == 0) continue;
    const ChartPoint& p = panel.points[i - 1];
    if (q.unix_ns - p.unix_ns > join_limit) continue;
    const int xp = std::clamp(x_of(p.unix_ns), 0, dot_columns - 1), yp = y_of(p.value);
    int previous = yp;
    for (int x = xp; x <= xq; ++x) {
      int y = xq == xp ? yq
                       : static_cast<int>(std::lround(yp + static_cast<double>(yq - yp) * (x - xp) / (xq - xp)));
      fill(x, previous, y);
      previous = y;
    }
  }

  std::vector<std::string> out;
  for (int r = 0; r < rows; ++r) {
    std::string label;
    if (r == 0) {
      label = human_bytes(hi);
    } else if (r == rows - 1) {
      label = human_bytes(lo);
    } else if (rows >= 5 && r == rows / 2) {
      label = human_bytes(lo + (hi - lo) / 2);
    }
    std::string line = right_aligned(label, kLabelWidth) + (label.empty() ? " │" : " ┤");
    for (unsigned dots : cells[r]) line += dots == 0 ? std::string(" ") : braille(dots);
    out.push_back(trimmed(line));
  }
  return out;
}

}  // namespace

std::string braille(unsigned dots) {
  const unsigned code = 0x2800 + (dots & 0xff);
  std::string s;
  s += static_cast<char>(0xe0 | (code >> 12));
  s += static_cast<char>(0x80 | ((code >> 6) & 0x3f));
  s += static_cast<char>(0x80 | (code & 0x3f));
  return s;
}

std::vector<std::string> render_chart(const std::vector<ChartPanel>& panels, const ChartSize& size) {
  int64_t t0 = INT64_MAX, t1 = INT64_MIN;
  for (const ChartPanel& panel : panels) {
    for (const ChartPoint& p : panel.points) {
      t0 = std::min(t0, p.unix_ns);
      t1 = std::max(t1, p.unix_ns);
    }
  }
  if (t0 > t1) return {"no samples in this time range"};
  const int count = static_cast<int>(panels.size());
  const int columns = size.width - kChartGutter;
  if (columns < 8 || size.height < 2 + 2 * count) {
    return {"(the terminal, " + std::to_string(size.width) + "x" + std::to_string(size.height) +
            ", is too small for a chart)"};
  }
  const int plot_rows = size.height - 2 - count;
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) {
    int rows = plot_rows / count + (i < plot_rows % count ? 1 : 0);
    out.push_back(panels[i].title);
    for (std::string& line : plot(panels[i], rows, columns, t0, t1)) out.push_back(std::move(line));
  }

  std::string axis = std::string(kLabelWidth + 1, ' ') + "└";
  for (int c = 0; c < columns; ++c) axis += "─";
  out.push_back(axis);

  const bool with_date = t1 - t0 >= 86400LL * 1000000000;
  const std::string left = clock_time(t0, size.utc_offset_s, with_date);
  std::string labels = std::string(kChartGutter, ' ') + left;
  if (t1 != t0) {
    const std::string right = clock_time(t1, size.utc_offset_s, with_date);
    const size_t end = static_cast<size_t>(size.width);
    if (labels.size() + 2 + right.size() <= end) labels += std::string(end - labels.size() - right.size(), ' ') + right;
  }
  out.push_back(labels);
  return out;
}

}  // namespace memproxyctl
