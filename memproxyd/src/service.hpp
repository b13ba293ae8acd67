// The daemon proper: start-up (runtime directory, single instance, first
// publish), then the event loop (config watcher, signals) until SIGTERM/SIGINT.
#ifndef MEMPROXYD_SERVICE_HPP
#define MEMPROXYD_SERVICE_HPP

#include "options.hpp"

namespace memproxy::daemon {

// Returns the process exit status. With --once, publishes and returns.
int run_service(const Options& options);

}  // namespace memproxy::daemon

#endif
