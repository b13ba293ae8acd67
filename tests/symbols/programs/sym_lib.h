// The shared library of the symbolizer's test program.
#ifndef MEMPROXY_TESTS_SYM_LIB_H
#define MEMPROXY_TESTS_SYM_LIB_H

#ifdef __cplusplus
extern "C" {
#endif

// Prints "WHAT RETURN_ADDRESS LINE CALL_LINE": the address it returns to
// in its caller, and the caller's line numbers for the test to expect.
void sym_report(const char* what, int line, int call_line);
void library_function(void);

#ifdef __cplusplus
}
#endif

#endif
