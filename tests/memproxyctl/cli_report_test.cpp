// memproxyctl report against a stand-in daemon on a socket of the test's
// own, answering with made-up history and call sites: the sites request
// carries --sites, every call site reaches the page with its chart, sites
// of a process that reused the pid are refused, and the page replaces an
// old one whole. memproxyctl leaks's exit status against the same stand-in:
// what a script or a monitoring check reads.
#include <nlohmann/json.hpp>

#include "cli_support.hpp"
#include "fake_daemon.hpp"
#include "memproxy/heap_query.hpp"
#include "report_test_data.hpp"

namespace {

namespace hq = memproxy::heap_query;
namespace data = report_test_data;
using memproxyctl::testing::ctl;
using memproxyctl::testing::FakeDaemon;
using memproxyctl::testing::read_file;
using memproxyctl::testing::TempDir;

std::string answer_with(const hq::History& history, const hq::SitesAnswer& sites, const std::string& line) {
  const nlohmann::json request = nlohmann::json::parse(line);
  if (request["request"] == "sites") return hq::answer_line(hq::sites_answer(sites));
  return hq::answer_line(nlohmann::json(history));
}

// 1 when a process grows, else 6 while any watched process is not judged
// yet, and 0 only when every one was judged and none grows; --json alike.
TEST(CliLeaks, TheExitStatusSaysGrowingNotJudgedYetOrAllClear) {
  hq::View growing;
  growing.process = data::history(1).process;
  growing.verdict = *data::history(1).verdict;
  hq::View not_judged;
  not_judged.process = growing.process;
  not_judged.process.pid = 4343;
  not_judged.verdict.trend = hq::trend::kNotEnoughData;
  struct Case {
    std::vector<hq::View> growing, not_judged;
    int status;
  };
  for (const Case& c : {Case{{growing}, {}, 1}, Case{{growing}, {not_judged}, 1}, Case{{}, {not_judged}, 6},
                        Case{{}, {}, 0}}) {
    TempDir dir;
    FakeDaemon daemon(dir / "query.sock", [&](const std::string& line) {
      if (nlohmann::json::parse(line)["request"] != "leaks") return hq::error_line("unknown request");
      return hq::answer_line(hq::leaks_answer(c.growing, c.not_judged));
    });
    const auto text = ctl({"--query-socket", dir / "query.sock", "leaks"});
    EXPECT_EQ(text.exit_status, c.status) << text.out << text.err;
    const auto json = ctl({"--query-socket", dir / "query.sock", "leaks", "--json"});
    EXPECT_EQ(json.exit_status, c.status) << json.out << json.err;
  }
}

TEST(CliReport, EveryCallSiteTheDaemonGivesIsOnThePage) {
  TempDir dir;
  const hq::History history = data::history(30);
  const hq::SitesAnswer sites =
      data::sites(history, {data::site("grow_cache", "cache.c", 88, 10, 4096, true),
                            data::site("load_config", "config.c", 12, 10, 0, false)});
  FakeDaemon daemon(dir / "query.sock", [&](const std::string& line) { return answer_with(history, sites, line); });
  const std::string page = dir / "report.html";
  memproxyctl::testing::write_file(page, "an older report");

  auto r = ctl({"--query-socket", dir / "query.sock", "report", "4242", "-o", page, "--sites", "5"});
  ASSERT_EQ(r.exit_status, 0) << r.out << r.err;
  EXPECT_EQ(r.out, "wrote " + page + ": pid 4242 (leaky), 30 samples, 2 call sites\n");
  const std::vector<std::string> asked = daemon.requests();
  ASSERT_EQ(asked.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(asked[0]), nlohmann::json::parse(R"({"request":"history","pid":4242})"));
  EXPECT_EQ(nlohmann::json::parse(asked[1]), nlohmann::json::parse(R"({"request":"sites","pid":4242,"limit":5})"));

  const std::string html = read_file(page);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("<div class=\"code place\">cache.c:88</div>"), std::string::npos) << html;
  EXPECT_NE(html.find("<div class=\"code place\">config.c:12</div>"), std::string::npos);
  EXPECT_EQ(memproxyctl::testing::read_file(page).find("an older report"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(page + ".new"));
  size_t site_plots = 0;
  for (size_t at = html.find("class=\"site-plot\""); at != std::string::npos;
       at = html.find("class=\"site-plot\"", at + 1)) {
    ++site_plots;
  }
  EXPECT_EQ(site_plots, 2u);
}

TEST(CliReport, CallSitesOfAProcessThatReusedThePidAreRefused) {
  TempDir dir;
  const hq::History history = data::history(10);
  hq::SitesAnswer sites = data::sites(history, {data::site("other", "other.c", 1, 3, 0, false)});
  sites.process.start_ticks += 1;
  FakeDaemon daemon(dir / "query.sock", [&](const std::string& line) { return answer_with(history, sites, line); });
  auto r = ctl({"--query-socket", dir / "query.sock", "report", "leaky", "-o", dir / "r.html"});
  ASSERT_EQ(r.exit_status, 0) << r.out << r.err;
  const std::string html = read_file(dir / "r.html");
  EXPECT_NE(html.find("Call sites are unavailable: memproxyd&#39;s call sites for pid 4242 are of another process"),
            std::string::npos)
      << html;
  EXPECT_EQ(html.find("other.c"), std::string::npos);
}

TEST(CliReport, ADaemonThatRefusesTheSitesStillGetsAReport) {
  TempDir dir;
  const hq::History history = data::history(10);
  FakeDaemon daemon(dir / "query.sock", [&](const std::string& line) {
    if (line.find("\"sites\"") != std::string::npos) return hq::error_line("unknown request \"sites\"");
    return hq::answer_line(nlohmann::json(history));
  });
  auto r = ctl({"--query-socket", dir / "query.sock", "report", "4242", "-o", dir / "r.html"});
  ASSERT_EQ(r.exit_status, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("call sites unavailable: memproxyd did not give them: unknown request \"sites\""),
            std::string::npos)
      << r.out;
  const std::string html = read_file(dir / "r.html");
  EXPECT_NE(html.find("class=\"series-live\""), std::string::npos);
  EXPECT_NE(html.find("Call sites are unavailable: memproxyd did not give them: unknown request &quot;sites&quot;"),
            std::string::npos);
}

}  // namespace
