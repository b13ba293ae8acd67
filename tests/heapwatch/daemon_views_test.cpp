// The views end to end: the real daemon watches a monitored program whose
// heap grows, and memproxyctl top, history and leaks show it (as root and,
// seeing nothing of root's, as nobody); the node_exporter textfile carries
// its series and loses them when it ends; without a daemon, memproxyctl
// says which socket it tried and how to start one.
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "capability.hpp"
#include "e2e_support.hpp"

namespace {

using namespace heapwatch_e2e;
using nlohmann::json;

class DaemonViewsTest : public ::testing::Test {
 protected:
  memproxy::testing::TempDir dir_{0755};
};

// The grower's entry in `top --json`, once its live bytes reach `at_least`.
std::optional<json> grower_in_top(const std::string& table, pid_t pid, uint64_t at_least) {
  std::optional<json> found;
  Outcome top;
  wait_until([&] {
    top = memproxyctl(table, {"top", "--json"});
    if (!top.ok()) return false;
    const json answer = json::parse(top.out);
    for (const json& v : answer["processes"]) {
      if (v["process"]["pid"] == pid && v["latest"]["live_bytes"].get<uint64_t>() >= at_least) found = v;
    }
    return found.has_value();
  });
  if (!found) ADD_FAILURE() << "pid " << pid << " never reached " << at_least << " live bytes in top:\n"
                            << top.describe();
  return found;
}

TEST_F(DaemonViewsTest, TopHistoryAndLeaksShowAGrowingProgram) {
  Daemon daemon(dir_, {});
  ASSERT_TRUE(daemon.ready()) << daemon.log();
  auto grower = start_grower(daemon.table());
  ASSERT_EQ(grower->read_line(), std::optional<std::string>("growing"));

  std::optional<json> view = grower_in_top(daemon.table(), grower->pid(), 1u << 20);
  ASSERT_TRUE(view) << daemon.log();
  EXPECT_EQ((*view)["process"]["program"], "mp-grower");
  EXPECT_EQ((*view)["process"]["user"], "root");
  EXPECT_GE((*view)["latest"]["rss_bytes"].get<uint64_t>(), (*view)["latest"]["live_bytes"].get<uint64_t>());
  EXPECT_EQ((*view)["verdict"]["trend"], "not enough data");

  Outcome once = memproxyctl(daemon.table(), {"top", "--once"});
  ASSERT_TRUE(once.ok()) << once.describe();
  EXPECT_NE(once.out.find("PID USER"), std::string::npos) << once.out;
  EXPECT_NE(once.out.find(std::to_string(grower->pid()) + " root"), std::string::npos) << once.out;
  EXPECT_NE(once.out.find("mp-grower"), std::string::npos) << once.out;

  Outcome history = memproxyctl(daemon.table(), {"history", std::to_string(grower->pid()), "--json"});
  ASSERT_TRUE(history.ok()) << history.describe();
  json samples = json::parse(history.out)["samples"];
  ASSERT_GE(samples.size(), 2u);
  EXPECT_LT(samples.front()["live_bytes"].get<uint64_t>(), samples.back()["live_bytes"].get<uint64_t>());

  Outcome chart = memproxyctl(daemon.table(), {"history", "mp-grower", "--since", "1h"});
  ASSERT_TRUE(chart.ok()) << chart.describe();
  EXPECT_NE(chart.out.find("live heap bytes"), std::string::npos) << chart.out;
  EXPECT_NE(chart.out.find("resident set (RSS)"), std::string::npos) << chart.out;
  EXPECT_NE(chart.out.find("verdict: not enough data"), std::string::npos) << chart.out;

  Outcome csv = memproxyctl(daemon.table(), {"history", "mp-grower", "--csv"});
  ASSERT_TRUE(csv.ok()) << csv.describe();
  EXPECT_EQ(csv.out.rfind("unix_ns,time,live_bytes,peak_bytes,rss_bytes,allocations,frees\n", 0), 0u) << csv.out;

  // Without a verdict yet, nothing is a leak, but nothing is all clear
  // either: exit 6, and the process named as not judged yet.
  Outcome leaks = memproxyctl(daemon.table(), {"leaks"});
  EXPECT_EQ(leaks.code, 6) << leaks.describe();
  EXPECT_EQ(leaks.out.rfind("no judged process is growing, but 1 watched process is not judged yet:\n", 0), 0u)
      << leaks.out;

  Outcome unparsable = memproxyctl(daemon.table(), {"history", "mp-grower", "--since", "yesterday"});
  EXPECT_EQ(unparsable.code, 2) << unparsable.describe();
}

// From its start to its first verdict, a watched program is "not judged"
// in every view, never all clear: top gives the time to its first verdict
// (start + warm-up + analysed span, 5 s + 30 s at this scale), leaks exits
// 6 and says when, the verdict metric's state is not_judged. Once judged,
// the views say growing, and the daemon's log has the change and, when the
// program is killed, that it ended while growing.
TEST_F(DaemonViewsTest, AFreshProgramIsNotJudgedUntilItsFirstVerdictAndTheLogSaysWhatChanged) {
  const std::string textfile = dir_ / "memproxy.prom";
  Daemon daemon(dir_, {"--verdict-time-scale", "60", "--prometheus-textfile", textfile});
  ASSERT_TRUE(daemon.ready()) << daemon.log();
  // 4 KiB every 20 ms over 64 MiB: 3% of the heap per (scaled) 10 minutes,
  // too slow for the fast test, so judged when the full verdict is due.
  auto grower = start_grower(daemon.table(), "4096", std::to_string(64 << 20));
  ASSERT_EQ(grower->read_line(), std::optional<std::string>("growing"));
  const std::string pid = std::to_string(grower->pid());

  std::optional<json> view = grower_in_top(daemon.table(), grower->pid(), 1);
  ASSERT_TRUE(view) << daemon.log();
  const json verdict = (*view)["verdict"];
  ASSERT_EQ(verdict["trend"], "not enough data") << view->dump();
  const int64_t started = (*view)["process"]["started_unix_ns"].get<int64_t>();
  const int64_t first_verdict = verdict["first_verdict_unix_ns"].get<int64_t>();
  // 35 s after the start, to the next whole one-second window.
  EXPECT_GE(first_verdict - started, 35'000'000'000) << view->dump();
  EXPECT_LE(first_verdict - started, 36'000'000'000) << view->dump();
  EXPECT_GT(verdict["first_verdict_in_s"].get<int64_t>(), 0) << view->dump();
  EXPECT_LE(verdict["first_verdict_in_s"].get<int64_t>(), 36) << view->dump();

  Outcome top = memproxyctl(daemon.table(), {"top", "--once"});
  EXPECT_NE(line_of(top.out, grower->pid()).find(" judged in "), std::string::npos) << top.out;

  Outcome early = memproxyctl(daemon.table(), {"leaks"});
  EXPECT_EQ(early.code, 6) << early.describe();
  EXPECT_NE(early.out.find("1 watched process is not judged yet"), std::string::npos) << early.out;
  EXPECT_NE(line_of(early.out, grower->pid()).find("mp-grower"), std::string::npos) << early.out;
  Outcome early_json = memproxyctl(daemon.table(), {"leaks", "--json"});
  EXPECT_EQ(early_json.code, 6) << early_json.describe();
  ASSERT_EQ(json::parse(early_json.out)["not_judged"].size(), 1u) << early_json.out;
  EXPECT_EQ(json::parse(early_json.out)["not_judged"][0]["process"]["pid"], grower->pid());

  auto has_state = [&](const std::string& state) {
    return read_file(textfile).find("memproxy_heap_verdict{pid=\"" + pid + "\",program=\"mp-grower\",user=\"root\",state=\"" +
                                    state + "\"} 1") != std::string::npos;
  };
  EXPECT_TRUE(wait_until([&] { return has_state("not_judged"); })) << read_file(textfile);

  // Judged once its history is long enough, and not before.
  Outcome judged;
  ASSERT_TRUE(wait_until([&] { return (judged = memproxyctl(daemon.table(), {"leaks"})).code != 6; },
                         std::chrono::seconds(150)))
      << judged.describe() << daemon.log();
  const int64_t judged_at = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::system_clock::now().time_since_epoch()).count();
  // Up to a window (1 s here) sooner, when the newest window is half full.
  EXPECT_GE(judged_at, first_verdict - 1'000'000'000);
  EXPECT_EQ(judged.code, 1) << judged.describe();
  EXPECT_NE(line_of(judged.out, grower->pid()).find("mp-grower"), std::string::npos) << judged.out;
  EXPECT_EQ(judged.out.find("not judged"), std::string::npos) << judged.out;
  std::optional<json> later = grower_in_top(daemon.table(), grower->pid(), 1);
  ASSERT_TRUE(later);
  EXPECT_EQ((*later)["verdict"]["trend"], "growing") << later->dump();
  EXPECT_EQ((*later)["verdict"]["first_verdict_in_s"], 0) << later->dump();
  EXPECT_TRUE(wait_until([&] { return has_state("growing"); })) << read_file(textfile);
  EXPECT_FALSE(has_state("not_judged")) << read_file(textfile);

  const std::regex change("pid " + pid + R"( mp-grower: not judged -> growing, \+\d+(\.\d)? [KMGTPE]iB/h)");
  EXPECT_TRUE(std::regex_search(daemon.log(), change)) << daemon.log();
  grower->signal(SIGKILL);
  grower->finish();
  const std::regex ended("pid " + pid + R"( mp-grower ended while growing, \+\d+(\.\d)? [KMGTPE]iB/h)");
  EXPECT_TRUE(wait_until([&] { return std::regex_search(daemon.log(), ended); })) << daemon.log();

  // Its last verdict outlives it, said to be the last one.
  Outcome last;
  EXPECT_TRUE(wait_until([&] {
    last = memproxyctl(daemon.table(), {"history", pid});
    return last.out.find("last verdict before it ended: growing, +") != std::string::npos;
  })) << last.describe() << daemon.log();
  const Outcome as_json = memproxyctl(daemon.table(), {"history", pid, "--json"});
  ASSERT_TRUE(as_json.ok()) << as_json.describe();
  const json kept = json::parse(as_json.out);
  EXPECT_NE(kept["process"]["ended_unix_ns"], 0) << as_json.out;
  EXPECT_EQ(kept["verdict"]["trend"], "growing") << as_json.out;
  EXPECT_EQ(kept["verdict"]["exhaustion_in_s"], 0) << as_json.out;
  EXPECT_EQ(kept["verdict"]["first_verdict_in_s"], 0) << as_json.out;

  // leaks lists it as ended while growing, for a day, across a restart
  // too; what runs now decides the exit status: nothing runs, so 0.
  auto listed = [&](const Daemon& d) {
    const Outcome text = memproxyctl(d.table(), {"leaks"});
    EXPECT_EQ(text.code, 0) << text.describe();
    EXPECT_NE(text.out.find("1 process ended while growing in the last day"), std::string::npos) << text.out;
    EXPECT_TRUE(std::regex_search(text.out, std::regex("  pid " + pid + R"( \(mp-grower, user root\) ended at [^\n]*, growing \+\d)")))
        << text.out;
    const Outcome listed_json = memproxyctl(d.table(), {"leaks", "--json"});
    const json answer = json::parse(listed_json.out);
    EXPECT_EQ(answer["processes"], json::array()) << listed_json.out;
    ASSERT_EQ(answer["ended_growing"].size(), 1u) << listed_json.out;
    EXPECT_EQ(answer["ended_growing"][0]["process"]["pid"].get<int>(), grower->pid());
    EXPECT_NE(answer["ended_growing"][0]["process"]["ended_unix_ns"], 0);
    EXPECT_EQ(answer["ended_growing"][0]["verdict"]["trend"], "growing");
  };
  listed(daemon);
  ASSERT_EQ(daemon.stop(), 0) << daemon.log();
  Daemon restarted(dir_, {"--verdict-time-scale", "60"});
  ASSERT_TRUE(restarted.ready()) << restarted.log();
  EXPECT_TRUE(wait_until([&] {
    return json::parse(memproxyctl(restarted.table(), {"leaks", "--json"}).out)["ended_growing"].size() == 1;
  })) << restarted.log();
  listed(restarted);
}

// A leak many times its heap per 10 minutes is flagged by the fast test,
// on its short horizon, before the full verdict is due.
TEST_F(DaemonViewsTest, AFastLeakIsFlaggedBeforeItsFirstVerdictIsDue) {
  Daemon daemon(dir_, {"--verdict-time-scale", "60"});
  ASSERT_TRUE(daemon.ready()) << daemon.log();
  auto grower = start_grower(daemon.table());
  ASSERT_EQ(grower->read_line(), std::optional<std::string>("growing"));
  std::optional<json> view = grower_in_top(daemon.table(), grower->pid(), 1);
  ASSERT_TRUE(view) << daemon.log();
  const int64_t first_verdict = (*view)["verdict"]["first_verdict_unix_ns"].get<int64_t>();
  ASSERT_GT(first_verdict, 0) << view->dump();

  Outcome judged;
  ASSERT_TRUE(wait_until([&] { return (judged = memproxyctl(daemon.table(), {"leaks"})).code != 6; },
                         std::chrono::seconds(150)))
      << judged.describe() << daemon.log();
  EXPECT_EQ(judged.code, 1) << judged.describe();
  EXPECT_NE(line_of(judged.out, grower->pid()).find("mp-grower"), std::string::npos) << judged.out;
  std::optional<json> flagged = grower_in_top(daemon.table(), grower->pid(), 1);
  ASSERT_TRUE(flagged);
  const json& verdict = (*flagged)["verdict"];
  EXPECT_EQ(verdict["trend"], "growing") << flagged->dump();
  // The fast horizon is 9 s here (9 minutes at 60 times real time); the full
  // verdict analyses 30 s or more.
  EXPECT_LE(verdict["analysed_s"].get<int64_t>(), 10) << flagged->dump();
  EXPECT_GT(verdict["slope_bytes_per_hour"].get<double>(), 0) << flagged->dump();
  const std::regex change("pid " + std::to_string(grower->pid()) + R"( mp-grower: not judged -> growing)");
  EXPECT_TRUE(std::regex_search(daemon.log(), change)) << daemon.log();
}

// Two python3 scripts on one host are two programs: each is named by its
// interpreter and its script in every view, and history finds each by the
// script's name.
TEST_F(DaemonViewsTest, AScriptIsNamedByItsInterpreterAndScript) {
  MEMPROXY_REQUIRE(std::filesystem::exists("/usr/bin/python3") ? "" : "python3 is not installed");
  Daemon daemon(dir_, {}, {"python3", "python3.11"});
  ASSERT_TRUE(daemon.ready()) << daemon.log();
  const std::string body = "import time\nkeep = [bytearray(4096) for _ in range(512)]\n"
                           "print('ready', flush=True)\ntime.sleep(600)\n";
  dir_.write("cache_server.py", body);
  dir_.write("batch_job.py", body);
  const std::vector<std::string> env{std::string("LD_PRELOAD=") + MEMPROXY_LIB, "MEMPROXY_TABLE=" + daemon.table()};
  Process server({"/usr/bin/python3", "-u", dir_ / "cache_server.py", "--port", "80"}, env);
  Process job({"/usr/bin/python3", dir_ / "batch_job.py"}, env);
  ASSERT_EQ(server.read_line(), std::optional<std::string>("ready"));
  ASSERT_EQ(job.read_line(), std::optional<std::string>("ready"));

  std::map<pid_t, std::string> names;
  Outcome top;
  wait_until([&] {
    top = memproxyctl(daemon.table(), {"top", "--json"});
    if (!top.ok()) return false;
    names.clear();
    const json answer = json::parse(top.out);
    for (const json& v : answer["processes"]) {
      names[v["process"]["pid"].get<pid_t>()] = v["process"]["program"].get<std::string>();
    }
    return names.count(server.pid()) == 1 && names.count(job.pid()) == 1;
  });
  ASSERT_TRUE(names.count(server.pid()) == 1 && names.count(job.pid()) == 1)
      << "server " << server.pid() << ", job " << job.pid() << '\n' << top.describe() << daemon.log();
  EXPECT_EQ(names[server.pid()], "python3 cache_server.py");
  EXPECT_EQ(names[job.pid()], "python3 batch_job.py");

  Outcome once = memproxyctl(daemon.table(), {"top", "--once"});
  ASSERT_TRUE(once.ok()) << once.describe();
  EXPECT_NE(once.out.find("python3 cache_server.py"), std::string::npos) << once.out;

  Outcome by_script = memproxyctl(daemon.table(), {"history", "batch_job.py", "--json"});
  ASSERT_TRUE(by_script.ok()) << by_script.describe();
  EXPECT_EQ(json::parse(by_script.out)["process"]["pid"], job.pid()) << by_script.out;
  Outcome by_whole = memproxyctl(daemon.table(), {"history", "python3 cache_server.py", "--json"});
  ASSERT_TRUE(by_whole.ok()) << by_whole.describe();
  EXPECT_EQ(json::parse(by_whole.out)["process"]["pid"], server.pid()) << by_whole.out;
  Outcome by_part = memproxyctl(daemon.table(), {"history", "cache_server", "--json"});
  EXPECT_FALSE(by_part.ok()) << "a part of a script's name is not its name:\n" << by_part.describe();
}

TEST_F(DaemonViewsTest, NobodySeesNoneOfRootsProcesses) {
  MEMPROXY_REQUIRE(memproxy::testing::missing_unprivileged_runner());
  memproxy::testing::StagedForOtherUser staged;
  MEMPROXY_REQUIRE(staged.missing());
  Daemon daemon(dir_, {});
  ASSERT_TRUE(daemon.ready()) << daemon.log();
  auto grower = start_grower(daemon.table());
  ASSERT_TRUE(grower_in_top(daemon.table(), grower->pid(), 1));

  Outcome top = memproxyctl_as_nobody(staged, daemon.table(), {"top", "--json"});
  ASSERT_TRUE(top.ok()) << top.describe();
  EXPECT_EQ(json::parse(top.out)["processes"], json::array());
  Outcome history = memproxyctl_as_nobody(staged, daemon.table(), {"history", std::to_string(grower->pid())});
  EXPECT_EQ(history.code, 4) << history.describe();
  EXPECT_NE(history.err.find("no watched process has pid " + std::to_string(grower->pid())), std::string::npos)
      << history.err;
}

TEST_F(DaemonViewsTest, TheTextfileCarriesTheSeriesAndDropsThemWhenTheProcessEnds) {
  const std::string textfile = dir_ / "memproxy.prom";
  Daemon daemon(dir_, {"--prometheus-textfile", textfile});
  ASSERT_TRUE(daemon.ready()) << daemon.log();
  auto grower = start_grower(daemon.table());
  const std::string series =
      "memproxy_heap_live_bytes{pid=\"" + std::to_string(grower->pid()) + "\",program=\"mp-grower\",user=\"root\"} ";
  uint64_t first = 0, later = 0;
  auto live_in_file = [&]() -> uint64_t {
    std::string text = read_file(textfile);
    auto at = text.find(series);
    return at == std::string::npos ? 0 : std::stoull(text.substr(at + series.size()));
  };
  ASSERT_TRUE(wait_until([&] { return (first = live_in_file()) > 0; })) << read_file(textfile) << daemon.log();
  ASSERT_TRUE(wait_until([&] { return (later = live_in_file()) > first; })) << read_file(textfile);
  struct stat st {};
  ASSERT_EQ(::stat(textfile.c_str(), &st), 0);
  // It shows every user's processes: root and root's group only, by default.
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  EXPECT_EQ(st.st_gid, 0u);

  grower->signal(SIGKILL);
  grower->finish();
  EXPECT_TRUE(wait_until([&] { return read_file(textfile).find("pid=\"" + std::to_string(grower->pid())) ==
                                      std::string::npos; }))
      << read_file(textfile);
  EXPECT_NE(read_file(textfile).find("memproxy_watched_processes 0"), std::string::npos) << read_file(textfile);

  // A stopped daemon's numbers are not left for node_exporter to serve.
  EXPECT_EQ(daemon.stop(), 0) << daemon.log();
  EXPECT_FALSE(std::filesystem::exists(textfile));
}

TEST_F(DaemonViewsTest, WithoutADaemonTheErrorNamesTheSocketAndHowToStartIt) {
  const std::string table = dir_ / "nowhere/table";
  for (const char* command : {"top", "leaks"}) {
    Outcome o = memproxyctl(table, {command});
    EXPECT_EQ(o.code, 4) << o.describe();
    EXPECT_NE(o.err.find(dir_ / "nowhere/query.sock"), std::string::npos) << o.err;
    EXPECT_NE(o.err.find("systemctl start memproxyd"), std::string::npos) << o.err;
  }
  Outcome given = memproxyctl(table, {"history", "1", "--query-socket", dir_ / "other.sock"});
  EXPECT_EQ(given.code, 4) << given.describe();
  EXPECT_NE(given.err.find(dir_ / "other.sock"), std::string::npos) << given.err;
}

}  // namespace
