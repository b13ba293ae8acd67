#include "targets.hpp"

#include "cxx_semantics.hpp"
#include "glibc_semantics.hpp"

namespace memproxy::targets {
namespace {

namespace cs = cxx_semantics;

// The plain and array deletes take exactly free's argument; free never
// throws, so it can stand for a noexcept function.
using DeleteFn = void (*)(void*) noexcept;
DeleteFn as_delete(void (*free_fn)(void*)) { return reinterpret_cast<DeleteFn>(free_fn); }

void c_slots(const Mode& m, Dispatch* d) {
  const Allocator& a = g_chosen;
  d->malloc = a.malloc;
  d->free = a.free;
  d->calloc = a.calloc;
  d->realloc = a.realloc;
  d->malloc_usable_size = a.malloc_usable_size;
  d->reallocarray = a.reallocarray;
  d->memalign = a.memalign;
  d->posix_memalign = a.posix_memalign;
  d->aligned_alloc = a.aligned_alloc;
  d->valloc = a.valloc;
  d->pvalloc = a.pvalloc;
  if (m.interposed.c) {
    d->reallocarray = glibc_semantics::reallocarray;
  } else if (m.custom) {
    if (!m.conformance.malloc) d->malloc = glibc_semantics::malloc_enomem;
    if (!m.conformance.calloc) d->calloc = glibc_semantics::calloc_enomem;
    d->realloc = glibc_semantics::realloc;
    d->malloc_usable_size = glibc_semantics::malloc_usable_size;
    d->reallocarray = glibc_semantics::reallocarray;
    d->memalign = glibc_semantics::memalign;
    d->posix_memalign = glibc_semantics::posix_memalign;
    d->aligned_alloc = glibc_semantics::aligned_alloc;
    d->valloc = glibc_semantics::valloc;
    d->pvalloc = glibc_semantics::pvalloc;
  }
}

void libc_alias_slots(Dispatch* d) {
#define MP_LIBC(kind, counter, name, of, ret, params, args) d->name = d->of;
#include "memproxy/allocator_family.def"
}

// Over the chosen backend's C functions (the slots' C targets).
void cxx_slots_over_c(Dispatch* d) {
  d->op_new = cs::new_over_c;
  d->op_new_array = cs::new_over_c;
  d->op_new_aligned = cs::new_aligned;
  d->op_new_array_aligned = cs::new_aligned;
  d->op_new_nothrow = cs::new_nothrow;
  d->op_new_array_nothrow = cs::new_nothrow;
  d->op_new_aligned_nothrow = cs::new_aligned_nothrow;
  d->op_new_array_aligned_nothrow = cs::new_aligned_nothrow;
  d->op_delete = as_delete(g_chosen.free);
  d->op_delete_array = as_delete(g_chosen.free);
  d->op_delete_sized = cs::delete_any<size_t>;
  d->op_delete_array_sized = cs::delete_any<size_t>;
  d->op_delete_nothrow = cs::delete_any<const std::nothrow_t&>;
  d->op_delete_array_nothrow = cs::delete_any<const std::nothrow_t&>;
  d->op_delete_aligned = cs::delete_any<std::align_val_t>;
  d->op_delete_array_aligned = cs::delete_any<std::align_val_t>;
  d->op_delete_sized_aligned = cs::delete_any<size_t, std::align_val_t>;
  d->op_delete_array_sized_aligned = cs::delete_any<size_t, std::align_val_t>;
  d->op_delete_aligned_nothrow = cs::delete_any<std::align_val_t, const std::nothrow_t&>;
  d->op_delete_array_aligned_nothrow = cs::delete_any<std::align_val_t, const std::nothrow_t&>;
}

// The C++ runtime's own definitions, slot by slot; one the runtime lacks
// keeps its C-backed target.
void cxx_slots_from_runtime(Dispatch* d) {
#define MP_CXX(kind, slot, mangled, declarator, ret, params, args)               \
  if (void* f = backends::cxx_runtime_function(mangled); f != nullptr) {         \
    d->slot = reinterpret_cast<decltype(d->slot)>(f);                            \
  }
#include "memproxy/allocator_family.def"
}

}  // namespace

Dispatch for_mode(const Mode& m) {
  Dispatch d{};
  c_slots(m, &d);
  libc_alias_slots(&d);
  cxx_slots_over_c(&d);
  if (m.interposed.c || m.interposed.cxx) cxx_slots_from_runtime(&d);
  return d;
}

}  // namespace memproxy::targets
