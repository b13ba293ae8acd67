// Whether the custom allocator sets errno = ENOMEM on failure as glibc does,
// and making it do so where that costs nothing on the hot path.
//
// Asked once, at the decision, with requests no allocator can satisfy.
// malloc is asked only when calloc's overflow check already failed to set
// errno (tcmalloc, mimalloc): asking TBB's proxy for malloc(SIZE_MAX) this
// early recurses through its dlsym fallback, and allocators whose calloc
// conforms (jemalloc, TBB) do in malloc.
//
// mimalloc reports refused requests (too large, out of memory) to an error
// handler without setting errno; with ours registered (mi_register_error) its
// malloc conforms and is called directly. Otherwise our handler does what
// mimalloc's default one does: abort on EFAULT (corrupted metadata, detected
// only by its debug and secure builds, whose default aborts too). A program
// that registers its own handler replaces ours: its malloc(absurd size) then
// returns NULL without errno, as mimalloc alone would.
#ifndef MEMPROXY_ERRNO_CONFORMANCE_HPP
#define MEMPROXY_ERRNO_CONFORMANCE_HPP

#include "backends.hpp"

namespace memproxy {

struct ErrnoConformance {
  bool malloc, calloc;
};

// Uses g_chosen; call before the arena is sealed (the allocator may allocate
// through us while answering).
ErrnoConformance make_errno_conform(const backends::Found& found);

}  // namespace memproxy

#endif
