// The C allocator ABI behaves as glibc's, whichever backend serves it: one
// test per bitness and backend, each skipped with its reason where that
// backend cannot run here.
#include <gtest/gtest.h>

#include <sstream>
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

// The alignment lines ("align N: ...", "new(align N) ...") that report a
// misaligned result.
std::string misaligned_lines(const std::string& out) {
  std::istringstream lines(out);
  std::string bad;
  for (std::string line; std::getline(lines, line);) {
    bool alignment_line = line.rfind("align ", 0) == 0 || line.rfind("new(align", 0) == 0 || line.rfind("new alignas", 0) == 0;
    if (alignment_line && line.find("=0") != std::string::npos) bad += line + "\n";
  }
  return bad;
}

// Every line of both probes' "abi" output, under memproxy and this backend,
// equals glibc's without any preload: errno, NULL results, sizes, and the
// alignment of every aligned form from 16 to 4096 bytes.
TEST_P(AbiSemantics, IdenticalToGlibcWithoutPreload) {
  const Arch& a = arch();
  TempDir dir;
  const bool system = backend_name() == "system";
  // The system case preloads jemalloc too: memproxy must keep it out.
  std::string preload = a.lib + ":" + (system ? a.jemalloc() : a.path(backend(backend_name())));
  std::string table = make_table(dir, system ? "mp-probe\nmp-probe32\nmp-probe-cxx\nmp-probe-cxx32\n"
                                             : "some-other-program\n");
  for (const std::string& probe : {a.probe, a.probe_cxx}) {
    Result baseline = run({probe, "abi"}, env_with("", "", false));
    ASSERT_TRUE(baseline.exited && baseline.code == 0) << baseline.describe();
    ASSERT_GT(baseline.out.size(), 500u);
    ASSERT_EQ(misaligned_lines(baseline.out), "") << "glibc itself misaligns";
    Result r = run({probe, "abi"}, env_with(preload, table));
    ASSERT_TRUE(r.exited && r.code == 0) << r.describe();
    EXPECT_NE(r.err.find(system ? "backend=system" : "backend=custom:"), std::string::npos) << r.err;
    if (!system) {
      EXPECT_NE(r.err.find(backend(backend_name()).file), std::string::npos) << r.err;
    }
    EXPECT_EQ(misaligned_lines(r.out), "") << probe << ": memproxy -> " << backend_name();
    EXPECT_EQ(r.out, baseline.out) << probe << ": memproxy -> " << backend_name() << " differs from glibc alone";
  }
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
