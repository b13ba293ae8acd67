// A monitored process's descriptor table is its own, and its watch belongs
// to the process: with the real daemon running, a monitored program finds
// only 0, 1 and 2 open at the start of main and after the daemon took its
// account, under the system allocator, jemalloc and mimalloc; one that
// closes every descriptor above 2 is still watched, its bytes counted; a
// child forked past the fork handlers does not keep its parent's watch
// alive; and a process that execs a set-id program is no longer shown,
// not even to its owner.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "capability.hpp"
#include "backends.hpp"
#include "e2e_support.hpp"
#include "top_entries.hpp"

namespace {

using namespace heapwatch_e2e;
using nlohmann::json;

std::vector<std::string> monitored_environment(const std::string& table, const Backend& b) {
  return {preload_with(MEMPROXY_LIB, b), "MEMPROXY_TABLE=" + table};
}

class DescriptorsTest : public ::testing::TestWithParam<Backend> {
 protected:
  memproxy::testing::TempDir dir_{0755};
};

TEST_P(DescriptorsTest, AMonitoredProgramHoldsOnlyItsOwnDescriptors) {
  MEMPROXY_REQUIRE(missing_backend(GetParam()));
  Daemon daemon(dir_, {"--no-history"}, {"mp-descriptors"});
  ASSERT_TRUE(daemon.ready()) << daemon.log();
  memproxy::testing::Options hermetic;
  hermetic.only_standard_descriptors = true;
  Process program({MP_DESCRIPTORS, "list"}, monitored_environment(daemon.table(), GetParam()), hermetic);
  EXPECT_EQ(program.read_line(), std::optional<std::string>("start 0 1 2"));
  ASSERT_TRUE(program.wait_stopped()) << program.finish().describe();
  // The account was handed over before main: the daemon shows the bytes held.
  ASSERT_TRUE(wait_until([&] {
    auto v = entry_in_top(daemon.table(), program.pid());
    return v && (*v)["latest"]["live_bytes"].get<uint64_t>() >= (1u << 20);
  })) << daemon.log();
  program.resume();
  EXPECT_EQ(program.read_line(), std::optional<std::string>("after 0 1 2"));
  ASSERT_TRUE(program.wait_stopped()) << program.finish().describe();
  program.resume();
  EXPECT_EQ(program.finish().code, 0);
  EXPECT_TRUE(wait_until([&] { return !watches(daemon.table(), program.pid()); })) << "its end is noticed";
  EXPECT_EQ(daemon.stop(), 0) << daemon.log();
}

TEST_P(DescriptorsTest, AProgramThatClosesEveryDescriptorIsStillWatched) {
  MEMPROXY_REQUIRE(missing_backend(GetParam()));
  Daemon daemon(dir_, {"--no-history"}, {"mp-descriptors"});
  ASSERT_TRUE(daemon.ready()) << daemon.log();
  Process program({MP_DESCRIPTORS, "closefrom"}, monitored_environment(daemon.table(), GetParam()));
  auto line = program.read_line();
  ASSERT_TRUE(line && line->rfind("held ", 0) == 0) << program.finish().describe();
  const uint64_t held = std::stoull(line->substr(5));
  ASSERT_TRUE(program.wait_stopped()) << program.finish().describe();
  // What the program holds, plus what libc allocated for it (stdio's
  // buffer and the like): never less, and never a second megabyte.
  uint64_t live = 0;
  EXPECT_TRUE(wait_until([&] {
    auto v = entry_in_top(daemon.table(), program.pid());
    live = v ? (*v)["latest"]["live_bytes"].get<uint64_t>() : 0;
    return live >= held;
  })) << "live " << live << " of " << held << "\n" << daemon.log();
  EXPECT_LT(live, held + (256u << 10));
  program.resume();
  EXPECT_EQ(program.finish().code, 0);
  EXPECT_EQ(daemon.stop(), 0) << daemon.log();
}

// Nothing else of memproxy is in the process: no thread, no signal
// blocked, ignored or caught, no child, no MEMPROXY_* variable the user did
// not set. What the program sees at the start of main and after the daemon
// took its account is what it sees on the same allocator without memproxy.
TEST_P(DescriptorsTest, AMonitoredProgramHasNoThreadSignalChildOrVariableOfOurs) {
  MEMPROXY_REQUIRE(missing_backend(GetParam()));
  Daemon daemon(dir_, {"--no-history"}, {"mp-descriptors"});
  ASSERT_TRUE(daemon.ready()) << daemon.log();
  auto run = [&](const std::vector<std::string>& env, bool monitored) {
    std::vector<std::string> lines;
    Process program({MP_DESCRIPTORS, "self"}, env);
    std::optional<std::string> start = program.read_line();
    EXPECT_TRUE(start) << program.finish().describe();
    lines.push_back(start.value_or(""));
    EXPECT_TRUE(program.wait_stopped()) << program.finish().describe();
    if (monitored) {
      EXPECT_TRUE(wait_until([&] { return watches(daemon.table(), program.pid()); })) << daemon.log();
    }
    program.resume();
    lines.push_back(program.read_line().value_or(""));
    EXPECT_TRUE(program.wait_stopped()) << program.finish().describe();
    program.resume();
    EXPECT_EQ(program.finish().code, 0);
    return lines;
  };
  std::vector<std::string> without{"MEMPROXY_TABLE=" + daemon.table()};
  if (*GetParam().library != '\0') without.push_back(std::string("LD_PRELOAD=") + GetParam().library);
  const std::vector<std::string> plain = run(without, false);
  ASSERT_EQ(plain.size(), 2u);
  EXPECT_EQ(plain[0].rfind("start threads=1 ", 0), 0u) << plain[0];
  EXPECT_NE(plain[0].find(" children= env=MEMPROXY_TABLE"), std::string::npos) << plain[0];
  const std::vector<std::string> monitored = run(monitored_environment(daemon.table(), GetParam()), true);
  EXPECT_EQ(monitored, plain);
  EXPECT_EQ(daemon.stop(), 0) << daemon.log();
}

INSTANTIATE_TEST_SUITE_P(Allocators, DescriptorsTest, ::testing::ValuesIn(backends()), backend_name);

class ProcessBoundWatchTest : public ::testing::Test {
 protected:
  memproxy::testing::TempDir dir_{0755};
};

// A child made by the raw fork system call runs no fork handler: it keeps
// whatever its parent held. The parent's watch still ends with the parent.
TEST_F(ProcessBoundWatchTest, AChildThatOutlivesItsParentDoesNotKeepItsWatch) {
  Daemon daemon(dir_, {"--no-history"}, {"mp-descriptors"});
  ASSERT_TRUE(daemon.ready()) << daemon.log();
  Process parent({MP_DESCRIPTORS, "rawfork"}, monitored_environment(daemon.table(), backends().front()));
  auto line = parent.read_line();
  ASSERT_TRUE(line && line->rfind("child ", 0) == 0) << parent.finish().describe();
  const pid_t child = std::stoi(line->substr(6));
  struct Reaper {
    pid_t pid;
    ~Reaper() { ::kill(pid, SIGKILL); }
  } reaper{child};
  ASSERT_TRUE(parent.wait_stopped()) << parent.finish().describe();
  ASSERT_TRUE(wait_until([&] { return watches(daemon.table(), parent.pid()); })) << daemon.log();
  parent.resume();
  EXPECT_EQ(parent.finish().code, 0);
  ASSERT_EQ(::kill(child, 0), 0) << "the child still runs";
  EXPECT_TRUE(wait_until([&] { return !watches(daemon.table(), parent.pid()); }))
      << "the parent's watch outlived it\n" << daemon.log();
  EXPECT_EQ(daemon.stop(), 0) << daemon.log();
}

// Its owner could read a process's maps until it exec'd a set-id program;
// from then on, neither /proc nor the heap watch shows it to them.
TEST_F(ProcessBoundWatchTest, AProcessThatExecsASetIdProgramIsNoLongerShown) {
  MEMPROXY_REQUIRE(memproxy::testing::missing_unprivileged_runner());
  memproxy::testing::StagedForOtherUser staged;
  MEMPROXY_REQUIRE(staged.missing());
  Daemon daemon(dir_, {"--no-history", "--symbolizer", MEMPROXY_SYMBOLIZE_WORKER_BIN}, {"mp-descriptors"});
  ASSERT_TRUE(daemon.ready()) << daemon.log();
  const std::string program = staged.program(MP_DESCRIPTORS);
  const std::string library = staged.library(MEMPROXY_LIB);
  const std::string setuid_copy = staged.add(MP_DESCRIPTORS, 04755, "mp-setuid-sleeper");
  struct stat st {};
  ASSERT_EQ(::stat(setuid_copy.c_str(), &st), 0);
  ASSERT_TRUE((st.st_mode & S_ISUID) && st.st_uid == 0) << "a set-uid root copy";

  Process user(memproxy::testing::as_nobody({program, "exec", setuid_copy}),
               {"LD_PRELOAD=" + library, "MEMPROXY_TABLE=" + daemon.table()});
  ASSERT_TRUE(user.wait_stopped()) << user.finish().describe();
  ASSERT_TRUE(wait_until([&] { return watches(daemon.table(), user.pid()); })) << daemon.log();
  Outcome before = memproxyctl_as_nobody(staged, daemon.table(), {"leaks", std::to_string(user.pid()), "--json"});
  ASSERT_EQ(before.code, 0) << "its owner sees its own process\n" << before.describe() << daemon.log();

  user.resume();
  ASSERT_EQ(user.read_line(), std::optional<std::string>("sleeping")) << user.finish().describe();
  EXPECT_TRUE(wait_until([&] { return !watches(daemon.table(), user.pid()); }))
      << "a set-id process is still watched\n" << daemon.log();
  Outcome after = memproxyctl_as_nobody(staged, daemon.table(), {"leaks", std::to_string(user.pid()), "--stack"});
  EXPECT_NE(after.code, 0) << after.describe();
  EXPECT_EQ(after.out.find("mp-setuid-sleeper"), std::string::npos) << after.describe();
  EXPECT_EQ(after.out.find("libc.so"), std::string::npos) << after.describe();
  EXPECT_NE(daemon.log().find("is no longer watched: its credentials"), std::string::npos) << daemon.log();
  user.signal(SIGKILL);
  user.finish();
  EXPECT_EQ(daemon.stop(), 0) << daemon.log();
}

}  // namespace
