#include "reloader.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <chrono>

#include "memproxy/config.hpp"

namespace memproxy::daemon {
namespace {

int64_t unix_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t mtime_ns(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

std::string keeps_message(uint64_t generation) {
  if (generation == 0) return "no table is published (new processes use the system allocator)";
  return "the last good table (generation " + std::to_string(generation) + ") stays in force";
}

}  // namespace

void Reloader::reject(const std::string& error) {
  auto& record = status_.record();
  record.rejected_count += 1;
  record.last_rejection_unix_ns = unix_now_ns();
  record.last_error = error;
  status_.write();
}

ReloadResult Reloader::reload(bool at_start, const char* reason) {
  const int64_t config_mtime = mtime_ns(config_path_);
  config::ParseResult parsed = config::parse_file(config_path_);
  auto& record = status_.record();

  if (parsed.file_status == config::FileStatus::missing && at_start) {
    spdlog::warn("{} does not exist: publishing an empty table, so every process uses the custom allocator",
                 config_path_);
    parsed = config::ParseResult{};
  } else if (parsed.file_status == config::FileStatus::missing) {
    spdlog::warn("{} has disappeared ({}); {}", config_path_, reason, keeps_message(publisher_.generation()));
    reject(config_path_ + ": missing");
    return ReloadResult::rejected;
  }

  for (const auto& diagnostic : parsed.diagnostics) {
    if (diagnostic.severity == config::Severity::error) {
      spdlog::error("{}", diagnostic.format());
    } else {
      spdlog::warn("{}", diagnostic.format());
    }
  }
  if (parsed.file_status != config::FileStatus::missing && !parsed.publishable()) {
    // Not publishable means at least one error diagnostic: record the first.
    std::string first = config_path_ + ": rejected";
    for (const auto& diagnostic : parsed.diagnostics) {
      if (diagnostic.severity == config::Severity::error) {
        first = diagnostic.format();
        break;
      }
    }
    spdlog::error("{} rejected ({} error{}, {}); {}", config_path_, parsed.error_count,
                  parsed.error_count == 1 ? "" : "s", reason, keeps_message(publisher_.generation()));
    record.config_mtime_ns = config_mtime;
    reject(first);
    return ReloadResult::rejected;
  }

  PublishOutcome outcome = publisher_.publish(table::entries_from_config(parsed));
  if (!outcome.error.empty()) {
    spdlog::error("cannot publish {}: {}; {}", publisher_.table_path(), outcome.error,
                  keeps_message(publisher_.generation()));
    record.last_error = outcome.error;
    status_.write();
    return ReloadResult::failed;
  }
  spdlog::info("published generation {}: {} entries, {} bytes, in {:.3f} ms ({}, {})", outcome.generation,
               outcome.entry_count, outcome.table_bytes, outcome.duration_ms, config_path_, reason);
  record.config_mtime_ns = config_mtime;
  record.generation = outcome.generation;
  record.entry_count = outcome.entry_count;
  record.last_publish_unix_ns = outcome.published_unix_ns;
  record.last_publish_ms = outcome.duration_ms;
  status_.write();
  return ReloadResult::published;
}

}  // namespace memproxy::daemon
