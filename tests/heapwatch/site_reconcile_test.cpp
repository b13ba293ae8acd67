// One truth per process: the sites of a process judged stable are not
// growing, unless other sites shrink as much and are shown beside them.
#include <gtest/gtest.h>

#include <vector>

#include "heapwatch/analysis/site_views.hpp"

namespace memproxy::heapwatch {
namespace {

RankedSite site(uint64_t id, double bytes_per_hour, bool growing, bool shrinking) {
  RankedSite r;
  r.site.stack = {id};
  r.site.estimated_bytes = 1 << 20;
  r.growth.bytes_per_hour = bytes_per_hour;
  r.growth.growing = growing;
  r.growth.shrinking = shrinking;
  return r;
}

std::vector<RankedSite> cache_and_pool() {
  // A bounded cache filling while its pool drains.
  return {site(1, 17 << 20, true, false), site(2, 0, false, false), site(3, -(18 << 20), false, true)};
}

TEST(SiteReconcile, InAStableProcessNoSiteGrowsUnlessAnotherShrinksAsMuch) {
  std::vector<RankedSite> alone = {site(1, 17 << 20, true, false), site(2, 0, false, false)};
  reconcile_with_verdict(alone, VerdictState::stable);
  for (const RankedSite& r : alone) EXPECT_FALSE(r.growth.growing) << r.site.stack[0];

  std::vector<RankedSite> too_little = {site(1, 20 << 20, true, false), site(2, -(14 << 20), false, true)};
  reconcile_with_verdict(too_little, VerdictState::stable);
  for (const RankedSite& r : too_little) {
    EXPECT_FALSE(r.growth.growing) << r.site.stack[0];
    EXPECT_FALSE(r.growth.shrinking) << r.site.stack[0];
  }
}

TEST(SiteReconcile, AnOffsetGrowthIsShownWithWhatOffsetsIt) {
  std::vector<RankedSite> sites = cache_and_pool();
  reconcile_with_verdict(sites, VerdictState::stable);
  ASSERT_EQ(sites.size(), 3u);
  EXPECT_EQ(sites[0].site.stack[0], 1u);
  EXPECT_TRUE(sites[0].growth.growing);
  EXPECT_TRUE(sites[2].growth.shrinking);
}

// A migration measured by samples: the shrinking site's slope a little
// under the growing one's still offsets it.
TEST(SiteReconcile, AnOffsetWithinTheEstimatesErrorIsAnOffset) {
  std::vector<RankedSite> sites = {site(1, 20 << 20, true, false), site(2, -(16 << 20), false, true)};
  reconcile_with_verdict(sites, VerdictState::stable);
  EXPECT_TRUE(sites[0].growth.growing);
  EXPECT_TRUE(sites[1].growth.shrinking);
}

TEST(SiteReconcile, AGrowingOrUnjudgedProcessKeepsItsSitesGrowth) {
  for (VerdictState state : {VerdictState::growing, VerdictState::not_judged}) {
    std::vector<RankedSite> sites = cache_and_pool();
    reconcile_with_verdict(sites, state);
    EXPECT_TRUE(sites[0].growth.growing);
    EXPECT_FALSE(sites[2].growth.shrinking) << "shrinking is shown only beside what it offsets";
  }
}

TEST(SiteReconcile, TheGrowingStayFirst) {
  std::vector<RankedSite> sites = {site(2, -(20 << 20), false, true), site(1, 17 << 20, true, false)};
  reconcile_with_verdict(sites, VerdictState::stable);
  EXPECT_EQ(sites[0].site.stack[0], 1u);
  EXPECT_TRUE(sites[0].growth.growing);
}

}  // namespace
}  // namespace memproxy::heapwatch
