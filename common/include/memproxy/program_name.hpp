// The name the heap watch shows for a watched process, and which names a
// user may type to find it again (memproxyctl history NAME). One rule, for
// the daemon's views, its history and its metrics.
//
// A process is named by its invoked binary ("nginx"), except that an
// interpreter running a script is named by both ("python3 app.py",
// "python3 -m http.server", "perl -e"): two scripts on one host must not
// read as one "python3". The script is read from the command line, which
// the process may rewrite, so the name is a label, never a credential.
#ifndef MEMPROXY_PROGRAM_NAME_HPP
#define MEMPROXY_PROGRAM_NAME_HPP

#include <string>
#include <vector>

namespace memproxy::process {

// Whether a binary's base name is a script interpreter's (python3.11,
// perl, node, bash, ...), version suffixes allowed.
bool is_interpreter(const std::string& base);

// `invoked_base` is the base name of the invoked binary (AT_EXECFN),
// `exe_base` the resolved binary's, `argv` the command line. For a
// script started through its #! line the kernel's invoked name is the
// script's own, and argv[0] the interpreter.
std::string program_name(const std::string& invoked_base, const std::string& exe_base,
                         const std::vector<std::string>& argv);

// Whether `query` names a process called `program` whose binary is `exe`:
// the whole name, the binary's path, or for "INTERPRETER SCRIPT" either
// part ("python3" or "app.py" finds "python3 app.py").
bool program_matches(const std::string& program, const std::string& exe, const std::string& query);

}  // namespace memproxy::process

#endif
