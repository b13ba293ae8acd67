#include "heapwatch/serve/prometheus_exporter.hpp"

#include <CivetServer.h>
#include <civetweb.h>
#include <prometheus/collectable.h>
#include <prometheus/exposer.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <exception>
#include <map>
#include <mutex>

#include "heapwatch/serve/metric_families.hpp"

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

namespace {

// The snapshot each listening port serves. The exposer's own /metrics
// handler adds its exposer_* families (unprefixed, and a summary whose
// quantiles are NaN until it has observations) to whatever it serves, and
// prometheus-cpp has no way to leave them out; so every request reaches
// serve_metrics first (civetweb's begin_request), which answers /metrics
// from the snapshot alone and leaves nothing to the exposer's handler. The
// port finds the snapshot: civetweb's user data is the exposer's server.
std::mutex served_mutex;
std::map<int, std::weak_ptr<prometheus::Collectable>>& served() {
  static std::map<int, std::weak_ptr<prometheus::Collectable>> ports;
  return ports;
}

int serve_metrics(mg_connection* connection) {
  const mg_request_info* request = mg_get_request_info(connection);
  std::shared_ptr<prometheus::Collectable> snapshot;
  {
    std::lock_guard<std::mutex> lock(served_mutex);
    auto it = served().find(request->server_port);
    if (it != served().end()) snapshot = it->second.lock();
  }
  if (snapshot == nullptr) {
    // Not yet (or no longer) this exporter's: nothing to serve.
    mg_printf(connection, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    return 503;
  }
  if (request->local_uri == nullptr || std::strcmp(request->local_uri, "/metrics") != 0) {
    mg_printf(connection, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    return 404;
  }
  const std::string body = prometheus::TextSerializer().Serialize(snapshot->Collect());
  mg_printf(connection,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
            "Content-Length: %zu\r\nConnection: close\r\n\r\n",
            body.size());
  if (std::strcmp(request->request_method, "HEAD") != 0) mg_write(connection, body.data(), body.size());
  return 200;
}

}  // namespace

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

PrometheusExporter::~PrometheusExporter() {
  const int bound = port();
  exposer_.reset();  // no request is served past this
  std::lock_guard<std::mutex> lock(served_mutex);
  auto it = served().find(bound);
  if (it != served().end() && it->second.lock() == snapshot_) served().erase(it);
}

std::string PrometheusExporter::start(const std::string& bind_address) {
  static const CivetCallbacks callbacks = [] {
    CivetCallbacks c;
    c.begin_request = serve_metrics;
    return c;
  }();
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(bind_address, 2, &callbacks);
  } catch (const std::exception& e) {
    return "cannot serve Prometheus metrics on " + bind_address + ": " + e.what();
  }
  std::lock_guard<std::mutex> lock(served_mutex);
  served()[port()] = snapshot_;
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
