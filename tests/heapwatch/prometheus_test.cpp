// The daemon's pull exporter scraped by a real Prometheus server (Debian's
// `prometheus`) on loopback, every second: the server's HTTP API then has
// the growing program's live-bytes series, with its pid, and sees it grow.
// What the pull exporter serves and the textfile holds is only memproxy's
// documented families, without a NaN, and promtool accepts both.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <regex>
#include <set>

#include <gtest/gtest.h>

#include "capability.hpp"
#include "e2e_support.hpp"

namespace {

using namespace heapwatch_e2e;
using nlohmann::json;

constexpr const char* kPrometheus = "/usr/bin/prometheus";
constexpr const char* kPromtool = "/usr/bin/promtool";

// The families docs/ADMIN.md lists under "Prometheus".
const std::set<std::string> kDocumented{
    "memproxy_heap_live_bytes",      "memproxy_heap_peak_bytes",           "memproxy_heap_rss_bytes",
    "memproxy_heap_allocations_total", "memproxy_heap_frees_total",        "memproxy_heap_growth_bytes_per_hour",
    "memproxy_heap_leak_suspected",  "memproxy_heap_verdict",              "memproxy_watched_processes",
    "memproxy_heap_exhaustion_seconds", "memproxy_heap_memory_limit_bytes"};

// Every family of an exposition text, by its TYPE line.
std::set<std::string> families_of(const std::string& text) {
  std::set<std::string> names;
  static const std::regex type(R"(^# TYPE (\S+) )");
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_search(line, m, type)) names.insert(m[1]);
  }
  return names;
}

void expect_clean(const std::string& what, const std::string& text) {
  std::string lower = text;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  EXPECT_EQ(lower.find("nan"), std::string::npos) << what << ":\n" << text;
  EXPECT_EQ(families_of(text), kDocumented) << what << ":\n" << text;
  memproxy::testing::Options with_input;
  with_input.input = text;
  Outcome lint = memproxy::testing::run({kPromtool, "check", "metrics"}, {}, with_input);
  EXPECT_TRUE(lint.ok()) << what << ": " << lint.describe();
}

TEST(PrometheusExposition, OnlyMemproxysDocumentedFamiliesWithoutNaNAndPromtoolAgrees) {
  MEMPROXY_REQUIRE(memproxy::testing::missing_program(kPromtool, "prometheus"));
  memproxy::testing::TempDir dir{0755};
  const std::string textfile = dir / "memproxy.prom";
  Daemon daemon(dir, {"--prometheus-listen", "127.0.0.1:0", "--prometheus-textfile", textfile});
  ASSERT_TRUE(daemon.ready()) << daemon.log();
  const int port = daemon.prometheus_port();
  ASSERT_GT(port, 0) << daemon.log();
  auto grower = start_grower(daemon.table());
  const std::string pid = "pid=\"" + std::to_string(grower->pid()) + "\"";
  std::string served;
  // Two scrapes at least: the exposer's own summary had NaN quantiles from the second on.
  ASSERT_TRUE(wait_until([&] {
    served = http_get(port, "/metrics");
    return served.find(pid) != std::string::npos && http_get(port, "/metrics").find(pid) != std::string::npos;
  })) << served;
  served = http_get(port, "/metrics");
  expect_clean("/metrics", served);
  ASSERT_TRUE(wait_until([&] { return read_file(textfile).find(pid) != std::string::npos; })) << daemon.log();
  expect_clean(textfile, read_file(textfile));
}

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
  EXPECT_EQ(suspected[0]["value"][1], "0");
  // leak_suspected 0 also reads so for a process not judged yet: the
  // verdict's state tells, and it is not "stable".
  json state = query(server_port, "memproxy_heap_verdict{pid=\"" + pid + "\"}");
  ASSERT_EQ(state.size(), 1u) << state.dump();
  EXPECT_EQ(state[0]["metric"]["state"], "not_judged") << state.dump();
  EXPECT_EQ(state[0]["value"][1], "1");
}

}  // namespace
