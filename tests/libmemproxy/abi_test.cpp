// The C allocator ABI behaves as glibc's, whichever backend serves it: one
// test per bitness and backend, each skipped with its reason where that
// backend cannot run here.
#include <gtest/gtest.h>

#include <tuple>

#include "harness.hpp"

namespace mptest {
namespace {

// "system" is memproxy routing an excluded program to glibc.
using AbiCase = std::tuple<Arch, std::string>;

class AbiSemantics : public testing::TestWithParam<AbiCase> {
 protected:
  void SetUp() override {
    MEMPROXY_REQUIRE(backend_name() == "system" ? arch().missing(backend("jemalloc"))
                                                : arch().missing(backend(backend_name())));
  }
  const Arch& arch() const { return std::get<0>(GetParam()); }
  const std::string& backend_name() const { return std::get<1>(GetParam()); }
};

TEST_P(AbiSemantics, IdenticalToGlibcWithoutPreload) {
  const Arch& a = arch();
  TempDir dir;
  Result baseline = run({a.probe, "abi"}, env_with("", "", false));
  ASSERT_TRUE(baseline.exited && baseline.code == 0) << baseline.describe();
  ASSERT_GT(baseline.out.size(), 500u);

  const bool system = backend_name() == "system";
  // The system case preloads jemalloc too: memproxy must keep it out.
  std::string preload = a.lib + ":" + (system ? a.jemalloc() : a.path(backend(backend_name())));
  std::string table = make_table(dir, system ? "mp-probe\nmp-probe32\n" : "some-other-program\n");
  Result r = run({a.probe, "abi"}, env_with(preload, table));
  ASSERT_TRUE(r.exited && r.code == 0) << r.describe();
  EXPECT_NE(r.err.find(system ? "backend=system" : "backend=custom:"), std::string::npos) << r.err;
  if (!system) {
    EXPECT_NE(r.err.find(backend(backend_name()).file), std::string::npos) << r.err;
  }
  EXPECT_EQ(r.out, baseline.out) << "memproxy -> " << backend_name() << " differs from glibc without preload";
}

std::vector<std::string> backend_names() {
  std::vector<std::string> names{"system"};
  for (const Backend& b : custom_backends()) names.push_back(b.name);
  return names;
}

INSTANTIATE_TEST_SUITE_P(Every, AbiSemantics, testing::Combine(testing::ValuesIn(arches()), testing::ValuesIn(backend_names())),
                         [](const testing::TestParamInfo<AbiCase>& info) {
                           return "bits" + std::get<0>(info.param).name + "_" + std::get<1>(info.param);
                         });

}  // namespace
}  // namespace mptest
