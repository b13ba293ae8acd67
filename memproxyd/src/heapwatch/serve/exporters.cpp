#include "heapwatch/serve/exporters.hpp"

#include <spdlog/spdlog.h>

#include "heapwatch/store/daemon_file_path.hpp"

namespace memproxy::heapwatch {

std::string Exporters::start(const ExporterOptions& options) {
  if (!options.prometheus_listen.empty()) {
    std::string why;
    std::string address = prometheus_bind_address(options.prometheus_listen, &why);
    if (address.empty()) return why;
    auto pull = std::make_unique<PrometheusExporter>();
    why = pull->start(address);
    if (!why.empty()) return why;
    pull_ = std::move(pull);
    spdlog::info("prometheus: serving /metrics on {} (port {})", address, pull_->port());
  }
  if (!options.prometheus_textfile.empty()) {
    bool untrusted = false;
    std::string why = check_daemon_file_path(options.prometheus_textfile, false, &untrusted);
    if (untrusted) return "--prometheus-textfile " + options.prometheus_textfile + ": " + why;
    textfile_ = std::make_unique<TextfileExporter>(options.prometheus_textfile, options.textfile_mode,
                                                   options.textfile_group);
    spdlog::info("prometheus: writing {} after each sampling tick, at most once a second",
                 options.prometheus_textfile);
  }
  return "";
}

void Exporters::on_tick(std::chrono::steady_clock::time_point now) {
  if (!any()) return;
  if (last_ && now - *last_ + kExportInterval / 10 < kExportInterval) return;
  last_ = now;
  std::vector<ProcessView> views = state_.views();
  if (pull_) pull_->update(views);
  if (textfile_) textfile_->update(views);
}

}  // namespace memproxy::heapwatch
