#include "site_name.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <string_view>

#include "memproxy/hex.hpp"
#include "memproxy/process_info.hpp"

namespace memproxyctl {

namespace hq = memproxy::heap_query;
using memproxy::process::base_name;

namespace {

bool starts_with(const std::string& text, std::string_view prefix) { return text.rfind(prefix, 0) == 0; }

using memproxy::hex;

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

size_t first_outside_allocator(const hq::SiteView& site) {
  for (size_t i = 0; i < site.frames.size(); ++i) {
    if (!allocator_frame(site.frames[i])) return i;
  }
  return 0;
}

size_t naming_frame(const hq::SiteView& site) {
  const size_t first = first_outside_allocator(site);
  for (size_t i = first; i < site.frames.size(); ++i) {
    if (allocator_frame(site.frames[i])) continue;
    if (!site.frames[i].function.empty()) return i;
  }
  return first;
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

namespace {

// How many frames, from each site's first outside the allocator, the two
// stacks share.
size_t shared_frames(const hq::SiteView& a, const hq::SiteView& b) {
  const size_t from_a = first_outside_allocator(a), from_b = first_outside_allocator(b);
  size_t n = 0;
  while (from_a + n < a.frames.size() && from_b + n < b.frames.size() &&
         a.frames[from_a + n].address == b.frames[from_b + n].address) {
    ++n;
  }
  return n;
}

std::string place_in_object(const hq::FrameView& frame) {
  if (frame.object.empty()) return hex(frame.address);
  return base_name(frame.object) + "+" + hex(frame.object_offset);
}

}  // namespace

std::vector<std::string> label_suffixes(const std::vector<hq::SiteView>& sites) {
  std::vector<std::string> suffixes(sites.size());
  std::map<std::string, std::vector<size_t>> alike;  // label -> sites
  for (size_t i = 0; i < sites.size(); ++i) alike[site_label(sites[i])].push_back(i);
  for (const auto& [label, group] : alike) {
    if (group.size() < 2) continue;
    for (size_t i : group) {
      size_t parts_at = 0;
      bool parts = false;
      for (size_t j : group) {
        const size_t shared = shared_frames(sites[i], sites[j]);
        const bool same_stack = shared == sites[i].frames.size() - first_outside_allocator(sites[i]) &&
                                shared == sites[j].frames.size() - first_outside_allocator(sites[j]);
        if (same_stack) continue;
        parts = true;
        parts_at = std::max(parts_at, shared);
      }
      const size_t frame = first_outside_allocator(sites[i]) + parts_at;
      if (parts && frame < sites[i].frames.size()) suffixes[i] = " [" + place_in_object(sites[i].frames[frame]) + "]";
    }
    // Stacks alike in every frame compared (the same addresses, one a
    // prefix of another, or one object+offset at two depths) are numbered.
    std::map<std::string, size_t> seen;
    for (size_t i : group) {
      const size_t n = ++seen[suffixes[i]];
      if (n > 1) suffixes[i] += " #" + std::to_string(n);
    }
  }
  return suffixes;
}

}  // namespace memproxyctl
