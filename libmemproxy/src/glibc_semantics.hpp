// What a custom backend's slots point at besides its raw functions: glibc's
// C semantics where allocators differ (alignment rules, pvalloc rounding,
// realloc(p, 0), overflow, errno), checked alignment, and libc's pointers
// after an RTLD_DEEPBIND dlopen. A program sees the same results whichever
// backend it was routed to (the ABI suite compares them with glibc's).
//
// Bootstrap-arena blocks never reach these functions (interpose.cpp).
#ifndef MEMPROXY_GLIBC_SEMANTICS_HPP
#define MEMPROXY_GLIBC_SEMANTICS_HPP

#include <stddef.h>

#include "state.hpp"

namespace memproxy {

// Written by the decision only (decision.cpp), read on these slow paths.
struct SemanticsState {
  bool custom;                   // g_chosen is not libc
  bool (*foreign)(const void*);  // non-null once a deepbind dlopen was seen (deepbind.hpp)
  size_t page_size;
  bool c17_aligned_alloc;        // libc's aligned_alloc rejects non-powers of two
};
extern SemanticsState g_semantics MP_HOT_STATE;

namespace glibc_semantics {

// For custom allocators that return NULL without setting errno (probed once
// at the decision; conforming ones are called directly).
void* malloc_enomem(size_t size);
void* calloc_enomem(size_t n, size_t size);

void free_deepbind(void* p);
void* realloc(void* p, size_t size);
size_t malloc_usable_size(void* p);

void* memalign(size_t alignment, size_t size);
int posix_memalign(void** out, size_t alignment, size_t size);
void* aligned_alloc(size_t alignment, size_t size);
void* valloc(size_t size);
void* pvalloc(size_t size);

// Overflow check, then the global realloc: the program's own when it
// defines one, else libmemproxy's (which moves bootstrap-arena blocks).
void* reallocarray(void* p, size_t n, size_t size);

// The backend's memalign, with the result checked: a backend that returns
// a misaligned block (Debian 12's mimalloc 2.0.9 does for sizes that are
// multiples of the alignment, from 256 up) is asked once more for one byte
// more, which takes its general aligned path; if that is misaligned too, the
// request fails with ENOMEM. Never returns a misaligned block.
void* checked_memalign(size_t alignment, size_t size);

}  // namespace glibc_semantics
}  // namespace memproxy

#endif
