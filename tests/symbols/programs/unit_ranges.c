/* The symbolizer's test of objects without .debug_aranges: the test
 * builds this with clang (which emits none unless -gdwarf-aranges), so
 * only the units' own address ranges say which unit holds a function.
 * Prints "clang RETURN_ADDRESS LINE 0" for the call in clang_function,
 * then stops itself. */
#include <signal.h>
#include <stdio.h>

volatile int sink;

__attribute__((noinline)) static void report(const char* what, int line) {
  printf("%s %p %d 0\n", what, __builtin_return_address(0), line);
  fflush(stdout);
}

/* The store after the call keeps it a call (no tail call). */
__attribute__((noinline)) void clang_function(void) {
  report("clang", __LINE__);
  sink = sink + 1;
}

int main(void) {
  clang_function();
  printf("ready\n");
  fflush(stdout);
  raise(SIGSTOP);
  return 0;
}
