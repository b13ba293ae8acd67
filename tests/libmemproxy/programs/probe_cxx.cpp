// The C++ test program: operator new/delete paths.
//   route       64 x new char[1000] plus aligned and sized forms, report who served them
//   newhandler  the std::new_handler loop and std::bad_alloc through libmemproxy's operator new
//   abi         every operator's result, normalised, to compare across backends: alignment
//               of every aligned form for 16..4096 and sizes around each alignment
//   refused     small blocks through malloc, calloc and the nothrow operators until the
//               address space (RLIMIT_AS, lowered) refuses 64 of them, then more 100-byte
//               ones until one is refused, then a throwing operator new of 100 bytes whose
//               new_handler gives the address space back (so it succeeds after a refusal);
//               stops itself (SIGSTOP) before (held=0) and after (held=N, the
//               usable bytes held, refused=N, handler_calls=N), frees every block and
//               stops again (held=0)
#include <sys/resource.h>
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <initializer_list>
#include <new>

#include "probe_support.h"

namespace {

int route() {
  constexpr int kBlocks = 64;
  char* blocks[kBlocks];
  mp_snapshot a = mp_snap();
  for (int i = 0; i < kBlocks; ++i) {
    blocks[i] = new char[1000];
    memset(blocks[i], i, 1000);
  }
  mp_snapshot b = mp_snap();
  mp_report("cxx", a, b, blocks[0]);
  for (int i = 0; i < kBlocks; ++i) delete[] blocks[i];

  struct alignas(512) Wide { char bytes[512]; };
  Wide* w = new Wide;
  std::printf("aligned_new_ok=%d\n", reinterpret_cast<std::uintptr_t>(w) % 512 == 0);
  delete w;
  int* n = new (std::nothrow) int(7);
  std::printf("nothrow_new_ok=%d\n", n != nullptr && *n == 7);
  ::operator delete(n, sizeof(int));
  return 0;
}

int g_handler_calls = 0;
void handler() {
  if (++g_handler_calls == 3) std::set_new_handler(nullptr);
}

int newhandler() {
  volatile std::size_t opaque = SIZE_MAX - 4096;
  const std::size_t huge = opaque;
  std::set_new_handler(handler);
  bool caught = false;
  try {
    char* p = static_cast<char*>(::operator new(huge));
    ::operator delete(p);
  } catch (const std::bad_alloc&) {
    caught = true;
  }
  std::printf("caught=%d handler_calls=%d\n", caught, g_handler_calls);
  void* q = ::operator new(huge, std::nothrow);
  std::printf("nothrow_null=%d\n", q == nullptr);
  bool caught_aligned = false;
  try {
    void* r = ::operator new[](huge, std::align_val_t{64});
    ::operator delete[](r, std::align_val_t{64});
  } catch (const std::bad_alloc&) {
    caught_aligned = true;
  }
  std::printf("caught_aligned=%d backend=%s\n", caught_aligned, mp_backend());
  return 0;
}

// Sizes hidden from the compiler, which would otherwise fold the calls.
std::size_t opaque(std::size_t v) {
  volatile std::size_t x = v;
  return x;
}

bool aligned_to(const void* p, std::size_t a) { return p != nullptr && reinterpret_cast<std::uintptr_t>(p) % a == 0; }

int abi() {
  for (std::size_t a = 16; a <= 4096; a *= 2) {
    const std::align_val_t al{a};
    int plain = 1, array = 1, nothrow = 1, array_nothrow = 1;
    for (std::size_t n : {std::size_t{1}, a / 2, a - 1, a, a + 1, 2 * a, 3 * a, 8 * a}) {
      for (int rep = 0; rep < 3; ++rep) {  // an allocator's first block of a size may differ from the next
        void* p = ::operator new(opaque(n), al);
        plain &= aligned_to(p, a);
        ::operator delete(p, n, al);
        void* q = ::operator new[](opaque(n), al);
        array &= aligned_to(q, a);
        ::operator delete[](q, al);
        void* r = ::operator new(opaque(n), al, std::nothrow);
        nothrow &= aligned_to(r, a);
        ::operator delete(r, al, std::nothrow);
        void* s = ::operator new[](opaque(n), al, std::nothrow);
        array_nothrow &= aligned_to(s, a);
        ::operator delete[](s, n, al);
      }
    }
    std::printf("new(align %zu) aligned=%d array=%d nothrow=%d array_nothrow=%d\n", a, plain, array, nothrow,
                array_nothrow);
  }
  struct alignas(512) Wide {
    char bytes[512];
  };
  int wide = 1;
  for (int i = 0; i < 8; ++i) {
    Wide* w = new Wide;
    wide &= aligned_to(w, 512);
    delete w;
  }
  std::printf("new alignas(512) aligned=%d\n", wide);
  void* zero = ::operator new(opaque(0));
  std::printf("new(0) nonnull=%d\n", zero != nullptr);
  ::operator delete(zero, std::size_t{0});
  void* nt = ::operator new(opaque(64), std::nothrow);
  std::printf("new(nothrow) nonnull=%d\n", nt != nullptr);
  ::operator delete(nt, std::nothrow);
  return 0;
}

void held_and_stop(const char* line) {
  std::printf("%s\n", line);
  std::fflush(stdout);
  raise(SIGSTOP);
}

// A refused block's list node: how it was made, so that it is freed the
// same way.
struct Held {
  Held* next;
  bool by_new;
};

struct rlimit g_address_space;
int g_refused_handler_calls = 0;
void give_address_space_back() {
  ++g_refused_handler_calls;
  setrlimit(RLIMIT_AS, &g_address_space);
  std::set_new_handler(nullptr);
}

// The virtual size, read before the limit is lowered to it and 256 MiB.
size_t virtual_bytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long pages = 0;
  const bool read = std::fscanf(f, "%lu", &pages) == 1;
  std::fclose(f);
  return read ? pages * static_cast<size_t>(sysconf(_SC_PAGESIZE)) : 0;
}

int refused() {
  held_and_stop("held=0");
  struct rlimit& old = g_address_space;
  if (getrlimit(RLIMIT_AS, &old) != 0) return 3;
  const size_t vsize = virtual_bytes();
  if (vsize == 0) return 3;
  struct rlimit low = {vsize + (256u << 20), old.rlim_max};
  if (setrlimit(RLIMIT_AS, &low) != 0) return 3;
  Held* head = nullptr;
  size_t held = 0;
  int refusals = 0;
  auto keep = [&](void* p, bool by_new) {
    Held* h = static_cast<Held*>(p);
    h->next = head;
    h->by_new = by_new;
    head = h;
    held += malloc_usable_size(p);
  };
  for (size_t i = 0; refusals < 64 && i < (64u << 20); ++i) {
    const size_t n = sizeof(Held) + (i * 7) % 1000;
    void* p = nullptr;
    switch (i % 4) {
      case 0: p = std::malloc(n); break;
      case 1: p = std::calloc(1, n); break;
      case 2: p = new (std::nothrow) char[n]; break;
      default: p = ::operator new(n, std::nothrow); break;
    }
    if (p == nullptr) {
      ++refusals;
    } else {
      keep(p, i % 4 >= 2);
    }
  }
  for (int i = 0; i < (1 << 24); ++i) {
    void* p = ::operator new(100, std::nothrow);
    if (p == nullptr) break;
    keep(p, true);
  }
  std::set_new_handler(give_address_space_back);
  keep(::operator new(100), true);
  char line[128];
  std::snprintf(line, sizeof line, "held=%zu refused=%d handler_calls=%d", held, refusals, g_refused_handler_calls);
  held_and_stop(line);
  while (head != nullptr) {
    Held* next = head->next;
    if (head->by_new) {
      ::operator delete(head);
    } else {
      std::free(head);
    }
    head = next;
  }
  held_and_stop("held=0");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  setvbuf(stdout, nullptr, _IOLBF, 0);
  if (argc < 2) return 2;
  if (!std::strcmp(argv[1], "route")) return route();
  if (!std::strcmp(argv[1], "newhandler")) return newhandler();
  if (!std::strcmp(argv[1], "abi")) return abi();
  if (!std::strcmp(argv[1], "refused")) return refused();
  return 2;
}
