// The daemon's side of symbolizing: return addresses of a monitored
// process turned into Locations by a sandboxed worker
// (memproxyd-symbolize, sandbox.hpp), never by parsing anything here.
//
// What the daemon does itself: read /proc/PID/maps (bounded), open the
// mapped objects through /proc/PID/map_files as O_PATH descriptors (they
// pin the exact mapped file, deleted or replaced or not, and grant no
// read access), and hand those to a worker running as the process's user.
// The worker reopens them readable with that user's credentials, so it
// reads only what the user could, and an exploit of libdw inside it gains
// nothing the user did not have. The objects, offsets and addresses of
// the Locations are the daemon's own; the worker's reply (build-ids,
// frames, notes) is bounded and validated (protocol.hpp).
//
// Root's processes are symbolized by the unprivileged identity in the
// options (nobody): a worker running as uid 0 could write every root-owned
// file, which is the attack the sandbox exists to prevent. What only root
// may read is then reported as object+offset.
//
// Workers are kept, one per (uid, gid) of the process, so that the objects
// they parsed serve the next request for any process of that user (the
// objects of one user never serve another's: a worker's object cache trusts
// a build-id and size, which a user can forge). Root's processes have a
// worker of their own too, though it runs as the unprivileged identity,
// never the one that identity's own processes use. A worker is killed, and the call
// returns an error, when a reply does not arrive before the call's
// timeout or is malformed; idle workers are closed after idle_timeout;
// at most max_workers run, the least recently used closed first.
//
// Blocking, with a deadline: a call waits for at most its timeout (plus
// the reaping of a killed worker). The daemon's single-threaded event
// loop must not wait that long, so callers run the client on a thread of
// their own and post results back to the loop: the work includes reading
// /proc and fork()ing, which an event loop cannot make asynchronous
// anyway, and keeping the worker pool on one thread keeps it simple.
// Not thread-safe: one client per thread. Never throws.
#ifndef MEMPROXYD_SYMBOLS_SYMBOLIZER_CLIENT_HPP
#define MEMPROXYD_SYMBOLS_SYMBOLIZER_CLIENT_HPP

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "symbols/debuginfod_settings.hpp"
#include "symbols/location.hpp"
#include "symbols/sandbox.hpp"
#include "memproxy/unique_fd.hpp"
#include "symbols/worker_path.hpp"

namespace memproxy::symbols {

struct ClientOptions {
  // The worker's command line; empty: the worker built or installed with
  // the running daemon, looked for at each start (worker_path.hpp). Tests
  // put the build tree's worker, or a stand-in, here.
  std::vector<std::string> worker_command;
  std::string debuginfo_path;  // libdwfl's debug search path for the worker; "": its default
  size_t worker_max_objects = 64;
  size_t worker_max_addresses = 65536;
  SandboxLimits limits;
  // Off by default. On: each worker fetches what no local file provides,
  // into the cache of the symbolized processes' user (created at the
  // worker's start; when it cannot be, the worker starts without
  // debuginfod), with RLIMIT_FSIZE at max_file_bytes.
  DebuginfodSettings debuginfod;
  SandboxIdentity unprivileged{65534, 65534};  // for uid 0's processes
  size_t max_workers = 8;
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};
  // Open objects through /proc/PID/map_files (needs root). Off: the worker
  // opens the paths from maps, verified by device and inode.
  bool use_map_files = true;
};

struct SymbolizeResult {
  std::vector<Location> locations;  // one per address, in order, when ok()
  std::string error;
  bool ok() const { return error.empty(); }
};

class SymbolizerClient {
 public:
  explicit SymbolizerClient(ClientOptions options = {});
  ~SymbolizerClient();  // kills and reaps the workers
  SymbolizerClient(const SymbolizerClient&) = delete;
  SymbolizerClient& operator=(const SymbolizerClient&) = delete;

  // `return_addresses` are return addresses of process `pid`, whose user
  // is `uid`/`gid` (the kernel's word: SO_PEERCRED or /proc), looked up at
  // address - 1 (Symbolizer::symbolize_return_addresses). Any number of
  // addresses, sent in batches; all within `timeout`.
  SymbolizeResult symbolize(pid_t pid, uid_t uid, gid_t gid, std::span<const uint64_t> return_addresses,
                            std::chrono::milliseconds timeout) noexcept;

  // Closes the workers idle for longer than idle_timeout (symbolize does
  // too); for a caller's periodic timer.
  void close_idle() noexcept;
  // The running workers' pids (diagnostics, tests).
  std::vector<pid_t> worker_pids() const;

 private:
  struct Worker {
    pid_t pid = -1;
    UniqueFd socket;
    std::string path;  // the worker's executable, for error messages
    std::chrono::steady_clock::time_point last_used;
  };
  using Key = std::pair<uid_t, gid_t>;

  SymbolizeResult run(pid_t pid, uid_t uid, gid_t gid, std::span<const uint64_t> return_addresses,
                      std::chrono::steady_clock::time_point deadline);
  Worker* worker_for(const Key& key, std::string* why);
  void stop(Key key);

  ClientOptions options_;
  std::map<Key, Worker> workers_;
};

}  // namespace memproxy::symbols

#endif
