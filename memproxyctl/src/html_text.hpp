// Text placed in an HTML document. Everything the daemon sends (program
// names, users, function names, paths) comes from processes and the
// binaries they map, which a user may have made to look like markup: it
// goes through html_escape, in element content and in attribute values
// alike, and never anywhere else (no daemon text inside <style>, URLs or
// tag names).
#ifndef MEMPROXYCTL_HTML_TEXT_HPP
#define MEMPROXYCTL_HTML_TEXT_HPP

#include <string>
#include <string_view>

namespace memproxyctl {

// `text` with & < > " ' as character references, and every byte that is
// not part of valid UTF-8, every C0 control but tab and newline, and DEL,
// as U+FFFD: the result is well-formed UTF-8 that an HTML parser reads as
// text only, in content or in a quoted attribute value.
std::string html_escape(std::string_view text);

}  // namespace memproxyctl

#endif
