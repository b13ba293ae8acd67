// The members of the allocator family (allocator_family.def) as numbers and
// names: how a traced call says which function it was, for the library
// that writes the trace and the daemon that reads it.
#ifndef MEMPROXY_ALLOCATOR_FAMILY_HPP
#define MEMPROXY_ALLOCATOR_FAMILY_HPP

#include <stdint.h>

namespace memproxy::family {

enum Member : uint16_t {
#define MP_C(kind, counter, name, ret, params, args) k_##name,
#define MP_LIBC(kind, counter, name, of, ret, params, args) k_##name,
#define MP_CXX(kind, slot, mangled, declarator, ret, params, args) k_##slot,
#include "memproxy/allocator_family.def"
  kMembers
};

// The member's C name, or the C++ operator's signature ("operator delete(void*, size_t)").
inline const char* member_name(uint32_t member) {
  static const char* const names[] = {
#define MP_C(kind, counter, name, ret, params, args) #name,
#define MP_LIBC(kind, counter, name, of, ret, params, args) #name,
#define MP_CXX(kind, slot, mangled, declarator, ret, params, args) #declarator #params,
#include "memproxy/allocator_family.def"
  };
  return member < kMembers ? names[member] : "?";
}

}  // namespace memproxy::family

#endif
