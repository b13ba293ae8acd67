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

// Two stacks that reach one named function through different unnamed
// frames further out get different labels: the frame where each parts
// from the other, as object+offset; a stack alike in every frame is
// numbered. The table and the report show the labels so told apart.
TEST(SiteName, StacksThatDifferOnlyInUnnamedFramesGetDifferentLabels) {
  const hq::FrameView named = in("/usr/lib/libsqlite3.so.0", "sqlite3Malloc", 0x7f00000b0010);
  const hq::FrameView from_insert = in("/usr/lib/libsqlite3.so.0", "", 0x7f00000a7504);
  const hq::FrameView from_update = in("/usr/lib/libsqlite3.so.0", "", 0x7f00000a8800);
  const hq::FrameView main_frame = in("/usr/bin/app", "main", 0x402000);
  const hq::FrameView other = in("/usr/bin/app", "Cache::fill", 0x401234);
  const hq::History h = data::history(3);
  hq::SitesAnswer a = data::sites(h, {behind_the_allocator({named, from_insert, main_frame}),
                                      behind_the_allocator({named, from_update, main_frame}),
                                      behind_the_allocator({other, main_frame}),
                                      behind_the_allocator({named, from_update, main_frame})});
  ASSERT_EQ(site_label(a.sites[0]), site_label(a.sites[1]));
  const std::vector<std::string> suffixes = label_suffixes(a.sites);
  ASSERT_EQ(suffixes.size(), 4u);
  EXPECT_EQ(suffixes[0], " [libsqlite3.so.0+0x7504]");
  EXPECT_EQ(suffixes[1], " [libsqlite3.so.0+0x8800]");
  EXPECT_EQ(suffixes[2], "");
  EXPECT_EQ(suffixes[3], " [libsqlite3.so.0+0x8800] #2");

  const std::vector<std::string> table = site_lines(a, false, 200);
  EXPECT_TRUE(table.at(2).ends_with("  sqlite3Malloc [libsqlite3.so.0+0x7504]")) << table.at(2);
  EXPECT_TRUE(table.at(3).ends_with("  sqlite3Malloc [libsqlite3.so.0+0x8800]")) << table.at(3);
  EXPECT_TRUE(table.at(4).ends_with("  Cache::fill")) << table.at(4);
  const std::string html = report_html(ReportInput{h, a, 0, 0});
  EXPECT_NE(html.find("<div class=\"code function\">sqlite3Malloc [libsqlite3.so.0+0x7504]</div>"), std::string::npos);
  EXPECT_NE(html.find("<div class=\"code function\">sqlite3Malloc [libsqlite3.so.0+0x8800]</div>"), std::string::npos);

  // A site named by the naming frame's own call site: two calls in one
  // function, the same callers.
  hq::FrameView second_call = named;
  second_call.address += 0x40;
  second_call.object_offset += 0x40;
  a = data::sites(h, {behind_the_allocator({named, main_frame}), behind_the_allocator({second_call, main_frame})});
  EXPECT_EQ(label_suffixes(a.sites), (std::vector<std::string>{" [libsqlite3.so.0+0x10]", " [libsqlite3.so.0+0x50]"}));
}

// A narrow terminal cuts a long name, never the state after it.
TEST(SiteName, ANarrowTableCutsTheNameAndKeepsTheState) {
  hq::FrameView deep = in("/usr/lib/x86_64-linux-gnu/libsqlite3.so.0", "sqlite3VdbeMemGrowWithAVeryLongNameIndeed",
                          0x7f0000007504);
  hq::SitesAnswer a = data::sites(data::history(3), {behind_the_allocator({deep})});
  a.sites[0].growing = true;
  const std::vector<std::string> wide = site_lines(a, false, 200);
  EXPECT_TRUE(wide.at(2).ends_with("  sqlite3VdbeMemGrowWithAVeryLongNameIndeed  [growing]")) << wide.at(2);
  const std::vector<std::string> narrow = site_lines(a, false, 60);
  EXPECT_EQ(narrow.at(2).size(), 60u) << narrow.at(2);
  EXPECT_TRUE(narrow.at(2).ends_with("  [growing]")) << narrow.at(2);
  EXPECT_NE(narrow.at(2).find("  sqlite3"), std::string::npos) << narrow.at(2);
}

// The text and the report call a site's state by the same words.
TEST(SiteName, TheTableAndTheReportSayTheSameState) {
  hq::FrameView frame = in("/usr/bin/server", "Cache::fill", 0x401000);
  hq::SitesAnswer a = data::sites(data::history(3), {behind_the_allocator({frame}), behind_the_allocator({frame})});
  a.sites[1].frames[0].address += 0x40;
  a.sites[0].growing = true;
  a.sites[1].shrinking = true;
  const std::vector<std::string> lines = site_lines(a, false, 200);
  EXPECT_TRUE(lines.at(2).ends_with("  [growing]")) << lines.at(2);
  EXPECT_TRUE(lines.at(3).ends_with("  [shrinking]")) << lines.at(3);
  const std::string html = report_html(ReportInput{data::history(3), a, 0, 0});
  EXPECT_NE(html.find("<td><span class=\"flag\">growing</span></td>"), std::string::npos) << html;
  EXPECT_NE(html.find("<td><span>shrinking</span></td>"), std::string::npos) << html;
  a.sites[1].shrinking = false;
  EXPECT_NE(report_html(ReportInput{data::history(3), a, 0, 0}).find("<td><span>stable</span></td>"), std::string::npos);
}

TEST(SiteName, EveryOutputNamesTheSiteTheSameWay) {
  const hq::SitesAnswer a = answer();
  const std::vector<std::string> table = site_lines(a, false, 200);
  const std::vector<std::string> stacks = site_lines(a, true, 200);
  const std::string folded = collapsed_stacks(a);
  std::vector<std::string> folded_lines;
  for (size_t start = 0, end; (end = folded.find('\n', start)) != std::string::npos; start = end + 1) {
    folded_lines.push_back(folded.substr(start, end - start));
  }
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
    // The site's folded line (root first, the allocator's frames left out)
    // holds the naming frame as one of its frames.
    const std::string line = folded_lines.at(i).substr(0, folded_lines.at(i).rfind(' '));
    EXPECT_NE((";" + line + ";").find(";" + name + ";"), std::string::npos) << folded;
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
