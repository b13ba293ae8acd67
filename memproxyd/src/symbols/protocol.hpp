// What the daemon and its symbolizing worker say to each other over the
// worker's stdin/stdout (one Unix stream socket).
//
// Message:  "MPS" + version byte (1), length (uint32, little-endian), then
//           `length` bytes of JSON.
// Request:  {"pid":N, "addresses":[return addresses...],
//            "mappings":[{"start","end","offset","dev","inode","path_hex",
//                         "deleted","fd"}...]}
//           sent with SCM_RIGHTS descriptors: a mapping's "fd" is the index
//           of its O_PATH descriptor among them, or -1 when the worker is to
//           open the path itself (verified, object_files.hpp). Paths travel
//           as hex: they are bytes, not UTF-8.
// Reply:    {"answers":[{"build_id","note","frames":[{"function","file",
//           "line","column","inlined"}...]}...], "retire":bool}
//           one answer per address, in order; "retire": the worker exits
//           after this reply (it spent its CPU budget), start another.
//
// The daemon trusts nothing in a reply: a worker may be compromised by
// the objects it parsed. decode_reply bounds the length before reading,
// the nesting before parsing (so a reply cannot make the parser build a
// deep tree), and every count, string and number before keeping it, and
// it never throws. The object, offset and address of a Location are the
// daemon's own; a reply supplies only build-id, frames and note.
#ifndef MEMPROXYD_SYMBOLS_PROTOCOL_HPP
#define MEMPROXYD_SYMBOLS_PROTOCOL_HPP

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "symbols/location.hpp"
#include "symbols/mappings.hpp"

namespace memproxy::symbols::protocol {

inline constexpr char kMagic[3] = {'M', 'P', 'S'};
inline constexpr uint8_t kVersion = 1;
inline constexpr size_t kHeaderBytes = 8;
inline constexpr size_t kMaxRequestBytes = size_t{16} << 20;
inline constexpr size_t kMaxReplyBytes = size_t{4} << 20;
inline constexpr size_t kMaxAddressesPerRequest = 1024;
// SCM_MAX_FD is 253: one message carries at most that many descriptors.
inline constexpr size_t kMaxDescriptors = 250;
inline constexpr size_t kMaxNesting = 6;

struct WorkerMapping {
  Mapping mapping;
  int fd = -1;  // index among the request's descriptors, or -1
};

struct Request {
  int64_t pid = 0;
  std::vector<uint64_t> addresses;
  std::vector<WorkerMapping> mappings;
};

struct Answer {
  std::string build_id;
  std::vector<Frame> frames;
  std::string note;
  friend bool operator==(const Answer&, const Answer&) = default;
};

struct Reply {
  std::vector<Answer> answers;
  bool retire = false;
};

// The header for a body of `length` bytes.
std::string header(size_t length);
// The body length a header announces, if it is ours and at most `max`.
std::optional<uint32_t> parse_header(std::string_view header, size_t max, std::string* why);

std::string encode_request(const Request& request);
std::optional<Request> decode_request(std::string_view body, size_t descriptors, std::string* why);

// Keeps the encoding within kMaxReplyBytes: answers past the limit lose
// their frames and say so.
std::string encode_reply(const Reply& reply);
std::optional<Reply> decode_reply(std::string_view body, size_t expected_answers, std::string* why) noexcept;

}  // namespace memproxy::symbols::protocol

#endif
