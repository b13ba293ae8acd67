// Is a process's heap growing without bound (a suspected leak)? A pure
// function of the process's history: no clock, no I/O, the same input gives
// the same verdict, so the daemon can run it at any timescale and tests can
// replay any series.
//
// The method, and why each step is there:
//  1. Samples are reduced to windows (`window_s`) and each window to its
//     low-water mark, the least live bytes seen in it. Leaked memory is never
//     freed, so a leak raises every later low-water mark; churn, bursts that
//     are released and caches that are trimmed move only the highs.
//  2. The first `warm_up_s` of the process are not analysed: programs fill
//     pools and caches as they start.
//  3. A horizon (see 6) is cut into `blocks` equal parts, each represented by
//     its lowest window. A cache trimmed at least once per block vanishes from
//     the block floors, and block floors are far less correlated than
//     adjacent windows.
//  4. Mann-Kendall on the block floors decides whether they trend upward
//     (one-sided, at `alpha` shared by every horizon tested), with its
//     variance corrected for the serial correlation that remains; the
//     Theil-Sen slope through them is the growth rate.
//  5. A significant trend is still not a leak when:
//     - too_slow: the growth over the horizon is below `min_growth_bytes` or
//       below `min_growth_fraction` of the heap;
//     - within_noise: it is below `min_growth_to_scatter` times the scatter
//       of the block floors about the trend line (slow fluctuations of the
//       memory in flight can order a few block floors by chance);
//     - trimmed: the lowest live bytes of the last third are not above the
//       lowest of the horizon by `floor_rise_ratio` of what the slope
//       predicts (the heap went back down: a cache, a batch);
//     - plateau: from the middle third to the last, the median low-water
//       mark rose less than `plateau_ratio` of what the slope predicts, or
//       less than `levelling_ratio` of its rise from the first third to the
//       middle, or, per hour, of its rise into the horizon from the history
//       before it (a warm-up that ended or is levelling off, possibly one
//       longer than `warm_up_s`; a step that stays flat);
//     - not_sustained: from the first third to the middle, it rose less than
//       `plateau_ratio` of the prediction, or less than `levelling_ratio` of
//       its rise from the middle to the last (a step, or a rise that began
//       lately: a shorter horizon judges that one).
//     Levels, not slopes, per third: a slope over a third of the horizon is
//     too noisy to compare for a slow leak; the rise of its median is not.
//  6. Horizons: the whole analysed span, then its recent halves (span/2,
//     span/4, ... down to `min_recent_horizon_s`), so a leak that starts in a
//     process that has run for days is found without waiting for it to
//     dominate the whole history. A recent horizon counts only when the
//     lowest live bytes of its last third are above every block floor of the
//     analysed history before it (within_history otherwise: a cache half-way
//     through growing is not above its own past peaks).
//  7. A fast leak is not left to wait for `min_duration_s`: the last
//     `fast_horizon_s` (from `fast_warm_up_s` after the start) is judged on
//     windows a 36th of its length, by every test above, when the heap grew
//     by at least `fast_growth_fraction` of itself per
//     `fast_growth_period_s` (10 minutes) over it,
//     and the growth does not slow down: over up to twice the horizon, the
//     later half's slope is at least `fast_levelling_ratio` of the earlier
//     half's. A warm-up that fills a heap over minutes is as fast as such a
//     leak but slows all along (1 - e^(-t/tau) halves its rate every 0.7
//     tau); a leak does not. This test can only say `growing`: until
//     `min_duration_s` has been analysed, a process it does not flag is not
//     judged yet. When more than a tenth of the fast horizon's windows hold
//     no sample (the daemon was down, or stalled), the tests above do not
//     hold (a missing third reads as a plateau, a missing half as no
//     trend): a process it does not flag then is not judged for a gap in
//     its history (`history_gap`), which a caller that judged it before
//     takes as no news rather than as a reason to drop that verdict.
// RSS minus live bytes (allocator overhead, fragmentation, and memory the
// program maps outside the allocator we watch: a runtime's own arenas, mmap,
// stacks) is trended over the whole span, on block medians, and reported: it
// never makes a verdict `growing`, because memory the allocator keeps is not
// memory the program lost. On a growing heap it is reported only when it
// grows faster than `usual_overhead_ratio` of the heap's own growth: an
// allocator's pages, slabs and metadata grow with what it serves, and that
// is no finding.
//
// Cost: O(S + A + W * H) time and O(W) memory for S samples, A aggregates,
// W windows within `max_span_s` and H <= 12 horizons (plus O(H * blocks^2)
// for the statistics on block floors); whatever the input's length, only
// `max_span_s` of windows is kept.
#ifndef MEMPROXYD_HEAPWATCH_VERDICT_HPP
#define MEMPROXYD_HEAPWATCH_VERDICT_HPP

#include <array>
#include <cstdint>
#include <span>

#include "heapwatch/analysis/trend_statistics.hpp"
#include "heapwatch/analysis/window_aggregate.hpp"
#include "heapwatch/intake/watched_process.hpp"

namespace memproxy::heapwatch {

struct VerdictParameters {
  int64_t window_s = 60;
  int64_t warm_up_s = 300;          // from the process start
  int64_t min_duration_s = 1800;    // analysed after the warm-up before any verdict
  int64_t max_span_s = 7 * 24 * 3600;  // older history is not analysed
  int64_t min_recent_horizon_s = 3600;  // the shortest recent horizon (at least min_duration_s)
  int blocks = 16;                  // clamped to [4, 64]
  double alpha = 0.001;             // false-alarm rate of the trend test, all horizons together
  uint64_t min_growth_bytes = 1 << 20;
  double min_growth_fraction = 0.01;  // of the horizon's lowest live bytes
  double min_growth_to_scatter = 6;   // growth over the floors' scatter (robust standard deviation)
  double floor_rise_ratio = 0.5;    // of the rise the slope predicts from the start to the last third
  double plateau_ratio = 0.3;       // each third's rise over the rise the slope predicts, at least
  double levelling_ratio = 0.5;     // the last third's rise over the middle's, and its rate over the rate into it
  double usual_overhead_ratio = 0.25;  // RSS beyond the heap per byte of heap growth that is no finding
  int64_t fast_warm_up_s = 30;        // from the process start, before a fast leak is judged
  int64_t fast_horizon_s = 540;       // 0 turns the fast test off
  int64_t fast_history_s = 7200;      // the history a fast horizon is compared with
  double fast_growth_fraction = 0.08;  // of the horizon's lowest live bytes per fast_growth_period_s, at least
  int64_t fast_growth_period_s = 600;
  double fast_levelling_ratio = 0.75;  // the later half's slope over the earlier's, at least
};

struct VerdictInput {
  // Older history as the store keeps it, oldest first, then the recent
  // samples, oldest first and newer than every aggregate. Either may be empty.
  std::span<const WindowAggregate> aggregates;
  std::span<const Reading> samples;
  // When known (not 0), the warm-up counts from here rather than from the
  // first sample: a daemon that restarts does not re-wait a warm-up.
  int64_t process_started_unix_ns = 0;
};

enum class Trend { not_enough_data, stable, growing };

// What decided the verdict (the first test that failed, or growing).
enum class Finding {
  too_short,
  no_trend,
  too_slow,
  within_noise,
  trimmed,
  plateau,
  not_sustained,
  within_history,
  growing,
  history_gap,  // not judged: the fast horizon has gaps and the full verdict is not due (7)
};

const char* to_string(Trend trend);
const char* to_string(Finding finding);

struct TrendEvidence {
  double slope_bytes_per_hour = 0;  // Theil-Sen
  MannKendall mann_kendall;
};

struct FragmentationEvidence {
  TrendEvidence trend;           // of RSS minus live bytes, over the whole analysed span
  bool growing = false;          // significant, above the growth thresholds and, on a growing heap,
                                 // faster than its usual overhead
  int64_t overhead_bytes_at_start = 0;  // RSS minus live: median of the first block
  int64_t overhead_bytes_now = 0;       // and of the last
};

struct LeakAnalysis {
  Trend trend = Trend::not_enough_data;
  Finding finding = Finding::too_short;
  // Over the horizon that flagged the growth, else over the whole analysed span.
  TrendEvidence live;                     // of the block low-water marks
  std::array<uint64_t, 3> floor_by_third_bytes{};  // median low-water mark of each third of the horizon
  int64_t observed_s = 0;                 // first to last input
  int64_t analysed_s = 0;                 // the horizon's length
  int64_t analysed_from_unix_ns = 0;
  int64_t analysed_until_unix_ns = 0;
  uint64_t floor_at_start_bytes = 0;      // low-water mark of the horizon's first window
  uint64_t floor_now_bytes = 0;           // of its last window
  uint64_t floor_rise_bytes = 0;          // lowest of the last third minus lowest of the horizon
  double floor_scatter_bytes = 0;         // of the block floors about the trend line
  uint64_t live_now_bytes = 0;            // the last sample
  int horizons_tested = 0;
  bool fast = false;                      // growing by the fast test (7), on its short horizon
  FragmentationEvidence fragmentation;
};

LeakAnalysis analyse_leak(const VerdictInput& input, const VerdictParameters& parameters = {});

// When a process whose warm-up counts from `origin_unix_ns` (its start)
// has history enough for a verdict other than not_enough_data: the first
// window that starts after its warm-up, plus min_duration_s. Input sampled
// without gaps may reach it up to a window sooner (the newest window counts
// once half full), never later.
int64_t first_verdict_unix_ns(int64_t origin_unix_ns, const VerdictParameters& parameters = {});

}  // namespace memproxy::heapwatch

#endif
