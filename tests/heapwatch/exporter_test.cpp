// The Prometheus exporters: the exposition text (names, types, labels,
// escaping of odd program names), the series of ended processes removed
// from what is served and written, the textfile replaced whole, the
// listen address, and the once-a-second throttle.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "heapwatch/serve/exporters.hpp"
#include "heapwatch/serve/metric_families.hpp"
#include "heapwatch/serve/prometheus_exporter.hpp"
#include "heapwatch/serve/textfile_exporter.hpp"
#include "temp_dir.hpp"

namespace {

using namespace memproxy::heapwatch;
using namespace std::chrono_literals;

ProcessView view(pid_t pid, const std::string& program, const std::string& user, uint64_t live,
                 const std::string& trend = "not enough data") {
  ProcessView v;
  v.process.pid = pid;
  v.process.start_ticks = 7;
  v.process.program = program;
  v.process.user = user;
  v.latest.live_bytes = live;
  v.latest.peak_bytes = live * 2;
  v.latest.rss_bytes = live * 3;
  v.latest.allocations = 1000;
  v.latest.frees = 900;
  v.verdict.trend = trend;
  v.verdict.slope_bytes_per_hour = trend == "growing" ? 4096 : 0;
  return v;
}

std::string text_of(const std::vector<ProcessView>& views) { return exposition_text(heap_metric_families(views)); }

bool has_line(const std::string& text, const std::string& line) {
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    if (l == line) return true;
  }
  return false;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The whole response to GET `target` from 127.0.0.1:port, "" without one.
std::string get(int port, const std::string& target) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval patience{20, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof patience);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return "";
  }
  std::string request = "GET " + target + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string response;
  char buffer[8192];
  for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;) response.append(buffer, static_cast<size_t>(n));
  ::close(fd);
  return response;
}

// GET /metrics from 127.0.0.1:port, the body.
std::string scrape(int port) {
  const std::string response = get(port, "/metrics");
  auto body = response.find("\r\n\r\n");
  return body == std::string::npos ? "" : response.substr(body + 4);
}

// The status code of an HTTP response, 0 when there is none.
int status_of(const std::string& response) {
  const std::string text = response.substr(0, response.find("\r\n"));
  auto space = text.find(' ');
  return text.rfind("HTTP/", 0) == 0 && space != std::string::npos ? std::atoi(text.c_str() + space + 1) : 0;
}

TEST(HeapMetrics, EveryMetricHasItsTypeAndOneSeriesPerProcess) {
  std::string text = text_of({view(100, "server", "root", 1234), view(200, "worker", "alice", 10, "growing")});
  EXPECT_TRUE(has_line(text, "# TYPE memproxy_heap_live_bytes gauge")) << text;
  EXPECT_TRUE(has_line(text, "# TYPE memproxy_heap_peak_bytes gauge"));
  EXPECT_TRUE(has_line(text, "# TYPE memproxy_heap_rss_bytes gauge"));
  EXPECT_TRUE(has_line(text, "# TYPE memproxy_heap_allocations_total counter"));
  EXPECT_TRUE(has_line(text, "# TYPE memproxy_heap_frees_total counter"));
  EXPECT_TRUE(has_line(text, "# TYPE memproxy_heap_growth_bytes_per_hour gauge"));
  EXPECT_TRUE(has_line(text, "# TYPE memproxy_heap_leak_suspected gauge"));
  EXPECT_TRUE(has_line(text, "# TYPE memproxy_watched_processes gauge"));
  EXPECT_TRUE(has_line(text, R"(memproxy_heap_live_bytes{pid="100",program="server",user="root"} 1234)"));
  EXPECT_TRUE(has_line(text, R"(memproxy_heap_peak_bytes{pid="100",program="server",user="root"} 2468)"));
  EXPECT_TRUE(has_line(text, R"(memproxy_heap_rss_bytes{pid="100",program="server",user="root"} 3702)"));
  EXPECT_TRUE(has_line(text, R"(memproxy_heap_allocations_total{pid="200",program="worker",user="alice"} 1000)"));
  EXPECT_TRUE(has_line(text, R"(memproxy_heap_frees_total{pid="200",program="worker",user="alice"} 900)"));
  EXPECT_TRUE(has_line(text, R"(memproxy_heap_growth_bytes_per_hour{pid="200",program="worker",user="alice"} 4096)"));
  EXPECT_TRUE(has_line(text, R"(memproxy_heap_leak_suspected{pid="200",program="worker",user="alice"} 1)"));
  EXPECT_TRUE(has_line(text, R"(memproxy_heap_leak_suspected{pid="100",program="server",user="root"} 0)"));
  EXPECT_TRUE(has_line(text, "memproxy_watched_processes 2"));
}

// A process not judged yet is neither stable nor growing, though its
// leak_suspected is 0 like a stable one's: the state label tells them apart.
TEST(HeapMetrics, TheVerdictStateSaysNotJudgedStableOrGrowingOncePerProcess) {
  std::string text = text_of({view(100, "young", "root", 1), view(200, "calm", "root", 1, "stable"),
                              view(300, "leaky", "root", 1, "growing")});
  EXPECT_TRUE(has_line(text, "# TYPE memproxy_heap_verdict gauge")) << text;
  EXPECT_TRUE(has_line(text, R"(memproxy_heap_verdict{pid="100",program="young",user="root",state="not_judged"} 1)"))
      << text;
  EXPECT_TRUE(has_line(text, R"(memproxy_heap_verdict{pid="200",program="calm",user="root",state="stable"} 1)"));
  EXPECT_TRUE(has_line(text, R"(memproxy_heap_verdict{pid="300",program="leaky",user="root",state="growing"} 1)"));
  size_t series = 0;
  for (size_t at = 0; (at = text.find("\nmemproxy_heap_verdict{", at)) != std::string::npos; ++at) ++series;
  EXPECT_EQ(series, 3u) << text;
}

// A process whose verdict is pending (a restarted daemon's first pass has
// not reached it) has its heap exported but no verdict at all: neither
// not_judged nor leak_suspected 0 is known to be true of it.
TEST(HeapMetrics, APendingVerdictIsLeftOutNotShownAsNotJudged) {
  ProcessView pending = view(300, "leaky", "root", 77);
  pending.verdict_pending = true;
  std::string text = text_of({pending, view(200, "calm", "root", 1, "stable")});
  EXPECT_TRUE(has_line(text, R"(memproxy_heap_live_bytes{pid="300",program="leaky",user="root"} 77)")) << text;
  for (const char* family : {"memproxy_heap_verdict{", "memproxy_heap_leak_suspected{",
                             "memproxy_heap_growth_bytes_per_hour{", "memproxy_heap_memory_limit_bytes{"}) {
    EXPECT_EQ(text.find(std::string(family) + R"(pid="300")"), std::string::npos) << family << "\n" << text;
  }
  EXPECT_TRUE(has_line(text, R"(memproxy_heap_verdict{pid="200",program="calm",user="root",state="stable"} 1)"));
  EXPECT_TRUE(has_line(text, "memproxy_watched_processes 2"));
}

// The forecast only for a process that has one: 0 would read as "now".
TEST(HeapMetrics, TheTimeToExhaustionIsExportedOnlyWhereThereIsAForecast) {
  ProcessView leaky = view(300, "leaky", "root", 1, "growing");
  leaky.verdict.exhaustion_unix_ns = 1;
  leaky.verdict.exhaustion_in_s = 1500;
  leaky.verdict.memory_limit_bytes = 1 << 30;
  ProcessView calm = view(200, "calm", "root", 1, "stable");
  calm.verdict.memory_limit_bytes = 1 << 30;
  std::string text = text_of({calm, leaky, view(100, "young", "root", 1)});
  EXPECT_TRUE(has_line(text, "# TYPE memproxy_heap_exhaustion_seconds gauge")) << text;
  EXPECT_TRUE(has_line(text, R"(memproxy_heap_exhaustion_seconds{pid="300",program="leaky",user="root"} 1500)")) << text;
  EXPECT_EQ(text.find(R"(memproxy_heap_exhaustion_seconds{pid="200")"), std::string::npos) << text;
  EXPECT_EQ(text.find(R"(memproxy_heap_exhaustion_seconds{pid="100")"), std::string::npos) << text;
  EXPECT_TRUE(has_line(text, R"(memproxy_heap_memory_limit_bytes{pid="200",program="calm",user="root"} 1073741824)"))
      << text;
  EXPECT_EQ(text.find(R"(memproxy_heap_memory_limit_bytes{pid="100")"), std::string::npos) << text;
}

TEST(HeapMetrics, NoProcessesStillCountsThem) {
  std::string text = text_of({});
  EXPECT_TRUE(has_line(text, "memproxy_watched_processes 0")) << text;
  EXPECT_EQ(text.find("memproxy_heap_live_bytes{"), std::string::npos);
}

TEST(HeapMetrics, OddProgramNamesAreEscapedAndMadeValidUtf8) {
  std::string text = text_of({view(1, "a\"b\\c\nd", "us\xc3\xa9r", 1), view(2, "x\xff\xc3(y", "u", 1)});
  EXPECT_TRUE(has_line(text, R"(memproxy_heap_live_bytes{pid="1",program="a\"b\\c\nd",user="us)" "\xc3\xa9" R"(r"} 1)"))
      << text;
  EXPECT_TRUE(has_line(text, "memproxy_heap_live_bytes{pid=\"2\",program=\"x\xef\xbf\xbd\xef\xbf\xbd(y\",user=\"u\"} 1"))
      << text;
}

TEST(HeapMetrics, LabelValuesAreBounded) {
  std::string long_name(1000, 'n');
  EXPECT_EQ(label_value(long_name).size(), 256u);
  // A multi-byte character is never cut in half.
  std::string wide;
  for (int i = 0; i < 200; ++i) wide += "\xc3\xa9";
  EXPECT_EQ(label_value(wide).size(), 256u);
  EXPECT_EQ(label_value("\xed\xa0\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");  // a surrogate is not UTF-8
}

TEST(PrometheusListen, PortAloneBindsToLoopback) {
  std::string why;
  EXPECT_EQ(prometheus_bind_address("9100", &why), "127.0.0.1:9100");
  EXPECT_EQ(prometheus_bind_address("0.0.0.0:9100", &why), "0.0.0.0:9100");
  EXPECT_EQ(prometheus_bind_address("[::1]:9100", &why), "[::1]:9100");
  EXPECT_EQ(why, "");
  for (const char* bad : {"", "http", ":9100", "127.0.0.1:", "70000", "127.0.0.1:9x"}) {
    why.clear();
    EXPECT_EQ(prometheus_bind_address(bad, &why), "") << bad;
    EXPECT_NE(why, "") << bad;
  }
}

TEST(PrometheusExporter, ServesTheLastUpdateAndDropsEndedProcesses) {
  PrometheusExporter exporter;
  ASSERT_EQ(exporter.start("127.0.0.1:0"), "");
  ASSERT_GT(exporter.port(), 0);
  exporter.update({view(100, "server", "root", 5), view(200, "worker", "root", 6)});
  std::string both = scrape(exporter.port());
  EXPECT_TRUE(has_line(both, R"(memproxy_heap_live_bytes{pid="200",program="worker",user="root"} 6)")) << both;
  exporter.update({view(100, "server", "root", 7)});
  std::string one = scrape(exporter.port());
  EXPECT_TRUE(has_line(one, R"(memproxy_heap_live_bytes{pid="100",program="server",user="root"} 7)")) << one;
  EXPECT_EQ(one.find("pid=\"200\""), std::string::npos) << one;
  EXPECT_TRUE(has_line(one, "memproxy_watched_processes 1"));
}

// The port serves /metrics and nothing else: every other path is 404 and
// names no process.
TEST(PrometheusExporter, AnyOtherPathIsNotFound) {
  PrometheusExporter exporter;
  ASSERT_EQ(exporter.start("127.0.0.1:0"), "");
  exporter.update({view(100, "server", "root", 5)});
  const std::string metrics = get(exporter.port(), "/metrics");
  EXPECT_EQ(status_of(metrics), 200) << metrics;
  EXPECT_NE(metrics.find("memproxy_heap_live_bytes"), std::string::npos) << metrics;
  for (const char* other : {"/", "/metrics/", "/metricsx", "/Metrics", "/favicon.ico", "/debug/vars"}) {
    const std::string response = get(exporter.port(), other);
    EXPECT_EQ(status_of(response), 404) << other << ": " << response;
    EXPECT_EQ(response.find("pid=\"100\""), std::string::npos) << other << ": " << response;
  }
}

TEST(PrometheusExporter, ABusyPortIsAnError) {
  PrometheusExporter first;
  ASSERT_EQ(first.start("127.0.0.1:0"), "");
  PrometheusExporter second;
  std::string address = "127.0.0.1:" + std::to_string(first.port());
  EXPECT_NE(second.start(address).find("cannot serve Prometheus metrics on " + address), std::string::npos);
}

TEST(TextfileExporter, EachUpdateReplacesTheWholeFile) {
  memproxy::testing::TempDir dir;
  const std::string path = dir / "memproxy.prom";
  TextfileExporter exporter(path);
  exporter.update({view(100, "server", "root", 5), view(200, "worker", "root", 6)});
  ASSERT_EQ(exporter.flush(), "");
  EXPECT_EQ(read_file(path), text_of({view(100, "server", "root", 5), view(200, "worker", "root", 6)}));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  // By default readable by root's group only: it names every user's processes.
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(st.st_gid, 0u);
  exporter.update({view(100, "server", "root", 8)});
  ASSERT_EQ(exporter.flush(), "");
  std::string one = read_file(path);
  EXPECT_EQ(one.find("pid=\"200\""), std::string::npos) << one;
  EXPECT_TRUE(has_line(one, R"(memproxy_heap_live_bytes{pid="100",program="server",user="root"} 8)"));
  EXPECT_FALSE(std::filesystem::exists(path + ".new"));
}

TEST(TextfileExporter, TheFileIsRemovedWhenTheExporterStops) {
  memproxy::testing::TempDir dir;
  const std::string path = dir / "memproxy.prom";
  {
    TextfileExporter exporter(path);
    exporter.update({view(100, "server", "root", 5)});
    ASSERT_EQ(exporter.flush(), "");
    ASSERT_TRUE(std::filesystem::exists(path));
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(TextfileExporter, AnUnwritablePathIsReportedNotFatal) {
  memproxy::testing::TempDir dir;
  TextfileExporter exporter(dir / "missing/memproxy.prom");
  exporter.update({view(1, "p", "u", 1)});
  EXPECT_NE(exporter.flush().find("missing/memproxy.prom"), std::string::npos);
}

class CountingState : public WatchState {
 public:
  std::vector<ProcessView> views() const override {
    ++calls;
    return {view(1, "p", "u", 1)};
  }
  void history(const ProcessId&, int64_t, int64_t, ReadingsDone done) const override { done(std::vector<Reading>{}); }
  void known_processes(ProcessesDone done) const override { done(std::vector<WatchedProcess>{}); }
  mutable int calls = 0;
};

TEST(Exporters, ExportAtMostAboutOnceASecond) {
  memproxy::testing::TempDir dir;
  CountingState state;
  Exporters exporters(state);
  ASSERT_EQ(exporters.start({"", dir / "m.prom"}), "");
  auto t = std::chrono::steady_clock::time_point{} + 1h;
  exporters.on_tick(t);          // the first tick exports
  exporters.on_tick(t + 100ms);  // a fast --sample-interval does not
  exporters.on_tick(t + 500ms);
  EXPECT_EQ(state.calls, 1);
  exporters.on_tick(t + 995ms);  // a one-second tick a little early still does
  EXPECT_EQ(state.calls, 2);
  exporters.on_tick(t + 1995ms);
  EXPECT_EQ(state.calls, 3);
}

TEST(Exporters, NoneConfiguredNeverReadsTheState) {
  CountingState state;
  Exporters exporters(state);
  ASSERT_EQ(exporters.start({}), "");
  exporters.on_tick(std::chrono::steady_clock::now());
  EXPECT_EQ(state.calls, 0);
}

}  // namespace
