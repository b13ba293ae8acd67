// Solaris event ports (port_associate(3C) with PORT_SOURCE_FILE). File events
// are one-shot: every delivered event dissociates its object, so each is
// re-associated after it fires. The config's directory is watched as well as
// the config (and the file behind a symlink), since a rename-replace shows up
// as FILE_RENAME_TO / FILE_MODIFIED on the directory and FILE_DELETE /
// FILE_RENAME_FROM on the old file. An event port descriptor is pollable, so
// it joins the same Boost.Asio loop as inotify does on Linux.
//
// Compiled only on Solaris/illumos; not built or tested on the Linux hosts
// this project is developed on.
#if defined(__sun)

#include <port.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <cerrno>
#include <climits>
#include <cstring>
#include <list>
#include <spdlog/spdlog.h>

#include "runtime_dir.hpp"
#include "watcher.hpp"

namespace memproxy::daemon {
namespace {

constexpr int kFileEvents = FILE_MODIFIED | FILE_ATTRIB;

class PortWatcher final : public Watcher {
 public:
  explicit PortWatcher(std::string config_path) : config_path_(std::move(config_path)) {}

  ~PortWatcher() override {
    if (stream_) stream_->close();
  }

  std::string start(boost::asio::io_context& io, ChangeHandler on_change) override {
    on_change_ = std::move(on_change);
    int port = ::port_create();
    if (port < 0) return std::string("cannot create an event port: ") + std::strerror(errno);
    stream_ = std::make_unique<boost::asio::posix::stream_descriptor>(io, port);
    if (!associate_all()) return "cannot watch " + parent_dir(config_path_) + " with an event port";
    arm();
    return {};
  }

  const char* name() const override { return "event ports"; }

 private:
  struct Object {
    std::string path;
    file_obj_t file{};
  };

  bool associate(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return false;
    objects_.emplace_back();
    Object& object = objects_.back();
    object.path = path;
    object.file.fo_name = const_cast<char*>(object.path.c_str());
    object.file.fo_atime = st.st_atim;
    object.file.fo_mtime = st.st_mtim;
    object.file.fo_ctime = st.st_ctim;
    return ::port_associate(stream_->native_handle(), PORT_SOURCE_FILE, reinterpret_cast<uintptr_t>(&object.file),
                            kFileEvents, nullptr) == 0;
  }

  // Re-associates everything: cheaper to reason about than tracking which
  // one-shot association fired.
  bool associate_all() {
    for (auto& object : objects_) {
      ::port_dissociate(stream_->native_handle(), PORT_SOURCE_FILE, reinterpret_cast<uintptr_t>(&object.file));
    }
    objects_.clear();
    bool ok = associate(parent_dir(config_path_));
    associate(config_path_);
    char resolved[PATH_MAX];
    if (::realpath(config_path_.c_str(), resolved) != nullptr && config_path_ != resolved) {
      associate(parent_dir(resolved));
      associate(resolved);
    }
    return ok;
  }

  void arm() {
    stream_->async_wait(boost::asio::posix::stream_descriptor::wait_read, [this](const boost::system::error_code& ec) {
      if (ec) return;
      port_event_t events[16];
      uint_t count = 1;
      timespec zero{0, 0};
      bool any = false;
      while (::port_getn(stream_->native_handle(), events, 16, &count, &zero) == 0 && count > 0) {
        any = true;
        count = 1;
      }
      if (any) {
        associate_all();
        on_change_();
      }
      arm();
    });
  }

  std::string config_path_;
  ChangeHandler on_change_;
  std::unique_ptr<boost::asio::posix::stream_descriptor> stream_;
  std::list<Object> objects_;  // stable addresses: the port refers to file_obj_t by pointer
};

}  // namespace

std::unique_ptr<Watcher> make_port_watcher(const std::string& config_path) {
  return std::make_unique<PortWatcher>(config_path);
}

}  // namespace memproxy::daemon

#endif  // __sun
