#include "backends.hpp"

#include <dlfcn.h>
#include <link.h>
#include <stdint.h>

#include "platform.hpp"

namespace memproxy::backends {
namespace {

const void* g_libc_base = nullptr;

const void* base_of(const void* symbol) {
  Dl_info info;
  if (symbol == nullptr || dladdr(symbol, &info) == 0) return nullptr;
  return info.dli_fbase;
}

template <typename F>
bool lookup(void* handle, const char* name, const void* base, F* out) {
  void* symbol = dlsym(handle, name);
  *out = reinterpret_cast<F>(symbol);
  return symbol != nullptr && (base == nullptr || defined_in(symbol, base));
}

// The required set of a custom allocator, all from the object at `base`.
bool resolve_allocator(void* handle, const void* base, Allocator* out) {
  *out = Allocator{};
  return lookup(handle, "malloc", base, &out->malloc) && lookup(handle, "free", base, &out->free) &&
         lookup(handle, "calloc", base, &out->calloc) && lookup(handle, "realloc", base, &out->realloc) &&
         lookup(handle, "memalign", base, &out->memalign) &&
         lookup(handle, "posix_memalign", base, &out->posix_memalign) &&
         lookup(handle, "malloc_usable_size", base, &out->malloc_usable_size);
}

// Objects after libmemproxy in load order, collected under the loader's lock
// and examined after it is released (dlopen must not run inside the callback).
struct Candidates {
  const void* self;
  bool self_seen;
  int count;
  const char* names[1];
};

bool contains_address(const dl_phdr_info* info, uintptr_t address) {
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD) continue;
    uintptr_t start = info->dlpi_addr + ph.p_vaddr;
    if (address - start < ph.p_memsz) return true;
  }
  return false;
}

// Keeps the first object after ours, or the one after it when that is libc
// (the original `libmemproxy.so:libc.so.6:liballoc.so` order).
int collect(dl_phdr_info* info, size_t, void* context) {
  auto* c = static_cast<Candidates*>(context);
  if (!c->self_seen) {
    c->self_seen = contains_address(info, reinterpret_cast<uintptr_t>(c->self));
    return 0;
  }
  if (info->dlpi_name == nullptr || info->dlpi_name[0] == '\0') return 0;
  if (contains_address(info, reinterpret_cast<uintptr_t>(g_libc_base))) return 0;
  c->names[c->count++] = info->dlpi_name;
  return 1;
}

}  // namespace

bool defined_in(const void* symbol, const void* base) { return base_of(symbol) == base; }

bool resolve_libc(DlopenFn real_dlopen) {
  void* handle = real_dlopen(platform::libc_soname(), RTLD_NOLOAD | RTLD_LAZY);
  if (handle == nullptr) return false;
  Allocator& a = g_libc;
  if (!lookup(handle, "malloc", nullptr, &a.malloc)) return false;
  g_libc_base = base_of(reinterpret_cast<const void*>(a.malloc));
  const void* b = g_libc_base;
  return lookup(handle, "free", b, &a.free) && lookup(handle, "calloc", b, &a.calloc) &&
         lookup(handle, "realloc", b, &a.realloc) && lookup(handle, "memalign", b, &a.memalign) &&
         lookup(handle, "posix_memalign", b, &a.posix_memalign) &&
         lookup(handle, "malloc_usable_size", b, &a.malloc_usable_size) &&
         lookup(handle, "aligned_alloc", b, &a.aligned_alloc) && lookup(handle, "valloc", b, &a.valloc) &&
         lookup(handle, "pvalloc", b, &a.pvalloc) && lookup(handle, "reallocarray", b, &a.reallocarray) &&
         lookup(handle, "mallopt", b, &a.mallopt);
}

// The allocator right behind us is RTLD_NEXT's malloc and needs no handle.
// Otherwise only the single object after libc is opened (RTLD_NOLOAD): opening
// further libraries would run constructors of libraries not yet initialised
// inside our decision, on the arena.
bool find_preloaded(DlopenFn real_dlopen, Allocator* out, Found* found) {
  void* m = dlsym(RTLD_NEXT, "malloc");
  const void* base = base_of(m);
  if (m != nullptr && base != g_libc_base && resolve_allocator(RTLD_NEXT, base, out)) {
    Dl_info info;
    dladdr(m, &info);
    *found = Found{RTLD_NEXT, base, info.dli_fname};
    return true;
  }
  static Candidates c;
  c.self = reinterpret_cast<const void*>(&find_preloaded);
  c.self_seen = false;
  c.count = 0;
  dl_iterate_phdr(collect, &c);
  for (int i = 0; i < c.count; ++i) {
    void* handle = real_dlopen(c.names[i], RTLD_NOLOAD | RTLD_LAZY);
    if (handle == nullptr) continue;
    m = dlsym(handle, "malloc");
    base = base_of(m);
    if (m == nullptr || base == g_libc_base) continue;
    if (!resolve_allocator(handle, base, out)) continue;
    *found = Found{handle, base, c.names[i]};
    return true;
  }
  return false;
}

bool load_named(DlopenFn real_dlopen, const char* library, Allocator* out, Found* found, const char** error) {
  void* handle = real_dlopen(library, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    *error = why != nullptr ? why : "dlopen failed";
    return false;
  }
  void* m = dlsym(handle, "malloc");
  const void* base = base_of(m);
  if (m == nullptr || base == g_libc_base || !resolve_allocator(handle, base, out)) {
    *error = "the library does not define the whole malloc family itself";
    return false;
  }
  *found = Found{handle, base, library};
  return true;
}

}  // namespace memproxy::backends
