// A memproxy.conf section header: `[exclude]`, `[monitor]`, or
// `[monitor sample=SIZE|off]`. Blanks separate the section's name and its
// options; a header is one line, and one mistake in it is one diagnostic.
#ifndef MEMPROXY_SECTION_HEADER_HPP
#define MEMPROXY_SECTION_HEADER_HPP

#include <string>
#include <string_view>

#include "memproxy/config.hpp"

namespace memproxy::config {

struct SectionHeader {
  // The header names a section (even when an option of it is wrong): the
  // entries below it belong to `section`.
  bool known = false;
  Section section = Section::exclude;
  SampleSetting sample;
  // Empty when the header is valid; else the error's message and class.
  std::string error;
  Problem problem = Problem::malformed_section;
};

// `line` is the trimmed line, starting with '['.
SectionHeader parse_section_header(std::string_view line);

}  // namespace memproxy::config

#endif
