"""The parity check's cost report (`python -m tfparity.benchmarks.parity_cost`): what it runs and writes.

The times themselves are measurements (docs/results/parity-cost.md), never asserted here.
"""

from __future__ import annotations

import numpy as np
import pytest

from tfparity.benchmarks import parity_cost
from tfparity.compat import parity


def test_one_run_trains_both_sides_then_checks_fresh_ones(mnist, monkeypatch):
    calls: list[str] = []
    check = parity.check_parity
    monkeypatch.setattr(parity, "check_parity", lambda *a, **k: calls.append("check") or check(*a, **k))
    row = parity_cost.measure("mlp", mnist, seed=0, steps=10)
    assert calls == ["check"]
    assert row["pair"] == "mlp" and row["steps"] == 10 and row["verdict"] != parity.BUG
    assert row["plain_s"] > 0 and row["ratio"] == pytest.approx(row["check_s"] / row["plain_s"])
    assert row["trainings"] in (2, 2 + parity.DEFAULT_TWINS, 2 + 2 * parity.DEFAULT_TWINS)


def test_the_command_writes_a_table_by_pair_and_by_run(mnist, tmp_path, capsys):
    out = tmp_path / "cost.md"
    argv = ["--pairs", "mlp", "--seeds", "2", "--steps-scale", "0.05", "--mnist-dir", mnist.source]
    assert parity_cost.main([*argv, "-o", str(out), "--quiet"]) == 0
    assert capsys.readouterr().err == ""
    report = out.read_text()
    assert f"Command: `{parity_cost.PROG} --pairs mlp --seeds 2" in report
    assert report.count("| mlp ") == 3  # the pair's summary row and one row per seed


@pytest.mark.parametrize(
    "words, named",
    [(["--seeds", "0"], "--seeds 0"), (["--pairs", "resnet"], "'resnet'"), (["-o", "/nope/c.md"], "/nope")],
)
def test_bad_input_is_one_line_and_exit_2_before_any_work(words, named, capsys, monkeypatch):
    monkeypatch.setattr(parity_cost, "measure", lambda *a, **k: pytest.fail("work started"))
    assert parity_cost.main(words) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("parity_cost: error:") and named in err


def test_a_long_run_of_a_large_model_records_its_weights_every_few_steps():
    weights = {"w": np.zeros((1000, 1000), np.float32)}  # 4 MB a copy
    assert parity.record_every_within(100, weights) == 1  # 400 MB: every step
    assert parity.record_every_within(1000, weights) == 8  # 4 GB at every step: every 8th fits 512 MB
    assert parity.record_every_within(1000, weights, budget=2**40) == 1


def test_the_check_says_when_it_records_every_few_steps(mnist, monkeypatch):
    import two_layer

    monkeypatch.setattr("tfparity.compat.parity.reference.RECORDED_BYTES", 2**20)  # 1 MB: 4 steps of the MLP
    tf1, keras_side = two_layer.sides("sgd", 0.1)
    batches = parity.planned_batches(mnist.train.images, mnist.train.one_hot, batch_size=32, steps=12, seed=0)
    report = parity.check_parity(tf1, keras_side, batches)
    every = report.trajectory.record_every
    assert every > 1 and any(f"weights recorded every {every} steps" in note for note in report.notes), report.notes
    assert parity.check_parity(tf1, keras_side, batches, record_every=1).trajectory.record_every == 1
