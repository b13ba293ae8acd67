#include "cxx_semantics.hpp"

#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>

#include "dispatch.hpp"
#include "glibc_semantics.hpp"

namespace memproxy::cxx_semantics {
namespace {

using NewHandler = void (*)();

NewHandler installed_new_handler() {
  auto get = reinterpret_cast<NewHandler (*)()>(dlsym(RTLD_DEFAULT, "_ZSt15get_new_handlerv"));
  return get != nullptr ? get() : nullptr;
}

}  // namespace

[[noreturn]] void throw_bad_alloc() {
  auto raise = reinterpret_cast<void (*)()>(dlsym(RTLD_DEFAULT, "_ZSt17__throw_bad_allocv"));
  if (raise != nullptr) raise();
  static const char message[] = "memproxy: operator new failed and no C++ runtime can throw std::bad_alloc\n";
  ssize_t ignored = write(2, message, sizeof message - 1);
  (void)ignored;
  abort();
}

namespace {

// The standard's loop: retry until the allocation succeeds, the handler
// throws, or there is no handler (then throw, or nullptr for nothrow).
template <typename Allocate>
void* handler_loop(size_t size, bool nothrow, Allocate allocate) {
  if (size == 0) size = 1;
  for (;;) {
    void* p = allocate(size);
    if (p != nullptr) return p;
    NewHandler handler = installed_new_handler();
    if (handler == nullptr) {
      if (nothrow) return nullptr;
      throw_bad_alloc();
    }
    handler();
  }
}

// The slow paths retry the backend's own functions, never a slot: the
// slots throw (or count, then throw) themselves.
__attribute__((noinline)) void* new_failed(size_t size) {
  return handler_loop(size, false, [](size_t n) { return g_chosen.malloc(n); });
}

__attribute__((noinline)) void* new_failed(size_t size, std::align_val_t alignment) {
  size_t a = static_cast<size_t>(alignment);
  return handler_loop(size, false, [a](size_t n) { return glibc_semantics::checked_memalign(a, n); });
}

}  // namespace

void* new_over_c(size_t size) {
  void* p = g_chosen.malloc(size);
  if (__builtin_expect(p != nullptr, 1)) return p;
  return new_failed(size);
}

void* new_aligned(size_t size, std::align_val_t alignment) {
  void* p = glibc_semantics::checked_memalign(static_cast<size_t>(alignment), size);
  if (__builtin_expect(p != nullptr, 1)) return p;
  return new_failed(size, alignment);
}

void* new_nothrow(size_t size, const std::nothrow_t&) noexcept {
  void* p = g_chosen.malloc(size);
  if (__builtin_expect(p != nullptr, 1)) return p;
  return handler_loop(size, true, [](size_t n) { return g_chosen.malloc(n); });
}

void* new_aligned_nothrow(size_t size, std::align_val_t alignment, const std::nothrow_t&) noexcept {
  size_t a = static_cast<size_t>(alignment);
  return handler_loop(size, true, [a](size_t n) { return glibc_semantics::checked_memalign(a, n); });
}

}  // namespace memproxy::cxx_semantics
