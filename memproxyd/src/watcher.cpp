#include "watcher.hpp"

#include <spdlog/spdlog.h>

namespace memproxy::daemon {

std::unique_ptr<Watcher> start_watcher(WatchMode mode, const std::string& config_path,
                                       std::chrono::milliseconds poll_interval, boost::asio::io_context& io,
                                       Watcher::ChangeHandler on_change, std::string* error) {
  std::unique_ptr<Watcher> watcher;
  switch (mode) {
    case WatchMode::none:
      return nullptr;
    case WatchMode::poll:
      watcher = make_poll_watcher(config_path, poll_interval);
      break;
    case WatchMode::inotify:
#if defined(__linux__)
      watcher = make_inotify_watcher(config_path);
      break;
#else
      *error = "inotify is not available on this platform";
      return nullptr;
#endif
    case WatchMode::ports:
#if defined(__sun)
      watcher = make_port_watcher(config_path);
      break;
#else
      *error = "event ports are not available on this platform";
      return nullptr;
#endif
    case WatchMode::automatic:
#if defined(__linux__)
      watcher = make_inotify_watcher(config_path);
#elif defined(__sun)
      watcher = make_port_watcher(config_path);
#else
      watcher = make_poll_watcher(config_path, poll_interval);
#endif
      break;
  }
  std::string failure = watcher->start(io, on_change);
  if (failure.empty()) return watcher;
  if (mode != WatchMode::automatic) {
    *error = failure;
    return nullptr;
  }
  spdlog::warn("{}; falling back to polling every {} ms", failure, poll_interval.count());
  watcher = make_poll_watcher(config_path, poll_interval);
  failure = watcher->start(io, on_change);
  if (!failure.empty()) {
    *error = failure;
    return nullptr;
  }
  return watcher;
}

}  // namespace memproxy::daemon
