// A step of a monitored call: always inlined into the counting slot, so the
// call's cost does not depend on the inliner's budget for the whole file.
#ifndef MEMPROXY_CALL_STEP_HPP
#define MEMPROXY_CALL_STEP_HPP

#define MP_CALL_STEP inline __attribute__((always_inline))

#endif
