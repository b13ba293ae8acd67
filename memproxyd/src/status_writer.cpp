#include "status_writer.hpp"

#include <spdlog/spdlog.h>

#include "memproxy/atomic_replace.hpp"

namespace memproxy::daemon {

StatusWriter::StatusWriter(const std::string& table_path) : path_(status::status_path_for(table_path)) {
  record_.table_path = table_path;
}

void StatusWriter::write() {
  const std::string text = status::to_text(record_);
  std::string error = atomic::replace_file(path_, text, 0644);
  if (!error.empty()) spdlog::warn("cannot write the status record: {}", error);
}

}  // namespace memproxy::daemon
