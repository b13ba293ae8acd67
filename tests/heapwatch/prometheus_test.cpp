// The daemon's pull exporter scraped by a real Prometheus server (Debian's
// `prometheus`) on loopback, every second: the server's HTTP API then has
// the growing program's live-bytes series, with its pid, and sees it grow.
// What the pull exporter serves and the textfile holds is only memproxy's
// documented families, without a NaN, and promtool accepts both. A daemon
// restarted on its history never shows the server a judged leak as not
// judged, or its leak_suspected as 0.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <limits>
#include <optional>
#include <regex>
#include <set>
#include <thread>

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

// The server's configuration: scrape 127.0.0.1:exporter_port every second.
std::unique_ptr<memproxy::testing::Process> start_server(memproxy::testing::TempDir& dir, int exporter_port,
                                                         int server_port) {
  dir.write("prometheus.yml",
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            "scrape_configs:\n  - job_name: memproxy\n    static_configs:\n      - targets: ['127.0.0.1:" +
                std::to_string(exporter_port) + "']\n");
  return std::make_unique<memproxy::testing::Process>(
      std::vector<std::string>{kPrometheus, "--config.file=" + dir / "prometheus.yml",
                               "--storage.tsdb.path=" + dir / "tsdb",
                               "--web.listen-address=127.0.0.1:" + std::to_string(server_port), "--log.level=warn"},
      std::vector<std::string>{"HOME=" + dir.path()});
}

// The one value of an instant query's answer, NaN when there is none.
double only_value(const json& result) {
  if (result.size() != 1) return std::numeric_limits<double>::quiet_NaN();
  return std::stod(result[0]["value"][1].get<std::string>());
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

  const int server_port = free_port();
  auto server = start_server(dir, exporter_port, server_port);

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

// The leak judged growing, then the daemon restarted on the same history
// and port: every sample the server scraped across the restart reads
// growing 1, not_judged 0 and leak_suspected 1. A restarted daemon that
// served its processes before judging them (not judged, leak_suspected 0)
// would reset every alert's "for" on a leak.
TEST(PrometheusScrape, ARestartNeverShowsTheServerAJudgedLeakAsNotJudged) {
  MEMPROXY_REQUIRE(memproxy::testing::missing_program(kPrometheus, "prometheus"));
  memproxy::testing::TempDir dir{0755};
  const std::vector<std::string> options{"--prometheus-listen", "127.0.0.1:" + std::to_string(free_port()),
                                         "--verdict-time-scale", "60"};
  std::optional<Daemon> daemon;
  daemon.emplace(dir, options);
  ASSERT_TRUE(daemon->ready()) << daemon->log();
  const int exporter_port = daemon->prometheus_port();
  ASSERT_GT(exporter_port, 0) << daemon->log();
  auto grower = start_grower(daemon->table());
  const std::string pid = std::to_string(grower->pid());
  const int server_port = free_port();
  auto server = start_server(dir, exporter_port, server_port);

  const std::string suspected = "memproxy_heap_leak_suspected{pid=\"" + pid + "\"}";
  const std::string growing = "memproxy_heap_verdict{pid=\"" + pid + "\",state=\"growing\"}";
  const std::string not_judged = "memproxy_heap_verdict{pid=\"" + pid + "\",state=\"not_judged\"}";
  ASSERT_TRUE(wait_until([&] { return only_value(query(server_port, suspected)) == 1; }, std::chrono::seconds(150)))
      << daemon->log();
  // From here on every scrape must read the leak judged growing.
  const auto judged = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(3));  // a few scrapes of the judged leak

  EXPECT_EQ(daemon->stop(), 0) << daemon->log();
  daemon.emplace(dir, options);
  // The new daemon's /metrics read every 5 ms, from its first answer until
  // it says the leak is suspected: the gap before its first verdict pass,
  // about a second, is scraped by the server only now and then.
  std::vector<std::string> wrong;
  int bodies = 0;
  auto answer_is_suspected = [&] {
    const std::string body = http_get(exporter_port, "/metrics");
    if (body.empty()) return false;
    ++bodies;
    bool seen = false;
    std::istringstream lines(body);
    for (std::string line; std::getline(lines, line);) {
      if (line.find("pid=\"" + pid + "\"") == std::string::npos) continue;
      const bool is_suspected = line.rfind("memproxy_heap_leak_suspected{", 0) == 0;
      if (is_suspected && line.ends_with(" 1")) seen = true;
      if ((is_suspected && line.ends_with(" 0")) || line.find("state=\"not_judged\"") != std::string::npos) {
        wrong.push_back(line);
      }
    }
    return seen;
  };
  bool suspected_again = false;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!suspected_again && std::chrono::steady_clock::now() < give_up) {
    suspected_again = answer_is_suspected();
    if (!suspected_again) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE(suspected_again) << daemon->log();
  EXPECT_TRUE(wrong.empty()) << wrong.size() << " wrong lines in " << bodies << " answers, the first: "
                             << (wrong.empty() ? "" : wrong.front());
  ASSERT_TRUE(daemon->ready()) << daemon->log();
  ASSERT_EQ(daemon->prometheus_port(), exporter_port) << daemon->log();
  std::this_thread::sleep_for(std::chrono::seconds(8));  // scrapes of the new daemon
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - judged);
  const std::string window = "[" + std::to_string(seconds.count()) + "s]";
  EXPECT_GT(only_value(query(server_port, "count_over_time(" + suspected + window + ")")), static_cast<double>(seconds.count() / 2))
      << "too few scrapes across the restart; daemon log:\n" << daemon->log();
  EXPECT_EQ(only_value(query(server_port, "min_over_time(" + suspected + window + ")")), 1) << daemon->log();
  EXPECT_EQ(only_value(query(server_port, "min_over_time(" + growing + window + ")")), 1) << daemon->log();
  const json unjudged = query(server_port, "max_over_time(" + not_judged + window + ")");
  EXPECT_TRUE(unjudged.empty() || only_value(unjudged) == 0) << unjudged.dump() << daemon->log();
}

}  // namespace
