// The replaceable C++ operators over the chosen backend's C functions, as
// the standard defines them (glibc-semantics C functions underneath), for
// the operator slots of a process whose program replaces neither malloc nor
// any operator. Where the program does replace them, the operator slots
// point at the C++ runtime's own definitions instead (targets.cpp), which
// call the program's.
//
// The library links no C++ runtime: only a throwing operator new that
// failed needs one, and looks std::get_new_handler and
// std::__throw_bad_alloc up at that moment (a program that calls operator
// new has the runtime loaded). The unwind tables this library is compiled
// with let the exception pass through.
//
// Deviation: the nothrow forms cannot catch (no C++ runtime here); they
// return nullptr when no new_handler is installed, and an exception thrown
// by an installed new_handler propagates to their caller.
#ifndef MEMPROXY_CXX_SEMANTICS_HPP
#define MEMPROXY_CXX_SEMANTICS_HPP

#include <stddef.h>

#include <new>

#include "dispatch.hpp"

namespace memproxy::cxx_semantics {

// Slot targets (signatures as in memproxy/allocator_family.def). The
// throwing forms throw themselves (the new_handler loop, then
// std::bad_alloc), so that an exported operator new is one jump, and a
// counting slot over them sees the program's return address.
void* new_over_c(size_t size);
void* new_aligned(size_t size, std::align_val_t alignment);
void* new_nothrow(size_t size, const std::nothrow_t&) noexcept;
void* new_aligned_nothrow(size_t size, std::align_val_t alignment, const std::nothrow_t&) noexcept;

// std::bad_alloc through the C++ runtime (abort when none is loaded).
[[noreturn]] void throw_bad_alloc();

// Every operator delete over the backend's free: sizes, alignments and tags
// change nothing for a C allocator.
template <typename... Ignored>
void delete_any(void* p, Ignored...) noexcept {
  g_chosen.free(p);
}

}  // namespace memproxy::cxx_semantics

#endif
