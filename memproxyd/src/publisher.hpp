// Publishing tables: build the image, verify it, replace the live file.
#ifndef MEMPROXYD_PUBLISHER_HPP
#define MEMPROXYD_PUBLISHER_HPP

#include <cstdint>
#include <string>
#include <vector>

#include "memproxy/table_builder.hpp"

namespace memproxy::daemon {

struct PublishOutcome {
  std::string error;  // empty on success
  uint64_t generation = 0;
  uint64_t entry_count = 0;
  uint64_t table_bytes = 0;
  int64_t published_unix_ns = 0;
  double duration_ms = 0;  // build + verify + write + rename
};

// The generation of the table at `path`, or 0 when there is none or it does not
// validate (a table that fails validation says nothing trustworthy).
uint64_t live_generation(const std::string& path);

class Publisher {
 public:
  // Continues the generation sequence of the table already at `table_path`, so
  // that a restarted daemon never goes backwards.
  Publisher(std::string table_path, table::Settings settings);

  PublishOutcome publish(const std::vector<table::BuildEntry>& entries);

  uint64_t generation() const { return generation_; }
  const std::string& table_path() const { return table_path_; }
  const table::Settings& settings() const { return settings_; }

 private:
  std::string table_path_;
  table::Settings settings_;
  uint64_t generation_ = 0;  // of the last table this publisher saw live
};

}  // namespace memproxy::daemon

#endif
