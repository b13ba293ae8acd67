#include "heapwatch/symbol_service.hpp"

#include <boost/asio/post.hpp>


namespace memproxy::heapwatch {

struct SymbolService::Pending {
  Handle handle;
  WatchedProcess process;
  std::vector<uint64_t> asked;    // every address, in the caller's order
  std::vector<uint64_t> missing;  // those not in the cache, unique
  Done done;
};

SymbolService::SymbolService(boost::asio::io_context& loop, SymbolServiceOptions options)
    : loop_(loop), options_(std::move(options)),
      client_(std::make_unique<symbols::SymbolizerClient>(options_.client)) {}

SymbolService::~SymbolService() {
  alive_.reset();
  // A request under way finishes (within its timeout); queued ones are
  // dropped. The client outlives the thread (members are destroyed in
  // reverse), so its destructor reaps the workers after the last call.
  thread_.stop();
  thread_.join();
}

void SymbolService::symbolize(Handle handle, const WatchedProcess& process, std::vector<uint64_t> return_addresses,
                              Done done) {
  if (!handle || handle->id() != process.id) {
    done({}, "pid " + std::to_string(process.id.pid) + " is no longer watched");
    return;
  }
  if (std::string refused = handle->check(); !refused.empty()) {
    done({}, "pid " + std::to_string(process.id.pid) + " may not be shown: " + refused);
    return;
  }
  auto pending = std::make_shared<Pending>();
  pending->handle = std::move(handle);
  pending->process = process;
  pending->asked = std::move(return_addresses);
  pending->done = std::move(done);
  const auto& known = cache_[process.id];
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
  if (pending_ >= options_.max_pending) {
    pending->done({}, "the symbolizer is busy; try again");
    return;
  }
  ++pending_;
  std::weak_ptr<char> alive = alive_;
  boost::asio::post(thread_, [this, alive, pending] {
    const ProcessHandle& process = *pending->handle;
    symbols::SymbolizeResult result;
    std::string refused = process.check();
    if (refused.empty()) {
      result = client_->symbolize(process.id().pid, process.uid(), process.gid(), pending->missing, options_.timeout);
      client_->close_idle();
      refused = process.check();
    }
    if (!refused.empty()) {
      result = {};
      result.error = "pid " + std::to_string(process.id().pid) + " may not be shown: " + refused;
    }
    boost::asio::post(loop_, [this, alive, pending, result = std::move(result)]() mutable {
      if (alive.expired()) return;
      --pending_;
      finish(pending, std::move(result));
    });
  });
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
  auto& known = cache_[pending->process.id];
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
