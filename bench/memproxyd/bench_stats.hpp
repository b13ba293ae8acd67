// Timing and percentile helpers shared by the daemon's benchmark drivers.
#ifndef MEMPROXYD_BENCH_STATS_HPP
#define MEMPROXYD_BENCH_STATS_HPP

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <vector>

namespace memproxyd_bench {

using Clock = std::chrono::steady_clock;

inline double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Nearest-rank percentile, p in [0, 1]; `values` must not be empty.
inline double percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  std::size_t index = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(index, values.size() - 1)];
}

}  // namespace memproxyd_bench

#endif
