// `memproxyctl trace PID`: every allocator call of one watched process,
// printed as the daemon streams it, then the summary. Ctrl-C (or SIGTERM)
// ends the trace early: the connection's sending side is shut down, which
// tells the daemon to switch the ring off, and the rest still arrives.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <iostream>

#include "commands.hpp"
#include "exit_codes.hpp"
#include "human_units.hpp"
#include "query_client.hpp"
#include "trace_lines.hpp"

namespace memproxyctl {

namespace tq = memproxy::trace_query;

namespace {

volatile std::sig_atomic_t g_interrupted = 0;

extern "C" void on_interrupt(int) { g_interrupted = 1; }

// Catches Ctrl-C and SIGTERM without SA_RESTART, so a waiting poll() returns.
class Interrupts {
 public:
  Interrupts() {
    g_interrupted = 0;
    struct sigaction a {};
    a.sa_handler = on_interrupt;
    sigemptyset(&a.sa_mask);
    ::sigaction(SIGINT, &a, &saved_int_);
    ::sigaction(SIGTERM, &a, &saved_term_);
  }
  ~Interrupts() {
    ::sigaction(SIGINT, &saved_int_, nullptr);
    ::sigaction(SIGTERM, &saved_term_, nullptr);
  }
  Interrupts(const Interrupts&) = delete;
  Interrupts& operator=(const Interrupts&) = delete;

 private:
  struct sigaction saved_int_ {};
  struct sigaction saved_term_ {};
};

class Connection {
 public:
  explicit Connection(int fd) : fd_(fd) {}
  ~Connection() { ::close(fd_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

void print(const tq::Line& line, bool json, int64_t utc_offset_s) {
  if (const auto* started = std::get_if<tq::Started>(&line)) {
    if (json) {
      std::cout << nlohmann::json{{tq::field::kTracing, started->process},
                                  {tq::field::kSeconds, started->seconds},
                                  {tq::field::kMinSize, started->min_size}}
                       .dump()
                << '\n';
    } else {
      std::cout << started_text(*started) << '\n' << column_heads() << '\n';
    }
  } else if (const auto* batch = std::get_if<tq::Batch>(&line)) {
    auto callers = tq::callers_by_address(*batch);
    for (const tq::Record& r : batch->records) {
      auto caller = callers.find(r.caller);
      const tq::Caller* c = caller != callers.end() ? caller->second : nullptr;
      if (json) {
        std::cout << record_json(r, c).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
      } else {
        std::cout << record_text(r, c, utc_offset_s) << '\n';
      }
    }
  } else if (const auto* summary = std::get_if<tq::Summary>(&line)) {
    if (json) {
      std::cout << tq::summary_line(*summary) << '\n';
    } else {
      std::cout << summary_text(*summary) << '\n';
    }
  }
  std::cout.flush();  // as they come, also into a pipe
}

}  // namespace

int cmd_trace(const GlobalOptions& options, const TraceArgs& args) {
  tq::TraceRequest request;
  request.pid = args.pid;
  request.seconds = args.seconds;
  if (!args.filter.empty()) {
    auto parsed = parse_size_filter(args.filter);
    if (auto* why = std::get_if<std::string>(&parsed)) {
      std::cerr << "memproxyctl: " << *why << '\n';
      return kExitUsage;
    }
    request.min_size = std::get<uint64_t>(parsed);
  }
  const std::string socket_path = query_socket_path(options);
  Interrupts interrupts;
  return with_daemon(options, [&]() -> int {
    Connection connection(connect_query_socket(socket_path));
    const std::string line = tq::trace_request_line(request) + "\n";
    if (::send(connection.fd(), line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) {
      throw QueryFailed("sending to " + socket_path + ": " + std::strerror(errno));
    }
    const int64_t utc_offset_s = local_utc_offset_s(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
    // The daemon ends the trace after `seconds`; this is only in case it
    // never says so.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(request.seconds) + std::chrono::seconds(60);
    bool asked_to_end = false;
    std::string pending;
    char buffer[65536];
    for (;;) {
      if (g_interrupted && !asked_to_end) {
        asked_to_end = true;
        ::shutdown(connection.fd(), SHUT_WR);
        // The rest is not waited for long.
        deadline = std::min(deadline, std::chrono::steady_clock::now() + std::chrono::seconds(10));
        g_interrupted = 0;
      } else if (g_interrupted) {
        std::cerr << "memproxyctl: interrupted again; not waiting for the trace's summary\n";
        return kExitInput;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) throw QueryFailed("memproxyd did not end the trace in time");
      pollfd p{connection.fd(), POLLIN, 0};
      int ready = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) continue;
      ssize_t n = ::recv(connection.fd(), buffer, sizeof buffer, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw QueryFailed("reading from " + socket_path + ": " + std::strerror(errno));
      if (n == 0) throw QueryFailed("memproxyd closed " + socket_path + " before the trace's summary");
      pending.append(buffer, static_cast<size_t>(n));
      size_t start = 0;
      for (size_t newline; (newline = pending.find('\n', start)) != std::string::npos; start = newline + 1) {
        auto parsed = tq::parse_line(pending.substr(start, newline - start));
        if (auto* why = std::get_if<std::string>(&parsed)) throw QueryFailed("memproxyd sent " + *why);
        const tq::Line& l = std::get<tq::Line>(parsed);
        if (auto* refused = std::get_if<tq::Refused>(&l)) throw QueryFailed(refused->error);
        print(l, options.json, utc_offset_s);
        if (std::holds_alternative<tq::Summary>(l)) return kExitOk;
      }
      pending.erase(0, start);
      if (pending.size() > tq::kMaxLineBytes) {
        throw QueryFailed("memproxyd sent a line longer than " + std::to_string(tq::kMaxLineBytes) + " bytes");
      }
    }
  }, args.pid);
}

}  // namespace memproxyctl
