#include "heapwatch/analysis/site_growth.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "heapwatch/analysis/trend_statistics.hpp"

namespace memproxy::heapwatch {

namespace {
constexpr double kNsPerHour = 3600e9;
}

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
  g.growing = g.bytes_per_hour > 0 && g.confidence >= parameters.min_confidence &&
              g.bytes_per_hour * span_hours >= parameters.min_rise_bytes;
  return g;
}

}  // namespace memproxy::heapwatch
