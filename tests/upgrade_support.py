"""Shared by the `tfparity upgrade` tests (tests/test_upgrade*.py): the fixture scripts' paths, and
`run_script`, which runs a script in a fresh interpreter. Not a test module itself.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import conftest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
TUTORIAL = FIXTURES / "mnist_softmax.py"
LAYERS = FIXTURES / "mnist_layers_contrib.py"
PASTA_FAILURE = FIXTURES / "tf1_pasta_failure.py"


def run_script(path: Path, cwd: Path) -> tuple[subprocess.CompletedProcess, int | None]:
    """Run a script in a fresh interpreter; the result and the script line its traceback ends at.

    The checkout is on PYTHONPATH as an installed tfparity would be: the fixed tutorial imports
    tfparity's reader (upgrade.TUTORIAL_READER), nothing the tests provide."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2"}
    where = conftest._data_path("mnist")  # the data tfparity's tests use, never a download into cwd
    if where is not None:
        env["TFPARITY_MNIST_DIR"] = str(Path(where).resolve())
    proc = subprocess.run([sys.executable, str(path)], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    lines = [int(n) for n in re.findall(rf'File "{re.escape(str(path))}", line (\d+)', proc.stderr)]
    return proc, (lines[-1] if lines else None)
