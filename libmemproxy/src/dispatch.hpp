// The function-pointer table every exported allocation symbol jumps
// through (one slot per member of memproxy/allocator_family.def), and the raw functions of the
// allocators the slots can lead to.
//
// Invariants:
// - Before the decision every slot points at its boot_* function (boot.cpp),
//   which decides first. The decision (decision.cpp) fills every slot and
//   then publishes with a release store, so a thread sees either a boot_*
//   function (which synchronises with the decision) or a final one.
// - decision.cpp is the only writer of g_dispatch. After the decision a slot
//   changes at most once more, through decision.cpp: when a custom backend
//   meets its first RTLD_DEEPBIND dlopen, the free slots switch to functions
//   that also recognise libc's pointers (deepbind.hpp).
// - Slots are pointer-sized, aligned and written with atomic stores: never
//   torn. An exported function reads its slot with a plain load and makes
//   one indirect jump: no lock, no TLS, no other branch than the ones its
//   kind needs (memproxy/allocator_family.def).
#ifndef MEMPROXY_DISPATCH_HPP
#define MEMPROXY_DISPATCH_HPP

#include <stddef.h>

#include <new>

#include "state.hpp"

namespace memproxy {

struct Dispatch {
#define MP_C(kind, counter, name, ret, params, args) ret(*name) params;
#define MP_LIBC(kind, counter, name, of, ret, params, args) ret(*name) params;
#define MP_CXX(kind, slot, mangled, declarator, ret, params, args) ret(*slot) params;
#include "memproxy/allocator_family.def"
};

extern Dispatch g_dispatch MP_HOT_STATE;

// The raw C functions of one allocator (allocator_family.def's C members), looked up
// in that allocator's own object; a custom allocator may lack the ones
// glibc_semantics.hpp derives (nullptr then). Only libc's set has mallopt.
struct Allocator {
#define MP_C(kind, counter, name, ret, params, args) ret(*name) params;
#include "memproxy/allocator_family.def"
  int (*mallopt)(int, int);
};

// libc's allocator (always resolved by the decision) and the chosen backend
// (a copy of g_libc, or the custom allocator's functions).
extern Allocator g_libc MP_HOT_STATE;
extern Allocator g_chosen MP_HOT_STATE;

template <typename T>
inline void store_slot(T* slot, T value) {
  __atomic_store_n(slot, value, __ATOMIC_RELAXED);
}

}  // namespace memproxy

#endif
