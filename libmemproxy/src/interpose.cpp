// Every symbol libmemproxy exports, and nothing else does: the allocator
// family of memproxy/allocator_family.def (C functions, glibc's __libc_* names where the
// platform has them, every replaceable C++ operator), dlopen and
// memproxy_backend. Everything else is hidden (-fvisibility=hidden).
//
// Each allocation symbol is one indirect jump through its g_dispatch slot
// (dispatch.hpp), preceded only by what its kind needs (memproxy/allocator_family.def):
// pointer-taking calls first recognise bootstrap-arena blocks, which never
// reach a slot. All policy lives behind the slots: a throwing operator
// new's slot throws itself (cxx_semantics.hpp).
//
// Compiled with -O2 -foptimize-sibling-calls whatever the build type
// (CMakeLists.txt): every function here must end in a tail call.
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <new>

#include "bootstrap_arena.hpp"
#include "decision.hpp"
#include "deepbind.hpp"
#include "dispatch.hpp"
#include "memproxy.h"
#include "platform.hpp"

#define MP_EXPORT __attribute__((visibility("default")))

using memproxy::g_dispatch;
namespace arena = memproxy::arena;

namespace {

// An arena block moved to the backend: the arena never frees.
void* realloc_arena_block(void* p, size_t size) {
  if (size == 0) return nullptr;
  void* q = g_dispatch.malloc(size);
  if (q != nullptr) {
    size_t old = arena::block_size(p);
    memcpy(q, p, old < size ? old : size);
  }
  return q;
}

void* resize_arena_block(void* p, size_t n) { return realloc_arena_block(p, n); }
void* resize_arena_block(void* p, size_t n, size_t size) {
  size_t bytes;
  if (__builtin_mul_overflow(n, size, &bytes)) {
    errno = ENOMEM;
    return nullptr;
  }
  return realloc_arena_block(p, bytes);
}

}  // namespace

#define MP_EXPAND(...) __VA_ARGS__
#define MP_BODY_alloc(slot, args) return g_dispatch.slot args;
#define MP_BODY_alloc_out MP_BODY_alloc
#define MP_BODY_release(slot, args) \
  if (arena::handed_out(p)) return; \
  g_dispatch.slot args;
#define MP_BODY_resize(slot, args)                                             \
  if (__builtin_expect(arena::handed_out(p), 0)) return resize_arena_block args; \
  return g_dispatch.slot args;
#define MP_BODY_query(slot, args)                                   \
  if (__builtin_expect(arena::handed_out(p), 0)) return arena::block_size(p); \
  return g_dispatch.slot args;
#define MP_BODY_new(slot, args) return g_dispatch.slot args;
#define MP_BODY_new_nt MP_BODY_new
#define MP_BODY_delete(slot, args) MP_BODY_release(slot, args)

extern "C" {
#define MP_C(kind, counter, name, ret, params, args) \
  MP_EXPORT ret name params { MP_BODY_##kind(name, args) }
#if MP_PLATFORM_LIBC_ALIASES
#define MP_LIBC(kind, counter, name, of, ret, params, args) \
  MP_EXPORT ret name params { MP_BODY_##kind(name, args) }
#endif
#include "memproxy/allocator_family.def"

// glibc's dlopen takes its caller (for the namespace and the RPATH/RUNPATH
// search) from its return address, so this must end in a tail call: GCC
// makes it at -O2 with -foptimize-sibling-calls; clang makes no indirect
// sibling call on i386 unless told it must. The tests check the result.
#if defined(__clang__)
#define MP_MUST_TAIL_CALL [[clang::musttail]]
#else
#define MP_MUST_TAIL_CALL
#endif
MP_EXPORT void* dlopen(const char* file, int mode) {
  if (__builtin_expect(memproxy::platform::is_deepbind(mode), 0)) memproxy::deepbind::note_deepbind();
  MP_MUST_TAIL_CALL return memproxy::deepbind::real_dlopen()(file, mode);
}

MP_EXPORT const char* memproxy_backend(void) { return memproxy::decision::backend_name(); }
}  // extern "C"

#define MP_CXX(kind, slot, mangled, declarator, ret, params, args) \
  MP_EXPORT ret declarator params { MP_BODY_##kind(slot, args) }
#include "memproxy/allocator_family.def"
