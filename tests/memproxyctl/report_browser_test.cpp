// The report as a browser draws it, without a daemon: a page made from
// made-up answers, screenshot by headless Chromium. The history chart's
// lines are in its plot area, each call site's chart has its line, rising
// for the growing site, and a site without snapshots has none.
#include <algorithm>

#include <gtest/gtest.h>

#include "browser.hpp"
#include "capability.hpp"
#include "report_html.hpp"
#include "report_test_data.hpp"
#include "temp_dir.hpp"

namespace {

namespace hq = memproxy::heap_query;
namespace data = report_test_data;
namespace colors = memproxyctl::report_colors;
using memproxy::testing::Box;
using memproxy::testing::Image;
using memproxy::testing::pixels_of;
using memproxy::testing::regions;
using memproxy::testing::rgb;

// The mean row of `pixels` whose column lies in [from, to) of `box`'s width.
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

class ReportBrowserTest : public ::testing::Test {
 protected:
  void SetUp() override { MEMPROXY_REQUIRE(memproxy::testing::missing_browser()); }

  Image shoot(const memproxyctl::ReportInput& input, int height) {
    const std::string page = dir_.write("report.html", memproxyctl::report_html(input));
    auto shot = memproxy::testing::screenshot(page, 1100, height, dir_.path());
    if (auto* why = std::get_if<std::string>(&shot)) {
      ADD_FAILURE() << *why;
      return {};
    }
    return std::get<Image>(shot);
  }

  memproxy::testing::TempDir dir_;
};

TEST_F(ReportBrowserTest, EveryCallSiteChartIsDrawnAndAnEmptyOneIsNot) {
  memproxyctl::ReportInput input;
  input.history = data::history(60);
  input.generated_unix_ns = data::kStart + 120 * data::kSecond;
  input.sites = data::sites(input.history, {data::site("grow_cache", "cache.c", 88, 20, 256 * 1024, true),
                                            data::site("load_config", "config.c", 12, 20, 0, false),
                                            data::site("just_seen", "seen.c", 5, 0, 0, false)});
  const Image image = shoot(input, 2000);
  ASSERT_GT(image.width, 0);

  const std::vector<Box> history = regions(image, rgb(colors::kHistoryPlot));
  ASSERT_EQ(history.size(), 1u);
  const auto live = pixels_of(image, history[0], rgb(colors::kLive));
  const auto rss = pixels_of(image, history[0], rgb(colors::kRss));
  EXPECT_GT(live.size(), 500u);
  EXPECT_GT(rss.size(), 500u);
  // Growing: the line is higher on the right than on the left.
  EXPECT_LT(mean_row(live, history[0], 0.9, 1.0), mean_row(live, history[0], 0.0, 0.1));

  const std::vector<Box> sites = regions(image, rgb(colors::kSitePlot));
  ASSERT_EQ(sites.size(), 3u);
  const auto growing = pixels_of(image, sites[0], rgb(colors::kSite));
  const auto flat = pixels_of(image, sites[1], rgb(colors::kSite));
  EXPECT_GT(growing.size(), 150u);
  EXPECT_GT(flat.size(), 150u);
  EXPECT_LT(mean_row(growing, sites[0], 0.9, 1.0), mean_row(growing, sites[0], 0.0, 0.1));
  EXPECT_NEAR(mean_row(flat, sites[1], 0.9, 1.0), mean_row(flat, sites[1], 0.0, 0.1), 1.0);
  EXPECT_EQ(pixels_of(image, sites[2], rgb(colors::kSite)).size(), 0u);
  // The site colour is the sites' charts' only.
  EXPECT_EQ(pixels_of(image, history[0], rgb(colors::kSite)).size(), 0u);
}

TEST_F(ReportBrowserTest, AnEmptyHistoryDrawsNoLine) {
  memproxyctl::ReportInput input;
  input.history = data::history(0);
  input.sites = std::string("memproxyd did not give them");
  const Image image = shoot(input, 1200);
  ASSERT_GT(image.width, 0);
  const std::vector<Box> history = regions(image, rgb(colors::kHistoryPlot));
  ASSERT_EQ(history.size(), 1u);
  EXPECT_GT(history[0].right - history[0].left, 600);
  EXPECT_EQ(pixels_of(image, history[0], rgb(colors::kLive)).size(), 0u);
  EXPECT_EQ(pixels_of(image, history[0], rgb(colors::kRss)).size(), 0u);
  EXPECT_TRUE(regions(image, rgb(colors::kSitePlot)).empty());
}

}  // namespace
