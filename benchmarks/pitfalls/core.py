"""What a pitfall is, what measuring one gives back, and how the process-global ones run.

A pitfall pairs a TF1 line with the TF2 line that looks equivalent, says what actually
differs and how to fix it, and carries `measure(data)`: a small experiment on real data that
returns a `Measurement`, the numbers plus the named claims they were checked against.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from tfparity.compat import Datasets

# Loads a data set by name ("mnist", "fashion_mnist"); the CLI and the tests pass their own.
DataLoader = Callable[[str], Datasets]

CHILD_TIMEOUT_S = 300

Run = TypeVar("Run")


@dataclass(frozen=True)
class Measurement:
    """The outcome of one experiment.

    `numbers` holds the measured values (JSON-ready); `effect` says in one line what they
    show; `checks` maps each claim, worded with its threshold, to whether it held here.
    `not_measured` names parts that could not run on this machine and why (no GPU, no
    network to fetch tf_keras): those parts are reported, never counted as held.
    """

    effect: str
    checks: dict[str, bool]
    numbers: dict[str, Any]
    not_measured: dict[str, str] = field(default_factory=dict)

    @property
    def expected(self) -> str:
        return "; ".join(self.checks)

    @property
    def holds(self) -> bool:
        return all(self.checks.values())

    def failed_checks(self) -> list[str]:
        return [claim for claim, held in self.checks.items() if not held]


@dataclass(frozen=True)
class Pitfall:
    """One catalogue entry: the two lines that look alike, the difference, the fix, the experiment."""

    id: str
    title: str
    tf1: str  # the TF1 line
    tf2: str  # the TF2 line that looks equivalent
    differs: str  # what actually differs
    fix: str
    measure: Callable[[DataLoader], Measurement]


def fastest_interleaved(
    runs: dict[str, Callable[[], Run]], repeats: int, time_of: Callable[[Run], float]
) -> dict[str, Run]:
    """Each of `runs` called `repeats` times, in turn, keeping the fastest result of each.

    A timing claim is a ratio of two runs taken back to back; a stall from another process can
    only slow a run down, so the fastest of a few interleaved repeats is the one that measures
    the code rather than the machine's load.
    """
    fastest: dict[str, Run] = {}
    for _ in range(repeats):
        for name, run in runs.items():
            result = run()
            if name not in fastest or time_of(result) < time_of(fastest[name]):
                fastest[name] = result
    return fastest


def run_child(module: str, args: list[str], *, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run `python -m module args...` in a fresh interpreter and return the JSON it prints last.

    For experiments that change process-global TensorFlow state (eager mode, the Keras
    version behind `tf.compat.v1.layers`): they must never run in the caller's process.
    `env` entries are added to (or, with value "", removed from) the inherited environment;
    the child imports tfparity as installed, like its parent.
    """
    child_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    for name, value in (env or {}).items():
        if value:
            child_env[name] = value
        else:
            child_env.pop(name, None)
    proc = subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        env=child_env,
        timeout=CHILD_TIMEOUT_S,
    )
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"python -m {module} {' '.join(args)} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1])


def data_arg(data: Datasets) -> str:
    """How a child process finds the same data: its folder or file, or "" for the default lookup."""
    return data.source if Path(data.source).exists() else ""


def load_child_data(dataset: str, path: str) -> Datasets:
    """The child side of `data_arg`."""
    from tfparity.compat import load_dataset

    return load_dataset(dataset, path or None)


def print_child_result(result: dict[str, Any]) -> None:
    """The child side of `run_child`: one JSON line on stdout, last."""
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
