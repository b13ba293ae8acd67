// The C allocator ABI and glibc's __libc_* aliases. Each is one indirect jump
// through g_dispatch (dispatch.hpp); all policy lives behind the pointers.
#include <stddef.h>

#include "dispatch.hpp"
#include "export.hpp"

using memproxy::g_dispatch;

extern "C" {

MP_EXPORT void* malloc(size_t size) { return g_dispatch.malloc(size); }
MP_EXPORT void free(void* p) { g_dispatch.free(p); }
MP_EXPORT void* calloc(size_t n, size_t size) { return g_dispatch.calloc(n, size); }
MP_EXPORT void* realloc(void* p, size_t size) { return g_dispatch.realloc(p, size); }
MP_EXPORT void* reallocarray(void* p, size_t n, size_t size) { return g_dispatch.reallocarray(p, n, size); }
MP_EXPORT void* memalign(size_t alignment, size_t size) { return g_dispatch.memalign(alignment, size); }
MP_EXPORT int posix_memalign(void** out, size_t alignment, size_t size) {
  return g_dispatch.posix_memalign(out, alignment, size);
}
MP_EXPORT void* aligned_alloc(size_t alignment, size_t size) { return g_dispatch.aligned_alloc(alignment, size); }
MP_EXPORT void* valloc(size_t size) { return g_dispatch.valloc(size); }
MP_EXPORT void* pvalloc(size_t size) { return g_dispatch.pvalloc(size); }
MP_EXPORT size_t malloc_usable_size(void* p) { return g_dispatch.malloc_usable_size(p); }

MP_EXPORT void* __libc_malloc(size_t size) { return g_dispatch.malloc(size); }
MP_EXPORT void __libc_free(void* p) { g_dispatch.free(p); }
MP_EXPORT void* __libc_calloc(size_t n, size_t size) { return g_dispatch.calloc(n, size); }
MP_EXPORT void* __libc_realloc(void* p, size_t size) { return g_dispatch.realloc(p, size); }
MP_EXPORT void* __libc_memalign(size_t alignment, size_t size) { return g_dispatch.memalign(alignment, size); }
MP_EXPORT void* __libc_valloc(size_t size) { return g_dispatch.valloc(size); }
MP_EXPORT void* __libc_pvalloc(size_t size) { return g_dispatch.pvalloc(size); }

}  // extern "C"
