// The symbolizer's test program (built -g -O2): calls that print their
// return addresses (sym_report, in the shared library), then stops itself
// so the test can symbolize them in the running process.
//   plain       a normal function
//   inlined     a function always inlined into outer_function, in an
//               anonymous namespace
//   library     a function of the shared library
//   namespaced  a C++ function in a namespace, taking an int
// and "object NAME ADDRESS" lines: addresses inside functions of other
// objects (libc, libm, libstdc++, libgcc_s), for the cache tests.
#include <unwind.h>

#include <cmath>
#include <csignal>
#include <cstdio>
#include <exception>

#include "sym_lib.h"

volatile int sink;

__attribute__((noinline)) void plain_function() {
  sym_report("plain", __LINE__, 0);
  sink = sink + 1;
}

namespace {
// Internal linkage and never emitted on its own: the debug information
// has no linkage name for it, only its name and namespace.
inline __attribute__((always_inline)) void inlined_function(int call_line) {
  sym_report("inlined", __LINE__, call_line);
  sink = sink + 1;
}
}  // namespace

__attribute__((noinline)) void outer_function() {
  inlined_function(__LINE__);
  sink = sink + 2;
}

namespace memproxy_test::inner {
__attribute__((noinline)) void namespaced_function(int value) {
  sym_report("namespaced", __LINE__, 0);
  sink = sink + value;
}
}  // namespace memproxy_test::inner

// An address 16 bytes into a function, as a return address would be.
static void print_object(const char* name, void* function) {
  std::printf("object %s %p\n", name, static_cast<void*>(static_cast<char*>(function) + 16));
}

int main() {
  plain_function();
  outer_function();
  library_function();
  memproxy_test::inner::namespaced_function(3);
  print_object("libc", reinterpret_cast<void*>(&std::puts));
  print_object("libm", reinterpret_cast<void*>(static_cast<double (*)(double)>(&std::cos)));
  print_object("libstdc++", reinterpret_cast<void*>(&std::terminate));
  print_object("libgcc_s", reinterpret_cast<void*>(&_Unwind_Backtrace));
  print_object("lib", reinterpret_cast<void*>(&library_function));
  std::printf("ready\n");
  std::fflush(stdout);
  std::raise(SIGSTOP);
  return 0;
}
