#include "cpython.hpp"

#include <link.h>
#include <stdlib.h>

#include "backends.hpp"
#include "elf_symbols.hpp"

namespace memproxy::cpython {
namespace {

// CPython's PyMemAllocatorEx and PyMemAllocatorDomain, part of its stable
// ABI since 3.5.
struct MemAllocator {
  void* ctx;
  void* (*malloc)(void* ctx, size_t size);
  void* (*calloc)(void* ctx, size_t nelem, size_t elsize);
  void* (*realloc)(void* ctx, void* ptr, size_t new_size);
  void (*free)(void* ctx, void* ptr);
};
enum Domain : int { kRaw = 0, kMem = 1, kObj = 2 };
using GetAllocator = void (*)(int domain, MemAllocator* allocator);
using SetAllocator = void (*)(int domain, MemAllocator* allocator);

struct Interpreter {
  GetAllocator get = nullptr;
  SetAllocator set = nullptr;
  bool free_threaded = false;
};

void* defined(const backends::Object& o, const char* name) {
  void* symbol = nullptr;
  return elf::find_function(o, name, &symbol) ? symbol : nullptr;
}

// The first object in load order (the program first) that defines both
// functions: the one the interpreter's own calls bind to.
int find_interpreter(dl_phdr_info* info, size_t, void* context) {
  backends::Object o{info->dlpi_addr, info->dlpi_phdr, info->dlpi_phnum, info->dlpi_name};
  void* get = defined(o, "PyMem_GetAllocator");
  void* set = get != nullptr ? defined(o, "PyMem_SetAllocator") : nullptr;
  if (set == nullptr) return 0;
  auto* found = static_cast<Interpreter*>(context);
  found->get = reinterpret_cast<GetAllocator>(get);
  found->set = reinterpret_cast<SetAllocator>(set);
  found->free_threaded = defined(o, "_Py_MergeZeroLocalRefcount") != nullptr;
  return 1;
}

}  // namespace

void route_objects_to_malloc(bool keep, TextBuffer* reason) {
  Interpreter python;
  if (dl_iterate_phdr(find_interpreter, &python) == 0) return;
  const char* user_choice = getenv("PYTHONMALLOC");
  reason->add(", CPython's objects ");
  if (user_choice != nullptr && user_choice[0] != '\0') {
    reason->add("left to PYTHONMALLOC=").add(user_choice);
  } else if (keep) {
    reason->add("left in its arenas (MEMPROXY_PYTHONMALLOC=keep)");
  } else if (python.free_threaded) {
    reason->add("left to mimalloc (a free-threaded build)");
  } else {
    MemAllocator raw;
    python.get(kRaw, &raw);
    python.set(kMem, &raw);
    python.set(kObj, &raw);
    reason->add("through malloc");
  }
}

}  // namespace memproxy::cpython
