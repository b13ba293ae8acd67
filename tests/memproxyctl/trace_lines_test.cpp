// What `memproxyctl trace` prints: the size filter's forms and refusals,
// a call's line with its caller named (or its address and why not), C++
// operators in a column's width, the summary's counts and reason, and the
// JSON object of a call with its caller inlined.
#include "trace_lines.hpp"

#include <gtest/gtest.h>

namespace memproxyctl {
namespace {

namespace tq = memproxy::trace_query;

uint64_t filter(const std::string& text) {
  auto parsed = parse_size_filter(text);
  if (auto* why = std::get_if<std::string>(&parsed)) {
    ADD_FAILURE() << text << ": " << *why;
    return 0;
  }
  return std::get<uint64_t>(parsed);
}

bool refused(const std::string& text) { return std::holds_alternative<std::string>(parse_size_filter(text)); }

TEST(TraceLines, TheSizeFilterInBytesOrBinaryUnits) {
  EXPECT_EQ(filter("size>=0"), 0u);
  EXPECT_EQ(filter("size>=4096"), 4096u);
  EXPECT_EQ(filter("size>=4K"), 4096u);
  EXPECT_EQ(filter("size>=4KiB"), 4096u);
  EXPECT_EQ(filter("size>=2M"), 2u << 20);
  EXPECT_EQ(filter("size>=1GiB"), 1u << 30);
  EXPECT_TRUE(refused("size>4096"));
  EXPECT_TRUE(refused("4096"));
  EXPECT_TRUE(refused("size>="));
  EXPECT_TRUE(refused("size>=-1"));
  EXPECT_TRUE(refused("size>=12X"));
  EXPECT_TRUE(refused("size>=99999999999999999999"));
  EXPECT_TRUE(refused("size>=17179869184G")) << "overflows";
}

tq::Record record(const std::string& op) { return {1'700'000'000'123'456'789, 4242, op, 1000, 0, 0x55d0c2a012a0, 0x401234}; }

TEST(TraceLines, ACallsLineNamesItsCallerAndSourceLine) {
  tq::Caller caller;
  caller.address = 0x401234;
  memproxy::heap_query::FrameView f;
  f.function = "traced_calls()";
  f.file = "heap_sites.cpp";
  f.line = 95;
  caller.frames.push_back(f);
  std::string line = record_text(record("malloc"), &caller, 0);
  EXPECT_EQ(line.substr(0, 15), "22:13:20.123456") << line;
  EXPECT_NE(line.find(" 4242 malloc "), std::string::npos) << line;
  EXPECT_NE(line.find(" 1000 - "), std::string::npos) << "no pointer argument: " << line;
  EXPECT_NE(line.find("0x55d0c2a012a0"), std::string::npos) << line;
  EXPECT_NE(line.find("traced_calls() heap_sites.cpp:95"), std::string::npos) << line;
}

TEST(TraceLines, ACallerWithoutAFunctionShowsItsAddressObjectAndWhy) {
  tq::Caller caller;
  caller.address = 0x401234;
  memproxy::heap_query::FrameView f;
  f.object = "/usr/bin/prog";
  f.object_offset = 0x1234;
  caller.frames.push_back(f);
  caller.error = "no symbols";
  std::string line = record_text(record("free"), &caller, 0);
  EXPECT_NE(line.find("0x401234 /usr/bin/prog+0x1234 (no symbols)"), std::string::npos) << line;
  EXPECT_NE(record_text(record("free"), nullptr, 0).find(" 0x401234"), std::string::npos);
}

TEST(TraceLines, CxxOperatorsAreShownByKindAndVariant) {
  auto op_of = [](const std::string& op) {
    std::string line = record_text(record(op), nullptr, 0);
    return line.substr(25, 22);
  };
  EXPECT_EQ(op_of("operator new(size_t n)"), "new                   ");
  EXPECT_EQ(op_of("operator delete(void* p, size_t n) noexcept"), "delete(sized)         ");
  EXPECT_EQ(op_of("operator new[](size_t n, std::align_val_t a, const std::nothrow_t& tag) noexcept"),
            "new[](aligned,nothrow)");
  EXPECT_EQ(op_of("posix_memalign"), "posix_memalign        ");
}

// A size wider than its column (a calloc whose product passed 64 bits is
// traced as UINT64_MAX) is shown in binary units, so the columns after it
// stay where the heads are.
TEST(TraceLines, ASizeTooWideForItsColumnIsShownInBinaryUnits) {
  tq::Record huge = record("calloc");
  huge.size = UINT64_MAX;
  tq::Record wide = record("malloc");
  wide.size = 12'345'678'901;
  const std::string pointer_head = column_heads().substr(0, column_heads().find("POINTER"));
  for (const tq::Record& r : {huge, wide, record("malloc")}) {
    const std::string line = record_text(r, nullptr, 0);
    EXPECT_EQ(line.find("0x55d0c2a012a0"), column_heads().find("RESULT")) << line;
    EXPECT_EQ(line.substr(pointer_head.size(), 2), "- ") << line;
  }
  EXPECT_NE(record_text(huge, nullptr, 0).find("  16.0 EiB - "), std::string::npos);
  EXPECT_NE(record_text(wide, nullptr, 0).find("  11.5 GiB - "), std::string::npos);
  EXPECT_NE(record_text(record("malloc"), nullptr, 0).find("       1000 - "), std::string::npos);
}

TEST(TraceLines, TheSummaryCountsAndSaysWhyItEnded) {
  EXPECT_EQ(summary_text({11, 0, 0, tq::reason::kTimeUp}),
            "11 calls traced, 0 dropped by the process (its trace ring was full); ended: time is up");
  std::string slow = summary_text({1, 2, 3, tq::reason::kClientClosed});
  EXPECT_NE(slow.find("1 call traced, 2 dropped"), std::string::npos) << slow;
  EXPECT_NE(slow.find("3 not delivered"), std::string::npos) << slow;
}

TEST(TraceLines, TheJsonOfACallInlinesItsCaller) {
  tq::Caller caller;
  caller.address = 0x401234;
  caller.error = "why";
  nlohmann::json j = record_json(record("malloc"), &caller);
  EXPECT_EQ(j["op"], "malloc");
  EXPECT_EQ(j["size"], 1000);
  EXPECT_EQ(j["caller"]["address"], 0x401234);
  EXPECT_EQ(j["caller"]["error"], "why");
  EXPECT_TRUE(j["caller"]["frames"].is_array());
  EXPECT_NE(record_json(record("malloc"), nullptr)["caller"]["error"], "");
}

}  // namespace
}  // namespace memproxyctl
