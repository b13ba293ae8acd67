#include "environment.hpp"

#include <stdlib.h>
#include <string.h>

#include "platform.hpp"

extern char** environ;

namespace memproxy {
namespace {

constexpr char kPrefix[] = "MEMPROXY_";

void remove_memproxy_variables() {
  if (environ == nullptr) return;
  char** out = environ;
  for (char** in = environ; *in != nullptr; ++in) {
    if (strncmp(*in, kPrefix, sizeof kPrefix - 1) != 0) *out++ = *in;
  }
  *out = nullptr;
}

bool is_one(const char* value) { return value != nullptr && strcmp(value, "1") == 0; }

}  // namespace

Environment read_environment() {
  Environment e{};
  e.secure = platform::secure_mode();
  if (e.secure) {
    remove_memproxy_variables();
    return e;
  }
  const char* table = getenv("MEMPROXY_TABLE");
  e.table = table != nullptr && table[0] != '\0' ? table : nullptr;
  e.debug = is_one(getenv("MEMPROXY_DEBUG"));
  e.monitor = is_one(getenv("MEMPROXY_MONITOR"));
  return e;
}

}  // namespace memproxy
