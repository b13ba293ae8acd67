// A call site's stack as the query protocol's frames, from what the
// symbolizer made of its return addresses (symbols::Location): each
// address gives its inlined chain, innermost first, or one frame naming
// only the object and offset when nothing else is known.
#ifndef MEMPROXYD_HEAPWATCH_SITE_FRAMES_HPP
#define MEMPROXYD_HEAPWATCH_SITE_FRAMES_HPP

#include <cstdint>
#include <map>
#include <vector>

#include "heapwatch/analysis/call_sites.hpp"
#include "memproxy/heap_query.hpp"
#include "symbols/location.hpp"

namespace memproxy::heapwatch {

// At least one frame, all carrying location.address.
std::vector<heap_query::FrameView> frames_of(const symbols::Location& location);

// The frames of `stack`, innermost first: an address missing from
// `locations` is a frame naming only its address. Cut to the protocol's
// limits.
std::vector<heap_query::FrameView> frames_of(const Stack& stack, const std::map<uint64_t, symbols::Location>& locations);

}  // namespace memproxy::heapwatch

#endif
