// End to end: a program started as $'x\e]2;PWNED\a\e[2J' with
// MEMPROXY_MONITOR=1 is watched by the real daemon under that name, and
// root's top, history, leaks PID, trace and, once it is judged growing,
// leaks show it escaped, with no control character in their output.
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "e2e_support.hpp"

namespace {

using namespace heapwatch_e2e;

const std::string kName = "x\x1b]2;PWNED\x07\x1b[2J";
const std::string kShown = "x\\x1b]2;PWNED\\x07\\x1b[2J";

// The first byte a terminal would act on (newlines are the CLI's own), or "".
std::string first_control(const std::string& text) {
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if ((c < 0x20 && c != '\n') || c == 0x7F) return "byte " + std::to_string(c) + " at " + std::to_string(i) + " of:\n" + text;
  }
  return "";
}

TEST(TerminalText, AProgramNamedWithEscapesIsShownEscapedInEveryView) {
  memproxy::testing::TempDir dir{0755};
  // A verdict in seconds rather than minutes: the same scale as the daemon's history tests.
  Daemon daemon(dir, {"--verdict-time-scale", "60"}, {"nothing-by-this-name"});
  ASSERT_TRUE(daemon.ready()) << daemon.log();
  const std::string program = dir / kName;
  std::filesystem::create_symlink(MP_GROWER, program);
  Process grower({program, "16384", "20"}, {std::string("LD_PRELOAD=") + MEMPROXY_LIB,
                                            "MEMPROXY_TABLE=" + daemon.table(), "MEMPROXY_MONITOR=1"});
  ASSERT_EQ(grower.read_line(), std::optional<std::string>("growing"));
  const std::string pid = std::to_string(grower.pid());

  Outcome top;
  ASSERT_TRUE(wait_until([&] {
    top = memproxyctl(daemon.table(), {"top", "--once"});
    return top.ok() && top.out.find(pid + " root") != std::string::npos;
  })) << top.describe() << daemon.log();
  EXPECT_EQ(first_control(top.out), "");
  EXPECT_NE(top.out.find(kShown), std::string::npos) << top.out;

  for (const std::vector<std::string>& args : {std::vector<std::string>{"history", pid},
                                               std::vector<std::string>{"leaks", pid},
                                               std::vector<std::string>{"trace", pid, "--seconds", "1"}}) {
    Outcome o = memproxyctl(daemon.table(), args);
    // history and trace answer 0; leaks PID 1 exactly when it shows a growing site.
    const bool growing_site = args[0] == "leaks" && o.out.find("[growing]") != std::string::npos;
    EXPECT_EQ(o.code, growing_site ? 1 : 0) << o.describe();
    EXPECT_EQ(first_control(o.out + o.err), "") << args[0];
    EXPECT_NE(o.out.find(kShown), std::string::npos) << args[0] << ":\n" << o.out;
  }

  // The daemon's error names the program as it was asked for.
  Outcome missing = memproxyctl(daemon.table(), {"history", kName + "-not-running"});
  EXPECT_EQ(missing.code, 4) << missing.describe();
  EXPECT_EQ(first_control(missing.err), "");
  EXPECT_NE(missing.err.find(kShown + "-not-running"), std::string::npos) << missing.err;

  Outcome leaks;
  ASSERT_TRUE(wait_until([&] {
    leaks = memproxyctl(daemon.table(), {"leaks"});
    return leaks.code == 1;
  }, std::chrono::seconds(150))) << leaks.describe() << daemon.log();
  EXPECT_EQ(first_control(leaks.out), "");
  EXPECT_NE(leaks.out.find("x\\x1b]2"), std::string::npos) << leaks.out;
}

}  // namespace
