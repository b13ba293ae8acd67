#include "elf_symbols.hpp"

#include <elf.h>
#include <link.h>
#include <stdint.h>
#include <string.h>

namespace memproxy::elf {
namespace {

struct Tables {
  const uint32_t* gnu_hash = nullptr;
  const ElfW(Sym)* symtab = nullptr;
  const char* strtab = nullptr;
  const ElfW(Half)* versym = nullptr;
};

// glibc relocates these d_ptr values in place when it loads an object; other
// loaders leave them relative. An unrelocated one is below the load address.
uintptr_t address(const backends::Object& o, ElfW(Addr) ptr) { return ptr < o.addr ? o.addr + ptr : ptr; }

bool read_dynamic(const backends::Object& o, Tables* t) {
  const ElfW(Dyn)* dyn = nullptr;
  for (int i = 0; i < o.phnum; ++i) {
    if (o.phdr[i].p_type == PT_DYNAMIC) dyn = reinterpret_cast<const ElfW(Dyn)*>(o.addr + o.phdr[i].p_vaddr);
  }
  if (dyn == nullptr) return false;
  for (; dyn->d_tag != DT_NULL; ++dyn) {
    uintptr_t a = address(o, dyn->d_un.d_ptr);
    switch (dyn->d_tag) {
      case DT_GNU_HASH: t->gnu_hash = reinterpret_cast<const uint32_t*>(a); break;
      case DT_SYMTAB: t->symtab = reinterpret_cast<const ElfW(Sym)*>(a); break;
      case DT_STRTAB: t->strtab = reinterpret_cast<const char*>(a); break;
      case DT_VERSYM: t->versym = reinterpret_cast<const ElfW(Half)*>(a); break;
      default: break;
    }
  }
  return t->gnu_hash != nullptr && t->symtab != nullptr && t->strtab != nullptr;
}

uint32_t gnu_hash(const char* name) {
  uint32_t h = 5381;
  for (const unsigned char* c = reinterpret_cast<const unsigned char*>(name); *c != '\0'; ++c) h = h * 33 + *c;
  return h;
}

// A definition of `name` that dlsym would return (hidden versions are not).
bool defines(const Tables& t, uint32_t index, const char* name) {
  const ElfW(Sym)& s = t.symtab[index];
  if (s.st_shndx == SHN_UNDEF) return false;
  if (t.versym != nullptr && (t.versym[index] & 0x8000) != 0) return false;
  return strcmp(t.strtab + s.st_name, name) == 0;
}

}  // namespace

bool find_function(const backends::Object& o, const char* name, void** out) {
  *out = nullptr;
  Tables t;
  if (o.phdr == nullptr || !read_dynamic(o, &t)) return false;
  const uint32_t nbuckets = t.gnu_hash[0], symoffset = t.gnu_hash[1], bloom_words = t.gnu_hash[2];
  if (nbuckets == 0) return false;
  const uint32_t* buckets = t.gnu_hash + 4 + bloom_words * (sizeof(ElfW(Addr)) / 4);
  const uint32_t* chain = buckets + nbuckets;
  uint32_t h = gnu_hash(name);
  uint32_t i = buckets[h % nbuckets];
  if (i == 0 || i < symoffset) return true;
  for (;; ++i) {
    uint32_t link = chain[i - symoffset];
    if ((link | 1) == (h | 1) && defines(t, i, name)) {
      if ((t.symtab[i].st_info & 0xf) != STT_FUNC) return false;
      *out = reinterpret_cast<void*>(o.addr + t.symtab[i].st_value);
      return true;
    }
    if ((link & 1) != 0) return true;
  }
}

}  // namespace memproxy::elf
