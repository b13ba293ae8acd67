// A real program's own test suite cannot tell that it is monitored: CPython's
// test_subprocess (a child holds exactly the descriptors it was given),
// test_os and test_signal run with every python3 process monitored, through
// the environment's preload, the daemon running and watching them, under
// the system allocator, jemalloc and mimalloc, and pass as they do
// unmonitored. Skipped with the reason where the interpreter's test package
// is not installed, or where the suites fail unmonitored on this machine.
#include <gtest/gtest.h>

#include "capability.hpp"
#include "backends.hpp"
#include "e2e_support.hpp"

namespace {

using namespace heapwatch_e2e;

const std::vector<std::string> kSuites{"test_subprocess", "test_os", "test_signal"};

Outcome run_suites(const std::vector<std::string>& extra_env) {
  std::vector<std::string> argv{"/usr/bin/python3", "-m", "test", "-j2"};
  argv.insert(argv.end(), kSuites.begin(), kSuites.end());
  std::vector<std::string> env{"PATH=/usr/bin:/bin", "HOME=/tmp", "LANG=C.UTF-8"};
  env.insert(env.end(), extra_env.begin(), extra_env.end());
  memproxy::testing::Options o;
  o.timeout = std::chrono::minutes(5);
  o.only_standard_descriptors = true;
  return memproxy::testing::run(argv, env, o);
}

bool succeeded(const Outcome& o) { return o.ok() && o.out.find("result: SUCCESS") != std::string::npos; }

// Whether the suites fail here unmonitored too (run once, and only when a
// monitored run failed: minutes saved on every machine where they pass).
const std::string& unmonitored_failure() {
  static const std::string why = [] {
    Outcome o = run_suites({});
    return succeeded(o) ? std::string() : "CPython's " + kSuites[0] + ", test_os and test_signal fail here unmonitored:\n" +
                                              o.out.substr(o.out.size() > 2000 ? o.out.size() - 2000 : 0);
  }();
  return why;
}

class CPythonSuitesTest : public ::testing::TestWithParam<Backend> {
 protected:
  memproxy::testing::TempDir dir_{0755};
};

TEST_P(CPythonSuitesTest, PassMonitoredAsTheyDoUnmonitored) {
  const Backend& b = GetParam();
  MEMPROXY_REQUIRE(missing_backend(b));
  Outcome probe = memproxy::testing::run({"/usr/bin/python3", "-c", "import test.support, test.test_subprocess"}, {});
  MEMPROXY_REQUIRE(probe.ok() ? "" : "CPython's test package is not installed (Debian package libpython3.11-testsuite)");

  Daemon daemon(dir_, {"--no-history"}, {"python3", "python3.11"});
  ASSERT_TRUE(daemon.ready()) << daemon.log();
  Outcome monitored = run_suites({preload_with(MEMPROXY_LIB, b), "MEMPROXY_TABLE=" + daemon.table()});
  if (!succeeded(monitored)) MEMPROXY_REQUIRE(unmonitored_failure());
  EXPECT_TRUE(succeeded(monitored)) << monitored.describe();
  // Monitoring was real: the daemon took the interpreters' accounts.
  EXPECT_NE(daemon.log().find("watching the heap of pid"), std::string::npos) << daemon.log();
  EXPECT_EQ(daemon.stop(), 0) << daemon.log();
}

INSTANTIATE_TEST_SUITE_P(Allocators, CPythonSuitesTest, ::testing::ValuesIn(backends()), backend_name);

}  // namespace
