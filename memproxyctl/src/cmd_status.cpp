// `memproxyctl status`: is the daemon alive, and what it last published or rejected.
#include <iomanip>
#include <iostream>

#include "commands.hpp"
#include "daemon_probe.hpp"
#include "exit_codes.hpp"
#include "output.hpp"
#include "table_file.hpp"
#include "terminal_text.hpp"

namespace memproxyctl {
namespace {

// The heap watch's history, as the daemon last recorded it.
void print_history(const memproxy::status::Record& record) {
  const std::string& state = record.history_state;
  if (state.empty()) return;
  std::cout << "history:     ";
  if (state == "off") {
    std::cout << "off (memproxyd --no-history): no leak verdicts\n";
    return;
  }
  std::cout << state << " " << record.history_path;
  if (state == "unavailable") std::cout << " - watching without it, no leak verdicts";
  std::cout << '\n';
  if (!record.history_problem.empty()) {
    std::cout << (state == "unavailable" ? "  because:   " : "  last problem: ") << terminal_safe(record.history_problem) << '\n';
  }
  if (record.history_dropped_samples > 0) {
    std::cout << "  dropped:   " << record.history_dropped_samples
              << " samples never recorded (the writer fell behind)\n";
  }
}

}  // namespace

int cmd_status(const GlobalOptions& options) {
  DaemonState daemon = probe_daemon(options.table_path);
  TableFile table = load_table(options.table_path);
  const auto* record = daemon.record ? &*daemon.record : nullptr;
  const std::string config_path = record && !record->config_path.empty() ? record->config_path : options.config_path;
  int code = !table.valid() ? kExitTable : daemon.alive ? kExitOk : kExitNegative;

  if (options.json) {
    nlohmann::json doc = {
        {"daemon",
         {{"alive", daemon.alive},
          {"reason", daemon.alive_reason},
          {"method", daemon.method == LivenessMethod::lock_query ? "lock_query" : "process_check"},
          {"method_detail", daemon.method_detail},
          {"lock_holder_pid", daemon.lock_holder},
          {"pid", record ? record->pid : 0}}},
        {"config_path", config_path},
        {"table", {{"path", options.table_path}, {"valid", table.valid()}, {"error", table.error}}},
    };
    if (table.valid()) {
      doc["table"]["generation"] = table.header().generation;
      doc["table"]["entry_count"] = table.header().entry_count;
      doc["table"]["allocator"] = table.allocator();
      doc["table"]["published_unix_ns"] = table.header().published_unix_ns;
    }
    if (record) {
      doc["status_record"] = {{"state", record->state},
                              {"generation", record->generation},
                              {"entry_count", record->entry_count},
                              {"allocator", record->allocator},
                              {"started_unix_ns", record->started_unix_ns},
                              {"ready_unix_ns", record->ready_unix_ns},
                              {"last_publish_unix_ns", record->last_publish_unix_ns},
                              {"last_publish_ms", record->last_publish_ms},
                              {"rejected_count", record->rejected_count},
                              {"last_rejection_unix_ns", record->last_rejection_unix_ns},
                              {"last_error", record->last_error}};
      if (!record->history_state.empty()) {
        doc["status_record"]["history"] = {{"state", record->history_state},
                                           {"path", record->history_path},
                                           {"problem", record->history_problem},
                                           {"dropped_samples", record->history_dropped_samples}};
      }
    } else {
      doc["status_record"] = nullptr;
      doc["status_record_error"] = daemon.record_error;
    }
    print_json(doc);
    return code;
  }

  std::cout << "daemon:      " << (daemon.alive ? "running" : "not running");
  if (daemon.alive && daemon.lock_holder > 0) {
    std::cout << " (pid " << daemon.lock_holder << ")";
  } else if (daemon.alive && record) {
    std::cout << " (pid " << record->pid << ")";
  }
  std::cout << " - " << daemon.alive_reason << '\n';
  std::cout << "checked by:  " << daemon.method_detail << '\n';
  std::cout << "config:      " << config_path << '\n';
  std::cout << "table:       " << options.table_path << '\n';
  if (table.valid()) {
    std::cout << "generation:  " << table.header().generation << '\n';
    std::cout << "entries:     " << table.header().entry_count << '\n';
    std::cout << "allocator:   " << (table.allocator().empty() ? "(none named: the preloaded one)" : table.allocator())
              << '\n';
  } else {
    std::cout << "table error: " << table.error << '\n';
  }
  if (record) {
    std::cout << "last publish: " << format_unix_ns(record->last_publish_unix_ns);
    if (record->last_publish_unix_ns > 0) std::cout << " (generation " << record->generation << ", " << std::fixed << std::setprecision(3)
                                                 << record->last_publish_ms << " ms)";
    std::cout << '\n';
    std::cout << "rejections:  " << record->rejected_count;
    if (record->rejected_count > 0) {
      std::cout << ", last " << format_unix_ns(record->last_rejection_unix_ns);
    }
    std::cout << '\n';
    if (!record->last_error.empty()) std::cout << "last error:  " << terminal_safe(record->last_error) << '\n';
    print_history(*record);
  } else {
    std::cout << "status:      " << daemon.record_error << '\n';
  }
  return code;
}

}  // namespace memproxyctl
