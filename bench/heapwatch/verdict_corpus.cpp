// Replays the labelled synthetic corpus through the leak verdict at real
// timescales (one-second samples, a verdict every simulated minute on what
// the history store would hold) and prints, as markdown: per label the
// verdicts, the time each leak took to be flagged and how often a series was
// flagged along the way; precision and recall; and the verdict's CPU time
// per call for 100 processes each with an hour of one-second samples and a
// week of one-minute summaries.
//
//   heapwatch-bench-verdict [--seeds N] [--first-seed N] [--hours H] [--step S] [--timing-rounds R]
//                           [--trace LABEL [--trace-seed N]]
//                           [--alpha A] [--min-growth-to-scatter K] [--min-duration S] [--warm-up S]
//                           [--fast-horizon S] [--fast-levelling-ratio R] [--fast-growth-fraction F]
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "corpus_replay.hpp"
#include "heapwatch/analysis/verdict.hpp"
#include "synthetic_corpus.hpp"

namespace {

using namespace memproxy::heapwatch;

struct Options {
  std::string trace_label;  // print every evaluation of one series
  uint64_t trace_seed = 1;
  int seeds = 10;
  int first_seed = 1;
  int64_t hours = 8;
  int64_t step_s = 60;
  int timing_rounds = 5;
  VerdictParameters parameters;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--seeds") == 0) o.seeds = std::atoi(argv[i + 1]);
    else if (std::strcmp(argv[i], "--first-seed") == 0) o.first_seed = std::atoi(argv[i + 1]);
    else if (std::strcmp(argv[i], "--hours") == 0) o.hours = std::atoll(argv[i + 1]);
    else if (std::strcmp(argv[i], "--step") == 0) o.step_s = std::atoll(argv[i + 1]);
    else if (std::strcmp(argv[i], "--timing-rounds") == 0) o.timing_rounds = std::atoi(argv[i + 1]);
    else if (std::strcmp(argv[i], "--trace") == 0) o.trace_label = argv[i + 1];
    else if (std::strcmp(argv[i], "--alpha") == 0) o.parameters.alpha = std::atof(argv[i + 1]);
    else if (std::strcmp(argv[i], "--min-growth-to-scatter") == 0) o.parameters.min_growth_to_scatter = std::atof(argv[i + 1]);
    else if (std::strcmp(argv[i], "--min-duration") == 0) o.parameters.min_duration_s = std::atoll(argv[i + 1]);
    else if (std::strcmp(argv[i], "--warm-up") == 0) o.parameters.warm_up_s = std::atoll(argv[i + 1]);
    else if (std::strcmp(argv[i], "--fast-horizon") == 0) o.parameters.fast_horizon_s = std::atoll(argv[i + 1]);
    else if (std::strcmp(argv[i], "--fast-levelling-ratio") == 0) o.parameters.fast_levelling_ratio = std::atof(argv[i + 1]);
    else if (std::strcmp(argv[i], "--fast-growth-fraction") == 0) o.parameters.fast_growth_fraction = std::atof(argv[i + 1]);
    else if (std::strcmp(argv[i], "--trace-seed") == 0) o.trace_seed = std::strtoull(argv[i + 1], nullptr, 10);
    else {
      std::fprintf(stderr,
                   "usage: %s [--seeds N] [--first-seed N] [--hours H] [--step S] [--timing-rounds R] [--trace LABEL [--trace-seed N]]\n"
                   "       [--alpha A] [--min-growth-to-scatter K] [--min-duration S] [--warm-up S]\n"
                   "       [--fast-horizon S (0: off)] [--fast-levelling-ratio R] [--fast-growth-fraction F]   (defaults otherwise)\n",
                   argv[0]);
      std::exit(2);
    }
  }
  return o;
}

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::string minutes(int64_t s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f", static_cast<double>(s) / 60.0);
  return buf;
}

void corpus_table(const Options& o) {
  const VerdictParameters& parameters = o.parameters;
  int tp = 0, fp = 0, fn = 0, tn = 0, transient_fp = 0, persistent_fp = 0, early = 0, late_leaks = 0;
  int64_t longest_fp_run = 0;
  int rapid = 0, rapid_in_time = 0;
  std::printf("| label | expected | growing / stable / not enough data | time to flag, min (min / median / max) [1] | series ever flagged | evaluations flagged |\n");
  std::printf("|---|---|---|---|---|---|\n");
  for (const corpus::PatternInfo& p : corpus::all_patterns()) {
    int growing = 0, stable = 0, nodata = 0, ever = 0;
    int64_t evaluations = 0, flagged = 0;
    std::vector<int64_t> flag_times;
    for (int seed = o.first_seed; seed < o.first_seed + o.seeds; ++seed) {
      corpus::SyntheticSeries series = corpus::generate(p.pattern, static_cast<uint64_t>(seed), o.hours * 3600);
      corpus::ReplayOutcome r = corpus::replay(series, parameters, o.step_s);
      Trend t = r.final_verdict.trend;
      growing += t == Trend::growing;
      stable += t == Trend::stable;
      nodata += t == Trend::not_enough_data;
      evaluations += r.evaluations;
      flagged += r.flagged_evaluations;
      if (p.pattern == corpus::Pattern::rapid_leak) {
        ++rapid;
        rapid_in_time += r.first_flag_s && *r.first_flag_s <= 600;
      }
      if (r.first_flag_s) {
        ++ever;
        flag_times.push_back(*r.first_flag_s - (p.leaking ? series.leak_from_s : 0));
      }
      if (p.leaking) {
        (t == Trend::growing ? tp : fn) += 1;
        if (series.leak_from_s > 0) {
          ++late_leaks;
          early += r.first_flag_s && *r.first_flag_s < series.leak_from_s;
        }
      } else {
        (t == Trend::growing ? fp : tn) += 1;
        transient_fp += r.first_flag_s.has_value();
        persistent_fp += r.longest_flagged_run >= 5;
        longest_fp_run = std::max(longest_fp_run, r.longest_flagged_run);
      }
    }
    std::string times = "-";
    if (!flag_times.empty()) {
      std::sort(flag_times.begin(), flag_times.end());
      times = minutes(flag_times.front()) + " / " + minutes(flag_times[flag_times.size() / 2]) + " / " +
              minutes(flag_times.back());
    }
    std::printf("| %s | %s | %d / %d / %d | %s | %d of %d | %lld of %lld |\n", p.label,
                p.leaking ? "growing" : "stable", growing, stable, nodata, times.c_str(), ever, o.seeds,
                static_cast<long long>(flagged), static_cast<long long>(evaluations));
  }
  double precision = tp + fp > 0 ? static_cast<double>(tp) / (tp + fp) : 1.0;
  double recall = tp + fn > 0 ? static_cast<double>(tp) / (tp + fn) : 1.0;
  std::printf("\nFinal verdicts: TP %d, FP %d, FN %d, TN %d: precision %.3f, recall %.3f\n", tp, fp, fn, tn,
              precision, recall);
  std::printf("Non-leaking series flagged at any evaluation along the way: %d of %d\n", transient_fp, fp + tn);
  std::printf("... of which for 5 evaluations in a row or more: %d (the longest run: %lld)\n", persistent_fp,
              static_cast<long long>(longest_fp_run));
  std::printf("Rapid leaks (10%% of the heap or more per 10 minutes) flagged within 10 minutes: %d of %d\n",
              rapid_in_time, rapid);
  std::printf("Late leaks flagged before they began: %d of %d\n", early, late_leaks);
  std::printf("[1] since the process start, or for late_leak since the leak began; for a label that should\n"
              "    not be flagged, when it first was\n");
}

// One line per evaluation of one series: the verdict and its evidence.
void trace(const Options& o) {
  const corpus::PatternInfo* info = nullptr;
  for (const corpus::PatternInfo& p : corpus::all_patterns()) {
    if (o.trace_label == p.label) info = &p;
  }
  if (info == nullptr) {
    std::fprintf(stderr, "no label %s\n", o.trace_label.c_str());
    std::exit(2);
  }
  corpus::SyntheticSeries series = corpus::generate(info->pattern, o.trace_seed, o.hours * 3600);
  corpus::TieredHistory history(series.samples, 3600);
  const double mib = 1024.0 * 1024.0;
  if (series.leak_from_s > 0) std::printf("the leak begins at minute %lld\n", static_cast<long long>(series.leak_from_s / 60));
  std::printf("min  trend            finding                              span_min  slope_MiB/h  thirds_MiB              S     z     p_up      rise_MiB  frag_MiB/h\n");
  int64_t next = o.step_s;
  for (std::size_t i = 0; i < series.samples.size(); ++i) {
    int64_t t = (series.samples[i].unix_ns - series.started_unix_ns) / 1'000'000'000LL;
    if (t < next) continue;
    next += o.step_s;
    LeakAnalysis v = analyse_leak(history.at(i, series.started_unix_ns), o.parameters);
    std::printf("%4lld %-16s %-36s %8lld %12.3f %7.2f %7.2f %7.2f %5lld %6.2f %9.2e %9.2f %10.2f\n",
                static_cast<long long>(t / 60), to_string(v.trend), to_string(v.finding),
                static_cast<long long>(v.analysed_s / 60), v.live.slope_bytes_per_hour / mib,
                static_cast<double>(v.floor_by_third_bytes[0]) / mib, static_cast<double>(v.floor_by_third_bytes[1]) / mib,
                static_cast<double>(v.floor_by_third_bytes[2]) / mib, static_cast<long long>(v.live.mann_kendall.s),
                v.live.mann_kendall.z, v.live.mann_kendall.p_upward(), static_cast<double>(v.floor_rise_bytes) / mib,
                v.fragmentation.trend.slope_bytes_per_hour / mib);
  }
}

void timing(const Options& o) {
  // A week of history per process: ten distinct series, each shared by ten
  // processes (the verdict's cost does not depend on which process it is).
  constexpr int kProcesses = 100;
  constexpr int64_t kWeek = 7 * 24 * 3600;
  struct History {
    corpus::SyntheticSeries series;
    std::vector<WindowAggregate> summaries;
    std::vector<Reading> last_hour;
  };
  std::vector<History> histories;
  for (int i = 0; i < 10; ++i) {
    corpus::Pattern pattern = corpus::all_patterns()[static_cast<std::size_t>(i) % corpus::all_patterns().size()].pattern;
    History h{corpus::generate(pattern, static_cast<uint64_t>(100 + i), kWeek + 3600), {}, {}};
    int64_t cutoff = window_start(h.series.samples.back().unix_ns - 3600'000'000'000LL, 60'000'000'000LL);
    auto split = std::lower_bound(h.series.samples.begin(), h.series.samples.end(), cutoff,
                                  [](const Reading& s, int64_t t) { return s.unix_ns < t; });
    h.summaries = aggregate_windows(std::span<const Reading>(h.series.samples.begin(), split), 60'000'000'000LL);
    h.last_hour.assign(split, h.series.samples.end());
    h.series.samples.clear();
    h.series.samples.shrink_to_fit();
    histories.push_back(std::move(h));
  }
  std::printf("\nInput per process: %zu one-minute summaries + %zu one-second samples\n",
              histories[0].summaries.size(), histories[0].last_hour.size());
  std::printf("\n| round | CPU s for 100 processes | CPU ms per call |\n|---|---|---|\n");
  std::vector<double> per_round;
  int growing = 0;
  for (int round = 1; round <= o.timing_rounds; ++round) {
    double t0 = cpu_seconds();
    for (int p = 0; p < kProcesses; ++p) {
      const History& h = histories[static_cast<std::size_t>(p) % histories.size()];
      VerdictInput input{h.summaries, h.last_hour, 0};
      growing += analyse_leak(input, o.parameters).trend == Trend::growing;
    }
    double dt = cpu_seconds() - t0;
    per_round.push_back(dt);
    std::printf("| %d | %.4f | %.3f |\n", round, dt, dt * 1000 / kProcesses);
  }
  std::sort(per_round.begin(), per_round.end());
  double median = per_round[per_round.size() / 2];
  std::printf("\nMedian: %.4f CPU s per 100 verdicts (%.3f ms each); once a minute that is %.3f%% of one core\n",
              median, median * 1000 / kProcesses, median / 60 * 100);
  std::printf("(%d of %d verdicts were growing)\n", growing, kProcesses * o.timing_rounds);
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  if (!o.trace_label.empty()) {
    trace(o);
    return 0;
  }
  std::printf("Corpus: %d seeds per label (%d to %d), %lld h of one-second samples each, a verdict every %lld s\n\n",
              o.seeds, o.first_seed, o.first_seed + o.seeds - 1, static_cast<long long>(o.hours),
              static_cast<long long>(o.step_s));
  corpus_table(o);
  if (o.timing_rounds > 0) timing(o);
  return 0;
}
