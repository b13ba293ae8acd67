// Separate debug information found the ways a distribution installs it,
// and only in regular files: a FIFO where a debug file is looked for
// neither blocks the worker nor stops the search.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "capability.hpp"
#include "staged.hpp"
#include "symbols_test_support.hpp"
#include "temp_dir.hpp"

namespace memproxy::testing {
namespace {

using symbols::SymbolizerClient;

class DebugFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MEMPROXY_REQUIRE(missing_unprivileged_runner());
    MEMPROXY_REQUIRE(staged_.missing());
    MEMPROXY_REQUIRE(missing_program("/usr/bin/objcopy", "binutils"));
  }
  StagedForOtherUser staged_;
};

// The user whose process is symbolized owns the directories searched: a
// FIFO there, opened as libdwfl's standard search opens it, would block
// the worker until the daemon killed it.
TEST_F(DebugFilesTest, AFifoInTheSearchIsPassedOverAndTheDebuglinkFileFound) {
  TempDir dir(0755);
  const std::string stripped = dir / "sym_target";
  const std::string build_id = readelf_build_id(SYM_TARGET);
  ASSERT_EQ(build_id.size(), 40u);
  std::filesystem::create_directories(dir / ".debug");
  const std::string debug_file = dir / ".debug/sym_target.debug";
  ASSERT_EQ(run_command("objcopy --only-keep-debug '" SYM_TARGET "' '" + debug_file + "' 2>&1"), "");
  ASSERT_EQ(run_command("objcopy --strip-debug --add-gnu-debuglink='" + debug_file + "' '" SYM_TARGET "' '" +
                        stripped + "' 2>&1"),
            "");
  // The build-id path, searched first, and the debuglink beside the object, searched next.
  const std::string by_id = dir / "debug/.build-id/" + build_id.substr(0, 2);
  std::filesystem::create_directories(by_id);
  ASSERT_EQ(::mkfifo((by_id + "/" + build_id.substr(2) + ".debug").c_str(), 0644), 0);
  ASSERT_EQ(::mkfifo((dir / "sym_target.debug").c_str(), 0644), 0);
  ASSERT_EQ(run_command("chmod -R a+rX '" + dir.path() + "'"), "");

  Target target({stripped});
  ASSERT_TRUE(target.stopped()) << target.output();
  auto options = worker_options(staged_);
  options.debuginfo_path = ":.debug:" + dir / "debug";
  SymbolizerClient client(options);
  const std::vector<uint64_t> addresses = {target.call("inlined").address};
  auto result = client.symbolize(target.pid(), 0, 0, addresses, std::chrono::seconds(20));
  ASSERT_TRUE(result.ok()) << result.error;
  const std::string all = describe_all(result.locations);
  ASSERT_EQ(result.locations[0].frames.size(), 2u) << all;
  EXPECT_EQ(result.locations[0].frames[0].function, "(anonymous namespace)::inlined_function") << all;
  EXPECT_EQ(result.locations[0].frames[0].line, static_cast<uint32_t>(target.call("inlined").line)) << all;
  EXPECT_EQ(result.locations[0].frames[1].line, static_cast<uint32_t>(target.call("inlined").call_line)) << all;
}

}  // namespace
}  // namespace memproxy::testing
