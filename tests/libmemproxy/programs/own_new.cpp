// A program that replaces only the unsized operator new and delete (over a
// static pool), as many do, and then uses every other form: the standard
// says those call the replaced ones. It must behave exactly as it does with
// no preload: every pointer its delete sees is one of its own.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

namespace {

constexpr std::size_t kPool = 8 << 20;
alignas(64) unsigned char pool[kPool];
std::size_t used = 0;
unsigned long news = 0, deletes = 0, foreign_deletes = 0;

bool in_pool(const void* p) {
  auto* c = static_cast<const unsigned char*>(p);
  return c >= pool && c < pool + kPool;
}

struct Node {
  Node* next;
  char payload[40];
};

}  // namespace

void* operator new(std::size_t n) {
  ++news;
  std::size_t need = (n + 15) & ~std::size_t{15};
  if (need == 0) need = 16;
  if (used + need > kPool) throw std::bad_alloc();
  void* p = pool + used;
  used += need;
  return p;
}

void operator delete(void* p) noexcept {
  if (p == nullptr) return;
  ++deletes;
  if (!in_pool(p)) ++foreign_deletes;
}

int main() {
  Node* list = nullptr;
  for (int i = 0; i < 100; ++i) list = new Node{list, {}};
  while (list != nullptr) {
    Node* next = list->next;
    delete list;  // sized delete: the program's unsized one, by the standard
    list = next;
  }
  int* array = new int[50];
  delete[] array;
  int* nothrow = new (std::nothrow) int(3);
  delete nothrow;
  char* nothrow_array = new (std::nothrow) char[30];
  delete[] nothrow_array;
  std::vector<std::string> strings;
  for (int i = 0; i < 200; ++i) strings.push_back(std::string(100, static_cast<char>('a' + i % 26)));
  strings.clear();
  strings.shrink_to_fit();
  std::printf("foreign_deletes=%lu news>=deletes=%d used>0=%d\n", foreign_deletes, news >= deletes, used > 0);
  return foreign_deletes == 0 ? 0 : 1;
}
