// The HTML report: hostile names from the daemon stay text, nothing is
// fetched from anywhere, the history chart draws the samples, the verdict
// is given in words and numbers, every call site has its own chart, and
// an empty history, an ended process and missing call sites still make a
// whole report that says so.
#include <regex>
#include <set>

#include <gtest/gtest.h>

#include "html_text.hpp"
#include "report_html.hpp"
#include "report_svg.hpp"
#include "report_test_data.hpp"
#include "svg_parse.hpp"

namespace {

namespace hq = memproxy::heap_query;
namespace data = report_test_data;
using memproxyctl::html_escape;
using memproxyctl::report_html;
using memproxyctl::ReportInput;
using svg_parse::count;
using svg_parse::shapes;

ReportInput input_with(hq::History h, std::variant<hq::SitesAnswer, std::string> sites = std::string("not asked")) {
  ReportInput in;
  in.history = std::move(h);
  in.sites = std::move(sites);
  in.generated_unix_ns = data::kStart + 120 * data::kSecond;
  return in;
}

// Every element name in `html`, and every attribute name.
std::set<std::string> tags(const std::string& html) {
  std::set<std::string> out;
  const std::regex tag(R"(<(/?[A-Za-z!][A-Za-z0-9]*))");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), tag); it != std::sregex_iterator(); ++it) {
    std::string name = (*it)[1];
    if (name[0] == '/') name.erase(0, 1);
    out.insert(name);
  }
  return out;
}

std::set<std::string> attributes(const std::string& html) {
  std::set<std::string> out;
  // Inside a tag: name="..." (values hold no raw quote: they are escaped).
  const std::regex inside(R"(<[A-Za-z][^<>]*>)");
  const std::regex attribute(R"(\s([A-Za-z-]+)=)");
  for (auto t = std::sregex_iterator(html.begin(), html.end(), inside); t != std::sregex_iterator(); ++t) {
    const std::string text = (*t)[0];
    std::string without_values = std::regex_replace(text, std::regex(R"("[^"]*")"), "\"\"");
    for (auto a = std::sregex_iterator(without_values.begin(), without_values.end(), attribute);
         a != std::sregex_iterator(); ++a) {
      out.insert((*a)[1]);
    }
  }
  return out;
}

const std::set<std::string> kOurTags{"!DOCTYPE", "html", "head", "meta", "title", "style", "body", "header",
                                     "h1", "h2", "dl", "dt", "dd", "section", "p", "span", "i", "svg", "rect", "g",
                                     "line", "text", "polyline", "circle", "table", "thead", "tbody", "tr", "th",
                                     "td", "div", "details", "summary", "ol", "li"};

TEST(HtmlEscape, MarkupCharactersBecomeReferences) {
  EXPECT_EQ(html_escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;");
  EXPECT_EQ(html_escape("plain text"), "plain text");
}

TEST(HtmlEscape, InvalidUtf8AndControlsBecomeReplacementCharacters) {
  const std::string r = "\xEF\xBF\xBD";
  EXPECT_EQ(html_escape("a\xFF" "b"), "a" + r + "b");
  EXPECT_EQ(html_escape("\xC0\xAF"), r + r);           // overlong '/'
  EXPECT_EQ(html_escape("\xED\xA0\x80"), r + r + r);   // a surrogate
  EXPECT_EQ(html_escape("\xE6\x97\xA5"), "\xE6\x97\xA5");  // a CJK character stays
  EXPECT_EQ(html_escape("\xE6\x97"), r + r);           // cut short
  EXPECT_EQ(html_escape(std::string("x\0y\x1b\x7f", 5)), "x" + r + "y" + r + r);
  EXPECT_EQ(html_escape("\t\n"), "\t\n");
}

TEST(ReportHtml, HostileNamesFromTheDaemonStayText) {
  hq::History h = data::history(10);
  h.process.program = "<script>alert(1)</script>";
  h.process.user = "\"><img src=x onerror=alert(2)>";
  h.process.exe = "/tmp/</title><iframe src=//evil.example>";
  h.verdict->finding = "<b onmouseover=alert(3)>";
  hq::SiteView hostile = data::site("</svg><script src=https://evil.example/x.js></script>",
                                    "a.c\"><a href='//evil.example'>x</a>", 7, 5, 1000, true);
  hostile.frames[1].object = "<style>body{background:url(//evil.example/p.png)}</style>";
  hostile.frames[1].function = "";
  const std::string html = report_html(input_with(h, data::sites(h, {hostile})));
  for (const std::string& tag : tags(html)) EXPECT_TRUE(kOurTags.count(tag)) << "<" << tag << "> in\n" << html;
  for (const std::string& attribute : attributes(html)) {
    EXPECT_NE(attribute.rfind("on", 0), 0u) << attribute;
    EXPECT_NE(attribute, "src");
    EXPECT_NE(attribute, "href");
  }
  EXPECT_EQ(count(html, "<style>"), 1u);
  EXPECT_EQ(count(html, "<title>"), 1u);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"), std::string::npos);
  EXPECT_NE(html.find("&lt;/svg&gt;&lt;script src=https://evil.example/x.js&gt;&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("a.c&quot;&gt;&lt;a href=&#39;//evil.example&#39;&gt;x&lt;/a&gt;:7"), std::string::npos);
}

TEST(ReportHtml, NothingIsFetchedFromAnywhere) {
  hq::History h = data::history(30);
  const std::string html = report_html(
      input_with(h, data::sites(h, {data::site("grow", "grow.c", 3, 10, 4096, true),
                                    data::site("keep", "keep.c", 9, 10, 0, false)})));
  for (const char* reference : {"http:", "https:", "//", "src=", "href=", "url(", "@import", "<script", "<link",
                                "<img", "<iframe", "<object", "<embed", "xlink", "<use"}) {
    EXPECT_EQ(html.find(reference), std::string::npos) << reference;
  }
  EXPECT_NE(html.find("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                      "style-src 'unsafe-inline'\">"),
            std::string::npos);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>\n", 0), 0u);
}

TEST(ReportHtml, TheHistoryChartDrawsEverySampleOfBothSeries) {
  hq::History h = data::history(40);
  const std::string html = report_html(input_with(h));
  auto live = shapes(html, "series-live");
  auto rss = shapes(html, "series-rss");
  ASSERT_EQ(live.size(), 1u);
  ASSERT_EQ(rss.size(), 1u);
  ASSERT_EQ(live[0].size(), 40u);
  ASSERT_EQ(rss[0].size(), 40u);
  // Time left to right, the growing live heap upwards, RSS above it.
  for (size_t i = 1; i < 40; ++i) {
    EXPECT_GT(live[0][i].first, live[0][i - 1].first);
    EXPECT_LT(live[0][i].second, live[0][i - 1].second);
    EXPECT_EQ(rss[0][i].first, live[0][i].first);
    EXPECT_LT(rss[0][i].second, live[0][i].second);
  }
  EXPECT_NE(html.find(std::string("stroke=\"") + memproxyctl::report_colors::kLive + "\""), std::string::npos);
  EXPECT_NE(html.find(">time (UTC)<"), std::string::npos);
  EXPECT_NE(html.find(">bytes<"), std::string::npos);
}

TEST(ReportHtml, TheHeaderNamesTheProcess) {
  const std::string html = report_html(input_with(data::history(3)));
  for (const char* text : {"<title>memproxy heap report: leaky (pid 4242)</title>", "<dt>pid</dt><dd>4242</dd>",
                           "alice (uid 1000)", "/usr/local/bin/leaky", "2026-09-21T14:13:15.000Z",
                           "running when the report was made", "3 samples, from 2026-09-21T14:13:20.000Z to "
                           "2026-09-21T14:13:22.000Z"}) {
    EXPECT_NE(html.find(text), std::string::npos) << text << '\n' << html;
  }
}

TEST(ReportHtml, TheVerdictInWordsAndNumbers) {
  hq::History h = data::history(3);
  h.verdict->fragmentation_growing = true;
  h.verdict->fragmentation_slope_bytes_per_hour = 2 << 20;
  const std::string html = report_html(input_with(h));
  for (const char* text :
       {"<span class=\"trend growing\">growing</span>", "The live heap is growing by +1.0 MiB per hour",
        "confidence 99.0%", "Mann\u2013Kendall z = 4.20", "over 50m analysed of 1h watched",
        "1.0 MiB at the start of the analysis, 3.0 MiB now", "RSS beyond the heap grows +2.0 MiB/h, more than an allocator",
        "<th>confidence of an upward trend</th><td class=\"number\">99.0%</td>"}) {
    EXPECT_NE(html.find(text), std::string::npos) << text << '\n' << html;
  }
  h.verdict = hq::Verdict{};
  h.verdict->observed_s = 12;
  h.verdict->finding = "too short";
  const std::string early = report_html(input_with(h));
  EXPECT_NE(early.find("Not enough data for a verdict yet: watched for 12s (too short)."), std::string::npos);
  EXPECT_EQ(early.find("<table class=\"evidence\">"), std::string::npos);
}

TEST(ReportHtml, AnEmptyHistoryStillMakesAWholeReport) {
  hq::History h = data::history(0);
  const std::string html = report_html(input_with(h, std::string("memproxyd did not give them")));
  EXPECT_EQ(count(html, "<polyline"), 0u);
  EXPECT_EQ(count(html, "<circle"), 0u);
  EXPECT_NE(html.find(">no samples in this span<"), std::string::npos);
  EXPECT_NE(html.find("<dd>0 samples</dd>"), std::string::npos) << html;
  EXPECT_NE(html.find("id=\"verdict\""), std::string::npos);
  EXPECT_NE(html.find("</body></html>\n"), std::string::npos);
}

TEST(ReportHtml, AnEndedProcessSaysWhenAndHasNoVerdict) {
  hq::History h = data::history(5);
  h.process.ended_unix_ns = data::kStart + 65 * data::kSecond;
  h.verdict.reset();
  const std::string html = report_html(input_with(h));
  EXPECT_NE(html.find("<dt>ended</dt><dd>2026-09-21T14:14:25.000Z (ran 1m 10s)</dd>"), std::string::npos) << html;
  EXPECT_EQ(html.find("running when"), std::string::npos);
  EXPECT_NE(html.find("<span class=\"trend none\">none</span> The process ended before it was judged"), std::string::npos);
  EXPECT_EQ(shapes(html, "series-live").size(), 1u);
}

// An ended process judged while it ran: its last verdict, said to be that.
TEST(ReportHtml, AnEndedProcessShowsTheLastVerdictMadeWhileItRan) {
  hq::History h = data::history(5);
  h.process.ended_unix_ns = data::kStart + 65 * data::kSecond;
  ASSERT_TRUE(h.verdict.has_value());
  h.verdict->trend = hq::trend::kGrowing;
  const std::string html = report_html(input_with(h));
  EXPECT_NE(html.find("<span class=\"trend growing\">growing</span> Its last verdict, made while it ran: The live "
                      "heap is growing"),
            std::string::npos)
      << html;
  EXPECT_NE(html.find(" at its end."), std::string::npos) << html;
  EXPECT_EQ(html.find(" now."), std::string::npos) << html;
}

TEST(ReportHtml, WithoutCallSitesTheReportSaysWhyAndShowsTheRest) {
  hq::History h = data::history(20);
  const std::string html =
      report_html(input_with(h, std::string("memproxyd did not give them: unknown request \"sites\"")));
  EXPECT_NE(html.find("<p class=\"unavailable\">Call sites are unavailable: memproxyd did not give them: "
                      "unknown request &quot;sites&quot;</p>"),
            std::string::npos)
      << html;
  EXPECT_EQ(count(html, "site-plot"), 0u);
  EXPECT_EQ(shapes(html, "series-live").size(), 1u);
  EXPECT_NE(html.find("The live heap is growing"), std::string::npos);

  hq::SitesAnswer off = data::sites(h, {});
  off.sample_mean_bytes = 0;
  const std::string unsampled = report_html(input_with(h, off));
  EXPECT_NE(unsampled.find("Call sites are unavailable: the process does not sample its allocations"),
            std::string::npos);
  const std::string none = report_html(input_with(h, data::sites(h, {})));
  EXPECT_NE(none.find("No call site holds sampled live memory."), std::string::npos);
}

TEST(ReportHtml, EveryCallSiteHasItsRowAndItsOwnChart) {
  hq::History h = data::history(20);
  hq::SiteView grows = data::site("parse_request", "src/parse.c", 120, 12, 64 * 1024, true);
  grows.frames.insert(grows.frames.begin(), data::frame("copy_token", "src/token.h", 33, true));
  hq::SiteView flat = data::site("load_table", "src/table.c", 45, 12, 0, false);
  hq::SiteView fresh = data::site("", "", 0, 0, 0, false);
  fresh.frames[0].object = "/usr/lib/libfoo.so.1";
  fresh.frames[0].object_offset = 0xbeef;
  fresh.frames.resize(1);  // no named caller: the object and offset name it
  hq::SitesAnswer answer = data::sites(h, {grows, flat, fresh});
  answer.sites_total = 7;
  answer.truncated = true;
  const std::string html = report_html(input_with(h, answer));

  EXPECT_EQ(count(html, "<tr class=\"site\">"), 3u);
  EXPECT_EQ(count(html, "class=\"site-plot\""), 3u);
  auto drawn = shapes(html, "series-site");
  ASSERT_EQ(drawn.size(), 2u);  // the third has no snapshot yet
  EXPECT_EQ(drawn[0].size(), 12u);
  EXPECT_EQ(drawn[1].size(), 12u);
  EXPECT_LT(drawn[0].back().second, drawn[0].front().second);    // growing: upwards
  EXPECT_EQ(drawn[1].back().second, drawn[1].front().second);    // flat
  EXPECT_NE(html.find(">no snapshots yet<"), std::string::npos);

  for (const char* text : {"copy_token <span class=\"note\">(inlined)</span>", "src/token.h:33",
                           "<li>parse_request &mdash; src/parse.c:120", "<div class=\"code function\">libfoo.so.1+0xbeef</div>",
                           "/usr/lib/libfoo.so.1+0xbeef", "<span class=\"flag\">growing</span>", "+3.8 MiB/h",
                           "99.9% confidence", "1.8 MiB", "64 blocks, 3 samples", "an estimated 5.0 MiB live in 7 call sites",
                           "Showing the first 3", "one sample per 512 KiB allocated"}) {
    EXPECT_NE(html.find(text), std::string::npos) << text << '\n' << html;
  }
  EXPECT_EQ(count(html, "<span class=\"flag\">growing</span>"), 1u);
}

}  // namespace
