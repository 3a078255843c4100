"""glibc malloc's thresholds, pinned for the benchmark process.

A TF1 `feed_dict` step at batch 10,000 gathers a fresh 31 MB batch and frees it. glibc moves
its mmap threshold after the first such free, then hands freed memory back to the kernel
whenever the top of the heap holds more than twice that threshold. How much it hands back, and
so how many pages the next step faults in again, depends on the heap's history. On a 2-core VM
this was 0 to 3,800 page faults a step (up to 15 MB): TF1's ms/step at batch 10,000 moved
between 1.6x and 2.7x the floor from one process to the next.

Setting both thresholds explicitly switches glibc's adjustment off (mallopt(3)): blocks of up to
32 MiB come from the heap, and the heap keeps up to 1 GiB of freed memory, so every case reuses
its pages, whatever ran before it. This removes a cost of heap history, not one of the idiom;
every case in the process runs under the same setting, and the report says whether it held.
`--bench-malloc=default` (`tfparity bench --malloc default`) keeps glibc's own behaviour, to
see what the pin changes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import platform

M_TRIM_THRESHOLD = -1  # from <malloc.h>
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = (
    32 * 2**20
)  # the largest glibc accepts (HEAP_MAX_SIZE / 2 on 64-bit): one 10,000 x 784 float32 batch fits
TRIM_THRESHOLD_BYTES = 2**30
MALLOC_MODES = ("pinned", "default")  # --bench-malloc: the thresholds pinned, or glibc's own adjustment kept


def configure_malloc(mode: str) -> str:
    """Apply a MALLOC_MODES setting to this process; what was done, in words, for the report."""
    if mode == "default":
        return "glibc's defaults kept (--bench-malloc=default): its thresholds adjust to the heap's history"
    if mode != "pinned":
        raise ValueError(f"malloc mode {mode!r}: choose from {MALLOC_MODES}")
    return pin_malloc_thresholds()


def pin_malloc_thresholds() -> str:
    """Pin glibc's mmap and trim thresholds; what was done, in words, for the report.

    Where the C library is not glibc (macOS, musl) nothing is changed and the text says so.
    """
    libc_name, libc_version = platform.libc_ver()
    if libc_name != "glibc":
        return f"not pinned: the C library is {libc_name or 'not glibc'}, mallopt does not apply"
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    if not (
        libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) and libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)
    ):
        return f"not pinned: glibc {libc_version} refused mallopt"
    return (
        f"glibc {libc_version} malloc pinned: mmap threshold {MMAP_THRESHOLD_BYTES // 2**20} MiB, "
        f"trim threshold {TRIM_THRESHOLD_BYTES // 2**30} GiB"
    )
