#include "heapwatch/analysis/daemon_verdict.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>

namespace memproxy::heapwatch {

VerdictParameters time_scaled(VerdictParameters p, int scale) {
  const int64_t by = std::max(1, scale);
  p.window_s = std::max<int64_t>(1, p.window_s / by);
  p.warm_up_s /= by;
  p.min_duration_s /= by;
  p.max_span_s /= by;
  p.min_recent_horizon_s /= by;
  p.fast_warm_up_s /= by;
  p.fast_horizon_s /= by;
  p.fast_history_s /= by;
  p.fast_growth_period_s = std::max<int64_t>(1, p.fast_growth_period_s / by);
  return p;
}

ExhaustionParameters time_scaled(ExhaustionParameters p, int scale) {
  const int64_t by = std::max(1, scale);
  p.window_s = std::max<int64_t>(1, p.window_s / by);
  p.min_span_s = std::max<int64_t>(1, p.min_span_s / by);
  return p;
}

std::chrono::milliseconds time_scaled(std::chrono::milliseconds interval, int scale) {
  return std::max(std::chrono::milliseconds(1), interval / std::max(1, scale));
}

heap_query::Verdict summarize(const LeakAnalysis& v) {
  heap_query::Verdict s;
  s.trend = to_string(v.trend);
  s.finding = to_string(v.finding);
  s.slope_bytes_per_hour = v.live.slope_bytes_per_hour;
  // The test is one-sided (is the heap growing?): its confidence is that of growth.
  s.confidence = v.trend == Trend::not_enough_data ? 0.0 : 1.0 - v.live.mann_kendall.p_upward();
  s.mann_kendall_z = v.live.mann_kendall.z;
  s.observed_s = v.observed_s;
  s.analysed_s = v.analysed_s;
  s.live_at_start_bytes = v.floor_at_start_bytes;
  s.live_now_bytes = v.floor_now_bytes;
  s.fragmentation_growing = v.fragmentation.growing;
  s.fragmentation_slope_bytes_per_hour = v.fragmentation.trend.slope_bytes_per_hour;
  return s;
}

VerdictState state_of(const heap_query::Verdict& summary) {
  if (summary.trend == to_string(Trend::growing)) return VerdictState::growing;
  if (summary.trend == to_string(Trend::stable)) return VerdictState::stable;
  return VerdictState::not_judged;
}

const char* state_label(VerdictState state) {
  switch (state) {
    case VerdictState::not_judged: return "not_judged";
    case VerdictState::stable: return heap_query::trend::kStable;
    case VerdictState::growing: return heap_query::trend::kGrowing;
  }
  return "not_judged";
}

const char* state_words(VerdictState state) {
  return state == VerdictState::not_judged ? "not judged" : state_label(state);
}

std::string growth_rate_text(double bytes_per_hour) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  const double rate = std::isfinite(bytes_per_hour) ? bytes_per_hour : 0;
  double magnitude = std::fabs(rate);
  size_t unit = 0;
  while (magnitude >= 1024 && unit + 1 < std::size(kUnits)) {
    magnitude /= 1024;
    ++unit;
  }
  char text[48];
  // Whole numbers from 100 up and for bytes; one decimal below.
  std::snprintf(text, sizeof text, unit == 0 || magnitude >= 100 ? "%c%.0f %s/h" : "%c%.1f %s/h",
                rate < 0 ? '-' : '+', magnitude, kUnits[unit]);
  return text;
}

}  // namespace memproxy::heapwatch
