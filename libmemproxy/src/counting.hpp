// The counting slots of a monitored process: each calls the slot's
// unmonitored target (targets.hpp) and accounts the call in this thread's
// slot of the heap account (heap_account.hpp), in usable bytes, so live
// bytes are exact. An unmonitored process never reaches them: its slots are
// the targets themselves.
#ifndef MEMPROXY_COUNTING_HPP
#define MEMPROXY_COUNTING_HPP

#include "dispatch.hpp"

namespace memproxy::counting {

// The unmonitored targets the counting slots call, filled by the decision.
extern Dispatch g_targets MP_STATE;

// How the counting slots learn the bytes of a call, fixed per process:
enum Sizing {
  kByBackendCounters,  // the backend's own thread counters (account::follow_backend_counters)
  kByGlibcChunk,       // libc's blocks, sized by their glibc chunk header read in place
  kByMimallocPage,     // mimalloc's blocks, sized by their page read in place (aligned ones asked)
  kBySizeQuery,        // the backend's malloc_usable_size
};

// The counting slots over g_targets. Slots whose calls cannot be accounted
// (the operator slots of a program that replaces its own operators, which
// lead into the program's allocator) keep their targets.
Dispatch over_targets(bool count_operators, Sizing sizing);

// The free slots over_targets made for a process that meets a deepbound
// library (decision::recognise_foreign_blocks), which then frees libc's
// blocks too: they hand those to libc and count the others.
struct FreeSlots {
  void (*free)(void*);
  void (*libc_free)(void*);  // __libc_free, where libc has it
};
extern FreeSlots g_sorting_free MP_STATE;

}  // namespace memproxy::counting

#endif
