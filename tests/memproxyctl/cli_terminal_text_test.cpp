// Every text view of memproxyctl against a stand-in daemon whose every
// string (program, user, function, file, object, the verdict's finding,
// the symbolizer's and the daemon's words, a trace's operation and reason)
// is a name made to drive a terminal: no output carries a control
// character, and each shows the name escaped.
#include <nlohmann/json.hpp>

#include "cli_support.hpp"
#include "fake_daemon.hpp"
#include "memproxy/heap_query.hpp"
#include "memproxy/trace_query.hpp"
#include "report_test_data.hpp"

namespace {

namespace hq = memproxy::heap_query;
namespace tq = memproxy::trace_query;
namespace data = report_test_data;
using memproxyctl::testing::ctl;
using memproxyctl::testing::FakeDaemon;
using memproxyctl::testing::TempDir;

// Sets the window title, clears the screen, then a C1 CSI (U+009B) that
// an 8-bit terminal reads as ESC [.
const std::string kHostile = "x\x1b]2;PWNED\x07\x1b[2J\xC2\x9B" "1m";
const std::string kShown = "x\\x1b]2;PWNED\\x07\\x1b[2J\\u009b1m";

// The first control character of `text` a terminal would act on (newlines
// are the CLI's own line ends), or "".
std::string first_control(const std::string& text) {
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    const bool c1 = c == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
                    static_cast<unsigned char>(text[i + 1]) <= 0x9F;
    if ((c < 0x20 && c != '\n') || c == 0x7F || c1) {
      return "byte " + std::to_string(c) + " at " + std::to_string(i) + " of:\n" + text;
    }
  }
  return "";
}

hq::History hostile_history() {
  hq::History h = data::history(20);
  h.process.program = kHostile;
  h.process.user = kHostile;
  h.process.exe = "/tmp/" + kHostile;
  h.verdict->finding = kHostile;
  return h;
}

hq::View hostile_view() {
  const hq::History h = hostile_history();
  hq::View v;
  v.process = h.process;
  v.latest = h.samples.back();
  v.verdict = *h.verdict;
  return v;
}

hq::SitesAnswer hostile_sites() {
  hq::History h = hostile_history();
  hq::SiteView s = data::site(kHostile, "/src/" + kHostile + ".c", 7, 12, 4096, true);
  for (hq::FrameView& f : s.frames) f.object = "/lib/" + kHostile + ".so";
  hq::SiteView unnamed = data::site("", "", 0, 3, 0, false);
  unnamed.frames[0].object = "/lib/" + kHostile + ".so";
  hq::SitesAnswer a = data::sites(h, {s, unnamed});
  a.symbols_error = kHostile;
  return a;
}

std::string trace_lines() {
  tq::Started started{hostile_history().process, 1, 0};
  tq::Batch batch;
  batch.records = {{data::kStart, 7, kHostile, 64, 0, 0x5000, 0x401007},
                   {data::kStart + 1, 7, "malloc", 32, 0, 0x6000, 0x402000}};
  batch.callers = {{0x401007, {data::frame(kHostile, "/src/" + kHostile + ".c", 7)}, ""},
                   {0x402000, {}, kHostile}};
  tq::Summary summary{2, 0, 0, kHostile};
  return tq::started_line(started) + "\n" + tq::batch_line(batch) + "\n" + tq::summary_line(summary);
}

std::string answer(const std::string& line) {
  const nlohmann::json request = nlohmann::json::parse(line);
  const std::string name = request["request"];
  if (name == "top" || name == "leaks") return hq::answer_line(hq::views_answer({hostile_view()}));
  if (name == "history") return hq::answer_line(nlohmann::json(hostile_history()));
  if (name == "sites") return hq::answer_line(hq::sites_answer(hostile_sites()));
  if (name == "trace") return trace_lines();
  return hq::error_line("unknown request");
}

class CliTerminalText : public ::testing::Test {
 protected:
  TempDir dir_;
  FakeDaemon daemon_{dir_ / "query.sock", answer};

  memproxyctl::ProgramResult run(std::vector<std::string> args) {
    args.insert(args.begin(), {"--query-socket", dir_ / "query.sock"});
    return ctl(args);
  }
};

TEST_F(CliTerminalText, EveryTextViewShowsHostileNamesEscaped) {
  const std::vector<std::vector<std::string>> views{
      {"top", "--once"},        {"leaks"},
      {"history", "4242"},      {"leaks", "4242"},
      {"leaks", "4242", "-v"},  {"leaks", "4242", "--collapsed"},
      {"trace", "4242", "--seconds", "1"},
      {"report", "4242", "-o", dir_ / "r.html"}};
  for (const auto& args : views) {
    SCOPED_TRACE(args[0] + (args.size() > 2 ? " " + args[2] : ""));
    auto r = run(args);
    EXPECT_TRUE(r.exit_status == 0 || r.exit_status == 1) << r.out << r.err;
    EXPECT_EQ(first_control(r.out), "");
    EXPECT_EQ(first_control(r.err), "");
    // top and leaks cut the names to 80 columns; folded stacks have their own '?' for C0 controls.
    const std::string shown = args[0] == "top" || args.size() == 1 ? "x\\x1b]2"
                              : args.back() == "--collapsed"       ? "x?]2:PWNED??[2J\\u009b1m"
                                                                   : kShown;
    EXPECT_NE(r.out.find(shown), std::string::npos) << r.out;
  }
}

TEST_F(CliTerminalText, TheStackNamesTheObjectAndTheSymbolizerErrorEscaped) {
  auto r = run({"leaks", "4242", "--stack"});
  EXPECT_NE(r.out.find("no symbols: " + kShown), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/lib/" + kShown + ".so+0x"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/src/" + kShown + ".c:7"), std::string::npos) << r.out;
}

TEST_F(CliTerminalText, TheDaemonsErrorIsEscapedToo) {
  FakeDaemon refusing(dir_ / "refusing.sock", [](const std::string&) { return hq::error_line(kHostile); });
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"history", "x"}, std::vector<std::string>{"top", "--once"},
        std::vector<std::string>{"leaks", "4242"}, std::vector<std::string>{"trace", "4242"}}) {
    std::vector<std::string> all{"--query-socket", dir_ / "refusing.sock"};
    all.insert(all.end(), args.begin(), args.end());
    auto r = ctl(all);
    EXPECT_EQ(r.exit_status, 4) << r.out << r.err;
    EXPECT_EQ(first_control(r.err), "");
    EXPECT_NE(r.err.find(kShown), std::string::npos) << r.err;
  }
}

}  // namespace
