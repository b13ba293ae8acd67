// Where memproxyd's log lines go: stderr in the foreground, syslog as a service.
#ifndef MEMPROXYD_LOGGING_HPP
#define MEMPROXYD_LOGGING_HPP

namespace memproxy::daemon {

enum class LogTarget { stderr_only, syslog_and_stderr };

// Installs the default spdlog logger. With syslog_and_stderr, stderr stays a
// sink only until detach_stderr_logging(), so that start-up failures still reach
// the terminal of whoever started a backgrounding daemon.
void setup_logging(LogTarget target);
void detach_stderr_logging();

}  // namespace memproxy::daemon

#endif
