"""Data-parallel training (issue 19, in part): TF1 towers and MirroredStrategy against one device.

Each variant trains in a child process whose CPU is split into two logical devices; synchronous
data parallelism over the same global batches must equal the single-device TF1 run to float32
reduction-order tolerance, and the parity API must call the planted per-replica mean a bug.
"""

from __future__ import annotations

import contextlib
import io
import json

import pytest

from tfparity.benchmarks import cli, replicas, replicas_parity
from tfparity.compat.parity.report import BUG, NONFINITE, PARITY, SENSITIVE, ParityReport


def run_compare(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main(["compare", *argv])
    return status, out.getvalue(), err.getvalue()


def test_every_variant_equals_its_single_device_run_for_both_models(mnist):
    status, text, err = run_compare("--replicas", "2", "--model", "all", "--steps", "30", "-q", "--format", "json")
    assert status == 0, err
    rows = json.loads(text)
    assert [(r["model"], r["style"]) for r in rows] == [
        (m, s) for m in replicas.MODELS for s in ("tf1_graph", *replicas.VARIANTS)
    ]
    for row in rows:
        assert row["same_batches"] and row["finite"], row
        if row["style"] != "tf1_graph":  # issue 19's target, and the parity API's verdict from the child
            assert row["replicas"] == 2 and row["verdict"] == "parity", row
            assert max(row["max_abs_dw"], row["max_abs_db"]) <= 1e-5, row
            assert row["test_accuracy"] == pytest.approx(rows[0 if row["model"] == "softmax" else 4]["test_accuracy"])


def test_the_parity_api_calls_a_per_replica_mean_loss_a_bug(mnist, monkeypatch):
    # The correct loop's verdict, parity, comes from the same child in the test above (its "verdict" column).
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)  # as a user's shell has it
    report = replicas_parity.check("softmax", 2, 20, per_replica_mean=True)
    assert report["verdict"] == "bug" and report["exit_status"] == 1, report  # a script in CI fails on the bug
    assert report["stderr"] == "", report["stderr"]  # no TensorFlow start-up lines


@pytest.mark.parametrize(("verdict", "status"), [(PARITY, 0), (SENSITIVE, 0), (BUG, 1), (NONFINITE, 1)])
def test_replicas_parity_exits_as_tfparity_parity_does(verdict, status):
    report = ParityReport.__new__(ParityReport)  # only the verdict decides the exit status
    report.verdict = verdict
    assert replicas_parity.exit_status(report) == status


@pytest.mark.parametrize(
    ("argv", "named"),
    [(["--model", "cnn"], "--model"), (["--replicas", "0"], "--replicas 0"), (["--steps", "ten"], "--steps ten")],
)
def test_replicas_parity_refuses_bad_arguments_in_one_line_with_exit_2(argv, named, capsys):
    assert replicas_parity.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("replicas_parity: error:") and named in err, err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--replicas", "1"], "at least 2 replicas"),
        (["--replicas", "3"], "does not split into 3 equal slices"),
        (["--replicas", "2", "--model", "cnn"], "covers the models"),
        (["--replicas", "2", "--styles", "eager"], "--styles and --plot"),
    ],
)
def test_bad_replica_input_is_one_line_exit_2_before_any_training(argv, message):
    status, out, err = run_compare(*argv, "-q")
    assert status == 2 and out == "" and message in err and len(err.strip().splitlines()) == 1, err


PIPELINES_SCRIPT = """
import sys
from tfparity.compat.devices import split_cpu
devices = split_cpu(2)
import numpy as np, tensorflow as tf
from tfparity.benchmarks.idioms import style_module
from tfparity.compat import TrainConfig, load_dataset
from tfparity.tf2_eager import mirrored_style
config, data = TrainConfig.for_model("softmax", steps=10), load_dataset("mnist")
runs = [mirrored_style.train(data, config, style_module("eager", "softmax"), tf.distribute.MirroredStrategy(devices),
                             pipeline=p) for p in mirrored_style.PIPELINES]
assert runs[0].plan_fingerprint == runs[1].plan_fingerprint
print(max(float(np.abs(runs[0].weights[k] - runs[1].weights[k]).max()) for k in runs[0].weights))
"""


def test_experimental_distribute_dataset_gives_each_replica_the_same_slice_as_the_values_function(mnist):
    """The documented input path (tf.data batched by the global size) trains the same weights, bit for bit."""
    import subprocess
    import sys

    from tfparity.benchmarks.benchrunner import child_environment

    env = {**child_environment(), "TF_CPP_MIN_LOG_LEVEL": "2"}
    argv = [sys.executable, "-c", PIPELINES_SCRIPT]
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert float(proc.stdout.strip().splitlines()[-1]) == 0.0
