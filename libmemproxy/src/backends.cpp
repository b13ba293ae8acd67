#include "backends.hpp"

#include <dlfcn.h>

#include <string.h>

#include "elf_symbols.hpp"
#include "memproxy/trust.hpp"
#include "platform.hpp"

namespace memproxy::backends {
namespace {

Object g_libc_object MP_STATE;

bool segment_contains(uintptr_t addr, const ElfW(Phdr)* phdr, int phnum, uintptr_t address) {
  for (int i = 0; i < phnum; ++i) {
    if (phdr[i].p_type != PT_LOAD) continue;
    if (address - (addr + phdr[i].p_vaddr) < phdr[i].p_memsz) return true;
  }
  return false;
}

// `name` as defined in `object` itself: from its symbol table where that
// answers, else dlsym on `handle` (which also searches its dependencies).
void* symbol_in(void* handle, const Object& object, const char* name) {
  void* symbol = nullptr;
  if (elf::find_function(object, name, &symbol)) return symbol;
  symbol = dlsym(handle, name);
  return symbol != nullptr && object.contains(symbol) ? symbol : nullptr;
}

template <typename F>
bool lookup(void* handle, const char* name, const Object* object, F* out) {
  void* symbol = object != nullptr ? symbol_in(handle, *object, name) : dlsym(handle, name);
  *out = reinterpret_cast<F>(symbol);
  return symbol != nullptr;
}

// A custom allocator's functions, all from `object`; the set
// glibc_semantics.hpp does not derive is required.
bool resolve_allocator(void* handle, const Object& o, Allocator* out) {
  *out = Allocator{};
#define MP_C(kind, counter, name, ret, params, args) lookup(handle, #name, &o, &out->name);
#include "memproxy/allocator_family.def"
  return out->malloc && out->free && out->calloc && out->realloc && out->memalign && out->posix_memalign &&
         out->malloc_usable_size;
}

// A custom allocator candidate: defines malloc itself, is not libc.
bool allocator_object(void* malloc_symbol, Object* out) {
  return malloc_symbol != nullptr && object_at(malloc_symbol, out) && !out->same_as(g_libc_object);
}

struct Search {
  uintptr_t address;
  Object* out;
};

int find_libc(dl_phdr_info* info, size_t, void* context) {
  const char* name = info->dlpi_name;
  if (name == nullptr) return 0;
  const char* slash = strrchr(name, '/');
  if (strcmp(slash != nullptr ? slash + 1 : name, platform::libc_soname()) != 0) return 0;
  *static_cast<Object*>(context) = Object{info->dlpi_addr, info->dlpi_phdr, info->dlpi_phnum, name};
  return 1;
}

template <typename F>
bool from_libc_symtab(const char* name, F* out) {
  void* symbol = nullptr;
  if (!elf::find_function(g_libc_object, name, &symbol) || symbol == nullptr) return false;
  *out = reinterpret_cast<F>(symbol);
  return true;
}

// libc's allocator from libc's own symbol table: no dlopen, which would build
// (and malloc) libc's search list inside the decision.
bool resolve_libc_directly() {
  if (dl_iterate_phdr(find_libc, &g_libc_object) == 0) return false;
  Allocator& a = g_libc;
  bool all = true;
#define MP_C(kind, counter, name, ret, params, args) all = from_libc_symtab(#name, &a.name) && all;
#include "memproxy/allocator_family.def"
  return from_libc_symtab("mallopt", &a.mallopt) && all;
}

int find_object(dl_phdr_info* info, size_t, void* context) {
  auto* s = static_cast<Search*>(context);
  if (!segment_contains(info->dlpi_addr, info->dlpi_phdr, info->dlpi_phnum, s->address)) return 0;
  *s->out = Object{info->dlpi_addr, info->dlpi_phdr, info->dlpi_phnum, info->dlpi_name};
  return 1;
}

// Objects after libmemproxy in load order, collected under the loader's lock
// and examined after it is released (dlopen must not run inside the callback).
struct Candidates {
  uintptr_t self;
  bool self_seen;
  int count;
  const char* names[1];
};

// Keeps the first object after ours, or the one after it when that is libc
// (the original `libmemproxy.so:libc.so.6:liballoc.so` order).
int collect(dl_phdr_info* info, size_t, void* context) {
  auto* c = static_cast<Candidates*>(context);
  if (!c->self_seen) {
    c->self_seen = segment_contains(info->dlpi_addr, info->dlpi_phdr, info->dlpi_phnum, c->self);
    return 0;
  }
  if (info->dlpi_name == nullptr || info->dlpi_name[0] == '\0') return 0;
  if (info->dlpi_phdr == g_libc_object.phdr) return 0;
  c->names[c->count++] = info->dlpi_name;
  return 1;
}

}  // namespace

bool Object::contains(const void* address) const {
  return segment_contains(addr, phdr, phnum, reinterpret_cast<uintptr_t>(address));
}

bool object_at(const void* address, Object* out) {
  Search s{reinterpret_cast<uintptr_t>(address), out};
  return dl_iterate_phdr(find_object, &s) != 0;
}

bool resolve_libc(DlopenFn real_dlopen) {
  if (resolve_libc_directly()) return true;
  g_libc = Allocator{};
  void* handle = real_dlopen(platform::libc_soname(), RTLD_NOLOAD | RTLD_LAZY);
  if (handle == nullptr) return false;
  Allocator& a = g_libc;
  if (!lookup(handle, "malloc", nullptr, &a.malloc)) return false;
  if (!object_at(reinterpret_cast<const void*>(a.malloc), &g_libc_object)) return false;
  const Object* o = &g_libc_object;
  bool all = true;
#define MP_C(kind, counter, name, ret, params, args) all = lookup(handle, #name, o, &a.name) && all;
#include "memproxy/allocator_family.def"
  return lookup(handle, "mallopt", o, &a.mallopt) && all;
}

// The allocator right behind us is RTLD_NEXT's malloc and needs no handle.
// Otherwise only the single object after libc is opened (RTLD_NOLOAD): opening
// further libraries would run constructors of libraries not yet initialised
// inside our decision, on the arena.
bool find_preloaded(DlopenFn real_dlopen, Allocator* out, Found* found) {
  Object o;
  if (allocator_object(dlsym(RTLD_NEXT, "malloc"), &o) && resolve_allocator(RTLD_NEXT, o, out)) {
    *found = Found{RTLD_NEXT, o, o.name};
    return true;
  }
  Candidates c{reinterpret_cast<uintptr_t>(&find_preloaded), false, 0, {nullptr}};
  dl_iterate_phdr(collect, &c);
  for (int i = 0; i < c.count; ++i) {
    void* handle = real_dlopen(c.names[i], RTLD_NOLOAD | RTLD_LAZY);
    if (handle == nullptr) continue;
    if (!allocator_object(dlsym(handle, "malloc"), &o) || !resolve_allocator(handle, o, out)) continue;
    *found = Found{handle, o, c.names[i]};
    return true;
  }
  return false;
}

bool load_named(DlopenFn real_dlopen, const char* library, Allocator* out, Found* found, const char** error,
                char* untrusted, size_t untrusted_size) {
  if (strchr(library, '/') != nullptr) {
    trust::Finding finding;
    finding.where = untrusted;
    finding.where_size = untrusted_size;
    trust::Verdict v = trust::check_file_path(library, trust::kRootOnly, &finding);
    if (v != trust::Verdict::ok) {
      *error = v == trust::Verdict::missing ? "no such file" : "the path is not trusted";
      return false;
    }
  }
  void* handle = real_dlopen(library, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    *error = why != nullptr ? why : "dlopen failed";
    return false;
  }
  Object o;
  if (!allocator_object(dlsym(handle, "malloc"), &o) || !resolve_allocator(handle, o, out)) {
    *error = "the library does not define the whole malloc family itself";
    return false;
  }
  *found = Found{handle, o, library};
  return true;
}

void* optional_symbol(const Found& found, const char* name) { return symbol_in(found.handle, found.object, name); }

namespace {

// `mangled` with 'Z' replaced by size_t's letter.
bool mangle(const char* pattern, char* out, size_t size) {
  const char letter = sizeof(size_t) == sizeof(unsigned long) && sizeof(unsigned long) != sizeof(unsigned int)
                          ? 'm'
                          : 'j';
  size_t i = 0;
  for (; pattern[i] != '\0'; ++i) {
    if (i + 1 >= size) return false;
    out[i] = pattern[i] == 'Z' && i > 1 ? letter : pattern[i];
  }
  out[i] = '\0';
  return true;
}

// Walks the objects in load order (the program first, then the preloads),
// stopping at libmemproxy: whether one of them defines `name`. Each object's
// own symbol table is asked, not dlsym: a non-PIE program that takes the
// address of malloc has an undefined malloc with a canonical PLT address,
// which dlsym would return as if the program defined it.
struct AheadSearch {
  const char* name;
  uintptr_t self;
  bool found;
};

int look_ahead(dl_phdr_info* info, size_t, void* context) {
  auto* s = static_cast<AheadSearch*>(context);
  if (segment_contains(info->dlpi_addr, info->dlpi_phdr, info->dlpi_phnum, s->self)) return 1;
  Object o{info->dlpi_addr, info->dlpi_phdr, info->dlpi_phnum, info->dlpi_name};
  void* symbol = nullptr;
  if (elf::find_function(o, s->name, &symbol) && symbol != nullptr) {
    s->found = true;
    return 1;
  }
  return 0;
}

bool defined_ahead_of_us(const char* name) {
  AheadSearch s{name, reinterpret_cast<uintptr_t>(&look_ahead), false};
  dl_iterate_phdr(look_ahead, &s);
  return s.found;
}

bool cxx_defined_ahead_of_us(const char* pattern) {
  char name[64];
  return mangle(pattern, name, sizeof name) && defined_ahead_of_us(name);
}

int find_cxx_runtime(dl_phdr_info* info, size_t, void* context) {
  const char* name = info->dlpi_name;
  if (name == nullptr) return 0;
  const char* slash = strrchr(name, '/');
  if (strcmp(slash != nullptr ? slash + 1 : name, platform::cxx_runtime_soname()) != 0) return 0;
  *static_cast<Object*>(context) = Object{info->dlpi_addr, info->dlpi_phdr, info->dlpi_phnum, name};
  return 1;
}

}  // namespace

Interposition find_interposition() {
  Interposition found{};
  found.c = defined_ahead_of_us("malloc") || defined_ahead_of_us("free");
  found.cxx = cxx_defined_ahead_of_us("_ZnwZ") || cxx_defined_ahead_of_us("_ZdlPv") ||
              cxx_defined_ahead_of_us("_ZnwZSt11align_val_t") || cxx_defined_ahead_of_us("_ZdlPvSt11align_val_t");
  return found;
}

void* cxx_runtime_function(const char* mangled) {
  Object runtime;
  if (dl_iterate_phdr(find_cxx_runtime, &runtime) == 0) return nullptr;
  char name[64];
  void* symbol = nullptr;
  if (!mangle(mangled, name, sizeof name) || !elf::find_function(runtime, name, &symbol)) return nullptr;
  return symbol;
}

}  // namespace memproxy::backends
