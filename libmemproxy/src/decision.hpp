// The once-per-process routing decision, and the only writer of the
// dispatch table (dispatch.hpp), the chosen backend and the semantics state
// (glibc_semantics.hpp).
//
// Invariants:
// - Exactly one thread runs the decision (a CAS on the state), at the first
//   allocation or in the library constructor, whichever comes first. Nothing
//   on that path allocates from a backend: what dlsym/dlopen/an allocator's
//   constructor allocate meanwhile, in any thread, comes from the bootstrap
//   arena (boot.cpp).
// - Other threads never wait while the arena can serve them, so a thread that
//   holds a loader lock the decider needs cannot deadlock with it.
// - fork() copies the decided state; exec starts a fresh process that decides anew.
#ifndef MEMPROXY_DECISION_HPP
#define MEMPROXY_DECISION_HPP

namespace memproxy::decision {

// true once decided (deciding now if nobody has started); false while
// another thread, or this one further up its stack, is deciding.
bool ensure();

// Waits until another thread's decision is done; false (at once) when the
// caller is the decider, which must never wait on itself.
bool wait();

// "system" or "custom:<library>", deciding first if needed.
const char* backend_name();

// After the first RTLD_DEEPBIND dlopen of a custom-routed process: the free
// slots recognise libc's blocks by `foreign` from now on (deepbind.hpp).
void recognise_foreign_blocks(bool (*foreign)(const void*));

}  // namespace memproxy::decision

#endif
