// The call sites of one process as the query protocol carries them
// (memproxy/heap_query.hpp SitesAnswer): a SiteHistory's ranking, each
// site's stack turned into frames by a symbolizer the caller supplies.
#ifndef MEMPROXYD_HEAPWATCH_SITE_VIEWS_HPP
#define MEMPROXYD_HEAPWATCH_SITE_VIEWS_HPP

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "heapwatch/analysis/site_history.hpp"
#include "memproxy/heap_query.hpp"

namespace memproxy::heapwatch {

// Turns a stack (innermost first) into frames (innermost first, inlined
// ones included).
using Symbolize = std::function<std::vector<heap_query::FrameView>(const Stack&)>;

// One frame per address, naming nothing but the address: what a site shows
// without symbols.
std::vector<heap_query::FrameView> address_frames(const Stack& stack);

// Estimates rounded to the wire's integers (saturating; NaN and negatives
// are 0), frames from `frames`, cut to the protocol's limits.
heap_query::SiteView to_site_view(const RankedSite& site, std::vector<heap_query::FrameView> frames);

// The answer for `process`: at most `limit` (and kMaxSites) of the
// history's ranked sites, with the totals of its latest reading and the
// process's sampling mean (the heap account header's sample_mean_bytes).
// Without a symbolizer the frames are address_frames().
heap_query::SitesAnswer sites_answer(const heap_query::Process& process, const SiteHistory& history,
                                     uint64_t sample_mean_bytes, size_t limit, const Symbolize& symbolize);

}  // namespace memproxy::heapwatch

#endif
