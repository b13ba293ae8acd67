"""Which allocator served this Python process's allocations, measured by the
allocators themselves rather than by memproxy's report: allocates 32 MiB
through malloc (a bytearray) and prints whether jemalloc's per-thread
"thread.allocated" counter and glibc's mallinfo2() mmapped bytes grew.
Only meaningful when libjemalloc is already mapped (preloaded): dlopen()ing
it fresh would fail on static TLS."""

import ctypes
import sys


class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
                 "fordblks", "keepcost")]


def main():
    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = MallInfo2
    jemalloc = ctypes.CDLL("libjemalloc.so.2", mode=ctypes.RTLD_GLOBAL | 4)  # RTLD_NOLOAD: must be mapped

    def jemalloc_allocated():
        value = ctypes.c_uint64()
        size = ctypes.c_size_t(ctypes.sizeof(value))
        if jemalloc.mallctl(b"thread.allocated", ctypes.byref(value), ctypes.byref(size), None, 0) != 0:
            sys.exit("mallctl(thread.allocated) failed")
        return value.value

    size = 32 << 20
    j0, g0 = jemalloc_allocated(), libc.mallinfo2().hblkhd
    block = bytearray(size)
    j1, g1 = jemalloc_allocated(), libc.mallinfo2().hblkhd
    print("jemalloc_grew", j1 - j0 >= size)
    print("glibc_grew", g1 - g0 >= size)
    del block
    return 0


if __name__ == "__main__":
    sys.exit(main())
