// No process is shown without a reading: a daemon that adopts a running
// process at start, or takes a hand-over, reads its account then, so its
// first `top` shows the process's bytes, not 0 B until the first tick.
// The daemon here ticks once an hour: whatever top shows was read at
// registration.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "e2e_support.hpp"

namespace heapwatch_e2e {
namespace {

using nlohmann::json;

// The process's entry in one `top --json`, if listed.
std::optional<json> entry_in_top(const std::string& table, pid_t pid) {
  Outcome top = memproxyctl(table, {"top", "--json"});
  EXPECT_TRUE(top.ok()) << top.describe();
  if (!top.ok()) return std::nullopt;
  const json answer = json::parse(top.out);
  for (const json& v : answer["processes"]) {
    if (v["process"]["pid"] == pid) return v;
  }
  return std::nullopt;
}

// memproxyd as e2e_support's Daemon starts it, but ticking once an hour.
class HourlyDaemon {
 public:
  explicit HourlyDaemon(const memproxy::testing::TempDir& dir)
      : table_(dir / "run/table"), log_(dir / "memproxyd.log") {
    dir.write("memproxy.conf", "[monitor]\nmp-grower\n");
    std::filesystem::remove(log_);
    process_ = std::make_unique<memproxy::testing::DaemonProcess>(
        std::vector<std::string>{MEMPROXYD_BIN, "-f", "-c", dir / "memproxy.conf", "-t", table_, "--sample-interval",
                                 "3600000", "--no-history"},
        std::vector<std::string>{"PATH=/usr/bin:/bin"}, log_);
  }
  const std::string& table() const { return table_; }
  std::string log() const { return process_->log(); }
  bool ready() const { return process_->ready(table_, kPatience); }

 private:
  std::string table_, log_;
  std::unique_ptr<memproxy::testing::DaemonProcess> process_;  // killed with it
};

TEST(FirstReadingTest, ARestartedDaemonsFirstTopShowsTheBytesOfTheProcessesItAdopted) {
  memproxy::testing::TempDir dir{0755};
  std::optional<Daemon> daemon;
  daemon.emplace(dir, std::vector<std::string>{"--no-history"});
  ASSERT_TRUE(daemon->ready()) << daemon->log();
  auto grower = start_grower(daemon->table());
  ASSERT_EQ(grower->read_line(), std::optional<std::string>("growing"));
  const std::string watching = "watching the heap of pid " + std::to_string(grower->pid());
  ASSERT_TRUE(wait_until([&] { return daemon->log().find(watching) != std::string::npos; })) << daemon->log();

  EXPECT_EQ(daemon->stop(), 0) << daemon->log();
  daemon.reset();
  HourlyDaemon hourly(dir);
  ASSERT_TRUE(hourly.ready()) << hourly.log();
  ASSERT_NE(hourly.log().find("1 monitored process already running"), std::string::npos) << hourly.log();
  std::optional<json> view = entry_in_top(hourly.table(), grower->pid());
  ASSERT_TRUE(view) << hourly.log();
  EXPECT_GE((*view)["latest"]["live_bytes"].get<uint64_t>(), 16384u) << view->dump();
  EXPECT_GT((*view)["latest"]["allocations"].get<uint64_t>(), 0u) << view->dump();
  EXPECT_GT((*view)["latest"]["unix_ns"].get<int64_t>(), 0) << view->dump();
}

TEST(FirstReadingTest, AHandedOverProcessIsShownWithItsBytesBeforeTheFirstTick) {
  memproxy::testing::TempDir dir{0755};
  HourlyDaemon daemon(dir);
  ASSERT_TRUE(daemon.ready()) << daemon.log();
  auto grower = start_grower(daemon.table());
  ASSERT_EQ(grower->read_line(), std::optional<std::string>("growing"));
  const std::string watching = "watching the heap of pid " + std::to_string(grower->pid());
  ASSERT_TRUE(wait_until([&] { return daemon.log().find(watching) != std::string::npos; })) << daemon.log();
  std::optional<json> view = entry_in_top(daemon.table(), grower->pid());
  ASSERT_TRUE(view) << daemon.log();
  EXPECT_GT((*view)["latest"]["unix_ns"].get<int64_t>(), 0) << view->dump();
  EXPECT_GT((*view)["latest"]["rss_bytes"].get<uint64_t>(), 0u) << view->dump();
}

}  // namespace
}  // namespace heapwatch_e2e
