// The heap watch's metrics served for Prometheus to scrape (prometheus-cpp's
// exposer, /metrics on its own threads). Each update replaces the whole
// set, so the series of an ended process disappear with it.
#ifndef MEMPROXYD_HEAPWATCH_PROMETHEUS_EXPORTER_HPP
#define MEMPROXYD_HEAPWATCH_PROMETHEUS_EXPORTER_HPP

#include <memory>
#include <string>
#include <vector>

#include "heapwatch/analysis/process_view.hpp"

namespace prometheus {
class Exposer;
}

namespace memproxy::heapwatch {

// "PORT" means 127.0.0.1:PORT; "ADDR:PORT" and "[IPV6]:PORT" are taken as
// given. The address to bind, or "" with `why` set.
std::string prometheus_bind_address(const std::string& listen, std::string* why);

class PrometheusExporter {
 public:
  PrometheusExporter();
  ~PrometheusExporter();

  // Starts serving on `bind_address` (prometheus_bind_address's form).
  // "" or why not.
  std::string start(const std::string& bind_address);
  // The port actually bound (the given one, or the kernel's choice for 0).
  int port() const;

  // Called on the daemon's loop; scrapes read the last update.
  void update(const std::vector<ProcessView>& views);

 private:
  class Snapshot;
  std::shared_ptr<Snapshot> snapshot_;
  std::unique_ptr<prometheus::Exposer> exposer_;
};

}  // namespace memproxy::heapwatch

#endif
