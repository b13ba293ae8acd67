// memproxyd --check: validate the config like the daemon would, publish nothing.
#ifndef MEMPROXYD_CHECK_HPP
#define MEMPROXYD_CHECK_HPP

#include "options.hpp"

namespace memproxy::daemon {

// Prints every diagnostic to stderr and a one-line verdict to stdout. Returns
// kExitOk when the config would be published (warnings allowed), kExitFailure
// when it has errors or cannot be read; a missing file is an error here, since
// the admin asked about that file.
int run_check(const Options& options);

}  // namespace memproxy::daemon

#endif
