#include "decision.hpp"

#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <limits.h>

#include "backends.hpp"
#include "block_size.hpp"
#include "bootstrap_arena.hpp"
#include "counting.hpp"
#include "cpython.hpp"
#include "debug_line.hpp"
#include "deepbind.hpp"
#include "dispatch.hpp"
#include "environment.hpp"
#include "errno_conformance.hpp"
#include "glibc_semantics.hpp"
#include "heap_account.hpp"
#include "memproxy/defaults.hpp"
#include "memproxy/table_consult.hpp"
#include "platform.hpp"
#include "program_identity.hpp"
#include "sampling.hpp"
#include "targets.hpp"
#include "text_buffer.hpp"

namespace memproxy {

Allocator g_libc MP_HOT_STATE;
Allocator g_chosen MP_HOT_STATE;

namespace decision {
namespace {

enum State : int { kUndecided, kDeciding, kDecided };
int g_state MP_STATE = kUndecided;
long g_decider_tid MP_STATE = 0;
bool g_monitored MP_STATE = false;

char g_backend_name[8 + memproxy::table::kMaxAllocatorLength + 1] MP_STATE = "undecided";

[[noreturn]] void fatal(const char* message) {
  char storage[512];
  TextBuffer line(storage, sizeof storage);
  line.add("memproxy: fatal: ").add(message).add("\n");
  ssize_t ignored = write(2, line.c_str(), line.size());
  (void)ignored;
  abort();
}

struct Choice {
  bool custom;
  const char* library;  // custom only
  backends::Found found;
};

void describe_matches(const TableVerdict& v, const match::Identity* id, TextBuffer* reason) {
  bool first = true;
  for (uint32_t form = 0; form < match::kForms; ++form) {
    uint32_t flags = v.match.key_flags[form];
    if (flags == 0) continue;
    reason->add(first ? "" : ", ");
    first = false;
    bool excludes = (flags & table::kFlagExclude) != 0, monitors = (flags & table::kFlagMonitor) != 0;
    reason->add(excludes && monitors ? "excluded and monitored" : excludes ? "excluded" : "monitored");
    reason->add(" by entry ").add(id != nullptr && id->key[form] != nullptr ? id->key[form] : "?");
    reason->add(" (").add(match::form_name(form)).add(")");
  }
}

void describe_untrusted(const TableVerdict& v, TextBuffer* reason) {
  reason->add(v.detail);
  if (v.trust != trust::Verdict::ok) {
    reason->add(": ").add(v.trust_where[0] != '\0' ? v.trust_where : "it").add(" ").add(trust::describe(v.trust));
  }
}

// The decision proper, once the table has spoken: find the backend.
// Fills g_chosen and the reason text; allocations made in here use the arena.
Choice choose(const TableVerdict& v, const match::Identity* id, backends::Interposition interposed,
              TextBuffer* reason) {
  Choice system{false, nullptr, {}};
  const TableRoute route = route_of(v);
  switch (v.outcome) {
    case TableOutcome::missing:
    case TableOutcome::unusable:
      reason->add(v.detail);
      break;
    case TableOutcome::untrusted:
      describe_untrusted(v, reason);
      break;
    case TableOutcome::lookup_failed:
      reason->add("table lookup failed (").add(v.detail).add("), fail policy ").add(route.custom ? "custom" : "system");
      break;
    case TableOutcome::matched:
      if (v.match.flags != 0) {
        describe_matches(v, id, reason);
      } else {
        reason->add("not listed");
      }
      break;
  }
  if (!route.custom) return system;
  if (interposed.c) {
    reason->add(", but the program brings its own malloc: libmemproxy passes every call through as if absent");
    return system;
  }
  backends::DlopenFn real_dlopen = deepbind::real_dlopen();
  backends::Found found;
  if (backends::find_preloaded(real_dlopen, &g_chosen, &found)) {
    reason->add(", allocator preloaded");
  } else if (v.allocator[0] != '\0') {
    const char* error = nullptr;
    char untrusted[256] = "";
    if (!backends::load_named(real_dlopen, v.allocator, &g_chosen, &found, &error, untrusted, sizeof untrusted)) {
      reason->add(", but the allocator ").add(v.allocator).add(" cannot be used: ").add(error);
      if (untrusted[0] != '\0') reason->add(" (").add(untrusted).add(")");
      reason->add("; preload it after libmemproxy.so instead");
      g_chosen = g_libc;
      return system;
    }
    reason->add(", allocator loaded with dlopen");
  } else {
    reason->add(", but no allocator is preloaded after libmemproxy.so and the table names none");
    return system;
  }
  return {true, found.library, found};
}

void install(const Dispatch& d) {
#define MP_C(kind, counter, name, ret, params, args) store_slot(&g_dispatch.name, d.name);
#define MP_LIBC(kind, counter, name, of, ret, params, args) store_slot(&g_dispatch.name, d.name);
#define MP_CXX(kind, slot, mangled, declarator, ret, params, args) store_slot(&g_dispatch.slot, d.slot);
#include "memproxy/allocator_family.def"
}

// The heap socket beside the table (or in the default runtime directory).
void heap_socket_path(const char* table_path, char* out, size_t size) {
  TextBuffer path(out, size);
  const char* slash = strrchr(table_path, '/');
  if (slash != nullptr && slash != table_path) {
    path.add(table_path, static_cast<size_t>(slash - table_path));
  } else {
    path.add(defaults::kRuntimeDir);
  }
  path.add("/").add(defaults::kHeapSocketName);
}

// The default budget, 1,000 samples a second, bounds the stack walks of
// sampling (a few microseconds each) to about 0.5% of one core however fast
// the program allocates.
constexpr uint64_t kDefaultSampleBudget = 1000;

// How the counting slots learn the bytes of a call: from the backend's
// thread counters when they are followed, else from block sizes, read in
// place where the backend's layout is known and checked (block_size.hpp).
counting::Sizing sizing_of(const backends::Found* custom, bool followed) {
  if (followed) return counting::kByBackendCounters;
  if (custom == nullptr) {
    return block_size::glibc_chunks_readable(g_chosen) ? counting::kByGlibcChunk : counting::kBySizeQuery;
  }
  auto version = reinterpret_cast<int (*)()>(backends::optional_symbol(*custom, "mi_version"));
  auto good_size = reinterpret_cast<size_t (*)(size_t)>(backends::optional_symbol(*custom, "mi_good_size"));
  if (block_size::mimalloc_pages_readable(g_chosen, version, good_size)) return counting::kByMimallocPage;
  block_size::prepare_size_query(g_chosen);
  return counting::kBySizeQuery;
}

// Counting slots over `d` when the process is monitored and can be,
// sampling at the mean the matching rule gives (match::sample_rate, which
// memproxyctl explain applies too).
void monitor(const char* table_path, backends::Interposition interposed, const backends::Found* custom,
             const Environment& env, const match::Result& matched, Dispatch* d, TextBuffer* reason) {
  if (interposed.c) {
    reason->add(", not monitored: the program brings its own malloc");
    g_monitored = false;
    return;
  }
  char socket_path[PATH_MAX];
  heap_socket_path(table_path, socket_path, sizeof socket_path);
  const char* why = nullptr;
  if (!account::open(socket_path, &why)) {
    reason->add(", not monitored: ").add(why);
    g_monitored = false;
    return;
  }
  bool followed = custom != nullptr && account::follow_backend_counters(reinterpret_cast<account::Mallctl>(
                                           backends::optional_symbol(*custom, "mallctl")));
  counting::g_targets = *d;
  const counting::Sizing sizing = sizing_of(custom, followed);
  if (sizing != counting::kByBackendCounters) account::count_by_sizes();
  *d = counting::over_targets(!interposed.cxx, sizing);
  const match::SampleRate rate = match::sample_rate(matched, env.sample_bytes);
  sampling::start(rate.mean_bytes,
                  env.sample_budget >= 0 ? static_cast<uint64_t>(env.sample_budget) : kDefaultSampleBudget);
  reason->add(sizing == counting::kByBackendCounters ? ", monitored by the allocator's thread counters"
              : sizing == counting::kBySizeQuery        ? ", monitored, block sizes asked"
                                                        : ", monitored, block sizes read in place");
  reason->add(account::handed_over() ? " (account handed to " : " (no daemon listens at ").add(socket_path).add(")");
  if (rate.mean_bytes == 0) {
    reason->add(", no sampled stacks");
  } else {
    reason->add(", sampling every ").add_uint(rate.mean_bytes).add(" bytes");
  }
  reason->add(" (").add(match::sample_source_name(rate.source)).add(")");
  cpython::route_objects_to_malloc(env.keep_python_allocator, reason);
}

// From the table's verdict to the installed dispatch table.
void conclude(const char* table_path, const TableVerdict& verdict, const match::Identity* id, const Environment& env,
              TextBuffer* reason) {
  const bool monitor_asked = env.monitor;
  backends::Interposition interposed = backends::find_interposition();
  Choice choice = choose(verdict, id, interposed, reason);
  if (!choice.custom) g_chosen = g_libc;
  g_semantics.custom = choice.custom;
  g_monitored = monitored_by_table(verdict) || monitor_asked;

  TextBuffer name(g_backend_name, sizeof g_backend_name);
  if (choice.custom) {
    name.add("custom:").add(choice.library);
  } else {
    name.add("system");
  }

  // Before sealing: what the allocator allocates while answering comes from the arena.
  ErrnoConformance conformance{true, true};
  if (choice.custom) {
    deepbind::adopt_backend(choice.found);
    conformance = make_errno_conform(choice.found);
  }
  Dispatch d = targets::for_mode({choice.custom, conformance, interposed});
  if (g_monitored) {
    monitor(table_path, interposed, choice.custom ? &choice.found : nullptr, env, verdict.match, &d, reason);
  }
  arena::seal();
  install(d);
}

TablePolicy policy_for(const char* table_path, const Environment& env) {
  // The standard table, and any table in a process of root's, must be root's.
  return {table_path != env.table || platform::root_involved()};
}

// The scratch of the decision lives on the stack, never in the library's
// data (one private page for all of it, state.hpp). Without MEMPROXY_DEBUG
// the identity (PATH_MAX) is gone before the backends are looked up, and the
// reason text is not kept, so the deep dlopen/dlsym frames sit no deeper.
__attribute__((noinline)) void look_up_program(const char* table_path, TablePolicy policy, TableVerdict* verdict) {
  ProgramIdentity id;
  identify_program(&id);
  consult_table(table_path, policy, identity_of(id), verdict);
}

__attribute__((noinline)) void decide_quietly(const char* table_path, const Environment& env) {
  TableVerdict verdict;
  look_up_program(table_path, policy_for(table_path, env), &verdict);
  char unused[1];
  TextBuffer reason(unused, sizeof unused);
  conclude(table_path, verdict, nullptr, env, &reason);
}

__attribute__((noinline)) void decide_verbosely(const char* table_path, const Environment& env) {
  ProgramIdentity id;
  identify_program(&id);
  TableVerdict verdict;
  const match::Identity who = identity_of(id);
  consult_table(table_path, policy_for(table_path, env), who, &verdict);
  char reason_storage[1536];
  TextBuffer reason(reason_storage, sizeof reason_storage);
  conclude(table_path, verdict, &who, env, &reason);
  write_debug_line(DebugFacts{&id, g_backend_name, g_monitored, table_path, verdict.has_header, verdict.generation,
                              env.secure, reason.c_str()});
}

void decide() {
  if (!backends::resolve_libc(deepbind::real_dlopen())) fatal("cannot find the C library's allocator");
  g_chosen = g_libc;
  g_semantics.page_size = platform::page_size();
  g_semantics.c17_aligned_alloc =
      reinterpret_cast<void*>(g_libc.aligned_alloc) != reinterpret_cast<void*>(g_libc.memalign);

  Environment env = read_environment();
  const char* table_path = env.table != nullptr ? env.table : defaults::kTablePath;
  if (env.debug) {
    decide_verbosely(table_path, env);
  } else {
    decide_quietly(table_path, env);
  }
}

__attribute__((constructor(101))) void decide_in_constructor() { ensure(); }

}  // namespace

bool ensure() {
  int state = __atomic_load_n(&g_state, __ATOMIC_ACQUIRE);
  if (__builtin_expect(state == kDecided, 1)) return true;
  if (state == kUndecided &&
      __atomic_compare_exchange_n(&g_state, &state, kDeciding, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    __atomic_store_n(&g_decider_tid, platform::thread_id(), __ATOMIC_RELAXED);
    decide();
    __atomic_store_n(&g_state, kDecided, __ATOMIC_RELEASE);
    return true;
  }
  return state == kDecided;
}

bool wait() {
  if (__atomic_load_n(&g_decider_tid, __ATOMIC_RELAXED) == platform::thread_id()) return false;
  while (__atomic_load_n(&g_state, __ATOMIC_ACQUIRE) != kDecided) sched_yield();
  return true;
}

const char* backend_name() {
  ensure();
  return g_backend_name;
}

// A monitored process's free slots stay counting ones, which sort libc's
// blocks out first, so the program's frees are still counted.
void recognise_foreign_blocks(bool (*foreign)(const void*)) {
  __atomic_store_n(&g_semantics.foreign, foreign, __ATOMIC_RELEASE);
  store_slot(&g_dispatch.free, g_monitored ? counting::g_sorting_free.free : &glibc_semantics::free_deepbind);
#if MP_PLATFORM_LIBC_ALIASES
  store_slot(&g_dispatch.__libc_free,
             g_monitored ? counting::g_sorting_free.libc_free : &glibc_semantics::free_deepbind);
#endif
}

}  // namespace decision
}  // namespace memproxy
