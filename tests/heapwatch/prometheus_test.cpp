// The daemon's pull exporter scraped by a real Prometheus server (Debian's
// `prometheus`) on loopback, every second: the server's HTTP API then has
// the growing program's live-bytes series, with its pid, and sees it grow.
#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "capability.hpp"
#include "e2e_support.hpp"

namespace {

using namespace heapwatch_e2e;
using nlohmann::json;

constexpr const char* kPrometheus = "/usr/bin/prometheus";

// The result vector of an instant query, or an empty array.
json query(int port, const std::string& promql) {
  std::string body = http_get(port, "/api/v1/query?query=" + url_encoded(promql));
  json answer = json::parse(body, nullptr, false);
  if (answer.is_discarded() || answer.value("status", "") != "success") return json::array();
  return answer["data"]["result"];
}

TEST(PrometheusScrape, TheServerSeesTheGrowersSeriesGrow) {
  MEMPROXY_REQUIRE(memproxy::testing::missing_program(kPrometheus, "prometheus"));
  memproxy::testing::TempDir dir{0755};
  Daemon daemon(dir, {"--prometheus-listen", "127.0.0.1:0"});
  ASSERT_TRUE(daemon.ready()) << daemon.log();
  const int exporter_port = daemon.prometheus_port();
  ASSERT_GT(exporter_port, 0) << daemon.log();
  auto grower = start_grower(daemon.table());
  const std::string pid = std::to_string(grower->pid());

  dir.write("prometheus.yml",
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            "scrape_configs:\n  - job_name: memproxy\n    static_configs:\n      - targets: ['127.0.0.1:" +
                std::to_string(exporter_port) + "']\n");
  const int server_port = free_port();
  Process server({kPrometheus, "--config.file=" + dir / "prometheus.yml", "--storage.tsdb.path=" + dir / "tsdb",
                  "--web.listen-address=127.0.0.1:" + std::to_string(server_port), "--log.level=warn"},
                 {"HOME=" + dir.path()});

  const std::string live = "memproxy_heap_live_bytes{program=\"mp-grower\",pid=\"" + pid + "\"}";
  json series;
  ASSERT_TRUE(wait_until([&] { return !(series = query(server_port, live)).empty(); }))
      << "no series for " << live << " in the server; daemon log:\n" << daemon.log();
  ASSERT_EQ(series.size(), 1u) << series.dump();
  EXPECT_EQ(series[0]["metric"]["pid"], pid);
  EXPECT_EQ(series[0]["metric"]["user"], "root");
  EXPECT_EQ(series[0]["metric"]["job"], "memproxy");

  // Growth as the server computes it from its own scrapes.
  json growth;
  ASSERT_TRUE(wait_until([&] {
    growth = query(server_port, "delta(" + live + "[10s])");
    return !growth.empty() && std::stod(growth[0]["value"][1].get<std::string>()) > 0;
  })) << growth.dump();

  json watched = query(server_port, "memproxy_watched_processes");
  ASSERT_EQ(watched.size(), 1u) << watched.dump();
  EXPECT_GE(std::stod(watched[0]["value"][1].get<std::string>()), 1.0);
  json suspected = query(server_port, "memproxy_heap_leak_suspected{pid=\"" + pid + "\"}");
  ASSERT_EQ(suspected.size(), 1u) << suspected.dump();
  EXPECT_EQ(suspected[0]["value"][1], "0");  // no verdict on this branch yet
}

}  // namespace
