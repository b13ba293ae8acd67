// Objects as the process mapped them: a binary deleted after it started
// still symbolizes (through /proc/PID/map_files), and a path that names a
// different file than the mapped one is never read as if it were it.
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "capability.hpp"
#include "staged.hpp"
#include "symbols_test_support.hpp"
#include "temp_dir.hpp"

namespace memproxy::testing {
namespace {

using symbols::SymbolizerClient;

class ReplacedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MEMPROXY_REQUIRE(missing_unprivileged_runner());
    MEMPROXY_REQUIRE(staged_.missing());
  }
  StagedForOtherUser staged_;  // the worker, which runs as nobody for root's processes

  // A copy of sym_target in a directory of its own, running and stopped.
  std::unique_ptr<Target> start_copy() {
    std::filesystem::copy_file(SYM_TARGET, path_);
    return std::make_unique<Target>(std::vector<std::string>{path_});
  }

  TempDir dir_{0755};
  const std::string path_ = dir_ / "program";
};

TEST_F(ReplacedTest, ADeletedBinaryStillSymbolizes) {
  auto target = start_copy();
  ASSERT_TRUE(target->stopped()) << target->output();
  ASSERT_TRUE(std::filesystem::remove(path_));
  SymbolizerClient client(worker_options(staged_));
  const std::vector<uint64_t> addresses = {target->call("plain").address};
  auto result = client.symbolize(target->pid(), 0, 0, addresses, std::chrono::seconds(30));
  ASSERT_TRUE(result.ok()) << result.error;
  const auto& location = result.locations[0];
  EXPECT_TRUE(location.deleted);
  EXPECT_EQ(location.object, path_);
  EXPECT_EQ(location.build_id, readelf_build_id(SYM_TARGET));
  ASSERT_EQ(location.frames.size(), 1u) << describe_all(result.locations);
  EXPECT_EQ(location.frames[0].function, "plain_function()");
  EXPECT_EQ(location.frames[0].line, static_cast<uint32_t>(target->call("plain").line));

  // Without map_files there is nothing to open: object+offset, and why.
  auto options = worker_options(staged_);
  options.use_map_files = false;
  SymbolizerClient by_path(options);
  auto without = by_path.symbolize(target->pid(), 0, 0, addresses, std::chrono::seconds(30));
  ASSERT_TRUE(without.ok()) << without.error;
  EXPECT_TRUE(without.locations[0].frames.empty()) << describe_all(without.locations);
  EXPECT_NE(without.locations[0].note.find("deleted"), std::string::npos) << without.locations[0].note;
}

TEST_F(ReplacedTest, ABinaryReplacedOnDiskIsReadAsMapped) {
  auto target = start_copy();
  ASSERT_TRUE(target->stopped()) << target->output();
  // Another ELF file renamed over the path, as a package upgrade does.
  std::filesystem::copy_file(MAP_EXEC, path_ + ".new");
  std::filesystem::rename(path_ + ".new", path_);
  SymbolizerClient client(worker_options(staged_));
  const std::vector<uint64_t> addresses = {target->call("namespaced").address};
  auto result = client.symbolize(target->pid(), 0, 0, addresses, std::chrono::seconds(30));
  ASSERT_TRUE(result.ok()) << result.error;
  const auto& location = result.locations[0];
  EXPECT_TRUE(location.deleted);
  EXPECT_EQ(location.build_id, readelf_build_id(SYM_TARGET));
  EXPECT_NE(location.build_id, readelf_build_id(MAP_EXEC));
  ASSERT_EQ(location.frames.size(), 1u) << describe_all(result.locations);
  EXPECT_EQ(location.frames[0].function, "memproxy_test::inner::namespaced_function(int)");
}

// A file mounted over the mapped one: maps still shows the path, which now
// opens another file. Opened by path, its device and inode give it away.
TEST_F(ReplacedTest, APathNamingAnotherFileIsNotRead) {
  auto target = start_copy();
  ASSERT_TRUE(target->stopped()) << target->output();
  const std::string other = dir_ / "other";
  std::filesystem::copy_file(SYM_TARGET, other);  // even the same content: not the mapped file
  if (::mount(other.c_str(), path_.c_str(), nullptr, MS_BIND, nullptr) != 0) {
    GTEST_SKIP() << "cannot bind-mount a file here: " << std::strerror(errno);
  }
  struct Unmount {
    std::string path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{path_};

  const std::vector<uint64_t> addresses = {target->call("plain").address};
  auto options = worker_options(staged_);
  options.use_map_files = false;
  SymbolizerClient by_path(options);
  auto refused = by_path.symbolize(target->pid(), 0, 0, addresses, std::chrono::seconds(30));
  ASSERT_TRUE(refused.ok()) << refused.error;
  EXPECT_FALSE(refused.locations[0].deleted);
  EXPECT_EQ(refused.locations[0].object, path_);
  EXPECT_TRUE(refused.locations[0].frames.empty()) << describe_all(refused.locations);
  EXPECT_TRUE(refused.locations[0].build_id.empty());
  EXPECT_NE(refused.locations[0].note.find("not the file the process mapped"), std::string::npos)
      << refused.locations[0].note;

  SymbolizerClient client(worker_options(staged_));
  auto mapped = client.symbolize(target->pid(), 0, 0, addresses, std::chrono::seconds(30));
  ASSERT_TRUE(mapped.ok()) << mapped.error;
  ASSERT_EQ(mapped.locations[0].frames.size(), 1u) << describe_all(mapped.locations);
  EXPECT_EQ(mapped.locations[0].frames[0].function, "plain_function()");
}

}  // namespace
}  // namespace memproxy::testing
