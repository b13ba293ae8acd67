// The verdict and the history end to end: the real daemon, sampling every
// 100 ms with the leak verdict 60 times faster than real time, watches two
// labelled programs preloaded with libmemproxy and jemalloc, played 60
// times faster too (heapwatch-fast_leak, heapwatch-steady). memproxyctl
// leaks and top and the textfile show the one growing and the other not;
// live bytes are the programs' own count; a restarted daemon judges from
// the history at once and still answers for a process that ended before
// it; a damaged or unusable database, or one another program holds locked,
// leaves the daemon watching and sampling on time.
#include <signal.h>
#include <sys/syscall.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "capability.hpp"
#include "e2e_support.hpp"
#include "heapwatch_fixtures.hpp"

namespace {

using namespace heapwatch_e2e;
using nlohmann::json;

constexpr const char* kJemalloc = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2";
// A verdict needs 5 s of warm-up and 30 s of history at this scale: with a
// loaded machine's slack.
constexpr auto kVerdictPatience = std::chrono::seconds(150);

const std::vector<std::string> kScaled{"--verdict-time-scale", "60"};

std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// A labelled program at 60 pattern seconds per second, monitored through
// `table`'s daemon, on jemalloc behind libmemproxy.
std::unique_ptr<Process> start_program(const std::string& path, const std::string& table,
                                       std::vector<std::string> extra = {}) {
  std::vector<std::string> argv{path, "--speed", "60"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return std::make_unique<Process>(argv, std::vector<std::string>{std::string("LD_PRELOAD=") + MEMPROXY_LIB + ":" +
                                                                      kJemalloc,
                                                                  "MEMPROXY_TABLE=" + table});
}

// `pid`'s entry in `top --json`, or null.
json view_of(const std::string& table, pid_t pid) {
  Outcome top = memproxyctl(table, {"top", "--json"});
  if (!top.ok()) return nullptr;
  const json answer = json::parse(top.out);
  for (const json& v : answer["processes"]) {
    if (v["process"]["pid"] == pid) return v;
  }
  return nullptr;
}

// Whether the daemon has sampled `pid` (it is watched from its handover on,
// sampled from the next tick).
// Sampled by a tick, which also hands the sample to the history (the
// reading taken when a process is registered is not yet in the store).
bool sampled(const std::string& table, pid_t pid) {
  Outcome history = memproxyctl(table, {"history", std::to_string(pid), "--json"});
  return history.ok() && json::parse(history.out)["samples"].size() >= 2;
}

std::string trend_of(const std::string& table, pid_t pid) {
  json v = view_of(table, pid);
  return v.is_null() ? "" : v["verdict"]["trend"].get<std::string>();
}

// The value of `metric` for `pid` in the textfile, or NaN.
double textfile_value(const std::string& path, const std::string& metric, pid_t pid) {
  const std::string text = read_file(path);
  const std::string series = metric + "{pid=\"" + std::to_string(pid) + "\"";
  auto at = text.find(series);
  if (at == std::string::npos) return std::nan("");
  auto space = text.find("} ", at);
  return space == std::string::npos ? std::nan("") : std::stod(text.substr(space + 2));
}

uint64_t held_bytes(const std::string& line) {
  return line.rfind("held_bytes=", 0) == 0 ? std::stoull(line.substr(11)) : 0;
}

// Whether `pid` is in (or, stopped, was stopped in) the sleep a labelled
// program takes between its bursts: the system call /proc shows it in.
bool in_its_sleep(pid_t pid) {
  const std::string call = read_file("/proc/" + std::to_string(pid) + "/syscall");
  return call.rfind(std::to_string(SYS_clock_nanosleep) + " ", 0) == 0;
}

// Live bytes as the daemon shows them (top, and the textfile when given)
// against the program's own count: the program is stopped while it sleeps
// between its bursts, so its heap holds still for a sample, and the line
// it prints on waking is that heap.
void expect_live_bytes_match(Process& program, const std::string& table, const std::string& textfile) {
  // A burst follows each line at once, then the sleep. The program may wake
  // between the look and the stop: then it runs on and is stopped again.
  bool stopped_asleep = false;
  for (int attempt = 0; attempt < 10 && !stopped_asleep; ++attempt) {
    while (program.read_line(std::chrono::milliseconds(20))) {
    }
    ASSERT_TRUE(program.read_line(std::chrono::seconds(5)));  // just printed: its burst is under way
    ASSERT_TRUE(wait_until([&] { return in_its_sleep(program.pid()); })) << "the burst ended";
    program.signal(SIGSTOP);
    ASSERT_TRUE(program.wait_stopped());
    stopped_asleep = in_its_sleep(program.pid());
    if (!stopped_asleep) program.resume();
  }
  ASSERT_TRUE(stopped_asleep);
  const int64_t stopped = heapwatch_fixtures::now_ns();
  json view;
  ASSERT_TRUE(wait_until([&] {
    view = view_of(table, program.pid());
    return !view.is_null() && view["latest"]["unix_ns"].get<int64_t>() > stopped;
  }));
  // The textfile is rewritten from a tick about once a second: once from a
  // tick since the stop, it shows what that tick sampled (the heap holds
  // still); a textfile that never does is compared as it stands.
  const double sampled = view["latest"]["live_bytes"].get<double>();
  wait_until([&] { return textfile_value(textfile, "memproxy_heap_live_bytes", program.pid()) == sampled; });
  const double in_textfile = textfile_value(textfile, "memproxy_heap_live_bytes", program.pid());
  program.resume();
  std::optional<std::string> line = program.read_line(std::chrono::seconds(5));
  ASSERT_TRUE(line);
  const double held = static_cast<double>(held_bytes(*line));
  ASSERT_GT(held, 0) << *line;
  const double tolerance = 0.01 * held + 128 * 1024;
  EXPECT_NEAR(view["latest"]["live_bytes"].get<double>(), held, tolerance) << view.dump();
  EXPECT_NEAR(in_textfile, held, tolerance);
}

class DaemonHistoryTest : public ::testing::Test {
 protected:
  void SetUp() override { MEMPROXY_REQUIRE(memproxy::testing::missing_file(kJemalloc, "libjemalloc2")); }
  memproxy::testing::TempDir dir_{0755};
};

TEST_F(DaemonHistoryTest, TheLeakIsFoundTheSteadyHeapIsNotAndARestartedDaemonKnowsAtOnce) {
  const std::string textfile = dir_ / "memproxy.prom";
  std::optional<Daemon> daemon;
  daemon.emplace(dir_, with(kScaled, {"--prometheus-textfile", textfile}),
                 std::vector<std::string>{"heapwatch-fast_leak", "heapwatch-steady"});
  ASSERT_TRUE(daemon->ready()) << daemon->log();
  auto leaker = start_program(HEAPWATCH_FAST_LEAK, daemon->table());
  auto steady = start_program(HEAPWATCH_STEADY, daemon->table());
  ASSERT_TRUE(leaker->read_line()) << daemon->log();
  ASSERT_TRUE(steady->read_line());

  ASSERT_TRUE(wait_until([&] { return trend_of(daemon->table(), leaker->pid()) == "growing"; }, kVerdictPatience))
      << view_of(daemon->table(), leaker->pid()).dump() << daemon->log();
  ASSERT_TRUE(wait_until([&] { return trend_of(daemon->table(), steady->pid()) != "not enough data"; }))
      << view_of(daemon->table(), steady->pid()).dump();

  Outcome leaks = memproxyctl(daemon->table(), {"leaks"});
  EXPECT_EQ(leaks.code, 1) << leaks.describe();
  EXPECT_NE(leaks.out.find(std::to_string(leaker->pid()) + " root"), std::string::npos) << leaks.out;
  EXPECT_EQ(leaks.out.find(std::to_string(steady->pid()) + " "), std::string::npos) << leaks.out;
  Outcome leaks_json = memproxyctl(daemon->table(), {"leaks", "--json"});
  json listed = json::parse(leaks_json.out)["processes"];
  ASSERT_EQ(listed.size(), 1u) << listed.dump();
  EXPECT_EQ(listed[0]["process"]["pid"], leaker->pid());

  // Every field of the verdict, in top --json: 60 MiB per pattern hour at
  // 60 pattern hours per hour is 3.5 GiB/h.
  const json grows = view_of(daemon->table(), leaker->pid())["verdict"];
  EXPECT_EQ(grows["finding"], "growing") << grows.dump();
  EXPECT_GT(grows["slope_bytes_per_hour"].get<double>(), 1.5 * (1ull << 30)) << grows.dump();
  EXPECT_LT(grows["slope_bytes_per_hour"].get<double>(), 8.0 * (1ull << 30)) << grows.dump();
  EXPECT_GT(grows["confidence"].get<double>(), 0.99) << grows.dump();
  EXPECT_GT(grows["mann_kendall_z"].get<double>(), 3) << grows.dump();
  EXPECT_GE(grows["analysed_s"].get<int64_t>(), 30) << grows.dump();
  EXPECT_GE(grows["observed_s"].get<int64_t>(), grows["analysed_s"].get<int64_t>()) << grows.dump();
  EXPECT_GT(grows["live_now_bytes"].get<uint64_t>(), grows["live_at_start_bytes"].get<uint64_t>() + (10u << 20))
      << grows.dump();
  EXPECT_GE(grows["live_at_start_bytes"].get<uint64_t>(), 32u << 20) << grows.dump();
  const json flat = view_of(daemon->table(), steady->pid())["verdict"];
  EXPECT_EQ(flat["trend"], "stable") << flat.dump();
  EXPECT_LT(std::abs(flat["slope_bytes_per_hour"].get<double>()), 0.5 * (1ull << 30)) << flat.dump();

  ASSERT_TRUE(wait_until([&] {
    return textfile_value(textfile, "memproxy_heap_leak_suspected", leaker->pid()) == 1.0 &&
           textfile_value(textfile, "memproxy_heap_leak_suspected", steady->pid()) == 0.0;
  })) << read_file(textfile);
  EXPECT_GT(textfile_value(textfile, "memproxy_heap_growth_bytes_per_hour", leaker->pid()), 1.5 * (1ull << 30));

  expect_live_bytes_match(*leaker, daemon->table(), textfile);
  expect_live_bytes_match(*steady, daemon->table(), textfile);

  // A new daemon on the same history finds the programs running and judges
  // them from what the store holds: without it, it would wait 30 s more.
  EXPECT_EQ(daemon->stop(), 0) << daemon->log();
  daemon.emplace(dir_, kScaled, std::vector<std::string>{"heapwatch-fast_leak", "heapwatch-steady"});
  ASSERT_TRUE(daemon->ready()) << daemon->log();
  json judged;
  ASSERT_TRUE(wait_until([&] {
    judged = view_of(daemon->table(), leaker->pid());
    return !judged.is_null() && judged["verdict"]["trend"] == "growing";
  })) << view_of(daemon->table(), leaker->pid()).dump() << daemon->log();
  // Judged from more time than this daemon has sampled: from the history.
  Outcome restarted = memproxyctl(daemon->table(), {"status", "--json"});
  ASSERT_TRUE(restarted.ok()) << restarted.describe();
  const int64_t started = json::parse(restarted.out)["status_record"]["started_unix_ns"].get<int64_t>();
  const int64_t own_ns = judged["latest"]["unix_ns"].get<int64_t>() - started;
  EXPECT_GT(judged["verdict"]["analysed_s"].get<int64_t>() * 1'000'000'000, own_ns) << judged.dump();
  EXPECT_TRUE(wait_until([&] { return trend_of(daemon->table(), steady->pid()) == "stable"; }));
  Outcome after = memproxyctl(daemon->table(), {"leaks", "--json"});
  ASSERT_EQ(json::parse(after.out)["processes"].size(), 1u) << after.out;
}

// --no-history keeps no database and judges nothing: beside a daemon that
// keeps one and judges the same program growing, it still has no verdict.
TEST_F(DaemonHistoryTest, NoHistoryKeepsNoDatabaseAndGivesNoVerdict) {
  memproxy::testing::TempDir other{0755};
  Daemon without(dir_, with(kScaled, {"--no-history"}));
  Daemon keeping(other, kScaled);
  ASSERT_TRUE(without.ready()) << without.log();
  ASSERT_TRUE(keeping.ready()) << keeping.log();
  auto unjudged = start_grower(without.table());
  auto judged = start_grower(keeping.table());
  ASSERT_TRUE(wait_until([&] { return trend_of(keeping.table(), judged->pid()) == "growing"; }, kVerdictPatience))
      << view_of(keeping.table(), judged->pid()).dump() << keeping.log();

  const json v = view_of(without.table(), unjudged->pid());
  ASSERT_FALSE(v.is_null()) << without.log();
  EXPECT_GT(v["latest"]["live_bytes"].get<uint64_t>(), 0u) << v.dump();
  EXPECT_EQ(v["verdict"]["trend"], "not enough data") << v.dump();
  Outcome leaks = memproxyctl(without.table(), {"leaks", "--json"});
  ASSERT_TRUE(json::accept(leaks.out)) << leaks.describe();
  EXPECT_TRUE(json::parse(leaks.out)["processes"].empty()) << leaks.out;

  Outcome status = memproxyctl(without.table(), {"status", "--json"});
  EXPECT_EQ(json::parse(status.out)["status_record"]["history"]["state"], "off") << status.out;
  EXPECT_NE(memproxyctl(without.table(), {"status"}).out.find("history:     off (memproxyd --no-history)"),
            std::string::npos);
  EXPECT_NE(without.log().find("history: off (--no-history)"), std::string::npos) << without.log();
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_.path())) {
    const std::string name = entry.path().filename().string();
    EXPECT_TRUE(name.find("history") == std::string::npos && name.find("sqlite") == std::string::npos)
        << entry.path();
  }
  EXPECT_EQ(without.stop(), 0) << without.log();
}

TEST_F(DaemonHistoryTest, AProcessThatEndedBeforeARestartIsStillAnsweredByPidAndByName) {
  std::optional<Daemon> daemon;
  daemon.emplace(dir_, kScaled, std::vector<std::string>{"heapwatch-steady"});
  ASSERT_TRUE(daemon->ready()) << daemon->log();
  auto brief = start_program(HEAPWATCH_STEADY, daemon->table(), {"--seconds", "3"});
  const pid_t pid = brief->pid();
  Outcome ran = brief->finish(std::chrono::seconds(20));
  ASSERT_TRUE(ran.ok()) << ran.describe();
  ASSERT_TRUE(wait_until([&] { return view_of(daemon->table(), pid).is_null(); })) << daemon->log();
  // Answered from the store while this daemon runs, too.
  Outcome before = memproxyctl(daemon->table(), {"history", std::to_string(pid), "--json"});
  ASSERT_TRUE(before.ok()) << before.describe() << daemon->log();
  const size_t kept = json::parse(before.out)["samples"].size();
  EXPECT_GE(kept, 20u);  // 3 s at 100 ms, less the start
  EXPECT_EQ(daemon->stop(), 0) << daemon->log();

  daemon.emplace(dir_, std::vector<std::string>{}, std::vector<std::string>{"heapwatch-steady"});
  ASSERT_TRUE(daemon->ready()) << daemon->log();
  // How it ended, when the daemon learnt it before it stopped (its parent
  // reaped it at once), is kept across the restart too.
  std::string how;
  for (const std::string& target : {std::to_string(pid), std::string("heapwatch-steady")}) {
    Outcome history = memproxyctl(daemon->table(), {"history", target, "--json"});
    ASSERT_TRUE(history.ok()) << target << ": " << history.describe() << daemon->log();
    const json h = json::parse(history.out);
    EXPECT_EQ(h["process"]["pid"], pid) << target;
    EXPECT_GT(h["process"]["ended_unix_ns"].get<int64_t>(), h["process"]["started_unix_ns"].get<int64_t>());
    EXPECT_EQ(h["samples"].size(), kept) << target;
    EXPECT_TRUE(h["verdict"].is_null()) << target;
    EXPECT_GT(h["samples"].back()["live_bytes"].get<uint64_t>(), 60u << 20) << target;
    how = h["process"].value("ended_how", std::string());
    EXPECT_TRUE(how.empty() || how == "exited with status 0") << target << ": " << how;
  }
  Outcome chart = memproxyctl(daemon->table(), {"history", std::to_string(pid)});
  ASSERT_TRUE(chart.ok()) << chart.describe();
  EXPECT_NE(chart.out.find(how.empty() ? ", ended)" : ", ended: " + how + ")"), std::string::npos) << chart.out;
}

TEST_F(DaemonHistoryTest, ADamagedDatabaseIsMovedAsideAndRecordingStartsAnew) {
  dir_.write("history.sqlite", std::string(16384, '\x5a'));
  Daemon daemon(dir_, {});
  ASSERT_TRUE(daemon.ready()) << daemon.log();
  ASSERT_TRUE(wait_until([&] { return daemon.log().find("history: recording to") != std::string::npos; }))
      << daemon.log();
  EXPECT_NE(daemon.log().find("was moved to " + dir_ / "history.sqlite.corrupt"), std::string::npos) << daemon.log();
  EXPECT_TRUE(std::filesystem::exists(dir_ / "history.sqlite.corrupt"));
  auto grower = start_grower(daemon.table());
  ASSERT_TRUE(wait_until([&] { return sampled(daemon.table(), grower->pid()); })) << daemon.log();
  Outcome status = memproxyctl(daemon.table(), {"status"});
  EXPECT_NE(status.out.find("history:     recording " + dir_ / "history.sqlite"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("was damaged"), std::string::npos) << status.out;
  grower->signal(SIGKILL);
  grower->finish();
  ASSERT_TRUE(wait_until([&] { return view_of(daemon.table(), grower->pid()).is_null(); }));
  Outcome history = memproxyctl(daemon.table(), {"history", std::to_string(grower->pid()), "--json"});
  ASSERT_TRUE(history.ok()) << history.describe();
  EXPECT_FALSE(json::parse(history.out)["samples"].empty());
}

TEST_F(DaemonHistoryTest, AnUnusableHistoryPathLeavesTheDaemonWatching) {
  dir_.write("file", "a file, not a directory");
  Daemon daemon(dir_, {"--history", dir_ / "file/history.sqlite"});
  ASSERT_TRUE(daemon.ready()) << daemon.log();
  auto grower = start_grower(daemon.table());
  uint64_t first = 0;
  ASSERT_TRUE(wait_until([&] {
    json v = view_of(daemon.table(), grower->pid());
    return !v.is_null() && (first = v["latest"]["live_bytes"].get<uint64_t>()) > 0;
  })) << daemon.log();
  ASSERT_TRUE(wait_until([&] {
    json v = view_of(daemon.table(), grower->pid());
    return !v.is_null() && v["latest"]["live_bytes"].get<uint64_t>() > first + (256u << 10);
  }));
  EXPECT_NE(daemon.log().find("history: cannot keep " + dir_ / "file/history.sqlite"), std::string::npos)
      << daemon.log();
  Outcome status = memproxyctl(daemon.table(), {"status", "--json"});
  const json history_state = json::parse(status.out)["status_record"]["history"];
  EXPECT_EQ(history_state["state"], "unavailable") << status.out;
  EXPECT_NE(history_state["problem"].get<std::string>().find("not a directory"), std::string::npos) << status.out;
  EXPECT_NE(memproxyctl(daemon.table(), {"status"}).out.find("watching without it"), std::string::npos);
  // Without a history nothing is judged: no leak, but not all clear either.
  EXPECT_EQ(memproxyctl(daemon.table(), {"leaks"}).code, 6);
  Outcome recent = memproxyctl(daemon.table(), {"history", std::to_string(grower->pid()), "--json"});
  ASSERT_TRUE(recent.ok()) << recent.describe();
  EXPECT_GE(json::parse(recent.out)["samples"].size(), 2u);
  EXPECT_EQ(daemon.stop(), 0) << daemon.log();
}

// Another program holding the database's write lock makes every write of
// the keeper wait its busy timeout and fail: sampling goes on at its pace,
// top answers at once, a history is still answered, and recording resumes.
// The lock is held until a write has waited out its whole busy timeout
// (the store's, 1 s: ten of these 100 ms ticks) and failed; had the loop
// waited with it, no tick would have been taken meanwhile.
TEST_F(DaemonHistoryTest, ALockedDatabaseNeverDelaysSampling) {
  Daemon daemon(dir_, {});
  ASSERT_TRUE(daemon.ready()) << daemon.log();
  auto grower = start_grower(daemon.table());
  ASSERT_TRUE(wait_until([&] { return sampled(daemon.table(), grower->pid()); })) << daemon.log();
  ASSERT_TRUE(wait_until([&] { return daemon.log().find("history: recording to") != std::string::npos; }));

  // Lines the log may hold already count for nothing.
  auto count_in_log = [&](const std::string& text) {
    const std::string log = daemon.log();
    size_t n = 0;
    for (size_t at = log.find(text); at != std::string::npos; at = log.find(text, at + 1)) ++n;
    return n;
  };
  const size_t failures_before = count_in_log("database is locked");
  const size_t resumptions_before = count_in_log("history: recording again");
  int64_t locked_at = 0, failure_seen_at = 0;
  {
    heapwatch_fixtures::LockedDatabase lock(dir_ / "history.sqlite");
    ASSERT_TRUE(lock.held()) << lock.error();
    locked_at = heapwatch_fixtures::now_ns();
    // top is answered by the loop, every time, while the writes wait.
    size_t unanswered = 0;
    ASSERT_TRUE(wait_until([&] {
      if (view_of(daemon.table(), grower->pid()).is_null()) ++unanswered;
      return count_in_log("database is locked") > failures_before;
    })) << daemon.log();
    failure_seen_at = heapwatch_fixtures::now_ns();
    EXPECT_EQ(unanswered, 0u);
    // A history is answered while the database is locked (within the
    // daemon's own patience for the store, else an error).
    Outcome history = memproxyctl(daemon.table(), {"history", std::to_string(grower->pid()), "--json"});
    EXPECT_TRUE(history.ok()) << history.describe();
  }
  EXPECT_TRUE(wait_until([&] { return count_in_log("history: recording again") > resumptions_before; }))
      << daemon.log();

  // The ticks taken while a write waited: the daemon's own samples of the
  // grower (its recent ones, kept in memory) between the lock and the
  // failure, a span at least the busy timeout long (ten ticks and more). A
  // loop that waited with each write would take one before each wait.
  Outcome history = memproxyctl(daemon.table(), {"history", std::to_string(grower->pid()), "--json"});
  ASSERT_TRUE(history.ok()) << history.describe();
  const json kept = json::parse(history.out);
  size_t ticks = 0;
  for (const json& sample : kept["samples"]) {
    const int64_t t = sample["unix_ns"].get<int64_t>();
    if (t > locked_at && t < failure_seen_at) ++ticks;
  }
  EXPECT_GE(ticks, 8u) << "ticks taken while the database was locked, until a write failed\n" << daemon.log();
}

}  // namespace
