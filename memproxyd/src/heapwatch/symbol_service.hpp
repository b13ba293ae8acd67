// Symbolizing for the event loop: the sandboxed symbolizer client
// (symbols/symbolizer_client.hpp) runs on a thread of its own, because a
// call may wait for a worker up to its timeout; answers come back to the
// loop as posted callbacks, and a cache of what each running process's
// return addresses meant is kept on the loop, so the call sites of a
// `leaks` view or the callers of a trace are each symbolized once.
//
// Invariants:
// - The client is touched only on the service's thread; the cache only on
//   the loop's. Callbacks run on the loop, never after the service is
//   destroyed (its destructor waits for the thread and drops what is left).
// - Bounded: at most max_cached locations in all (a process's entries go
//   when it ends, and the whole cache when it is full), and at most
//   max_pending requests waiting for the thread (more are answered at once
//   with an error).
#ifndef MEMPROXYD_HEAPWATCH_SYMBOL_SERVICE_HPP
#define MEMPROXYD_HEAPWATCH_SYMBOL_SERVICE_HPP

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "heapwatch/process_handle.hpp"
#include "heapwatch/sample.hpp"
#include "symbols/location.hpp"
#include "symbols/symbolizer_client.hpp"

namespace memproxy::heapwatch {

struct SymbolServiceOptions {
  symbols::ClientOptions client;
  size_t max_cached = 200'000;
  size_t max_pending = 64;
  std::chrono::milliseconds timeout{std::chrono::seconds(20)};
};

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
  void finish(const std::shared_ptr<Pending>& pending, symbols::SymbolizeResult result);

  boost::asio::io_context& loop_;
  SymbolServiceOptions options_;
  std::map<ProcessId, std::map<uint64_t, symbols::Location>> cache_;
  size_t cached_ = 0;
  size_t pending_ = 0;
  std::shared_ptr<char> alive_ = std::make_shared<char>();
  std::unique_ptr<symbols::SymbolizerClient> client_;  // the thread's
  boost::asio::thread_pool thread_{1};
};

}  // namespace memproxy::heapwatch

#endif
