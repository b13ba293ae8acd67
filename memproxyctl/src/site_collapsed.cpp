#include "site_collapsed.hpp"

#include "site_name.hpp"
#include "terminal_text.hpp"

namespace memproxyctl {

namespace hq = memproxy::heap_query;

namespace {

// The format's own rule first (';' separates frames, a line is a stack),
// then what a terminal would act on.
std::string cleaned(std::string name) {
  for (char& c : name) {
    if (c == ';') c = ':';
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return terminal_safe(name);
}

}  // namespace

std::string collapsed_frame(const hq::FrameView& f) { return cleaned(frame_label(f)); }

std::string collapsed_stacks(const hq::SitesAnswer& answer) {
  std::string out;
  for (const hq::SiteView& site : answer.sites) {
    if (site.estimated_bytes == 0) continue;
    std::string line;
    const size_t leaf = first_outside_allocator(site);
    for (size_t i = site.frames.size(); i > leaf; --i) {
      if (!line.empty()) line += ';';
      line += collapsed_frame(site.frames[i - 1]);
    }
    if (line.empty()) line = "[no stack]";
    out += line + " " + std::to_string(site.estimated_bytes) + "\n";
  }
  return out;
}

}  // namespace memproxyctl
