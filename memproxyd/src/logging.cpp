#include "logging.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/syslog_sink.h>
#include <spdlog/spdlog.h>
#include <syslog.h>

#include <algorithm>
#include <memory>

namespace memproxy::daemon {
namespace {

std::shared_ptr<spdlog::sinks::sink> g_stderr_sink;

}  // namespace

void setup_logging(LogTarget target) {
  g_stderr_sink = std::make_shared<spdlog::sinks::stderr_color_sink_st>();
  std::vector<spdlog::sink_ptr> sinks{g_stderr_sink};
  if (target == LogTarget::syslog_and_stderr) {
    // syslog stamps time, host and pid itself.
    auto syslog = std::make_shared<spdlog::sinks::syslog_sink_st>("memproxyd", LOG_PID, LOG_DAEMON, true);
    syslog->set_pattern("%v");
    sinks.push_back(syslog);
  }
  auto logger = std::make_shared<spdlog::logger>("memproxyd", sinks.begin(), sinks.end());
  g_stderr_sink->set_pattern("%Y-%m-%dT%H:%M:%S.%e memproxyd[%P] %l: %v");
  logger->set_level(spdlog::level::info);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

void detach_stderr_logging() {
  auto& sinks = spdlog::default_logger()->sinks();
  sinks.erase(std::remove(sinks.begin(), sinks.end(), g_stderr_sink), sinks.end());
}

}  // namespace memproxy::daemon
