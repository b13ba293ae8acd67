// What a drained batch of trace records becomes on the wire: the records
// in order, named by the allocator family, and each distinct caller once,
// with what the symbolizer made of it.
#ifndef MEMPROXYD_HEAPWATCH_TRACE_BATCH_HPP
#define MEMPROXYD_HEAPWATCH_TRACE_BATCH_HPP

#include <cstdint>
#include <string>
#include <vector>

#include "memproxy/heap_account.h"
#include "memproxy/trace_query.hpp"
#include "symbols/location.hpp"

namespace memproxy::heapwatch {

// The distinct callers of `records`, in the order they first appear.
std::vector<uint64_t> distinct_callers(const std::vector<heap::TraceRecord>& records);

// `locations` answer `callers` (one each, in order), or `error` says why
// there are none; a caller without a location is sent with its address
// and that error.
trace_query::Batch wire_batch(const std::vector<heap::TraceRecord>& records, const std::vector<uint64_t>& callers,
                              const std::vector<symbols::Location>& locations, const std::string& error);

// A location as frames, innermost first (several for inlined code, each
// with the same address), and why there is no function when there is none.
trace_query::Caller wire_caller(uint64_t address, const symbols::Location& location);

}  // namespace memproxy::heapwatch

#endif
