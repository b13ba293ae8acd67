// A 32-bit reader (built with -m32 from the same sources) reads a table the
// 64-bit builder wrote and answers every lookup exactly as the 64-bit reader.
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include <gtest/gtest.h>

#include "capability.hpp"
#include "run_command.hpp"
#include "table_test_util.hpp"
#include "temp_dir.hpp"

namespace mt = memproxy::table;
using memproxy::testing::run_command;

namespace {

TEST(TableBitness, ThirtyTwoBitReaderAnswersLikeTheSixtyFourBitOne) {
  const std::string reader32 = MEMPROXY_TABLE_LOOKUP32;
  if (reader32.empty()) GTEST_SKIP() << "32-bit reader not built (MEMPROXY_BUILD_32BIT is OFF)";
  MEMPROXY_REQUIRE(memproxy::testing::missing_32bit_execution());
  memproxy::testing::TempDir temp;
  const std::string& dir = temp.path();

  std::mt19937_64 rng(32);
  auto entries = memproxy::testing::random_entries(rng, 20000, true);
  entries.push_back({"/" + std::string(3000, 'L'), mt::kFlagExclude});  // spans string blocks
  auto image = mt::build(entries, {"libjemalloc.so.2", mt::kFailSystem, 0}, 77);
  std::ofstream(dir + "/table", std::ios::binary)
      .write(reinterpret_cast<const char*>(image.data()), static_cast<std::streamsize>(image.size()));

  std::unordered_map<std::string, uint32_t> truth;
  std::ostringstream keys, expected;
  expected << "generation 77 entries " << entries.size() << " allocator libjemalloc.so.2\n";
  for (const auto& e : entries) truth[e.key] = e.flags;
  for (int i = 0; i < 40000; ++i) {
    std::string key = i % 2 == 0 ? entries[rng() % entries.size()].key : memproxy::testing::random_key(rng);
    auto it = truth.find(key);
    keys << key << "\n";
    expected << "ok " << (it == truth.end() ? 0u : it->second) << "\n";
  }
  std::ofstream(dir + "/keys") << keys.str();

  std::string args = " " + dir + "/table " + dir + "/keys";
  std::string out64 = run_command(std::string(MEMPROXY_TABLE_LOOKUP64) + args);
  std::string out32 = run_command(reader32 + args);
  EXPECT_EQ(out64, expected.str());
  EXPECT_EQ(out32, expected.str());
}

}  // namespace
