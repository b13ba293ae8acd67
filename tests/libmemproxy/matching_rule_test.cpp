// One matching rule everywhere: for every way a program can be named in the
// table (its invoked name, its binary's name, its binary's path, each in
// neither section, [exclude], [monitor] or both), the library's own decision
// (its MEMPROXY_DEBUG line) and `memproxyctl explain --json` agree on the
// backend and on monitoring; and for every sampling setting each form's
// entry can have, on the mean and where it came from.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <regex>

#include <nlohmann/json.hpp>

#include "harness.hpp"

namespace mptest {
namespace {

class MatchingRule : public RunsArch {
 protected:
  std::string needs() const override { return a.missing(backend("jemalloc")); }
  TempDir dir;
};

std::string field(const std::string& line, const std::string& name) {
  size_t at = line.find(" " + name + "=");
  if (at == std::string::npos) return "";
  at += name.size() + 2;
  return line.substr(at, line.find(' ', at) - at);
}

TEST_P(MatchingRule, LibraryAndExplainAgreeForEveryCombination) {
  std::string link = dir.file("alias");
  ASSERT_EQ(::symlink(a.probe.c_str(), link.c_str()), 0);
  const std::string forms[3] = {"alias", a.probe.substr(a.probe.rfind('/') + 1), a.probe};
  int compared = 0, excluded = 0, monitored = 0;
  for (int combination = 0; combination < 64; ++combination) {
    std::string exclude = "[exclude]\n", monitor = "[monitor]\n";
    for (int form = 0; form < 3; ++form) {
      int sections = (combination >> (2 * form)) & 3;
      if (sections & 1) exclude += forms[form] + "\n";
      if (sections & 2) monitor += forms[form] + "\n";
    }
    std::string table = make_table(dir, exclude + "some-other-program\n" + monitor);
    Result library = run({link, "route"}, env_with(a.lib + ":" + a.jemalloc(), table));
    ASSERT_TRUE(library.exited && library.code == 0) << library.describe();
    std::string backend = field(library.err, "backend").rfind("custom:", 0) == 0 ? "custom" : "system";
    bool library_monitored = field(library.err, "monitored") == "1";

    Result explain = run({MEMPROXYCTL, "--json", "explain", "-t", table, link}, {"PATH=/usr/bin:/bin"});
    ASSERT_TRUE(explain.exited) << explain.describe();
    auto doc = nlohmann::json::parse(explain.out);
    SCOPED_TRACE("config:\n" + exclude + monitor + "library: " + library.err + "explain: " + explain.out);
    EXPECT_EQ(doc["backend"].get<std::string>(), backend);
    EXPECT_EQ(doc["monitored"].get<bool>(), library_monitored);
    ++compared;
    excluded += backend == "system";
    monitored += library_monitored;
  }
  EXPECT_EQ(compared, 64);
  // Flags combine: a process is excluded when any form is, so only the 2^3
  // combinations with no exclude anywhere route to the custom allocator;
  // likewise for monitoring.
  EXPECT_EQ(excluded, 64 - 8);
  EXPECT_EQ(monitored, 64 - 8);
}

// What an entry of one form says about sampling.
struct Setting {
  const char* header;   // nullptr: the form is not listed
  int64_t asks;         // the mean it asks for; 0 = off; -1 = nothing
};
const Setting kSettings[] = {
    {nullptr, -1}, {"[monitor]", -1}, {"[monitor sample=off]", 0}, {"[monitor sample=1M]", 1 << 20},
    {"[monitor sample=64K]", 64 << 10},
};
constexpr int kSettingCount = sizeof kSettings / sizeof kSettings[0];

// The library's words for its mean: {mean, source}, or {-1, ""} when the
// line says nothing of sampling (not monitored).
std::pair<int64_t, std::string> library_sampling(const std::string& debug) {
  static const std::regex words(", (?:sampling every ([0-9]+) bytes|no sampled stacks) \\(([^)]+)\\)");
  std::smatch m;
  if (!std::regex_search(debug, m, words)) return {-1, ""};
  return {m[1].matched ? std::stoll(m[1].str()) : 0, m[2].str()};
}

TEST_P(MatchingRule, LibraryAndExplainAgreeOnSamplingForEveryCombination) {
  std::string link = dir.file("alias");
  ASSERT_EQ(::symlink(a.probe.c_str(), link.c_str()), 0);
  const std::string forms[3] = {"alias", a.probe.substr(a.probe.rfind('/') + 1), a.probe};
  int compared = 0, from_table = 0, off = 0;
  for (int combination = 0; combination < kSettingCount * kSettingCount * kSettingCount; ++combination) {
    std::string config = "some-other-program\n";
    bool monitored = false;
    int64_t finest = -1;  // the smallest rate asked for; 0 when only off is; -1 when nothing is
    for (int form = 0, rest = combination; form < 3; ++form, rest /= kSettingCount) {
      const Setting& setting = kSettings[rest % kSettingCount];
      if (setting.header == nullptr) continue;
      config += std::string(setting.header) + "\n" + forms[form] + "\n";
      monitored = true;
      if (setting.asks > 0) finest = finest > 0 ? std::min(finest, setting.asks) : setting.asks;
      if (setting.asks == 0 && finest < 0) finest = 0;
    }
    const int64_t expected_mean = !monitored ? -1 : finest >= 0 ? finest : 512 << 10;
    const std::string expected_source = !monitored ? "" : finest >= 0 ? "memproxy.conf" : "default";

    std::string table = make_table(dir, config);
    Result library = run({link, "route"}, env_with(a.lib + ":" + a.jemalloc(), table));
    ASSERT_TRUE(library.exited && library.code == 0) << library.describe();
    auto [library_mean, library_source] = library_sampling(library.err);

    Result explain = run({MEMPROXYCTL, "--json", "explain", "-t", table, link}, {"PATH=/usr/bin:/bin"});
    ASSERT_TRUE(explain.exited) << explain.describe();
    auto doc = nlohmann::json::parse(explain.out);
    SCOPED_TRACE("config:\n" + config + "library: " + library.err + "explain: " + explain.out);
    const auto& sampling = doc["sampling"];
    const int64_t explain_mean = sampling.is_null() ? -1 : sampling["mean_bytes"].get<int64_t>();
    const std::string explain_source = sampling.is_null() ? "" : sampling["source"].get<std::string>();
    EXPECT_EQ(field(library.err, "monitored") == "1", monitored);
    EXPECT_EQ(library_mean, expected_mean);
    EXPECT_EQ(library_source, expected_source);
    EXPECT_EQ(explain_mean, library_mean);
    EXPECT_EQ(explain_source, library_source);
    ++compared;
    from_table += expected_source == "memproxy.conf";
    off += expected_mean == 0;
  }
  EXPECT_EQ(compared, 125);
  // A form absent or under a plain [monitor] asks for nothing: the 2^3
  // combinations of those two take the default (or are not monitored), the
  // other 117 take the table's setting, and 3^3 - 2^3 = 19 of them, where
  // no form asks for a rate, say off.
  EXPECT_EQ(from_table, 125 - 8);
  EXPECT_EQ(off, 27 - 8);
}

// A table damaged in one block, each block in turn: the library verifies only
// the blocks its lookups read, so off the program's lookup path its entries
// still decide (excluded by name, monitored by path), and on it the fail
// policy does (custom here, not monitored). Explain must agree either way,
// and both ways must occur.
TEST_P(MatchingRule, LibraryAndExplainAgreeOnATableDamagedInOneBlock) {
  const std::string name = a.probe.substr(a.probe.rfind('/') + 1);
  std::string config = "[exclude]\n" + name + "\n[monitor]\n" + a.probe + "\n";
  for (int i = 0; i < 3000; ++i) config += "filler-" + std::to_string(i) + "\n";
  const std::string intact = make_table(dir, config, "", "custom");
  std::string image;
  {
    std::ifstream in(intact, std::ios::binary);
    image.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const size_t block_size = 4096, blocks = image.size() / block_size;
  ASSERT_GE(blocks, 8u);
  const std::string table = dir.file("damaged");
  int by_entries = 0, by_fail_policy = 0;
  for (size_t block = 1; block < blocks; ++block) {
    std::string bad = image;
    bad[block * block_size + 17] ^= 0x5a;
    std::ofstream(table, std::ios::binary | std::ios::trunc) << bad;
    Result library = run({a.probe, "route"}, env_with(a.lib + ":" + a.jemalloc(), table));
    ASSERT_TRUE(library.exited && library.code == 0) << library.describe();
    const std::string backend = field(library.err, "backend").rfind("custom:", 0) == 0 ? "custom" : "system";
    const bool library_monitored = field(library.err, "monitored") == "1";
    const bool lookup_failed = library.err.find("table lookup failed") != std::string::npos;

    Result explain = run({MEMPROXYCTL, "--json", "explain", "-t", table, a.probe}, {"PATH=/usr/bin:/bin"});
    ASSERT_TRUE(explain.exited) << explain.describe();
    auto doc = nlohmann::json::parse(explain.out);
    SCOPED_TRACE("block " + std::to_string(block) + ": library: " + library.err + "explain: " + explain.out);
    EXPECT_FALSE(doc["table"]["valid"].get<bool>());
    EXPECT_EQ(doc["backend"].get<std::string>(), backend);
    EXPECT_EQ(doc["monitored"].get<bool>(), library_monitored);
    EXPECT_EQ(doc["fail_safe"].get<bool>(), lookup_failed);
    if (lookup_failed) {
      ++by_fail_policy;
      EXPECT_EQ(backend, "custom");
      EXPECT_FALSE(library_monitored);
    } else {
      ++by_entries;
      EXPECT_EQ(backend, "system");
      EXPECT_TRUE(library_monitored);
    }
  }
  EXPECT_GT(by_entries, 0);
  EXPECT_GT(by_fail_policy, 0);
}

INSTANTIATE_TEST_SUITE_P(Both, MatchingRule, testing::ValuesIn(arches()), arch_name);

}  // namespace
}  // namespace mptest
