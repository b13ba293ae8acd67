// Integration: a publisher killed at any moment never exposes an invalid
// table. 100 times, a daemon publishing a large table is SIGKILLed, while
// another process maps and fully verifies the live table in a loop.
#include <gtest/gtest.h>

#include <random>

#include "test_support.hpp"

namespace memproxyd_test {
namespace {

constexpr int kKills = 100;
constexpr int kEntries = 100'000;  // a table of ~5 MiB: its write takes a few milliseconds

TEST(CrashSafetyTest, SigkillMidPublishNeverExposesAnInvalidTable) {
  TempDir dir;
  std::string config = dir / "memproxy.conf", table = dir / "run/table", stop = dir / "stop";
  {
    std::string text;
    text.reserve(kEntries * 24);
    for (int i = 0; i < kEntries; ++i) text += "program-" + std::to_string(i) + (i % 2 ? "\n" : "-x\n");
    write_file(config, text);
  }
  const std::vector<std::string> once{MEMPROXYD_BIN, "--once", "-c", config, "-t", table};
  // A first table, the time one whole publishing run takes here, and how long
  // its staging file exists (the write window that the aimed kills target).
  auto start = std::chrono::steady_clock::now();
  pid_t first = spawn(once, dir / "daemon.log", dir / "daemon.log");
  std::optional<std::chrono::steady_clock::time_point> staged_at, renamed_at;
  std::optional<int> first_exit;
  while (!first_exit && std::chrono::steady_clock::now() - start < kPatience) {
    bool staging = fs::exists(table + ".new");
    auto now = std::chrono::steady_clock::now();
    if (staging && !staged_at) staged_at = now;
    if (!staging && staged_at && !renamed_at) renamed_at = now;
    first_exit = wait_exit(first, 0ms);
  }
  ASSERT_EQ(first_exit, 0) << read_file(dir / "daemon.log");
  using us = std::chrono::microseconds;
  const auto full_run = std::chrono::duration_cast<us>(std::chrono::steady_clock::now() - start);
  const auto write_window =
      staged_at && renamed_at ? std::chrono::duration_cast<us>(*renamed_at - *staged_at) : full_run / 10;
  ASSERT_EQ(probe(table).generation, 1u);

  pid_t validator = spawn({MEMPROXYD_PROBE, "--validate-loop", table, stop}, dir / "validator.out", dir / "validator.err");

  std::mt19937 random(20261121);
  int mid_write = 0;  // kills that left a staging file: the write was under way
  for (int i = 0; i < kKills; ++i) {
    pid_t daemon = spawn(once, dir / "daemon.log", dir / "daemon.log");
    bool reaped = false;
    if (i % 2 == 0) {
      // Anywhere in the run: start-up, parsing, building, writing, renaming.
      std::uniform_int_distribution<long> delay(0, full_run.count());
      std::this_thread::sleep_for(std::chrono::microseconds(delay(random)));
    } else {
      // Aimed at the write: as soon as the staging file appears, plus a little.
      // A tight poll: the window is milliseconds long.
      auto give_up = std::chrono::steady_clock::now() + kPatience;
      while (!fs::exists(table + ".new") && std::chrono::steady_clock::now() < give_up) {
        if ((reaped = wait_exit(daemon, 0ms).has_value())) break;
      }
      std::uniform_int_distribution<long> delay(0, write_window.count());
      std::this_thread::sleep_for(std::chrono::microseconds(delay(random)));
    }
    if (!reaped) {
      ::kill(daemon, SIGKILL);
      wait_exit(daemon);
    }
    if (fs::exists(table + ".new")) ++mid_write;
  }

  write_file(stop, "");
  auto validator_exit = wait_exit(validator);
  ASSERT_TRUE(validator_exit.has_value());
  std::string report = read_file(dir / "validator.out");
  std::printf("validator: %s  kills: %d, %d of them during the table write (full run %.1f ms, write %.1f ms)\n",
              report.c_str(), kKills, mid_write, static_cast<double>(full_run.count()) / 1000.0,
              static_cast<double>(write_window.count()) / 1000.0);
  // The test proves something only if kills landed while the table was being
  // written: at least half of the aimed ones (the other half is spread over
  // the whole run) must have left the staging file behind.
  EXPECT_GE(mid_write, kKills / 4) << "too few kills landed during the write to prove crash safety";
  EXPECT_EQ(*validator_exit, 0) << report;
  EXPECT_NE(report.find("invalid=0 "), std::string::npos) << report;
  EXPECT_NE(report.find("unopenable=0 "), std::string::npos) << "the table must never be missing: " << report;

  Probe before = probe(table);
  EXPECT_EQ(before.exit_code, 0);
  RunResult restarted = run(once);
  ASSERT_EQ(restarted.exit_code, 0) << restarted.err;
  Probe after = probe(table, {"program-1", "program-2-x"});
  EXPECT_EQ(after.exit_code, 0);
  EXPECT_EQ(after.generation, before.generation + 1);
  EXPECT_EQ(after.entries, static_cast<uint64_t>(kEntries));
  EXPECT_NE(after.flags["program-1"], 0u);
  EXPECT_NE(after.flags["program-2-x"], 0u);
  EXPECT_FALSE(fs::exists(table + ".new")) << "the restarted daemon replaced the stale staging file";
}

}  // namespace
}  // namespace memproxyd_test
