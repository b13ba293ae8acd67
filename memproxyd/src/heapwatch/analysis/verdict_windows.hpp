// The leak verdict's view of a series: per window, the low-water mark of
// live bytes, when it was seen, and the mean allocator overhead (RSS minus
// live bytes). Built in one pass from the store's summaries and the recent
// samples, keeping only the most recent `max_span`.
#ifndef MEMPROXYD_HEAPWATCH_VERDICT_WINDOWS_HPP
#define MEMPROXYD_HEAPWATCH_VERDICT_WINDOWS_HPP

#include <cstdint>
#include <vector>

#include "heapwatch/analysis/verdict.hpp"

namespace memproxy::heapwatch {

struct AnalysisWindow {
  int64_t start_unix_ns = 0;
  int64_t floor_unix_ns = 0;   // when the low-water mark was seen (the middle of a summary)
  uint64_t floor_bytes = 0;
  double overhead_bytes = 0;   // mean RSS minus mean live bytes
  uint32_t count = 0;          // samples in the window
};

struct AnalysisSeries {
  std::vector<AnalysisWindow> windows;  // oldest first, strictly increasing starts
  int64_t first_unix_ns = 0;            // of the whole input
  int64_t last_unix_ns = 0;
  uint64_t live_now_bytes = 0;          // the newest sample, or summary's mean
  bool empty = true;
};

// Input that goes back in time (a sample older than the window being built)
// is skipped. The newest window is dropped while it holds fewer than half the
// samples of a typical window: a partial window's low-water mark is biased
// upward, which would read as growth.
AnalysisSeries analysis_windows(const VerdictInput& input, int64_t window_ns, int64_t max_span_ns);

}  // namespace memproxy::heapwatch

#endif
