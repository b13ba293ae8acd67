// The once-per-process routing decision.
//
// Invariants:
// - Exactly one thread runs the decision (a CAS on g_state), at the first
//   allocation or in the library constructor, whichever comes first. Nothing
//   on that path allocates from a backend: what dlsym/dlopen/an allocator's
//   constructor allocate meanwhile, in any thread, comes from the bootstrap arena.
// - Other threads never wait while the arena can serve them, so a thread that
//   holds a loader lock the decider needs cannot deadlock with it.
// - fork() copies the decided state; exec starts a fresh process that decides anew.
#ifndef MEMPROXY_DECIDE_HPP
#define MEMPROXY_DECIDE_HPP

namespace memproxy::decision {

// true once decided (deciding now if nobody has started); false while
// another thread, or this one further up its stack, is deciding.
bool ensure();

}  // namespace memproxy::decision

#endif
