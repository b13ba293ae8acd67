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

// A variable made of decimal digits only (at most 2^50), or -1 when it is
// unset or anything else.
int64_t count_variable(const char* name) {
  const char* v = getenv(name);
  if (v == nullptr || v[0] == '\0') return -1;
  int64_t n = 0;
  for (const char* c = v; *c != '\0'; ++c) {
    if (*c < '0' || *c > '9' || n >= (int64_t{1} << 50) / 10) return -1;
    n = n * 10 + (*c - '0');
  }
  return n;
}

}  // namespace

Environment read_environment() {
  Environment e{};
  e.sample_bytes = -1;
  e.sample_budget = -1;
  e.secure = platform::secure_mode();
  if (e.secure) {
    remove_memproxy_variables();
    return e;
  }
  const char* table = getenv("MEMPROXY_TABLE");
  e.table = table != nullptr && table[0] != '\0' ? table : nullptr;
  e.debug = is_one(getenv("MEMPROXY_DEBUG"));
  e.monitor = is_one(getenv("MEMPROXY_MONITOR"));
  e.sample_bytes = count_variable("MEMPROXY_SAMPLE_BYTES");
  e.sample_budget = count_variable("MEMPROXY_SAMPLE_BUDGET");
  const char* python = getenv("MEMPROXY_PYTHONMALLOC");
  e.keep_python_allocator = python != nullptr && strcmp(python, "keep") == 0;
  return e;
}

}  // namespace memproxy
