#include "heapwatch/analysis/window_aggregate.hpp"

#include <algorithm>

namespace memproxy::heapwatch {
namespace {

// Sums of up to 2^32 values below 2^64 fit in 96 bits.
using Sum = unsigned __int128;

uint64_t rounded_mean(Sum sum, uint64_t count) {
  return static_cast<uint64_t>((sum + count / 2) / count);
}

struct AggregateBuilder {
  WindowAggregate window;
  Sum live_sum = 0;
  Sum rss_sum = 0;

  void start(const Reading& s, int64_t start_ns) {
    window = WindowAggregate{};
    window.start_unix_ns = start_ns;
    window.first_unix_ns = s.unix_ns;
    window.live_bytes_min = s.live_bytes;
    live_sum = 0;
    rss_sum = 0;
    add(s);
  }

  void add(const Reading& s) {
    WindowAggregate& w = window;
    w.last_unix_ns = s.unix_ns;
    ++w.count;
    w.live_bytes_min = std::min(w.live_bytes_min, s.live_bytes);
    w.live_bytes_max = std::max(w.live_bytes_max, s.live_bytes);
    w.rss_bytes_max = std::max(w.rss_bytes_max, s.rss_bytes);
    w.peak_bytes = s.peak_bytes;
    w.allocations = s.allocations;
    w.frees = s.frees;
    live_sum += s.live_bytes;
    rss_sum += s.rss_bytes;
  }

  const WindowAggregate& finish() {
    window.live_bytes_mean = rounded_mean(live_sum, window.count);
    window.rss_bytes_mean = rounded_mean(rss_sum, window.count);
    return window;
  }
};

}  // namespace

int64_t window_start(int64_t unix_ns, int64_t width_ns) {
  int64_t q = unix_ns / width_ns;
  if (unix_ns % width_ns < 0) --q;
  return q * width_ns;
}

std::vector<WindowAggregate> aggregate_windows(std::span<const Reading> samples, int64_t width_ns) {
  std::vector<WindowAggregate> out;
  AggregateBuilder builder;
  bool open = false;
  for (const Reading& s : samples) {
    int64_t start = window_start(s.unix_ns, width_ns);
    if (open && start == builder.window.start_unix_ns) {
      builder.add(s);
      continue;
    }
    if (open) out.push_back(builder.finish());
    builder.start(s, start);
    open = true;
  }
  if (open) out.push_back(builder.finish());
  return out;
}

WindowAggregate merge_windows(const WindowAggregate& a, const WindowAggregate& b) {
  const WindowAggregate& later = b.last_unix_ns >= a.last_unix_ns ? b : a;
  WindowAggregate m = a;
  m.start_unix_ns = std::min(a.start_unix_ns, b.start_unix_ns);
  m.first_unix_ns = std::min(a.first_unix_ns, b.first_unix_ns);
  m.last_unix_ns = std::max(a.last_unix_ns, b.last_unix_ns);
  m.count = a.count + b.count;
  m.live_bytes_min = std::min(a.live_bytes_min, b.live_bytes_min);
  m.live_bytes_max = std::max(a.live_bytes_max, b.live_bytes_max);
  m.rss_bytes_max = std::max(a.rss_bytes_max, b.rss_bytes_max);
  m.peak_bytes = later.peak_bytes;
  m.allocations = later.allocations;
  m.frees = later.frees;
  if (m.count > 0) {
    m.live_bytes_mean = rounded_mean(Sum(a.live_bytes_mean) * a.count + Sum(b.live_bytes_mean) * b.count, m.count);
    m.rss_bytes_mean = rounded_mean(Sum(a.rss_bytes_mean) * a.count + Sum(b.rss_bytes_mean) * b.count, m.count);
  }
  return m;
}

Reading representative_sample(const WindowAggregate& window) {
  Reading s;
  s.unix_ns = window.last_unix_ns;
  s.live_bytes = window.live_bytes_mean;
  s.peak_bytes = window.peak_bytes;
  s.rss_bytes = window.rss_bytes_mean;
  s.allocations = window.allocations;
  s.frees = window.frees;
  return s;
}

}  // namespace memproxy::heapwatch
