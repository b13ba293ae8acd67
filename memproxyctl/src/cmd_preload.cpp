// `memproxyctl preload enable|disable|status`: safe edits of the global
// preload. A wrong line there breaks every program on the host, so an edit
// holds a lock for its whole course, proves the new list in a child process
// (with a time limit) before writing, writes atomically only if the file
// still holds what was read, keeps those exact bytes as the backup, and
// records what it added so that disable removes exactly that.
#include <algorithm>
#include <chrono>
#include <iostream>

#include "allocator_entry.hpp"
#include "atomic_write.hpp"
#include "commands.hpp"
#include "edit_lock.hpp"
#include "exit_codes.hpp"
#include "output.hpp"
#include "platform.hpp"
#include "preload_file.hpp"
#include "preload_state.hpp"
#include "preload_verify.hpp"
#include "process_info.hpp"

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

// The start of every edit: the lock (not for a dry run, which writes
// nothing), then the exact bytes and the record of what enable added.
struct EditStart {
  int refusal = -1;  // an exit status when the edit cannot start
  FileSnapshot before;
  std::vector<std::string> added;
};

EditStart start_edit(const PreloadArgs& args, EditLock* lock) {
  EditStart start;
  std::string error;
  if (!args.dry_run) {
    error = lock->acquire(args.file);
    if (!error.empty()) {
      std::cerr << "memproxyctl: refused: " << error << '\n';
      start.refusal = kExitRefused;
      return start;
    }
  }
  if (!read_snapshot(args.file, &start.before, &error) || !read_added_entries(args.file, &start.added, &error)) {
    std::cerr << "memproxyctl: " << error << '\n';
    start.refusal = kExitInput;
  }
  return start;
}

// Writes `updated` over the file (with the backup and the record of
// `added`), or shows it on --dry-run.
int finish_edit(const PreloadArgs& args, const EditStart& start, const std::string& updated,
                const std::vector<std::string>& added) {
  if (args.dry_run) {
    std::cout << "# new " << args.file << " (dry run, nothing written):\n" << updated;
    return kExitOk;
  }
  std::string error;
  const std::string backup = start.before.exists ? backup_path_for(args.file) : std::string();
  switch (replace_if_unchanged(args.file, start.before, updated, backup, &error)) {
    case ReplaceOutcome::written:
      break;
    case ReplaceOutcome::changed:
      std::cerr << "memproxyctl: refused: " << error << "; nothing was written. Look at the file and run the "
                << "command again\n";
      return kExitRefused;
    case ReplaceOutcome::failed:
      std::cerr << "memproxyctl: " << error << " (" << args.file << " is unchanged)\n";
      return kExitRefused;
  }
  std::cout << "wrote " << args.file << (start.before.exists ? ", previous version in " + backup : "") << '\n';
  error = write_added_entries(args.file, added, start.before);
  if (!error.empty()) {
    std::cerr << "memproxyctl: warning: " << error << ": `preload disable` will not know what enable added\n";
  }
  return kExitOk;
}

bool listed(const std::vector<std::string>& entries, const std::string& entry) {
  return std::find(entries.begin(), entries.end(), entry) != entries.end();
}

// Allocators already listed other than `allocator` itself.
std::vector<std::string> other_allocators(const std::string& text, const std::string& allocator) {
  std::vector<std::string> others;
  for (const auto& entry : preload_entries(text)) {
    if (!same_library(entry, allocator) && is_allocator_entry(entry)) others.push_back(entry);
  }
  return others;
}

VerifyOptions verify_options(const PreloadArgs& args) {
  VerifyOptions options;
  if (!args.verify_program.empty()) options.program = args.verify_program;
  options.timeout = std::chrono::milliseconds(static_cast<long long>(args.verify_timeout_s * 1000));
  return options;
}

}  // namespace

int cmd_preload_status(const GlobalOptions& options, const PreloadArgs& args) {
  if (platform::kUsesCrle || args.print_crle) {
    std::cout << "# The global preload is in the runtime linker configuration; show it with:\ncrle\ncrle -64\n";
    return kExitOk;
  }
  FileSnapshot file;
  std::string error;
  if (!read_snapshot(args.file, &file, &error)) {
    std::cerr << "memproxyctl: " << error << '\n';
    return kExitInput;
  }
  PreloadAnalysis a = analyze_preload(file.bytes, is_allocator_entry);
  const bool enabled = a.memproxy_present && a.order_ok;
  if (options.json) {
    print_json({{"file", args.file},
                {"exists", file.exists},
                {"enabled", a.memproxy_present},
                {"order_ok", a.order_ok},
                {"entries", a.entries},
                {"memproxy_entries", a.memproxy_entries},
                {"allocator_entries", a.allocator_entries}});
  } else {
    std::cout << args.file << ": " << (file.exists ? "" : "absent, ")
              << (a.memproxy_present ? "memproxy enabled" : "memproxy not enabled");
    if (a.memproxy_present && !a.order_ok) std::cout << ", but after the allocator (run `memproxyctl preload enable`)";
    std::cout << '\n';
    for (const auto& entry : a.entries) std::cout << "  " << entry << '\n';
  }
  return enabled ? kExitOk : kExitNegative;
}

int cmd_preload_enable(const GlobalOptions&, const PreloadArgs& args) {
  if (platform::kUsesCrle || args.print_crle) return print_crle(args, true);
  EditLock lock;
  EditStart start = start_edit(args, &lock);
  if (start.refusal >= 0) return start.refusal;
  const std::string& text = start.before.bytes;

  if (!args.allocator.empty() && !args.allow_second_allocator) {
    auto others = other_allocators(text, args.allocator);
    if (!others.empty()) {
      std::cerr << "memproxyctl: refused: " << args.file << " already lists the allocator " << others.front()
                << "; adding " << args.allocator << " would make two allocators serve the same blocks. "
                << "Remove " << others.front() << " first, or pass --allow-second-allocator\n";
      return kExitRefused;
    }
  }
  const std::string entry = args.library.empty() ? platform::kPreloadEntry : args.library;
  const std::string updated = enable_memproxy(text, entry, args.allocator, is_allocator_entry);
  if (start.before.exists && updated == text) {
    std::cout << args.file << ": memproxy is already enabled, in the right order; nothing to do\n";
    return kExitOk;
  }
  Verification v = verify_preload(preload_entries(updated), true, verify_options(args));
  if (!v.ok) {
    std::cerr << "memproxyctl: verification failed, " << args.file << " is unchanged: " << v.detail << '\n';
    return kExitRefused;
  }
  std::cout << "verified: " << v.detail << '\n';

  // What memproxy added, before and now: only entries still in the file count.
  const auto now_listed = preload_entries(updated);
  std::vector<std::string> added;
  for (const auto& e : start.added) {
    if (listed(now_listed, e) && !listed(added, e)) added.push_back(e);
  }
  if (!listed(added, entry)) added.push_back(entry);
  const auto before_listed = preload_entries(text);
  const bool allocator_was_listed = std::any_of(before_listed.begin(), before_listed.end(),
                                                [&](const std::string& e) { return same_library(e, args.allocator); });
  if (!args.allocator.empty() && !allocator_was_listed && !listed(added, args.allocator)) {
    added.push_back(args.allocator);
  }
  return finish_edit(args, start, updated, added);
}

int cmd_preload_disable(const GlobalOptions&, const PreloadArgs& args) {
  if (platform::kUsesCrle || args.print_crle) return print_crle(args, false);
  EditLock lock;
  EditStart start = start_edit(args, &lock);
  if (start.refusal >= 0) return start.refusal;
  // libmemproxy's entries, and what enable recorded adding; an allocator the
  // administrator listed before enable stays.
  const std::string updated = remove_entries(start.before.bytes, [&start](const std::string& e) {
    return is_memproxy_library(e) || listed(start.added, e);
  });
  if (updated == start.before.bytes) {
    std::cout << args.file << ": memproxy is not enabled; nothing to do\n";
    return kExitOk;
  }
  return finish_edit(args, start, updated, {});
}

}  // namespace memproxyctl
