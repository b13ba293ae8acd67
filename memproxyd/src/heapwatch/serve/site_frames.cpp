#include "heapwatch/serve/site_frames.hpp"

namespace memproxy::heapwatch {

namespace hq = memproxy::heap_query;

std::vector<hq::FrameView> frames_of(const symbols::Location& location) {
  hq::FrameView base;
  base.address = location.address;
  if (location.mapped) {
    base.object = location.object;
    base.build_id = location.build_id;
    base.object_offset = location.offset;
  }
  if (location.frames.empty()) return {base};
  std::vector<hq::FrameView> out;
  out.reserve(location.frames.size());
  for (const symbols::Frame& f : location.frames) {
    hq::FrameView v = base;
    v.function = f.function;
    v.file = f.file;
    v.line = f.line;
    v.column = f.column;
    v.inlined = f.inlined;
    out.push_back(std::move(v));
  }
  return out;
}

std::vector<hq::FrameView> frames_of(const Stack& stack, const std::map<uint64_t, symbols::Location>& locations) {
  std::vector<hq::FrameView> out;
  for (uint64_t pc : stack) {
    if (out.size() >= hq::kMaxSiteFrames) break;
    auto it = locations.find(pc);
    if (it == locations.end()) {
      hq::FrameView v;
      v.address = pc;
      out.push_back(std::move(v));
      continue;
    }
    for (hq::FrameView& v : frames_of(it->second)) out.push_back(std::move(v));
  }
  hq::SiteView cut;
  cut.frames = std::move(out);
  hq::limit_site(cut);
  return std::move(cut.frames);
}

}  // namespace memproxy::heapwatch
