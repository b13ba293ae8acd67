// heapwatch-bench-answers [--rounds N]
//
// What the heap watch's answers cost at 100 watched processes: the metric
// families an export builds on the daemon's loop and their exposition text
// (made off it), and the query server's top and histories (an hour of
// one-second samples, and the largest history answered), collected on the
// loop and encoded off it.
//
// Each case is timed against a baseline in the same round: formatting as
// many bytes with snprintf, the least any answer of that size costs. Cases
// and baselines alternate within every round, so load from other processes
// hits them alike; each ratio printed is the median of the rounds' ratios,
// with the median time beside it.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "heapwatch/serve/metric_families.hpp"
#include "heapwatch/serve/query_answers.hpp"
#include "memproxy/heap_query.hpp"

namespace {

using namespace memproxy::heapwatch;
namespace hq = memproxy::heap_query;
using Clock = std::chrono::steady_clock;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

ProcessView view(pid_t pid, const std::string& program, size_t samples_so_far) {
  ProcessView v;
  v.process.pid = pid;
  v.process.start_ticks = static_cast<uint64_t>(pid) * 100;
  v.process.uid = 0;
  v.process.user = "root";
  v.process.program = program;
  v.process.exe = "/usr/bin/" + program;
  v.latest.unix_ns = static_cast<int64_t>(samples_so_far) * 1'000'000'000;
  v.latest.live_bytes = 1u << 20;
  v.latest.peak_bytes = 2u << 20;
  v.latest.rss_bytes = 3u << 20;
  v.latest.allocations = 1000;
  v.latest.frees = 900;
  v.verdict.trend = hq::trend::kStable;
  return v;
}

// The watched processes and their samples, answered at once as the
// daemon's recent samples are.
class BenchState : public WatchState {
 public:
  void add(pid_t pid, const std::string& program, size_t samples) {
    views_.push_back(view(pid, program, samples));
    std::vector<Reading>& series = samples_[id_of(views_.back().process)];
    for (size_t i = 1; i <= samples; ++i) {
      Reading s;
      s.unix_ns = static_cast<int64_t>(i) * 1'000'000'000;
      s.live_bytes = 1000 * i;
      series.push_back(s);
    }
    known_.push_back(WatchedProcess{views_.back().process, {}});
  }
  std::vector<ProcessView> views() const override { return views_; }
  void history(const ProcessId& id, int64_t since, int64_t until, ReadingsDone done) const override {
    std::vector<Reading> out;
    auto it = samples_.find(id);
    if (it != samples_.end()) {
      for (const Reading& s : it->second) {
        if (s.unix_ns >= since && s.unix_ns <= until) out.push_back(s);
      }
    }
    done(out);
  }
  void known_processes(ProcessesDone done) const override { done(known_); }

 private:
  std::vector<ProcessView> views_;
  std::map<ProcessId, std::vector<Reading>> samples_;
  std::vector<WatchedProcess> known_;
};

Answer collect_now(const std::string& line, const WatchState& state) {
  std::optional<Answer> got;
  collect(std::get<hq::Request>(hq::parse_request(line)), 0, state, [&](Answer a) { got = std::move(a); });
  if (!got) throw std::logic_error("no answer at once: " + line);
  return *got;
}

// The baseline: `bytes` of text formatted with snprintf, 32 bytes a call.
size_t formatted(size_t bytes) {
  std::string out;
  out.reserve(bytes + 64);
  char line[64];
  for (uint64_t i = 0; out.size() < bytes; ++i) {
    const int n = std::snprintf(line, sizeof line, "series{pid=\"%06llu\"} %llu\n", static_cast<unsigned long long>(i),
                                static_cast<unsigned long long>(i * 4096));
    out.append(line, static_cast<size_t>(n));
  }
  return out.size();
}

double us(const std::function<size_t()>& work, size_t* bytes) {
  const auto start = Clock::now();
  *bytes = work();
  return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
}

// A case: what it times on the loop and off it.
struct Case {
  Case(std::string n, std::function<size_t()> loop, std::function<size_t()> off)
      : name(std::move(n)), on_loop(std::move(loop)), off_loop(std::move(off)) {}
  std::string name;
  std::function<size_t()> on_loop, off_loop;  // each returns the bytes it made (0: none)
  std::vector<double> loop_us, off_us, base_us, loop_ratio, off_ratio;
  size_t bytes = 0;
};

}  // namespace

int main(int argc, char** argv) {
  int rounds = 30;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--rounds" && i + 1 < argc) {
      rounds = std::max(1, std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: %s [--rounds N]\n", argv[0]);
      return 2;
    }
  }

  std::vector<ProcessView> hundred;
  for (int i = 0; i < 100; ++i) hundred.push_back(view(1000 + i, "program-" + std::to_string(i), 60));
  BenchState state;
  for (int i = 0; i < 97; ++i) state.add(1000 + i, "p" + std::to_string(i), 2);
  state.add(2000, "hour", 3600);
  state.add(2001, "full", hq::kMaxHistorySamples);

  std::vector<prometheus::MetricFamily> families;
  std::optional<Answer> collected;
  auto query = [&](const std::string& line) {
    return Case{line, [&, line] { collected = collect_now(line, state); return size_t{0}; },
                [&] { return hq::answer_line(to_json(*collected)).size(); }};
  };
  std::vector<Case> cases;
  cases.push_back(Case{"export, 100 processes", [&] { families = heap_metric_families(hundred); return size_t{0}; },
                       [&] { return exposition_text(families).size(); }});
  cases.push_back(query(R"({"request":"top"})"));
  cases.push_back(query(R"({"request":"history","pid":2000})"));
  cases.push_back(query(R"({"request":"history","pid":2001})"));

  for (int round = 0; round < rounds; ++round) {
    for (Case& c : cases) {
      size_t ignored = 0;
      const double loop = us(c.on_loop, &ignored);
      const double off = us(c.off_loop, &c.bytes);
      const double base = us([&] { return formatted(c.bytes); }, &ignored);
      c.loop_us.push_back(loop);
      c.off_us.push_back(off);
      c.base_us.push_back(base);
      c.loop_ratio.push_back(loop / base);
      c.off_ratio.push_back(off / base);
    }
  }

  std::printf("%d interleaved rounds, medians; the baseline formats as many bytes with snprintf\n\n", rounds);
  std::printf("| case | bytes | on the loop (us) | off it (us) | baseline (us) | on the loop / baseline | off it / baseline |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  for (const Case& c : cases) {
    std::printf("| %s | %zu | %.1f | %.1f | %.1f | %.2fx | %.2fx |\n", c.name.c_str(), c.bytes, median(c.loop_us),
                median(c.off_us), median(c.base_us), median(c.loop_ratio), median(c.off_ratio));
  }
  return 0;
}
