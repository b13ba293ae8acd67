// Reading an integer from a JSON value that came from another process: only
// an integer the parser kept exact (not a float, not a string) and within
// `T`'s range, so that no cast wraps or truncates what a peer sent.
#ifndef MEMPROXY_JSON_INTEGER_HPP
#define MEMPROXY_JSON_INTEGER_HPP

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <type_traits>

namespace memproxy {

template <typename T>
std::optional<T> exact_integer(const nlohmann::json& j) {
  if (j.is_number_unsigned()) {
    auto v = j.get<uint64_t>();
    if (v > static_cast<uint64_t>(std::numeric_limits<T>::max())) return std::nullopt;
    return static_cast<T>(v);
  }
  if (j.is_number_integer()) {
    auto v = j.get<int64_t>();
    if constexpr (std::is_signed_v<T>) {
      if (v < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
          v > static_cast<int64_t>(std::numeric_limits<T>::max())) {
        return std::nullopt;
      }
    } else {
      if (v < 0 || static_cast<uint64_t>(v) > static_cast<uint64_t>(std::numeric_limits<T>::max())) {
        return std::nullopt;
      }
    }
    return static_cast<T>(v);
  }
  return std::nullopt;
}

}  // namespace memproxy

#endif
