// Routing verified by the allocators' own statistics, not by memproxy's word.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "harness.hpp"

namespace mptest {
namespace {

constexpr long long kAllocated = 64 * 1000;

std::string base_name(const std::string& path) { return path.substr(path.rfind('/') + 1); }

// Every routing test routes to jemalloc or compares with it.
class Routing : public RunsArch {
 protected:
  std::string needs() const override { return a.missing(backend("jemalloc")); }
  TempDir dir;
  // A table that lists some other program only: the probes go to the custom allocator.
  std::string open_table(const std::string& allocator = "") {
    return make_table(dir, "some-other-program\n", allocator);
  }
  std::string excluding(const std::string& program) { return make_table(dir, program + "\n"); }
};

void expect_jemalloc(const Result& r) {
  ASSERT_TRUE(r.exited && r.code == 0) << r.describe();
  auto kv = parse(r.out);
  EXPECT_EQ(kv["backend"].rfind("custom:", 0), 0u) << r.out;
  EXPECT_NE(kv["backend"].find("libjemalloc"), std::string::npos) << r.out;
  EXPECT_EQ(kv["je_present"], "1");
  EXPECT_GE(number(kv, "je_delta"), kAllocated) << r.out;
  EXPECT_LT(number(kv, "glibc_delta"), kAllocated / 2) << r.out;
}

void expect_glibc(const Result& r) {
  ASSERT_TRUE(r.exited && r.code == 0) << r.describe();
  auto kv = parse(r.out);
  EXPECT_EQ(kv["backend"], "system") << r.out;
  EXPECT_EQ(number(kv, "je_delta"), 0) << r.out;
  EXPECT_GE(number(kv, "glibc_delta"), kAllocated) << r.out;
}

TEST_P(Routing, CToJemallocPreloadedAfter) {
  expect_jemalloc(run({a.probe, "route"}, env_with(a.lib + ":" + a.jemalloc(), open_table())));
}

TEST_P(Routing, CToJemallocOriginalOrder) {
  expect_jemalloc(run({a.probe, "route"}, env_with(a.lib + ":libc.so.6:" + a.jemalloc(), open_table())));
}

TEST_P(Routing, CxxToJemallocPreloadedAfter) {
  Result r = run({a.probe_cxx, "route"}, env_with(a.lib + ":" + a.jemalloc(), open_table()));
  expect_jemalloc(r);
  EXPECT_EQ(parse(r.out)["aligned_new_ok"], "1");
  EXPECT_EQ(parse(r.out)["nothrow_new_ok"], "1");
}

TEST_P(Routing, CxxToJemallocOriginalOrder) {
  expect_jemalloc(run({a.probe_cxx, "route"}, env_with(a.lib + ":libc.so.6:" + a.jemalloc(), open_table())));
}

TEST_P(Routing, ExcludedCProgramUsesGlibc) {
  expect_glibc(run({a.probe, "route"}, env_with(a.lib + ":" + a.jemalloc(), excluding(base_name(a.probe)))));
}

TEST_P(Routing, ExcludedCxxProgramUsesGlibc) {
  expect_glibc(
      run({a.probe_cxx, "route"}, env_with(a.lib + ":libc.so.6:" + a.jemalloc(), excluding(base_name(a.probe_cxx)))));
}

TEST_P(Routing, ExcludedByAbsolutePath) {
  expect_glibc(run({a.probe, "route"}, env_with(a.lib + ":" + a.jemalloc(), excluding(a.probe))));
}

TEST_P(Routing, ExcludedByInvokedSymlinkName) {
  std::string link = dir.file("renamed-tool");
  ASSERT_EQ(symlink(a.probe.c_str(), link.c_str()), 0);
  expect_glibc(run({link, "route"}, env_with(a.lib + ":" + a.jemalloc(), excluding("renamed-tool"))));
  expect_jemalloc(run({a.probe, "route"}, env_with(a.lib + ":" + a.jemalloc(), excluding("renamed-tool"))));
}

TEST_P(Routing, NoTableMeansSystem) {
  expect_glibc(run({a.probe, "route"}, env_with(a.lib + ":" + a.jemalloc(), dir.file("absent"))));
}

TEST_P(Routing, JemallocNamedByTableButNotPreloadedFailsSafe) {
  Result r = run({a.probe, "route"}, env_with(a.lib, open_table("libjemalloc.so.2")));
  ASSERT_TRUE(r.exited && r.code == 0) << r.describe();
  auto kv = parse(r.out);
  EXPECT_EQ(kv["backend"], "system");
  EXPECT_GE(number(kv, "glibc_delta"), kAllocated);
  EXPECT_NE(r.err.find("static TLS"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("preload it after libmemproxy.so"), std::string::npos) << r.err;
}

TEST_P(Routing, MissingAllocatorFailsSafe) {
  Result r = run({a.probe, "route"}, env_with(a.lib, open_table("libno-such-allocator.so")));
  expect_glibc(r);
}

// A valid header whose slot block is damaged: the header's fail policy decides.
TEST_P(Routing, FailPolicyAppliesWhenTheLookupCannotBeTrusted) {
  for (std::string policy : {"system", "custom"}) {
    std::string table = make_table(dir, "alpha\nbeta\n", "", policy);
    std::fstream f(table, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(4096 + 100);
    f.put('\x5a');
    f.close();
    Result r = run({a.probe, "route"}, env_with(a.lib + ":" + a.jemalloc(), table));
    ASSERT_TRUE(r.exited && r.code == 0) << r.describe();
    EXPECT_NE(r.err.find("table lookup failed"), std::string::npos) << r.err;
    if (policy == "custom") {
      expect_jemalloc(r);
    } else {
      expect_glibc(r);
    }
  }
}

TEST_P(Routing, DebugLineIsOneLinePerProcess) {
  Result r = run({a.probe, "route"}, env_with(a.lib + ":" + a.jemalloc(), open_table()));
  ASSERT_TRUE(r.exited && r.code == 0) << r.describe();
  ASSERT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  for (const char* field : {"memproxy: pid=", " program=mp-probe", " exe=/", " backend=custom:", " table=/",
                            " monitored=0", " generation=1", " secure=0", " reason=not listed, allocator preloaded"})
    EXPECT_NE(r.err.find(field), std::string::npos) << field << " in " << r.err;
  Result quiet = run({a.probe, "route"}, env_with(a.lib + ":" + a.jemalloc(), open_table(), false));
  EXPECT_EQ(quiet.err, "");
}

TEST_P(Routing, ForkKeepsTheDecision) {
  Result r = run({a.probe, "fork"}, env_with(a.lib + ":" + a.jemalloc(), open_table()));
  ASSERT_TRUE(r.exited && r.code == 0) << r.describe();
  EXPECT_NE(r.out.find("parent backend=custom:"), std::string::npos) << r.out;
  auto kv = parse(r.out);
  EXPECT_EQ(kv["backend"].rfind("custom:", 0), 0u) << r.out;
  EXPECT_GE(number(kv, "je_delta"), kAllocated);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "the child must not decide again: " << r.err;
}

TEST_P(Routing, ExecDecidesAnew) {
  std::string link = dir.file("excluded-after-exec");
  ASSERT_EQ(symlink(a.probe.c_str(), link.c_str()), 0);
  Result r = run({a.probe, "exec", link, "route"}, env_with(a.lib + ":" + a.jemalloc(), excluding("excluded-after-exec")));
  ASSERT_TRUE(r.exited && r.code == 0) << r.describe();
  EXPECT_NE(r.out.find("before exec backend=custom:"), std::string::npos) << r.out;
  EXPECT_EQ(parse(r.out)["backend"], "system") << r.out;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 2) << r.err;
}

INSTANTIATE_TEST_SUITE_P(Both, Routing, testing::ValuesIn(arches()), arch_name);

// The other allocators, 64-bit (their i386 packages are not installed for the tests).
class OtherAllocators : public testing::Test {
 protected:
  TempDir dir;
  Arch a = arches()[0];
  std::string table(const std::string& allocator = "") { return make_table(dir, "some-other-program\n", allocator); }
  std::string preload(const std::string& name) { return a.lib + ":" + a.path(backend(name)); }
};

TEST_F(OtherAllocators, TcmallocPreloaded) {
  MEMPROXY_REQUIRE(a.missing(backend("tcmalloc")));
  Result r = run({a.probe, "route"}, env_with(preload("tcmalloc"), table()));
  ASSERT_TRUE(r.exited && r.code == 0) << r.describe();
  auto kv = parse(r.out);
  EXPECT_NE(kv["backend"].find("libtcmalloc_minimal"), std::string::npos);
  EXPECT_EQ(kv["tc_present"], "1");
  EXPECT_GE(number(kv, "tc_delta"), kAllocated) << r.out;
  EXPECT_LT(number(kv, "glibc_delta"), kAllocated / 2) << r.out;
}

TEST_F(OtherAllocators, TcmallocLoadedByName) {
  MEMPROXY_REQUIRE(a.missing(backend("tcmalloc")));
  Result r = run({a.probe_cxx, "route"}, env_with(a.lib, table("libtcmalloc_minimal.so.4")));
  ASSERT_TRUE(r.exited && r.code == 0) << r.describe();
  auto kv = parse(r.out);
  EXPECT_EQ(kv["backend"], "custom:libtcmalloc_minimal.so.4");
  EXPECT_GE(number(kv, "tc_delta"), kAllocated) << r.out;
  EXPECT_LT(number(kv, "glibc_delta"), kAllocated / 2) << r.out;
}

TEST_F(OtherAllocators, MimallocPreloadedAndByName) {
  MEMPROXY_REQUIRE(a.missing(backend("mimalloc")));
  for (auto env : {env_with(preload("mimalloc"), table()),
                   env_with(a.lib, table("libmimalloc.so.2"))}) {
    for (const std::string& program : {a.probe, a.probe_cxx}) {
      Result r = run({program, "route"}, env);
      ASSERT_TRUE(r.exited && r.code == 0) << r.describe();
      auto kv = parse(r.out);
      EXPECT_NE(kv["backend"].find("libmimalloc"), std::string::npos) << r.out;
      EXPECT_EQ(kv["mi_owns"], "1") << r.out;
      EXPECT_LT(number(kv, "glibc_delta"), kAllocated / 2) << r.out;
    }
  }
  Result excluded = run({a.probe, "route"}, env_with(preload("mimalloc"), make_table(dir, "mp-probe\n")));
  auto kv = parse(excluded.out);
  EXPECT_EQ(kv["backend"], "system");
  EXPECT_EQ(kv["mi_owns"], "0");
  EXPECT_GE(number(kv, "glibc_delta"), kAllocated);
}

TEST_F(OtherAllocators, TbbmallocProxyPreloaded) {
  MEMPROXY_REQUIRE(a.missing(backend("tbbmalloc")));
  for (const std::string& program : {a.probe, a.probe_cxx}) {
    Result r = run({program, "route"}, env_with(preload("tbbmalloc"), table()));
    ASSERT_TRUE(r.exited && r.code == 0) << r.describe();
    auto kv = parse(r.out);
    EXPECT_NE(kv["backend"].find("libtbbmalloc_proxy"), std::string::npos) << r.out;
    EXPECT_LT(number(kv, "glibc_delta"), kAllocated / 2) << r.out;
  }
}

}  // namespace
}  // namespace mptest
