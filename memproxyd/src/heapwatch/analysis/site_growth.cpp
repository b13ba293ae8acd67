#include "heapwatch/analysis/site_growth.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "heapwatch/analysis/trend_statistics.hpp"
#include "memproxy/clock.hpp"

namespace memproxy::heapwatch {

namespace {

// The median of values [from, to).
double median_of(std::span<const SitePoint> points, size_t from, size_t to) {
  std::vector<double> v;
  v.reserve(to - from);
  for (size_t i = from; i < to; ++i) v.push_back(points[i].estimated_bytes);
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

// Whether the rise is spread over the series as the verdict requires of a
// process's heap: each third's median above the one before by
// plateau_ratio of the slope's prediction for a third, and the last rise
// not below levelling_ratio of the middle one.
bool still_rising(std::span<const SitePoint> points, double bytes_per_hour, const SiteGrowthParameters& p) {
  const size_t n = points.size();
  const size_t a = n / 3, b = 2 * n / 3;
  const double first = median_of(points, 0, a), middle = median_of(points, a, b), last = median_of(points, b, n);
  const double third_hours = static_cast<double>(points.back().unix_ns - points.front().unix_ns) / kNsPerHour / 3;
  const double expected = bytes_per_hour * third_hours;
  const double rise_early = middle - first, rise_late = last - middle;
  return rise_early >= p.plateau_ratio * expected && rise_late >= p.plateau_ratio * expected &&
         rise_late >= p.levelling_ratio * rise_early && rise_early >= p.levelling_ratio * rise_late;
}
}  // namespace

SiteGrowth estimate_growth(std::span<const SitePoint> points, const SiteGrowthParameters& parameters) {
  SiteGrowth g;
  if (points.size() < std::max<size_t>(parameters.min_points, 2)) return g;
  g.points = points.size();
  const int64_t start = points.front().unix_ns;
  std::vector<TimedValue> timed;
  timed.reserve(points.size());
  for (const SitePoint& p : points) {
    timed.push_back({static_cast<double>(p.unix_ns - start) / kNsPerHour, p.estimated_bytes});
  }
  g.bytes_per_hour = theil_sen_slope(timed);
  const MannKendall mk = mann_kendall_autocorrelated(timed, g.bytes_per_hour);
  g.confidence = std::clamp(1 - mk.p_upward(), 0.0, 1.0);
  const double span_hours = timed.back().time;
  const bool material = std::abs(g.bytes_per_hour) * span_hours >= parameters.min_rise_bytes;
  const bool upward = g.bytes_per_hour > 0 && g.confidence >= parameters.min_confidence && material;
  g.growing = upward && still_rising(points, g.bytes_per_hour, parameters);
  g.levelled = upward && !g.growing;
  g.shrinking = g.bytes_per_hour < 0 && 1 - g.confidence >= parameters.min_confidence && material;
  return g;
}

}  // namespace memproxy::heapwatch
