// The frames the symbolizer makes of one address: every function of an
// inlined chain with its own file:line (compared with elfutils'
// eu-addr2line), and objects whose units .debug_aranges does not list
// (clang, rustc).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>

#include "capability.hpp"
#include "symbols/symbolizer.hpp"
#include "symbols_test_support.hpp"
#include "temp_dir.hpp"

namespace memproxy::testing {
namespace {

using symbols::Frame;

struct ReferenceFrame {
  std::string function;
  std::string file;
  uint32_t line = 0;
};

// `eu-addr2line -i -f -e PROGRAM ADDRESS`: a function line ("NAME" or
// "NAME inlined at FILE:LINE:COL in OUTER") then "FILE:LINE[:COL]" per
// frame, innermost first.
std::vector<ReferenceFrame> eu_addr2line(const std::string& program, uint64_t address) {
  std::ostringstream command;
  command << "eu-addr2line -i -f -e '" << program << "' 0x" << std::hex << address << " 2>&1";
  std::istringstream out(run_command(command.str()));
  std::vector<ReferenceFrame> frames;
  std::string name, where;
  while (std::getline(out, name) && std::getline(out, where)) {
    ReferenceFrame frame;
    frame.function = name.substr(0, name.find(" inlined at "));
    const size_t colon = where.find(':');
    frame.file = where.substr(0, colon);
    if (colon != std::string::npos) frame.line = static_cast<uint32_t>(std::stoul(where.substr(colon + 1)));
    frames.push_back(frame);
  }
  return frames;
}

std::string describe_frames(const std::vector<Frame>& frames) {
  std::string out;
  for (const Frame& f : frames) {
    out += f.function + " " + f.file + ":" + std::to_string(f.line) + (f.inlined ? " [inlined]" : "") + "\n";
  }
  return out;
}

std::vector<Frame> frames_of(Target& target, uint64_t address) {
  symbols::Symbolizer symbolizer;
  std::string why;
  auto locations = symbolizer.symbolize_process(target.pid(), std::vector<uint64_t>{address}, &why);
  EXPECT_TRUE(locations) << why;
  if (!locations) return {};
  return (*locations)[0].frames;
}

TEST(FramesTest, EveryFunctionOfAThreeDeepInlinedChainHasItsOwnLine) {
  Target target({INLINE_CHAIN});
  ASSERT_TRUE(target.stopped()) << target.output();
  const uint64_t address = target.call("chain").address;
  const std::vector<Frame> frames = frames_of(target, address);
  const std::string all = describe_frames(frames);

  ASSERT_EQ(frames.size(), 4u) << all;
  const std::vector<std::string> names = {"(anonymous namespace)::store_session", "(anonymous namespace)::remember_session",
                                          "(anonymous namespace)::handle_request", "main"};
  for (size_t i = 0; i < frames.size(); ++i) {
    // GCC names them from DW_AT_name; clang gives a linkage name, demangled with its "()".
    EXPECT_EQ(frames[i].function.substr(0, frames[i].function.find('(', 1)), names[i]) << all;
    EXPECT_TRUE(ends_with(frames[i].file, "tests/symbols/programs/inline_chain.cpp")) << all;
    EXPECT_EQ(frames[i].inlined, i + 1 < frames.size()) << all;
  }
  EXPECT_EQ(frames[0].line, static_cast<uint32_t>(target.call("chain").line)) << all;
  // Each call lies in the function that makes it, after that function's start.
  EXPECT_LT(frames[0].line, frames[1].line) << all;
  EXPECT_LT(frames[1].line, frames[2].line) << all;
  EXPECT_LT(frames[2].line, frames[3].line) << all;

  MEMPROXY_REQUIRE(missing_program("/usr/bin/eu-addr2line", "elfutils"));
  // The same instruction in the file: the call, at the return address - 1.
  const std::string header = run_command("readelf -h '" INLINE_CHAIN "'");
  const uint64_t base = header.find("DYN (") != std::string::npos ? target.object("base") : 0;
  const std::vector<ReferenceFrame> reference = eu_addr2line(INLINE_CHAIN, address - 1 - base);
  ASSERT_EQ(reference.size(), frames.size()) << all;
  for (size_t i = 0; i < frames.size(); ++i) {
    EXPECT_TRUE(ends_with(frames[i].function, reference[i].function)) << i << ": " << reference[i].function << "\n" << all;
    EXPECT_EQ(frames[i].file, reference[i].file) << i << "\n" << all;
    EXPECT_EQ(frames[i].line, reference[i].line) << i << ": " << reference[i].function << "\n" << all;
  }
}

// clang emits no .debug_aranges unless asked (-gdwarf-aranges).
TEST(FramesTest, ClangUnitsWithoutArangesAreFoundByTheirRanges) {
  MEMPROXY_REQUIRE(missing_program("/usr/bin/clang", "clang"));
  TempDir dir(0755);
  const std::string program = dir / "unit_ranges";
  ASSERT_EQ(run_command("clang -g -O2 -o '" + program + "' '" UNIT_RANGES_C "' 2>&1"), "");
  ASSERT_EQ(run_command("readelf -S '" + program + "'").find(".debug_aranges"), std::string::npos)
      << "this clang emits .debug_aranges by default: the test would not test the fallback";
  Target target({program});
  ASSERT_TRUE(target.stopped()) << target.output();
  const std::vector<Frame> frames = frames_of(target, target.call("clang").address);
  const std::string all = describe_frames(frames);
  ASSERT_EQ(frames.size(), 1u) << all;
  EXPECT_EQ(frames[0].function, "clang_function") << all;
  EXPECT_TRUE(ends_with(frames[0].file, "tests/symbols/programs/unit_ranges.c")) << all;
  EXPECT_EQ(frames[0].line, static_cast<uint32_t>(target.call("clang").line)) << all;
  EXPECT_GT(frames[0].column, 0u) << all;
}

std::string find_rustc() {
  for (const char* candidate : {"/root/.cargo/bin/rustc", "/usr/local/bin/rustc", "/usr/bin/rustc"}) {
    if (::access(candidate, X_OK) == 0) return candidate;
  }
  const char* home = std::getenv("HOME");
  if (home != nullptr) {
    const std::string in_home = std::string(home) + "/.cargo/bin/rustc";
    if (::access(in_home.c_str(), X_OK) == 0) return in_home;
  }
  return "";
}

TEST(FramesTest, RustUnitsWithoutArangesAreFoundByTheirRanges) {
  const std::string rustc = find_rustc();
  if (rustc.empty()) GTEST_SKIP() << "no rustc (looked in /root/.cargo/bin, $HOME/.cargo/bin, /usr/local/bin, /usr/bin)";
  TempDir dir(0755);
  const std::string program = dir / "unit_ranges";
  const std::string built = run_command("'" + rustc + "' -g -O -o '" + program + "' '" UNIT_RANGES_RS "' 2>&1 && echo built");
  if (built.find("built") == std::string::npos) GTEST_SKIP() << rustc << " cannot build here: " << built;
  Target target({program}, {"PATH=/usr/bin:/bin"});
  ASSERT_TRUE(target.stopped()) << target.output();
  const std::vector<Frame> frames = frames_of(target, target.object("rust"));
  const std::string all = describe_frames(frames);
  ASSERT_FALSE(frames.empty()) << all;
  EXPECT_NE(frames.back().function.find("rust_function"), std::string::npos) << all;
  EXPECT_TRUE(ends_with(frames.back().file, "tests/symbols/programs/unit_ranges.rs")) << all;
  EXPECT_GT(frames.back().line, 0u) << all;
}

}  // namespace
}  // namespace memproxy::testing
