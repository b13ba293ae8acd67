// The call sites of one process as the query protocol carries them
// (memproxy/heap_query.hpp SitesAnswer): a SiteHistory's ranking, each
// site's stack turned into frames by a symbolizer the caller supplies.
#ifndef MEMPROXYD_HEAPWATCH_SITE_VIEWS_HPP
#define MEMPROXYD_HEAPWATCH_SITE_VIEWS_HPP

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "heapwatch/analysis/daemon_verdict.hpp"
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

// The sites of an answer as a SiteHistory can go on from them: each
// site's stack is the addresses of its frames that are not inlined into
// the next one (a chain of inlined frames shares its address).
std::vector<KeptSite> kept_sites_of(const heap_query::SitesAnswer& answer);

// What shrinking sites must take back of what growing ones add, in a
// process judged stable, for both to be shown: the rest is within the
// sampled estimates' error (a site of a few hundred samples has a slope a
// few percent off), while a growth nothing visible offsets is not shown.
inline constexpr double kOffsetShare = 0.75;

// One truth per process: in a process whose verdict is `stable`, a site
// stays `growing` only while sites that shrink (confidently, materially)
// take back at least kOffsetShare of what the growing ones add per hour,
// and those are then marked `shrinking`, so that both are shown; otherwise
// no site of it is growing. In a growing process, or one not judged yet (where a
// site's growth is the early hint), the sites keep their own growth. The
// growing sites stay first.
void reconcile_with_verdict(std::vector<RankedSite>& sites, VerdictState process);

// The answer for `process`: at most `limit` (and kMaxSites) of the
// history's ranked sites, reconciled with the process's verdict state,
// with the totals of its latest reading and the process's sampling mean
// (the heap account header's sample_mean_bytes). Without a symbolizer the
// frames are address_frames().
heap_query::SitesAnswer sites_answer(const heap_query::Process& process, const SiteHistory& history,
                                     uint64_t sample_mean_bytes, size_t limit, const Symbolize& symbolize,
                                     VerdictState verdict = VerdictState::not_judged);

}  // namespace memproxy::heapwatch

#endif
