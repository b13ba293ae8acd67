// inotify watches directories, not the config file: editors and configuration
// tools replace the file by rename, and a watch on the old inode would go
// silent. The config's directory is watched for its name; when the config is a
// symlink, so is the directory of every hop of the chain (an edit of the target
// is an event in the target's directory, a swap of the link is one in the
// link's). The set of watched directories is recomputed after each relevant
// event, because a swap can move the target elsewhere.
#if defined(__linux__)

#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <climits>
#include <cstring>
#include <map>
#include <set>
#include <spdlog/spdlog.h>

#include "runtime_dir.hpp"
#include "watcher.hpp"

namespace memproxy::daemon {
namespace {

constexpr uint32_t kWatchMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ATTRIB |
                                IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
constexpr int kMaxSymlinkHops = 16;

std::string base_name(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// directory -> names in it that lead to the config.
std::map<std::string, std::set<std::string>> interesting_names(const std::string& config_path) {
  std::map<std::string, std::set<std::string>> wanted;
  std::string path = config_path;
  for (int hop = 0; hop < kMaxSymlinkHops; ++hop) {
    wanted[parent_dir(path)].insert(base_name(path));
    char target[PATH_MAX];
    ssize_t n = ::readlink(path.c_str(), target, sizeof target - 1);
    if (n <= 0) break;
    target[n] = '\0';
    path = target[0] == '/' ? std::string(target) : parent_dir(path) + "/" + target;
  }
  return wanted;
}

class InotifyWatcher final : public Watcher {
 public:
  explicit InotifyWatcher(std::string config_path) : config_path_(std::move(config_path)) {}

  ~InotifyWatcher() override {
    if (stream_) stream_->close();  // closes the inotify descriptor and its watches
  }

  std::string start(boost::asio::io_context& io, ChangeHandler on_change) override {
    on_change_ = std::move(on_change);
    int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) return std::string("cannot start inotify: ") + std::strerror(errno);
    stream_ = std::make_unique<boost::asio::posix::stream_descriptor>(io, fd);
    retry_timer_ = std::make_unique<boost::asio::steady_timer>(io);
    std::string error = refresh_watches();
    if (!error.empty()) return error;
    arm();
    return {};
  }

  const char* name() const override { return "inotify"; }

 private:
  // Empty string when the config's own directory is watched.
  std::string refresh_watches() {
    std::map<int, Watched> next;
    std::string error;
    for (const auto& [dir, names] : interesting_names(config_path_)) {
      int wd = ::inotify_add_watch(stream_->native_handle(), dir.c_str(), kWatchMask);
      if (wd < 0) {
        if (dir == parent_dir(config_path_) && error.empty()) {
          error = "cannot watch " + dir + " with inotify: " + std::strerror(errno);
        }
        continue;
      }
      // Two spellings of one directory share a watch descriptor.
      next[wd].dir = dir;
      next[wd].names.insert(names.begin(), names.end());
    }
    for (const auto& [wd, watched] : watched_) {
      if (!next.contains(wd)) ::inotify_rm_watch(stream_->native_handle(), wd);
    }
    watched_ = std::move(next);
    return error;
  }

  void arm() {
    stream_->async_wait(boost::asio::posix::stream_descriptor::wait_read,
                        [this](const boost::system::error_code& ec) {
                          if (ec) return;
                          drain();
                          arm();
                        });
  }

  void drain() {
    alignas(struct inotify_event) char buffer[16 * 1024];
    bool changed = false;
    bool rewatch = false;
    for (;;) {
      ssize_t n = ::read(stream_->native_handle(), buffer, sizeof buffer);
      if (n <= 0) break;  // EAGAIN: drained
      for (char* p = buffer; p < buffer + n;) {
        const auto* event = reinterpret_cast<const struct inotify_event*>(p);
        p += sizeof(struct inotify_event) + event->len;
        classify(*event, &changed, &rewatch);
      }
    }
    if (rewatch) {
      std::string error = refresh_watches();
      if (!error.empty()) {
        spdlog::warn("{}; retrying every second", error);
        schedule_retry();
      }
    }
    if (changed) on_change_();
  }

  void classify(const struct inotify_event& event, bool* changed, bool* rewatch) {
    if (event.mask & IN_Q_OVERFLOW) {  // events were lost: assume the worst
      *changed = *rewatch = true;
      return;
    }
    if (event.mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
      *rewatch = true;
      return;
    }
    auto it = watched_.find(event.wd);
    if (it == watched_.end() || event.len == 0 || !it->second.names.contains(event.name)) return;
    *rewatch = true;
    if (event.mask & (IN_CLOSE_WRITE | IN_MOVED_TO | IN_ATTRIB)) {
      *changed = true;
    } else if (event.mask & IN_CREATE) {
      // A newly created file is still being written; its IN_CLOSE_WRITE
      // follows. A new symlink or hard link (`ln`), or anything that is not
      // a regular file (a FIFO, a socket), is complete the moment it exists
      // and brings no other event.
      struct stat st {};
      std::string path = it->second.dir + "/" + event.name;
      *changed = ::lstat(path.c_str(), &st) == 0 &&
                 (S_ISLNK(st.st_mode) || !S_ISREG(st.st_mode) || st.st_nlink > 1);
    }
    // IN_DELETE / IN_MOVED_FROM: the last good table stays; the file's return
    // (IN_CREATE / IN_MOVED_TO / IN_CLOSE_WRITE) is what triggers a reload.
  }

  void schedule_retry() {
    retry_timer_->expires_after(std::chrono::seconds(1));
    retry_timer_->async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      if (refresh_watches().empty()) {
        spdlog::info("watching {} again", parent_dir(config_path_));
        on_change_();
      } else {
        schedule_retry();
      }
    });
  }

  std::string config_path_;
  ChangeHandler on_change_;
  std::unique_ptr<boost::asio::posix::stream_descriptor> stream_;
  std::unique_ptr<boost::asio::steady_timer> retry_timer_;
  struct Watched {
    std::string dir;
    std::set<std::string> names;  // entries of `dir` that lead to the config
  };
  std::map<int, Watched> watched_;  // by watch descriptor
};

}  // namespace

std::unique_ptr<Watcher> make_inotify_watcher(const std::string& config_path) {
  return std::make_unique<InotifyWatcher>(config_path);
}

}  // namespace memproxy::daemon

#endif  // __linux__
