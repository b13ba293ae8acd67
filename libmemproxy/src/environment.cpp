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
  e.sample_bytes = -1;
  e.secure = platform::secure_mode();
  if (e.secure) {
    remove_memproxy_variables();
    return e;
  }
  const char* table = getenv("MEMPROXY_TABLE");
  e.table = table != nullptr && table[0] != '\0' ? table : nullptr;
  e.debug = is_one(getenv("MEMPROXY_DEBUG"));
  e.monitor = is_one(getenv("MEMPROXY_MONITOR"));
  e.sample_bytes = -1;
  if (const char* v = getenv("MEMPROXY_SAMPLE_BYTES"); v != nullptr && v[0] >= '0' && v[0] <= '9') {
    int64_t n = 0;
    for (const char* c = v; *c >= '0' && *c <= '9' && n < (int64_t{1} << 50); ++c) n = n * 10 + (*c - '0');
    e.sample_bytes = n;
  }
  return e;
}

}  // namespace memproxy
