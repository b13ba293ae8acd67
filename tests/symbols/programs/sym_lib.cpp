#include "sym_lib.h"

#include <cstdio>

volatile int sym_lib_sink;

extern "C" __attribute__((noinline)) void sym_report(const char* what, int line, int call_line) {
  std::printf("%s %p %d %d\n", what, __builtin_return_address(0), line, call_line);
  std::fflush(stdout);
}

// The store after each call keeps it a call (no tail call): the return
// address then lies in the calling function.
extern "C" __attribute__((noinline)) void library_function(void) {
  sym_report("library", __LINE__, 0);
  sym_lib_sink = sym_lib_sink + 1;
}
