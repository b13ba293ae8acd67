// When will a process run out of the memory it may use? From its recent
// samples: the robust slope (Theil-Sen) of its resident set and of its live
// heap, each over block medians of the last `window_s` and trusted only when
// an upward trend is certain (Mann-Kendall at `alpha`); the steeper of the
// two trusted slopes, from the resident set now, reaches the limit when.
// The heap's slope counts too because a heap growing into memory the
// allocator kept is not yet resident, but will be.
//
// Nothing is forecast for a process whose memory does not certainly grow
// (a steady one, a cache that was trimmed), nor beyond `max_forecast_s`.
// A pure function: no clock, no I/O.
#ifndef MEMPROXYD_HEAPWATCH_EXHAUSTION_HPP
#define MEMPROXYD_HEAPWATCH_EXHAUSTION_HPP

#include <cstdint>
#include <optional>
#include <span>

#include "heapwatch/intake/watched_process.hpp"

namespace memproxy::heapwatch {

struct ExhaustionParameters {
  int64_t window_s = 600;            // the recent samples the slopes are measured over
  int64_t min_span_s = 90;           // no forecast from less
  int blocks = 12;
  double alpha = 0.001;
  int64_t max_forecast_s = 30 * 24 * 3600;
};

struct Exhaustion {
  int64_t at_unix_ns = 0;            // when the limit is reached, at the slope
  double slope_bytes_per_hour = 0;   // the slope the forecast follows
  uint64_t resident_now_bytes = 0;
  uint64_t limit_bytes = 0;
};

// `samples` oldest first; `limit_bytes` what the process may use (0: none
// known, no forecast).
std::optional<Exhaustion> forecast_exhaustion(std::span<const Reading> samples, uint64_t limit_bytes,
                                              const ExhaustionParameters& parameters = {});

}  // namespace memproxy::heapwatch

#endif
