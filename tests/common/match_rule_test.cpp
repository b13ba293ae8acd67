// The matching rule on its own (match.hpp), against a table given as a map:
// section flags OR across a process's forms, sampling codes combine to the
// smallest one given, and the sampling mean's precedence (environment,
// table, default).
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "memproxy/match.hpp"

namespace mt = memproxy::table;
namespace match = memproxy::match;

namespace {

constexpr uint32_t kMonitor = mt::kFlagMonitor;
constexpr uint32_t kExclude = mt::kFlagExclude;
constexpr uint32_t kOff = mt::kSampleCodeOff;

uint32_t sampled(uint32_t flags, uint32_t code) { return mt::with_sample_code(flags, code); }

// The three forms of one process: /opt/app/bin/server, invoked as "srv".
match::Result match_with(const std::map<std::string, uint32_t>& table) {
  match::Identity who{{"/opt/app/bin/server", "server", "srv"}};
  return match::match(who, [&table](const char* key, size_t length, uint32_t* flags) {
    auto it = table.find(std::string(key, length));
    *flags = it == table.end() ? 0 : it->second;
    return uint32_t{0};
  });
}

TEST(MatchRule, TheMostDetailedRateWinsAcrossANameAndAPath) {
  auto r = match_with({{"srv", sampled(kMonitor, kOff)}, {"/opt/app/bin/server", sampled(kMonitor, 16)}});
  EXPECT_TRUE(r.monitored());
  EXPECT_FALSE(r.excluded());
  EXPECT_EQ(r.sample_code, 16u);
  EXPECT_TRUE(r.sample_specified());
  EXPECT_EQ(r.sample_bytes(), 65536u);
  EXPECT_EQ(r.key_flags[match::kBinaryPath], sampled(kMonitor, 16));
  EXPECT_EQ(r.key_flags[match::kInvokedName], sampled(kMonitor, kOff));

  auto three = match_with({{"srv", sampled(kMonitor, 20)},
                           {"server", sampled(kMonitor, 12)},
                           {"/opt/app/bin/server", sampled(kMonitor, 24)}});
  EXPECT_EQ(three.sample_code, 12u);
  EXPECT_EQ(three.sample_bytes(), 4096u);
}

TEST(MatchRule, OffOnlyWhenEveryEntryThatSaysSomethingSaysOff) {
  auto all_off = match_with({{"srv", sampled(kMonitor, kOff)}, {"server", sampled(kMonitor, kOff)}});
  EXPECT_TRUE(all_off.sample_specified());
  EXPECT_EQ(all_off.sample_code, kOff);
  EXPECT_EQ(all_off.sample_bytes(), 0u);

  auto off_and_plain = match_with({{"srv", sampled(kMonitor, kOff)}, {"/opt/app/bin/server", kMonitor}});
  EXPECT_EQ(off_and_plain.sample_code, kOff) << "a plain [monitor] entry asks for nothing";

  auto off_and_excluded = match_with({{"srv", kExclude}, {"server", sampled(kMonitor, kOff)}});
  EXPECT_TRUE(off_and_excluded.excluded());
  EXPECT_TRUE(off_and_excluded.monitored());
  EXPECT_EQ(off_and_excluded.sample_code, kOff);
}

TEST(MatchRule, NothingSpecifiedLeavesTheCodeUnset) {
  auto plain = match_with({{"srv", kMonitor}, {"server", kExclude}});
  EXPECT_FALSE(plain.sample_specified());
  EXPECT_EQ(plain.sample_code, mt::kSampleCodeUnset);
  EXPECT_EQ(match_with({}).sample_code, mt::kSampleCodeUnset);
}

TEST(MatchRule, SectionFlagsNeverCarryTheCodeBits) {
  auto r = match_with({{"srv", sampled(kExclude | kMonitor, 17)}, {"server", sampled(kMonitor, 30)}});
  EXPECT_EQ(r.flags, kExclude | kMonitor);
  EXPECT_EQ(r.sample_code, 17u);
}

TEST(MatchRule, CombiningCodesIsTheMinimumOfTheSpecifiedOnes) {
  EXPECT_EQ(match::combine_sample_codes(0, 0), 0u);
  EXPECT_EQ(match::combine_sample_codes(0, kOff), kOff);
  EXPECT_EQ(match::combine_sample_codes(kOff, 0), kOff);
  EXPECT_EQ(match::combine_sample_codes(kOff, 4), 4u);
  EXPECT_EQ(match::combine_sample_codes(19, 16), 16u);
  EXPECT_EQ(match::combine_sample_codes(16, 19), 16u);
}

TEST(MatchRule, TheEnvironmentOverridesTheTableWhichOverridesTheDefault) {
  auto table = match_with({{"srv", sampled(kMonitor, 16)}});
  auto from_table = match::sample_rate(table, -1);
  EXPECT_EQ(from_table.mean_bytes, 65536u);
  EXPECT_EQ(from_table.source, match::SampleSource::table);
  EXPECT_STREQ(match::sample_source_name(from_table.source), "memproxy.conf");

  auto from_environment = match::sample_rate(table, 4096);
  EXPECT_EQ(from_environment.mean_bytes, 4096u);
  EXPECT_EQ(from_environment.source, match::SampleSource::environment);
  EXPECT_STREQ(match::sample_source_name(from_environment.source), "MEMPROXY_SAMPLE_BYTES");
  EXPECT_EQ(match::sample_rate(table, 0).mean_bytes, 0u) << "MEMPROXY_SAMPLE_BYTES=0 is off";

  auto off = match::sample_rate(match_with({{"srv", sampled(kMonitor, kOff)}}), -1);
  EXPECT_EQ(off.mean_bytes, 0u);
  EXPECT_EQ(off.source, match::SampleSource::table);

  auto fallback = match::sample_rate(match_with({{"srv", kMonitor}}), -1);
  EXPECT_EQ(fallback.mean_bytes, 512u * 1024);
  EXPECT_EQ(fallback.source, match::SampleSource::fallback);
  EXPECT_STREQ(match::sample_source_name(fallback.source), "default");
}

}  // namespace
