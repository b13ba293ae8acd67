// The caches stay bounded and keep answering: more objects and addresses
// than they hold give the same answers as unbounded caches, round after
// round; one build mapped from two paths is parsed once; a kept worker
// serves the next process of the same user.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <set>
#include <thread>

#include "capability.hpp"
#include "staged.hpp"
#include "symbols/symbolizer.hpp"
#include "symbols_test_support.hpp"
#include "temp_dir.hpp"

namespace memproxy::testing {
namespace {

using symbols::Symbolizer;
using symbols::SymbolizerOptions;

std::vector<uint64_t> many_objects(Target& target) {
  std::vector<uint64_t> addresses;
  for (const auto& [name, call] : target.calls()) addresses.push_back(call.address);
  for (const auto& [name, address] : target.objects()) addresses.push_back(address);
  return addresses;
}

TEST(CacheTest, EvictionKeepsTheAnswersRight) {
  Target target({SYM_TARGET});
  ASSERT_TRUE(target.stopped()) << target.output();
  std::vector<uint64_t> addresses = many_objects(target);
  std::string why;
  Symbolizer unbounded;
  auto expected = unbounded.symbolize_process(target.pid(), addresses, &why);
  ASSERT_TRUE(expected) << why;
  std::set<std::string> objects;
  for (const auto& location : *expected) {
    EXPECT_FALSE(location.frames.empty()) << describe_all(*expected);
    objects.insert(location.build_id);
  }
  ASSERT_GE(objects.size(), 5u) << describe_all(*expected);  // the program, its library, libc, libm, libstdc++, libgcc_s
  for (const char* name : {"libc", "libm", "libstdc++", "libgcc_s"}) {
    const uint64_t address = target.object(name);
    auto it = std::find_if(expected->begin(), expected->end(), [&](const auto& l) { return l.address == address; });
    ASSERT_NE(it, expected->end());
    EXPECT_NE(it->object.find(std::string("/") + name), std::string::npos) << describe_all(*expected);
  }

  SymbolizerOptions small;
  small.max_objects = 2;
  small.max_addresses = 3;
  Symbolizer bounded(small);
  for (int round = 0; round < 3; ++round) {
    auto got = bounded.symbolize_process(target.pid(), addresses, &why);
    ASSERT_TRUE(got) << why;
    EXPECT_EQ(*got, *expected) << "round " << round << "\n" << describe_all(*got);
    std::reverse(addresses.begin(), addresses.end());
    std::reverse(expected->begin(), expected->end());
    const auto stats = bounded.stats();
    EXPECT_LE(stats.objects, 2u);
    EXPECT_LE(stats.addresses, 3u);
  }
  const auto stats = bounded.stats();
  EXPECT_GT(stats.object_evictions, 0u);
  EXPECT_GT(stats.address_evictions, 0u);
  EXPECT_GT(stats.object_loads, objects.size());
}

TEST(CacheTest, RepeatedAddressesAreServedFromTheCache) {
  Target target({SYM_TARGET});
  ASSERT_TRUE(target.stopped()) << target.output();
  const std::vector<uint64_t> addresses = many_objects(target);
  Symbolizer symbolizer;
  std::string why;
  auto first = symbolizer.symbolize_process(target.pid(), addresses, &why);
  ASSERT_TRUE(first) << why;
  const auto cold = symbolizer.stats();
  auto second = symbolizer.symbolize_process(target.pid(), addresses, &why);
  ASSERT_TRUE(second) << why;
  EXPECT_EQ(*first, *second);
  const auto warm = symbolizer.stats();
  EXPECT_EQ(warm.object_loads, cold.object_loads);
  EXPECT_EQ(warm.address_hits - cold.address_hits, addresses.size());
}

TEST(CacheTest, OneBuildAtTwoPathsIsParsedOnce) {
  TempDir dir(0755);
  const std::string copy = dir / "copy";
  std::filesystem::copy_file(SYM_TARGET, copy);
  Target original({SYM_TARGET});
  Target copied({copy});
  ASSERT_TRUE(original.stopped() && copied.stopped());
  Symbolizer symbolizer;
  std::string why;
  const std::vector<uint64_t> in_original{original.call("plain").address, original.call("library").address};
  const std::vector<uint64_t> in_copy{copied.call("plain").address, copied.call("library").address};
  auto a = symbolizer.symbolize_process(original.pid(), in_original, &why);
  ASSERT_TRUE(a) << why;
  const uint64_t loads = symbolizer.stats().object_loads;
  EXPECT_EQ(loads, 2u);
  auto b = symbolizer.symbolize_process(copied.pid(), in_copy, &why);
  ASSERT_TRUE(b) << why;
  EXPECT_EQ(symbolizer.stats().object_loads, loads);
  EXPECT_EQ((*b)[0].object, copy);
  EXPECT_EQ((*b)[0].frames, (*a)[0].frames);
  EXPECT_EQ((*b)[0].build_id, (*a)[0].build_id);
}

TEST(CacheTest, AKeptWorkerServesTheNextProcess) {
  MEMPROXY_REQUIRE(missing_unprivileged_runner());
  StagedForOtherUser staged;
  MEMPROXY_REQUIRE(staged.missing());
  symbols::SymbolizerClient client(worker_options(staged));
  pid_t worker = -1;
  for (int i = 0; i < 3; ++i) {
    Target target({SYM_TARGET});
    ASSERT_TRUE(target.stopped()) << target.output();
    const std::vector<uint64_t> addresses{target.call("namespaced").address};
    auto result = client.symbolize(target.pid(), 0, 0, addresses, std::chrono::seconds(30));
    ASSERT_TRUE(result.ok()) << result.error;
    EXPECT_EQ(result.locations[0].frames.at(0).function, "memproxy_test::inner::namespaced_function(int)");
    ASSERT_EQ(client.worker_pids().size(), 1u);
    if (i == 0) worker = client.worker_pids()[0];
    EXPECT_EQ(client.worker_pids()[0], worker);
  }
}

TEST(CacheTest, WorkersAreBoundedAndIdleOnesClosed) {
  MEMPROXY_REQUIRE(missing_unprivileged_runner());
  StagedForOtherUser staged;
  MEMPROXY_REQUIRE(staged.missing());
  Target target({SYM_TARGET});
  ASSERT_TRUE(target.stopped()) << target.output();
  auto options = worker_options(staged);
  options.max_workers = 2;
  options.idle_timeout = std::chrono::milliseconds(200);
  symbols::SymbolizerClient client(options);
  const std::vector<uint64_t> addresses{target.call("plain").address};
  // Root's processes symbolized as three different unprivileged identities.
  for (gid_t gid : {65534u, 65533u, 65532u}) {
    auto result = client.symbolize(target.pid(), 65534, gid, addresses, std::chrono::seconds(30));
    ASSERT_TRUE(result.ok()) << result.error;
    EXPECT_LE(client.worker_pids().size(), 2u);
  }
  // Idle for their timeout (200 ms), each is closed by the next close_idle.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!client.worker_pids().empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    client.close_idle();
  }
  EXPECT_TRUE(client.worker_pids().empty());
}

}  // namespace
}  // namespace memproxy::testing
