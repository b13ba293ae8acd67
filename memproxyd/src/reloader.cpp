#include "reloader.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <chrono>
#include <new>

#include "memproxy/config.hpp"
#include "memproxy/clock.hpp"

namespace memproxy::daemon {
namespace {

using memproxy::unix_now_ns;

int64_t mtime_ns(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return static_cast<int64_t>(st.st_mtim.tv_sec) * kNsPerSecond + st.st_mtim.tv_nsec;
}

std::string keeps_message(uint64_t generation) {
  if (generation == 0) return "no table is published (new processes use the system allocator)";
  return "the last good table (generation " + std::to_string(generation) + ") stays in force";
}

// The status record is world-readable; the log is not. A diagnostic quotes
// the config, so it goes to the record whole only when everyone could read
// the config anyway.
std::string for_status_record(const config::Diagnostic& diagnostic, bool text_is_public) {
  if (text_is_public) return diagnostic.format();
  return diagnostic.redacted() + " (details in memproxyd's log: " + diagnostic.file + " is not readable by everyone)";
}

}  // namespace

void Reloader::reject(const std::string& error) {
  auto& record = status_.record();
  record.rejected_count += 1;
  record.last_rejection_unix_ns = unix_now_ns();
  record.last_error = error;
  status_.write();
}

void Reloader::recover(const char* what, const char* reason) noexcept {
  try {
    spdlog::error("{}: {} during the reload ({}); {}", config_path_, what, reason,
                  keeps_message(publisher_.generation()));
    reject(config_path_ + ": error: " + what + " during the reload; the last good table stays");
  } catch (...) {
    // Nothing more can be recorded; the daemon and its table carry on.
  }
}

ReloadResult Reloader::reload(bool at_start, const char* reason) noexcept {
  try {
    return reload_config(at_start, reason);
  } catch (const std::bad_alloc&) {
    recover("out of memory", reason);
  } catch (const std::exception& e) {
    try {
      spdlog::error("{}: reload failed: {}", config_path_, e.what());
    } catch (...) {
    }
    recover("an internal error", reason);
  }
  return ReloadResult::rejected;
}

ReloadResult Reloader::reload_config(bool at_start, const char* reason) {
  const int64_t config_mtime = mtime_ns(config_path_);
  LoadedConfig loaded = load_config(config_path_);
  config::ParseResult& parsed = loaded.parsed;
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

  // Bounded by the parser (kMaxErrors, kMaxWarnings).
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
        first = for_status_record(diagnostic, loaded.text_is_public);
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
    record.last_error = loaded.text_is_public ? outcome.error
                                              : "cannot publish " + publisher_.table_path() +
                                                    " (details in memproxyd's log: " + config_path_ +
                                                    " is not readable by everyone)";
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
