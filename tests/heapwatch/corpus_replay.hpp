// Replays a synthetic series through the leak verdict the way the daemon
// runs it: every `step_s`, on what the history store would hold at that
// moment (the last `raw_for_s` as one-second samples, older history as
// one-minute summaries).
#ifndef MEMPROXY_TESTS_HEAPWATCH_CORPUS_REPLAY_HPP
#define MEMPROXY_TESTS_HEAPWATCH_CORPUS_REPLAY_HPP

#include <cstdint>
#include <optional>
#include <vector>

#include "heapwatch/analysis/verdict.hpp"
#include "heapwatch/analysis/window_aggregate.hpp"
#include "synthetic_corpus.hpp"

namespace memproxy::heapwatch::corpus {

// The two tiers of a series as the store keeps them.
class TieredHistory {
 public:
  TieredHistory(const std::vector<Reading>& samples, int64_t raw_for_s, int64_t summary_width_s = 60);

  // The verdict's input at the time of samples[last] (inclusive).
  VerdictInput at(std::size_t last, int64_t process_started_unix_ns) const;

 private:
  const std::vector<Reading>& samples_;
  std::vector<WindowAggregate> summaries_;
  int64_t raw_for_ns_;
  int64_t width_ns_;
};

struct ReplayOutcome {
  LeakAnalysis final_verdict;                  // on the whole series
  std::optional<int64_t> first_flag_s;    // earliest time (since the process start) judged growing
  int64_t flagged_evaluations = 0;        // of `evaluations`
  int64_t longest_flagged_run = 0;        // consecutive evaluations judged growing
  int64_t evaluations = 0;
};

ReplayOutcome replay(const SyntheticSeries& series, const VerdictParameters& parameters, int64_t step_s = 60,
                     int64_t raw_for_s = 3600);

}  // namespace memproxy::heapwatch::corpus

#endif
