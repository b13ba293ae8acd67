// The samples of one process within one fixed-width time window, summarised:
// what the history store keeps once one-second samples age out, and what the
// leak verdict reduces samples to. Windows are aligned to whole multiples of
// their width since the Unix epoch, so summaries made at different times (or
// by the store and by the verdict) fall into the same windows.
#ifndef MEMPROXYD_HEAPWATCH_WINDOW_AGGREGATE_HPP
#define MEMPROXYD_HEAPWATCH_WINDOW_AGGREGATE_HPP

#include <cstdint>
#include <span>
#include <vector>

#include "heapwatch/intake/watched_process.hpp"

namespace memproxy::heapwatch {

struct WindowAggregate {
  int64_t start_unix_ns = 0;  // a multiple of the window width
  int64_t first_unix_ns = 0;  // the first and last sample summarised
  int64_t last_unix_ns = 0;
  uint32_t count = 0;         // samples summarised, >= 1
  uint64_t live_bytes_min = 0;  // the low-water mark: a leak raises it, a cache that is trimmed does not
  uint64_t live_bytes_max = 0;
  uint64_t live_bytes_mean = 0;  // rounded to the nearest byte
  uint64_t rss_bytes_max = 0;
  uint64_t rss_bytes_mean = 0;
  // At the window's last sample. Not the window's maxima: a process that
  // execs keeps its id, but its heap and its accounts start anew.
  uint64_t peak_bytes = 0;
  uint64_t allocations = 0;
  uint64_t frees = 0;
  friend bool operator==(const WindowAggregate&, const WindowAggregate&) = default;
};

// The start of the window of width `width_ns` (> 0) holding `unix_ns`; exact
// for negative times too.
int64_t window_start(int64_t unix_ns, int64_t width_ns);

// Summarises `samples` (in time order) into windows of `width_ns`, oldest
// first, one per window that holds a sample. O(n).
std::vector<WindowAggregate> aggregate_windows(std::span<const Reading> samples, int64_t width_ns);

// One summary of the samples summarised by `a` and by `b` (windows of the same
// start, or `a` widened to hold `b`): the means weighted by their counts.
WindowAggregate merge_windows(const WindowAggregate& a, const WindowAggregate& b);

// A sample that stands for the whole window where only its summary is left:
// at its last sample's time, with the mean live and resident bytes, the peak
// and the counters at its end.
Reading representative_sample(const WindowAggregate& window);

}  // namespace memproxy::heapwatch

#endif
