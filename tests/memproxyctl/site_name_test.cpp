// One rule names a call site: its innermost frame outside the allocator
// and memproxy, by function, else by object+offset. The leaks table, its
// --stack form, the folded stacks, the pprof profile and the HTML report
// all name a site behind operator new, libmemproxy and jemalloc, and a
// site whose code has no symbols, the same way.
#include <gtest/gtest.h>

#include "report_html.hpp"
#include "report_test_data.hpp"
#include "site_collapsed.hpp"
#include "site_name.hpp"
#include "site_pprof.hpp"
#include "site_text.hpp"

namespace {

using namespace memproxyctl;
namespace hq = memproxy::heap_query;
namespace data = report_test_data;

hq::FrameView in(const std::string& object, const std::string& function, uint64_t address) {
  hq::FrameView f;
  f.address = address;
  f.function = function;
  f.object = object;
  f.object_offset = address & 0xffff;
  return f;
}

// The allocator's frames, innermost first, over `code`.
hq::SiteView behind_the_allocator(std::vector<hq::FrameView> code) {
  hq::SiteView s;
  s.frames = {in("/usr/lib/x86_64-linux-gnu/libjemalloc.so.2", "je_malloc_default", 0x7f0000001000),
              in("/usr/lib/libmemproxy.so", "malloc", 0x7f0000002000),
              in("/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "operator new(unsigned long)", 0x7f0000003000)};
  s.frames.insert(s.frames.end(), code.begin(), code.end());
  s.estimated_bytes = 4096;
  s.estimated_blocks = 1;
  s.samples = 1;
  return s;
}

hq::SitesAnswer answer() {
  hq::FrameView named = in("/usr/bin/app", "Cache::fill", 0x401234);
  named.file = "/src/cache.cc";
  named.line = 42;
  hq::FrameView unnamed = in("/usr/lib/libplugin.so", "", 0x7f0000005678);
  const hq::History h = data::history(3);
  hq::SitesAnswer a = data::sites(h, {behind_the_allocator({named, in("/usr/bin/app", "main", 0x402000)}),
                                      behind_the_allocator({unnamed, in("/usr/bin/app", "main", 0x402000)})});
  return a;
}

TEST(SiteName, TheAllocatorAndMemproxyNeverNameASite) {
  const hq::SitesAnswer a = answer();
  EXPECT_EQ(naming_frame(a.sites[0]), 3u);
  EXPECT_EQ(site_label(a.sites[0]), "Cache::fill");
  // The plugin's frame has no name: its caller names the site.
  EXPECT_EQ(site_label(a.sites[1]), "main");
  for (const char* f : {"__libc_malloc", "_int_malloc", "operator delete(void*)", "mi_malloc", "tc_new",
                        "tcmalloc::allocate_full_malloc_oom", "je_calloc"}) {
    EXPECT_TRUE(allocator_frame(in("/usr/bin/app", f, 1))) << f;
  }
  EXPECT_FALSE(allocator_frame(in("/usr/bin/app", "mallocate_buffers", 1)));
}

// A stripped library's static function has no name; its named caller
// names the site, and a stack with no named frame outside the allocator
// is named by its innermost frame outside it.
TEST(SiteName, AFrameWithoutANameLeavesTheSiteToItsNamedCaller) {
  const hq::FrameView stripped = in("/usr/lib/libsqlite3.so.0", "", 0x7f00000a7504);
  const hq::FrameView named = in("/usr/lib/libsqlite3.so.0", "sqlite3BtreeInsert", 0x7f00000b0000);
  const hq::History h = data::history(3);
  hq::SitesAnswer a = data::sites(h, {behind_the_allocator({stripped, named, in("/usr/bin/app", "main", 0x402000)}),
                                      behind_the_allocator({stripped})});
  EXPECT_EQ(site_label(a.sites[0]), "sqlite3BtreeInsert");
  EXPECT_EQ(site_label(a.sites[1]), "libsqlite3.so.0+0x7504");
}

TEST(SiteName, EveryOutputNamesTheSiteTheSameWay) {
  const hq::SitesAnswer a = answer();
  const std::vector<std::string> table = site_lines(a, false, 200);
  const std::vector<std::string> stacks = site_lines(a, true, 200);
  const std::string folded = collapsed_stacks(a);
  const perftools::profiles::Profile profile = pprof_profile(a);
  const std::string html = report_html(ReportInput{data::history(3), a, 0, 0});
  for (size_t i = 0; i < a.sites.size(); ++i) {
    const std::string name = site_label(a.sites[i]);
    SCOPED_TRACE(name);
    EXPECT_TRUE(table[2 + i].ends_with("  " + name) || table[2 + i].find("  " + name + " (") != std::string::npos)
        << table[2 + i];
    bool in_stacks = false;
    for (const std::string& line : stacks) in_stacks |= line.find("-  " + name) != std::string::npos;
    EXPECT_TRUE(in_stacks);
    EXPECT_TRUE(folded.find(";" + name + ";") != std::string::npos || folded.find("\n" + name + ";") != std::string::npos ||
                folded.rfind(name + ";", 0) == 0)
        << folded;
    EXPECT_NE(html.find("<div class=\"code function\">" + name + "</div>"), std::string::npos) << html;
    // pprof: the location of the naming frame's address carries the name.
    const uint64_t address = a.sites[i].frames[naming_frame(a.sites[i])].address;
    bool in_profile = false;
    for (const auto& location : profile.location()) {
      if (location.address() != address) continue;
      for (const auto& line : location.line()) {
        for (const auto& function : profile.function()) {
          if (function.id() == line.function_id()) {
            in_profile |= profile.string_table(static_cast<int>(function.name())) == name;
          }
        }
      }
    }
    EXPECT_TRUE(in_profile);
  }
}

}  // namespace
