// The call sites on the query protocol: the request, round trips of every
// field, the cuts applied to hostile names and long lists, the answer's
// byte budget, and the daemon's conversion from a SiteHistory.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "heapwatch/analysis/site_views.hpp"
#include "memproxy/heap_query.hpp"

namespace {

namespace hq = memproxy::heap_query;
namespace hw = memproxy::heapwatch;
using nlohmann::json;

hq::FrameView frame(const std::string& function, bool inlined = false) {
  hq::FrameView f;
  f.address = 0x55550000abcdu;
  f.function = function;
  f.file = "/src/app/" + function + ".cpp";
  f.line = 42;
  f.column = 7;
  f.object = "/usr/bin/app";
  f.build_id = "0123456789abcdef0123456789abcdef01234567";
  f.object_offset = 0xabcd;
  f.inlined = inlined;
  return f;
}

hq::SiteView site() {
  hq::SiteView s;
  s.frames = {frame("leaf", true), frame("parse"), frame("main")};
  s.estimated_bytes = 123456789;
  s.estimated_blocks = 321;
  s.samples = 17;
  s.truncated_samples = 2;
  s.growth_bytes_per_hour = 1.5e6;
  s.growth_confidence = 0.9995;
  s.growing = true;
  s.first_seen_unix_ns = 1700000000000000000;
  s.oldest_allocation_unix_ns = 1700000000000000001;
  s.newest_allocation_unix_ns = 1700000000000000002;
  s.series = {{1700000000000000000, 100}, {1700000060000000000, 200}};
  return s;
}

hq::SitesAnswer answer() {
  hq::SitesAnswer a;
  a.process.pid = 77;
  a.process.user = "alice";
  a.process.program = "app";
  a.unix_ns = 1700000000000000003;
  a.sample_mean_bytes = 512 * 1024;
  a.samples = 40;
  a.rejected_samples = 1;
  a.estimated_bytes = 999999999;
  a.sites_total = 9;
  a.truncated = true;
  a.symbols_error = "the symbolizer took longer than 5000 ms";
  a.sites = {site(), site()};
  a.sites[1].growing = false;
  a.sites[1].shrinking = true;
  a.sites[1].growth_bytes_per_hour = -2e6;
  return a;
}

TEST(SitesWire, RequestRoundTripAndRefusals) {
  hq::SitesRequest r{1234, 7};
  auto parsed = hq::parse_sites_request(hq::sites_request_line(r));
  ASSERT_TRUE(std::holds_alternative<hq::SitesRequest>(parsed));
  EXPECT_EQ(std::get<hq::SitesRequest>(parsed).pid, 1234);
  EXPECT_EQ(std::get<hq::SitesRequest>(parsed).limit, 7u);

  auto plain = hq::parse_sites_request(R"({"request":"sites","pid":5})");
  ASSERT_TRUE(std::holds_alternative<hq::SitesRequest>(plain));
  EXPECT_EQ(std::get<hq::SitesRequest>(plain).limit, hq::kDefaultSites);

  const std::vector<std::pair<std::string, std::string>> refused{
      {"nope", "the request is not JSON"},
      {R"({"request":"top"})", "not a \"sites\" request"},
      {R"({"request":"sites"})", "sites needs \"pid\""},
      {R"({"request":"sites","pid":-1})", "\"pid\" must be a positive integer"},
      {R"({"request":"sites","pid":"1"})", "\"pid\" must be a positive integer"},
      {R"({"request":"sites","pid":1,"limit":0})", "\"limit\" must be an integer from 1 to 256"},
      {R"({"request":"sites","pid":1,"limit":257})", "\"limit\" must be an integer from 1 to 256"},
      {R"({"request":"sites","pid":1,"limit":1.5})", "\"limit\" must be an integer from 1 to 256"},
  };
  for (const auto& [line, why] : refused) {
    auto result = hq::parse_sites_request(line);
    ASSERT_TRUE(std::holds_alternative<std::string>(result)) << line;
    EXPECT_EQ(std::get<std::string>(result), why) << line;
  }
}

TEST(SitesWire, EveryFieldRoundTrips) {
  const hq::SitesAnswer a = answer();
  const std::string line = hq::answer_line(hq::sites_answer(a));
  const hq::SitesAnswer b = hq::sites_from_answer(json::parse(line));
  EXPECT_EQ(b.process.pid, 77);
  EXPECT_EQ(b.process.user, "alice");
  EXPECT_EQ(b.unix_ns, a.unix_ns);
  EXPECT_EQ(b.sample_mean_bytes, a.sample_mean_bytes);
  EXPECT_EQ(b.samples, a.samples);
  EXPECT_EQ(b.rejected_samples, a.rejected_samples);
  EXPECT_EQ(b.estimated_bytes, a.estimated_bytes);
  EXPECT_EQ(b.sites_total, a.sites_total);
  EXPECT_TRUE(b.truncated);
  EXPECT_EQ(b.symbols_error, a.symbols_error);
  ASSERT_EQ(b.sites.size(), 2u);
  EXPECT_EQ(b.sites[0], a.sites[0]);  // every field of the site, its frames and its series
  EXPECT_EQ(b.sites[1], a.sites[1]);
  EXPECT_EQ(json::parse(line).at("sites").at(0).at("frames").at(0).at("build_id"),
            "0123456789abcdef0123456789abcdef01234567");
}

TEST(SitesWire, AMissingFieldIsRefused) {
  json j = hq::sites_answer(answer());
  j["sites"][0]["frames"][0].erase("object_offset");
  EXPECT_THROW(hq::sites_from_answer(j), json::exception);
  j = hq::sites_answer(answer());
  j["sites"][0]["series"] = 5;
  EXPECT_THROW(hq::sites_from_answer(j), json::exception);
}

TEST(SitesWire, NotFiniteGrowthIsSentAsZero) {
  hq::SitesAnswer a = answer();
  a.sites[0].growth_bytes_per_hour = std::numeric_limits<double>::infinity();
  a.sites[0].growth_confidence = std::nan("");
  const hq::SitesAnswer b = hq::sites_from_answer(json::parse(hq::answer_line(hq::sites_answer(a))));
  EXPECT_EQ(b.sites[0].growth_bytes_per_hour, 0);
  EXPECT_EQ(b.sites[0].growth_confidence, 0);
}

TEST(SitesWire, HostileTextsAreCutAtACharacter) {
  hq::SiteView s = site();
  // 'é' is two bytes: a cut at an odd offset would split one.
  s.frames[0].function = "f" + std::string(3000, 'x') + "\xc3\xa9";
  std::string accents;
  for (int i = 0; i < 2000; ++i) accents += "\xc3\xa9";
  s.frames[0].file = accents;
  s.frames[0].object = std::string(5000, '\n');
  s.frames[0].build_id = std::string(1000, 'a');
  hq::limit_site(s);
  EXPECT_EQ(s.frames[0].function.size(), hq::kMaxFrameTextBytes);
  EXPECT_EQ(s.frames[0].function.substr(s.frames[0].function.size() - 3), "...");
  EXPECT_LE(s.frames[0].file.size(), hq::kMaxFrameTextBytes);
  EXPECT_EQ((s.frames[0].file.size() - 3) % 2, 0u);  // whole characters only
  EXPECT_EQ(s.frames[0].object.size(), hq::kMaxFrameTextBytes);
  EXPECT_EQ(s.frames[0].build_id.size(), hq::kMaxBuildIdBytes);
  // What a client reads is cut the same way, whatever the daemon sent.
  json j = site();
  j["frames"][1]["function"] = std::string(10000, 'y');
  EXPECT_EQ(j.get<hq::SiteView>().frames[1].function.size(), hq::kMaxFrameTextBytes);
}

TEST(SitesWire, LongListsAreCut) {
  hq::SiteView s = site();
  s.frames.assign(1000, frame("deep"));
  s.series.clear();
  for (int64_t i = 0; i < 2000; ++i) s.series.push_back({i, static_cast<uint64_t>(i)});
  json j = s;
  EXPECT_EQ(j["frames"].size(), hq::kMaxSiteFrames);
  EXPECT_EQ(j["series"].size(), hq::kMaxSitePoints);
  EXPECT_EQ(j["series"].back()["unix_ns"], 1999);  // the newest are kept

  json raw = site();
  raw["frames"] = json::array();
  for (int i = 0; i < 1000; ++i) raw["frames"].push_back(frame("deep"));
  EXPECT_EQ(raw.get<hq::SiteView>().frames.size(), hq::kMaxSiteFrames);

  json many = hq::sites_answer(answer());
  many["sites"] = json::array();
  for (int i = 0; i < 300; ++i) many["sites"].push_back(site());
  many["truncated"] = false;
  const hq::SitesAnswer read = hq::sites_from_answer(many);
  EXPECT_EQ(read.sites.size(), hq::kMaxSites);
  EXPECT_TRUE(read.truncated);
}

TEST(SitesWire, TheAnswerKeepsToItsByteBudget) {
  hq::SitesAnswer a = answer();
  a.truncated = false;
  hq::SiteView worst = site();
  worst.frames.assign(hq::kMaxSiteFrames, frame("w"));
  for (hq::FrameView& f : worst.frames) {
    f.function = std::string(hq::kMaxFrameTextBytes, '\x01');  // six bytes each, escaped
    f.file = f.function;
    f.object = f.function;
  }
  a.sites.assign(8, worst);  // about 5 MB of bound each
  const json j = hq::sites_answer(a);
  const std::string line = hq::answer_line(j);
  EXPECT_LE(line.size(), hq::kMaxSitesAnswerBytes);
  EXPECT_TRUE(j.at("truncated").get<bool>());
  EXPECT_GE(j.at("sites").size(), 1u);
  EXPECT_LT(j.at("sites").size(), 8u);
  // The bound holds for each site that was sent.
  for (const json& s : j.at("sites")) EXPECT_LE(s.dump().size(), hq::site_bytes_bound(s.get<hq::SiteView>()));
  // And for an ordinary site, measured.
  EXPECT_LE(json(site()).dump().size(), hq::site_bytes_bound(site()));

  hq::SitesAnswer small = answer();
  small.truncated = false;
  EXPECT_FALSE(hq::sites_answer(small).at("truncated").get<bool>());
}

TEST(SiteViews, TheDaemonsConversion) {
  hw::SiteHistory history;
  std::vector<memproxy::heap::Sample> samples(3);
  for (size_t i = 0; i < samples.size(); ++i) {
    samples[i].address = 1 + i;
    samples[i].size = 1000;
    samples[i].mean_bytes = 0;
    samples[i].allocated_unix_ns = 10 + static_cast<int64_t>(i);
    samples[i].pcs = i < 2 ? hw::Stack{0xa, 0xb} : hw::Stack{0xc};
  }
  history.update(samples, 5000);
  hq::Process process;
  process.pid = 9;

  hq::SitesAnswer a = hw::sites_answer(process, history, 4096, 1, nullptr);
  EXPECT_EQ(a.process.pid, 9);
  EXPECT_EQ(a.unix_ns, 5000);
  EXPECT_EQ(a.sample_mean_bytes, 4096u);
  EXPECT_EQ(a.samples, 3u);
  EXPECT_EQ(a.estimated_bytes, 3000u);
  EXPECT_EQ(a.sites_total, 2u);
  EXPECT_TRUE(a.truncated);  // limit 1 of 2 sites
  ASSERT_EQ(a.sites.size(), 1u);
  const hq::SiteView& s = a.sites[0];
  EXPECT_EQ(s.estimated_bytes, 2000u);
  EXPECT_EQ(s.estimated_blocks, 2u);
  EXPECT_EQ(s.samples, 2u);
  EXPECT_EQ(s.first_seen_unix_ns, 5000);
  EXPECT_EQ(s.oldest_allocation_unix_ns, 10);
  EXPECT_EQ(s.newest_allocation_unix_ns, 11);
  ASSERT_EQ(s.frames.size(), 2u);  // address frames without a symbolizer
  EXPECT_EQ(s.frames[0].address, 0xau);
  EXPECT_EQ(s.frames[1].address, 0xbu);
  EXPECT_TRUE(s.frames[0].function.empty());
  ASSERT_EQ(s.series.size(), 1u);
  EXPECT_EQ(s.series[0].estimated_bytes, 2000u);

  int calls = 0;
  hq::SitesAnswer named = hw::sites_answer(process, history, 4096, 10, [&](const hw::Stack& stack) {
    ++calls;
    std::vector<hq::FrameView> frames{frame("inlined", true), frame("outer")};
    frames[0].address = stack[0];
    return frames;
  });
  EXPECT_EQ(calls, 2);
  EXPECT_FALSE(named.truncated);
  EXPECT_EQ(named.sites[0].frames[0].function, "inlined");
  EXPECT_EQ(named.sites[0].frames[0].address, 0xau);

  hw::RankedSite huge;
  huge.site.estimated_bytes = 1e30;
  huge.site.estimated_blocks = -4;
  huge.growth.bytes_per_hour = std::nan("");
  const hq::SiteView v = hw::to_site_view(huge, {});
  EXPECT_EQ(v.estimated_bytes, UINT64_MAX);
  EXPECT_EQ(v.estimated_blocks, 0u);
  EXPECT_EQ(v.growth_bytes_per_hour, 0);
}

}  // namespace
