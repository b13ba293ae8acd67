#include "heapwatch/service_options.hpp"

#include "heapwatch/serve/prometheus_exporter.hpp"
#include "heapwatch/store/daemon_file_path.hpp"

namespace memproxy::heapwatch {

std::string prometheus_listen_problem(const std::string& listen) {
  std::string why;
  prometheus_bind_address(listen, &why);
  return why;
}

std::string untrusted_daemon_file(const std::string& absolute_path) {
  bool untrusted = false;
  std::string why = check_daemon_file_path(absolute_path, true, &untrusted);
  return untrusted ? why : "";
}

}  // namespace memproxy::heapwatch
