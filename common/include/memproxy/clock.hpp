// The wall clock as every record and answer of the project carries it:
// nanoseconds since the Unix epoch (the status record, the history, the heap
// query protocol, the trace). Intervals and deadlines use steady_clock, never
// this.
#ifndef MEMPROXY_CLOCK_HPP
#define MEMPROXY_CLOCK_HPP

#include <chrono>
#include <cstdint>

namespace memproxy {

inline constexpr int64_t kNsPerSecond = 1'000'000'000;
// For rates: bytes per nanosecond times this is bytes per hour.
inline constexpr double kNsPerHour = 3600.0 * 1e9;

inline int64_t unix_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace memproxy

#endif
