// Symbolizing for the event loop: the sandboxed symbolizer client
// (symbols/symbolizer_client.hpp) runs on a small pool of threads, because
// a call may wait for a worker up to its timeout; answers come back to the
// loop as posted callbacks, and a cache of what each running process's
// return addresses meant is kept on the loop, so the call sites of a
// `leaks` view or the callers of a trace are each symbolized once.
//
// Fair between users: a worker runs as the watched process's user, so that
// user may stop it (SIGSTOP) or feed it objects that take long to parse;
// what they delay must be only their own requests. Root's processes are
// named by a worker running as an identity of its own (root_worker_user),
// which no other user is: none may signal or ptrace it. Requests therefore wait
// in a queue per uid (the process's), uids take turns for the threads
// (round-robin), and each uid has a client, and so workers, of its own.
//
// Invariants:
// - The client of a uid is touched by at most one thread at a time: a uid
//   has at most one request in flight. So one uid's stuck worker holds one
//   thread for at most `timeout`, and another uid's request waits only for
//   a free thread, never for that uid's queue to drain.
// - A uid's client (its workers, their object caches) serves only that
//   uid's processes: what one user's objects say never names another's
//   frames.
// - The cache is touched only on the loop. Callbacks run on the loop,
//   never after the service is destroyed (its destructor waits for the
//   threads and drops what is left).
// - Bounded: at most max_cached locations in all (a process's entries go
//   when it ends, and the whole cache when it is full); at most
//   max_pending_per_user requests waiting per uid and max_pending in all
//   (more are answered at once with an error); at most max_users clients
//   kept, idle ones closed first.
#ifndef MEMPROXYD_HEAPWATCH_SYMBOL_SERVICE_HPP
#define MEMPROXYD_HEAPWATCH_SYMBOL_SERVICE_HPP

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "heapwatch/intake/process_handle.hpp"
#include "heapwatch/intake/watched_process.hpp"
#include "symbols/location.hpp"
#include "symbols/symbolizer_client.hpp"

namespace memproxy::heapwatch {

struct SymbolServiceOptions {
  // Each uid's client; max_workers is per uid. Its debuginfod, when off, is
  // taken from the daemon's environment (DEBUGINFOD_URLS set: on), and is
  // turned off with a warning when its cache root is unfit.
  symbols::ClientOptions client;
  // The user root's workers run as, looked up at construction; "" keeps
  // client.unprivileged. Missing, or root: nobody, with a warning.
  std::string root_worker_user;
  size_t max_cached = 200'000;
  size_t max_pending = 256;
  size_t max_pending_per_user = 16;
  size_t threads = 4;     // uids symbolized at once
  size_t max_users = 32;  // clients kept between requests
  std::chrono::milliseconds timeout{std::chrono::seconds(5)};  // per request
};

// The identity root's workers run as: `user`'s, or nobody's (with
// `*warning` saying why) when there is no such user or it is root. Every
// other user's processes have workers of that user, so an identity no one
// else runs as is what keeps root's workers out of their reach.
symbols::SandboxIdentity root_worker_identity(const std::string& user, std::string* warning);

class SymbolService {
 public:
  // One location per address asked, in order; `error` says why there are
  // none (then `locations` is empty).
  using Done = std::function<void(std::vector<symbols::Location> locations, std::string error)>;

  SymbolService(boost::asio::io_context& loop, SymbolServiceOptions options);
  ~SymbolService();
  SymbolService(const SymbolService&) = delete;
  SymbolService& operator=(const SymbolService&) = delete;

  // `return_addresses` of the running `process`, named by `handle`; `done`
  // runs on the loop. The worker takes the handle's uid and gid, and its
  // answer is given only if the handle's check() passes before and after
  // it read the process: a process that ended, or became set-id or not
  // dumpable meanwhile, gets an error instead.
  void symbolize(Handle handle, const WatchedProcess& process, std::vector<uint64_t> return_addresses, Done done);
  // The process ended: what its addresses meant is forgotten.
  void forget(const ProcessId& id);

  size_t cached() const { return cached_; }

 private:
  struct Pending;
  struct User {
    std::deque<std::shared_ptr<Pending>> queue;
    std::unique_ptr<symbols::SymbolizerClient> client;
    bool in_flight = false;
    std::chrono::steady_clock::time_point last_used;
  };

  void dispatch();
  void start(uid_t uid, User& user);
  void close_users();
  void finish(const std::shared_ptr<Pending>& pending, symbols::SymbolizeResult result);

  boost::asio::io_context& loop_;
  SymbolServiceOptions options_;
  std::map<ProcessId, std::map<uint64_t, symbols::Location>> cache_;
  size_t cached_ = 0;
  size_t pending_ = 0;  // queued or in flight, all uids
  size_t running_ = 0;  // in flight
  std::map<uid_t, User> users_;
  std::deque<uid_t> turns_;  // uids with a queued request and none in flight, in turn
  std::shared_ptr<char> alive_ = std::make_shared<char>();
  boost::asio::thread_pool threads_;
};

}  // namespace memproxy::heapwatch

#endif
