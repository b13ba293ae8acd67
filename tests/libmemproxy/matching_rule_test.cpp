// One matching rule everywhere: for every way a program can be named in the
// table (its invoked name, its binary's name, its binary's path, each in
// neither section, [exclude], [monitor] or both), the library's own decision
// (its MEMPROXY_DEBUG line) and `memproxyctl explain --json` agree on the
// backend and on monitoring.
#include <gtest/gtest.h>
#include <unistd.h>

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

INSTANTIATE_TEST_SUITE_P(Both, MatchingRule, testing::ValuesIn(arches()), arch_name);

}  // namespace
}  // namespace mptest
