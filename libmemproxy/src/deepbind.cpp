#include "deepbind.hpp"

#include <dlfcn.h>
#include <malloc.h>
#include <stdint.h>
#include <unistd.h>

#include "decision.hpp"
#include "glibc_semantics.hpp"

namespace memproxy::deepbind {
namespace {

backends::DlopenFn g_real_dlopen MP_STATE = nullptr;
int (*g_tcmalloc_ownership)(const void*) MP_STATE = nullptr;
bool (*g_mimalloc_owns)(const void*) MP_STATE = nullptr;
uintptr_t g_brk_floor MP_STATE = 0;
bool g_noted MP_STATE = false;

// MallocExtension_kNotOwned in gperftools' malloc_extension_c.h.
constexpr int kTcmallocNotOwned = 2;

bool foreign_by_tcmalloc(const void* p) { return g_tcmalloc_ownership(p) == kTcmallocNotOwned; }
bool foreign_by_mimalloc(const void* p) { return !g_mimalloc_owns(p); }
bool foreign_by_brk(const void* p) {
  uintptr_t a = reinterpret_cast<uintptr_t>(p);
  return a >= g_brk_floor && a < reinterpret_cast<uintptr_t>(sbrk(0));
}

template <typename F>
void optional_lookup(const backends::Found& found, const char* name, F* out) {
  *out = reinterpret_cast<F>(backends::optional_symbol(found, name));
}

}  // namespace

backends::DlopenFn real_dlopen() {
  backends::DlopenFn fn = __atomic_load_n(&g_real_dlopen, __ATOMIC_ACQUIRE);
  if (fn == nullptr) {
    fn = reinterpret_cast<backends::DlopenFn>(dlsym(RTLD_NEXT, "dlopen"));
    __atomic_store_n(&g_real_dlopen, fn, __ATOMIC_RELEASE);
  }
  return fn;
}

void adopt_backend(const backends::Found& found) {
  optional_lookup(found, "mi_is_in_heap_region", &g_mimalloc_owns);
  optional_lookup(found, "MallocExtension_GetOwnership", &g_tcmalloc_ownership);
  g_brk_floor = reinterpret_cast<uintptr_t>(sbrk(0));
}

void note_deepbind() {
  if (!decision::ensure() || !g_semantics.custom || __atomic_exchange_n(&g_noted, true, __ATOMIC_ACQ_REL)) return;
  bool (*foreign)(const void*) = nullptr;
  if (g_mimalloc_owns != nullptr) {
    foreign = foreign_by_mimalloc;
  } else if (g_tcmalloc_ownership != nullptr) {
    foreign = foreign_by_tcmalloc;
  } else {
    constexpr int kMmapThresholdMax = sizeof(long) == 8 ? 32 * 1024 * 1024 : 512 * 1024;
    g_libc.mallopt(M_ARENA_MAX, 1);
    g_libc.mallopt(M_MMAP_THRESHOLD, kMmapThresholdMax);
    foreign = foreign_by_brk;
  }
  decision::recognise_foreign_blocks(foreign);
}

}  // namespace memproxy::deepbind
