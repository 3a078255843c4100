"""tfparity installed as a user installs it: one `tfparity` package, lean dependencies, and a
pytest plugin that lives beside a user's own `compat.py` and `benchmarks/` without breaking them.

The wheel is built from a copy of this checkout (`pip install --no-deps --target`, not editable)
and put first on the child processes' PYTHONPATH, so the installed copy, not this checkout, is
what the scratch project imports; TensorFlow and pytest come from the test environment.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from email.parser import Parser
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
OPTIONAL = {"pytest", "pytest-benchmark", "matplotlib", "pygments", "threadpoolctl", "hypothesis", "ruff"}

SCRATCH_TEST = """
import os

import compat
import benchmarks.helpers
import tfparity
import tensorflow as tf
from tfparity import TF1GraphSide, TF2Side
from tfparity.compat.parity import TF1Graph, planned_batches
import numpy as np


def build_tf1():
    x = tf.compat.v1.placeholder(tf.float32, [None, 4], name="x")
    y = tf.compat.v1.placeholder(tf.float32, [None, 3], name="y")
    w = tf.compat.v1.get_variable("dense/kernel", initializer=np.full((4, 3), 0.1, np.float32))
    b = tf.compat.v1.get_variable("dense/bias", initializer=np.zeros(3, np.float32))
    logits = tf.matmul(x, w) + b
    loss = tf.reduce_mean(tf.compat.v1.nn.softmax_cross_entropy_with_logits_v2(labels=y, logits=logits))
    return TF1Graph(inputs=x, labels=y, outputs=logits, loss=loss,
                    train_op=tf.compat.v1.train.GradientDescentOptimizer(0.1).minimize(loss))


class Model(tf.Module):
    def __init__(self):
        self.kernel = tf.Variable(np.full((4, 3), 0.1, np.float32), name="dense/kernel")
        self.bias = tf.Variable(np.zeros(3, np.float32), name="dense/bias")
        self.optimizer = tf.keras.optimizers.SGD(0.1)

    def __call__(self, x):
        return tf.matmul(x, self.kernel) + self.bias

    def train_step(self, x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=self(x)))
        grads = tape.gradient(loss, [self.kernel, self.bias])
        self.optimizer.apply_gradients(zip(grads, [self.kernel, self.bias]))
        return loss


def test_own_modules_and_the_parity_fixture(parity_check):
    assert compat.MINE and benchmarks.helpers.MINE  # the project's own, not tfparity's
    assert tfparity.__file__.startswith(os.environ["INSTALLED_TFPARITY"])  # the wheel's copy, not the checkout
    rng = np.random.default_rng(0)
    images = rng.random((64, 4), dtype=np.float32)
    labels = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 64)]
    batches = planned_batches(images, labels, batch_size=16, steps=5)
    candidate = TF2Side(Model, train_step=lambda model, x, y: model.train_step(x, y))
    report = parity_check(TF1GraphSide(build_tf1), candidate, batches)
    assert report.ok
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """`pip install --no-deps --target` of a copy of the checkout: the package as a wheel installs it."""
    tmp = tmp_path_factory.mktemp("install")
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    source = tmp / "source"
    for name in files:
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    target = tmp / "installed"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(source)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return target


def child_env(installed: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return {**env, "PYTHONPATH": str(installed), "TF_CPP_MIN_LOG_LEVEL": "2"}


def test_only_the_tfparity_package_is_installed_at_top_level(installed):
    top = sorted(
        p.name for p in installed.iterdir() if not p.name.endswith((".dist-info", ".egg-info")) and p.name != "bin"
    )
    assert top == ["tfparity"]
    assert {p.name for p in (installed / "tfparity").iterdir() if p.is_dir()} >= {
        "compat",
        "tf1_graph",
        "tf2_eager",
        "benchmarks",
    }
    proc = subprocess.run(
        [sys.executable, "-c", "import compat"],
        cwd=installed.parent,
        env=child_env(installed),
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0 and "No module named 'compat'" in proc.stderr


def test_every_module_and_data_file_of_the_package_is_installed(installed):
    tracked = subprocess.run(
        [
            "git",
            "ls-files",
            "-co",
            "--exclude-standard",
            "--",
            "compat",
            "tf1_graph",
            "tf2_eager",
            "benchmarks",
            "__init__.py",
            "__main__.py",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    wanted = {name for name in tracked if name.endswith((".py", ".css")) and (REPO / name).is_file()}
    missing = sorted(name for name in wanted if not (installed / "tfparity" / name).is_file())
    assert not missing, f"not installed (add their packages to pyproject.toml): {missing}"


def test_install_without_extras_requires_no_benchmark_plotting_or_html_packages(installed):
    metadata = next(installed.glob("tfparity-*.dist-info")) / "METADATA"
    requires = Parser().parsestr(metadata.read_text()).get_all("Requires-Dist")
    core = {
        r.split(";")[0].split("[")[0].split(">")[0].split("<")[0].split("=")[0].strip().lower()
        for r in requires
        if "extra ==" not in r
    }
    assert core == {"tensorflow", "numpy", "tabulate"}, core
    assert not core & OPTIONAL
    extras = {r.split("extra ==")[1].strip().strip("'\"") for r in requires if "extra ==" in r}
    assert extras == {"bench", "html", "all", "test"}


def test_a_project_with_its_own_compat_and_benchmarks_runs_its_tests_with_the_fixture(installed, tmp_path):
    project = tmp_path / "scratch"
    (project / "benchmarks").mkdir(parents=True)
    (project / "tests").mkdir()
    (project / "compat.py").write_text("MINE = True\n")
    (project / "benchmarks" / "__init__.py").write_text("")
    (project / "benchmarks" / "helpers.py").write_text("MINE = True\n")
    (project / "tests" / "test_scratch.py").write_text(textwrap.dedent(SCRATCH_TEST))
    env = {**child_env(installed), "INSTALLED_TFPARITY": str(installed / "tfparity")}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "1 passed" in proc.stdout
