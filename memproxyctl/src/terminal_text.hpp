// Text from elsewhere placed on a terminal. Program, user, function, file
// and object names, and the daemon's words, come from processes and the
// binaries they map, which anyone may have named to drive a terminal (set
// its title, clear it, move the cursor, forge lines): every such text the
// CLI prints as text goes through terminal_safe, and nothing else of it
// reaches a terminal. JSON outputs are the JSON library's escaping instead;
// the HTML report is html_escape's.
#ifndef MEMPROXYCTL_TERMINAL_TEXT_HPP
#define MEMPROXYCTL_TERMINAL_TEXT_HPP

#include <cstddef>
#include <string>
#include <string_view>

namespace memproxyctl {

// `text` with no byte a terminal acts on: each C0 control (newline and tab
// included: a name must not break or shift the CLI's own lines) and DEL as
// \xNN, each C1 control (U+0080..U+009F) and each bidirectional formatting
// character (U+200E, U+200F, U+202A..U+202E, U+2066..U+2069: they reorder
// what follows them) as \uNNNN, and every byte that is not part of valid
// UTF-8 as U+FFFD. The result is valid UTF-8 with no control character.
std::string terminal_safe(std::string_view text);

// The length of the valid UTF-8 sequence at the start of `s` (1 to 4), or
// 0 when it does not start with one. Overlong forms, surrogates and code
// points past U+10FFFF are invalid.
size_t utf8_sequence(std::string_view s);

// The longest prefix of `text` of at most `max_bytes` bytes that does not
// end inside a UTF-8 sequence.
std::string_view utf8_prefix(std::string_view text, size_t max_bytes);

}  // namespace memproxyctl

#endif
