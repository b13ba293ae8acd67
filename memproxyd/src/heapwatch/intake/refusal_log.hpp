// The heap socket's refusals, logged with a count: a user who opens
// connections as fast as the daemon refuses them gets a line per period,
// never one per connection.
//
// Invariant: per uid, at most one line at the first refusal of a period and
// one at its end (the count of the others, by reason, at most
// kMaxReasons of them named); nothing refused is left out of some count.
// Runs on the loop only.
#ifndef MEMPROXYD_HEAPWATCH_REFUSAL_LOG_HPP
#define MEMPROXYD_HEAPWATCH_REFUSAL_LOG_HPP

#include <spdlog/spdlog.h>
#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <string>

namespace memproxy::heapwatch {

class RefusalLog {
 public:
  static constexpr std::chrono::seconds kPeriod{10};
  static constexpr size_t kMaxReasons = 8;

  explicit RefusalLog(boost::asio::io_context& io) : timer_(io) {}
  ~RefusalLog() { alive_.reset(); }
  RefusalLog(const RefusalLog&) = delete;
  RefusalLog& operator=(const RefusalLog&) = delete;

  // A hand-over of `pid` (0 when not known yet) by `uid` was refused.
  void refused(uid_t uid, pid_t pid, const std::string& why) {
    ++total_;
    auto [it, first] = users_.try_emplace(uid);
    if (first) {
      spdlog::warn("heap socket: refused the hand-over of pid {} (uid {}): {}", pid, uid, why);
      arm();
      return;
    }
    User& user = it->second;
    ++user.count;
    auto reason = user.reasons.find(why);
    if (reason != user.reasons.end()) {
      ++reason->second;
    } else if (user.reasons.size() < kMaxReasons) {
      user.reasons.emplace(why, 1);
    } else {
      ++user.unnamed;
    }
  }
  // Every refusal so far.
  size_t total() const { return total_; }

 private:
  struct User {
    size_t count = 0;  // refused since the period's first, which was logged
    std::map<std::string, size_t> reasons;
    size_t unnamed = 0;  // beyond kMaxReasons reasons
  };
  void arm() {
    if (armed_) return;
    armed_ = true;
    timer_.expires_after(kPeriod);
    timer_.async_wait([this, alive = std::weak_ptr<char>(alive_)](const boost::system::error_code& ec) {
      if (alive.expired() || ec) return;
      armed_ = false;
      flush();
    });
  }
  // Ends the period: the counts are logged, and a uid refused again starts
  // a new period with a line of its own.
  void flush() {
    for (const auto& [uid, user] : users_) {
      if (user.count == 0) continue;
      std::string reasons;
      for (const auto& [why, n] : user.reasons) reasons += (reasons.empty() ? "" : "; ") + std::to_string(n) + " " + why;
      if (user.unnamed != 0) reasons += "; " + std::to_string(user.unnamed) + " for other reasons";
      spdlog::warn("heap socket: refused {} more hand-over{} of uid {} in {} s: {}", user.count,
                   user.count == 1 ? "" : "s", uid, kPeriod.count(), reasons);
    }
    users_.clear();
  }

  boost::asio::steady_timer timer_;
  std::map<uid_t, User> users_;
  bool armed_ = false;
  size_t total_ = 0;
  std::shared_ptr<char> alive_ = std::make_shared<char>();
};

}  // namespace memproxy::heapwatch

#endif
