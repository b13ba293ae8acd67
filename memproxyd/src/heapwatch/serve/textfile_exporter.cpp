#include "heapwatch/serve/textfile_exporter.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include "heapwatch/serve/metric_families.hpp"
#include "memproxy/atomic_replace.hpp"

namespace memproxy::heapwatch {

TextfileExporter::TextfileExporter(std::string path, mode_t mode, gid_t group)
    : path_(std::move(path)), mode_(mode), group_(group), writer_([this] { run(); }) {}

TextfileExporter::~TextfileExporter() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  writer_.join();
  if (::unlink(path_.c_str()) == 0) atomic::sync_directory_of(path_);
}

void TextfileExporter::update(const std::vector<ProcessView>& views) {
  std::vector<prometheus::MetricFamily> families = heap_metric_families(views);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    pending_ = std::move(families);
  }
  changed_.notify_all();
}

std::string TextfileExporter::flush() {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [this] { return !pending_ && !writing_; });
  return last_error_;
}

void TextfileExporter::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    changed_.wait(lock, [this] { return pending_ || stopping_; });
    if (stopping_) return;
    std::vector<prometheus::MetricFamily> families = std::move(*pending_);
    pending_.reset();
    writing_ = true;
    lock.unlock();
    std::string error = atomic::replace_file(path_, exposition_text(families), mode_,
                                              atomic::Owner{::geteuid(), group_});
    lock.lock();
    writing_ = false;
    // Logged when the error changes, not on every update.
    if (error != last_error_) {
      if (!error.empty()) spdlog::warn("prometheus textfile: {}", error);
      else spdlog::info("prometheus textfile: writing {} again", path_);
    }
    last_error_ = error;
    changed_.notify_all();
  }
}

}  // namespace memproxy::heapwatch
