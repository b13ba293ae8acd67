#include "symbols/symbolizer_client.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <thread>

#include "symbols/mappings.hpp"
#include "symbols/message_io.hpp"
#include "symbols/object_files.hpp"
#include "symbols/protocol.hpp"
#include "symbols/worker_path.hpp"

namespace memproxy::symbols {
namespace {

using Clock = std::chrono::steady_clock;

// A killed worker is normally gone at once; one stuck in the kernel
// (uninterruptible I/O) is not waited for longer than this.
constexpr auto kReapWait = std::chrono::milliseconds(200);

void kill_and_reap(pid_t pid) {
  if (pid <= 0) return;
  ::kill(pid, SIGKILL);
  const auto until = Clock::now() + kReapWait;
  for (;;) {
    pid_t done = ::waitpid(pid, nullptr, WNOHANG);
    if (done == pid || (done < 0 && errno != EINTR)) return;
    if (Clock::now() >= until) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace

SymbolizerClient::SymbolizerClient(ClientOptions options) : options_(std::move(options)) {
  if (options_.max_workers == 0) options_.max_workers = 1;
}

SymbolizerClient::~SymbolizerClient() {
  for (auto& [key, worker] : workers_) kill_and_reap(worker.pid);
}

std::vector<pid_t> SymbolizerClient::worker_pids() const {
  std::vector<pid_t> pids;
  for (const auto& [key, worker] : workers_) pids.push_back(worker.pid);
  return pids;
}

void SymbolizerClient::stop(Key key) {
  auto it = workers_.find(key);
  if (it == workers_.end()) return;
  it->second.socket.reset();
  kill_and_reap(it->second.pid);
  workers_.erase(it);
}

void SymbolizerClient::close_idle() noexcept {
  const auto now = Clock::now();
  std::vector<Key> idle;
  for (const auto& [key, worker] : workers_) {
    if (now - worker.last_used > options_.idle_timeout) idle.push_back(key);
  }
  for (const Key& key : idle) stop(key);
}

SymbolizerClient::Worker* SymbolizerClient::worker_for(const Key& key, std::string* why) {
  if (auto it = workers_.find(key); it != workers_.end()) return &it->second;
  while (workers_.size() >= options_.max_workers) {
    auto oldest = workers_.begin();
    for (auto it = workers_.begin(); it != workers_.end(); ++it) {
      if (it->second.last_used < oldest->second.last_used) oldest = it;
    }
    stop(oldest->first);
  }
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
    *why = std::string("socketpair: ") + std::strerror(errno);
    return nullptr;
  }
  UniqueFd mine(pair[0]), theirs(pair[1]);
  // The default worker is looked for at each start, so one installed
  // while the daemon runs is found without a restart.
  std::vector<std::string> argv = options_.worker_command;
  if (argv.empty()) {
    WorkerChoice choice = choose_worker("");
    if (!choice.problem.empty()) {
      *why = choice.problem;
      return nullptr;
    }
    argv = {choice.path};
  }
  const std::string path = argv[0];
  argv.push_back("--max-objects=" + std::to_string(options_.worker_max_objects));
  argv.push_back("--max-addresses=" + std::to_string(options_.worker_max_addresses));
  if (!options_.debuginfo_path.empty()) argv.push_back("--debuginfo-path=" + options_.debuginfo_path);
  std::string spawn_why;
  // Root's processes get a worker of their own, running as the
  // unprivileged identity but never shared with that identity's own
  // processes (the key is the process's user, not the worker's).
  const SandboxIdentity identity = key.first == 0 ? options_.unprivileged : SandboxIdentity{key.first, key.second};
  SandboxLimits limits = options_.limits;
  std::vector<std::string> environment;
  if (options_.debuginfod.enabled()) {
    std::string ignored;  // the service checked the root when it started; a user's directory failing leaves it local
    const std::string cache = prepare_user_cache(options_.debuginfod.cache_root, key.first, identity, &ignored);
    if (!cache.empty()) {
      environment = debuginfod_environment(options_.debuginfod, cache);
      limits.file_size_bytes = options_.debuginfod.max_file_bytes;
    }
  }
  pid_t pid = spawn_sandboxed(argv, theirs.get(), identity, limits, &spawn_why, environment);
  if (pid < 0) {
    *why = "cannot start the symbolizer worker " + path + ": " + spawn_why + "; " + worker_option_hint();
    return nullptr;
  }
  Worker& worker = workers_[key];
  worker.pid = pid;
  worker.path = path;
  worker.socket = std::move(mine);
  worker.last_used = Clock::now();
  return &worker;
}

SymbolizeResult SymbolizerClient::symbolize(pid_t pid, uid_t uid, gid_t gid,
                                            std::span<const uint64_t> return_addresses,
                                            std::chrono::milliseconds timeout) noexcept {
  try {
    close_idle();
    return run(pid, uid, gid, return_addresses, Clock::now() + timeout);
  } catch (const std::exception& e) {
    return SymbolizeResult{{}, std::string("symbolizing failed: ") + e.what()};
  } catch (...) {
    return SymbolizeResult{{}, "symbolizing failed"};
  }
}

SymbolizeResult SymbolizerClient::run(pid_t pid, uid_t uid, gid_t gid, std::span<const uint64_t> return_addresses,
                                      Deadline deadline) {
  SymbolizeResult result;
  std::optional<std::vector<Mapping>> mappings = read_maps(pid, &result.error);
  if (!mappings) return result;

  // What the daemon knows itself: the mapping of every address.
  std::vector<const Mapping*> mapping_of(return_addresses.size());
  std::vector<size_t> to_ask;  // indices of mapped addresses
  result.locations.resize(return_addresses.size());
  for (size_t i = 0; i < return_addresses.size(); ++i) {
    Location& location = result.locations[i];
    location.address = return_addresses[i];
    const Mapping* mapping = find_call_mapping(*mappings, location.address);
    if (mapping == nullptr) {
      location.note = "not in an executable file mapping";
      continue;
    }
    mapping_of[i] = mapping;
    location.mapped = true;
    location.object = mapping->path;
    location.deleted = mapping->deleted;
    location.offset = location.address - mapping->start + mapping->offset;
    to_ask.push_back(i);
  }

  const Key key{uid, gid};
  for (size_t begin = 0; begin < to_ask.size(); begin += protocol::kMaxAddressesPerRequest) {
    const size_t end = std::min(to_ask.size(), begin + protocol::kMaxAddressesPerRequest);
    protocol::Request request;
    request.pid = pid;
    std::map<const Mapping*, int> index_of;
    std::vector<UniqueFd> descriptors;
    for (size_t k = begin; k < end; ++k) {
      const size_t i = to_ask[k];
      request.addresses.push_back(return_addresses[i]);
      auto [it, first] = index_of.try_emplace(mapping_of[i], -1);
      if (!first) continue;
      protocol::WorkerMapping entry{*mapping_of[i], -1};
      if (options_.use_map_files && descriptors.size() < protocol::kMaxDescriptors) {
        std::string ignored;  // without it the worker opens the path, and says why that failed
        UniqueFd fd = open_map_files(pid, *mapping_of[i], O_PATH, &ignored);
        if (fd) {
          entry.fd = static_cast<int>(descriptors.size());
          descriptors.push_back(std::move(fd));
        }
      }
      it->second = entry.fd;
      request.mappings.push_back(std::move(entry));
    }
    const std::string body = protocol::encode_request(request);
    if (body.size() > protocol::kMaxRequestBytes) {
      result.error = "request too large";
      return result;
    }
    const std::string message = protocol::header(body.size()) + body;
    std::vector<int> fds;
    for (const UniqueFd& fd : descriptors) fds.push_back(fd.get());

    std::optional<protocol::Reply> reply;
    for (int attempt = 0; !reply; ++attempt) {
      const bool reused = workers_.count(key) != 0;
      Worker* worker = worker_for(key, &result.error);
      if (worker == nullptr) return result;
      worker->last_used = Clock::now();
      const std::string worker_path = worker->path;
      std::string why, reply_header, reply_body;
      IoStatus status = send_message(worker->socket.get(), message, fds, deadline, &why);
      if (status == IoStatus::ok) status = receive_exact(worker->socket.get(), protocol::kHeaderBytes, &reply_header,
                                                         deadline, &why);
      if (status == IoStatus::ok) {
        std::optional<uint32_t> length = protocol::parse_header(reply_header, protocol::kMaxReplyBytes, &why);
        if (!length) status = IoStatus::failed;
        else status = receive_exact(worker->socket.get(), *length, &reply_body, deadline, &why);
      }
      if (status == IoStatus::ok) {
        reply = protocol::decode_reply(reply_body, request.addresses.size(), &why);
        if (!reply) status = IoStatus::failed;
      }
      if (status == IoStatus::ok) {
        worker->last_used = Clock::now();
        if (reply->retire) stop(key);
        break;
      }
      stop(key);
      // A kept worker may have ended between requests (it retired, or was
      // killed by its limits): one fresh start, then the error stands.
      if (status == IoStatus::closed && reused && attempt == 0) continue;
      result.error = status == IoStatus::timed_out
                         ? "the symbolizer worker " + worker_path + " timed out (killed)"
                         : "the symbolizer worker " + worker_path + " failed: " + why;
      result.locations.clear();
      return result;
    }
    for (size_t k = begin; k < end; ++k) {
      Location& location = result.locations[to_ask[k]];
      protocol::Answer& answer = reply->answers[k - begin];
      location.build_id = std::move(answer.build_id);
      location.frames = std::move(answer.frames);
      location.note = std::move(answer.note);
    }
  }
  return result;
}

}  // namespace memproxy::symbols
