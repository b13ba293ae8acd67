// Call sites as folded stacks, the input of flamegraph.pl and speedscope:
// one line per site, its frames root first joined by ';', a space and its
// estimated live bytes ("main;serve;leak_block 1048576"). Inlined frames
// are frames of their own, each named by frame_label() (site_name.hpp);
// the allocator's frames at the leaf are left out (first_outside_allocator).
// A name is cleaned so it cannot break the format: ';' becomes ':', C0
// controls and DEL become '?'; then terminal_safe() does the rest.
#ifndef MEMPROXYCTL_SITE_COLLAPSED_HPP
#define MEMPROXYCTL_SITE_COLLAPSED_HPP

#include <string>

#include "memproxy/heap_query.hpp"

namespace memproxyctl {

// The folded name of one frame.
std::string collapsed_frame(const memproxy::heap_query::FrameView& frame);

// Every site of `answer`, one line each ending in '\n'; sites of 0 bytes
// are left out (they add nothing to a graph).
std::string collapsed_stacks(const memproxy::heap_query::SitesAnswer& answer);

}  // namespace memproxyctl

#endif
