// The C allocator ABI behaves as glibc's, whichever backend serves it.
#include <gtest/gtest.h>

#include "harness.hpp"

namespace mptest {
namespace {

class AbiSemantics : public testing::TestWithParam<Arch> {};

TEST_P(AbiSemantics, IdenticalUnderEveryBackend) {
  const Arch& a = GetParam();
  TempDir dir;
  std::string open = make_table(dir, "some-other-program\n");
  std::string excluded = make_table(dir, "mp-probe\nmp-probe32\n");
  Result baseline = run({a.probe, "abi"}, env_with("", "", false));
  ASSERT_TRUE(baseline.exited && baseline.code == 0) << baseline.describe();
  ASSERT_GT(baseline.out.size(), 500u);

  struct Case {
    std::string name, preload, table, backend;
  };
  std::vector<Case> cases{{"system", a.lib + ":" + a.jemalloc(), excluded, "system"},
                          {"jemalloc", a.lib + ":" + a.jemalloc(), open, "jemalloc"}};
  if (a.name == "64") {
    cases.push_back({"tcmalloc", a.lib + ":" + a.libdir + "/libtcmalloc_minimal.so.4", open, "tcmalloc"});
    cases.push_back({"mimalloc", a.lib + ":" + a.libdir + "/libmimalloc.so.2", open, "mimalloc"});
    cases.push_back({"tbbmalloc", a.lib + ":" + a.libdir + "/libtbbmalloc_proxy.so.2", open, "tbbmalloc"});
  }
  for (const Case& c : cases) {
    Result r = run({a.probe, "abi"}, env_with(c.preload, c.table));
    ASSERT_TRUE(r.exited && r.code == 0) << c.name << ": " << r.describe();
    EXPECT_NE(r.err.find("backend=" + std::string(c.backend == "system" ? "system" : "custom:")), std::string::npos)
        << c.name << ": " << r.err;
    EXPECT_NE(r.err.find(c.backend), std::string::npos) << c.name << ": " << r.err;
    EXPECT_EQ(r.out, baseline.out) << "memproxy -> " << c.name << " differs from glibc without preload";
  }
}

INSTANTIATE_TEST_SUITE_P(Both, AbiSemantics, testing::ValuesIn(arches()), arch_name);

}  // namespace
}  // namespace mptest
