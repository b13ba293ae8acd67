// Threads and forks during start-up, corrupted tables, setuid, RTLD_DEEPBIND,
// and the C++ new_handler contract.
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <tuple>

#include "harness.hpp"
#include "staged.hpp"

namespace mptest {
namespace {

// Every test here preloads jemalloc behind memproxy at least once.
class Robustness : public RunsArch {
 protected:
  std::string needs() const override { return a.missing(backend("jemalloc")); }
  TempDir dir;
};

// 16 threads allocate from a constructor before main while main forks
// allocating children; every run is bounded, so a deadlock fails the test.
TEST_P(Robustness, ThreadStormBeforeMainWithForks) {
  std::string open = make_table(dir, "some-other-program\n");
  std::string excluded = make_table(dir, "mp-probe\nmp-probe32\n");
  // Debian's i386 jemalloc 5.3 itself deadlocks in a forked child now and then
  // under this storm, preloaded alone too (a child blocks in a jemalloc mutex
  // after fork); the 32-bit runs therefore route to the system allocator.
  const bool custom_runs = a.name == "64";
  const int runs = 200;
  int failures = 0;
  for (int i = 0; i < runs && failures < 3; ++i) {
    auto env = env_with(a.lib + ":" + a.jemalloc(), custom_runs && i % 2 == 0 ? open : excluded, false);
    env.push_back("MP_PROBE_STORM=1");
    Result r = run({a.probe, "storm"}, env, 60);
    if (!(r.exited && r.code == 0) || r.out.find("storm failed=0") == std::string::npos) {
      ++failures;
      ADD_FAILURE() << "run " << i << ": " << r.describe();
    }
  }
  EXPECT_EQ(failures, 0);
}

// Every corrupted table still lets the program run, on the system allocator:
// the intact table excludes the probe, so a corruption the lookup does not
// touch gives the same answer, and one it touches trips the fail policy.
TEST_P(Robustness, ThousandCorruptedTablesRunOnSystem) {
  std::string base_name = a.probe.substr(a.probe.rfind('/') + 1);
  std::string intact = make_table(dir, "alpha\nbeta\n" + base_name + "\n/usr/bin/gamma\n");
  std::ifstream in(intact, std::ios::binary);
  std::string image((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GE(image.size(), 4096u);
  std::mt19937 rng(20261121);
  const int tables = GetParam().name == "64" ? 1000 : 250;
  int detected = 0;
  std::string table = dir.file("corrupt");
  for (int i = 0; i < tables; ++i) {
    std::string bad = image;
    switch (i % 4) {
      case 0:  // a few random bytes anywhere
        for (int k = 0, n = 1 + static_cast<int>(rng() % 4); k < n; ++k) bad[rng() % bad.size()] = static_cast<char>(rng());
        break;
      case 1:  // a byte in the header block
        bad[rng() % 4096] ^= static_cast<char>(1 + rng() % 255);
        break;
      case 2:  // truncated
        bad.resize(rng() % bad.size());
        break;
      default:  // a whole random 64-byte run
        for (size_t at = rng() % (bad.size() - 64), k = 0; k < 64; ++k) bad[at + k] = static_cast<char>(rng());
        break;
    }
    std::ofstream(table, std::ios::binary | std::ios::trunc) << bad;
    Result r = run({a.probe, "route"}, env_with(a.lib + ":" + a.jemalloc(), table), 60);
    ASSERT_TRUE(r.exited && r.code == 0) << "table " << i << ": " << r.describe();
    auto kv = parse(r.out);
    ASSERT_EQ(kv["backend"], "system") << "table " << i << ": " << r.err;
    ASSERT_EQ(number(kv, "je_delta"), 0) << "table " << i;
    ASSERT_GE(number(kv, "glibc_delta"), 64000) << "table " << i;
    if (r.err.find("reason=excluded by entry") == std::string::npos) ++detected;
  }
  RecordProperty("corruptions_detected", detected);
  EXPECT_GT(detected, tables / 2);
}

// One test per bitness and backend ("system": memproxy alone, routing to glibc).
using DeepbindCase = std::tuple<Arch, std::string>;
class Deepbind : public testing::TestWithParam<DeepbindCase> {
 protected:
  void SetUp() override {
    MEMPROXY_REQUIRE(name() == "system" ? a().missing_execution() : a().missing(backend(name())));
  }
  const Arch& a() const { return std::get<0>(GetParam()); }
  const std::string& name() const { return std::get<1>(GetParam()); }
};

// Monitored too: a counted free must leave libc's blocks to libc before it
// sizes them as the backend's.
TEST_P(Deepbind, LibraryBlocksFreedByTheProgram) {
  TempDir dir;
  const bool system = name() == "system";
  std::string preload = system ? a().lib : a().lib + ":" + a().path(backend(name()));
  // The system allocator has no foreign blocks: libc's are its own.
  const std::vector<std::string> configs =
      system ? std::vector<std::string>{""}
             : std::vector<std::string>{"some-other-program\n", "[monitor]\nmp-probe\nmp-probe32\n"};
  for (const std::string& config : configs) {
    SCOPED_TRACE(config);
    Result r = run({a().probe, "deepbind", a().deeplib}, env_with(preload, config.empty() ? "" : make_table(dir, config)), 60);
    ASSERT_TRUE(r.exited && r.code == 0) << r.describe();
    EXPECT_NE(r.out.find("library_uses_libc_malloc=1"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("deepbind ok=4000 backend=" + std::string(system ? "system" : "custom:")), std::string::npos)
        << r.out;
    EXPECT_EQ(r.err.find("monitored=1") != std::string::npos, config.find("[monitor]") != std::string::npos) << r.err;
  }
}

std::vector<std::string> deepbind_backends() {
  std::vector<std::string> names{"system"};
  for (const Backend& b : custom_backends()) names.push_back(b.name);
  return names;
}

INSTANTIATE_TEST_SUITE_P(Every, Deepbind,
                         testing::Combine(testing::ValuesIn(arches()), testing::ValuesIn(deepbind_backends())),
                         [](const testing::TestParamInfo<DeepbindCase>& info) {
                           return "bits" + std::get<0>(info.param).name + "_" + std::get<1>(info.param);
                         });

TEST_P(Robustness, NewHandlerLoopAndBadAlloc) {
  std::string open = make_table(dir, "some-other-program\n");
  for (const std::string& preload : {std::string(), a.lib, a.lib + ":" + a.jemalloc()}) {
    Result r = run({a.probe_cxx, "newhandler"}, env_with(preload, open, false));
    ASSERT_TRUE(r.exited && r.code == 0) << preload << ": " << r.describe();
    EXPECT_NE(r.out.find("caught=1 handler_calls=3"), std::string::npos) << preload << ": " << r.out;
    EXPECT_NE(r.out.find("nothrow_null=1"), std::string::npos) << preload << ": " << r.out;
    EXPECT_NE(r.out.find("caught_aligned=1"), std::string::npos) << preload << ": " << r.out;
  }
}

// libmemproxy interposes dlopen (deepbind.hpp) and must stay invisible to
// glibc's caller-dependent search: a bare name found only through the
// program's RUNPATH still loads.
TEST_P(Robustness, DlopenStillSeesTheProgramAsCaller) {
  std::string open = make_table(dir, "some-other-program\n");
  std::string bare = "lib" + a.deeplib.substr(a.deeplib.rfind("/lib") + 4);
  for (const std::string& preload : {a.lib, a.lib + ":" + a.jemalloc()}) {
    Result r = run({a.probe, "deepbind", bare}, env_with(preload, open), 60);
    ASSERT_TRUE(r.exited && r.code == 0) << preload << ": " << r.describe();
    EXPECT_NE(r.out.find("deepbind ok=4000"), std::string::npos) << r.out;
  }
}

INSTANTIATE_TEST_SUITE_P(Both, Robustness, testing::ValuesIn(arches()), arch_name);

// Blocks that an allocator's constructor got from the bootstrap arena while
// the decision dlopened it are freed, realloc'ed and sized afterwards, and
// never reach that allocator (bootlib.c aborts if one does).
TEST(BootstrapArena, BlocksMadeDuringTheDecisionNeverReachTheBackend) {
  TempDir dir;
  Arch a = arches()[0];
  Result r = run({a.probe, "bootblocks", MP_BOOTLIB64},
                 env_with(a.lib, make_table(dir, "some-other-program\n", MP_BOOTLIB64)), 60);
  ASSERT_TRUE(r.exited && r.code == 0) << r.describe();
  EXPECT_NE(r.out.find("bootblocks ok=19 backend=custom:" + std::string(MP_BOOTLIB64)), std::string::npos) << r.out;
}

// AT_SECURE: run as root a copy of the probe that is setuid to nobody (ruid 0,
// euid nobody). LD_PRELOAD paths are ignored for such a program, so this probe
// has libmemproxy as DT_NEEDED. The loader opens it as nobody, and a setuid
// program ignores LD_LIBRARY_PATH: the copy and the library are staged for
// nobody and the copy's RUNPATH names the staged library, not the build tree.
TEST(Secure, SetuidProgramIgnoresMemproxyTable) {
  MEMPROXY_REQUIRE(memproxy::testing::missing_root("make a setuid binary"));
  MEMPROXY_REQUIRE(memproxy::testing::missing_user("nobody"));
  MEMPROXY_REQUIRE(arches()[0].missing(backend("tcmalloc")));
  const passwd* nobody = getpwnam("nobody");
  ASSERT_NE(nobody, nullptr);
  memproxy::testing::StagedForOtherUser staged;
  MEMPROXY_REQUIRE(staged.missing());
  // The table is within nobody's reach, so that only AT_SECURE keeps it from the probe.
  TempDir dir;
  ASSERT_EQ(chmod(dir.path().c_str(), 0755), 0);
  std::string table = make_table(dir, "some-other-program\n", "libtcmalloc_minimal.so.4");
  staged.library(MP_LIB64);
  std::string copy = staged.program(MP_PROBE_LINKED, "mp-probe-setuid");
  MEMPROXY_REQUIRE(staged.run_libraries_from_here(copy));

  Result plain = run({copy, "secure"}, env_with("", table));
  ASSERT_TRUE(plain.exited && plain.code == 0) << plain.describe();
  EXPECT_EQ(parse(plain.out)["at_secure"], "0");
  EXPECT_EQ(parse(plain.out)["backend"], "custom:libtcmalloc_minimal.so.4") << plain.describe();

  ASSERT_EQ(chown(copy.c_str(), nobody->pw_uid, nobody->pw_gid), 0);
  ASSERT_EQ(chmod(copy.c_str(), 04755), 0);
  Result secure = run({copy, "secure"}, env_with("", table));
  ASSERT_TRUE(secure.exited && secure.code == 0) << secure.describe();
  auto kv = parse(secure.out);
  EXPECT_EQ(kv["at_secure"], "1");
  EXPECT_NE(kv["backend"], "custom:libtcmalloc_minimal.so.4") << secure.describe();
  EXPECT_EQ(secure.err.find("memproxy:"), std::string::npos) << "MEMPROXY_DEBUG must be ignored: " << secure.err;
}

}  // namespace
}  // namespace mptest
