"""Progress of long commands on stderr: a live line on a terminal, one plain line per finished unit elsewhere.

CI logs and pipes get no carriage returns, but they are not left silent for minutes either:
each unit (a style, a pitfall, a benchmark case) writes one line when it ends. On a terminal the
live line's clock ticks every second while a unit runs (a cluster's start-up, an eager style's
thousand steps), so a long unit never looks hung. `--quiet` silences both.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

TICK_S = 1.0  # the live line's clock, redrawn while a unit runs


class Progress:
    """`with Progress(4, "compare") as p: p.step("training eager")` shows `[2/4] compare: training eager (3.1 s)`.

    `step(what)` announces a unit that starts now (the one before it has ended); `done(what)`
    reports a unit that has just ended (for callers that learn of units as they finish).
    """

    def __init__(self, total: int, label: str, *, quiet: bool = False, stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        self.live = not quiet and self.stream.isatty()
        self.lines = not quiet and not self.live
        self.total, self.label, self.count = total, label, 0
        self.t0 = self.unit_t0 = time.perf_counter()
        self.current: str | None = None
        self._lock = threading.Lock()  # the ticker and the caller both write the live line
        self._stopped = threading.Event()
        self._ticker = threading.Thread(target=self._tick, name="progress-ticker", daemon=True)
        if self.live:
            self._ticker.start()

    def _tick(self) -> None:
        while not self._stopped.wait(TICK_S):
            with self._lock:
                if self.current is not None:
                    self._show_live(self.current)

    def step(self, what: str) -> None:
        with self._lock:
            self._end_current()
            self.count += 1
            self.current, self.unit_t0 = what, time.perf_counter()
            self._show_live(what)

    def done(self, what: str) -> None:
        with self._lock:
            self.count += 1
            self._show_live(what)
            if self.lines:
                self._line(f"{what} ({time.perf_counter() - self.unit_t0:.1f} s)")
            self.unit_t0 = time.perf_counter()

    def _end_current(self) -> None:
        if self.current is not None and self.lines:
            self._line(f"{self.current}: done in {time.perf_counter() - self.unit_t0:.1f} s")
        self.current = None

    def _show_live(self, what: str) -> None:
        if self.live:
            elapsed = time.perf_counter() - self.t0
            self.stream.write(f"\r\033[K[{self.count}/{self.total}] {self.label}: {what} ({elapsed:.1f} s)")
            self.stream.flush()

    def _line(self, text: str) -> None:
        self.stream.write(f"[{self.count}/{self.total}] {self.label}: {text}\n")
        self.stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, exc_type, *exc) -> None:
        self._stopped.set()
        if self._ticker.is_alive():
            self._ticker.join()
        if exc_type is None:
            self._end_current()
        if self.live:
            self.stream.write("\r\033[K")
            self.stream.flush()
