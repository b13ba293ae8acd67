// terminal_safe: what a terminal would act on is shown escaped, everything
// else passes unchanged; and the views built from the daemon's answers
// (top, leaks, the verdict, the call sites, folded stacks, a trace) carry
// no control character whatever the names they show hold.
#include <gtest/gtest.h>

#include "heap_tables.hpp"
#include "site_collapsed.hpp"
#include "site_text.hpp"
#include "terminal_text.hpp"
#include "trace_lines.hpp"

namespace {

using namespace memproxyctl;
namespace hq = memproxy::heap_query;
namespace tq = memproxy::trace_query;

const std::string kHostile = "x\x1b]2;PWNED\x07\x1b[2J\xC2\x9B" "1m";
const std::string kShown = "x\\x1b]2;PWNED\\x07\\x1b[2J\\u009b1m";

bool has_control(const std::string& text) {
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7F) return true;
    if (c == 0xC2 && i + 1 < text.size() && (static_cast<unsigned char>(text[i + 1]) & 0xE0) == 0x80) return true;
  }
  return false;
}

TEST(TerminalSafe, PrintableTextPassesUnchanged) {
  EXPECT_EQ(terminal_safe(""), "");
  EXPECT_EQ(terminal_safe("nginx: worker process"), "nginx: worker process");
  EXPECT_EQ(terminal_safe("caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x90\x9B"), "caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x90\x9B");
  EXPECT_EQ(terminal_safe("a\\x1b"), "a\\x1b");
  EXPECT_EQ(terminal_safe("\xC2\xA0nbsp"), "\xC2\xA0nbsp");
}

TEST(TerminalSafe, C0ControlsAndDelAreEscaped) {
  EXPECT_EQ(terminal_safe("\x1b]2;PWNED\x07"), "\\x1b]2;PWNED\\x07");
  EXPECT_EQ(terminal_safe("a\nb\tc\rd"), "a\\x0ab\\x09c\\x0dd");
  EXPECT_EQ(terminal_safe(std::string("nul\0end", 7)), "nul\\x00end");
  EXPECT_EQ(terminal_safe("del\x7f"), "del\\x7f");
  EXPECT_EQ(terminal_safe("\x08\x1f"), "\\x08\\x1f");
}

TEST(TerminalSafe, C1ControlsAndBidiOverridesAreEscaped) {
  EXPECT_EQ(terminal_safe("\xC2\x9B" "2J"), "\\u009b2J");
  EXPECT_EQ(terminal_safe("\xC2\x80\xC2\x9F"), "\\u0080\\u009f");
  EXPECT_EQ(terminal_safe("evil\xE2\x80\xAEgpj.exe"), "evil\\u202egpj.exe");
  EXPECT_EQ(terminal_safe("\xE2\x81\xA6x\xE2\x81\xA9"), "\\u2066x\\u2069");
}

TEST(TerminalSafe, InvalidUtf8BecomesTheReplacementCharacter) {
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(terminal_safe("\x9B" "2J"), fffd + "2J");  // a raw C1 byte
  EXPECT_EQ(terminal_safe("a\xFF" "b"), "a" + fffd + "b");
  EXPECT_EQ(terminal_safe("\xC0\x9B"), fffd + fffd);          // overlong
  EXPECT_EQ(terminal_safe("\xED\xA0\x80"), fffd + fffd + fffd);  // a surrogate
  EXPECT_EQ(terminal_safe("cut\xE6\x97"), "cut" + fffd + fffd);
}

TEST(TerminalSafe, Utf8PrefixNeverEndsInsideACharacter) {
  EXPECT_EQ(utf8_prefix("ab\xE6\x97\xA5", 4), "ab");
  EXPECT_EQ(utf8_prefix("ab\xE6\x97\xA5", 5), "ab\xE6\x97\xA5");
  EXPECT_EQ(utf8_prefix("abc", 2), "ab");
}

hq::View hostile_view() {
  hq::View v;
  v.process.pid = 7;
  v.process.user = kHostile;
  v.process.program = kHostile;
  v.verdict.trend = hq::trend::kGrowing;
  v.verdict.finding = kHostile;
  return v;
}

TEST(TerminalViews, TopAndLeaksEscapeUserAndProgram) {
  for (const auto& lines : {top_lines({hostile_view()}, 200), leak_lines({hostile_view()}, 200)}) {
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_FALSE(has_control(lines[1])) << lines[1];
    EXPECT_NE(lines[1].find(kShown), std::string::npos) << lines[1];
  }
}

TEST(TerminalViews, ANarrowTableCutsNamesBetweenCharacters) {
  hq::View v = hostile_view();
  v.process.program.clear();
  for (int i = 0; i < 40; ++i) v.process.program += "\xE6\x97\xA5";
  const std::string line = top_lines({v}, 80)[1];
  EXPECT_EQ(terminal_safe(line), line);
}

TEST(TerminalViews, TheVerdictLineEscapesTheFinding) {
  const std::string line = verdict_line(hostile_view().verdict);
  EXPECT_FALSE(has_control(line)) << line;
  EXPECT_NE(line.find(kShown), std::string::npos) << line;
}

hq::SitesAnswer hostile_sites() {
  hq::SitesAnswer a;
  a.process = hostile_view().process;
  a.symbols_error = kHostile;
  hq::FrameView f;
  f.address = 0x1000;
  f.function = kHostile;
  f.file = "/src/" + kHostile;
  f.line = 3;
  f.object = "/lib/" + kHostile;
  hq::FrameView unnamed;
  unnamed.address = 0x2000;
  unnamed.object = "/lib/" + kHostile;
  unnamed.object_offset = 0x20;
  hq::SiteView s;
  s.frames = {f, unnamed};
  s.estimated_bytes = 100;
  hq::SiteView by_object;
  by_object.frames = {unnamed};
  by_object.estimated_bytes = 50;
  a.sites = {s, by_object};
  a.sites_total = 2;
  return a;
}

TEST(TerminalViews, CallSitesAndTheirStacksEscapeEveryName) {
  for (bool stacks : {false, true}) {
    const std::vector<std::string> lines = site_lines(hostile_sites(), stacks, 300);
    for (const std::string& line : lines) EXPECT_FALSE(has_control(line)) << line;
    EXPECT_NE(lines[0].find(kShown), std::string::npos) << lines[0];
    EXPECT_EQ(lines[1], "no symbols: " + kShown);
  }
}

TEST(TerminalViews, FoldedStacksEscapeNamesAndKeepTheirSeparators) {
  const std::string folded = collapsed_stacks(hostile_sites());
  // The folded format's own '?' for C0 controls, and terminal_safe's escape for the rest.
  const std::string name = "x?]2:PWNED??[2J\\u009b1m";
  EXPECT_EQ(folded, name + "+0x20;" + name + " 100\n" + name + "+0x20 50\n");
}

TEST(TerminalViews, TraceLinesEscapeTheProcessTheCallersAndTheReason) {
  tq::Started started{hostile_view().process, 1, 0};
  tq::Record record{0, 1, kHostile, 8, 0, 0x10, 0x1000};
  tq::Caller named{0x1000, {hostile_sites().sites[0].frames[0]}, ""};
  tq::Caller unnamed{0x1000, {}, kHostile};
  tq::Summary summary{1, 0, 0, kHostile};
  for (const std::string& line : {started_text(started), record_text(record, &named, 0),
                                  record_text(record, &unnamed, 0), summary_text(summary)}) {
    EXPECT_FALSE(has_control(line)) << line;
    EXPECT_NE(line.find(kShown), std::string::npos) << line;
  }
}

}  // namespace
