// The ld.so.preload model: parsing, and edits that touch only memproxy's entries.
#include "preload_file.hpp"

#include <gtest/gtest.h>

#include "allocator_entry.hpp"
#include "platform.hpp"

namespace memproxyctl {
namespace {

TEST(PreloadFile, EntriesFollowGlibcSyntax) {
  auto entries = preload_entries("# comment libmemproxy.so\n/a/liba.so:/b/libb.so  libc.so\n\t/c.so # tail\n");
  EXPECT_EQ(entries, (std::vector<std::string>{"/a/liba.so", "/b/libb.so", "libc.so", "/c.so"}));
}

TEST(PreloadFile, AnalysisFindsOrder) {
  auto good = analyze_preload("/usr/lib/libmemproxy.so\nlibjemalloc.so.2\n");
  EXPECT_TRUE(good.memproxy_present);
  EXPECT_TRUE(good.order_ok);
  auto bad = analyze_preload("libtcmalloc_minimal.so.4 /usr/$LIB/libmemproxy.so\n");
  EXPECT_TRUE(bad.memproxy_present);
  EXPECT_FALSE(bad.order_ok);
  auto original = analyze_preload("libmemproxy.so:libc.so.6:libmimalloc.so.2\n");
  EXPECT_TRUE(original.order_ok);
  EXPECT_EQ(original.allocator_entries, std::vector<std::string>{"libmimalloc.so.2"});
  auto commented = analyze_preload("# /usr/lib/libmemproxy.so\n");
  EXPECT_FALSE(commented.memproxy_present);
}

TEST(PreloadFile, RemoveKeepsForeignBytes) {
  const std::string text = "# keep me\n  /opt/libsnoop.so\t:x.so\n/usr/lib/libmemproxy.so\n\nlibjemalloc.so.2\n";
  EXPECT_EQ(remove_memproxy(text), "# keep me\n  /opt/libsnoop.so\t:x.so\n\nlibjemalloc.so.2\n");
}

TEST(PreloadFile, RemoveFromASharedLineKeepsTheRest) {
  EXPECT_EQ(remove_memproxy("/lib/libmemproxy.so:/lib/libjemalloc.so.2\n"), "/lib/libjemalloc.so.2\n");
  EXPECT_EQ(remove_memproxy("/lib/libmemproxy.so /x.so # note\n"), "/x.so # note\n");
  EXPECT_EQ(remove_memproxy("/lib/libmemproxy.so # note\n"), "# note\n");
}

TEST(PreloadFile, EnablePutsMemproxyBeforeTheFirstAllocatorLine) {
  EXPECT_EQ(enable_memproxy("# c\n/opt/libsnoop.so\nlibjemalloc.so.2\n", "/L/libmemproxy.so", ""),
            "# c\n/opt/libsnoop.so\n/L/libmemproxy.so\nlibjemalloc.so.2\n");
  EXPECT_EQ(enable_memproxy("", "/L/libmemproxy.so", "/A/libjemalloc.so.2"),
            "/L/libmemproxy.so\n/A/libjemalloc.so.2\n");
  // The allocator is not added twice, whatever path spells it.
  EXPECT_EQ(enable_memproxy("libjemalloc.so.2\n", "/L/libmemproxy.so", "/usr/lib/libjemalloc.so.2"),
            "/L/libmemproxy.so\nlibjemalloc.so.2\n");
  // Without an allocator line it goes last, and a misplaced one is moved.
  EXPECT_EQ(enable_memproxy("/x.so\n", "/L/libmemproxy.so", ""), "/x.so\n/L/libmemproxy.so\n");
  EXPECT_EQ(enable_memproxy("libjemalloc.so.2:/L/libmemproxy.so\n", "/L/libmemproxy.so", ""),
            "/L/libmemproxy.so\nlibjemalloc.so.2\n");
}

TEST(PreloadFile, EnableIsIdempotent) {
  const std::string once = enable_memproxy("libjemalloc.so.2\n", "/L/libmemproxy.so", "");
  EXPECT_EQ(enable_memproxy(once, "/L/libmemproxy.so", ""), once);
}

TEST(PreloadFile, JoinForLdPreload) {
  EXPECT_EQ(join_entries({"/a.so", "b.so"}), "/a.so:b.so");
  EXPECT_EQ(join_entries({}), "");
}

TEST(PreloadFile, RemoveEntriesTakesOnlyWhatIsSelected) {
  const std::string text = "# mine\n/L/libmemproxy.so:libjemalloc.so.2\n/opt/libsnoop.so\nlibjemalloc.so.2 # note\n";
  auto selected = [](const std::string& e) { return e == "libjemalloc.so.2"; };
  EXPECT_EQ(remove_entries(text, selected), "# mine\n/L/libmemproxy.so\n/opt/libsnoop.so\n# note\n");
}

TEST(PreloadFile, EnableUsesTheGivenAllocatorTest) {
  auto is_heap = [](const std::string& e) { return e == "/opt/libheap.so"; };
  EXPECT_EQ(enable_memproxy("/opt/libheap.so\n", "/L/libmemproxy.so", "", is_heap),
            "/L/libmemproxy.so\n/opt/libheap.so\n");
  EXPECT_EQ(analyze_preload("/opt/libheap.so /L/libmemproxy.so\n", is_heap).order_ok, false);
}

TEST(AllocatorEntry, ALibraryDefiningMallocIsOneWhateverItsName) {
  EXPECT_TRUE(defines_malloc(MEMPROXY_TEST_HEAP));
  EXPECT_TRUE(is_allocator_entry(MEMPROXY_TEST_HEAP));
  const std::string libm = locate_preload_entry("libm.so.6");
  ASSERT_FALSE(libm.empty());
  EXPECT_FALSE(defines_malloc(libm));
  EXPECT_FALSE(is_allocator_entry(libm));
}

TEST(AllocatorEntry, LibcAndLibmemproxyDefineMallocButAreNotAllocators) {
  const std::string libc = locate_preload_entry("libc.so.6");
  ASSERT_FALSE(libc.empty());
  EXPECT_TRUE(defines_malloc(libc)) << libc;
  EXPECT_FALSE(is_allocator_entry("libc.so.6"));
  EXPECT_FALSE(is_allocator_entry("/usr/$LIB/libmemproxy.so"));
}

TEST(AllocatorEntry, KnownNamesNeedNoFileAndOddFilesAreNotAllocators) {
  EXPECT_TRUE(is_allocator_entry("/nowhere/libjemalloc.so.2"));
  EXPECT_TRUE(is_allocator_entry("libtbbmalloc_proxy.so.2"));
  EXPECT_FALSE(is_allocator_entry("/nowhere/libsnoop.so"));
  EXPECT_FALSE(defines_malloc("/proc/self/status")) << "not ELF";
  EXPECT_FALSE(defines_malloc("/dev/null"));
  EXPECT_FALSE(defines_malloc("/"));
}

TEST(AllocatorEntry, LibTokenIsExpandedAsThe64BitLinkerDoes) {
  const std::string libc = locate_preload_entry("/usr/$LIB/libc.so.6");
  if (libc.empty()) GTEST_SKIP() << "no /usr/" << platform::kLibToken64 << "/libc.so.6 on this machine";
  EXPECT_EQ(libc, std::string("/usr/") + platform::kLibToken64 + "/libc.so.6");
  EXPECT_EQ(locate_preload_entry("/usr/${LIB}/libc.so.6"), libc);
  EXPECT_EQ(locate_preload_entry("$PLATFORM/libc.so.6"), "");
}

}  // namespace
}  // namespace memproxyctl
