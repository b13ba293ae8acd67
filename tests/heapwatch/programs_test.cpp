// The labelled heap programs, run as real processes (under whatever
// allocator the test itself has, glibc's here): one held_bytes line per
// second, the same lines for the same options, and each program's pattern
// as its comment describes it, from its own count.
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

extern char** environ;

namespace {

constexpr double kMiB = 1024.0 * 1024.0;

struct ProgramRun {
  std::vector<uint64_t> held;  // one per line
  std::string malformed;       // the first line that is not held_bytes=N
  int status = -1;
  long max_rss_kib = 0;
};

ProgramRun run(const std::string& name, std::vector<std::string> args) {
  ProgramRun r;
  std::string path = std::string(HEAPWATCH_PROGRAM_DIR) + "/heapwatch-" + name;
  args.insert(args.begin(), path);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int out[2];
  if (pipe(out) != 0) return r;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_addclose(&actions, out[0]);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, path.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  if (rc != 0) {
    close(out[0]);
    return r;
  }
  FILE* in = fdopen(out[0], "r");
  char line[256];
  while (fgets(line, sizeof line, in) != nullptr) {
    unsigned long long v = 0;
    char end = 0;
    if (std::sscanf(line, "held_bytes=%llu%c", &v, &end) == 2 && end == '\n') {
      r.held.push_back(v);
    } else if (r.malformed.empty()) {
      r.malformed = line;
    }
  }
  fclose(in);
  struct rusage usage {};
  wait4(pid, &r.status, 0, &usage);
  r.max_rss_kib = usage.ru_maxrss;
  return r;
}

// Two pattern hours in 120 lines, without waiting for real seconds.
ProgramRun two_hours(const std::string& name, const std::string& seed = "7") {
  return run(name, {"--speed", "60", "--seconds", "120", "--no-pacing", "--seed", seed});
}

double mib(uint64_t v) { return static_cast<double>(v) / kMiB; }

uint64_t lowest(const std::vector<uint64_t>& v, std::size_t from, std::size_t to) {
  return *std::min_element(v.begin() + static_cast<std::ptrdiff_t>(from), v.begin() + static_cast<std::ptrdiff_t>(to));
}
uint64_t highest(const std::vector<uint64_t>& v, std::size_t from, std::size_t to) {
  return *std::max_element(v.begin() + static_cast<std::ptrdiff_t>(from), v.begin() + static_cast<std::ptrdiff_t>(to));
}

const std::vector<std::string> kPrograms{"steady",    "warmup_plateau", "sawtooth",    "step",
                                         "fast_leak", "slow_leak",      "thread_leak", "fragmentation"};

TEST(HeapProgramsTest, OneLinePerSecondAndDeterministic) {
  for (const std::string& name : kPrograms) {
    ProgramRun a = two_hours(name);
    ProgramRun b = two_hours(name);
    ASSERT_TRUE(WIFEXITED(a.status) && WEXITSTATUS(a.status) == 0) << name << " status " << a.status;
    EXPECT_EQ(a.malformed, "") << name;
    EXPECT_EQ(a.held.size(), 120u) << name;
    EXPECT_EQ(a.held, b.held) << name << " is not deterministic";
    EXPECT_NE(a.held, two_hours(name, "8").held) << name << " ignores its seed";
  }
}

TEST(HeapProgramsTest, BadOptionsAreRefused) {
  for (std::vector<std::string> args : {std::vector<std::string>{"--speed", "0"}, {"--seconds", "-1"}, {"--bogus"},
                                        {"--speed", "12x"}}) {
    ProgramRun r = run("steady", args);
    EXPECT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 2) << args[0];
    EXPECT_TRUE(r.held.empty());
  }
}

TEST(HeapProgramsTest, PacedRunTakesRealSeconds) {
  ProgramRun r = run("steady", {"--speed", "60", "--seconds", "2"});
  EXPECT_EQ(r.held.size(), 2u);
}

TEST(HeapProgramsTest, SteadyStaysWithinItsChurn) {
  ProgramRun r = two_hours("steady");
  ASSERT_EQ(r.held.size(), 120u);
  EXPECT_GT(mib(lowest(r.held, 0, 120)), 64);
  EXPECT_LT(mib(highest(r.held, 0, 120)) - mib(lowest(r.held, 0, 120)), 4);
}

TEST(HeapProgramsTest, WarmUpThenPlateau) {
  ProgramRun r = two_hours("warmup_plateau");
  ASSERT_EQ(r.held.size(), 120u);
  EXPECT_LT(mib(r.held[0]), 40);  // a minute in
  EXPECT_GT(mib(lowest(r.held, 60, 120)), 96);
  EXPECT_LT(mib(highest(r.held, 60, 120)) - mib(lowest(r.held, 60, 120)), 4);
}

TEST(HeapProgramsTest, SawtoothIsTrimmedRepeatedly) {
  ProgramRun r = two_hours("sawtooth");
  ASSERT_EQ(r.held.size(), 120u);
  int trims = 0;
  for (std::size_t i = 1; i < r.held.size(); ++i) trims += mib(r.held[i - 1]) - mib(r.held[i]) > 30;
  EXPECT_GE(trims, 10);  // about every eight minutes
  EXPECT_LT(mib(highest(r.held, 0, 120)), 32 + 64 + 8);
  EXPECT_LT(std::abs(mib(lowest(r.held, 90, 120)) - mib(lowest(r.held, 0, 30))), 3);
}

TEST(HeapProgramsTest, StepAtHalfAnHourThenFlat) {
  ProgramRun r = two_hours("step");
  ASSERT_EQ(r.held.size(), 120u);
  double before = mib(lowest(r.held, 0, 29));
  double after = mib(lowest(r.held, 31, 120));
  EXPECT_NEAR(after - before, 32, 2);
  EXPECT_LT(mib(highest(r.held, 31, 120)) - after, 4);
}

TEST(HeapProgramsTest, LeaksGrowAtTheirRates) {
  ProgramRun fast = two_hours("fast_leak");
  ASSERT_EQ(fast.held.size(), 120u);
  EXPECT_NEAR(mib(fast.held.back()) - mib(fast.held.front()), 120 * 119.0 / 120, 4);

  ProgramRun thread = two_hours("thread_leak");
  ASSERT_EQ(thread.held.size(), 120u);
  EXPECT_NEAR(mib(lowest(thread.held, 110, 120)) - mib(lowest(thread.held, 0, 10)), 12 * 110.0 / 120, 1.5);

  // Eight pattern hours: 8 MiB under 100 MiB, seen in the low-water marks.
  ProgramRun slow = run("slow_leak", {"--speed", "600", "--seconds", "48", "--no-pacing"});
  ASSERT_EQ(slow.held.size(), 48u);
  EXPECT_GT(mib(slow.held.front()), 100);
  EXPECT_NEAR(mib(lowest(slow.held, 42, 48)) - mib(lowest(slow.held, 0, 6)), 7 * 1032.0 / 1024, 1.5);
}

TEST(HeapProgramsTest, FragmentationGrowsResidentMemoryNotHeldBytes) {
  ProgramRun r = two_hours("fragmentation");
  ASSERT_EQ(r.held.size(), 120u);
  EXPECT_LT(highest(r.held, 0, 120) - lowest(r.held, 0, 120), 64 * 1024u);
  // Under glibc, about 25 MiB of holes per pattern hour stay resident.
  double rss_mib = static_cast<double>(r.max_rss_kib) / 1024;
  EXPECT_GT(rss_mib - mib(r.held.back()), 30) << "max RSS " << rss_mib << " MiB";
}

}  // namespace
