// The heap watch's metrics written as a node_exporter textfile (its
// textfile collector reads *.prom files in one directory). Each update
// replaces the file atomically (memproxy/atomic_replace.hpp: the staging
// file PATH.new is never read as a .prom file), mode 0644.
//
// The text and its write, with its fsync, are made on a thread of its own
// so that neither a slow disk nor the serialization holds up the daemon's
// loop; updates that arrive while one is
// written are collapsed into the newest. When the exporter is destroyed
// (the daemon stops) the file is removed: its numbers would otherwise be
// served as current by node_exporter, as a stopped pull exporter's are not.
#ifndef MEMPROXYD_HEAPWATCH_TEXTFILE_EXPORTER_HPP
#define MEMPROXYD_HEAPWATCH_TEXTFILE_EXPORTER_HPP

#include <prometheus/metric_family.h>

#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "heapwatch/process_view.hpp"

namespace memproxy::heapwatch {

class TextfileExporter {
 public:
  explicit TextfileExporter(std::string path);
  // Finishes the write under way, then removes the file.
  ~TextfileExporter();
  TextfileExporter(const TextfileExporter&) = delete;
  TextfileExporter& operator=(const TextfileExporter&) = delete;

  const std::string& path() const { return path_; }
  void update(const std::vector<ProcessView>& views);

  // Blocks until every update so far is written (tests). The last error, or "".
  std::string flush();

 private:
  void run();

  std::string path_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::optional<std::vector<prometheus::MetricFamily>> pending_;
  bool writing_ = false;
  bool stopping_ = false;
  std::string last_error_;
  std::thread writer_;
};

}  // namespace memproxy::heapwatch

#endif
