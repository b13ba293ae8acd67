// Where the library's mutable variables live.
//
// Invariant: every mutable variable is in .data (these sections), even when
// zero-initialised, and .bss holds only the bootstrap arena. .data is dirtied
// at load time anyway (relocated pointers), so all the state, the hot words
// and the arena's first bytes share that one private page instead of each
// touching a page of its own.
#ifndef MEMPROXY_STATE_HPP
#define MEMPROXY_STATE_HPP

// Hidden on declarations too, so that code addresses them rip-relative
// instead of loading their address from the GOT.
// Read on every call after the decision; a cache line of their own.
#define MP_HOT_STATE __attribute__((section(".data.read_mostly"), aligned(64), visibility("hidden")))
// Written during the decision, rarely read afterwards.
#define MP_STATE __attribute__((section(".data.state"), visibility("hidden")))

#endif
