"""Give freed memory back to the operating system (glibc's malloc keeps freed heap pages otherwise).

Torch frees a tensor's buffer with free(); glibc keeps the pages in its arenas (one per thread that allocated,
so every training thread leaves one behind), and the process's resident memory stays at its peak. `trim()`
asks glibc to return what it can (malloc_trim). Elsewhere (or without glibc) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc


@functools.cache
def _libc():
    name = ctypes.util.find_library("c")
    try:
        lib = ctypes.CDLL(name) if name else None
        return lib if lib is not None and hasattr(lib, "malloc_trim") else None
    except OSError:
        return None


def trim(collect: bool = True) -> bool:
    """Collect garbage (cycles holding tensors) and return freed heap to the OS. True if malloc_trim ran."""
    if collect:
        gc.collect()
    lib = _libc()
    if lib is None:
        return False
    lib.malloc_trim(0)
    return True
