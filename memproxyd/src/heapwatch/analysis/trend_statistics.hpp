// Distribution-free trend statistics on short series: the Mann-Kendall test
// (is there a monotonic trend, and how sure) and the Theil-Sen estimator (how
// steep, robustly). Both ignore the size of outliers, which is what makes
// them fit heap series, where a single burst of allocations is routine.
//
// Both take O(n^2) time (Theil-Sen also O(n^2) memory): the leak verdict calls
// them on a few dozen block values, never on raw samples.
#ifndef MEMPROXYD_HEAPWATCH_TREND_STATISTICS_HPP
#define MEMPROXYD_HEAPWATCH_TREND_STATISTICS_HPP

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace memproxy::heapwatch {

struct MannKendall {
  std::size_t n = 0;
  int64_t s = 0;          // sum over pairs i < j of sign(x_j - x_i)
  double variance = 0;    // of S under no trend, corrected for ties (and for autocorrelation, see below)
  double variance_inflation = 1;  // the autocorrelation correction applied, >= 1
  double z = 0;           // (S -+ 1) / sqrt(variance): continuity corrected, 0 when S is 0
  double p_value = 1;     // two-sided, normal approximation (sound from n of about 10)
  // The one-sided p-value for an upward trend.
  double p_upward() const;
};

// `values` in time order.
MannKendall mann_kendall(std::span<const double> values);

struct TimedValue {
  double time = 0;  // any unit; strictly increasing along the series
  double value = 0;
};

// Mann-Kendall with the variance corrected for autocorrelation (Hamed and
// Rao, 1998): the ranks of the series detrended by `slope` (value per unit of
// time) are tested for serial correlation, and the variance of S is inflated
// by n/n* from the significant lags (never deflated). Neighbouring values
// that drift together otherwise look like a trend.
MannKendall mann_kendall_autocorrelated(std::span<const TimedValue> points, double slope);

// Which of `parts` equal parts of [from, until) holds `t` (clamped to the
// first and the last).
int part_of(int64_t t, int64_t from, int64_t until, int parts);

// Values grouped into equal parts of a span, each part's median at its
// middle (`part_length` per part, in the caller's unit of time); empty parts
// are left out. Reorders the values within each part.
std::vector<TimedValue> part_medians(std::vector<std::vector<double>>& parts, double part_length);

// The median of the slopes between every pair of points (value per unit of
// time); 0 for fewer than two points.
double theil_sen_slope(std::span<const TimedValue> points);

}  // namespace memproxy::heapwatch

#endif
