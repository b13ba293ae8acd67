// Benchmarks for common/: what issue 2's "Done means" promises about the table
// and the parser.
//
// - lookup_fresh: a lookup as a new process does it (open, fstat, mmap,
//   table::open, one member and one non-member lookup, munmap), for tables of
//   10, 10,000 and 1,000,000 entries written to files before timing starts.
// - lookup_warm: the same two lookups with the mapping kept and resident.
// - pages touched per lookup (counters on both lookup benchmarks): measured
//   outside timing with PageTouchCounter, one fresh PROT_NONE mapping per key,
//   the maximum over a few hundred random members and non-members.
// - config_parse: config::parse of a generated 1,000,000-line memproxy.conf.
// - table_build: table::build of 1,000,000 entries.
//
// A summary after the run prints the 1,000,000 vs 10 entries lookup ratios and
// checks the two limits (at most 4 pages, parse well under a second).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "memproxy/config.hpp"
#include "memproxy/table_builder.hpp"
#include "memproxy/table_reader.hpp"
#include "page_touch_counter.hpp"
#include "temp_dir.hpp"

namespace {

namespace tbl = memproxy::table;
namespace cfg = memproxy::config;

constexpr int64_t kConfigLines = 1000000;
constexpr int64_t kBuildEntries = 1000000;
constexpr std::size_t kSampleKeys = 300;  // per kind (member, non-member)
constexpr std::size_t kPageLimit = 4;

// Entry i of a generated set: names and absolute paths alternate, shaped like
// real ones. entry_key(n + j) is a non-member of an n-entry set with the same
// shape (and often the same length) as its members, so the probe sees
// realistic hash and length distributions.
std::string entry_key(uint64_t i) {
  static constexpr const char* kDirs[] = {"/usr/bin/", "/usr/sbin/", "/usr/lib/x86_64-linux-gnu/libexec/",
                                          "/usr/local/bin/", "/opt/vendor/tools/bin/"};
  std::string name = "prog" + std::to_string(i);
  if (i % 2 == 0) return name;
  return kDirs[(i / 2) % (sizeof kDirs / sizeof kDirs[0])] + name;
}

uint32_t entry_flags(uint64_t i) { return i % 10 == 9 ? tbl::kFlagMonitor : tbl::kFlagExclude; }

std::vector<tbl::BuildEntry> make_entries(int64_t n) {
  std::vector<tbl::BuildEntry> entries;
  entries.reserve(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    entries.push_back({entry_key(static_cast<uint64_t>(i)), entry_flags(static_cast<uint64_t>(i))});
  }
  return entries;
}

tbl::Settings bench_settings() {
  tbl::Settings settings;
  settings.allocator = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2";
  return settings;
}

using memproxy::testing::TempDir;

struct PageStats {
  std::size_t member_max = 0;
  std::size_t non_member_max = 0;
  double mean = 0;
  std::size_t max() const { return std::max(member_max, non_member_max); }
};

// One table file and the keys the benchmarks look up in it.
struct TableFixture {
  int64_t entries = 0;
  std::string path;
  uint64_t bytes = 0;
  uint32_t max_probe = 0;
  std::vector<std::string> members;
  std::vector<uint32_t> member_flags;
  std::vector<std::string> non_members;
  PageStats pages;
  std::string error;  // non-empty: the fixture is unusable, benchmarks skip
};

std::unique_ptr<TempDir>& temp_dir() {
  static std::unique_ptr<TempDir> dir;
  if (!dir) dir = std::make_unique<TempDir>();
  return dir;
}

std::map<int64_t, TableFixture>& fixtures() {
  static std::map<int64_t, TableFixture> all;
  return all;
}

bool write_file(const std::string& path, const std::vector<unsigned char>& bytes) {
  std::FILE* out = std::fopen(path.c_str(), "wb");
  if (out == nullptr) return false;
  bool ok = std::fwrite(bytes.data(), 1, bytes.size(), out) == bytes.size();
  return std::fclose(out) == 0 && ok;
}

// Pages of a fresh mapping that table::open plus one lookup of `key` read.
std::size_t pages_for_lookup(const TableFixture& t, const std::string& key, uint32_t expected, std::string* error) {
  memproxy::testing::PageTouchCounter counter(t.path);
  tbl::View view;
  tbl::Status status = tbl::open(counter.data(), counter.size(), &view);
  if (status != tbl::Status::ok) {
    *error = std::string("table::open: ") + tbl::status_message(status);
    return 0;
  }
  tbl::LookupResult result = tbl::lookup(view, key.data(), key.size());
  if (result.status != tbl::Status::ok || result.flags != expected) {
    *error = "wrong answer for '" + key + "': " + tbl::status_message(result.status);
    return 0;
  }
  return counter.pages_touched();
}

void measure_pages(TableFixture& t) {
  std::size_t total = 0;
  for (std::size_t i = 0; i < t.members.size() && t.error.empty(); ++i) {
    std::size_t pages = pages_for_lookup(t, t.members[i], t.member_flags[i], &t.error);
    t.pages.member_max = std::max(t.pages.member_max, pages);
    total += pages;
  }
  for (std::size_t i = 0; i < t.non_members.size() && t.error.empty(); ++i) {
    std::size_t pages = pages_for_lookup(t, t.non_members[i], 0, &t.error);
    t.pages.non_member_max = std::max(t.pages.non_member_max, pages);
    total += pages;
  }
  t.pages.mean = static_cast<double>(total) / static_cast<double>(t.members.size() + t.non_members.size());
}

const TableFixture& table_for(int64_t n) {
  auto found = fixtures().find(n);
  if (found != fixtures().end()) return found->second;
  TableFixture& t = fixtures()[n];
  t.entries = n;

  std::vector<unsigned char> image = tbl::build(make_entries(n), bench_settings(), 1);
  tbl::View view;
  tbl::Status status = tbl::open(image.data(), image.size(), &view);
  if (status == tbl::Status::ok) status = tbl::verify_all(view);
  if (status != tbl::Status::ok) {
    t.error = std::string("built table does not verify: ") + tbl::status_message(status);
    return t;
  }
  t.bytes = image.size();
  t.max_probe = view.header->max_probe;
  t.path = temp_dir()->file("table-" + std::to_string(n));
  if (!write_file(t.path, image)) {
    t.error = "cannot write " + t.path;
    return t;
  }

  std::mt19937_64 random(static_cast<uint64_t>(n) * 7919 + 1);
  std::uniform_int_distribution<uint64_t> member(0, static_cast<uint64_t>(n) - 1);
  std::uniform_int_distribution<uint64_t> outside(static_cast<uint64_t>(n), static_cast<uint64_t>(n) + 10000000);
  for (std::size_t i = 0; i < kSampleKeys; ++i) {
    uint64_t index = member(random);
    t.members.push_back(entry_key(index));
    t.member_flags.push_back(entry_flags(index));
    t.non_members.push_back(entry_key(outside(random)));
  }
  measure_pages(t);
  return t;
}

void set_table_counters(benchmark::State& state, const TableFixture& t) {
  state.counters["entries"] = static_cast<double>(t.entries);
  state.counters["table_bytes"] = benchmark::Counter(static_cast<double>(t.bytes), benchmark::Counter::kDefaults,
                                                     benchmark::Counter::kIs1024);
  state.counters["max_probe"] = t.max_probe;
  state.counters["pages_max"] = static_cast<double>(t.pages.max());
  state.counters["pages_mean"] = t.pages.mean;
}

long minor_faults() {
  struct rusage usage;
  ::getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

// Per iteration: a new process's whole path to its routing decision.
// One member and one non-member lookup; returns how many answers were wrong.
std::size_t lookup_pair(const tbl::View& view, const TableFixture& t, std::size_t k) {
  tbl::LookupResult in = tbl::lookup(view, t.members[k].data(), t.members[k].size());
  tbl::LookupResult out = tbl::lookup(view, t.non_members[k].data(), t.non_members[k].size());
  benchmark::DoNotOptimize(in);
  benchmark::DoNotOptimize(out);
  return (in.status != tbl::Status::ok || in.flags != t.member_flags[k]) +
         (out.status != tbl::Status::ok || out.flags != 0);
}

void BM_LookupFresh(benchmark::State& state) {
  const TableFixture& t = table_for(state.range(0));
  if (!t.error.empty()) {
    state.SkipWithError(t.error.c_str());
    return;
  }
  std::size_t next = 0;
  std::size_t wrong = 0;
  long faults_before = minor_faults();
  for (auto _ : state) {
    int fd = ::open(t.path.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || ::fstat(fd, &st) != 0) {
      state.SkipWithError("cannot open or stat the table");
      break;
    }
    auto size = static_cast<std::size_t>(st.st_size);
    void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
    ::close(fd);
    if (map == MAP_FAILED) {
      state.SkipWithError("cannot map the table");
      break;
    }
    tbl::View view;
    if (tbl::open(map, size, &view) != tbl::Status::ok) {
      ::munmap(map, size);
      state.SkipWithError("table::open failed");
      break;
    }
    wrong += lookup_pair(view, t, next++ % kSampleKeys);
    ::munmap(map, size);
  }
  long faults = minor_faults() - faults_before;
  if (wrong != 0) state.SkipWithError("a lookup returned a wrong answer");
  set_table_counters(state, t);
  state.counters["minflt_per_iter"] =
      benchmark::Counter(static_cast<double>(faults), benchmark::Counter::kAvgIterations);
}

// Per iteration: the same two lookups on a mapping that stays resident.
void BM_LookupWarm(benchmark::State& state) {
  const TableFixture& t = table_for(state.range(0));
  if (!t.error.empty()) {
    state.SkipWithError(t.error.c_str());
    return;
  }
  int fd = ::open(t.path.c_str(), O_RDONLY | O_CLOEXEC);
  void* map = fd < 0 ? MAP_FAILED : ::mmap(nullptr, t.bytes, PROT_READ, MAP_SHARED, fd, 0);
  if (fd >= 0) ::close(fd);
  if (map == MAP_FAILED) {
    state.SkipWithError("cannot map the table");
    return;
  }
  tbl::View view;
  if (tbl::open(map, t.bytes, &view) != tbl::Status::ok) {
    ::munmap(map, t.bytes);
    state.SkipWithError("table::open failed");
    return;
  }
  // Fault in the pages the sample keys use, so iterations measure lookups only.
  for (std::size_t k = 0; k < kSampleKeys; ++k) {
    benchmark::DoNotOptimize(tbl::lookup(view, t.members[k].data(), t.members[k].size()));
    benchmark::DoNotOptimize(tbl::lookup(view, t.non_members[k].data(), t.non_members[k].size()));
  }
  std::size_t next = 0;
  std::size_t wrong = 0;
  for (auto _ : state) {
    wrong += lookup_pair(view, t, next++ % kSampleKeys);
  }
  ::munmap(map, t.bytes);
  if (wrong != 0) state.SkipWithError("a lookup returned a wrong answer");
  set_table_counters(state, t);
}

// A large but plausible memproxy.conf: entries (names and absolute paths, some
// with surrounding blanks), '#' and ';' comments (some indented), blank lines,
// and a [monitor] section for the last tenth.
const std::string& config_text() {
  static const std::string text = [] {
    std::string out;
    out.reserve(static_cast<std::size_t>(kConfigLines) * 24);
    for (int64_t i = 0; i < kConfigLines; ++i) {
      if (i == kConfigLines * 9 / 10) {
        out += "[monitor]";
      } else if (i % 20 == 0) {
        out += "# group " + std::to_string(i / 20) + ": programs that ship their own allocator";
      } else if (i % 20 == 10) {
        // blank line
      } else if (i % 50 == 5) {
        out += "; prog" + std::to_string(i) + " (disabled)";
      } else if (i % 50 == 15) {
        out += "    # indented comment";
      } else if (i % 7 == 3) {
        out += "  " + entry_key(static_cast<uint64_t>(i)) + "\t ";
      } else {
        out += entry_key(static_cast<uint64_t>(i));
      }
      out += '\n';
    }
    return out;
  }();
  return text;
}

void BM_ConfigParse(benchmark::State& state) {
  const std::string& text = config_text();
  cfg::ParseResult check = cfg::parse(text, "memproxy.conf");
  if (!check.publishable() || check.warning_count != 0 || check.entries.empty()) {
    state.SkipWithError("the generated config does not parse cleanly");
    return;
  }
  const double entries = static_cast<double>(check.entries.size());
  check = {};
  using Clock = std::chrono::steady_clock;
  std::chrono::duration<double> parsing{0};
  std::chrono::duration<double> freeing{0};
  for (auto _ : state) {
    auto start = Clock::now();
    auto result = std::make_unique<cfg::ParseResult>(cfg::parse(text, "memproxy.conf"));
    benchmark::DoNotOptimize(result->entries.data());
    auto parsed = Clock::now();
    // Freeing 860k entries is the caller's cost, later; reported on its own.
    state.PauseTiming();
    result.reset();
    freeing += Clock::now() - parsed;
    state.ResumeTiming();
    parsing += parsed - start;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(text.size()));
  state.counters["lines"] = static_cast<double>(kConfigLines);
  state.counters["entries"] = entries;
  state.counters["config_bytes"] = benchmark::Counter(static_cast<double>(text.size()),
                                                      benchmark::Counter::kDefaults, benchmark::Counter::kIs1024);
  const double scale = 1e6 / static_cast<double>(kConfigLines) / static_cast<double>(state.iterations());
  state.counters["s_per_1M_lines"] = parsing.count() * scale;
  state.counters["free_s_per_1M_lines"] = freeing.count() * scale;
}

void BM_TableBuild(benchmark::State& state) {
  const std::vector<tbl::BuildEntry> entries = make_entries(kBuildEntries);
  const tbl::Settings settings = bench_settings();
  std::size_t bytes = 0;
  uint64_t generation = 1;
  for (auto _ : state) {
    std::vector<unsigned char> image = tbl::build(entries, settings, generation++);
    bytes = image.size();
    benchmark::DoNotOptimize(image.data());
  }
  state.counters["entries"] = static_cast<double>(kBuildEntries);
  state.counters["table_bytes"] =
      benchmark::Counter(static_cast<double>(bytes), benchmark::Counter::kDefaults, benchmark::Counter::kIs1024);
}

BENCHMARK(BM_LookupFresh)->Arg(10)->Arg(10000)->Arg(1000000)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_LookupWarm)->Arg(10)->Arg(10000)->Arg(1000000)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_ConfigParse)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TableBuild)->Unit(benchmark::kMillisecond);

// The console reporter, remembering each run's real time (the median when
// repetitions are asked for) for the summary.
class SummaryReporter : public benchmark::ConsoleReporter {
 public:
  using benchmark::ConsoleReporter::ConsoleReporter;

  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.error_occurred) continue;
      double unit = benchmark::GetTimeUnitMultiplier(run.time_unit);
      Time time{run.GetAdjustedRealTime() / unit, run.GetAdjustedCPUTime() / unit};
      std::string name = run.run_name.str();
      if (run.run_type == Run::RT_Aggregate) {
        if (run.aggregate_name == "median") median_[name] = time;
      } else {
        samples_[name].push_back(time);
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }

  struct Time {
    double real = -1;  // seconds per iteration; negative: did not run
    double cpu = -1;
  };

  Time seconds(const std::string& name) const {
    if (auto m = median_.find(name); m != median_.end()) return m->second;
    auto s = samples_.find(name);
    if (s == samples_.end() || s->second.empty()) return {};
    Time sum{0, 0};
    for (const Time& t : s->second) {
      sum.real += t.real;
      sum.cpu += t.cpu;
    }
    auto count = static_cast<double>(s->second.size());
    return {sum.real / count, sum.cpu / count};
  }

 private:
  std::map<std::string, Time> median_;
  std::map<std::string, std::vector<Time>> samples_;
};

void print_summary(const SummaryReporter& reporter) {
  std::printf("\nsummary (real time; cpu time in brackets)\n");
  for (const char* kind : {"BM_LookupFresh", "BM_LookupWarm"}) {
    SummaryReporter::Time small = reporter.seconds(std::string(kind) + "/10");
    SummaryReporter::Time large = reporter.seconds(std::string(kind) + "/1000000");
    if (small.real > 0 && large.real > 0) {
      std::printf("  %-15s 1,000,000 vs 10 entries: %.0f ns vs %.0f ns per iteration, ratio %.2f [cpu %.2f]\n",
                  kind, large.real * 1e9, small.real * 1e9, large.real / small.real, large.cpu / small.cpu);
    }
  }
  for (const auto& [n, t] : fixtures()) {
    if (!t.error.empty()) {
      std::printf("  table %7lld entries: ERROR %s\n", static_cast<long long>(n), t.error.c_str());
      continue;
    }
    std::printf("  table %7lld entries: %llu bytes, pages touched per fresh lookup max %zu "
                "(members %zu, non-members %zu, mean %.2f) -> %s (limit %zu)\n",
                static_cast<long long>(n), static_cast<unsigned long long>(t.bytes), t.pages.max(),
                t.pages.member_max, t.pages.non_member_max, t.pages.mean,
                t.pages.max() <= kPageLimit ? "OK" : "EXCEEDED", kPageLimit);
  }
  SummaryReporter::Time parse = reporter.seconds("BM_ConfigParse");
  if (parse.real > 0) {
    double scale = 1e6 / static_cast<double>(kConfigLines);
    double megabytes = static_cast<double>(config_text().size()) / 1e6;
    std::printf("  config parse: %.3f s [cpu %.3f s] per 1,000,000 lines, %.1f MB/s [cpu %.1f MB/s] -> %s "
                "(limit: well under 1 s)\n",
                parse.real * scale, parse.cpu * scale, megabytes / parse.real, megabytes / parse.cpu,
                parse.real * scale < 1.0 ? "OK" : "EXCEEDED");
  }
  SummaryReporter::Time build = reporter.seconds("BM_TableBuild");
  if (build.real > 0) {
    std::printf("  table build: %.3f s [cpu %.3f s] for 1,000,000 entries\n", build.real, build.cpu);
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  SummaryReporter reporter(::isatty(STDOUT_FILENO) ? benchmark::ConsoleReporter::OO_Color
                                                   : benchmark::ConsoleReporter::OO_None);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  std::cout.flush();
  print_summary(reporter);
  benchmark::Shutdown();
  temp_dir().reset();
  return 0;
}
