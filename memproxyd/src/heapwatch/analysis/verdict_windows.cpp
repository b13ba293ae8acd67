#include "heapwatch/analysis/verdict_windows.hpp"

#include <algorithm>
#include <limits>

namespace memproxy::heapwatch {
namespace {

class WindowBuilder {
 public:
  WindowBuilder(int64_t window_ns, int64_t keep_from_ns, std::vector<AnalysisWindow>& out)
      : window_ns_(window_ns), keep_from_ns_(keep_from_ns), out_(out) {}

  void add_summary(const WindowAggregate& a) {
    if (a.count == 0) return;
    int64_t mid = a.first_unix_ns + (a.last_unix_ns - a.first_unix_ns) / 2;
    add(window_start(a.start_unix_ns, window_ns_), a.live_bytes_min, mid,
        static_cast<double>(a.live_bytes_mean) * a.count, static_cast<double>(a.rss_bytes_mean) * a.count, a.count);
  }

  void add_sample(const Reading& s) {
    add(window_start(s.unix_ns, window_ns_), s.live_bytes, s.unix_ns, static_cast<double>(s.live_bytes),
        static_cast<double>(s.rss_bytes), 1);
  }

  void finish() {
    if (open_) flush();
    open_ = false;
  }

 private:
  void add(int64_t start, uint64_t floor, int64_t floor_time, double live_sum, double rss_sum, uint32_t count) {
    if (start < keep_from_ns_) return;
    if (open_ && start < current_.start_unix_ns) return;
    if (!open_ || start != current_.start_unix_ns) {
      if (open_) flush();
      open_ = true;
      current_ = AnalysisWindow{};
      current_.start_unix_ns = start;
      current_.floor_bytes = std::numeric_limits<uint64_t>::max();
      live_sum_ = 0;
      rss_sum_ = 0;
    }
    if (floor < current_.floor_bytes) {
      current_.floor_bytes = floor;
      current_.floor_unix_ns = floor_time;
    }
    live_sum_ += live_sum;
    rss_sum_ += rss_sum;
    current_.count += count;
  }

  void flush() {
    current_.overhead_bytes = (rss_sum_ - live_sum_) / current_.count;
    out_.push_back(current_);
  }

  int64_t window_ns_;
  int64_t keep_from_ns_;
  std::vector<AnalysisWindow>& out_;
  bool open_ = false;
  AnalysisWindow current_;
  double live_sum_ = 0;
  double rss_sum_ = 0;
};

void drop_partial_newest(std::vector<AnalysisWindow>& windows) {
  if (windows.size() < 3) return;
  std::vector<uint32_t> counts;
  counts.reserve(windows.size() - 1);
  for (std::size_t i = 0; i + 1 < windows.size(); ++i) counts.push_back(windows[i].count);
  auto mid = counts.begin() + static_cast<std::ptrdiff_t>(counts.size() / 2);
  std::nth_element(counts.begin(), mid, counts.end());
  if (2 * windows.back().count < *mid) windows.pop_back();
}

}  // namespace

AnalysisSeries analysis_windows(const VerdictInput& input, int64_t window_ns, int64_t max_span_ns) {
  AnalysisSeries series;
  const auto& aggregates = input.aggregates;
  const auto& samples = input.samples;
  if (aggregates.empty() && samples.empty()) return series;
  series.empty = false;

  int64_t newest_summary_ns = aggregates.empty() ? std::numeric_limits<int64_t>::min() : aggregates.back().last_unix_ns;
  series.first_unix_ns = aggregates.empty() ? samples.front().unix_ns : aggregates.front().first_unix_ns;
  if (!samples.empty() && samples.back().unix_ns > newest_summary_ns) {
    series.last_unix_ns = samples.back().unix_ns;
    series.live_now_bytes = samples.back().live_bytes;
  } else {
    series.last_unix_ns = aggregates.back().last_unix_ns;
    series.live_now_bytes = aggregates.back().live_bytes_mean;
  }

  // Windows wholly before the span are never looked at: memory stays
  // bounded by the span whatever the input's length.
  int64_t keep_from = std::numeric_limits<int64_t>::min();
  if (series.last_unix_ns >= std::numeric_limits<int64_t>::min() + max_span_ns + window_ns) {
    keep_from = window_start(series.last_unix_ns - max_span_ns, window_ns);
  }
  WindowBuilder builder(window_ns, keep_from, series.windows);
  for (const WindowAggregate& a : aggregates) builder.add_summary(a);
  for (const Reading& s : samples) {
    if (s.unix_ns > newest_summary_ns) builder.add_sample(s);
  }
  builder.finish();
  drop_partial_newest(series.windows);
  return series;
}

}  // namespace memproxy::heapwatch
