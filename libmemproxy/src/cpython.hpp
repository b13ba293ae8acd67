// A monitored CPython's objects reach the heap account.
//
// CPython serves objects of up to 512 bytes from arenas of its own
// (pymalloc), which the account never sees. In a monitored process whose
// program, or an object loaded with it, defines CPython's allocator API,
// the memory and object domains are given the raw domain's allocator
// (CPython's thin wrapper of malloc), which is what PYTHONMALLOC=malloc
// selects: every object is then one malloc, counted like any other.
//
// Invariants:
// - It happens during the decision, so before main and before the
//   interpreter allocates anything: no block ever changes allocator.
// - Nothing is written to the environment; children inherit nothing of it,
//   and `python -E`/`-I`, which ignore PYTHONMALLOC, are switched all the same.
// - Left alone: a process where PYTHONMALLOC is set (non-empty: the
//   user's choice; the interpreter would apply it over ours anyway), where
//   MEMPROXY_PYTHONMALLOC=keep, a free-threaded build (its collector finds
//   objects in mimalloc's heaps and refuses malloc), and an interpreter
//   loaded later with dlopen.
// - PyMem_GetAllocator and PyMem_SetAllocator only copy structures before
//   the runtime is initialized (a lock nobody else can hold yet on 3.13);
//   they allocate nothing.
#ifndef MEMPROXY_CPYTHON_HPP
#define MEMPROXY_CPYTHON_HPP

#include "text_buffer.hpp"

namespace memproxy::cpython {

// Routes the interpreter's objects to malloc where the rules above allow,
// and says what it did in `reason` (nothing when there is no CPython).
void route_objects_to_malloc(bool keep, TextBuffer* reason);

}  // namespace memproxy::cpython

#endif
