#include "corpus_replay.hpp"

#include <algorithm>
#include <span>

namespace memproxy::heapwatch::corpus {

TieredHistory::TieredHistory(const std::vector<Reading>& samples, int64_t raw_for_s, int64_t summary_width_s)
    : samples_(samples),
      summaries_(aggregate_windows(samples, summary_width_s * 1'000'000'000LL)),
      raw_for_ns_(raw_for_s * 1'000'000'000LL),
      width_ns_(summary_width_s * 1'000'000'000LL) {}

VerdictInput TieredHistory::at(std::size_t last, int64_t process_started_unix_ns) const {
  // As the store's maintenance leaves it: whole windows older than the raw
  // tier's reach are summarised, everything after is raw.
  int64_t now = samples_[last].unix_ns;
  int64_t cutoff = window_start(now - raw_for_ns_, width_ns_);
  auto summaries_end = std::lower_bound(summaries_.begin(), summaries_.end(), cutoff,
                                        [](const WindowAggregate& w, int64_t t) { return w.start_unix_ns < t; });
  auto raw_begin = std::lower_bound(samples_.begin(), samples_.begin() + static_cast<std::ptrdiff_t>(last) + 1, cutoff,
                                    [](const Reading& s, int64_t t) { return s.unix_ns < t; });
  VerdictInput input;
  input.aggregates = std::span<const WindowAggregate>(summaries_.begin(), summaries_end);
  input.samples = std::span<const Reading>(raw_begin, samples_.begin() + static_cast<std::ptrdiff_t>(last) + 1);
  input.process_started_unix_ns = process_started_unix_ns;
  return input;
}

ReplayOutcome replay(const SyntheticSeries& series, const VerdictParameters& parameters, int64_t step_s,
                     int64_t raw_for_s) {
  ReplayOutcome out;
  if (series.samples.empty()) return out;
  TieredHistory history(series.samples, raw_for_s);
  const int64_t start = series.samples.front().unix_ns;
  int64_t next_ns = start + step_s * 1'000'000'000LL;
  int64_t run = 0;
  for (std::size_t i = 0; i < series.samples.size(); ++i) {
    bool last = i + 1 == series.samples.size();
    if (series.samples[i].unix_ns < next_ns && !last) continue;
    next_ns += step_s * 1'000'000'000LL;
    LeakAnalysis v = analyse_leak(history.at(i, series.started_unix_ns), parameters);
    ++out.evaluations;
    run = v.trend == Trend::growing ? run + 1 : 0;
    out.longest_flagged_run = std::max(out.longest_flagged_run, run);
    if (v.trend == Trend::growing) {
      ++out.flagged_evaluations;
      if (!out.first_flag_s) out.first_flag_s = (series.samples[i].unix_ns - start) / 1'000'000'000LL;
    }
    if (last) out.final_verdict = v;
  }
  return out;
}

}  // namespace memproxy::heapwatch::corpus
