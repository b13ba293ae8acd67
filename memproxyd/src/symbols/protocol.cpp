#include "symbols/protocol.hpp"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

#include "symbols/dwarf_frames.hpp"

namespace memproxy::symbols::protocol {
namespace {

using nlohmann::json;

// Strings from objects may be any bytes; JSON carries UTF-8, so invalid
// sequences become U+FFFD (up to three bytes each).
std::string dump(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }
constexpr size_t kMaxReplyText = 3 * kMaxTextBytes;
constexpr size_t kMaxBuildIdHex = 128;

std::string to_hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::optional<std::string> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int high = hex_digit(hex[i]), low = hex_digit(hex[i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    out += static_cast<char>(high << 4 | low);
  }
  return out;
}

// Deepest nesting of arrays and objects, counted without parsing; strings
// (and brackets inside them) skipped.
size_t nesting(std::string_view text) {
  size_t depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

std::optional<json> parse_bounded(std::string_view body, std::string* why) {
  if (nesting(body) > kMaxNesting) {
    *why = "nested too deeply";
    return std::nullopt;
  }
  json value = json::parse(body.begin(), body.end(), nullptr, false);
  if (value.is_discarded() || !value.is_object()) {
    *why = "not a JSON object";
    return std::nullopt;
  }
  return value;
}

bool get_unsigned(const json& object, const char* key, uint64_t* out) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_number_unsigned()) return false;
  *out = it->get<uint64_t>();
  return true;
}

bool get_string(const json& object, const char* key, size_t max, std::string* out) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return false;
  const std::string& text = it->get_ref<const std::string&>();
  if (text.size() > max) return false;
  *out = text;
  return true;
}

bool get_bool(const json& object, const char* key, bool* out) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_boolean()) return false;
  *out = it->get<bool>();
  return true;
}

json encode_answer(const Answer& answer) {
  json frames = json::array();
  for (const Frame& frame : answer.frames) {
    frames.push_back({{"function", frame.function},
                      {"file", frame.file},
                      {"line", frame.line},
                      {"column", frame.column},
                      {"inlined", frame.inlined}});
  }
  return {{"build_id", answer.build_id}, {"note", answer.note}, {"frames", std::move(frames)}};
}

std::optional<Answer> decode_answer(const json& value) {
  Answer answer;
  if (!value.is_object() || !get_string(value, "build_id", kMaxBuildIdHex, &answer.build_id) ||
      !get_string(value, "note", kMaxReplyText, &answer.note)) {
    return std::nullopt;
  }
  for (char c : answer.build_id) {
    if (hex_digit(c) < 0) return std::nullopt;
  }
  auto frames = value.find("frames");
  if (frames == value.end() || !frames->is_array() || frames->size() > kMaxFrames) return std::nullopt;
  for (const json& item : *frames) {
    Frame frame;
    uint64_t line = 0, column = 0;
    if (!item.is_object() || !get_string(item, "function", kMaxReplyText, &frame.function) ||
        !get_string(item, "file", kMaxReplyText, &frame.file) || !get_unsigned(item, "line", &line) ||
        !get_unsigned(item, "column", &column) || !get_bool(item, "inlined", &frame.inlined) ||
        line > UINT32_MAX || column > UINT32_MAX) {
      return std::nullopt;
    }
    frame.line = static_cast<uint32_t>(line);
    frame.column = static_cast<uint32_t>(column);
    answer.frames.push_back(std::move(frame));
  }
  return answer;
}

}  // namespace

std::string header(size_t length) {
  std::string out(kMagic, sizeof kMagic);
  out += static_cast<char>(kVersion);
  for (int i = 0; i < 4; ++i) out += static_cast<char>((length >> (8 * i)) & 0xff);
  return out;
}

std::optional<uint32_t> parse_header(std::string_view bytes, size_t max, std::string* why) {
  if (bytes.size() != kHeaderBytes || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    *why = "not a symbolizer message";
    return std::nullopt;
  }
  if (static_cast<uint8_t>(bytes[3]) != kVersion) {
    *why = "protocol version " + std::to_string(static_cast<uint8_t>(bytes[3])) + ", expected " +
           std::to_string(kVersion);
    return std::nullopt;
  }
  uint32_t length = 0;
  for (int i = 0; i < 4; ++i) length |= static_cast<uint32_t>(static_cast<uint8_t>(bytes[4 + i])) << (8 * i);
  if (length > max) {
    *why = "message of " + std::to_string(length) + " bytes, more than " + std::to_string(max);
    return std::nullopt;
  }
  return length;
}

std::string encode_request(const Request& request) {
  json mappings = json::array();
  for (const WorkerMapping& m : request.mappings) {
    mappings.push_back({{"start", m.mapping.start},
                        {"end", m.mapping.end},
                        {"offset", m.mapping.offset},
                        {"dev", m.mapping.dev},
                        {"inode", m.mapping.inode},
                        {"path_hex", to_hex(m.mapping.path)},
                        {"deleted", m.mapping.deleted},
                        {"fd", m.fd}});
  }
  return dump({{"pid", request.pid}, {"addresses", request.addresses}, {"mappings", std::move(mappings)}});
}

std::optional<Request> decode_request(std::string_view body, size_t descriptors, std::string* why) {
  try {
    std::optional<json> value = parse_bounded(body, why);
    if (!value) return std::nullopt;
    Request request;
    auto pid = value->find("pid");
    auto addresses = value->find("addresses");
    auto mappings = value->find("mappings");
    if (pid == value->end() || !pid->is_number_integer() || addresses == value->end() || !addresses->is_array() ||
        addresses->size() > kMaxAddressesPerRequest || mappings == value->end() || !mappings->is_array() ||
        mappings->size() > kMaxAddressesPerRequest) {
      *why = "malformed request";
      return std::nullopt;
    }
    request.pid = pid->get<int64_t>();
    for (const json& address : *addresses) {
      if (!address.is_number_unsigned()) {
        *why = "malformed address";
        return std::nullopt;
      }
      request.addresses.push_back(address.get<uint64_t>());
    }
    for (const json& item : *mappings) {
      WorkerMapping m;
      std::string path_hex;
      auto fd = item.is_object() ? item.find("fd") : item.end();
      if (!item.is_object() || !get_unsigned(item, "start", &m.mapping.start) ||
          !get_unsigned(item, "end", &m.mapping.end) || !get_unsigned(item, "offset", &m.mapping.offset) ||
          !get_unsigned(item, "dev", &m.mapping.dev) || !get_unsigned(item, "inode", &m.mapping.inode) ||
          !get_string(item, "path_hex", 2 * 8192, &path_hex) || !get_bool(item, "deleted", &m.mapping.deleted) ||
          fd == item.end() || !fd->is_number_integer() || m.mapping.start >= m.mapping.end) {
        *why = "malformed mapping";
        return std::nullopt;
      }
      int64_t index = fd->get<int64_t>();
      std::optional<std::string> path = from_hex(path_hex);
      if (!path || index < -1 || index >= static_cast<int64_t>(descriptors)) {
        *why = "malformed mapping";
        return std::nullopt;
      }
      m.mapping.path = std::move(*path);
      m.fd = static_cast<int>(index);
      request.mappings.push_back(std::move(m));
    }
    return request;
  } catch (const std::exception& e) {
    *why = e.what();
    return std::nullopt;
  }
}

std::string encode_reply(const Reply& reply) {
  // Room for the envelope and for every answer that may have to lose its
  // frames (build-id and the fixed note: under 400 bytes each).
  static_assert(kMaxReplyBytes > kMaxAddressesPerRequest * 400 + 64);
  const size_t budget = kMaxReplyBytes - 64 - std::min(reply.answers.size(), kMaxAddressesPerRequest) * 400;
  std::string answers;
  bool full = false;
  for (const Answer& answer : reply.answers) {
    std::string encoded;
    if (!full) {
      encoded = dump(encode_answer(answer));
      if (answers.size() + encoded.size() + 1 > budget) full = true;
    }
    if (full) {
      Answer trimmed{answer.build_id, {}, "frames left out: the reply reached its size limit"};
      encoded = dump(encode_answer(trimmed));
    }
    if (!answers.empty()) answers += ',';
    answers += encoded;
  }
  return "{\"answers\":[" + answers + "],\"retire\":" + (reply.retire ? "true" : "false") + "}";
}

std::optional<Reply> decode_reply(std::string_view body, size_t expected_answers, std::string* why) noexcept {
  try {
    if (body.size() > kMaxReplyBytes) {
      *why = "reply too long";
      return std::nullopt;
    }
    std::optional<json> value = parse_bounded(body, why);
    if (!value) return std::nullopt;
    Reply reply;
    auto answers = value->find("answers");
    if (answers == value->end() || !answers->is_array() || answers->size() != expected_answers ||
        !get_bool(*value, "retire", &reply.retire)) {
      *why = "malformed reply";
      return std::nullopt;
    }
    reply.answers.reserve(expected_answers);
    for (const json& item : *answers) {
      std::optional<Answer> answer = decode_answer(item);
      if (!answer) {
        *why = "malformed answer";
        return std::nullopt;
      }
      reply.answers.push_back(std::move(*answer));
    }
    return reply;
  } catch (const std::exception& e) {
    *why = std::string("bad reply: ") + e.what();
    return std::nullopt;
  } catch (...) {
    *why = "bad reply";
    return std::nullopt;
  }
}

}  // namespace memproxy::symbols::protocol
