#include "heapwatch/analysis/verdict.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <optional>
#include <vector>

#include "heapwatch/analysis/verdict_windows.hpp"
#include "memproxy/clock.hpp"

namespace memproxy::heapwatch {
namespace {

constexpr int kMaxHorizons = 12;
constexpr int64_t kFastWindows = 36;  // per fast horizon: enough blocks for the trend test
constexpr int64_t kMaxSeconds = 366LL * 24 * 3600;

// The parameters in nanoseconds, each within a range where the method means
// something: a caller's odd value degrades the verdict, never crashes it.
struct Settings {
  int64_t window_ns;
  int64_t warm_up_ns;
  int64_t min_duration_ns;
  int64_t max_span_ns;
  int64_t min_recent_ns;
  int blocks;
  double alpha;
  double min_growth_bytes;
  double min_growth_fraction;
  double floor_rise_ratio;
  double plateau_ratio;
  double levelling_ratio;
  double min_growth_to_scatter;
  double usual_overhead_ratio;
  int64_t fast_warm_up_ns;
  int64_t fast_horizon_ns;  // 0: no fast test
  int64_t fast_history_ns;
  double fast_growth_fraction;
  int64_t fast_growth_period_ns;
  double fast_levelling_ratio;

  explicit Settings(const VerdictParameters& p) {
    int64_t window_s = std::clamp<int64_t>(p.window_s, 1, 24 * 3600);
    window_ns = window_s * kNsPerSecond;
    warm_up_ns = std::clamp<int64_t>(p.warm_up_s, 0, kMaxSeconds) * kNsPerSecond;
    min_duration_ns = std::clamp<int64_t>(p.min_duration_s, 4 * window_s, kMaxSeconds) * kNsPerSecond;
    max_span_ns = std::clamp<int64_t>(p.max_span_s, min_duration_ns / kNsPerSecond, kMaxSeconds) * kNsPerSecond;
    min_recent_ns = std::clamp<int64_t>(p.min_recent_horizon_s, min_duration_ns / kNsPerSecond, kMaxSeconds) * kNsPerSecond;
    blocks = std::clamp(p.blocks, 4, 64);
    alpha = std::clamp(p.alpha, 1e-12, 0.5);
    min_growth_bytes = static_cast<double>(p.min_growth_bytes);
    min_growth_fraction = std::max(0.0, p.min_growth_fraction);
    floor_rise_ratio = std::max(0.0, p.floor_rise_ratio);
    plateau_ratio = std::max(0.0, p.plateau_ratio);
    levelling_ratio = std::max(0.0, p.levelling_ratio);
    min_growth_to_scatter = std::max(0.0, p.min_growth_to_scatter);
    usual_overhead_ratio = std::max(0.0, p.usual_overhead_ratio);
    fast_warm_up_ns = std::clamp<int64_t>(p.fast_warm_up_s, 0, kMaxSeconds) * kNsPerSecond;
    fast_horizon_ns = std::clamp<int64_t>(p.fast_horizon_s, 0, kMaxSeconds) * kNsPerSecond;
    fast_history_ns = std::clamp<int64_t>(p.fast_history_s, p.fast_horizon_s, kMaxSeconds) * kNsPerSecond;
    fast_growth_fraction = std::max(0.0, p.fast_growth_fraction);
    fast_growth_period_ns = std::clamp<int64_t>(p.fast_growth_period_s, 1, kMaxSeconds) * kNsPerSecond;
    fast_levelling_ratio = std::max(0.0, p.fast_levelling_ratio);
  }
};

using Windows = std::span<const AnalysisWindow>;

// The windows starting at or after `from`.
Windows windows_from(Windows windows, int64_t from) {
  auto it = std::lower_bound(windows.begin(), windows.end(), from,
                             [](const AnalysisWindow& w, int64_t t) { return w.start_unix_ns < t; });
  return windows.subspan(static_cast<std::size_t>(it - windows.begin()));
}

// The windows starting in [from, until).
Windows windows_between(Windows windows, int64_t from, int64_t until) {
  Windows after = windows_from(windows, from);
  return after.first(after.size() - windows_from(after, until).size());
}

double hours_between(int64_t from, int64_t to) { return static_cast<double>(to - from) / kNsPerHour; }

uint64_t lowest_floor(Windows windows) {
  uint64_t lowest = std::numeric_limits<uint64_t>::max();
  for (const AnalysisWindow& w : windows) lowest = std::min(lowest, w.floor_bytes);
  return lowest;
}

// The median of the windows' low-water marks (0 for none).
uint64_t median_floor(Windows windows) {
  if (windows.empty()) return 0;
  std::vector<uint64_t> floors;
  floors.reserve(windows.size());
  for (const AnalysisWindow& w : windows) floors.push_back(w.floor_bytes);
  auto mid = floors.begin() + static_cast<std::ptrdiff_t>(floors.size() / 2);
  std::nth_element(floors.begin(), mid, floors.end());
  return *mid;
}

// Each non-empty part's lowest window, as (hours since `from`, bytes).
std::vector<TimedValue> block_floors(Windows windows, int64_t from, int64_t until, int parts) {
  std::vector<const AnalysisWindow*> lowest(static_cast<std::size_t>(parts), nullptr);
  for (const AnalysisWindow& w : windows) {
    const AnalysisWindow*& slot = lowest[static_cast<std::size_t>(part_of(w.start_unix_ns, from, until, parts))];
    if (slot == nullptr || w.floor_bytes < slot->floor_bytes) slot = &w;
  }
  std::vector<TimedValue> out;
  for (const AnalysisWindow* w : lowest) {
    if (w != nullptr) out.push_back({hours_between(from, w->floor_unix_ns), static_cast<double>(w->floor_bytes)});
  }
  return out;
}

// Each non-empty part's median overhead, at the part's middle.
std::vector<TimedValue> block_overheads(Windows windows, int64_t from, int64_t until, int parts) {
  std::vector<std::vector<double>> values(static_cast<std::size_t>(parts));
  for (const AnalysisWindow& w : windows) {
    values[static_cast<std::size_t>(part_of(w.start_unix_ns, from, until, parts))].push_back(w.overhead_bytes);
  }
  return part_medians(values, hours_between(from, until) / parts);
}

// The scatter of the points about the line through them: the median
// absolute deviation of the residuals, scaled to be the standard deviation of
// normal noise.
double scatter_about(const std::vector<TimedValue>& points, double slope) {
  std::vector<double> residuals;
  residuals.reserve(points.size());
  for (const TimedValue& p : points) residuals.push_back(p.value - slope * p.time);
  auto median_of = [](std::vector<double>& v) {
    auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
    std::nth_element(v.begin(), mid, v.end());
    return *mid;
  };
  double center = median_of(residuals);
  for (double& r : residuals) r = std::fabs(r - center);
  return 1.4826 * median_of(residuals);
}

TrendEvidence trend_of(const std::vector<TimedValue>& points) {
  TrendEvidence e;
  e.slope_bytes_per_hour = theil_sen_slope(points);
  e.mann_kendall = mann_kendall_autocorrelated(points, e.slope_bytes_per_hour);
  return e;
}

struct HorizonOutcome {
  Finding finding = Finding::too_short;
  TrendEvidence live;
  std::array<uint64_t, 3> floor_by_third{};
  double scatter = 0;
  int64_t from_ns = 0;
  int64_t until_ns = 0;
  uint64_t floor_at_start = 0;
  uint64_t floor_now = 0;
  uint64_t floor_rise = 0;
};

// The highest block floor of the history before a recent horizon, in blocks
// as long as the horizon's: what the heap has already been back down to.
uint64_t highest_prior_floor(Windows prior, int64_t horizon_from, int64_t block_ns) {
  uint64_t highest = 0;
  uint64_t block_floor = std::numeric_limits<uint64_t>::max();
  int64_t block = -1;
  for (auto it = prior.rbegin(); it != prior.rend(); ++it) {
    int64_t b = (horizon_from - 1 - it->start_unix_ns) / block_ns;
    if (b != block) {
      if (block >= 0) highest = std::max(highest, block_floor);
      block = b;
      block_floor = it->floor_bytes;
    }
    block_floor = std::min(block_floor, it->floor_bytes);
  }
  if (block >= 0) highest = std::max(highest, block_floor);
  return highest;
}

// How fast the low-water mark rose from the history before a horizon to the
// horizon's first third, in bytes per hour; 0 without history. The level
// before is the history's median when it is long enough to mean something,
// else (a few minutes of warm-up) its highest window: a median of a few
// windows is noise, and their highest can only understate the rise.
double rate_into_horizon(Windows before, std::size_t horizon_windows, uint64_t first_third_level,
                         int64_t first_third_middle) {
  if (before.empty()) return 0;
  uint64_t level = 0;
  if (before.size() * 3 >= horizon_windows) {
    level = median_floor(before);
  } else {
    for (const AnalysisWindow& w : before) level = std::max(level, w.floor_bytes);
  }
  int64_t middle = before.front().start_unix_ns + (before.back().start_unix_ns - before.front().start_unix_ns) / 2;
  if (first_third_middle <= middle) return 0;
  return (static_cast<double>(first_third_level) - static_cast<double>(level)) / hours_between(middle, first_third_middle);
}

// `history` is every window, warm-up included; `analysed_from` where the
// analysis starts; the horizon is [from, until), a suffix of the analysis.
HorizonOutcome evaluate_horizon(Windows history, int64_t analysed_from, int64_t from, int64_t until,
                                const Settings& s, double alpha) {
  HorizonOutcome out;
  out.from_ns = from;
  out.until_ns = until;
  const Windows horizon = windows_from(history, from);
  const Windows before = history.first(history.size() - horizon.size());
  const Windows analysed_before = windows_from(before, analysed_from);
  const bool recent = !analysed_before.empty();
  if (horizon.size() < 4) return out;
  const int parts = std::min<int>(s.blocks, static_cast<int>(horizon.size()));
  const std::vector<TimedValue> floors = block_floors(horizon, from, until, parts);
  if (floors.size() < 4) return out;

  out.live = trend_of(floors);
  out.scatter = scatter_about(floors, out.live.slope_bytes_per_hour);
  out.floor_at_start = horizon.front().floor_bytes;
  out.floor_now = horizon.back().floor_bytes;
  const int64_t third = (until - from) / 3;
  for (int i = 0; i < 3; ++i) {
    out.floor_by_third[i] = median_floor(windows_between(horizon, from + third * i, i == 2 ? until : from + third * (i + 1)));
  }
  const uint64_t lowest = lowest_floor(horizon);
  const uint64_t lowest_late = lowest_floor(windows_from(horizon, from + 2 * third));
  out.floor_rise = lowest_late > lowest ? lowest_late - lowest : 0;

  const double slope = out.live.slope_bytes_per_hour;
  const double growth = slope * hours_between(from, until);
  const double expected_per_third = growth / 3;
  const double rise_early = static_cast<double>(out.floor_by_third[1]) - static_cast<double>(out.floor_by_third[0]);
  const double rise_late = static_cast<double>(out.floor_by_third[2]) - static_cast<double>(out.floor_by_third[1]);
  const double rate_late = rise_late / hours_between(from, from + third);
  // Slowing down: within the horizon, or compared with how fast the floor
  // rose into it (a warm-up longer than warm_up_s, whose tail a horizon alone
  // cannot tell from a leak).
  const bool levelling =
      rise_late < s.levelling_ratio * rise_early ||
      rate_late < s.levelling_ratio * rate_into_horizon(before, horizon.size(), out.floor_by_third[0], from + third / 2);

  if (!(out.live.mann_kendall.z > 0 && out.live.mann_kendall.p_upward() < alpha)) {
    out.finding = Finding::no_trend;
  } else if (growth < std::max(s.min_growth_bytes, s.min_growth_fraction * static_cast<double>(lowest))) {
    out.finding = Finding::too_slow;
  } else if (growth < s.min_growth_to_scatter * out.scatter) {
    out.finding = Finding::within_noise;
  } else if (static_cast<double>(out.floor_rise) < s.floor_rise_ratio * 2 * expected_per_third) {
    out.finding = Finding::trimmed;
  } else if (rise_late < s.plateau_ratio * expected_per_third || levelling) {
    out.finding = Finding::plateau;
  } else if (rise_early < s.plateau_ratio * expected_per_third || rise_early < s.levelling_ratio * rise_late) {
    out.finding = Finding::not_sustained;
  } else if (recent && lowest_late <= highest_prior_floor(analysed_before, from, std::max<int64_t>(1, (until - from) / parts))) {
    out.finding = Finding::within_history;
  } else {
    out.finding = Finding::growing;
  }
  return out;
}

// The Theil-Sen slope of the block floors of [from, until), in bytes per hour.
double slope_between(Windows windows, int64_t from, int64_t until, int parts) {
  return theil_sen_slope(block_floors(windows_between(windows, from, until), from, until, parts));
}

// The fast test (7) on the most recent horizon, for a process started at
// `origin`: the horizon's outcome when it says growing, else nothing, with
// `gapped` set when the horizon lacks more than a tenth of its windows.
std::optional<HorizonOutcome> fast_growth(const VerdictInput& input, int64_t origin, const Settings& s, double alpha,
                                          bool& gapped) {
  gapped = false;
  const int64_t window_ns = std::max<int64_t>(1, s.fast_horizon_ns / kFastWindows);
  const AnalysisSeries series = analysis_windows(input, window_ns, s.fast_history_ns);
  if (series.windows.empty()) return std::nullopt;
  const int64_t until = series.windows.back().start_unix_ns + window_ns;
  const int64_t from = until - kFastWindows * window_ns;
  const int64_t judged_from = origin + s.fast_warm_up_ns;
  if (from < judged_from) return std::nullopt;
  gapped = static_cast<int64_t>(windows_from(series.windows, from).size()) * 10 < kFastWindows * 9;
  Settings fast = s;
  fast.min_growth_fraction = s.fast_growth_fraction * static_cast<double>(until - from) /
                             static_cast<double>(s.fast_growth_period_ns);
  HorizonOutcome h = evaluate_horizon(series.windows, judged_from, from, until, fast, alpha);
  if (h.finding != Finding::growing) return std::nullopt;
  const int64_t span_from = std::max(judged_from, until - 2 * (until - from));
  const int64_t middle = span_from + (until - span_from) / 2;
  const int parts = std::max(4, s.blocks / 2);
  const double early = slope_between(series.windows, span_from, middle, parts);
  const double late = slope_between(series.windows, middle, until, parts);
  if (early > 0 && late < s.fast_levelling_ratio * early) return std::nullopt;
  return h;
}

// `heap_slope` is the live heap's growth per hour when the verdict is
// growing, else 0.
FragmentationEvidence fragmentation_of(Windows horizon, int64_t from, int64_t until, uint64_t floor_at_start,
                                       double heap_slope, const Settings& s) {
  FragmentationEvidence f;
  int parts = std::min<int>(s.blocks, static_cast<int>(horizon.size()));
  std::vector<TimedValue> overheads = block_overheads(horizon, from, until, parts);
  if (overheads.size() < 4) return f;
  f.trend = trend_of(overheads);
  f.overhead_bytes_at_start = static_cast<int64_t>(overheads.front().value);
  f.overhead_bytes_now = static_cast<int64_t>(overheads.back().value);
  double rss_at_start = static_cast<double>(floor_at_start) + std::max(0.0, overheads.front().value);
  double growth = f.trend.slope_bytes_per_hour * hours_between(from, until);
  f.growing = f.trend.mann_kendall.z > 0 && f.trend.mann_kendall.p_upward() < s.alpha &&
              growth >= std::max(s.min_growth_bytes, s.min_growth_fraction * rss_at_start) &&
              f.trend.slope_bytes_per_hour > s.usual_overhead_ratio * heap_slope;
  return f;
}

}  // namespace

const char* to_string(Trend trend) {
  switch (trend) {
    case Trend::not_enough_data: return heap_query::trend::kNotEnoughData;
    case Trend::stable: return heap_query::trend::kStable;
    case Trend::growing: return heap_query::trend::kGrowing;
  }
  return "?";
}

const char* to_string(Finding finding) {
  switch (finding) {
    case Finding::too_short: return "too short";
    case Finding::no_trend: return "no significant trend";
    case Finding::too_slow: return "growth below the thresholds";
    case Finding::within_noise: return "growth within the fluctuations";
    case Finding::trimmed: return "the heap went back down";
    case Finding::plateau: return "growth has stopped";
    case Finding::not_sustained: return "growth came at once or only lately";
    case Finding::within_history: return "within levels seen before";
    case Finding::growing: return "growing";
    case Finding::history_gap: return "a gap in the history";
  }
  return "?";
}

int64_t first_verdict_unix_ns(int64_t origin_unix_ns, const VerdictParameters& parameters) {
  const Settings s(parameters);
  // The first analysed window is the first whose start is not before the
  // end of the warm-up (windows_from in analyse_leak).
  const int64_t warm = origin_unix_ns + s.warm_up_ns;
  int64_t first_window = window_start(warm, s.window_ns);
  if (first_window < warm) first_window += s.window_ns;
  return first_window + s.min_duration_ns;
}

LeakAnalysis analyse_leak(const VerdictInput& input, const VerdictParameters& parameters) {
  const Settings s(parameters);
  LeakAnalysis v;
  AnalysisSeries series = analysis_windows(input, s.window_ns, s.max_span_ns);
  if (series.empty) return v;
  v.observed_s = (series.last_unix_ns - series.first_unix_ns) / kNsPerSecond;
  v.live_now_bytes = series.live_now_bytes;
  if (series.windows.empty()) return v;

  const int64_t origin = input.process_started_unix_ns != 0 ? input.process_started_unix_ns : series.first_unix_ns;
  const Windows analysed = windows_from(series.windows, origin + s.warm_up_ns);
  const int64_t from = analysed.empty() ? 0 : analysed.front().start_unix_ns;
  const int64_t until = analysed.empty() ? 0 : analysed.back().start_unix_ns + s.window_ns;
  if (!analysed.empty()) {
    v.analysed_from_unix_ns = from;
    v.analysed_until_unix_ns = until;
    v.analysed_s = (until - from) / kNsPerSecond;
    v.floor_at_start_bytes = analysed.front().floor_bytes;
    v.floor_now_bytes = analysed.back().floor_bytes;
  }
  const bool long_enough = !analysed.empty() && until - from >= s.min_duration_ns;

  int horizons = 0;
  if (long_enough) {
    horizons = 1;
    while (horizons < kMaxHorizons && ((until - from) >> horizons) >= s.min_recent_ns) ++horizons;
  }
  // Bonferroni: the chance that any horizon raises a false alarm stays below
  // alpha. The fast test asks at its own alpha, so the two together stay
  // below twice it: sharing it would make the slowest leaks wait longer for
  // the sake of a test that only judges growth of 10% per 10 minutes.
  const double alpha = s.alpha / std::max(1, horizons);

  HorizonOutcome chosen;
  for (int k = 0; k < horizons; ++k) {
    HorizonOutcome h = evaluate_horizon(series.windows, from, until - ((until - from) >> k), until, s, alpha);
    v.horizons_tested = k + 1;
    if (k == 0) chosen = h;
    if (h.finding == Finding::growing) {
      chosen = h;
      break;
    }
  }
  bool gapped = false;
  if (s.fast_horizon_ns > 0 && chosen.finding != Finding::growing) {
    if (std::optional<HorizonOutcome> fast = fast_growth(input, origin, s, s.alpha, gapped)) {
      chosen = *fast;
      v.fast = true;
    }
  }
  if (!long_enough && !v.fast) {
    if (gapped) v.finding = Finding::history_gap;
    return v;
  }

  v.trend = chosen.finding == Finding::growing ? Trend::growing
            : chosen.finding == Finding::too_short ? Trend::not_enough_data
                                                    : Trend::stable;
  v.finding = chosen.finding;
  v.live = chosen.live;
  v.floor_by_third_bytes = chosen.floor_by_third;
  v.analysed_from_unix_ns = chosen.from_ns;
  v.analysed_until_unix_ns = chosen.until_ns;
  v.analysed_s = (chosen.until_ns - chosen.from_ns) / kNsPerSecond;
  v.floor_at_start_bytes = chosen.floor_at_start;
  v.floor_now_bytes = chosen.floor_now;
  v.floor_rise_bytes = chosen.floor_rise;
  v.floor_scatter_bytes = chosen.scatter;
  const double heap_slope = v.trend == Trend::growing ? std::max(0.0, v.live.slope_bytes_per_hour) : 0.0;
  if (!analysed.empty()) {
    v.fragmentation = fragmentation_of(analysed, from, until, analysed.front().floor_bytes, heap_slope, s);
  }
  return v;
}

}  // namespace memproxy::heapwatch
