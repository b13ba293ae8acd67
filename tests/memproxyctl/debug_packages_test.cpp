// A site's object without debug information is named with the package that
// installed it and the debug package to install, from dpkg-query -S: the
// test's own libc, as /proc/PID/maps names it (the resolved /usr path on a
// merged-/usr host, which dpkg lists under /lib).
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "debug_packages.hpp"
#include "run_program.hpp"

namespace {

using namespace memproxyctl;
namespace hq = memproxy::heap_query;

constexpr const char* kDpkgQuery = "/usr/bin/dpkg-query";

hq::FrameView frame(const std::string& object, const std::string& function, const std::string& file) {
  hq::FrameView f;
  f.address = 0x7f0000001000;
  f.object = object;
  f.object_offset = 0x1000;
  f.function = function;
  f.file = file;
  return f;
}

hq::SitesAnswer answer(std::vector<std::vector<hq::FrameView>> stacks) {
  hq::SitesAnswer a;
  for (auto& frames : stacks) {
    hq::SiteView s;
    s.frames = std::move(frames);
    a.sites.push_back(std::move(s));
  }
  return a;
}

// The path this process's libc is mapped from, as the kernel names it.
std::string mapped_libc() {
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);) {
    const size_t path = line.find('/');
    if (path != std::string::npos && line.ends_with("/libc.so.6")) return line.substr(path);
  }
  return "";
}

TEST(DebugPackages, MergedUsrAliases) {
  EXPECT_EQ(merged_usr_alias("/usr/lib/x86_64-linux-gnu/libc.so.6"), "/lib/x86_64-linux-gnu/libc.so.6");
  EXPECT_EQ(merged_usr_alias("/lib/x86_64-linux-gnu/libc.so.6"), "/usr/lib/x86_64-linux-gnu/libc.so.6");
  EXPECT_EQ(merged_usr_alias("/usr/sbin/sshd"), "/sbin/sshd");
  EXPECT_EQ(merged_usr_alias("/usr/libexec/x"), "");
  EXPECT_EQ(merged_usr_alias("/opt/app/lib/libx.so"), "");
}

TEST(DebugPackages, OnlyObjectsWithNoFileAnywhereAndPlainAbsolutePathsAreLookedUp) {
  const hq::SitesAnswer a = answer({{frame("/usr/lib/libsqlite3.so.0.8.6", "", ""),
                                     frame("/usr/bin/app", "main", "/src/main.c")},
                                    {frame("/usr/bin/app", "start", ""), frame("/usr/lib/libpython3.11.so", "f", ""),
                                     frame("relative/libx.so", "", ""), frame("/tmp/lib[a]*.so", "", ""),
                                     frame("/tmp/evil\n.so", "", ""), frame("", "", "")}});
  EXPECT_EQ(objects_without_debug_info(a),
            (std::vector<std::string>{"/usr/lib/libsqlite3.so.0.8.6", "/usr/lib/libpython3.11.so"}));
  EXPECT_EQ(objects_without_debug_info(a, 1), std::vector<std::string>{"/usr/lib/libsqlite3.so.0.8.6"});
}

TEST(DebugPackages, LibcWithoutDebugInfoNamesItsPackage) {
  if (::access(kDpkgQuery, X_OK) != 0) GTEST_SKIP() << kDpkgQuery << " is not installed (not a dpkg system)";
  if (run_program({kDpkgQuery, "-W", "libc6"}, {}).exit_status != 0) GTEST_SKIP() << "libc6 is not a dpkg package here";
  const std::string libc = mapped_libc();
  ASSERT_NE(libc, "");
  const hq::SitesAnswer a =
      answer({{frame(libc, "", ""), frame("/usr/bin/app", "main", "/src/main.c")}, {frame("/nonexistent/libnone.so", "", "")}});
  const std::vector<std::string> hints = debug_package_hints(a, kDpkgQuery);
  ASSERT_EQ(hints.size(), 1u) << ::testing::PrintToString(hints);
  EXPECT_EQ(hints[0], "no debug info for " + libc + " (package libc6): apt-get install libc6-dbgsym (Debian's debug "
                      "archive) or libc6-dbg");

  // An object with file:line in some frame has its debug info.
  const hq::SitesAnswer described = answer({{frame(libc, "malloc", ""), frame(libc, "__libc_start_main", "/src/x.c")}});
  EXPECT_EQ(debug_package_hints(described, kDpkgQuery), std::vector<std::string>{});
  // Without the symbolizer's answer nothing is known of the objects.
  hq::SitesAnswer unsymbolized = a;
  unsymbolized.symbols_error = "the symbolizer did not answer within 5000 ms";
  EXPECT_EQ(debug_package_hints(unsymbolized, kDpkgQuery), std::vector<std::string>{});
}

TEST(DebugPackages, NoHintWithoutDpkgQuery) {
  const hq::SitesAnswer a = answer({{frame(mapped_libc(), "", "")}});
  EXPECT_EQ(debug_package_hints(a, "/nonexistent/dpkg-query"), std::vector<std::string>{});
}

}  // namespace
