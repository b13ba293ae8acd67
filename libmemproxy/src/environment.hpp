// The MEMPROXY_* variables a process may be steered by, and their removal
// where they must not pass on.
//
// Under AT_SECURE (setuid, setgid, file capabilities) every one is ignored
// and removed from the environment, so that a root child started by a
// setuid helper (su without -, sudo -E, any wrapper) does not inherit a
// user's MEMPROXY_TABLE. The removal compacts `environ` in place: no
// allocation, the strings themselves are untouched.
#ifndef MEMPROXY_ENVIRONMENT_HPP
#define MEMPROXY_ENVIRONMENT_HPP

#include <stdint.h>

namespace memproxy {

struct Environment {
  bool secure;        // AT_SECURE: nothing below is set
  const char* table;  // MEMPROXY_TABLE, non-empty, or nullptr
  bool debug;         // MEMPROXY_DEBUG=1
  bool monitor;       // MEMPROXY_MONITOR=1
  // MEMPROXY_SAMPLE_BYTES: the mean bytes between sampled allocations of a
  // monitored process (0 = no sampling); -1 when not set.
  int64_t sample_bytes;
  // MEMPROXY_SAMPLE_BUDGET: at most this many samples a second, the mean
  // rising past it (0 = no limit); -1 when not set.
  int64_t sample_budget;
  // MEMPROXY_PYTHONMALLOC=keep: a monitored CPython keeps its own arenas
  // for small objects (cpython.hpp).
  bool keep_python_allocator;
};

Environment read_environment();

}  // namespace memproxy

#endif
