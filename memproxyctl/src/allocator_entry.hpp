// Which entries of a preload list are memory allocators. By name (the
// known allocators, process_info's list) and, for any other library, by
// what it is: an object whose dynamic symbol table defines `malloc` replaces
// the allocator of every process it is preloaded into, whatever its name.
// libc and libmemproxy define malloc too and are never counted.
//
// Read from the file itself (no readelf, no dlopen: loading a library runs
// its constructors). An entry whose file cannot be found, or is not ELF, is
// judged by its name alone.
#ifndef MEMPROXYCTL_ALLOCATOR_ENTRY_HPP
#define MEMPROXYCTL_ALLOCATOR_ENTRY_HPP

#include <string>

namespace memproxyctl {

// Whether the ELF shared object at `path` (32- or 64-bit, this host's byte
// order) defines a global or weak function named malloc.
bool defines_malloc(const std::string& path);

// The file a preload entry names, as the 64-bit dynamic linker finds it:
// $LIB / ${LIB} expanded; a bare name searched in the default library
// directories. "" when there is none.
std::string locate_preload_entry(const std::string& entry);

bool is_allocator_entry(const std::string& entry);

}  // namespace memproxyctl

#endif
