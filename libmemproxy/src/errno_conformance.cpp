#include "errno_conformance.hpp"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "dispatch.hpp"

namespace memproxy {
namespace {

bool malloc_conforms() {
  errno = 0;
  return g_chosen.malloc(SIZE_MAX) == nullptr && errno == ENOMEM;
}

void on_mimalloc_error(int err, void*) {
  if (err == ENOMEM || err == EOVERFLOW) errno = ENOMEM;
  if (err == EFAULT) abort();
}

using MiRegisterError = void (*)(void (*)(int, void*), void*);

}  // namespace

ErrnoConformance make_errno_conform(const backends::Found& found) {
  ErrnoConformance c{true, true};
  errno = 0;
  c.calloc = g_chosen.calloc(SIZE_MAX / 2, 3) == nullptr && errno == ENOMEM;
  if (!c.calloc) {
    c.malloc = malloc_conforms();
    auto register_error = reinterpret_cast<MiRegisterError>(backends::optional_symbol(found, "mi_register_error"));
    if (!c.malloc && register_error != nullptr) {
      register_error(on_mimalloc_error, nullptr);
      c.malloc = malloc_conforms();
    }
  }
  errno = 0;
  return c;
}

}  // namespace memproxy
