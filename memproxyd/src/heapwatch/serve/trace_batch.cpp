#include "heapwatch/serve/trace_batch.hpp"

#include <unordered_set>

#include "heapwatch/serve/site_frames.hpp"
#include "memproxy/allocator_family.hpp"

namespace memproxy::heapwatch {

namespace tq = memproxy::trace_query;

std::vector<uint64_t> distinct_callers(const std::vector<heap::TraceRecord>& records) {
  std::vector<uint64_t> out;
  std::unordered_set<uint64_t> seen;
  for (const heap::TraceRecord& r : records) {
    if (seen.insert(r.caller).second) out.push_back(r.caller);
  }
  return out;
}

tq::Caller wire_caller(uint64_t address, const symbols::Location& location) {
  tq::Caller c;
  c.address = address;
  if (!location.mapped) {
    c.error = location.note.empty() ? "the address lies in no file the process maps" : location.note;
    return c;
  }
  c.frames = frames_of(location);
  if (location.frames.empty()) {
    // The object and offset are all there is: addr2line can take them.
    c.error = location.note.empty() ? "the object has no symbols for the address" : location.note;
  }
  return c;
}

tq::Batch wire_batch(const std::vector<heap::TraceRecord>& records, const std::vector<uint64_t>& callers,
                     const std::vector<symbols::Location>& locations, const std::string& error) {
  tq::Batch b;
  b.records.reserve(records.size());
  for (const heap::TraceRecord& r : records) {
    b.records.push_back(
        {r.unix_ns, r.thread, family::member_name(r.member), r.size, r.pointer, r.result, r.caller});
  }
  b.callers.reserve(callers.size());
  for (size_t i = 0; i < callers.size(); ++i) {
    if (i < locations.size()) {
      b.callers.push_back(wire_caller(callers[i], locations[i]));
    } else {
      tq::Caller c;
      c.address = callers[i];
      c.error = error.empty() ? "the symbolizer gave no answer" : error;
      b.callers.push_back(std::move(c));
    }
  }
  return b;
}

}  // namespace memproxy::heapwatch
