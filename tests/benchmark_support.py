"""Shared by the `tfparity bench` tests (tests/test_bench_*.py): how they run children.

`run_child` runs this interpreter in a child process, `tfparity_bench` runs a short
`tfparity bench --quick` there, and `tfparity_cache` (module-scoped, autouse) gives every child a
scratch TFPARITY_CACHE_DIR. A fixture applies to the modules that import it: each bench test
module imports `tfparity_cache`. Not a test module itself (python_files is test_*.py, bench_*.py).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tfparity.benchmarks.benchrunner import child_environment

REPO = Path(__file__).resolve().parents[1]


def data_path(mnist) -> str:
    return str(Path(mnist.source).resolve())  # the children run in other folders


def run_child(
    args: list[str], cwd: Path, extra_env: dict[str, str] | None = None, timeout: int = 300
) -> subprocess.CompletedProcess:
    # Without xdist's worker variables: a child pytest that finds them turns pytest-benchmark off.
    env = {**child_environment(), "TF_CPP_MIN_LOG_LEVEL": "2", **(extra_env or {})}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module", autouse=True)
def tfparity_cache(tmp_path_factory):
    """The children's tfparity cache folder: a scratch one, never the user's ~/.cache/tfparity."""
    folder = tmp_path_factory.mktemp("tfparity-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TFPARITY_CACHE_DIR", str(folder))
        yield folder


def tfparity_bench(
    *args: str, cwd: Path, data_dir: str, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    # 120 steps (the fewest allowed), 2 rounds: the machinery under test, not the timings.
    return run_child(
        [
            "-m",
            "tfparity",
            "bench",
            "--quick",
            "--steps",
            "120",
            "--rounds",
            "2",
            "--data-dir",
            data_dir,
            *args,
        ],
        cwd=cwd,
        extra_env=extra_env,
    )
