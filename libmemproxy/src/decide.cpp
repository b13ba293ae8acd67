#include "decide.hpp"

#include <errno.h>
#include <stdint.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "backends.hpp"
#include "bootstrap_arena.hpp"
#include "debug_line.hpp"
#include "deepbind.hpp"
#include "dispatch.hpp"
#include "errno_conformance.hpp"
#include "export.hpp"
#include "memproxy.h"
#include "memproxy/defaults.hpp"
#include "platform.hpp"
#include "program_identity.hpp"
#include "routes.hpp"
#include "table_access.hpp"
#include "text_buffer.hpp"

namespace memproxy {

Allocator g_libc MP_HOT_STATE;
Allocator g_chosen MP_HOT_STATE;

namespace {

enum State : int { kUndecided, kDeciding, kDecided };
int g_state MP_STATE = kUndecided;
long g_decider_tid MP_STATE = 0;

char g_backend_name[8 + memproxy::table::kMaxAllocatorLength + 1] MP_STATE = "undecided";

long current_tid() { return syscall(SYS_gettid); }

[[noreturn]] void fatal(const char* message) {
  char storage[512];
  TextBuffer line(storage, sizeof storage);
  line.add("memproxy: fatal: ").add(message).add("\n");
  ssize_t ignored = write(2, line.c_str(), line.size());
  (void)ignored;
  abort();
}

const char* environment(const char* name, bool secure) { return secure ? nullptr : getenv(name); }

struct Choice {
  bool custom;
  const char* library;  // custom only
  backends::Found found;
};

// The decision proper, once the table has spoken: find the backend.
// Fills g_chosen and the reason text; allocations made in here use the arena.
Choice choose(const TableVerdict& v, TextBuffer* reason) {
  Choice system{false, nullptr, {}};
  switch (v.outcome) {
    case TableOutcome::missing:
    case TableOutcome::untrusted:
    case TableOutcome::unusable:
      reason->add(v.detail);
      return system;
    case TableOutcome::lookup_failed:
      reason->add("table lookup failed (").add(v.detail).add("), fail policy ");
      if (v.fail_policy != memproxy::table::kFailCustom) {
        reason->add("system");
        return system;
      }
      reason->add("custom");
      break;
    case TableOutcome::listed:
      if ((v.flags & memproxy::table::kFlagExclude) != 0) {
        reason->add("excluded by entry ").add(v.matched_key);
        return system;
      }
      reason->add("listed without exclude");
      break;
    case TableOutcome::not_listed:
      reason->add("not excluded");
      break;
  }
  backends::DlopenFn real_dlopen = deepbind::real_dlopen();
  backends::Found found;
  if (backends::find_preloaded(real_dlopen, &g_chosen, &found)) {
    reason->add(", allocator preloaded");
  } else if (v.allocator[0] != '\0') {
    const char* error = nullptr;
    if (!backends::load_named(real_dlopen, v.allocator, &g_chosen, &found, &error)) {
      reason->add(", but the allocator cannot be used: ").add(error);
      reason->add("; preload it after libmemproxy.so instead");
      return system;
    }
    reason->add(", allocator loaded with dlopen");
  } else {
    reason->add(", but no allocator is preloaded after libmemproxy.so and the table names none");
    return system;
  }
  return {true, found.library, found};
}

void install(bool custom, ErrnoConformance conformance) {
  Dispatch d;
  if (!custom) {
    d = Dispatch{g_libc.malloc,        g_libc.free,           g_libc.calloc, g_libc.realloc,
                 g_libc.memalign,      g_libc.posix_memalign, g_libc.aligned_alloc,
                 g_libc.valloc,        g_libc.pvalloc,        g_libc.reallocarray,
                 g_libc.malloc_usable_size};
  } else {
    d = Dispatch{g_chosen.malloc,         g_chosen.free,        g_chosen.calloc, routes::realloc,
                 routes::memalign,        routes::posix_memalign, routes::aligned_alloc,
                 routes::valloc,          routes::pvalloc,      routes::reallocarray,
                 routes::malloc_usable_size};
    if (!conformance.malloc) d.malloc = routes::malloc_enomem;
    if (!conformance.calloc) d.calloc = routes::calloc_enomem;
  }
  store_slot(&g_dispatch.malloc, d.malloc);
  store_slot(&g_dispatch.free, d.free);
  store_slot(&g_dispatch.calloc, d.calloc);
  store_slot(&g_dispatch.realloc, d.realloc);
  store_slot(&g_dispatch.memalign, d.memalign);
  store_slot(&g_dispatch.posix_memalign, d.posix_memalign);
  store_slot(&g_dispatch.aligned_alloc, d.aligned_alloc);
  store_slot(&g_dispatch.valloc, d.valloc);
  store_slot(&g_dispatch.pvalloc, d.pvalloc);
  store_slot(&g_dispatch.reallocarray, d.reallocarray);
  store_slot(&g_dispatch.malloc_usable_size, d.malloc_usable_size);
}

// From the table's verdict to the installed dispatch table.
void conclude(const TableVerdict& verdict, TextBuffer* reason) {
  Choice choice = choose(verdict, reason);
  if (!choice.custom) g_chosen = g_libc;
  g_routes.custom = choice.custom;

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
  arena::seal();
  install(choice.custom, conformance);
}

// The scratch of the decision lives on the stack, never in the library's
// data (one private page for all of it, state.hpp). Without MEMPROXY_DEBUG
// the identity (PATH_MAX) is gone before the backends are looked up, and the
// reason text is not kept, so the deep dlopen/dlsym frames sit no deeper.
__attribute__((noinline)) void look_up_program(const char* table_path, bool trust_owner, TableVerdict* verdict) {
  ProgramIdentity id;
  identify_program(&id);
  consult_table(table_path, trust_owner, id, verdict);
  verdict->matched_key = nullptr;  // pointed into id
}

__attribute__((noinline)) void decide_quietly(const char* table_path, bool trust_owner) {
  TableVerdict verdict;
  look_up_program(table_path, trust_owner, &verdict);
  char unused[1];
  TextBuffer reason(unused, sizeof unused);
  conclude(verdict, &reason);
}

__attribute__((noinline)) void decide_verbosely(const char* table_path, bool trust_owner, bool secure) {
  ProgramIdentity id;
  identify_program(&id);
  TableVerdict verdict;
  consult_table(table_path, trust_owner, id, &verdict);
  char reason_storage[1536];
  TextBuffer reason(reason_storage, sizeof reason_storage);
  conclude(verdict, &reason);
  write_debug_line(DebugFacts{&id, g_backend_name, table_path, verdict.has_header, verdict.generation, secure,
                              reason.c_str()});
}

void decide() {
  if (!backends::resolve_libc(deepbind::real_dlopen())) fatal("cannot find the C library's allocator");
  g_chosen = g_libc;
  g_routes.page_size = platform::page_size();
  g_routes.c17_aligned_alloc = reinterpret_cast<void*>(g_libc.aligned_alloc) != reinterpret_cast<void*>(g_libc.memalign);

  bool secure = platform::secure_mode();
  const char* env_table = environment("MEMPROXY_TABLE", secure);
  const char* env_debug = environment("MEMPROXY_DEBUG", secure);
  const char* table_path = env_table != nullptr && env_table[0] != '\0' ? env_table : defaults::kTablePath;
  bool trust_owner = table_path != env_table;

  if (env_debug != nullptr && strcmp(env_debug, "1") == 0) {
    decide_verbosely(table_path, trust_owner, secure);
  } else {
    decide_quietly(table_path, trust_owner);
  }
}

// Waits for another thread's decision. The decider itself never waits on
// itself: it gets ENOMEM for what the arena cannot serve.
bool wait_decided() {
  if (__atomic_load_n(&g_decider_tid, __ATOMIC_RELAXED) == current_tid()) return false;
  while (__atomic_load_n(&g_state, __ATOMIC_ACQUIRE) != kDecided) sched_yield();
  return true;
}

size_t arena_alignment(size_t alignment) {
  size_t a = 16;
  while (a < alignment && a != 0) a <<= 1;
  return a;
}

// The boot_* functions are g_dispatch's initial slots.

void* boot_aligned(size_t alignment, size_t size, void* (*again)(size_t, size_t)) {
  if (!decision::ensure()) {
    void* p = arena::allocate(size, arena_alignment(alignment));
    if (p != nullptr) return p;
    if (!wait_decided()) {
      errno = ENOMEM;
      return nullptr;
    }
  }
  return again(alignment, size);
}

void* boot_malloc(size_t size) {
  return boot_aligned(16, size, [](size_t, size_t n) { return g_dispatch.malloc(n); });
}

void* boot_calloc(size_t n, size_t size) {
  size_t bytes;
  if (__builtin_mul_overflow(n, size, &bytes)) {
    errno = ENOMEM;
    return nullptr;
  }
  if (decision::ensure()) return g_dispatch.calloc(n, size);
  return boot_malloc(bytes);  // arena memory is .bss: zero and never reused
}

void* boot_memalign(size_t alignment, size_t size) {
  return boot_aligned(alignment, size, [](size_t a, size_t n) { return g_dispatch.memalign(a, n); });
}

void* boot_aligned_alloc(size_t alignment, size_t size) {
  return boot_aligned(alignment, size, [](size_t a, size_t n) { return g_dispatch.aligned_alloc(a, n); });
}

void* boot_valloc(size_t size) {
  return boot_aligned(4096, size, [](size_t, size_t n) { return g_dispatch.valloc(n); });
}

void* boot_pvalloc(size_t size) {
  if (decision::ensure()) return g_dispatch.pvalloc(size);
  if (size > SIZE_MAX - 4095) {
    errno = ENOMEM;
    return nullptr;
  }
  return boot_aligned(4096, (size + 4095) & ~size_t{4095}, [](size_t, size_t n) { return g_dispatch.pvalloc(n); });
}

int boot_posix_memalign(void** out, size_t alignment, size_t size) {
  if (decision::ensure()) return g_dispatch.posix_memalign(out, alignment, size);
  void* p = boot_memalign(alignment, size);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}

void boot_free(void* p) {
  if (decision::ensure()) g_dispatch.free(p);
}

void* boot_realloc(void* p, size_t size) {
  if (decision::ensure()) return g_dispatch.realloc(p, size);
  if (p == nullptr) return boot_malloc(size);
  if (!arena::handed_out(p) || size == 0) return nullptr;
  void* q = boot_malloc(size);
  if (q != nullptr) {
    size_t old = arena::block_size(p);
    memcpy(q, p, old < size ? old : size);
  }
  return q;
}

void* boot_reallocarray(void* p, size_t n, size_t size) {
  size_t bytes;
  if (__builtin_mul_overflow(n, size, &bytes)) {
    errno = ENOMEM;
    return nullptr;
  }
  return boot_realloc(p, bytes);
}

size_t boot_malloc_usable_size(void* p) {
  if (decision::ensure()) return g_dispatch.malloc_usable_size(p);
  return p != nullptr && arena::handed_out(p) ? arena::block_size(p) : 0;
}

__attribute__((constructor(101))) void decide_in_constructor() { decision::ensure(); }

}  // namespace

Dispatch g_dispatch MP_HOT_STATE = {
    boot_malloc,   boot_free,    boot_calloc,       boot_realloc,           boot_memalign, boot_posix_memalign,
    boot_aligned_alloc, boot_valloc, boot_pvalloc, boot_reallocarray, boot_malloc_usable_size,
};

namespace decision {

bool ensure() {
  int state = __atomic_load_n(&g_state, __ATOMIC_ACQUIRE);
  if (__builtin_expect(state == kDecided, 1)) return true;
  if (state == kUndecided &&
      __atomic_compare_exchange_n(&g_state, &state, kDeciding, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    __atomic_store_n(&g_decider_tid, current_tid(), __ATOMIC_RELAXED);
    decide();
    __atomic_store_n(&g_state, kDecided, __ATOMIC_RELEASE);
    return true;
  }
  return state == kDecided;
}

}  // namespace decision
}  // namespace memproxy

extern "C" MP_EXPORT const char* memproxy_backend(void) {
  memproxy::decision::ensure();
  return memproxy::g_backend_name;
}
