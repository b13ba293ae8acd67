// Where the library's mutable variables live.
//
// Invariant: every mutable variable is in .data (these sections), even when
// zero-initialised, and .bss holds only the bootstrap arena. .data is dirtied
// at load time anyway (relocated pointers), so all the state, the hot words
// and the arena's first bytes share that one private page instead of each
// touching a page of its own. One page lies apart, after .bss (x86-64's
// .lbss, a section of its own, so that its alignment does not move the
// arena off the state page; NOBITS with GCC, 4 KiB of zeros in the file
// with clang 14): the page the trace switch is mapped over in a monitored
// process (heap_account.hpp), which the library never writes and an
// unmonitored process never touches.
#ifndef MEMPROXY_STATE_HPP
#define MEMPROXY_STATE_HPP

// Hidden on declarations too, so that code addresses them rip-relative
// instead of loading their address from the GOT.
// Read on every call after the decision; a cache line of their own.
#define MP_HOT_STATE __attribute__((section(".data.read_mostly"), aligned(64), visibility("hidden")))
// Written during the decision, rarely read afterwards.
#define MP_STATE __attribute__((section(".data.state"), visibility("hidden")))
// The trace switch's page (x86-64 only).
#define MP_TRACE_SWITCH_PAGE __attribute__((section(".lbss.memproxy_trace_switch"), visibility("hidden")))
// Per-thread state, on declarations and the definition alike: initial-exec,
// so a read is one %fs-relative load of an offset fixed at load time (the
// library is preloaded, so its TLS is in the static block; no
// __tls_get_addr, which would tie it to the dynamic loader). In .tdata, not
// .tbss, so that .bss keeps holding only the arena; it costs the library no
// page, each thread's copy lives in that thread's TLS block.
#define MP_THREAD_STATE __attribute__((tls_model("initial-exec"), visibility("hidden"), section(".tdata.state")))

#endif
