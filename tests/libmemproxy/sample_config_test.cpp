// The sampling rate memproxy.conf sets ([monitor sample=SIZE|off]) is the
// mean a monitored process samples with, as its heap account shows it to
// the daemon; MEMPROXY_SAMPLE_BYTES overrides it; and the MEMPROXY_DEBUG
// line says where the rate came from.
#include <gtest/gtest.h>
#include <signal.h>

#include "harness.hpp"
#include "memproxy/heap_reader.hpp"

namespace mptest {
namespace {

using memproxy::heap::MappedAccount;
using memproxy::testing::Process;

struct Seen {
  uint64_t mean = UINT64_MAX;  // the account's sample_mean_bytes
  uint64_t taken = 0;          // samples taken
  std::string debug;           // the MEMPROXY_DEBUG line
};

class SampleConfig : public RunsArch {
 protected:
  std::string needs() const override { return a.missing(backend("jemalloc")); }
  TempDir dir;

  // The probe, listed under `sections` by both its names, holding 1 MiB in
  // 4 KiB blocks: a few dozen samples at most, so no budget or filling
  // record table moves the mean from the one asked for.
  std::string listed(const std::string& sections) { return sections + "mp-probe\nmp-probe32\n"; }

  void run_probe(const std::string& config, const std::vector<std::string>& extra_env, Seen* seen) {
    auto env = env_with(a.lib + ":" + a.jemalloc(), make_table(dir, config));
    env.push_back("MEMPROXY_SAMPLE_BUDGET=0");
    env.insert(env.end(), extra_env.begin(), extra_env.end());
    Process p({a.probe, "heap", std::to_string(1 << 20), "4096"}, env);
    ASSERT_TRUE(p.read_line().has_value()) << p.finish().describe();
    ASSERT_TRUE(p.wait_stopped()) << p.finish().describe();
    std::string why;
    MappedAccount account = MappedAccount::of_process(p.pid(), &why);
    ASSERT_TRUE(account) << why;
    seen->mean = account.header().sample_mean_bytes;
    seen->taken = account.samples().taken;
    p.signal(SIGKILL);
    seen->debug = p.finish().err;
  }

  static std::string field(const std::string& line, const std::string& name) {
    size_t at = line.find(" " + name + "=");
    if (at == std::string::npos) return "";
    at += name.size() + 2;
    return line.substr(at, line.find(' ', at) - at);
  }
};

TEST_P(SampleConfig, TheTablesRateIsTheProcesssMean) {
  Seen seen;
  run_probe(listed("[monitor sample=64K]\n"), {}, &seen);
  EXPECT_EQ(seen.mean, 65536u);
  EXPECT_GT(seen.taken, 0u);
  EXPECT_NE(seen.debug.find(", sampling every 65536 bytes (memproxy.conf)"), std::string::npos) << seen.debug;
}

TEST_P(SampleConfig, OffInTheTableTakesNoSample) {
  Seen seen;
  run_probe(listed("[monitor sample=off]\n"), {}, &seen);
  EXPECT_EQ(seen.mean, 0u);
  EXPECT_EQ(seen.taken, 0u);
  EXPECT_NE(seen.debug.find(", no sampled stacks (memproxy.conf)"), std::string::npos) << seen.debug;
}

TEST_P(SampleConfig, APlainMonitorSectionSamplesAtTheDefault) {
  Seen seen;
  run_probe(listed("[monitor]\n"), {}, &seen);
  EXPECT_EQ(seen.mean, 512u * 1024);
  EXPECT_NE(seen.debug.find(", sampling every 524288 bytes (default)"), std::string::npos) << seen.debug;
}

TEST_P(SampleConfig, TheEnvironmentOverridesTheTable) {
  Seen finer;
  run_probe(listed("[monitor sample=64K]\n"), {"MEMPROXY_SAMPLE_BYTES=32768"}, &finer);
  EXPECT_EQ(finer.mean, 32768u);
  EXPECT_NE(finer.debug.find(", sampling every 32768 bytes (MEMPROXY_SAMPLE_BYTES)"), std::string::npos)
      << finer.debug;

  Seen on;
  run_probe(listed("[monitor sample=off]\n"), {"MEMPROXY_SAMPLE_BYTES=4096"}, &on);
  EXPECT_EQ(on.mean, 4096u);
  EXPECT_GT(on.taken, 0u);

  Seen off;
  run_probe(listed("[monitor sample=64K]\n"), {"MEMPROXY_SAMPLE_BYTES=0"}, &off);
  EXPECT_EQ(off.mean, 0u);
  EXPECT_NE(off.debug.find(", no sampled stacks (MEMPROXY_SAMPLE_BYTES)"), std::string::npos) << off.debug;
}

// [exclude] by name and [monitor sample=64K] by path: a monitored process
// on the system allocator, sampling at the path entry's rate.
TEST_P(SampleConfig, ExcludedByNameAndSampledByPath) {
  Seen seen;
  run_probe(listed("[exclude]\n") + "[monitor sample=64K]\n" + a.probe + "\n", {}, &seen);
  EXPECT_EQ(field(seen.debug, "backend"), "system") << seen.debug;
  EXPECT_EQ(field(seen.debug, "monitored"), "1") << seen.debug;
  EXPECT_EQ(seen.mean, 65536u);
}

// The name says off, the path 1M, the name again (another section) 256K:
// the most detailed rate asked for wins.
TEST_P(SampleConfig, TheMostDetailedRateWinsAcrossEntries) {
  Seen seen;
  run_probe(listed("[monitor sample=off]\n") + "[monitor sample=1M]\n" + a.probe + "\n" +
                listed("[monitor sample=256K]\n"),
            {}, &seen);
  EXPECT_EQ(seen.mean, 256u * 1024);
  Seen path_only;
  run_probe(listed("[monitor sample=off]\n") + "[monitor sample=1M]\n" + a.probe + "\n", {}, &path_only);
  EXPECT_EQ(path_only.mean, 1u << 20);
  EXPECT_NE(path_only.debug.find(", sampling every 1048576 bytes (memproxy.conf)"), std::string::npos)
      << path_only.debug;
}

INSTANTIATE_TEST_SUITE_P(Both, SampleConfig, testing::ValuesIn(arches()), arch_name);

}  // namespace
}  // namespace mptest
