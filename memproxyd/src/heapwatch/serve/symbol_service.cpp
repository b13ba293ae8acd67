#include "heapwatch/serve/symbol_service.hpp"

#include <pwd.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>

namespace memproxy::heapwatch {

struct SymbolService::Pending {
  Handle handle;
  WatchedProcess process;
  std::vector<uint64_t> asked;    // every address, in the caller's order
  std::vector<uint64_t> missing;  // those not in the cache, unique
  Done done;
};

symbols::SandboxIdentity root_worker_identity(const std::string& user, std::string* warning) {
  constexpr symbols::SandboxIdentity kNobody{65534, 65534};
  char buffer[16384];
  passwd entry{};
  passwd* found = nullptr;
  if (::getpwnam_r(user.c_str(), &entry, buffer, sizeof buffer, &found) != 0 || found == nullptr) {
    *warning = "symbolizer: no user " + user +
               " (--symbolizer-user): root's call sites are named by a worker running as nobody, which every "
               "process of nobody may stop or trace; create the user (sysusers.d/memproxy.conf)";
    return kNobody;
  }
  if (found->pw_uid == 0) {
    *warning = "symbolizer: user " + user + " is root, which no worker runs as: root's call sites are named by a "
               "worker running as nobody";
    return kNobody;
  }
  return {found->pw_uid, found->pw_gid};
}

SymbolService::SymbolService(boost::asio::io_context& loop, SymbolServiceOptions options)
    : loop_(loop), options_(std::move(options)), threads_(std::max<size_t>(1, options_.threads)) {
  options_.max_users = std::max(options_.max_users, std::max<size_t>(1, options_.threads));
  if (!options_.root_worker_user.empty()) {
    std::string warning;
    options_.client.unprivileged = root_worker_identity(options_.root_worker_user, &warning);
    if (!warning.empty()) {
      spdlog::warn("{}", warning);
    } else {
      spdlog::info("symbolizer: root's call sites are named by a worker running as {} (uid {})",
                   options_.root_worker_user, options_.client.unprivileged.uid);
    }
  }
  symbols::DebuginfodSettings& debuginfod = options_.client.debuginfod;
  if (!debuginfod.enabled()) debuginfod = symbols::debuginfod_from_environment();
  if (debuginfod.enabled()) {
    std::string why;
    if (!symbols::prepare_cache_root(debuginfod.cache_root, &why)) {
      spdlog::warn("symbolizer: debuginfod is off: {}", why);
      debuginfod.urls.clear();
    } else {
      spdlog::info("symbolizer: debuginfod {}: downloads kept per user under {}, files up to {} bytes, {} s "
                   "without progress, within each request's {} s",
                   debuginfod.urls, debuginfod.cache_root, debuginfod.max_file_bytes, debuginfod.timeout_seconds,
                   std::chrono::duration_cast<std::chrono::seconds>(options_.timeout).count());
    }
  }
}

SymbolService::~SymbolService() {
  alive_.reset();
  // Requests under way finish (within their timeout); queued ones are
  // dropped. The clients outlive the threads (users_ goes after this
  // body), so their destructors reap the workers after the last call.
  threads_.stop();
  threads_.join();
}

void SymbolService::symbolize(Handle handle, const WatchedProcess& process, std::vector<uint64_t> return_addresses,
                              Done done) {
  if (!handle || handle->id() != id_of(process)) {
    done({}, "pid " + std::to_string(process.pid) + " is no longer watched");
    return;
  }
  if (std::string refused = handle->check(); !refused.empty()) {
    done({}, "pid " + std::to_string(process.pid) + " may not be shown: " + refused);
    return;
  }
  auto pending = std::make_shared<Pending>();
  pending->handle = std::move(handle);
  pending->process = process;
  pending->asked = std::move(return_addresses);
  pending->done = std::move(done);
  const auto& known = cache_[id_of(process)];
  std::map<uint64_t, bool> seen;
  for (uint64_t a : pending->asked) {
    if (known.count(a) == 0 && !seen[a]) {
      seen[a] = true;
      pending->missing.push_back(a);
    }
  }
  if (pending->missing.empty()) {
    finish(pending, {});
    return;
  }
  const uid_t uid = pending->handle->uid();
  auto found = users_.find(uid);
  const size_t theirs = found == users_.end() ? 0 : found->second.queue.size() + (found->second.in_flight ? 1 : 0);
  if (pending_ >= options_.max_pending || theirs >= options_.max_pending_per_user) {
    pending->done({}, "the symbolizer is busy; try again");
    return;
  }
  ++pending_;
  User& user = users_[uid];
  user.queue.push_back(pending);
  if (!user.in_flight && user.queue.size() == 1) turns_.push_back(uid);
  dispatch();
}

void SymbolService::dispatch() {
  while (running_ < std::max<size_t>(1, options_.threads) && !turns_.empty()) {
    const uid_t uid = turns_.front();
    turns_.pop_front();
    start(uid, users_.at(uid));
  }
  close_users();
}

void SymbolService::start(uid_t uid, User& user) {
  std::shared_ptr<Pending> pending = user.queue.front();
  user.queue.pop_front();
  user.in_flight = true;
  ++running_;
  if (!user.client) user.client = std::make_unique<symbols::SymbolizerClient>(options_.client);
  symbols::SymbolizerClient* client = user.client.get();  // this uid's: no other thread has it
  std::weak_ptr<char> alive = alive_;
  boost::asio::post(threads_, [this, alive, pending, client, uid] {
    const ProcessHandle& process = *pending->handle;
    symbols::SymbolizeResult result;
    std::string refused = process.check();
    if (refused.empty()) {
      result = client->symbolize(process.id().pid, process.uid(), process.gid(), pending->missing, options_.timeout);
      client->close_idle();
      refused = process.check();
    }
    if (!refused.empty()) {
      result = {};
      result.error = "pid " + std::to_string(process.id().pid) + " may not be shown: " + refused;
    }
    boost::asio::post(loop_, [this, alive, pending, uid, result = std::move(result)]() mutable {
      if (alive.expired()) return;
      --pending_;
      --running_;
      User& user = users_.at(uid);
      user.in_flight = false;
      user.last_used = std::chrono::steady_clock::now();
      if (!user.queue.empty()) turns_.push_back(uid);  // behind every uid already waiting
      finish(pending, std::move(result));
      dispatch();
    });
  });
}

void SymbolService::close_users() {
  // An idle uid's client goes once its workers would be closed as idle, or
  // when more uids than max_users hold one (the longest idle first). Its
  // destructor kills and reaps the workers, which may wait (kReapWait): on
  // a thread, not the loop.
  const auto now = std::chrono::steady_clock::now();
  size_t holding = 0;
  for (const auto& [uid, user] : users_) holding += user.client || user.in_flight || !user.queue.empty() ? 1 : 0;
  for (;;) {
    auto victim = users_.end();
    for (auto it = users_.begin(); it != users_.end(); ++it) {
      const User& user = it->second;
      if (user.in_flight || !user.queue.empty()) continue;
      if (victim == users_.end() || user.last_used < victim->second.last_used) victim = it;
    }
    if (victim == users_.end()) return;
    const bool stale = now - victim->second.last_used > options_.client.idle_timeout;
    if (!stale && holding <= options_.max_users) return;
    if (victim->second.client) {
      boost::asio::post(threads_, [client = std::shared_ptr<symbols::SymbolizerClient>(
                                       std::move(victim->second.client))] {});
      --holding;
    }
    users_.erase(victim);
  }
}

void SymbolService::finish(const std::shared_ptr<Pending>& pending, symbols::SymbolizeResult result) {
  if (!pending->missing.empty() && !result.ok()) {
    pending->done({}, result.error);
    return;
  }
  if (cached_ + result.locations.size() > options_.max_cached) {
    cache_.clear();
    cached_ = 0;
  }
  auto& known = cache_[id_of(pending->process)];
  std::map<uint64_t, symbols::Location> fresh;
  for (size_t i = 0; i < result.locations.size() && i < pending->missing.size(); ++i) {
    fresh[pending->missing[i]] = result.locations[i];
    if (known.emplace(pending->missing[i], result.locations[i]).second) ++cached_;
  }
  std::vector<symbols::Location> out;
  out.reserve(pending->asked.size());
  for (uint64_t a : pending->asked) {
    auto it = known.find(a);
    if (it != known.end()) {
      out.push_back(it->second);
    } else {  // evicted meanwhile: the answer just made
      out.push_back(fresh[a]);
    }
  }
  pending->done(std::move(out), "");
}

void SymbolService::forget(const ProcessId& id) {
  auto it = cache_.find(id);
  if (it == cache_.end()) return;
  cached_ -= it->second.size();
  cache_.erase(it);
}

}  // namespace memproxy::heapwatch
