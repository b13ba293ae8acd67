// The C++ test program: operator new/delete paths.
//   route       64 x new char[1000] plus aligned and sized forms, report who served them
//   newhandler  the std::new_handler loop and std::bad_alloc through libmemproxy's operator new
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <cstdlib>
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

  // 64, not more: Debian 12's mimalloc 2.0.9 itself misaligns memalign(256, 512)
  // (also preloaded alone), which is not what this test is about.
  struct alignas(64) Wide { char bytes[512]; };
  Wide* w = new Wide;
  std::printf("aligned_new_ok=%d\n", reinterpret_cast<std::uintptr_t>(w) % 64 == 0);
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

}  // namespace

int main(int argc, char** argv) {
  setvbuf(stdout, nullptr, _IOLBF, 0);
  if (argc < 2) return 2;
  if (!std::strcmp(argv[1], "route")) return route();
  if (!std::strcmp(argv[1], "newhandler")) return newhandler();
  return 2;
}
