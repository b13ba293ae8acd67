// `memproxyctl report`'s document: one self-contained HTML page about one
// process (its header, its live heap and RSS over time, the verdict with
// its evidence, its call sites with a growth chart each). Pure: built from
// the daemon's answers alone, so it is tested without a daemon.
//
// Self-contained: no script, and nothing fetched (no external style sheet,
// font, image or link); a Content-Security-Policy forbidding every fetch
// and every script stands behind that, should a text ever slip through.
// Every text from the daemon is escaped (html_text.hpp). The charts are
// inline SVG (report_svg.hpp), drawn without JavaScript.
#ifndef MEMPROXYCTL_REPORT_HTML_HPP
#define MEMPROXYCTL_REPORT_HTML_HPP

#include <cstdint>
#include <string>
#include <variant>

#include "memproxy/heap_query.hpp"

namespace memproxyctl {

// The colours the charts are drawn in: each used for that one thing only,
// so that a picture of the page shows which lines were drawn.
namespace report_colors {
inline constexpr const char* kLive = "#1c64f2";         // live heap bytes
inline constexpr const char* kRss = "#f08c00";          // resident set
inline constexpr const char* kSite = "#c2255c";         // a call site's estimated bytes
inline constexpr const char* kHistoryPlot = "#eef3fb";  // the history chart's plot area
inline constexpr const char* kSitePlot = "#f6eef8";     // a site chart's plot area
}  // namespace report_colors

struct ReportInput {
  memproxy::heap_query::History history;
  // The process's call sites, or why there are none to show (the daemon's
  // refusal, an unreadable answer, another process under the same pid).
  std::variant<memproxy::heap_query::SitesAnswer, std::string> sites = std::string("not asked for");
  int64_t generated_unix_ns = 0;  // when the report was made
  int64_t utc_offset_s = 0;       // the charts' time zone
};

// The whole document, UTF-8.
std::string report_html(const ReportInput& input);

// What `report` prints once the page is written: "wrote FILE: pid N
// (PROGRAM), S samples, C call sites" or why the call sites are not there.
std::string report_summary(const std::string& file, const ReportInput& input);

// "evidence" in words: what the verdict found and on what it rests, one
// sentence or a few, plain text (not escaped). Of a process that `ended`,
// the verdict is the last one made while it ran.
std::string verdict_sentence(const std::optional<memproxy::heap_query::Verdict>& verdict, bool ended = false);

}  // namespace memproxyctl

#endif
