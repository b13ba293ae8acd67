// The call sites end to end: the real daemon (sampling every 100 ms, site
// snapshots every second at --verdict-time-scale 60, its sandboxed
// symbolizer from the build tree) watches heapwatch-site_leak, which
// samples one allocation per 64 KiB. memproxyctl leaks PID names the
// leaking function and its file:line first, as growing, although a steady
// cache holds more; --json, --collapsed and --pprof say the same of one
// reading; another user is told there is no such process; a symbolizer
// that fails still gives the sites, by address, and says why.
#include <signal.h>
#include <zlib.h>

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <thread>
#include <algorithm>
#include <nlohmann/json.hpp>

#include "capability.hpp"
#include "memproxy/clock.hpp"
#include "e2e_support.hpp"
#include "site_collapsed.hpp"
#include "site_pprof.hpp"
#include "site_text.hpp"

namespace {

using namespace heapwatch_e2e;
using nlohmann::json;
namespace hq = memproxy::heap_query;

// The line of site_leak.c carrying `marker`, 0 when none does.
uint32_t marked_line(const std::string& marker) {
  std::ifstream in(HEAPWATCH_SITE_LEAK_SOURCE);
  std::string text;
  for (uint32_t n = 1; std::getline(in, text); ++n) {
    if (text.find(marker) != std::string::npos) return n;
  }
  return 0;
}

std::string gunzip(const std::string& data) {
  z_stream z{};
  if (inflateInit2(&z, 15 + 16) != Z_OK) return "";
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char buffer[65536];
  int result = Z_OK;
  while (result == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(buffer);
    z.avail_out = sizeof buffer;
    result = inflate(&z, Z_NO_FLUSH);
    out.append(buffer, sizeof buffer - z.avail_out);
  }
  inflateEnd(&z);
  return result == Z_STREAM_END ? out : "";
}

// The frame that names `site`, as memproxyctl picks it.
// `leaks PID --json` answered with sites; until the daemon watches the
// process it answers exit status 4 and no JSON.
bool has_sites(const Outcome& o) {
  return o.code != 4 && json::accept(o.out) && !json::parse(o.out)["sites"].empty();
}

// The exit status memproxyctl(8) gives `leaks PID` for its answer: 1 when
// at least one site is growing, else 0.
int documented_code(const Outcome& o) {
  for (const hq::SiteView& site : hq::sites_from_answer(json::parse(o.out)).sites) {
    if (site.growing) return 1;
  }
  return 0;
}

const hq::FrameView& naming(const hq::SiteView& site) { return site.frames.at(::memproxyctl::naming_frame(site)); }

class DaemonSitesTest : public ::testing::Test {
 protected:
  void SetUp() override { MEMPROXY_REQUIRE(staged_.missing()); }

  memproxy::testing::TempDir dir_{0755};
  // The worker (run as nobody for root's processes) and memproxyctl run as nobody.
  memproxy::testing::StagedForOtherUser staged_;

  // A daemon watching heapwatch-site_leak with a 64 KiB sampling mean.
  std::unique_ptr<Daemon> start_daemon(const std::string& symbolizer) {
    return std::make_unique<Daemon>(
        dir_, std::vector<std::string>{"--verdict-time-scale", "60", "--symbolizer", symbolizer},
        std::vector<std::string>{"", "[monitor sample=64K]", "heapwatch-site_leak"});
  }
  std::unique_ptr<Process> start_program(const std::string& table) {
    auto p = std::make_unique<Process>(std::vector<std::string>{HEAPWATCH_SITE_LEAK},
                                       std::vector<std::string>{std::string("LD_PRELOAD=") + MEMPROXY_LIB,
                                                                "MEMPROXY_TABLE=" + table});
    auto ready = p->read_line();
    EXPECT_EQ(ready.value_or(""), "ready");
    return p;
  }
};

TEST_F(DaemonSitesTest, TheLeakingFunctionAndItsLineComeFirstAndEveryOutputAgrees) {
  const uint32_t leak_line = marked_line("SITE: leak");
  const uint32_t cache_line = marked_line("SITE: cache");
  ASSERT_NE(leak_line, 0u);
  auto daemon = start_daemon(staged_.program(MEMPROXY_SYMBOLIZE_WORKER_BIN));
  ASSERT_TRUE(daemon->ready()) << daemon->log();
  auto program = start_program(daemon->table());
  const std::string pid = std::to_string(program->pid());

  // Growth needs ten snapshots, a second apart here. The outputs below are
  // compared while the program is stopped, and a site whose growth has
  // stopped is no longer growing once the last third of its snapshots is
  // flat: with 45 of them, a stop of several seconds leaves it growing.
  hq::SitesAnswer answer;
  Outcome out;
  const bool grows = wait_until(
      [&] {
        out = heapwatch_e2e::memproxyctl(daemon->table(), {"leaks", pid, "--json"});
        if (out.code != 1) return false;
        answer = hq::sites_from_answer(json::parse(out.out));
        return !answer.sites.empty() && answer.sites[0].growing && answer.sites[0].series.size() >= 45;
      },
      std::chrono::seconds(120));
  ASSERT_TRUE(grows) << out.describe() << daemon->log();
  EXPECT_EQ(answer.symbols_error, "");
  EXPECT_EQ(answer.sample_mean_bytes, 65536u);
  const hq::FrameView& leak = naming(answer.sites[0]);
  EXPECT_EQ(leak.function, "leak_block");
  EXPECT_TRUE(leak.file.ends_with("site_leak.c")) << leak.file;
  EXPECT_EQ(leak.line, leak_line);
  EXPECT_NE(leak.build_id, "");
  // The cache holds its 24 MiB and does not grow.
  bool cache_seen = false;
  for (const hq::SiteView& s : answer.sites) {
    if (s.frames.empty() || naming(s).function != "fill_cache") continue;
    cache_seen = true;
    EXPECT_EQ(naming(s).line, cache_line);
    EXPECT_FALSE(s.growing);
    // 1,536 blocks of 16 KiB against a 64 KiB mean: about 340 samples
    // (standard deviation 16), all at that mean though they come in a few
    // milliseconds, far past the sampling budget's 100 a window: the
    // budget's credit lets a burst through. The estimate's relative
    // standard error is under 5%, so 20% is four of them.
    EXPECT_GE(s.samples, 260u);
    EXPECT_NEAR(static_cast<double>(s.estimated_bytes), 24.0 * (1 << 20), 0.20 * 24.0 * (1 << 20));
  }
  EXPECT_TRUE(cache_seen) << out.out;

  // Stopped, the process writes no record: each output below has the same
  // blocks. A site's growth is a slope over the daemon's snapshots, which
  // go on while the process is stopped, so the text is compared with the
  // JSON read just before it, once the JSON read just after it says no
  // snapshot came in between (bounded retries).
  program->signal(SIGSTOP);
  ASSERT_TRUE(program->wait_stopped());
  auto expected_lines = [&](const Outcome& json_out) {
    EXPECT_EQ(json_out.code, 1) << json_out.describe();
    return ::memproxyctl::site_lines(hq::sites_from_answer(json::parse(json_out.out)), false, 100);
  };
  Outcome json_out, text;
  std::vector<std::string> expected;
  for (int attempt = 0; attempt < 5; ++attempt) {
    json_out = heapwatch_e2e::memproxyctl(daemon->table(), {"leaks", pid, "--json"});
    text = heapwatch_e2e::memproxyctl(daemon->table(), {"leaks", pid});
    expected = expected_lines(json_out);
    if (expected == expected_lines(heapwatch_e2e::memproxyctl(daemon->table(), {"leaks", pid, "--json"}))) break;
  }
  const hq::SitesAnswer reading = hq::sites_from_answer(json::parse(json_out.out));
  EXPECT_EQ(text.code, 1) << text.describe();
  std::string expected_text;
  for (const std::string& line : expected) expected_text += line + "\n";
  EXPECT_EQ(text.out, expected_text);
  ASSERT_GE(expected.size(), 3u);
  EXPECT_TRUE(expected[2].starts_with("   1 ")) << text.out;
  // A compiler that copies the call (clang unrolls the loop) makes sites
  // with one name, told apart by where their stacks part ("[object+offset]",
  // which the line's width may cut; never the state).
  EXPECT_TRUE(std::regex_search(expected[2], std::regex("leak_block \\(site_leak\\.c:" + std::to_string(leak_line) +
                                                         "\\)( \\[heapwatch-site_leak[^\\]]*\\]?)?  \\[growing\\]$")))
      << text.out;

  Outcome collapsed = heapwatch_e2e::memproxyctl(daemon->table(), {"leaks", pid, "--collapsed"});
  EXPECT_EQ(collapsed.code, 1) << collapsed.describe();
  EXPECT_EQ(collapsed.out, ::memproxyctl::collapsed_stacks(reading));
  EXPECT_NE(collapsed.out.find(";main;leak_block " + std::to_string(reading.sites[0].estimated_bytes) + "\n"),
            std::string::npos)
      << collapsed.out;

  const std::string profile_path = dir_ / "sites.pb.gz";
  Outcome pprof = heapwatch_e2e::memproxyctl(daemon->table(), {"leaks", pid, "--pprof", profile_path});
  EXPECT_EQ(pprof.code, 1) << pprof.describe();
  EXPECT_EQ(pprof.out, "");
  perftools::profiles::Profile profile;
  ASSERT_TRUE(profile.ParseFromString(gunzip(read_file(profile_path))));
  ASSERT_EQ(profile.sample_size(), static_cast<int>(reading.sites.size()));
  for (int i = 0; i < profile.sample_size(); ++i) {
    EXPECT_EQ(profile.sample(i).value(0), static_cast<int64_t>(reading.sites[static_cast<size_t>(i)].estimated_bytes));
    EXPECT_EQ(profile.sample(i).value(1), static_cast<int64_t>(reading.sites[static_cast<size_t>(i)].estimated_blocks));
  }
  const perftools::profiles::Profile from_reading = ::memproxyctl::pprof_profile(reading);
  EXPECT_EQ(profile.SerializeAsString(), from_reading.SerializeAsString());

  program->signal(SIGKILL);
  program->finish();
}

TEST_F(DaemonSitesTest, AnotherUserIsToldThereIsNoSuchProcess) {
  MEMPROXY_REQUIRE(memproxy::testing::missing_unprivileged_runner());
  auto daemon = start_daemon(staged_.program(MEMPROXY_SYMBOLIZE_WORKER_BIN));
  ASSERT_TRUE(daemon->ready()) << daemon->log();
  auto program = start_program(daemon->table());
  const std::string pid = std::to_string(program->pid());
  Outcome root;
  ASSERT_TRUE(wait_until([&] {
    root = heapwatch_e2e::memproxyctl(daemon->table(), {"leaks", pid, "--json"});
    return has_sites(root);
  })) << root.describe();
  EXPECT_EQ(root.code, documented_code(root)) << root.describe();

  for (const std::vector<std::string>& args : {std::vector<std::string>{"leaks", pid},
                                               std::vector<std::string>{"leaks", pid, "--json"},
                                               std::vector<std::string>{"leaks", "999999999"}}) {
    Outcome nobody = heapwatch_e2e::memproxyctl_as_nobody(staged_, daemon->table(), args);
    EXPECT_EQ(nobody.code, 4) << nobody.describe();
    EXPECT_EQ(nobody.out, "");
    EXPECT_NE(nobody.err.find("no watched process has pid " + args[1]), std::string::npos) << nobody.err;
  }
  program->signal(SIGKILL);
  program->finish();
}

TEST_F(DaemonSitesTest, WithoutASymbolizerTheSitesComeByAddressAndSayWhy) {
  auto daemon = start_daemon("/bin/false");
  ASSERT_TRUE(daemon->ready()) << daemon->log();
  auto program = start_program(daemon->table());
  const std::string pid = std::to_string(program->pid());
  hq::SitesAnswer answer;
  Outcome out;
  ASSERT_TRUE(wait_until([&] {
    out = heapwatch_e2e::memproxyctl(daemon->table(), {"leaks", pid, "--json"});
    if (!has_sites(out)) return false;
    answer = hq::sites_from_answer(json::parse(out.out));
    return true;
  })) << out.describe() << daemon->log();
  EXPECT_EQ(out.code, documented_code(out)) << out.describe();
  EXPECT_NE(answer.symbols_error, "");
  for (const hq::FrameView& f : answer.sites[0].frames) {
    EXPECT_NE(f.address, 0u);
    EXPECT_EQ(f.function, "");
  }
  Outcome text = heapwatch_e2e::memproxyctl(daemon->table(), {"leaks", pid});
  EXPECT_NE(text.out.find("no symbols: "), std::string::npos) << text.describe();
  program->signal(SIGKILL);
  program->finish();
}

// The sites outlive the daemon and the process: the daemon keeps them
// every five seconds at this time scale. A restarted daemon goes on from
// them (the leak's series reaches back before the restart, and it is
// growing again without ten new snapshots), and once the process is
// killed leaks PID answers from the last ones kept, symbolized while it
// ran, saying when and how it ended; to root only, as while it ran.
TEST_F(DaemonSitesTest, TheSitesGoOnAcrossARestartAndOutliveTheProcess) {
  const uint32_t leak_line = marked_line("SITE: leak");
  auto daemon = start_daemon(staged_.program(MEMPROXY_SYMBOLIZE_WORKER_BIN));
  ASSERT_TRUE(daemon->ready()) << daemon->log();
  auto program = start_program(daemon->table());
  const std::string pid = std::to_string(program->pid());
  auto leak_site = [&](const Outcome& o) -> std::optional<hq::SiteView> {
    if (!has_sites(o)) return std::nullopt;
    for (const hq::SiteView& s : hq::sites_from_answer(json::parse(o.out)).sites) {
      if (!s.frames.empty() && naming(s).function == "leak_block") return s;
    }
    return std::nullopt;
  };
  Outcome out;
  // Twelve snapshots: at least two keepings of it, one with ten of them.
  ASSERT_TRUE(wait_until(
      [&] {
        out = heapwatch_e2e::memproxyctl(daemon->table(), {"leaks", pid, "--json"});
        const std::optional<hq::SiteView> leak = leak_site(out);
        return leak && leak->growing && leak->series.size() >= 16;
      },
      std::chrono::seconds(120)))
      << out.describe() << daemon->log();
  const int64_t restart_ns = memproxy::unix_now_ns();
  ASSERT_EQ(daemon->stop(), 0) << daemon->log();
  daemon = start_daemon(staged_.program(MEMPROXY_SYMBOLIZE_WORKER_BIN));
  ASSERT_TRUE(daemon->ready()) << daemon->log();
  std::optional<hq::SiteView> resumed;
  EXPECT_TRUE(wait_until([&] {
    out = heapwatch_e2e::memproxyctl(daemon->table(), {"leaks", pid, "--json"});
    resumed = leak_site(out);
    return resumed && resumed->series.front().unix_ns < restart_ns;
  })) << out.describe() << daemon->log();
  ASSERT_TRUE(resumed) << out.describe();
  EXPECT_LT(resumed->first_seen_unix_ns, restart_ns);
  // Without what was kept, growth would wait for ten snapshots of the new daemon.
  const size_t after_restart = static_cast<size_t>(std::count_if(
      resumed->series.begin(), resumed->series.end(), [&](const hq::SitePointView& p) { return p.unix_ns > restart_ns; }));
  EXPECT_LT(after_restart, 10u) << out.out;
  EXPECT_TRUE(resumed->growing) << out.out;
  // A keeping by the new daemon, with the leak growing in it.
  std::this_thread::sleep_for(std::chrono::seconds(6));

  program->signal(SIGKILL);
  program->finish();
  Outcome ended;
  ASSERT_TRUE(wait_until([&] {
    ended = heapwatch_e2e::memproxyctl(daemon->table(), {"leaks", pid, "--json"});
    return has_sites(ended) && hq::sites_from_answer(json::parse(ended.out)).process.ended_unix_ns != 0;
  })) << ended.describe() << daemon->log();
  const std::optional<hq::SiteView> kept = leak_site(ended);
  ASSERT_TRUE(kept) << ended.out;
  EXPECT_EQ(naming(*kept).line, leak_line);
  EXPECT_TRUE(kept->growing) << ended.out;
  EXPECT_EQ(ended.code, 1) << ended.describe();
  // How it ended comes once the kernel tells, after the parent reaped it.
  Outcome text;
  EXPECT_TRUE(wait_until([&] {
    text = heapwatch_e2e::memproxyctl(daemon->table(), {"leaks", pid});
    return text.out.find("killed by SIGKILL; these are its call sites as the daemon kept them at ") != std::string::npos;
  })) << text.describe() << daemon->log();
  EXPECT_EQ(text.code, 1) << text.describe();
  EXPECT_NE(text.out.find("pid " + pid + " ended at "), std::string::npos) << text.out;
  EXPECT_TRUE(std::regex_search(text.out, std::regex("leak_block \\(site_leak\\.c:" + std::to_string(leak_line) +
                                                     "\\).*\\[growing\\]")))
      << text.out;
  const std::string page = dir_ / "report.html";
  Outcome report = heapwatch_e2e::memproxyctl(daemon->table(), {"report", pid, "-o", page});
  EXPECT_TRUE(report.ok()) << report.describe();
  EXPECT_NE(read_file(page).find("leak_block"), std::string::npos);
  EXPECT_NE(read_file(page).find("these are its call sites as the daemon kept them at"), std::string::npos);
  if (memproxy::testing::missing_unprivileged_runner().empty()) {
    Outcome nobody = heapwatch_e2e::memproxyctl_as_nobody(staged_, daemon->table(), {"leaks", pid, "--json"});
    EXPECT_EQ(nobody.code, 4) << nobody.describe();
    EXPECT_EQ(nobody.out, "");
  }
}

// One truth per process: a flat heap moving from one call site to another
// is judged stable, and its sites say why: the new home [growing] beside
// the old one [shrinking], as much, in leaks PID and in the report; never a
// growing site alone under a stable verdict.
TEST_F(DaemonSitesTest, AStableHeapMovingBetweenSitesShowsBothTheGrowingAndTheShrinking) {
  auto daemon = std::make_unique<Daemon>(
      dir_, std::vector<std::string>{"--verdict-time-scale", "60", "--symbolizer",
                                     staged_.program(MEMPROXY_SYMBOLIZE_WORKER_BIN)},
      std::vector<std::string>{"", "[monitor sample=64K]", "heapwatch-site_migrate"});
  ASSERT_TRUE(daemon->ready()) << daemon->log();
  auto program = std::make_unique<Process>(std::vector<std::string>{HEAPWATCH_SITE_MIGRATE},
                                           std::vector<std::string>{std::string("LD_PRELOAD=") + MEMPROXY_LIB,
                                                                    "MEMPROXY_TABLE=" + daemon->table()});
  ASSERT_EQ(program->read_line().value_or(""), "ready");
  const std::string pid = std::to_string(program->pid());
  std::string trend;
  Outcome top;
  ASSERT_TRUE(wait_until(
      [&] {
        top = heapwatch_e2e::memproxyctl(daemon->table(), {"top", "--json"});
        if (!top.ok()) return false;
        const json answer = json::parse(top.out);
        for (const json& v : answer["processes"]) {
          if (std::to_string(v["process"]["pid"].get<int>()) == pid) trend = v["verdict"]["trend"].get<std::string>();
        }
        return trend == "stable" || trend == "growing";
      },
      std::chrono::seconds(70)))
      << top.describe() << daemon->log();
  ASSERT_EQ(trend, "stable") << top.out;

  Outcome out = heapwatch_e2e::memproxyctl(daemon->table(), {"leaks", pid, "--json"});
  ASSERT_TRUE(has_sites(out)) << out.describe();
  const hq::SitesAnswer answer = hq::sites_from_answer(json::parse(out.out));
  std::optional<hq::SiteView> old_home, new_home;
  for (const hq::SiteView& s : answer.sites) {
    EXPECT_FALSE(s.growing && s.frames.empty()) << out.out;
    if (s.frames.empty()) continue;
    if (naming(s).function == "old_home") old_home = s;
    if (naming(s).function == "new_home") new_home = s;
  }
  ASSERT_TRUE(old_home && new_home) << out.out;
  EXPECT_TRUE(new_home->growing) << out.out;
  EXPECT_TRUE(old_home->shrinking) << out.out;
  EXPECT_GT(new_home->growth_bytes_per_hour, 0.75 * -old_home->growth_bytes_per_hour) << out.out;
  EXPECT_EQ(out.code, 1) << out.describe();
  const Outcome text = heapwatch_e2e::memproxyctl(daemon->table(), {"leaks", pid});
  EXPECT_TRUE(std::regex_search(text.out, std::regex(R"(new_home \(site_migrate\.c:\d+\).*\[growing\])"))) << text.out;
  EXPECT_TRUE(std::regex_search(text.out, std::regex(R"(old_home \(site_migrate\.c:\d+\).*\[shrinking\])"))) << text.out;
  const std::string page = dir_ / "report.html";
  const Outcome report = heapwatch_e2e::memproxyctl(daemon->table(), {"report", pid, "-o", page});
  EXPECT_TRUE(report.ok()) << report.describe();
  const std::string html = read_file(page);
  EXPECT_NE(html.find("new_home"), std::string::npos);
  EXPECT_NE(html.find("shrinking"), std::string::npos);
  program->signal(SIGKILL);
  program->finish();
}

}  // namespace
