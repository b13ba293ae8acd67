#include "heapwatch/analysis/exhaustion.hpp"

#include <algorithm>
#include <vector>

#include "heapwatch/analysis/trend_statistics.hpp"
#include "memproxy/clock.hpp"

namespace memproxy::heapwatch {
namespace {

// Each block's median of `value`, at the block's middle, in hours from `from`.
template <typename Value>
std::vector<TimedValue> block_medians(std::span<const Reading> samples, int64_t from, int64_t until, int blocks,
                                      Value value) {
  std::vector<std::vector<double>> values(static_cast<std::size_t>(blocks));
  for (const Reading& s : samples) {
    values[static_cast<std::size_t>(part_of(s.unix_ns, from, until, blocks))].push_back(static_cast<double>(value(s)));
  }
  return part_medians(values, static_cast<double>(until - from) / kNsPerHour / blocks);
}

// The slope in bytes per hour when an upward trend is certain, else 0.
double certain_upward_slope(const std::vector<TimedValue>& points, double alpha) {
  if (points.size() < 6) return 0;
  const double slope = theil_sen_slope(points);
  const MannKendall mk = mann_kendall_autocorrelated(points, slope);
  return slope > 0 && mk.z > 0 && mk.p_upward() < alpha ? slope : 0;
}

}  // namespace

std::optional<Exhaustion> forecast_exhaustion(std::span<const Reading> samples, uint64_t limit_bytes,
                                              const ExhaustionParameters& p) {
  if (samples.empty() || limit_bytes == 0) return std::nullopt;
  const int64_t until = samples.back().unix_ns + 1;
  const int64_t from = std::max(samples.front().unix_ns, until - std::max<int64_t>(1, p.window_s) * kNsPerSecond);
  if (until - from < std::max<int64_t>(1, p.min_span_s) * kNsPerSecond) return std::nullopt;
  auto recent_begin = std::lower_bound(samples.begin(), samples.end(), from,
                                       [](const Reading& s, int64_t t) { return s.unix_ns < t; });
  const std::span<const Reading> recent(recent_begin, samples.end());
  const int blocks = std::clamp(p.blocks, 6, 64);
  const std::vector<TimedValue> resident =
      block_medians(recent, from, until, blocks, [](const Reading& s) { return s.rss_bytes; });
  const std::vector<TimedValue> live =
      block_medians(recent, from, until, blocks, [](const Reading& s) { return s.live_bytes; });
  const double slope = std::max(certain_upward_slope(resident, p.alpha), certain_upward_slope(live, p.alpha));
  if (slope <= 0) return std::nullopt;

  Exhaustion e;
  e.slope_bytes_per_hour = slope;
  e.resident_now_bytes = static_cast<uint64_t>(std::max(0.0, resident.back().value));
  e.limit_bytes = limit_bytes;
  const double left = static_cast<double>(limit_bytes) - static_cast<double>(e.resident_now_bytes);
  const double seconds = std::max(0.0, left / slope * 3600.0);
  if (seconds > static_cast<double>(p.max_forecast_s)) return std::nullopt;
  e.at_unix_ns = samples.back().unix_ns + static_cast<int64_t>(seconds * 1e9);
  return e;
}

}  // namespace memproxy::heapwatch
