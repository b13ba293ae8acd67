// memproxyctl's exit codes: a contract with scripts, documented in memproxyctl(8).
// Never renumber; add new codes at the end.
#ifndef MEMPROXYCTL_EXIT_CODES_HPP
#define MEMPROXYCTL_EXIT_CODES_HPP

namespace memproxyctl {

enum ExitCode : int {
  kExitOk = 0,        // the answer is positive: config valid, daemon running, preload set up, no finding
  kExitNegative = 1,  // the answer is negative: config has errors, daemon not running, preload not
                      // enabled, doctor found a problem, leaks found a growing process
  kExitUsage = 2,     // bad command line
  kExitTable = 3,     // the table cannot be read, or is not a valid memproxy table
  kExitInput = 4,     // another input cannot be read: config file, process, preload file, the
                      // daemon's query socket (not running, or it refused the request)
  kExitRefused = 5,   // preload enable/disable refused (verification failed) or could not write;
                      // report could not write its file
  kExitNotJudged = 6,  // leaks: no judged process grows, but some watched process is not judged
                       // yet (0 needs every one judged)
  kExitNoHeapWatch = 7,  // top, history, leaks, trace, report: this build has no heap watch
                         // (MEMPROXY_HEAP_WATCH=OFF)
};

}  // namespace memproxyctl

#endif
