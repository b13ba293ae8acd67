// Finding the allocators' functions.
//
// - System: libc's own functions, looked up in libc's own symbol table
//   (elf_symbols.hpp; libc's handle and dlsym where that cannot answer). Never
//   RTLD_NEXT/RTLD_DEFAULT: in front of libc there may be the custom allocator.
// - Custom, preloaded: the first object after libmemproxy in the link-map
//   chain that is not libc and defines malloc itself. This covers `libmemproxy.so:liballoc.so`
//   and the original `libmemproxy.so:libc.so.6:liballoc.so` (where RTLD_NEXT
//   would find libc first).
// - Custom, named by the table: dlopen'ed. Allocators with initial-exec TLS
//   (jemalloc) refuse that ("cannot allocate memory in static TLS block") and
//   must be preloaded; the caller reports the dlerror text.
// Every function must be defined in the allocator's own object: looked up in
// its symbol table, or with dlsym, whose handle search also covers its
// dependencies (i.e. libc), checked against the object. "Defined in" is a check
// against the object's PT_LOAD ranges, found once per object with
// dl_iterate_phdr (dladdr would scan the object's whole symbol table).
#ifndef MEMPROXY_BACKENDS_HPP
#define MEMPROXY_BACKENDS_HPP

#include <link.h>
#include <stdint.h>

#include "dispatch.hpp"

namespace memproxy::backends {

// A loaded object as dl_iterate_phdr describes it; its program headers stay
// mapped while it is loaded.
struct Object {
  uintptr_t addr = 0;
  const ElfW(Phdr)* phdr = nullptr;
  int phnum = 0;
  const char* name = nullptr;

  bool contains(const void* address) const;
  bool same_as(const Object& other) const { return phdr == other.phdr; }
};

// The object whose PT_LOAD segments contain `address`; false if none does.
bool object_at(const void* address, Object* out);

struct Found {
  void* handle;          // for optional lookups (deepbind.cpp, errno_conformance.cpp)
  Object object;         // where its functions must be defined
  const char* library;   // name as loaded; static storage
};

using DlopenFn = void* (*)(const char*, int);

// Fills g_libc; false if libc or one of its functions cannot be found.
bool resolve_libc(DlopenFn real_dlopen);

bool find_preloaded(DlopenFn real_dlopen, Allocator* out, Found* found);

// false with `error` set (static or dlerror text) when it cannot be used. A
// library named by a path is loaded only when the trust rule holds for the
// whole path (trust.hpp): its constructors would run in every process.
// `untrusted` (may be null) receives the offending component then.
bool load_named(DlopenFn real_dlopen, const char* library, Allocator* out, Found* found, const char** error,
                char* untrusted, size_t untrusted_size);

// `name` from the found object itself, or nullptr.
void* optional_symbol(const Found& found, const char* name);

// Whether an object ahead of libmemproxy in the global lookup order (the
// program itself, or an earlier preload) defines the C allocator (malloc or
// free) or a primary C++ operator (plain or aligned new or delete): then
// calls that reach libmemproxy must behave as if it were not there.
struct Interposition {
  bool c;
  bool cxx;
};
Interposition find_interposition();

// A replaceable operator as the C++ runtime itself defines it (mangled as in
// allocator_family.def, 'Z' for size_t's letter), or nullptr when the runtime is not
// loaded or lacks it.
void* cxx_runtime_function(const char* mangled);

}  // namespace memproxy::backends

#endif
