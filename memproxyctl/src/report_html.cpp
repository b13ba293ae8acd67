#include "report_html.hpp"
#include "site_text.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>

#include "heap_tables.hpp"
#include "html_text.hpp"
#include "human_units.hpp"
#include "memproxy/clock.hpp"
#include "memproxy/hex.hpp"
#include "output.hpp"
#include "report_svg.hpp"
#include "site_name.hpp"
#include "terminal_text.hpp"

namespace memproxyctl {

using memproxy::kNsPerSecond;

namespace hq = memproxy::heap_query;

namespace {

const char* const kStyle = R"(
body{font-family:sans-serif;margin:24px;color:#1d232b;background:#fff;max-width:1000px}
h1{font-size:22px;margin:0 0 12px}
h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #dde3ea;padding-bottom:4px}
dl.header{display:grid;grid-template-columns:max-content auto;gap:3px 16px;margin:0}
dl.header dt{color:#5b6573}
dl.header dd{margin:0;overflow-wrap:anywhere}
.legend span{display:inline-block;margin-right:18px}
.swatch{display:inline-block;width:18px;height:4px;vertical-align:middle;margin-right:6px}
.trend{font-weight:bold;padding:1px 8px;border-radius:3px}
.trend.growing{background:#ffe3e3;color:#a61e1e}
.trend.stable{background:#e6f4ea;color:#1e6b34}
.trend.none{background:#eceff3;color:#3d4652}
table{border-collapse:collapse}
table.evidence td,table.evidence th{padding:2px 14px 2px 0;text-align:left;vertical-align:top}
table.evidence td.number{text-align:right}
table.sites{width:100%}
table.sites th,table.sites td{border-bottom:1px solid #e6e9ee;padding:6px 8px;text-align:left;vertical-align:top}
table.sites td.number{text-align:right;white-space:nowrap}
.code{font-family:monospace;overflow-wrap:anywhere}
.flag{font-weight:bold;color:#a61e1e}
.unavailable{background:#fff4e6;border-left:4px solid #f08c00;padding:8px 12px}
details summary{cursor:pointer;color:#5b6573}
ol.stack{margin:4px 0 0;padding-left:22px;font-family:monospace;font-size:12px}
.note{color:#5b6573}
)";

std::string e(const std::string& text) { return html_escape(text); }

std::string percent(double fraction) {
  char text[16];
  std::snprintf(text, sizeof text, "%.1f%%", std::isfinite(fraction) ? fraction * 100 : 0.0);
  return text;
}

std::string fixed(double v, int digits) {
  char text[32];
  std::snprintf(text, sizeof text, "%.*f", digits, std::isfinite(v) ? v : 0.0);
  return text;
}

using memproxy::hex;

std::string plural(uint64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string row(const std::string& name, const std::string& escaped_value) {
  return "<dt>" + e(name) + "</dt><dd>" + escaped_value + "</dd>";
}

std::string header_section(const ReportInput& input) {
  const hq::History& h = input.history;
  const hq::Process& p = h.process;
  std::string out = "<header><h1>Heap report: " + e(p.program) + " (pid " + std::to_string(p.pid) + ")</h1>";
  out += "<dl class=\"header\">";
  out += row("program", "<span class=\"code\">" + e(p.program) + "</span>");
  if (!p.exe.empty()) out += row("executable", "<span class=\"code\">" + e(p.exe) + "</span>");
  out += row("pid", std::to_string(p.pid));
  out += row("user", e(p.user) + " (uid " + std::to_string(p.uid) + ")");
  out += row("started", e(format_unix_ns(p.started_unix_ns)));
  if (p.ended_unix_ns != 0) {
    out += row("ended", e(format_unix_ns(p.ended_unix_ns)) + " (ran " +
                            e(human_duration((p.ended_unix_ns - p.started_unix_ns) / kNsPerSecond)) +
                            (p.ended_how.empty() ? "" : "; " + e(p.ended_how)) + ")");
  } else {
    out += row("ended", "running when the report was made");
  }
  std::string samples = plural(h.samples.size(), "sample", "samples");
  if (!h.samples.empty()) {
    samples += ", from " + format_unix_ns(h.samples.front().unix_ns) + " to " + format_unix_ns(h.samples.back().unix_ns);
  }
  if (h.truncated) {
    samples += " (older samples left out: an answer holds at most " + std::to_string(hq::kMaxHistorySamples) + ")";
  }
  out += row("history", e(samples));
  out += row("report made", e(format_unix_ns(input.generated_unix_ns)));
  out += "</dl></header>";
  return out;
}

std::string history_section(const ReportInput& input) {
  const hq::History& h = input.history;
  std::vector<SvgSeries> series{{"series-live", report_colors::kLive, 2.5, {}},
                                {"series-rss", report_colors::kRss, 2.5, {}}};
  for (const hq::Reading& s : h.samples) {
    series[0].points.push_back({s.unix_ns, s.live_bytes});
    series[1].points.push_back({s.unix_ns, s.rss_bytes});
  }
  SvgChartLayout layout;
  layout.plot_class = "history-plot";
  layout.plot_fill = report_colors::kHistoryPlot;
  layout.label = "live heap bytes and resident set size over time";
  layout.value_title = "bytes";
  layout.empty_text = "no samples in this span";
  layout.utc_offset_s = input.utc_offset_s;
  std::string out = "<section id=\"history\"><h2>Live heap and resident set over time</h2>";
  out += "<p class=\"legend\"><span><i class=\"swatch\" style=\"background:" + std::string(report_colors::kLive) +
         "\"></i>live heap bytes (the program's allocations still held)</span><span><i class=\"swatch\" "
         "style=\"background:" + std::string(report_colors::kRss) + "\"></i>resident set (RSS)</span></p>";
  out += svg_chart(series, layout);
  if (!h.samples.empty()) {
    const hq::Reading& first = h.samples.front();
    const hq::Reading& last = h.samples.back();
    out += "<p class=\"note\">Live heap " + e(human_bytes(first.live_bytes)) + " &rarr; " +
           e(human_bytes(last.live_bytes)) + ", RSS " + e(human_bytes(first.rss_bytes)) + " &rarr; " +
           e(human_bytes(last.rss_bytes)) + ", peak " + e(human_bytes(last.peak_bytes)) + ".</p>";
  }
  out += "</section>";
  return out;
}

std::string evidence_row(const std::string& name, const std::string& value) {
  return "<tr><th>" + e(name) + "</th><td class=\"number\">" + e(value) + "</td></tr>";
}

std::string verdict_section(const std::optional<hq::Verdict>& v, bool ended) {
  std::string out = "<section id=\"verdict\"><h2>Verdict</h2><p>";
  if (!v) {
    out += "<span class=\"trend none\">none</span> " + e(verdict_sentence(v, ended)) + "</p></section>";
    return out;
  }
  // The trend's CSS class: its word, or "none" while not judged.
  const std::string kind = v->trend == hq::trend::kGrowing || v->trend == hq::trend::kStable ? v->trend : "none";
  out += "<span class=\"trend " + kind + "\">" + e(v->trend) + "</span> " + e(verdict_sentence(v, ended)) + "</p>";
  // Without a verdict, the numbers below are not evidence of anything.
  if (v->trend == hq::trend::kNotEnoughData) return out + "</section>";
  out += "<table class=\"evidence\">";
  out += evidence_row("trend of the live heap", human_signed_bytes(v->slope_bytes_per_hour) + " per hour");
  out += evidence_row("confidence of an upward trend", percent(v->confidence));
  out += evidence_row("Mann\u2013Kendall z", fixed(v->mann_kendall_z, 2));
  out += evidence_row("watched for", human_duration(v->observed_s));
  out += evidence_row("analysed (after the warm-up)", human_duration(v->analysed_s));
  out += evidence_row("live heap at the start of the analysis", human_bytes(v->live_at_start_bytes));
  out += evidence_row("live heap now", human_bytes(v->live_now_bytes));
  out += evidence_row("RSS beyond the heap", (v->fragmentation_growing ? "growing, " : "not growing, ") +
                                                 human_signed_bytes(v->fragmentation_slope_bytes_per_hour) +
                                                 " per hour");
  out += "</table></section>";
  return out;
}

// A frame in one line, as every output names it (site_name.hpp).
std::string frame_function(const hq::FrameView& f) { return frame_label(f); }

std::string frame_place(const hq::FrameView& f) {
  if (!f.file.empty()) return f.line != 0 ? f.file + ":" + std::to_string(f.line) : f.file;
  if (!f.object.empty()) return f.object + "+" + hex(f.object_offset);
  return "unknown";
}

std::string site_chart(const hq::SiteView& site, const ReportInput& input) {
  SvgSeries s{"series-site", report_colors::kSite, 2, {}};
  for (const hq::SitePointView& p : site.series) s.points.push_back({p.unix_ns, p.estimated_bytes});
  SvgChartLayout layout;
  layout.width = 300;
  layout.height = 84;
  layout.plot = {62, 6, 292, 62};
  layout.value_ticks = 3;
  layout.time_ticks = 3;
  layout.time_axis_title = false;
  layout.plot_class = "site-plot";
  layout.plot_fill = report_colors::kSitePlot;
  layout.label = "estimated live bytes of this call site over time";
  layout.empty_text = "no snapshots yet";
  layout.utc_offset_s = input.utc_offset_s;
  return svg_chart({s}, layout);
}

std::string site_row(size_t rank, const hq::SiteView& site, const std::string& label_suffix, const ReportInput& input) {
  std::string out = "<tr class=\"site\"><td class=\"number\">" + std::to_string(rank) + "</td><td>";
  if (site.frames.empty()) {
    out += "<span class=\"note\">no frames (the stack could not be read)</span>";
  } else {
    const hq::FrameView& top = site.frames[naming_frame(site)];
    out += "<div class=\"code function\">" + e(frame_function(top) + label_suffix) + (top.inlined ? " <span class=\"note\">(inlined)</span>" : "") +
           "</div><div class=\"code place\">" + e(frame_place(top)) + "</div>";
    out += "<details><summary>stack, " + e(plural(site.frames.size(), "frame", "frames")) + "</summary><ol class=\"stack\">";
    for (const hq::FrameView& f : site.frames) {
      out += "<li>" + e(frame_function(f)) + " &mdash; " + e(frame_place(f));
      if (!f.object.empty() && !f.file.empty()) out += " <span class=\"note\">in " + e(f.object) + "</span>";
      if (f.inlined) out += " <span class=\"note\">(inlined)</span>";
      out += "</li>";
    }
    out += "</ol></details>";
  }
  if (site.truncated_samples != 0) {
    out += "<div class=\"note\">" + e(plural(site.truncated_samples, "sample's", "samples'")) +
           " stack incomplete</div>";
  }
  out += "</td><td class=\"number\">" + e(human_bytes(site.estimated_bytes)) + "<div class=\"note\">" +
         e(plural(site.estimated_blocks, "block", "blocks")) + ", " + e(plural(site.samples, "sample", "samples")) +
         "</div></td>";
  out += "<td class=\"number\">" + e(human_signed_bytes(site.growth_bytes_per_hour)) + "/h<div class=\"note\">" +
         e(percent(site.growth_confidence)) + " confidence</div></td>";
  out += std::string("<td>") + (site.growing ? "<span class=\"flag\">" : "<span>") + hq::site_state(site) + "</span></td>";
  out += "<td>" + site_chart(site, input) + "</td></tr>";
  return out;
}

std::string sites_section(const ReportInput& input) {
  std::string out = "<section id=\"sites\"><h2>Call sites</h2>";
  if (const std::string* why = std::get_if<std::string>(&input.sites)) {
    out += "<p class=\"unavailable\">Call sites are unavailable: " + e(*why) + "</p></section>";
    return out;
  }
  const hq::SitesAnswer& a = std::get<hq::SitesAnswer>(input.sites);
  if (a.sample_mean_bytes == 0 && a.sites.empty()) {
    out += "<p class=\"unavailable\">Call sites are unavailable: the process does not sample its allocations "
           "(its [monitor] entry in memproxy.conf has sample=off), so no allocation is attributed to a call "
           "site.</p></section>";
    return out;
  }
  std::string summary = "Read at " + format_unix_ns(a.unix_ns) + " from " +
                        plural(a.samples, "live sampled allocation", "live sampled allocations") +
                        " (one sample per " + human_bytes(a.sample_mean_bytes) + " allocated, on average";
  if (a.rejected_samples != 0) summary += "; " + std::to_string(a.rejected_samples) + " left out as implausible";
  summary += "): an estimated " + human_bytes(a.estimated_bytes) + " live in " +
             plural(a.sites_total, "call site", "call sites") + ".";
  if (a.truncated || a.sites.size() < a.sites_total) {
    summary += " Showing the first " + std::to_string(a.sites.size()) + ", the growing ones first, then by size.";
  }
  out += "<p>" + e(summary) + "</p>";
  if (const std::string ended = ended_sites_note(a); !ended.empty()) out += "<p class=\"note\">" + e(ended) + ".</p>";
  if (a.sites.empty()) {
    out += "<p class=\"note\">No call site holds sampled live memory.</p></section>";
    return out;
  }
  out += "<table class=\"sites\"><thead><tr><th>#</th><th>function, file:line</th><th>estimated live</th>"
         "<th>growth</th><th>state</th><th>estimated live over time</th></tr></thead><tbody>";
  const std::vector<std::string> suffixes = label_suffixes(a.sites);
  for (size_t i = 0; i < a.sites.size(); ++i) out += site_row(i + 1, a.sites[i], suffixes[i], input);
  out += "</tbody></table></section>";
  return out;
}

// " At its present growth ... in 5m." or "".
std::string exhaustion_sentence(const hq::Verdict& v) {
  std::string words = exhaustion_words(v);
  if (words.empty()) return "";
  words[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(words[0])));
  return " " + words + ".";
}

}  // namespace

std::string verdict_sentence(const std::optional<hq::Verdict>& v, bool ended) {
  if (!v) {
    return ended ? "The process ended before it was judged: the history above is what was recorded."
                 : "No verdict was made.";
  }
  if (v->trend == hq::trend::kNotEnoughData) {
    std::string s = "Not enough data for a verdict yet: watched for " + human_duration(v->observed_s);
    if (!v->finding.empty() && v->finding != v->trend) s += " (" + v->finding + ")";
    return s + "." + exhaustion_sentence(*v);
  }
  std::string s = ended ? "Its last verdict, made while it ran: " : "";
  if (v->trend == hq::trend::kGrowing) {
    s += "The live heap is growing by " + human_signed_bytes(v->slope_bytes_per_hour) + " per hour";
  } else {
    s += "The live heap is " + v->trend + ": its trend of " + human_signed_bytes(v->slope_bytes_per_hour) +
        " per hour is not a significant growth";
  }
  s += " (confidence " + percent(v->confidence) + ", Mann\u2013Kendall z = " + fixed(v->mann_kendall_z, 2) + "), over " +
       human_duration(v->analysed_s) + " analysed of " + human_duration(v->observed_s) + " watched; live heap " +
       human_bytes(v->live_at_start_bytes) + " at the start of the analysis, " + human_bytes(v->live_now_bytes) +
       (ended ? " at its end." : " now.");
  if (!v->finding.empty() && v->finding != v->trend) s += " Finding: " + v->finding + ".";
  if (v->fragmentation_growing) s += " " + rss_beyond_heap_words(*v) + ".";
  return s + exhaustion_sentence(*v);
}

std::string report_summary(const std::string& file, const ReportInput& input) {
  std::string text = "wrote " + terminal_safe(file) + ": pid " + std::to_string(input.history.process.pid) + " (" +
                     terminal_safe(input.history.process.program) + "), " + std::to_string(input.history.samples.size()) +
                     " samples, ";
  if (const auto* sites = std::get_if<hq::SitesAnswer>(&input.sites)) {
    return text + std::to_string(sites->sites.size()) + " call sites";
  }
  return text + "call sites unavailable: " + terminal_safe(std::get<std::string>(input.sites));
}

std::string report_html(const ReportInput& input) {
  const hq::Process& p = input.history.process;
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">";
  out += "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">";
  out += "<meta name=\"viewport\" content=\"width=device-width\">";
  out += "<title>memproxy heap report: " + e(p.program) + " (pid " + std::to_string(p.pid) + ")</title>";
  out += "<style>" + std::string(kStyle) + "</style></head><body>\n";
  out += header_section(input) + "\n";
  out += history_section(input) + "\n";
  out += verdict_section(input.history.verdict, input.history.process.ended_unix_ns != 0) + "\n";
  out += sites_section(input) + "\n";
  out += "</body></html>\n";
  return out;
}

}  // namespace memproxyctl
