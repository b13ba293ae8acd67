#include "memproxy/program_name.hpp"

#include <algorithm>
#include <array>
#include <string_view>

#include "memproxy/process_info.hpp"

namespace memproxy::process {
namespace {

// Interpreter families by the name their binaries start with; what follows
// may only be a version ("python3.11", "perl5.36.0", "luajit-2.1").
constexpr std::array<std::string_view, 18> kInterpreters = {
    "python", "pypy", "perl", "ruby", "node", "nodejs", "php", "lua", "luajit",
    "tclsh", "Rscript", "guile", "bash", "dash", "sh", "zsh", "ksh", "gawk"};

// Options after which the next argument is the option's value, not the
// script (python -W ignore app.py, node -r dotenv/config app.js).
bool takes_value(std::string_view arg) {
  constexpr std::array<std::string_view, 8> kValued = {"-W", "-X", "-Q", "-I", "-r", "--require", "--import", "--loader"};
  return std::find(kValued.begin(), kValued.end(), arg) != kValued.end();
}

// Options whose value is the program itself: the name says which.
bool inline_program(std::string_view arg) { return arg == "-c" || arg == "-e" || arg == "-E"; }

// "INTERPRETER PART", or the interpreter alone when `part` is longer than a
// file name can be (NAME_MAX): the command line is the process's to write,
// up to 128 KiB an argument, and the name goes into every view, the
// history and the metrics' labels.
std::string with_part(const std::string& interpreter, const std::string& part) {
  constexpr size_t kNameMax = 255;
  return part.size() > kNameMax ? interpreter : interpreter + " " + part;
}

}  // namespace

bool is_interpreter(const std::string& base) {
  for (std::string_view family : kInterpreters) {
    if (base.compare(0, family.size(), family) != 0) continue;
    std::string_view rest = std::string_view(base).substr(family.size());
    if (std::all_of(rest.begin(), rest.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.' || c == '-'; })) {
      return true;
    }
  }
  return false;
}

std::string program_name(const std::string& invoked_base, const std::string& exe_base,
                         const std::vector<std::string>& argv) {
  std::string interpreter;
  if (!argv.empty() && is_interpreter(base_name(argv[0]))) {
    interpreter = base_name(argv[0]);
  } else if (is_interpreter(invoked_base)) {
    interpreter = invoked_base;
  } else if (is_interpreter(exe_base)) {
    interpreter = exe_base;
  } else {
    return invoked_base;
  }
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (arg == "--") return i + 1 < argv.size() ? with_part(interpreter, base_name(argv[i + 1])) : interpreter;
    if (arg == "-m" && i + 1 < argv.size()) return with_part(interpreter, "-m " + argv[i + 1]);
    if (inline_program(arg)) return interpreter + " " + arg;
    if (takes_value(arg)) {
      ++i;
      continue;
    }
    if (arg.empty() || arg[0] == '-') continue;
    return with_part(interpreter, base_name(arg));
  }
  return interpreter;
}

bool program_matches(const std::string& program, const std::string& exe, const std::string& query) {
  if (query.empty()) return false;
  if (program == query || exe == query) return true;
  const size_t space = program.find(' ');
  if (space == std::string::npos) return false;
  const std::string interpreter = program.substr(0, space);
  const size_t last = program.rfind(' ');
  return interpreter == query || program.substr(last + 1) == query;
}

}  // namespace memproxy::process
