// memproxyctl report end to end: the real daemon, judging 60 times faster
// than real time, watches mp-grower; the report it writes names the
// process, says it is growing, lists its call site (main in grower.c) with
// a chart of its own, and headless Chromium draws its live heap rising and
// its RSS in the chart's plot, and the site's chart; a span without samples
// draws no line; a report that cannot be written leaves nothing behind.
#include <sys/stat.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "browser.hpp"
#include "capability.hpp"
#include "e2e_support.hpp"
#include "report_html.hpp"

namespace {

using namespace heapwatch_e2e;
using memproxy::testing::Box;
using memproxy::testing::Image;
using memproxy::testing::pixels_of;
using memproxy::testing::regions;
using memproxy::testing::rgb;
using nlohmann::json;
namespace colors = ::memproxyctl::report_colors;

// The verdict needs 5 s of warm-up and 30 s of history at this scale.
constexpr auto kVerdictPatience = std::chrono::seconds(150);

std::string trend_of(const std::string& table, pid_t pid) {
  Outcome top = heapwatch_e2e::memproxyctl(table, {"top", "--json"});
  if (!top.ok()) return "";
  const json answer = json::parse(top.out);
  for (const json& v : answer["processes"]) {
    if (v["process"]["pid"] == pid) return v["verdict"]["trend"].get<std::string>();
  }
  return "";
}

// The mean row of the pixels whose column lies in [from, to) of `box`'s width.
double mean_row(const std::vector<std::pair<int, int>>& pixels, const Box& box, double from, double to) {
  double sum = 0;
  int n = 0;
  for (auto [x, y] : pixels) {
    const double at = static_cast<double>(x - box.left) / (box.right - box.left);
    if (at < from || at >= to) continue;
    sum += y;
    ++n;
  }
  return n == 0 ? -1 : sum / n;
}

class DaemonReportTest : public ::testing::Test {
 protected:
  void SetUp() override { MEMPROXY_REQUIRE(memproxy::testing::missing_browser()); }

  std::optional<Image> shoot(const std::string& page) {
    // Tall enough for the first call site's chart below the verdict's words.
    auto shot = memproxy::testing::screenshot(page, 1100, 1600, dir_.path());
    if (auto* why = std::get_if<std::string>(&shot)) {
      ADD_FAILURE() << *why;
      return std::nullopt;
    }
    return std::get<Image>(shot);
  }

  memproxy::testing::TempDir dir_{0755};
};

TEST_F(DaemonReportTest, AGrowingProgramsReportShowsItsHeapRisingAndTheCallSiteThatHoldsIt) {
  // The daemon runs the worker as nobody (the grower is root's): from its staged copy.
  memproxy::testing::StagedForOtherUser staged;
  MEMPROXY_REQUIRE(staged.missing());
  Daemon daemon(dir_, {"--verdict-time-scale", "60", "--symbolizer", staged.program(MEMPROXY_SYMBOLIZE_WORKER_BIN)});
  ASSERT_TRUE(daemon.ready()) << daemon.log();
  auto grower = start_grower(daemon.table());
  ASSERT_EQ(grower->read_line(), std::optional<std::string>("growing"));
  const std::string pid = std::to_string(grower->pid());
  ASSERT_TRUE(wait_until([&] { return trend_of(daemon.table(), grower->pid()) == "growing"; }, kVerdictPatience))
      << heapwatch_e2e::memproxyctl(daemon.table(), {"top", "--json"}).describe() << daemon.log();
  // The call site's chart needs a few snapshots to draw a line: on a busy
  // machine the verdict can come before them.
  ASSERT_TRUE(wait_until(
      [&] {
        Outcome sites = heapwatch_e2e::memproxyctl(daemon.table(), {"leaks", pid, "--json"});
        // Exit 1: a site grows, as this one does.
        if (!sites.exited || sites.code > 1) return false;
        const auto answer = nlohmann::json::parse(sites.out);
        return !answer["sites"].empty() && answer["sites"][0]["series"].size() >= 6;
      },
      kVerdictPatience))
      << heapwatch_e2e::memproxyctl(daemon.table(), {"leaks", pid, "--json"}).describe();

  const std::string page = dir_ / "grower.html";
  Outcome report = heapwatch_e2e::memproxyctl(daemon.table(), {"report", pid, "-o", page, "--since", "1h"});
  ASSERT_TRUE(report.ok()) << report.describe();
  EXPECT_NE(report.out.find("wrote " + page + ": pid " + pid + " (mp-grower)"), std::string::npos) << report.out;
  EXPECT_EQ(report.out.find("call sites unavailable"), std::string::npos) << report.out;
  EXPECT_NE(report.out.find(" call sites\n"), std::string::npos) << report.out;
  EXPECT_FALSE(std::filesystem::exists(page + ".new"));
  const std::string html = read_file(page);
  for (const std::string& text :
       {std::string("<title>memproxy heap report: mp-grower (pid ") + pid + ")</title>",
        std::string("<dt>user</dt><dd>root (uid 0)</dd>"), std::string("running when the report was made"),
        std::string("<span class=\"trend growing\">growing</span> The live heap is growing by +"),
        std::string("<tr class=\"site\">"), std::string("main"), std::string("grower.c:")}) {
    EXPECT_NE(html.find(text), std::string::npos) << text << '\n' << html;
  }

  std::optional<Image> image = shoot(page);
  ASSERT_TRUE(image);
  const std::vector<Box> plot = regions(*image, rgb(colors::kHistoryPlot));
  ASSERT_EQ(plot.size(), 1u);
  const auto live = pixels_of(*image, plot[0], rgb(colors::kLive));
  const auto rss = pixels_of(*image, plot[0], rgb(colors::kRss));
  EXPECT_GT(live.size(), 500u);
  EXPECT_GT(rss.size(), 500u);
  EXPECT_LT(mean_row(live, plot[0], 0.9, 1.0), mean_row(live, plot[0], 0.0, 0.1));
  // The call site's own chart, drawn.
  const std::vector<Box> site_plots = regions(*image, rgb(colors::kSitePlot));
  ASSERT_GE(site_plots.size(), 1u);
  // A steep line is antialiased to few pixels of its exact colour (5 on a
  // busy machine, where the growth between snapshots is steeper): any
  // pixel near it says the line is drawn; an empty plot has none.
  const size_t site_line = pixels_of(*image, site_plots[0], rgb(colors::kSite), 40).size();
  ASSERT_GT(site_plots[0].bottom - site_plots[0].top, 40) << "the site plot is cut off by the screenshot's bottom";
  EXPECT_GT(site_line, 0u) << "site plot " << site_plots[0].right - site_plots[0].left << "x"
                           << site_plots[0].bottom - site_plots[0].top;

  // By name, over the same file: replaced whole, with a span that holds no
  // sample, so the plot is there and no line is in it.
  const int64_t later = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count() + 3600;
  Outcome empty = heapwatch_e2e::memproxyctl(daemon.table(), {"report", "mp-grower", "-o", page, "--since",
                                               "@" + std::to_string(later)});
  ASSERT_TRUE(empty.ok()) << empty.describe();
  EXPECT_NE(read_file(page).find(">no samples in this span<"), std::string::npos);
  image = shoot(page);
  ASSERT_TRUE(image);
  const std::vector<Box> empty_plot = regions(*image, rgb(colors::kHistoryPlot));
  ASSERT_EQ(empty_plot.size(), 1u);
  EXPECT_EQ(pixels_of(*image, empty_plot[0], rgb(colors::kLive)).size(), 0u);
  EXPECT_EQ(pixels_of(*image, empty_plot[0], rgb(colors::kRss)).size(), 0u);

  // Nowhere to write: exit 5, nothing left behind.
  const std::string nowhere = dir_ / "no-such-dir/grower.html";
  Outcome unwritable = heapwatch_e2e::memproxyctl(daemon.table(), {"report", pid, "-o", nowhere});
  EXPECT_EQ(unwritable.code, 5) << unwritable.describe();
  EXPECT_NE(unwritable.err.find("cannot write the report"), std::string::npos) << unwritable.err;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "no-such-dir"));
}

TEST(DaemonReportWithoutDaemon, NamesTheSocketAndWritesNothing) {
  memproxy::testing::TempDir dir;
  const std::string page = dir / "report.html";
  Outcome o = heapwatch_e2e::memproxyctl(dir / "nowhere/table", {"report", "1", "-o", page});
  EXPECT_EQ(o.code, 4) << o.describe();
  EXPECT_NE(o.err.find(dir / "nowhere/query.sock"), std::string::npos) << o.err;
  EXPECT_FALSE(std::filesystem::exists(page));
  Outcome usage = heapwatch_e2e::memproxyctl(dir / "nowhere/table", {"report", "1"});
  EXPECT_EQ(usage.code, 2) << usage.describe();
  Outcome bad_time = heapwatch_e2e::memproxyctl(dir / "nowhere/table", {"report", "1", "-o", page, "--since", "yesterday"});
  EXPECT_EQ(bad_time.code, 2) << bad_time.describe();
}

}  // namespace
