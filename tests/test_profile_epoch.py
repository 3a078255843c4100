"""`python -m tfparity.benchmarks.profile_epoch`: the breakdown's rows compute what they name, and print as Markdown.

The times are measurements, never asserted beyond being positive.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tfparity.benchmarks import profile_epoch
from tfparity.compat import TrainConfig, initial_weights


def test_each_tensorflow_part_computes_what_its_numpy_counterpart_does(mnist):
    from tfparity.tf2_eager import whole_epoch_fast

    config = TrainConfig(steps=2)
    _, images, labels = whole_epoch_fast.make_inputs(mnist, config)
    init = initial_weights(config)
    init["W"] = np.random.default_rng(0).normal(scale=0.01, size=init["W"].shape).astype(np.float32)
    tf_parts = profile_epoch.tf_bodies(
        config, whole_epoch_fast.build_model(init), whole_epoch_fast.build_model(init, transposed=True)
    )
    numpy_parts = profile_epoch.numpy_bodies(config, init)
    assert len(tf_parts) == len(numpy_parts) == len(profile_epoch.PARTS)
    x, y = images[0], labels[0]
    for index in (1, 2, 3):  # read the batch, forward product, both products
        expected = float(numpy_parts[index](x.numpy(), y.numpy()))
        assert float(tf_parts[index]()(x, y)) == pytest.approx(expected, rel=1e-4), profile_epoch.PARTS[index]
    # The closed-form steps and the autodiff step each train W by one SGD step, to the same weights.
    trained = []
    for index in (4, 5, 6):
        models = [whole_epoch_fast.build_model(initial_weights(config), transposed) for transposed in (False, True)]
        profile_epoch.tf_bodies(config, *models)[index]()(x, y)
        trained.append(whole_epoch_fast.weights_of(models[index == 5])["W"])
    np.testing.assert_allclose(trained[0], trained[2], atol=1e-6)
    np.testing.assert_allclose(trained[1], trained[2], atol=1e-6)
    assert np.abs(trained[2]).max() > 0


def test_profile_times_every_part_and_prints_a_markdown_table(mnist):
    rows = profile_epoch.profile(mnist, batch=50, steps=6, repeats=1)
    assert [r.part for r in rows] == list(profile_epoch.PARTS) and {r.batch for r in rows} == {50}
    assert all(r.function_ms > 0 and r.xla_ms > 0 for r in rows)
    assert [r.numpy_ms is None for r in rows] == [False, False, False, False, True, True, False]
    table = profile_epoch.markdown(rows).splitlines()
    assert table[0] == "| batch | what each step does | tf.function ms/step | XLA ms/step | NumPy ms/step |"
    assert len(table) == 2 + len(rows) and table[2].startswith("| 50 | loop alone | ")
    assert table[-3].endswith(" |  |")  # no NumPy counterpart for the closed-form steps


@pytest.mark.parametrize(
    ("words", "named"),
    [
        (["--repeats", "0"], "--repeats 0"),
        (["--batch-sizes", "ten"], "--batch-sizes ten"),
        (["--threads", "0"], "--threads 0"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(words, named, capsys):
    assert profile_epoch.main(words) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("profile_epoch: error:") and named in err


def test_threads_sets_tensorflow_and_blas_before_tensorflow_starts(mnist):
    """In a fresh process (TensorFlow's pools are fixed once it starts): the line says 1 and 1, then the table."""
    argv = [sys.executable, "-m", "tfparity.benchmarks.profile_epoch", "--threads", "1", "--batch-sizes", "50"]
    argv += ["--steps", "6", "--repeats", "1", "--data-dir", str(Path(mnist.source).resolve())]
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}  # as a user's shell has it
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert lines[0] == "threads: TensorFlow intra-op 1; NumPy BLAS 1 at batch 50", lines
    assert lines[2].startswith("| batch | what each step does |") and len(lines) == 4 + len(profile_epoch.PARTS)
    assert proc.stderr == "", proc.stderr  # no TensorFlow start-up chatter


def test_the_blas_threads_line_reads_back_what_is_in_force():
    from threadpoolctl import threadpool_info

    library_default = max(pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas")
    assert profile_epoch.blas_threads_in_force(100, None) == 1  # the floor's rule at batch 100
    assert profile_epoch.blas_threads_in_force(1000, None) == library_default  # above it, the library's own
    assert profile_epoch.blas_threads_in_force(1000, 1) == 1
    assert profile_epoch.blas_threads_in_force(1000, 10_000) < 10_000  # what the library runs (its cap), not the ask


@pytest.mark.parametrize(("marker", "threads"), [("profile-epoch", None), ("profile-epoch-threads", 1)])
def test_the_docs_breakdowns_are_the_commands_output_at_both_batch_sizes(marker, threads):
    """docs/benchmarks.md pastes `profile_epoch` (default, then --threads 1): its settings line, every part twice."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    pasted = text.split(f"<!-- {marker}:begin -->\n", 1)[1].split(f"<!-- {marker}:end -->", 1)[0].splitlines()
    assert pasted[0].startswith(
        "threads: TensorFlow intra-op " + (f"{threads}; NumPy BLAS {threads}" if threads else "one")
    )
    table = "\n".join(pasted[2:])
    assert table.splitlines()[:2] == profile_epoch.markdown([]).splitlines()
    parts = [line.split(" | ")[1] for line in table.splitlines()[2:]]
    assert parts == list(profile_epoch.PARTS) * 2, "stale: paste the command's output again"
