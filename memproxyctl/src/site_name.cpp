#include "site_name.hpp"

#include <array>
#include <cstdio>
#include <string_view>

#include "memproxy/process_info.hpp"

namespace memproxyctl {

namespace hq = memproxy::heap_query;
using memproxy::process::base_name;

namespace {

bool starts_with(const std::string& text, std::string_view prefix) { return text.rfind(prefix, 0) == 0; }

std::string hex(uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(value));
  return text;
}

}  // namespace

bool allocator_frame(const hq::FrameView& frame) {
  static constexpr std::array<std::string_view, 5> kLibraries{"libmemproxy", "libjemalloc", "libtcmalloc",
                                                              "libmimalloc", "libtbbmalloc"};
  const std::string object = base_name(frame.object);
  for (std::string_view library : kLibraries) {
    if (starts_with(object, library)) return true;
  }
  static constexpr std::array<std::string_view, 11> kEntries{
      "malloc",        "calloc", "realloc", "reallocarray", "aligned_alloc",     "memalign",
      "posix_memalign", "valloc", "pvalloc", "free",         "malloc_usable_size"};
  const std::string& f = frame.function;
  for (std::string_view entry : kEntries) {
    if (f == entry) return true;
  }
  static constexpr std::array<std::string_view, 11> kPrefixes{
      "__libc_", "_int_",  "tcache_", "operator new", "operator delete", "je_", "mi_", "_mi_",
      "tc_",     "tcmalloc::", "scalable_"};
  for (std::string_view prefix : kPrefixes) {
    if (starts_with(f, prefix)) return true;
  }
  return false;
}

size_t naming_frame(const hq::SiteView& site) {
  size_t first_outside = site.frames.size();
  for (size_t i = 0; i < site.frames.size(); ++i) {
    if (allocator_frame(site.frames[i])) continue;
    if (!site.frames[i].function.empty()) return i;
    if (first_outside == site.frames.size()) first_outside = i;
  }
  return first_outside == site.frames.size() ? 0 : first_outside;
}

std::string frame_label(const hq::FrameView& frame, bool full_path) {
  if (!frame.function.empty()) return frame.function;
  if (!frame.object.empty()) return (full_path ? frame.object : base_name(frame.object)) + "+" + hex(frame.object_offset);
  return hex(frame.address);
}

std::string site_label(const hq::SiteView& site) {
  if (site.frames.empty()) return "(no stack)";
  return frame_label(site.frames[naming_frame(site)]);
}

}  // namespace memproxyctl
