#include "memproxy/config.hpp"

namespace memproxy::config {
namespace {

std::string prefix(const Diagnostic& d) {
  std::string out = d.file;
  if (d.line != 0) {
    out += ':';
    out += std::to_string(d.line);
  }
  out += d.severity == Severity::error ? ": error: " : ": warning: ";
  return out;
}

}  // namespace

const char* describe(Problem problem) {
  switch (problem) {
    case Problem::cannot_open: return "cannot be opened";
    case Problem::not_regular: return "not a regular file";
    case Problem::read_error: return "cannot be read";
    case Problem::too_large: return "larger than the size limit";
    case Problem::out_of_memory: return "out of memory while reading or parsing it";
    case Problem::untrusted: return "not trusted (owner or permissions along its path)";
    case Problem::not_text: return "not a text file";
    case Problem::nul_byte: return "NUL byte";
    case Problem::malformed_section: return "malformed section header";
    case Problem::unknown_section: return "unknown section";
    case Problem::unknown_option: return "unknown section option";
    case Problem::bad_sample_rate: return "bad sample rate";
    case Problem::option_not_allowed: return "option on a section that takes none";
    case Problem::repeated_option: return "section option given twice";
    case Problem::relative_path: return "relative path entry";
    case Problem::path_too_long: return "path longer than PATH_MAX";
    case Problem::name_too_long: return "name longer than NAME_MAX";
    case Problem::crlf: return "CR line ending";
    case Problem::not_canonical: return "path not canonical";
    case Problem::blanks: return "entry contains blanks";
    case Problem::duplicate: return "duplicate entry";
    case Problem::too_many_errors: return "too many errors";
    case Problem::more_not_shown: return "more warnings not shown";
  }
  return "problem";
}

std::string Diagnostic::format() const { return prefix(*this) + message; }

std::string Diagnostic::redacted() const { return prefix(*this) + describe(problem); }

}  // namespace memproxy::config
