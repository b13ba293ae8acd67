// The C allocator ABI and glibc's __libc_* aliases. Each is one indirect jump
// through g_dispatch (dispatch.hpp), preceded for pointer-taking calls by the
// bootstrap-arena filter (entry_filter.hpp); all other policy lives behind
// the pointers.
#include <stddef.h>

#include "dispatch.hpp"
#include "entry_filter.hpp"
#include "export.hpp"

using memproxy::g_dispatch;
using memproxy::free_filtered;
using memproxy::realloc_filtered;

extern "C" {

MP_EXPORT void* malloc(size_t size) { return g_dispatch.malloc(size); }
MP_EXPORT void free(void* p) { free_filtered(p); }
MP_EXPORT void* calloc(size_t n, size_t size) { return g_dispatch.calloc(n, size); }
MP_EXPORT void* realloc(void* p, size_t size) { return realloc_filtered(p, size); }
MP_EXPORT void* reallocarray(void* p, size_t n, size_t size) { return memproxy::reallocarray_filtered(p, n, size); }
MP_EXPORT void* memalign(size_t alignment, size_t size) { return g_dispatch.memalign(alignment, size); }
MP_EXPORT int posix_memalign(void** out, size_t alignment, size_t size) {
  return g_dispatch.posix_memalign(out, alignment, size);
}
MP_EXPORT void* aligned_alloc(size_t alignment, size_t size) { return g_dispatch.aligned_alloc(alignment, size); }
MP_EXPORT void* valloc(size_t size) { return g_dispatch.valloc(size); }
MP_EXPORT void* pvalloc(size_t size) { return g_dispatch.pvalloc(size); }
MP_EXPORT size_t malloc_usable_size(void* p) { return memproxy::malloc_usable_size_filtered(p); }

MP_EXPORT void* __libc_malloc(size_t size) { return g_dispatch.malloc(size); }
MP_EXPORT void __libc_free(void* p) { free_filtered(p); }
MP_EXPORT void* __libc_calloc(size_t n, size_t size) { return g_dispatch.calloc(n, size); }
MP_EXPORT void* __libc_realloc(void* p, size_t size) { return realloc_filtered(p, size); }
MP_EXPORT void* __libc_memalign(size_t alignment, size_t size) { return g_dispatch.memalign(alignment, size); }
MP_EXPORT void* __libc_valloc(size_t size) { return g_dispatch.valloc(size); }
MP_EXPORT void* __libc_pvalloc(size_t size) { return g_dispatch.pvalloc(size); }

}  // extern "C"
