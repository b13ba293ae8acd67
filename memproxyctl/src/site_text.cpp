#include "site_text.hpp"

#include <string_view>

#include "human_units.hpp"
#include "memproxy/clock.hpp"
#include "output.hpp"
#include "memproxy/hex.hpp"
#include "memproxy/process_info.hpp"
#include "terminal_text.hpp"

namespace memproxyctl {

namespace hq = memproxy::heap_query;
using memproxy::process::base_name;

namespace {

using memproxy::hex;

std::string right(const std::string& text, size_t width) {
  return text.size() >= width ? text : std::string(width - text.size(), ' ') + text;
}

std::string cut(std::string line, int width) {
  if (width > 0) line.resize(utf8_prefix(line, static_cast<size_t>(width)).size());
  while (!line.empty() && line.back() == ' ') line.pop_back();
  return line;
}

std::string growth(const hq::SiteView& site) {
  if (site.series.size() < 2) return "-";
  return human_signed_bytes(site.growth_bytes_per_hour) + "/h";
}

}  // namespace

std::string frame_name(const hq::FrameView& frame, bool full_path) {
  std::string where;
  if (!frame.file.empty()) {
    where = full_path ? frame.file : base_name(frame.file);
    if (frame.line != 0) where += ":" + std::to_string(frame.line);
  }
  const std::string name = terminal_safe(frame_label(frame, full_path));
  return where.empty() ? name : name + " (" + terminal_safe(where) + ")";
}

std::string ended_sites_note(const hq::SitesAnswer& a) {
  const hq::Process& p = a.process;
  if (p.ended_unix_ns == 0) return "";
  std::string note = "pid " + std::to_string(p.pid) + " ended at " + format_unix_ns(p.ended_unix_ns);
  if (!p.ended_how.empty()) note += ", " + terminal_safe(p.ended_how);
  note += "; these are its call sites as the daemon kept them at " + format_unix_ns(a.unix_ns);
  if (p.ended_unix_ns > a.unix_ns) note += ", " + human_duration((p.ended_unix_ns - a.unix_ns) / memproxy::kNsPerSecond) + " before its end";
  return note;
}

std::vector<std::string> site_lines(const hq::SitesAnswer& a, bool stacks, int width) {
  std::vector<std::string> out;
  std::string summary = "pid " + std::to_string(a.process.pid) + " (" + terminal_safe(a.process.program) +
                        ", user " + terminal_safe(a.process.user) + "): " + human_bytes(a.estimated_bytes) + " estimated from " +
                        std::to_string(a.samples) + " samples";
  if (a.sample_mean_bytes == 0) {
    summary += "; the process is not sampling";
  } else {
    summary += ", one per " + human_bytes(a.sample_mean_bytes);
  }
  summary += "; " + std::to_string(a.sites_total) + (a.sites_total == 1 ? " site" : " sites");
  if (a.truncated) summary += ", the first " + std::to_string(a.sites.size()) + " shown";
  out.push_back(summary);
  if (const std::string ended = ended_sites_note(a); !ended.empty()) out.push_back(ended);
  if (!a.symbols_error.empty()) out.push_back("no symbols: " + terminal_safe(a.symbols_error));
  if (a.sites.empty()) return out;
  out.push_back(cut(right("RANK", 4) + " " + right("LIVE", 9) + " " + right("BLOCKS", 9) + " " + right("GROWTH", 12) +
                        "  SITE",
                    width));
  const std::vector<std::string> suffixes = label_suffixes(a.sites);
  for (size_t i = 0; i < a.sites.size(); ++i) {
    const hq::SiteView& s = a.sites[i];
    std::string name = (s.frames.empty() ? site_label(s) : frame_name(s.frames[naming_frame(s)])) + terminal_safe(suffixes[i]);
    const std::string columns = right(std::to_string(i + 1), 4) + " " + right(human_bytes(s.estimated_bytes), 9) +
                                " " + right(std::to_string(s.estimated_blocks), 9) + " " + right(growth(s), 12) + "  ";
    const std::string state = s.growing || s.shrinking ? std::string("  [") + hq::site_state(s) + "]" : "";
    // A narrow terminal cuts the site's name, never its state.
    const int room = width - static_cast<int>(columns.size() + state.size());
    if (width > 0 && room > 0) name = cut(name, room);
    out.push_back(cut(columns + name + state, width));
    if (!stacks) continue;
    for (const hq::FrameView& f : s.frames) {
      std::string line = "        " + hex(f.address) + " " + frame_name(f, true);
      if (!f.object.empty() && !f.function.empty()) line += " in " + terminal_safe(f.object) + "+" + hex(f.object_offset);
      out.push_back(line + (f.inlined ? " [inlined]" : ""));
    }
    if (s.truncated_samples != 0) {
      out.push_back("        (" + std::to_string(s.truncated_samples) + " of " + std::to_string(s.samples) +
                    " samples have an incomplete stack)");
    }
  }
  return out;
}

}  // namespace memproxyctl
