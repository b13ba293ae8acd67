// What the library pulls into every process: libc and the loader, nothing
// else; and what it dirties: its mutable state and the arena's first bytes
// in one page.
#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include "harness.hpp"

namespace mptest {
namespace {

// Reading the library needs only that it was built; running it needs more.
class Linkage : public testing::TestWithParam<Arch> {
 protected:
  void SetUp() override { MEMPROXY_REQUIRE(GetParam().missing_build); }
};

TEST_P(Linkage, NeedsOnlyLibc) {
  Result r = run({"/usr/bin/readelf", "-d", GetParam().lib}, {"PATH=/usr/bin:/bin", "LC_ALL=C"});
  ASSERT_TRUE(r.exited && r.code == 0) << r.describe();
  std::regex needed(R"(\(NEEDED\)\s+Shared library: \[([^\]]+)\])");
  std::vector<std::string> libs;
  for (std::sregex_iterator it(r.out.begin(), r.out.end(), needed), end; it != end; ++it) libs.push_back((*it)[1]);
  EXPECT_EQ(libs, std::vector<std::string>{"libc.so.6"}) << r.out;
}

TEST_P(Linkage, LddShowsOnlyLibcAndLoader) {
  MEMPROXY_REQUIRE(GetParam().missing_execution());  // ldd runs the bitness's loader
  Result r = run({"/usr/bin/ldd", GetParam().lib}, {"PATH=/usr/bin:/bin", "LC_ALL=C"});
  ASSERT_TRUE(r.exited && r.code == 0) << r.describe();
  std::istringstream in(r.out);
  std::string line;
  int libc = 0;
  while (std::getline(in, line)) {
    if (line.find("linux-vdso") != std::string::npos || line.find("linux-gate") != std::string::npos) continue;
    if (line.find("libc.so.6") != std::string::npos) {
      ++libc;
      continue;
    }
    EXPECT_NE(line.find("ld-linux"), std::string::npos) << "unexpected dependency: " << line;
  }
  EXPECT_EQ(libc, 1) << r.out;
}

TEST_P(Linkage, CProgramUnderPreloadDoesNotMapLibstdcxx) {
  const Arch& a = GetParam();
  MEMPROXY_REQUIRE(a.missing_execution());
  Result r = run({a.probe, "maps"}, env_with(a.lib, "", false));
  ASSERT_TRUE(r.exited && r.code == 0) << r.describe();
  auto kv = parse(r.out);
  EXPECT_EQ(kv["libmemproxy"], "1");
  EXPECT_EQ(kv["libstdcxx"], "0");
}

TEST_P(Linkage, ExportsTheWholeAbi) {
  Result r = run({"/usr/bin/nm", "-D", "--defined-only", GetParam().lib}, {"PATH=/usr/bin:/bin", "LC_ALL=C"});
  ASSERT_TRUE(r.exited && r.code == 0) << r.describe();
  const bool is64 = GetParam().name == "64";
  const std::string z = is64 ? "m" : "j";
  std::vector<std::string> symbols{"malloc", "calloc", "realloc", "reallocarray", "free", "aligned_alloc", "memalign",
                                   "posix_memalign", "valloc", "pvalloc", "malloc_usable_size", "__libc_malloc",
                                   "__libc_calloc", "__libc_realloc", "__libc_free", "__libc_memalign", "__libc_valloc",
                                   "__libc_pvalloc", "memproxy_backend", "dlopen",
                                   "_Znw" + z, "_Zna" + z, "_Znw" + z + "RKSt9nothrow_t", "_Zna" + z + "RKSt9nothrow_t",
                                   "_Znw" + z + "St11align_val_t", "_Zna" + z + "St11align_val_t",
                                   "_Znw" + z + "St11align_val_tRKSt9nothrow_t", "_Zna" + z + "St11align_val_tRKSt9nothrow_t",
                                   "_ZdlPv", "_ZdaPv", "_ZdlPv" + z, "_ZdaPv" + z, "_ZdlPvRKSt9nothrow_t",
                                   "_ZdaPvRKSt9nothrow_t", "_ZdlPvSt11align_val_t", "_ZdaPvSt11align_val_t",
                                   "_ZdlPv" + z + "St11align_val_t", "_ZdaPv" + z + "St11align_val_t",
                                   "_ZdlPvSt11align_val_tRKSt9nothrow_t", "_ZdaPvSt11align_val_tRKSt9nothrow_t"};
  for (const auto& s : symbols) {
    EXPECT_TRUE(std::regex_search(r.out, std::regex(" T " + s + "\n"))) << s;
  }
}

// state.hpp: every mutable variable lives in .data, .data fits in one page,
// and .bss holds only the bootstrap arena, which starts in that same page.
// On x86-64 one page lies apart after .bss, in .lbss: the trace switch's,
// page-aligned and alone in its section.
TEST_P(Linkage, MutableStateAndArenaStartShareOnePage) {
  const std::vector<std::string> env{"PATH=/usr/bin:/bin", "LC_ALL=C"};
  Result sections = run({"/usr/bin/readelf", "-SW", GetParam().lib}, env);
  ASSERT_TRUE(sections.exited && sections.code == 0) << sections.describe();
  std::smatch m;
  ASSERT_TRUE(std::regex_search(sections.out, m, std::regex(R"( \.data\s+PROGBITS\s+([0-9a-f]+) [0-9a-f]+ ([0-9a-f]+))")))
      << sections.out;
  unsigned long long data = std::stoull(m[1], nullptr, 16), data_size = std::stoull(m[2], nullptr, 16);
  const unsigned long long page = 4096;
  EXPECT_EQ(data / page, (data + data_size - 1) / page) << ".data spans pages: " << m[0];

  Result symbols = run({"/usr/bin/nm", "-S", GetParam().lib}, env);
  ASSERT_TRUE(symbols.exited && symbols.code == 0) << symbols.describe();
  std::regex bss_symbol(R"(([0-9a-f]+) [0-9a-f]+ [bB] (\S+))");
  int arenas = 0;
  for (std::sregex_iterator it(symbols.out.begin(), symbols.out.end(), bss_symbol), end; it != end; ++it) {
    std::string name = (*it)[2];
    if (name == "completed.0") continue;  // crtstuff's, one byte before the arena
    if (name.find("g_trace_switch_page") != std::string::npos) continue;  // below
    EXPECT_NE(name.find("arena"), std::string::npos) << "mutable variable in .bss, not .data: " << name;
    if (name.find("g_storage") != std::string::npos) {
      ++arenas;
      EXPECT_EQ(std::stoull((*it)[1], nullptr, 16) / page, data / page) << "the arena does not start in the state page";
    }
  }
  EXPECT_EQ(arenas, 1) << symbols.out;

  // The trace switch's page: GCC makes its section NOBITS, clang 14
  // PROGBITS (4 KiB of zeros in the file, a segment of its own); either
  // way page-aligned and alone in .lbss.
  std::smatch sw;
  const bool has_switch =
      std::regex_search(symbols.out, sw, std::regex(R"(([0-9a-f]+) 0*1000 [bBdD] \S*g_trace_switch_page)"));
  EXPECT_EQ(has_switch, GetParam().name == "64") << symbols.out;
  if (has_switch) {
    EXPECT_EQ(std::stoull(sw[1], nullptr, 16) % page, 0u) << "the trace switch's page is not page-aligned";
    EXPECT_TRUE(std::regex_search(sections.out, std::regex(R"( \.lbss\s+(NOBITS|PROGBITS)\s+0*)" + std::string(sw[1]) +
                                                               R"( [0-9a-f]+ 0*1000 )")))
        << "the trace switch's page is not alone in .lbss: " << sections.out;
  }
}

INSTANTIATE_TEST_SUITE_P(Both, Linkage, testing::ValuesIn(arches()), arch_name);

}  // namespace
}  // namespace mptest
