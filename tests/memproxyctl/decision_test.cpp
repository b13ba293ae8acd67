// The decision explain reports must follow the library's matching rule.
#include "decision.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>

#include "memproxy/config.hpp"
#include "memproxy/table_builder.hpp"
#include "memproxy/table_reader.hpp"
#include "table_file.hpp"
#include "temp_dir.hpp"

namespace memproxyctl {
namespace {

class DecisionTest : public ::testing::Test {
 protected:
  TableFile table_for(const std::string& config, const std::string& allocator = "",
                      memproxy::table::FailPolicy fail_policy = memproxy::table::kFailSystem) {
    auto parsed = memproxy::config::parse(config, "test.conf");
    memproxy::table::Settings settings;
    settings.allocator = allocator;
    settings.fail_policy = fail_policy;
    auto image = memproxy::table::build(memproxy::table::entries_from_config(parsed), settings, 3);
    std::ofstream(dir_ + "/table", std::ios::binary)
        .write(reinterpret_cast<const char*>(image.data()), static_cast<std::streamsize>(image.size()));
    return load_table(dir_ + "/table");
  }
  memproxy::testing::TempDir temp_;
  const std::string& dir_ = temp_.path();
};

TEST_F(DecisionTest, NameMatchesInvokedOrBinaryName) {
  auto table = table_for("[exclude]\nvim\n", "libjemalloc.so.2");
  ASSERT_TRUE(table.valid()) << table.error;
  EXPECT_EQ(decide(table, {"vim", ""}).backend, "system");
  auto by_binary = decide(table, {"vi", "/usr/bin/vim"});
  EXPECT_EQ(by_binary.backend, "system");
  ASSERT_EQ(by_binary.matches.size(), 1u);
  EXPECT_EQ(by_binary.matches[0].as, "binary name");
  auto other = decide(table, {"ls", "/usr/bin/ls"});
  EXPECT_EQ(other.backend, "custom");
  EXPECT_EQ(other.allocator, "libjemalloc.so.2");
}

TEST_F(DecisionTest, PathMatchesOnlyTheResolvedBinary) {
  auto table = table_for("/opt/app/bin/server\n");
  EXPECT_EQ(decide(table, {"server", "/opt/app/bin/server"}).backend, "system");
  EXPECT_EQ(decide(table, {"server", "/usr/bin/server"}).backend, "custom");
}

TEST_F(DecisionTest, MonitorDoesNotExclude) {
  auto table = table_for("[monitor]\nleaky\n");
  auto d = decide(table, {"leaky", ""});
  EXPECT_EQ(d.backend, "custom");
  EXPECT_TRUE(d.monitored);
}

// The library's rule (match::sample_rate) without an environment.
TEST_F(DecisionTest, SamplingIsTheMostDetailedRateOfTheMatchingEntries) {
  auto table = table_for("[monitor sample=off]\nleaky\n[monitor sample=64K]\n/opt/app/leaky\n[monitor]\nplain\n");
  ASSERT_TRUE(table.valid()) << table.error;
  auto both = decide(table, {"leaky", "/opt/app/leaky"});
  EXPECT_TRUE(both.monitored);
  EXPECT_EQ(both.sampling.mean_bytes, 65536u);
  EXPECT_EQ(both.sampling.source, memproxy::match::SampleSource::table);
  auto name_only = decide(table, {"leaky", ""});
  EXPECT_EQ(name_only.sampling.mean_bytes, 0u);
  EXPECT_EQ(name_only.sampling.source, memproxy::match::SampleSource::table);
  auto plain = decide(table, {"plain", ""});
  EXPECT_EQ(plain.sampling.mean_bytes, memproxy::match::kDefaultSampleBytes);
  EXPECT_EQ(plain.sampling.source, memproxy::match::SampleSource::fallback);
}

TEST_F(DecisionTest, NoTableFailsSafe) {
  auto missing = load_table(dir_ + "/absent");
  auto d = decide(missing, {"anything", ""});
  EXPECT_EQ(d.backend, "system");
  EXPECT_TRUE(d.fail_safe);
}

TEST_F(DecisionTest, CorruptTableFailsSafe) {
  table_for("top\n");
  std::fstream f(dir_ + "/table", std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(4096 + 3);
  f.put('\x7f');
  f.close();
  auto table = load_table(dir_ + "/table");
  EXPECT_FALSE(table.valid());
  EXPECT_TRUE(table.header_ok);
  EXPECT_EQ(decide(table, {"top", ""}).backend, "system");
}

// libmemproxy verifies only the blocks a lookup reads, so a table damaged
// off a program's lookup path still decides for it by its entries there;
// explain must say what the library does, not what full verification says.
// Damaged on the path, the fail policy (custom here) decides. Which blocks
// a lookup reads is asked of the reader itself.
TEST_F(DecisionTest, ATableDamagedInOneBlockDecidesAsTheLibraryDoes) {
  std::string config = "[exclude]\ntop\n[monitor]\n/usr/bin/top\n";
  for (int i = 0; i < 3000; ++i) config += "filler-" + std::to_string(i) + "\n";
  ASSERT_TRUE(table_for(config, "libjemalloc.so.2", memproxy::table::kFailCustom).valid());
  std::string image;
  {
    std::ifstream in(dir_ + "/table", std::ios::binary);
    image.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const size_t blocks = image.size() / memproxy::table::kBlockSize;
  ASSERT_GE(blocks, 8u);
  int on_path = 0, off_path = 0;
  for (size_t block = 1; block < blocks; ++block) {
    std::string bad = image;
    bad[block * memproxy::table::kBlockSize + 17] ^= 0x5a;
    std::ofstream(dir_ + "/table", std::ios::binary | std::ios::trunc) << bad;
    memproxy::table::View view;
    ASSERT_EQ(memproxy::table::open(bad.data(), bad.size(), &view), memproxy::table::Status::ok);
    const bool read_by_lookup = memproxy::table::lookup(view, "top", 3).status != memproxy::table::Status::ok ||
                                memproxy::table::lookup(view, "/usr/bin/top", 12).status != memproxy::table::Status::ok;
    TableFile table = load_table(dir_ + "/table");
    EXPECT_FALSE(table.valid()) << "block " << block;
    Decision d = decide(table, {"top", "/usr/bin/top"});
    SCOPED_TRACE("block " + std::to_string(block) + ": " + d.reason);
    if (read_by_lookup) {
      ++on_path;
      EXPECT_TRUE(d.fail_safe);
      EXPECT_EQ(d.backend, "custom");
      EXPECT_FALSE(d.monitored);
    } else {
      ++off_path;
      EXPECT_FALSE(d.fail_safe);
      EXPECT_EQ(d.backend, "system");
      EXPECT_TRUE(d.monitored);
      EXPECT_EQ(d.matches.size(), 2u);
    }
  }
  EXPECT_GT(on_path, 0);
  EXPECT_GT(off_path, 0);
}

}  // namespace
}  // namespace memproxyctl
