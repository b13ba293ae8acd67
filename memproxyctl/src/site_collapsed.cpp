#include "site_collapsed.hpp"

#include <cstdio>

namespace memproxyctl {

namespace hq = memproxy::heap_query;

namespace {

std::string cleaned(std::string name) {
  for (char& c : name) {
    if (c == ';') c = ':';
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return name;
}

std::string hex(uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(value));
  return text;
}

}  // namespace

std::string collapsed_frame(const hq::FrameView& f) {
  if (!f.function.empty()) return cleaned(f.function);
  if (!f.object.empty()) {
    auto slash = f.object.find_last_of('/');
    return cleaned((slash == std::string::npos ? f.object : f.object.substr(slash + 1)) + "+" + hex(f.object_offset));
  }
  return hex(f.address);
}

std::string collapsed_stacks(const hq::SitesAnswer& answer) {
  std::string out;
  for (const hq::SiteView& site : answer.sites) {
    if (site.estimated_bytes == 0) continue;
    std::string line;
    for (auto f = site.frames.rbegin(); f != site.frames.rend(); ++f) {
      if (!line.empty()) line += ';';
      line += collapsed_frame(*f);
    }
    if (line.empty()) line = "[no stack]";
    out += line + " " + std::to_string(site.estimated_bytes) + "\n";
  }
  return out;
}

}  // namespace memproxyctl
