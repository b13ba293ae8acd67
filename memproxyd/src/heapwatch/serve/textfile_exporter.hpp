// The heap watch's metrics written as a node_exporter textfile (its
// textfile collector reads *.prom files in one directory). Each update
// replaces the file atomically (memproxy/atomic_replace.hpp: the staging
// file PATH.new is never read as a .prom file), with the mode and group
// given (by default 0640 and root's group: the file names every user's
// watched processes, and their heap sizes, which not every user may see).
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
#include <sys/types.h>

#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "heapwatch/analysis/process_view.hpp"

namespace memproxy::heapwatch {

class TextfileExporter {
 public:
  static constexpr mode_t kDefaultMode = 0640;

  explicit TextfileExporter(std::string path, mode_t mode = kDefaultMode, gid_t group = 0);
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
  mode_t mode_;
  gid_t group_;
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
