"""Progress lines for long commands: shown on a terminal, silent in pipes, CI and --quiet."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """`with Progress(total, "compare") as p: p.step("eager")` prints `[2/4] compare: eager (3.1 s)`."""

    def __init__(self, total: int, label: str, *, quiet: bool = False, stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        self.enabled = not quiet and self.stream.isatty()
        self.total, self.label, self.done = total, label, 0
        self.t0 = time.perf_counter()

    def step(self, what: str) -> None:
        self.done += 1
        if self.enabled:
            elapsed = time.perf_counter() - self.t0
            self.stream.write(f"\r\033[K[{self.done}/{self.total}] {self.label}: {what} ({elapsed:.1f} s)")
            self.stream.flush()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self.stream.write("\r\033[K")
            self.stream.flush()
