#include "memproxy/config.hpp"

namespace memproxy::config {

std::string Diagnostic::format() const {
  std::string out = file;
  if (line != 0) {
    out += ':';
    out += std::to_string(line);
  }
  out += severity == Severity::error ? ": error: " : ": warning: ";
  out += message;
  return out;
}

}  // namespace memproxy::config
