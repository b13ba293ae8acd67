// The trace request on the wire: what a client sends is what the daemon
// reads, out-of-range requests are refused with the reason, the daemon's
// lines read back as they were made, and hostile texts are cut to bounds.
#include "memproxy/trace_query.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace memproxy::trace_query {
namespace {

namespace hq = memproxy::heap_query;

template <class T>
T as(const std::variant<Line, std::string>& parsed) {
  if (auto* why = std::get_if<std::string>(&parsed)) ADD_FAILURE() << *why;
  const Line* line = std::get_if<Line>(&parsed);
  if (line == nullptr || !std::holds_alternative<T>(*line)) {
    ADD_FAILURE() << "not the expected kind of line";
    return T{};
  }
  return std::get<T>(*line);
}

std::string refusal(const std::string& line) {
  auto parsed = parse_trace_request(line);
  auto* why = std::get_if<std::string>(&parsed);
  return why ? *why : "";
}

TEST(TraceQuery, ARequestReadsBackAsSent) {
  TraceRequest r{1234, 60, 4096};
  auto parsed = parse_trace_request(trace_request_line(r));
  ASSERT_TRUE(std::holds_alternative<TraceRequest>(parsed)) << std::get<std::string>(parsed);
  EXPECT_EQ(std::get<TraceRequest>(parsed), r);
}

TEST(TraceQuery, DefaultsWhenOnlyThePidIsGiven) {
  auto parsed = parse_trace_request(R"({"request":"trace","pid":7})");
  ASSERT_TRUE(std::holds_alternative<TraceRequest>(parsed));
  EXPECT_EQ(std::get<TraceRequest>(parsed), (TraceRequest{7, kDefaultSeconds, 0}));
}

TEST(TraceQuery, OutOfRangeRequestsAreRefusedWithTheReason) {
  EXPECT_NE(refusal(R"({"request":"trace"})").find("pid"), std::string::npos);
  EXPECT_NE(refusal(R"({"request":"trace","pid":-3})").find("pid"), std::string::npos);
  EXPECT_NE(refusal(R"({"request":"trace","pid":"7"})").find("pid"), std::string::npos);
  EXPECT_NE(refusal(R"({"request":"trace","pid":7,"seconds":0})").find("1 to 3600"), std::string::npos);
  EXPECT_NE(refusal(R"({"request":"trace","pid":7,"seconds":3601})").find("1 to 3600"), std::string::npos);
  EXPECT_NE(refusal(R"({"request":"trace","pid":7,"seconds":1.5})").find("seconds"), std::string::npos);
  EXPECT_NE(refusal(R"({"request":"trace","pid":7,"min_size":-1})").find("min_size"), std::string::npos);
  EXPECT_NE(refusal(R"({"request":"top","pid":7})"), "");
  EXPECT_NE(refusal("[1]"), "");
  EXPECT_EQ(refusal(R"({"request":"trace","pid":7,"seconds":3600,"min_size":18446744073709551615})"), "");
}

TEST(TraceQuery, TheDaemonsLinesReadBackAsMade) {
  Started started;
  started.process.pid = 42;
  started.process.program = "prog";
  started.seconds = 5;
  started.min_size = 100;
  Started read = as<Started>(parse_line(started_line(started)));
  EXPECT_EQ(read.process.pid, 42);
  EXPECT_EQ(read.process.program, "prog");
  EXPECT_EQ(read.seconds, 5u);
  EXPECT_EQ(read.min_size, 100u);

  Batch batch;
  batch.records.push_back({1000, 42, "malloc", 1000, 0, 0x7f0000001000, 0x5500001234});
  batch.records.push_back({1001, 43, "free", 0, 0x7f0000001000, 0, 0x5500001234});
  batch.records.push_back({1002, 43, "realloc", UINT64_MAX, 1, UINT64_MAX, 0x10});
  hq::FrameView frame;
  frame.address = 0x5500001234;
  frame.function = "traced_calls()";
  frame.file = "heap_sites.cpp";
  frame.line = 120;
  frame.object = "/usr/bin/prog";
  batch.callers.push_back({0x5500001234, {frame}, ""});
  batch.callers.push_back({0x10, {}, "not in any mapped object"});
  Batch back = as<Batch>(parse_line(batch_line(batch)));
  EXPECT_EQ(back, batch);
  auto index = callers_by_address(back);
  ASSERT_EQ(index.count(0x10), 1u);
  EXPECT_EQ(index.at(0x10)->error, "not in any mapped object");

  Summary summary{123, 4, 5, reason::kTimeUp};
  EXPECT_EQ(as<Summary>(parse_line(summary_line(summary))), summary);

  EXPECT_EQ(as<Refused>(parse_line(R"({"error":"no such process"})")).error, "no such process");
}

TEST(TraceQuery, HostileTextsAreCutAndInvalidUtf8Replaced) {
  Batch batch;
  Caller c;
  c.address = 1;
  hq::FrameView f;
  f.function = std::string(100000, 'x');
  f.file = "bad\xff\xfe";
  for (size_t i = 0; i < kMaxCallerFrames + 10; ++i) c.frames.push_back(f);
  batch.callers.push_back(c);
  std::string line = batch_line(batch);
  Batch back = as<Batch>(parse_line(line));
  ASSERT_EQ(back.callers.size(), 1u);
  ASSERT_EQ(back.callers[0].frames.size(), kMaxCallerFrames);
  EXPECT_LE(back.callers[0].frames[0].function.size(), hq::kMaxFrameTextBytes);
  EXPECT_EQ(back.callers[0].frames[0].function.substr(hq::kMaxFrameTextBytes - 3), "...");
  EXPECT_EQ(back.callers[0].frames[0].file, "bad\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(TraceQuery, LinesThatAreNotTheDaemonsAreRejected) {
  EXPECT_TRUE(std::holds_alternative<std::string>(parse_line("garbage")));
  EXPECT_TRUE(std::holds_alternative<std::string>(parse_line(R"({"what":1})")));
  EXPECT_TRUE(std::holds_alternative<std::string>(parse_line(R"({"records":[{"op":1}],"callers":[]})")));
  EXPECT_TRUE(std::holds_alternative<std::string>(parse_line(R"({"records":{},"callers":[]})")));
  EXPECT_TRUE(std::holds_alternative<std::string>(parse_line(R"({"summary":{"records":"x"}})")));
}

}  // namespace
}  // namespace memproxy::trace_query
