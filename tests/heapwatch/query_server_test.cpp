// The query socket with a fake watch state: what each request answers,
// who sees what (a client run as `nobody` sees only nobody's processes),
// and the bounds: malformed and oversized requests, a silent client, more
// clients than the limit, answers larger than the queue allows.
#include <pwd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include <gtest/gtest.h>

#include "capability.hpp"
#include "heapwatch/serve/query_answers.hpp"
#include "heapwatch/serve/query_server.hpp"
#include "memproxy/heap_query.hpp"
#include "process.hpp"
#include "staged.hpp"
#include "temp_dir.hpp"

namespace {

using memproxy::heapwatch::ProcessView;
using memproxy::heapwatch::QueryLimits;
using memproxy::heapwatch::QueryServer;
using memproxy::heapwatch::Reading;
using memproxy::heapwatch::WatchedProcess;
using nlohmann::json;
namespace hq = memproxy::heap_query;
using namespace std::chrono_literals;

// Polls `condition` for up to 20 s.
bool wait_for(const std::function<bool()>& condition) {
  for (int i = 0; i < 4000; ++i) {
    if (condition()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return condition();
}

uid_t nobody_uid() {
  const passwd* p = ::getpwnam("nobody");
  return p != nullptr ? p->pw_uid : 65534;
}

WatchedProcess process(pid_t pid, uid_t uid, const std::string& program, int64_t started) {
  WatchedProcess p;
  p.set_id({pid, static_cast<uint64_t>(pid) * 100});
  p.uid = uid;
  p.user = uid == 0 ? "root" : std::to_string(uid);
  p.program = program;
  p.exe = "/usr/bin/" + program;
  p.started_unix_ns = started;
  return p;
}

// A watch state the test fills: root's server (pid 100, growing), nobody's
// worker (pid 200, growing) and nobody's idle (pid 300, stable), each with
// samples at 1..10 s.
class FakeState : public memproxy::heapwatch::WatchState {
 public:
  FakeState() {
    add(process(100, 0, "server", 1000), "growing");
    add(process(200, nobody_uid(), "worker", 2000), "growing");
    add(process(300, nobody_uid(), "idle", 3000), "stable");
  }

  void add(const WatchedProcess& p, const std::string& trend, size_t samples = 10) {
    ProcessView v;
    v.process = p;
    v.verdict.trend = trend;
    v.verdict.slope_bytes_per_hour = trend == "growing" ? 3600.0 * 1024 : 0;
    std::vector<Reading>& series = samples_[id_of(p)];
    for (size_t i = 1; i <= samples; ++i) {
      Reading s;
      s.unix_ns = static_cast<int64_t>(i) * 1'000'000'000;
      s.live_bytes = 1000 * i;
      series.push_back(s);
    }
    v.latest = series.back();
    views_.push_back(v);
    known_.insert(known_.begin(), p);
  }

  void set_first_verdict(pid_t pid, int64_t unix_ns) {
    for (ProcessView& v : views_) {
      if (v.process.pid == pid) v.verdict.first_verdict_unix_ns = unix_ns;
    }
  }

  std::vector<ProcessView> views() const override { return views_; }
  void history(const memproxy::heapwatch::ProcessId& id, int64_t since, int64_t until,
               ReadingsDone done) const override {
    std::vector<Reading> out;
    auto it = samples_.find(id);
    if (it != samples_.end()) {
      for (const Reading& s : it->second) {
        if (s.unix_ns >= since && s.unix_ns <= until) out.push_back(s);
      }
    }
    if (!history_failure.empty()) {
      answer([done, why = history_failure] { done(memproxy::heapwatch::Status::failure(why)); });
    } else {
      answer([done, out] { done(out); });
    }
  }
  void known_processes(ProcessesDone done) const override {
    answer([done, known = known_] { done(known); });
  }

  // While held, the answers that need the store wait until release() (on
  // the loop's thread), as the daemon's wait for its history keeper.
  void hold() { held_ = true; }
  size_t waiting() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return waiting_.size();
  }
  void release() {
    std::vector<std::function<void()>> now;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      held_ = false;
      now.swap(waiting_);
    }
    for (auto& f : now) f();
  }
  std::string history_failure;

 private:
  void answer(std::function<void()> f) const {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (held_) {
        waiting_.push_back(std::move(f));
        return;
      }
    }
    f();
  }

  std::vector<ProcessView> views_;
  std::map<memproxy::heapwatch::ProcessId, std::vector<Reading>> samples_;
  std::vector<WatchedProcess> known_;
  mutable std::mutex mutex_;
  bool held_ = false;
  mutable std::vector<std::function<void()>> waiting_;
};

// What `line` gets from `state` answering at once.
memproxy::heapwatch::Answer collect_now(const std::string& line, uid_t peer, const FakeState& state) {
  std::optional<memproxy::heapwatch::Answer> got;
  memproxy::heapwatch::collect(std::get<hq::Request>(hq::parse_request(line)), peer, state,
                               [&](memproxy::heapwatch::Answer a) { got = std::move(a); });
  if (!got) throw std::logic_error("no answer at once: " + line);
  return *got;
}

// A blocking client with bounded waits.
class Client {
 public:
  explicit Client(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    timeval patience{20, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof patience);
  }
  ~Client() { ::close(fd_); }
  bool connected() const { return connected_; }
  void send(const std::string& bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return;
      done += static_cast<size_t>(n);
    }
  }
  // The next line, or nullopt when the server closed (or 20 s passed).
  std::optional<std::string> line() {
    for (;;) {
      auto newline = pending_.find('\n');
      if (newline != std::string::npos) {
        std::string l = pending_.substr(0, newline);
        pending_.erase(0, newline + 1);
        return l;
      }
      char buffer[65536];
      ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) return std::nullopt;
      pending_.append(buffer, static_cast<size_t>(n));
    }
  }
  json ask(const std::string& request) {
    send(request + "\n");
    auto l = line();
    return l ? json::parse(*l) : json();
  }
  // True when the server closed the connection: EOF, or a reset when it
  // closed with our unread bytes still queued; false on data or timeout.
  bool closed_by_server() {
    char c;
    ssize_t n = ::recv(fd_, &c, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  std::string pending_;
};

class QueryServerTest : public ::testing::Test {
 protected:
  void start(QueryLimits limits = {}) {
    server_ = std::make_unique<QueryServer>(io_, state_, limits);
    ASSERT_EQ(server_->listen(socket_), "");
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    work_.reset();
    if (thread_.joinable()) {
      // The server is destroyed on the loop's thread, which then runs dry.
      boost::asio::post(io_, [this] { server_.reset(); });
      thread_.join();
    }
  }
  size_t clients() {
    std::promise<size_t> count;
    boost::asio::post(io_, [&] { count.set_value(server_->clients()); });
    return count.get_future().get();
  }

  memproxy::testing::TempDir dir_{0755};
  std::string socket_ = dir_ / "query.sock";
  FakeState state_;
  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{
      boost::asio::make_work_guard(io_)};
  std::unique_ptr<QueryServer> server_;
  std::thread thread_;
};

std::vector<pid_t> pids(const json& answer) {
  std::vector<pid_t> out;
  for (const hq::View& v : hq::views_from_answer(answer)) out.push_back(v.process.pid);
  std::sort(out.begin(), out.end());
  return out;
}

TEST_F(QueryServerTest, SocketIsOpenToEveryUser) {
  start();
  struct stat st {};
  ASSERT_EQ(::stat(socket_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0666u);
}

TEST_F(QueryServerTest, RootSeesEveryProcessAndLeaksAreTheGrowingOnes) {
  if (::getuid() != 0) GTEST_SKIP() << memproxy::testing::missing_root("see every user's processes");
  start();
  Client c(socket_);
  ASSERT_TRUE(c.connected());
  json top = c.ask(R"({"request":"top"})");
  EXPECT_EQ(pids(top), (std::vector<pid_t>{100, 200, 300})) << top.dump();
  json leaks = c.ask(R"({"request":"leaks"})");
  EXPECT_EQ(pids(leaks), (std::vector<pid_t>{100, 200})) << leaks.dump();
  for (const hq::View& v : hq::views_from_answer(leaks)) EXPECT_EQ(v.verdict.slope_bytes_per_hour, 3600.0 * 1024);
}

TEST_F(QueryServerTest, NobodySeesOnlyNobodysProcesses) {
  MEMPROXY_REQUIRE(memproxy::testing::missing_unprivileged_runner());
  memproxy::testing::StagedForOtherUser staged;
  MEMPROXY_REQUIRE(staged.missing());
  start();
  auto outcome = memproxy::testing::run(
      memproxy::testing::as_nobody({staged.program(MP_QUERY_CLIENT), socket_, R"({"request":"top"})",
                                    R"({"request":"leaks"})", R"({"request":"history","pid":100})",
                                    R"({"request":"history","program":"server"})", R"({"request":"history","pid":200})"}),
      {});
  ASSERT_TRUE(outcome.ok()) << outcome.describe();
  std::istringstream lines(outcome.out);
  std::string top, leaks, root_by_pid, root_by_name, own;
  std::getline(lines, top);
  std::getline(lines, leaks);
  std::getline(lines, root_by_pid);
  std::getline(lines, root_by_name);
  std::getline(lines, own);
  EXPECT_EQ(pids(json::parse(top)), (std::vector<pid_t>{200, 300})) << top;
  EXPECT_EQ(pids(json::parse(leaks)), (std::vector<pid_t>{200})) << leaks;
  // Another user's process is answered as if it did not exist.
  EXPECT_EQ(json::parse(root_by_pid), json::parse(hq::error_line("no watched process has pid 100")));
  EXPECT_EQ(json::parse(root_by_name), json::parse(hq::error_line("no watched process is called server")));
  hq::History h = json::parse(own).get<hq::History>();
  EXPECT_EQ(h.process.pid, 200);
  EXPECT_EQ(h.samples.size(), 10u);
}

TEST_F(QueryServerTest, HistoryByPidOrNewestProgramWithinTimes) {
  state_.add(process(400, ::getuid(), "twin", 5000), "stable", 3);
  state_.add(process(500, ::getuid(), "twin", 6000), "stable", 5);
  start();
  Client c(socket_);
  hq::History by_name = c.ask(R"({"request":"history","program":"twin"})").get<hq::History>();
  EXPECT_EQ(by_name.process.pid, 500);  // the newest of that name
  EXPECT_EQ(by_name.samples.size(), 5u);
  ASSERT_TRUE(by_name.verdict.has_value());
  EXPECT_EQ(by_name.verdict->trend, "stable");

  hq::History window =
      c.ask(R"({"request":"history","pid":400,"since_unix_ns":2000000000,"until_unix_ns":2000000000})")
          .get<hq::History>();
  ASSERT_EQ(window.samples.size(), 1u);
  EXPECT_EQ(window.samples[0].unix_ns, 2'000'000'000);
  EXPECT_FALSE(window.truncated);
}

TEST_F(QueryServerTest, HistoryKeepsTheNewestSamplesUpToTheLimit) {
  state_.add(process(600, ::getuid(), "long", 7000), "stable", hq::kMaxHistorySamples + 5);
  start();
  Client c(socket_);
  hq::History h = c.ask(R"({"request":"history","pid":600})").get<hq::History>();
  EXPECT_TRUE(h.truncated);
  ASSERT_EQ(h.samples.size(), hq::kMaxHistorySamples);
  EXPECT_EQ(h.samples.front().unix_ns, 6'000'000'000);
  EXPECT_EQ(h.samples.back().unix_ns, static_cast<int64_t>(hq::kMaxHistorySamples + 5) * 1'000'000'000);
}

TEST_F(QueryServerTest, MalformedRequestsAreAnsweredAndTheConnectionStaysUsable) {
  start();
  Client c(socket_);
  const std::map<std::string, std::string> cases{
      {"not json", "the request is not JSON"},
      {"[1,2]", "the request is not a JSON object"},
      {R"({"request":7})", "the request has no \"request\" string (top, leaks or history)"},
      {R"({"request":"kill"})", "unknown request \"kill\" (top, leaks or history)"},
      {R"({"request":"history"})", "history needs exactly one of \"pid\" and \"program\""},
      {R"({"request":"history","pid":1,"program":"x"})", "history needs exactly one of \"pid\" and \"program\""},
      {R"({"request":"history","pid":-3})", "\"pid\" must be a positive integer"},
      {R"({"request":"history","pid":99999999999})", "\"pid\" must be a positive integer"},
      {R"({"request":"history","program":""})", "\"program\" must be a non-empty string"},
      {R"({"request":"history","pid":1,"since_unix_ns":"soon"})",
       "\"since_unix_ns\" must be an integer (nanoseconds since the epoch)"},
      {R"({"request":"history","pid":1,"since_unix_ns":5,"until_unix_ns":4})",
       "\"since_unix_ns\" is after \"until_unix_ns\""},
  };
  for (const auto& [request, error] : cases) {
    EXPECT_EQ(c.ask(request), json({{"error", error}})) << request;
  }
  EXPECT_TRUE(c.ask(R"({"request":"top"})").contains("processes"));
}

TEST_F(QueryServerTest, PipelinedRequestsAreAnsweredInOrder) {
  start();
  Client c(socket_);
  c.send("{\"request\":\"leaks\"}\r\n{\"request\":\"history\",\"pid\":300}\n");
  auto first = c.line(), second = c.line();
  ASSERT_TRUE(first && second);
  EXPECT_TRUE(json::parse(*first).contains("processes"));
  EXPECT_TRUE(json::parse(*second).contains("samples"));
}

TEST_F(QueryServerTest, ARequestAtTheLimitIsServedOneByteLongerIsRefusedAndClosed) {
  start();
  const std::string request = R"({"request":"top"})";
  {
    Client c(socket_);
    std::string padded = request + std::string(hq::kMaxRequestBytes - 1 - request.size(), ' ') + "\n";
    ASSERT_EQ(padded.size(), hq::kMaxRequestBytes);
    c.send(padded);
    auto answer = c.line();
    ASSERT_TRUE(answer);
    EXPECT_TRUE(json::parse(*answer).contains("processes")) << *answer;
  }
  Client c(socket_);
  c.send(request + std::string(hq::kMaxRequestBytes - request.size(), ' ') + "\n");
  auto answer = c.line();
  ASSERT_TRUE(answer);
  EXPECT_EQ(json::parse(*answer), json({{"error", "request longer than 65536 bytes"}}));
  EXPECT_TRUE(c.closed_by_server());
}

TEST_F(QueryServerTest, ASilentClientIsClosedWhileOthersAreServed) {
  QueryLimits limits;
  limits.first_request_timeout = 300ms;
  start(limits);
  Client silent(socket_);
  ASSERT_TRUE(silent.connected());
  Client busy(socket_);
  EXPECT_TRUE(busy.ask(R"({"request":"top"})").contains("processes"));
  EXPECT_TRUE(silent.closed_by_server());
}

TEST_F(QueryServerTest, TheDefaultLimitsAreTheProtocols) {
  QueryLimits limits;
  EXPECT_EQ(limits.idle_timeout, std::chrono::milliseconds(10000));
  EXPECT_EQ(limits.max_clients, 64u);
  EXPECT_EQ(limits.max_request_bytes, 65536u);
}

TEST_F(QueryServerTest, ClientsBeyondTheLimitAreToldAndClosedUntilOneLeaves) {
  start();
  std::vector<std::unique_ptr<Client>> held;
  for (size_t i = 0; i < hq::kMaxClients; ++i) {
    held.push_back(std::make_unique<Client>(socket_));
    ASSERT_TRUE(held.back()->connected());
  }
  // Every held client is served at once.
  for (auto& c : held) c->send("{\"request\":\"top\"}\n");
  for (auto& c : held) {
    auto answer = c->line();
    ASSERT_TRUE(answer);
    EXPECT_TRUE(json::parse(*answer).contains("processes"));
  }
  ASSERT_EQ(clients(), hq::kMaxClients);
  {
    Client extra(socket_);
    auto answer = extra.line();
    ASSERT_TRUE(answer);
    EXPECT_EQ(json::parse(*answer),
              json({{"error", "the daemon refuses more query clients: all users hold 64, the limit; try again"}}));
    EXPECT_TRUE(extra.closed_by_server());
  }
  held.pop_back();
  // The server notices the close when it next reads that client.
  for (int i = 0; i < 2000 && clients() >= hq::kMaxClients; ++i) std::this_thread::sleep_for(5ms);
  Client next(socket_);
  EXPECT_TRUE(next.ask(R"({"request":"top"})").contains("processes"));
}

TEST_F(QueryServerTest, AnswersBeyondTheQueueBudgetAreRefusedAsBusy) {
  QueryLimits limits;
  limits.max_queued_bytes = 64;
  start(limits);
  Client c(socket_);
  EXPECT_EQ(c.ask(R"({"request":"top"})"),
            json({{"error", "the daemon is busy answering other clients; try again"}}));
}

TEST_F(QueryServerTest, AHistoryFromTheStoreDoesNotHoldUpOtherClients) {
  state_.add(process(800, ::getuid(), "mine", 9000), "stable");
  state_.hold();
  start();
  Client waiting(socket_);
  waiting.send("{\"request\":\"history\",\"program\":\"mine\"}\n");
  ASSERT_TRUE(wait_for([&] { return state_.waiting() == 1; }));
  // Answered while the history waits for its store.
  Client other(socket_);
  EXPECT_FALSE(pids(other.ask(R"({"request":"top"})")).empty());
  EXPECT_TRUE(other.ask(R"({"request":"leaks"})").contains("processes"));
  boost::asio::post(io_, [this] { state_.release(); });
  auto line = waiting.line();
  ASSERT_TRUE(line);
  EXPECT_EQ(json::parse(*line).get<hq::History>().process.pid, 800) << *line;
}

TEST_F(QueryServerTest, AClientGoneBeforeItsHistoryCameIsForgotten) {
  state_.add(process(800, ::getuid(), "mine", 9000), "stable");
  state_.hold();
  start();
  {
    Client leaving(socket_);
    leaving.send("{\"request\":\"history\",\"program\":\"mine\"}\n");
    ASSERT_TRUE(wait_for([&] { return state_.waiting() >= 1; }));
  }
  boost::asio::post(io_, [this] { state_.release(); });
  EXPECT_TRUE(wait_for([&] { return clients() == 0; }));
  Client next(socket_);
  EXPECT_TRUE(next.ask(R"({"request":"history","program":"mine"})").contains("samples"));
}

TEST_F(QueryServerTest, AHistoryTheStoreCannotGiveIsAnsweredWithWhy) {
  state_.add(process(800, ::getuid(), "mine", 9000), "stable");
  state_.history_failure = "the history did not answer within 5000 ms";
  start();
  Client c(socket_);
  EXPECT_EQ(c.ask(R"({"request":"history","pid":800})"),
            json({{"error", "cannot read the history of pid 800: the history did not answer within 5000 ms"}}));
  EXPECT_TRUE(c.ask(R"({"request":"top"})").contains("processes"));
}

TEST(QueryAnswers, TheLineBoundHoldsForViewsHistoriesAndErrors) {
  FakeState state;
  state.add(process(900, 0, std::string(255, '\xff'), 1), "growing", hq::kMaxHistorySamples);
  for (const char* line : {R"({"request":"top"})", R"({"request":"leaks"})", R"({"request":"history","pid":900})",
                           R"({"request":"history","program":"none"})"}) {
    const auto answer = collect_now(line, 0, state);
    EXPECT_LE(hq::answer_line(memproxy::heapwatch::to_json(answer)).size(), memproxy::heapwatch::line_bytes_bound(answer))
        << line;
  }
}

TEST_F(QueryServerTest, InvalidUtf8InProgramNamesStillGivesJson) {
  state_.add(process(700, ::getuid(), "bad\xff\xfename\"\n", 8000), "stable");
  start();
  Client c(socket_);
  hq::History h = c.ask(R"({"request":"history","pid":700})").get<hq::History>();
  EXPECT_EQ(h.process.program, "bad\xef\xbf\xbd\xef\xbf\xbdname\"\n");
}

TEST_F(QueryServerTest, AStaleSocketIsReplacedAnotherFileIsNot) {
  memproxy::testing::TempDir dir;
  std::string regular = dir.write("query.sock", "not a socket");
  QueryServer refusing(io_, state_);
  EXPECT_EQ(refusing.listen(regular), regular + " exists and is not a socket");
  start();  // listens where a previous server's socket was left: replaced
  QueryServer second(io_, state_);
  EXPECT_EQ(second.listen(socket_), "");
  Client c(socket_);
  EXPECT_TRUE(c.ask(R"({"request":"top"})").contains("processes"));
}

TEST(QueryProtocol, RequestLinesRoundTrip) {
  hq::Request r;
  r.name = hq::request::kHistory;
  r.program = "worker";
  r.since_unix_ns = 5;
  auto parsed = hq::parse_request(hq::request_line(r));
  ASSERT_TRUE(std::holds_alternative<hq::Request>(parsed));
  const hq::Request& back = std::get<hq::Request>(parsed);
  EXPECT_EQ(back.name, "history");
  EXPECT_EQ(back.program, std::optional<std::string>("worker"));
  EXPECT_EQ(back.since_unix_ns, 5);
  EXPECT_EQ(back.until_unix_ns, std::numeric_limits<int64_t>::max());
}

// Leaks answers what grows and, apart, what is not judged yet (soonest
// first verdict first, never-judged last); stable processes in neither.
TEST(QueryAnswers, LeaksSaysWhichProcessesAreNotJudgedYet) {
  FakeState state;
  state.add(process(400, 0, "young", 4000), "not enough data");
  state.add(process(500, 0, "younger", 5000), "not enough data");
  state.add(process(600, 0, "unjudgeable", 6000), "not enough data");
  state.set_first_verdict(400, 9'000'000'000);
  state.set_first_verdict(500, 8'000'000'000);
  const json answer = memproxy::heapwatch::to_json(collect_now(R"({"request":"leaks"})", 0, state));
  EXPECT_EQ(pids(answer), (std::vector<pid_t>{100, 200})) << answer.dump();
  std::optional<std::vector<hq::View>> not_judged = hq::not_judged_from_answer(json::parse(hq::answer_line(answer)));
  ASSERT_TRUE(not_judged) << answer.dump();
  std::vector<pid_t> waiting;
  for (const hq::View& v : *not_judged) waiting.push_back(v.process.pid);
  EXPECT_EQ(waiting, (std::vector<pid_t>{500, 400, 600})) << answer.dump();
  EXPECT_EQ((*not_judged)[0].verdict.first_verdict_unix_ns, 8'000'000'000);
}

// A daemon before the first-verdict fields and the not-judged list: its
// answers still read, as "not said".
TEST(QueryProtocol, AnswersWithoutTheFirstVerdictFieldsStillRead) {
  json view = hq::View{};
  view["verdict"].erase("first_verdict_unix_ns");
  view["verdict"].erase("first_verdict_in_s");
  const json old_answer = {{"processes", json::array({view})}};
  std::vector<hq::View> back = hq::views_from_answer(old_answer);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].verdict.first_verdict_unix_ns, 0);
  EXPECT_EQ(back[0].verdict.first_verdict_in_s, 0);
  EXPECT_FALSE(hq::not_judged_from_answer(old_answer));
}

TEST(QueryProtocol, ViewsRoundTripThroughJson) {
  hq::View v;
  v.process.pid = 42;
  v.process.user = "alice";
  v.latest.live_bytes = UINT64_MAX;
  v.verdict.trend = hq::trend::kGrowing;
  v.verdict.confidence = std::nan("");
  std::vector<hq::View> back = hq::views_from_answer(json::parse(hq::answer_line(hq::views_answer({v}))));
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].process.pid, 42);
  EXPECT_EQ(back[0].latest.live_bytes, UINT64_MAX);
  EXPECT_EQ(back[0].verdict.trend, "growing");
  EXPECT_EQ(back[0].verdict.confidence, 0.0);  // not finite: sent as 0
}

}  // namespace
