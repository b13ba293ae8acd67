// Real processes symbolized through the sandboxed worker: function names
// (demangled), files and lines at the call, inlined chains, shared
// libraries, objects, offsets and build-ids; separate debug information
// found by build-id; objects without symbols and addresses without a
// mapping.
#include <gtest/gtest.h>

#include <filesystem>

#include "capability.hpp"
#include "symbols/mappings.hpp"
#include "symbols/symbolizer.hpp"
#include "staged.hpp"
#include "symbols_test_support.hpp"
#include "temp_dir.hpp"

namespace memproxy::testing {
namespace {

using symbols::Location;
using symbols::SymbolizerClient;

std::vector<uint64_t> addresses_of(Target& target, const std::vector<std::string>& names) {
  std::vector<uint64_t> out;
  for (const auto& name : names) out.push_back(target.call(name).address);
  return out;
}

const std::vector<std::string> kCalls = {"plain", "inlined", "library", "namespaced"};

class SymbolizeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MEMPROXY_REQUIRE(missing_unprivileged_runner());
    MEMPROXY_REQUIRE(staged_.missing());
  }
  StagedForOtherUser staged_;  // the worker, which runs as nobody for root's processes
};

TEST_F(SymbolizeTest, NamesTheFunctionFileAndLineOfEachCall) {
  Target target({SYM_TARGET});
  ASSERT_TRUE(target.stopped()) << target.output();
  SymbolizerClient client(worker_options(staged_));
  std::vector<uint64_t> addresses = addresses_of(target, kCalls);
  auto result = client.symbolize(target.pid(), 0, 0, addresses, std::chrono::seconds(30));
  ASSERT_TRUE(result.ok()) << result.error;
  ASSERT_EQ(result.locations.size(), addresses.size());
  const std::string all = describe_all(result.locations);

  const Location& plain = result.locations[0];
  ASSERT_EQ(plain.frames.size(), 1u) << all;
  EXPECT_EQ(plain.frames[0].function, "plain_function()") << all;
  EXPECT_TRUE(ends_with(plain.frames[0].file, "tests/symbols/programs/sym_target.cpp")) << all;
  EXPECT_EQ(plain.frames[0].line, static_cast<uint32_t>(target.call("plain").line)) << all;
  EXPECT_GT(plain.frames[0].column, 0u) << all;
  EXPECT_FALSE(plain.frames[0].inlined);

  const Location& inlined = result.locations[1];
  ASSERT_EQ(inlined.frames.size(), 2u) << all;
  EXPECT_EQ(inlined.frames[0].function, "(anonymous namespace)::inlined_function") << all;
  EXPECT_EQ(inlined.frames[0].line, static_cast<uint32_t>(target.call("inlined").line)) << all;
  EXPECT_TRUE(inlined.frames[0].inlined) << all;
  EXPECT_TRUE(ends_with(inlined.frames[0].file, "sym_target.cpp")) << all;
  EXPECT_EQ(inlined.frames[1].function, "outer_function()") << all;
  EXPECT_EQ(inlined.frames[1].line, static_cast<uint32_t>(target.call("inlined").call_line)) << all;
  EXPECT_TRUE(ends_with(inlined.frames[1].file, "sym_target.cpp")) << all;
  EXPECT_FALSE(inlined.frames[1].inlined) << all;

  const Location& library = result.locations[2];
  ASSERT_EQ(library.frames.size(), 1u) << all;
  EXPECT_EQ(library.frames[0].function, "library_function") << all;
  EXPECT_TRUE(ends_with(library.frames[0].file, "tests/symbols/programs/sym_lib.cpp")) << all;
  EXPECT_EQ(library.frames[0].line, static_cast<uint32_t>(target.call("library").line)) << all;

  const Location& namespaced = result.locations[3];
  ASSERT_EQ(namespaced.frames.size(), 1u) << all;
  EXPECT_EQ(namespaced.frames[0].function, "memproxy_test::inner::namespaced_function(int)") << all;
  EXPECT_EQ(namespaced.frames[0].line, static_cast<uint32_t>(target.call("namespaced").line)) << all;
}

TEST_F(SymbolizeTest, ReportsObjectOffsetAndBuildId) {
  Target target({SYM_TARGET});
  ASSERT_TRUE(target.stopped()) << target.output();
  std::string why;
  auto mappings = symbols::read_maps(target.pid(), &why);
  ASSERT_TRUE(mappings) << why;
  SymbolizerClient client(worker_options(staged_));
  std::vector<uint64_t> addresses = addresses_of(target, kCalls);
  auto result = client.symbolize(target.pid(), 0, 0, addresses, std::chrono::seconds(30));
  ASSERT_TRUE(result.ok()) << result.error;
  const std::string target_path = std::filesystem::canonical(SYM_TARGET).string();
  const std::string library_path = std::filesystem::canonical(SYM_LIB).string();
  for (size_t i = 0; i < addresses.size(); ++i) {
    const Location& location = result.locations[i];
    const std::string& expected = kCalls[i] == "library" ? library_path : target_path;
    EXPECT_TRUE(location.mapped);
    EXPECT_EQ(location.object, expected);
    EXPECT_FALSE(location.deleted);
    EXPECT_EQ(location.build_id, readelf_build_id(expected));
    EXPECT_EQ(location.build_id.size(), 40u);
    const symbols::Mapping* mapping = symbols::find_mapping(*mappings, addresses[i] - 1);
    ASSERT_NE(mapping, nullptr);
    EXPECT_EQ(location.offset, addresses[i] - mapping->start + mapping->offset);
    EXPECT_EQ(location.address, addresses[i]);
  }
}

TEST_F(SymbolizeTest, AnAddressOutsideEveryMappingIsUnknown) {
  Target target({SYM_TARGET});
  ASSERT_TRUE(target.stopped()) << target.output();
  SymbolizerClient client(worker_options(staged_));
  const std::vector<uint64_t> addresses = {0x10, 0, target.call("plain").address};
  auto result = client.symbolize(target.pid(), 0, 0, addresses, std::chrono::seconds(30));
  ASSERT_TRUE(result.ok()) << result.error;
  EXPECT_FALSE(result.locations[0].mapped);
  EXPECT_EQ(symbols::describe(result.locations[0]), "0x10 [unknown]");
  EXPECT_FALSE(result.locations[1].mapped);
  EXPECT_EQ(result.locations[2].frames.at(0).function, "plain_function()");
}

TEST_F(SymbolizeTest, InProcessSymbolizerAgreesWithTheWorker) {
  Target target({SYM_TARGET});
  ASSERT_TRUE(target.stopped()) << target.output();
  SymbolizerClient client(worker_options(staged_));
  std::vector<uint64_t> addresses = addresses_of(target, kCalls);
  auto through_worker = client.symbolize(target.pid(), 0, 0, addresses, std::chrono::seconds(30));
  ASSERT_TRUE(through_worker.ok()) << through_worker.error;
  symbols::Symbolizer symbolizer;
  std::string why;
  auto in_process = symbolizer.symbolize_process(target.pid(), addresses, &why);
  ASSERT_TRUE(in_process) << why;
  EXPECT_EQ(*in_process, through_worker.locations) << describe_all(*in_process) << describe_all(through_worker.locations);
}

// The line is the call's, not the next statement's: the return address
// itself lies on the line after (the store that follows every call).
TEST_F(SymbolizeTest, ReturnAddressesAreLookedUpAtTheCall) {
  Target target({SYM_TARGET});
  ASSERT_TRUE(target.stopped()) << target.output();
  symbols::Symbolizer symbolizer;
  std::string why;
  const uint64_t at_call = target.call("plain").address;
  auto locations = symbolizer.symbolize_process(target.pid(), std::vector<uint64_t>{at_call, at_call + 1}, &why);
  ASSERT_TRUE(locations) << why;
  ASSERT_FALSE((*locations)[0].frames.empty());
  EXPECT_EQ((*locations)[0].frames[0].line, static_cast<uint32_t>(target.call("plain").line));
  // One byte later, "pc - 1" is the return address itself: the store on the next line.
  ASSERT_FALSE((*locations)[1].frames.empty());
  EXPECT_EQ((*locations)[1].frames[0].line, static_cast<uint32_t>(target.call("plain").line) + 1)
      << describe_all(*locations);
}

TEST_F(SymbolizeTest, SeparateDebugInformationIsFoundByBuildId) {
  MEMPROXY_REQUIRE(missing_program("/usr/bin/objcopy", "binutils"));
  TempDir dir(0755);
  const std::string stripped = dir / "sym_target";
  const std::string build_id = readelf_build_id(SYM_TARGET);
  ASSERT_EQ(build_id.size(), 40u);
  const std::string debug_dir = dir / "debug/.build-id/" + build_id.substr(0, 2);
  std::filesystem::create_directories(debug_dir);
  const std::string debug_file = debug_dir + "/" + build_id.substr(2) + ".debug";
  ASSERT_EQ(run_command("objcopy --only-keep-debug '" SYM_TARGET "' '" + debug_file + "' 2>&1"), "");
  ASSERT_EQ(run_command("objcopy --strip-debug '" SYM_TARGET "' '" + stripped + "' 2>&1"), "");
  ASSERT_EQ(run_command("chmod -R a+rX '" + dir.path() + "'"), "");

  Target target({stripped});
  ASSERT_TRUE(target.stopped()) << target.output();
  const std::vector<uint64_t> addresses = {target.call("inlined").address};

  // Without the debug file: the symbol table names the function, no line.
  SymbolizerClient bare(worker_options(staged_));
  auto without = bare.symbolize(target.pid(), 0, 0, addresses, std::chrono::seconds(30));
  ASSERT_TRUE(without.ok()) << without.error;
  ASSERT_EQ(without.locations[0].frames.size(), 1u) << describe_all(without.locations);
  EXPECT_EQ(without.locations[0].frames[0].function, "outer_function()");
  EXPECT_EQ(without.locations[0].frames[0].line, 0u);
  EXPECT_EQ(without.locations[0].build_id, build_id);

  auto options = worker_options(staged_);
  options.debuginfo_path = dir / "debug";
  SymbolizerClient with_debug(options);
  auto with = with_debug.symbolize(target.pid(), 0, 0, addresses, std::chrono::seconds(30));
  ASSERT_TRUE(with.ok()) << with.error;
  ASSERT_EQ(with.locations[0].frames.size(), 2u) << describe_all(with.locations);
  EXPECT_EQ(with.locations[0].frames[0].function, "(anonymous namespace)::inlined_function");
  EXPECT_EQ(with.locations[0].frames[0].line, static_cast<uint32_t>(target.call("inlined").line));
  EXPECT_EQ(with.locations[0].frames[1].line, static_cast<uint32_t>(target.call("inlined").call_line));
  EXPECT_EQ(with.locations[0].object, stripped);
}

TEST_F(SymbolizeTest, AnObjectWithoutSymbolsYieldsObjectAndOffset) {
  MEMPROXY_REQUIRE(missing_program("/usr/bin/strip", "binutils"));
  TempDir dir(0755);
  const std::string stripped = dir / "sym_target";
  ASSERT_EQ(run_command("strip --strip-all -o '" + stripped + "' '" SYM_TARGET "' 2>&1"), "");
  Target target({stripped});
  ASSERT_TRUE(target.stopped()) << target.output();
  SymbolizerClient client(worker_options(staged_));
  const std::vector<uint64_t> addresses = {target.call("plain").address};
  auto result = client.symbolize(target.pid(), 0, 0, addresses, std::chrono::seconds(30));
  ASSERT_TRUE(result.ok()) << result.error;
  const Location& location = result.locations[0];
  EXPECT_TRUE(location.mapped);
  EXPECT_EQ(location.object, stripped);
  EXPECT_TRUE(location.frames.empty()) << describe_all(result.locations);
  EXPECT_EQ(location.build_id, readelf_build_id(SYM_TARGET));
  EXPECT_EQ(symbols::describe(location).find(stripped + "+0x"), symbols::describe(location).find(' ') + 1);
}

}  // namespace
}  // namespace memproxy::testing
