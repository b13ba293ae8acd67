// Noticing that the configuration may have changed.
//
// One small interface, one implementation per platform mechanism: inotify
// (Linux), event ports (Solaris), and polling, which works everywhere and is
// the fallback. A watcher only says "look again"; the daemon re-reads the file,
// so a spurious notice costs one parse and never changes what is published.
#ifndef MEMPROXYD_WATCHER_HPP
#define MEMPROXYD_WATCHER_HPP

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "options.hpp"

namespace memproxy::daemon {

class Watcher {
 public:
  using ChangeHandler = std::function<void()>;
  virtual ~Watcher() = default;

  // Starts delivering notices through `io`. Empty string on success.
  virtual std::string start(boost::asio::io_context& io, ChangeHandler on_change) = 0;
  virtual const char* name() const = 0;
};

std::unique_ptr<Watcher> make_poll_watcher(const std::string& config_path, std::chrono::milliseconds interval);
#if defined(__linux__)
std::unique_ptr<Watcher> make_inotify_watcher(const std::string& config_path);
#endif
#if defined(__sun)
std::unique_ptr<Watcher> make_port_watcher(const std::string& config_path);
#endif

// The watcher `mode` asks for, started; `automatic` is the platform's native
// mechanism, falling back to polling if it cannot start. nullptr for
// WatchMode::none, or (with `error` set) when the requested mechanism is not
// available on this platform or fails.
std::unique_ptr<Watcher> start_watcher(WatchMode mode, const std::string& config_path,
                                       std::chrono::milliseconds poll_interval, boost::asio::io_context& io,
                                       Watcher::ChangeHandler on_change, std::string* error);

}  // namespace memproxy::daemon

#endif
