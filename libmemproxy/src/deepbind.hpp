// RTLD_DEEPBIND: a library dlopen'ed with it resolves its own undefined
// symbols in its dependencies first, so its malloc binds to libc's, not to
// ours, and it may hand those pointers to the program, whose free() comes
// here. With the system backend that is harmless (it is libc's free). With a
// custom backend, freeing a libc block there would corrupt or crash it.
//
// Approach: we interpose dlopen (interpose.cpp, a tail call, so the loader
// still sees the program as the caller). The first DEEPBIND dlopen in a
// custom-routed process has the decision switch the free slots to a
// function that asks "is this libc's block?" and passes such blocks to libc
// (realloc and malloc_usable_size ask already, glibc_semantics.cpp):
// - by the allocator's own ownership query where it has one
//   (mimalloc: mi_is_in_heap_region; tcmalloc: MallocExtension_GetOwnership);
// - otherwise (jemalloc's arenas.lookup crashes on foreign pointers) libc is
//   told to keep its blocks in its brk heap (M_ARENA_MAX=1, the largest mmap
//   threshold) and a block is libc's when it lies in the brk range that
//   started at the decision. jemalloc and tbbmalloc do not use brk by default.
// Processes that never dlopen with RTLD_DEEPBIND pay nothing for this.
// Not covered: the other direction (a deepbound library freeing the program's
// custom blocks with libc's free), operator delete of a deepbound library's
// libc block, and libc blocks above the mmap threshold maximum in the
// brk-range fallback.
#ifndef MEMPROXY_DEEPBIND_HPP
#define MEMPROXY_DEEPBIND_HPP

#include "backends.hpp"

namespace memproxy::deepbind {

// The next dlopen in symbol-lookup order (libc's), resolved once.
backends::DlopenFn real_dlopen();

// Records how to recognise libc blocks for the chosen custom backend.
void adopt_backend(const backends::Found& found);

// A DEEPBIND dlopen is under way: from now on free recognises libc's blocks.
void note_deepbind();

}  // namespace memproxy::deepbind

#endif
