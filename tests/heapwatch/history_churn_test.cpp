// One user's churn erases only that user's history: with the real daemon
// keeping 5 processes of any one user but root and 10 in all, root's three
// ended programs are still answered by `memproxyctl history PID` after
// nobody ran twelve short-lived monitored programs one after another, and
// of nobody's only the five that ended last are kept.
#include <signal.h>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "capability.hpp"
#include "e2e_support.hpp"
#include "top_entries.hpp"

namespace {

using namespace heapwatch_e2e;
using nlohmann::json;

constexpr size_t kQuota = 5;

// Whether the history answers for `pid` with at least `samples` samples.
bool kept(const std::string& table, pid_t pid, size_t samples = 2) {
  Outcome history = memproxyctl(table, {"history", std::to_string(pid), "--json"});
  if (!history.ok()) return false;
  const json answer = json::parse(history.out, nullptr, false);
  return answer.is_object() && answer.contains("samples") && answer["samples"].size() >= samples;
}

class HistoryChurnTest : public ::testing::Test {
 protected:
  memproxy::testing::TempDir dir_{0755};
};

TEST_F(HistoryChurnTest, OneUsersShortLivedProcessesEvictOnlyTheirOwnOldest) {
  MEMPROXY_REQUIRE(memproxy::testing::missing_unprivileged_runner());
  memproxy::testing::StagedForOtherUser staged;
  MEMPROXY_REQUIRE(staged.missing());
  Daemon daemon(dir_, {"--history-user-quota", std::to_string(kQuota), "--history-max-processes", "10",
                       "--history-maintenance-interval", "300"});
  ASSERT_TRUE(daemon.ready()) << daemon.log();

  // A monitored program that lived long enough to be sampled, then ended
  // (and was seen to end, so that the next one ends after it).
  auto run_briefly = [&](bool as_nobody) -> pid_t {
    std::vector<std::string> argv{MP_GROWER, "4096", "50"};
    std::string library = MEMPROXY_LIB;
    if (as_nobody) {
      argv = memproxy::testing::as_nobody({staged.program(MP_GROWER), "4096", "50"});
      library = staged.library(MEMPROXY_LIB);
    }
    Process program(argv, {"LD_PRELOAD=" + library, "MEMPROXY_TABLE=" + daemon.table()});
    const pid_t pid = program.pid();
    // Long enough for the keeper to have written some of its samples.
    EXPECT_TRUE(wait_until([&] { return kept(daemon.table(), pid, 10); })) << daemon.log();
    program.signal(SIGKILL);
    program.finish();
    EXPECT_TRUE(wait_until([&] { return !watches(daemon.table(), pid); })) << daemon.log();
    // Answered from the store once the keeper wrote its end.
    EXPECT_TRUE(wait_until([&] { return kept(daemon.table(), pid); })) << daemon.log();
    return pid;
  };

  std::vector<pid_t> roots, nobodys;
  for (int i = 0; i < 3; ++i) roots.push_back(run_briefly(false));
  for (int i = 0; i < 12; ++i) nobodys.push_back(run_briefly(true));
  ASSERT_FALSE(HasFailure());

  // Maintenance runs every 300 ms here: wait until nobody is down to its share.
  auto nobodys_kept = [&] {
    std::vector<pid_t> still;
    for (pid_t pid : nobodys) {
      if (kept(daemon.table(), pid)) still.push_back(pid);
    }
    return still;
  };
  std::vector<pid_t> still;
  wait_until([&] {
    still = nobodys_kept();
    return still.size() <= kQuota;
  });
  const std::vector<pid_t> newest(nobodys.end() - kQuota, nobodys.end());
  EXPECT_EQ(still, newest) << "nobody keeps its " << kQuota << " newest\n" << daemon.log();
  for (pid_t pid : roots) EXPECT_TRUE(kept(daemon.table(), pid)) << "root's " << pid << " was evicted";
  EXPECT_EQ(daemon.stop(), 0) << daemon.log();
}

}  // namespace
