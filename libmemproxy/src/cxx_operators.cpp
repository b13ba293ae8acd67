// Every replaceable C++ operator new/delete, routed through g_dispatch like
// malloc and free (arena filter included): custom allocators export their own operator new, so without these
// a C++ program's allocations would bypass the routing.
//
// The library must not link libstdc++ (it is loaded into C programs too).
// Only a throwing operator new that failed needs the C++ runtime: it looks
// std::get_new_handler and std::__throw_bad_alloc up at that moment. Any
// program that calls operator new has a C++ runtime loaded, and the unwind
// tables this file is compiled with let the exception pass through it.
//
// Deviation: the nothrow forms cannot catch (no C++ runtime here); they return
// nullptr when no new_handler is installed, and an exception thrown by an
// installed new_handler propagates to their caller.
#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>

#include <new>

#include "dispatch.hpp"
#include "entry_filter.hpp"
#include "export.hpp"

using memproxy::g_dispatch;

namespace {

using NewHandler = void (*)();

NewHandler installed_new_handler() {
  auto get = reinterpret_cast<NewHandler (*)()>(dlsym(RTLD_DEFAULT, "_ZSt15get_new_handlerv"));
  return get != nullptr ? get() : nullptr;
}

[[noreturn]] void throw_bad_alloc() {
  auto raise = reinterpret_cast<void (*)()>(dlsym(RTLD_DEFAULT, "_ZSt17__throw_bad_allocv"));
  if (raise != nullptr) raise();
  static const char message[] = "memproxy: operator new failed and no C++ runtime can throw std::bad_alloc\n";
  ssize_t ignored = write(2, message, sizeof message - 1);
  (void)ignored;
  abort();
}

void* allocate(size_t size, size_t alignment) {
  return alignment == 0 ? g_dispatch.malloc(size) : g_dispatch.memalign(alignment, size);
}

__attribute__((noinline)) void* new_slow(size_t size, size_t alignment, bool nothrow) {
  if (size == 0) size = 1;
  for (;;) {
    void* p = allocate(size, alignment);
    if (p != nullptr) return p;
    NewHandler handler = installed_new_handler();
    if (handler == nullptr) {
      if (nothrow) return nullptr;
      throw_bad_alloc();
    }
    handler();
  }
}

inline void* new_fast(size_t size, size_t alignment, bool nothrow) {
  void* p = allocate(size, alignment);
  if (__builtin_expect(p != nullptr, 1)) return p;
  return new_slow(size, alignment, nothrow);
}

}  // namespace

MP_EXPORT void* operator new(size_t size) { return new_fast(size, 0, false); }
MP_EXPORT void* operator new[](size_t size) { return new_fast(size, 0, false); }
MP_EXPORT void* operator new(size_t size, const std::nothrow_t&) noexcept { return new_fast(size, 0, true); }
MP_EXPORT void* operator new[](size_t size, const std::nothrow_t&) noexcept { return new_fast(size, 0, true); }
MP_EXPORT void* operator new(size_t size, std::align_val_t a) { return new_fast(size, static_cast<size_t>(a), false); }
MP_EXPORT void* operator new[](size_t size, std::align_val_t a) { return new_fast(size, static_cast<size_t>(a), false); }
MP_EXPORT void* operator new(size_t size, std::align_val_t a, const std::nothrow_t&) noexcept {
  return new_fast(size, static_cast<size_t>(a), true);
}
MP_EXPORT void* operator new[](size_t size, std::align_val_t a, const std::nothrow_t&) noexcept {
  return new_fast(size, static_cast<size_t>(a), true);
}

MP_EXPORT void operator delete(void* p) noexcept { memproxy::free_filtered(p); }
MP_EXPORT void operator delete[](void* p) noexcept { memproxy::free_filtered(p); }
MP_EXPORT void operator delete(void* p, const std::nothrow_t&) noexcept { memproxy::free_filtered(p); }
MP_EXPORT void operator delete[](void* p, const std::nothrow_t&) noexcept { memproxy::free_filtered(p); }
MP_EXPORT void operator delete(void* p, size_t) noexcept { memproxy::free_filtered(p); }
MP_EXPORT void operator delete[](void* p, size_t) noexcept { memproxy::free_filtered(p); }
MP_EXPORT void operator delete(void* p, std::align_val_t) noexcept { memproxy::free_filtered(p); }
MP_EXPORT void operator delete[](void* p, std::align_val_t) noexcept { memproxy::free_filtered(p); }
MP_EXPORT void operator delete(void* p, size_t, std::align_val_t) noexcept { memproxy::free_filtered(p); }
MP_EXPORT void operator delete[](void* p, size_t, std::align_val_t) noexcept { memproxy::free_filtered(p); }
MP_EXPORT void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { memproxy::free_filtered(p); }
MP_EXPORT void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { memproxy::free_filtered(p); }
