#include "heapwatch/prometheus_exporter.hpp"

#include <prometheus/collectable.h>
#include <prometheus/exposer.h>

#include <algorithm>
#include <cctype>
#include <exception>
#include <mutex>

#include "heapwatch/metric_families.hpp"

namespace memproxy::heapwatch {

// The families of the last update, read by the exposer's threads.
class PrometheusExporter::Snapshot : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return families_;
  }
  void replace(std::vector<prometheus::MetricFamily> families) {
    std::lock_guard<std::mutex> lock(mutex_);
    families_.swap(families);
  }

 private:
  mutable std::mutex mutex_;
  std::vector<prometheus::MetricFamily> families_;
};

std::string prometheus_bind_address(const std::string& listen, std::string* why) {
  auto digits = [](const std::string& s) {
    return !s.empty() && s.size() <= 5 && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); }) &&
           std::stoul(s) <= 65535;
  };
  auto colon = listen.rfind(':');
  const std::string port = colon == std::string::npos ? listen : listen.substr(colon + 1);
  if (!digits(port)) {
    *why = "--prometheus-listen wants [ADDR:]PORT with a port of 0 to 65535, not \"" + listen + "\"";
    return "";
  }
  if (colon == std::string::npos) return "127.0.0.1:" + port;
  if (colon == 0) {
    *why = "--prometheus-listen: no address before the colon in \"" + listen + "\"";
    return "";
  }
  return listen;
}

PrometheusExporter::PrometheusExporter() : snapshot_(std::make_shared<Snapshot>()) {}

PrometheusExporter::~PrometheusExporter() = default;

std::string PrometheusExporter::start(const std::string& bind_address) {
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(bind_address, 2);
  } catch (const std::exception& e) {
    return "cannot serve Prometheus metrics on " + bind_address + ": " + e.what();
  }
  exposer_->RegisterCollectable(snapshot_);
  return "";
}

int PrometheusExporter::port() const {
  if (!exposer_) return 0;
  std::vector<int> ports = exposer_->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

void PrometheusExporter::update(const std::vector<ProcessView>& views) {
  snapshot_->replace(heap_metric_families(views));
}

}  // namespace memproxy::heapwatch
