// The metric exporters the daemon runs (pull, textfile, either or both),
// fed from the watch state after sampling ticks: at most about once a
// second whatever --sample-interval is, since a scrape or a textfile
// collector gains nothing from more and the views cost a pass over every
// watched process.
#ifndef MEMPROXYD_HEAPWATCH_EXPORTERS_HPP
#define MEMPROXYD_HEAPWATCH_EXPORTERS_HPP

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "heapwatch/analysis/process_view.hpp"
#include "heapwatch/serve/prometheus_exporter.hpp"
#include "heapwatch/serve/textfile_exporter.hpp"

namespace memproxy::heapwatch {

struct ExporterOptions {
  std::string prometheus_listen;    // [ADDR:]PORT, "" = no pull exporter
  std::string prometheus_textfile;  // path, "" = no textfile
  mode_t textfile_mode = TextfileExporter::kDefaultMode;
  gid_t textfile_group = 0;
};

inline constexpr std::chrono::milliseconds kExportInterval{1000};

class Exporters {
 public:
  explicit Exporters(const WatchState& state) : state_(state) {}

  // Starts what `options` asks for; "" or why not. A textfile path another
  // user could redirect (daemon_file_path.hpp) is refused.
  std::string start(const ExporterOptions& options);
  bool any() const { return pull_ || textfile_; }
  const PrometheusExporter* pull() const { return pull_.get(); }

  // After a sampling tick: exports unless the last export is less than an
  // interval ago (with a tenth of it as slack, so that ticks of a one-second
  // cadence that come a little early still export every time).
  void on_tick(std::chrono::steady_clock::time_point now);

 private:
  const WatchState& state_;
  std::unique_ptr<PrometheusExporter> pull_;
  std::unique_ptr<TextfileExporter> textfile_;
  std::optional<std::chrono::steady_clock::time_point> last_;
};

}  // namespace memproxy::heapwatch

#endif
