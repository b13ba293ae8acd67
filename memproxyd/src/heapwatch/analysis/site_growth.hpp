// How fast one call site's estimated live bytes grow: the Theil-Sen slope
// through its snapshots, and a Mann-Kendall test (corrected for
// autocorrelation, as the leak verdict does) of whether they trend upward.
// Both are rank statistics, so a burst of allocations that is released by
// the next snapshot moves neither; the sampled estimate of a site whose
// blocks stay put does not move at all (its samples are the same records).
//
// A site is `growing` by the process verdict's rules (verdict.hpp, step 5),
// so that the two cannot tell different stories of one heap: besides a
// confident upward trend and a material rise, the median of each third of
// its series must rise over the one before by `plateau_ratio` of what the
// slope predicts, and the last third's rise must not fall below
// `levelling_ratio` of the middle's (a cache that filled and stopped, a
// warm-up, a step: growth that is over is not growth).
#ifndef MEMPROXYD_HEAPWATCH_SITE_GROWTH_HPP
#define MEMPROXYD_HEAPWATCH_SITE_GROWTH_HPP

#include <cstddef>
#include <cstdint>
#include <span>

namespace memproxy::heapwatch {

struct SitePoint {
  int64_t unix_ns = 0;
  double estimated_bytes = 0;
  friend bool operator==(const SitePoint&, const SitePoint&) = default;
};

struct SiteGrowthParameters {
  size_t min_points = 10;          // fewer: no estimate (the test's normal approximation needs about 10)
  double min_confidence = 0.999;   // 1 - one-sided p: a few hundred sites are tested at once
  double min_rise_bytes = 1 << 20;  // predicted rise over the series, below which growth is noise
  double plateau_ratio = 0.3;       // as VerdictParameters: each third's rise over the slope's prediction
  double levelling_ratio = 0.5;     // as VerdictParameters: the last third's rise over the middle's
};

struct SiteGrowth {
  double bytes_per_hour = 0;  // Theil-Sen; 0 without an estimate
  double confidence = 0;      // 1 - p of an upward trend, 0..1; 0 without an estimate
  size_t points = 0;          // snapshots the estimate is made from
  bool growing = false;       // confident, upward, rising by at least min_rise_bytes, and still rising
  bool levelled = false;      // confident and material, but it stopped or came at once (not growing)
  bool shrinking = false;     // a confident downward trend by at least min_rise_bytes
};

// `points` oldest first, times strictly increasing. O(n^2) for n points.
SiteGrowth estimate_growth(std::span<const SitePoint> points, const SiteGrowthParameters& parameters = {});

}  // namespace memproxy::heapwatch

#endif
