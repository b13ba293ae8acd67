// Polling: compares the config's identity (the link itself and what it leads
// to: device, inode, size, mtime, ctime) at a fixed interval. It catches every
// kind of replacement, at the price of up to one interval of delay.
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/steady_timer.hpp>
#include <tuple>

#include "memproxy/clock.hpp"
#include "watcher.hpp"

namespace memproxy::daemon {
namespace {

struct Identity {
  bool exists = false;
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;

  bool operator==(const Identity&) const = default;
};

Identity identity_of(const struct stat& st) {
  Identity id;
  id.exists = true;
  id.dev = st.st_dev;
  id.ino = st.st_ino;
  id.size = st.st_size;
  id.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * kNsPerSecond + st.st_mtim.tv_nsec;
  id.ctime_ns = static_cast<int64_t>(st.st_ctim.tv_sec) * kNsPerSecond + st.st_ctim.tv_nsec;
  return id;
}

struct Snapshot {
  Identity link;    // lstat: a symlink swap changes this
  Identity target;  // stat: an edit of the file behind the link changes this

  bool operator==(const Snapshot&) const = default;
};

Snapshot snapshot(const std::string& path) {
  Snapshot s;
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) s.link = identity_of(st);
  if (::stat(path.c_str(), &st) == 0) s.target = identity_of(st);
  return s;
}

class PollWatcher final : public Watcher {
 public:
  PollWatcher(std::string config_path, std::chrono::milliseconds interval)
      : config_path_(std::move(config_path)), interval_(interval) {}

  std::string start(boost::asio::io_context& io, ChangeHandler on_change) override {
    on_change_ = std::move(on_change);
    timer_ = std::make_unique<boost::asio::steady_timer>(io);
    last_ = snapshot(config_path_);
    arm();
    return {};
  }

  const char* name() const override { return "poll"; }

 private:
  void arm() {
    timer_->expires_after(interval_);
    timer_->async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      Snapshot now = snapshot(config_path_);
      if (!(now == last_)) {
        last_ = now;
        on_change_();
      }
      arm();
    });
  }

  std::string config_path_;
  std::chrono::milliseconds interval_;
  ChangeHandler on_change_;
  std::unique_ptr<boost::asio::steady_timer> timer_;
  Snapshot last_;
};

}  // namespace

std::unique_ptr<Watcher> make_poll_watcher(const std::string& config_path, std::chrono::milliseconds interval) {
  return std::make_unique<PollWatcher>(config_path, interval);
}

}  // namespace memproxy::daemon
