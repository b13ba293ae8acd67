// The header of a heap account as the library writes it, for tests that
// hand the daemon accounts of their own making: well formed in every field
// the daemon checks, so that what a test changes is the one lie it tells.
#ifndef MEMPROXY_TESTS_HEAPWATCH_FORGED_HEADER_HPP
#define MEMPROXY_TESTS_HEAPWATCH_FORGED_HEADER_HPP

#include <cstdint>
#include <cstring>

#include "memproxy/heap_account.h"

namespace heapwatch_e2e {

inline memproxy::heap::Header well_formed_header(uint64_t region_size, uint32_t pid) {
  memproxy::heap::Header h{};
  std::memcpy(h.magic, MP_HEAP_MAGIC, sizeof MP_HEAP_MAGIC);
  h.format_version = memproxy::heap::kFormatVersion;
  h.header_size = sizeof h;
  h.slot_size = memproxy::heap::kSlotSize;
  h.slot_count = memproxy::heap::kSlotCount;
  h.region_size = region_size;
  h.pid = pid;
  h.samples_offset = static_cast<uint32_t>(memproxy::heap::samples_offset_for(h.slot_count));
  h.samples_size = sizeof(memproxy::heap::SampleSection);
  h.trace_offset = static_cast<uint32_t>(memproxy::heap::trace_offset_for(h.slot_count));
  h.trace_size = sizeof(memproxy::heap::TraceSection);
  return h;
}

}  // namespace heapwatch_e2e

#endif
