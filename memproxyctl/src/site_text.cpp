#include "site_text.hpp"

#include <array>
#include <cstdio>
#include <string_view>

#include "human_units.hpp"

namespace memproxyctl {

namespace hq = memproxy::heap_query;

namespace {

std::string base_name(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool starts_with(const std::string& text, std::string_view prefix) { return text.rfind(prefix, 0) == 0; }

std::string hex(uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(value));
  return text;
}

std::string right(const std::string& text, size_t width) {
  return text.size() >= width ? text : std::string(width - text.size(), ' ') + text;
}

std::string cut(std::string line, int width) {
  if (width > 0 && line.size() > static_cast<size_t>(width)) line.resize(static_cast<size_t>(width));
  while (!line.empty() && line.back() == ' ') line.pop_back();
  return line;
}

std::string growth(const hq::SiteView& site) {
  if (site.series.size() < 2) return "-";
  return human_signed_bytes(site.growth_bytes_per_hour) + "/h";
}

}  // namespace

bool allocator_frame(const hq::FrameView& frame) {
  static constexpr std::array<std::string_view, 5> kLibraries{"libmemproxy", "libjemalloc", "libtcmalloc",
                                                              "libmimalloc", "libtbbmalloc"};
  const std::string object = base_name(frame.object);
  for (std::string_view library : kLibraries) {
    if (starts_with(object, library)) return true;
  }
  static constexpr std::array<std::string_view, 10> kEntries{"malloc",   "calloc",         "realloc",
                                                             "reallocarray", "aligned_alloc", "memalign",
                                                             "posix_memalign", "valloc", "pvalloc", "free"};
  const std::string& f = frame.function;
  for (std::string_view entry : kEntries) {
    if (f == entry) return true;
  }
  return starts_with(f, "__libc_") || starts_with(f, "operator new") || starts_with(f, "operator delete");
}

size_t naming_frame(const hq::SiteView& site) {
  for (size_t i = 0; i < site.frames.size(); ++i) {
    if (!allocator_frame(site.frames[i])) return i;
  }
  return 0;
}

std::string frame_name(const hq::FrameView& frame, bool full_path) {
  std::string where;
  if (!frame.file.empty()) {
    where = full_path ? frame.file : base_name(frame.file);
    if (frame.line != 0) where += ":" + std::to_string(frame.line);
  }
  if (!frame.function.empty()) return where.empty() ? frame.function : frame.function + " (" + where + ")";
  if (!where.empty()) return where;
  if (!frame.object.empty()) return (full_path ? frame.object : base_name(frame.object)) + "+" + hex(frame.object_offset);
  return hex(frame.address);
}

std::vector<std::string> site_lines(const hq::SitesAnswer& a, bool stacks, int width) {
  std::vector<std::string> out;
  std::string summary = "pid " + std::to_string(a.process.pid) + " (" + a.process.program + ", user " +
                        a.process.user + "): " + human_bytes(a.estimated_bytes) + " estimated from " +
                        std::to_string(a.samples) + " samples";
  if (a.sample_mean_bytes == 0) {
    summary += "; the process is not sampling";
  } else {
    summary += ", one per " + human_bytes(a.sample_mean_bytes);
  }
  summary += "; " + std::to_string(a.sites_total) + (a.sites_total == 1 ? " site" : " sites");
  if (a.truncated) summary += ", the first " + std::to_string(a.sites.size()) + " shown";
  out.push_back(summary);
  if (!a.symbols_error.empty()) out.push_back("no symbols: " + a.symbols_error);
  if (a.sites.empty()) return out;
  out.push_back(cut(right("RANK", 4) + " " + right("LIVE", 9) + " " + right("BLOCKS", 9) + " " + right("GROWTH", 12) +
                        "  SITE",
                    width));
  for (size_t i = 0; i < a.sites.size(); ++i) {
    const hq::SiteView& s = a.sites[i];
    std::string name = s.frames.empty() ? "(no stack)" : frame_name(s.frames[naming_frame(s)]);
    if (s.growing) name += "  [growing]";
    out.push_back(cut(right(std::to_string(i + 1), 4) + " " + right(human_bytes(s.estimated_bytes), 9) + " " +
                          right(std::to_string(s.estimated_blocks), 9) + " " + right(growth(s), 12) + "  " + name,
                      width));
    if (!stacks) continue;
    for (const hq::FrameView& f : s.frames) {
      std::string line = "        " + hex(f.address) + " " + frame_name(f, true);
      if (!f.object.empty() && !f.function.empty()) line += " in " + f.object + "+" + hex(f.object_offset);
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
