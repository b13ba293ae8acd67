// The limits per user at the daemon's sockets: how many query connections,
// hand-overs waiting for their hello, and traces one user may hold at once,
// so that no user keeps another's monitoring from the daemon. One policy
// for every kind of slot; each socket keeps its own UserSlots of it.
//
// Invariants, for every kind of slot:
// - a user other than root holds at most per_user slots;
// - all users but root together hold at most total - root_reserve, so root
//   always finds root_reserve slots free, whatever the others hold: root is
//   never refused because of other users;
// - root holds at most total minus what the others hold.
// What it does not give: enough users together can fill the shared part
// (total - root_reserve) among themselves; one user cannot.
#ifndef MEMPROXYD_HEAPWATCH_USER_LIMITS_HPP
#define MEMPROXYD_HEAPWATCH_USER_LIMITS_HPP

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <map>
#include <string>

namespace memproxy::heapwatch {

struct UserLimits {
  size_t total = 0;
  size_t per_user = 0;
  size_t root_reserve = 0;
};

// Query socket connections (trace streams are counted as traces instead).
inline constexpr UserLimits kQueryClientLimits{64, 8, 8};
// A query connection that has not sent its first request by then is closed.
inline constexpr std::chrono::seconds kFirstRequestTimeout{2};
// Heap socket connections whose hello has not arrived yet.
inline constexpr UserLimits kPendingHandOverLimits{256, 16, 32};
// A real client sends its hello right after connecting.
inline constexpr std::chrono::seconds kHelloTimeout{1};
// Traces running at once.
inline constexpr UserLimits kTraceLimits{64, 8, 8};

// The slots held under one UserLimits, by uid.
class UserSlots {
 public:
  explicit UserSlots(UserLimits limits) : limits_(limits) {}

  // Takes a slot for `uid` and returns "", or returns why not (taking none).
  std::string take(uid_t uid) {
    const size_t held = held_by(uid);
    if (uid != 0 && held >= limits_.per_user) {
      return "user " + std::to_string(uid) + " holds " + std::to_string(held) + ", the per-user limit";
    }
    const size_t shared = limits_.total > limits_.root_reserve ? limits_.total - limits_.root_reserve : 0;
    if (uid != 0 && others_ >= shared) {
      return "users other than root hold " + std::to_string(others_) + ", their limit";
    }
    if (total_ >= limits_.total) return "all users hold " + std::to_string(total_) + ", the limit";
    ++held_[uid];
    ++total_;
    if (uid != 0) ++others_;
    return "";
  }
  // Gives back a slot `uid` took.
  void release(uid_t uid) {
    auto it = held_.find(uid);
    if (it == held_.end()) return;
    if (--it->second == 0) held_.erase(it);
    --total_;
    if (uid != 0) --others_;
  }
  size_t held_by(uid_t uid) const {
    auto it = held_.find(uid);
    return it == held_.end() ? 0 : it->second;
  }
  size_t total() const { return total_; }
  const UserLimits& limits() const { return limits_; }

 private:
  UserLimits limits_;
  std::map<uid_t, size_t> held_;
  size_t total_ = 0;
  size_t others_ = 0;
};

}  // namespace memproxy::heapwatch

#endif
