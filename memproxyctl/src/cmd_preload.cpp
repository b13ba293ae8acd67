// `memproxyctl preload enable|disable|status`: safe edits of the global
// preload. A wrong line there breaks every program on the host, so enable
// proves the new list in a child process before writing, and every write is
// atomic with a backup of the previous file.
#include <iostream>

#include "atomic_write.hpp"
#include "commands.hpp"
#include "exit_codes.hpp"
#include "output.hpp"
#include "platform.hpp"
#include "preload_file.hpp"
#include "preload_verify.hpp"

namespace memproxyctl {

namespace {

std::string backup_path_for(const std::string& file) { return file + ".memproxyctl-backup"; }

// Solaris: one runtime linker configuration per bitness, edited with crle(1).
int print_crle(const PreloadArgs& args, bool enable) {
  const std::string lib64 = args.library.empty() ? platform::kLibrary64 : args.library;
  const std::string lib32 = args.library32.empty() ? platform::kLibrary32 : args.library32;
  const std::string alloc = args.allocator.empty() ? "" : ":" + args.allocator;
  std::cout << "# Review the current configuration first: crle; crle -64\n";
  if (enable) {
    std::cout << "# Test each list on one program before making it global:\n"
              << "LD_PRELOAD_32=" << lib32 << alloc << " /usr/bin/true\n"
              << "LD_PRELOAD_64=" << lib64 << alloc << " /usr/bin/true\n"
              << "# 32-bit processes (/var/ld/ld.config):\n"
              << "crle -u -e LD_PRELOAD=" << lib32 << alloc << '\n'
              << "# 64-bit processes (/var/ld/64/ld.config):\n"
              << "crle -64 -u -e LD_PRELOAD=" << lib64 << alloc << '\n';
    if (!args.allocator.empty()) {
      std::cout << "# " << args.allocator << " must exist in both bitnesses (the 64-bit one under .../64/).\n";
    }
  } else {
    std::cout << "# Set LD_PRELOAD to what remains without libmemproxy (empty if nothing):\n"
              << "crle -u -e LD_PRELOAD=\n"
              << "crle -64 -u -e LD_PRELOAD=\n";
  }
  return kExitOk;
}

bool read_preload(const std::string& file, std::string* text, bool* exists) {
  std::string error;
  if (read_text_file(file, text, exists, &error)) return true;
  std::cerr << "memproxyctl: " << error << '\n';
  return false;
}

// Writes `updated` over `file` (with backup), or shows it on --dry-run.
int write_preload(const PreloadArgs& args, const std::string& updated, bool existed) {
  if (args.dry_run) {
    std::cout << "# new " << args.file << " (dry run, nothing written):\n" << updated;
    return kExitOk;
  }
  std::string error;
  const std::string backup = existed ? backup_path_for(args.file) : std::string();
  if (!replace_file(args.file, updated, backup, &error)) {
    std::cerr << "memproxyctl: " << error << " (" << args.file << " is unchanged)\n";
    return kExitRefused;
  }
  std::cout << "wrote " << args.file << (existed ? ", previous version in " + backup : "") << '\n';
  return kExitOk;
}

}  // namespace

int cmd_preload_status(const GlobalOptions& options, const PreloadArgs& args) {
  if (platform::kUsesCrle || args.print_crle) {
    std::cout << "# The global preload is in the runtime linker configuration; show it with:\ncrle\ncrle -64\n";
    return kExitOk;
  }
  std::string text;
  bool exists = false;
  if (!read_preload(args.file, &text, &exists)) return kExitInput;
  PreloadAnalysis a = analyze_preload(text);
  const bool enabled = a.memproxy_present && a.order_ok;
  if (options.json) {
    print_json({{"file", args.file},
                {"exists", exists},
                {"enabled", a.memproxy_present},
                {"order_ok", a.order_ok},
                {"entries", a.entries},
                {"memproxy_entries", a.memproxy_entries},
                {"allocator_entries", a.allocator_entries}});
  } else {
    std::cout << args.file << ": " << (exists ? "" : "absent, ")
              << (a.memproxy_present ? "memproxy enabled" : "memproxy not enabled");
    if (a.memproxy_present && !a.order_ok) std::cout << ", but after the allocator (run `memproxyctl preload enable`)";
    std::cout << '\n';
    for (const auto& entry : a.entries) std::cout << "  " << entry << '\n';
  }
  return enabled ? kExitOk : kExitNegative;
}

int cmd_preload_enable(const GlobalOptions&, const PreloadArgs& args) {
  if (platform::kUsesCrle || args.print_crle) return print_crle(args, true);
  std::string text;
  bool exists = false;
  if (!read_preload(args.file, &text, &exists)) return kExitInput;
  const std::string entry = args.library.empty() ? platform::kPreloadEntry : args.library;
  const std::string updated = enable_memproxy(text, entry, args.allocator);
  if (exists && updated == text) {
    std::cout << args.file << ": memproxy is already enabled, in the right order; nothing to do\n";
    return kExitOk;
  }
  Verification v = verify_preload(preload_entries(updated), true);
  if (!v.ok) {
    std::cerr << "memproxyctl: verification failed, " << args.file << " is unchanged: " << v.detail << '\n';
    return kExitRefused;
  }
  std::cout << "verified: " << v.detail << '\n';
  return write_preload(args, updated, exists);
}

int cmd_preload_disable(const GlobalOptions&, const PreloadArgs& args) {
  if (platform::kUsesCrle || args.print_crle) return print_crle(args, false);
  std::string text;
  bool exists = false;
  if (!read_preload(args.file, &text, &exists)) return kExitInput;
  if (!analyze_preload(text).memproxy_present) {
    std::cout << args.file << ": memproxy is not enabled; nothing to do\n";
    return kExitOk;
  }
  // Only memproxy's entries go; what remains was the admin's before memproxy.
  return write_preload(args, remove_memproxy(text), exists);
}

}  // namespace memproxyctl
