// Looking a function up in one loaded object's own dynamic symbol table
// (its GNU hash table), without the loader: no lock, no allocation, no dlerror
// text, no search list built for the object (dlopen(RTLD_NOLOAD) of libc
// mallocs one), and only pages the loader has already touched for relocation.
//
// Answers what dlsym would for a plain function defined in the object itself,
// in its default (non-hidden) version: *out is that function, or nullptr when
// the object does not define `name`. Returns false when it cannot answer that
// way (no DT_GNU_HASH, or the definition is an IFUNC or not a function); the
// caller then asks dlsym.
#ifndef MEMPROXY_ELF_SYMBOLS_HPP
#define MEMPROXY_ELF_SYMBOLS_HPP

#include "backends.hpp"

namespace memproxy::elf {

bool find_function(const backends::Object& object, const char* name, void** out);

}  // namespace memproxy::elf

#endif
