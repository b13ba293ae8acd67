// A labelled corpus of heap histories for the leak verdict: one generator per
// pattern a watched process can show, each deterministic in its seed, with
// the churn of a busy process on top (fast and slow fluctuations of the
// memory in flight, and short bursts), and an RSS that keeps freed memory
// for a while as allocators do.
#ifndef MEMPROXY_TESTS_HEAPWATCH_SYNTHETIC_CORPUS_HPP
#define MEMPROXY_TESTS_HEAPWATCH_SYNTHETIC_CORPUS_HPP

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "heapwatch/intake/watched_process.hpp"

namespace memproxy::heapwatch::corpus {

enum class Pattern {
  steady,          // a constant heap under churn
  warmup_plateau,  // fills up over minutes (beyond the verdict's warm-up), then flat
  sawtooth,        // a cache that grows and is trimmed, every 4 to 12 minutes
  high_water,      // bursts to the same high-water mark, released each time
  step,            // one step up, early, then flat for hours
  fragmentation,   // live bytes flat, RSS growing (allocator overhead)
  fast_leak,       // 20 to 100 MiB/h
  slow_leak,       // 1 MiB/h under a 100 MiB heap
  thread_leak,     // one of eight threads leaks 2 to 8 MiB/h; the others churn
  sawtooth_leak,   // 5 to 20 MiB/h under a cache sawtooth of half to all of the heap
  late_leak,       // steady for hours, then 10 to 40 MiB/h
  rapid_leak,      // 10% to 60% of the heap every 10 minutes
};

struct PatternInfo {
  Pattern pattern;
  const char* label;
  bool leaking;
};

std::span<const PatternInfo> all_patterns();
const PatternInfo& info(Pattern pattern);

struct SyntheticSeries {
  Pattern pattern;
  uint64_t seed;
  int64_t started_unix_ns;  // the process start: the first sample's time
  int64_t leak_from_s;      // when the leak begins, since the start (0 for none or from the start)
  std::vector<Reading> samples;
};

// `duration_s` of samples every `interval_s`, from a start that is not on a
// minute boundary (it varies with the seed).
SyntheticSeries generate(Pattern pattern, uint64_t seed, int64_t duration_s, int64_t interval_s = 1);

}  // namespace memproxy::heapwatch::corpus

#endif
