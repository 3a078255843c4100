"""tfparity's cache folder, and where pytest-benchmark keeps its runs under it.

pytest-benchmark creates its storage folder (`./.benchmarks` by default) in the working
directory of every run, and `tfparity bench` used to keep its JSON there too: files appeared in
whatever folder a user happened to run from. What tfparity writes without being told where
goes here instead: $TFPARITY_CACHE_DIR, else $XDG_CACHE_HOME/tfparity, else ~/.cache/tfparity.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterable
from pathlib import Path

STORAGE_OPTION = "--benchmark-storage"


def cache_dir() -> Path:
    """$TFPARITY_CACHE_DIR, else $XDG_CACHE_HOME/tfparity, else ~/.cache/tfparity (an empty variable is unset)."""
    if os.environ.get("TFPARITY_CACHE_DIR"):
        return Path(os.environ["TFPARITY_CACHE_DIR"]).expanduser()
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]).expanduser() / "tfparity"
    return Path.home() / ".cache" / "tfparity"


def benchmark_storage() -> str:
    """pytest-benchmark's storage URI in the cache folder: where --benchmark-save writes, --benchmark-compare reads."""
    return f"file://{(cache_dir() / 'benchmarks').absolute()}"


def default_benchmark_json() -> Path:
    """Where `tfparity bench` keeps pytest-benchmark's JSON when --benchmark-json is not given."""
    return cache_dir() / "tfparity-bench.json"


def storage_given(args: Iterable[str]) -> bool:
    """Whether pytest arguments (or $PYTEST_ADDOPTS, which pytest reads too) already name a storage.

    Both spellings count: `--benchmark-storage=URI` and `--benchmark-storage URI`.
    """
    every = [*args, *shlex.split(os.environ.get("PYTEST_ADDOPTS", ""))]
    return any(a == STORAGE_OPTION or a.startswith(f"{STORAGE_OPTION}=") for a in every)
