"""`tfparity parity`: the report for our styles, and an exit status that fails CI on divergence."""

from __future__ import annotations

import json

import keras
import pytest

from tfparity.benchmarks import cli
from tfparity.tf2_eager import keras_style


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    status = cli.main(["parity", "--quiet", *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_all_styles_at_parity_exit_0(mnist, capsys):
    status, out, _ = run_cli(capsys, "--data-dir", mnist.source, "--steps", "30")
    assert status == 0, out
    summary = out.split("\n\n")[1]
    for style in ("eager", "function", "keras_fit"):
        assert f"\n{style} " in summary and f"parity: {style} against tf1_graph: PARITY" in out
    assert summary.count("bit-identical") == 2  # eager and function, on CPU


def test_a_divergent_style_exits_1_and_is_named(mnist, capsys, monkeypatch):
    # Plant a bug in keras.fit's optimizer stage: a learning rate 10% off.
    monkeypatch.setattr(keras_style, "make_optimizer", lambda config: keras.optimizers.SGD(config.learning_rate * 1.1))
    status, out, _ = run_cli(capsys, "--data-dir", mnist.source, "--steps", "20", "--styles", "keras_fit", "eager")
    assert status == 1
    assert "parity: keras_fit against tf1_graph: BUG" in out and "parity: eager against tf1_graph: PARITY" in out
    assert "first divergence beyond tolerance: step 1: " in out


def test_sensitive_problem_passes_unless_strict(fashion_mnist, capsys):
    args = (
        "--data-dir",
        fashion_mnist.source,
        "--dataset",
        "fashion_mnist",
        "--steps",
        "40",
        "--styles",
        "keras_fit",
        "--format",
        "json",
    )
    status, out, _ = run_cli(capsys, *args, "--strict")
    report = json.loads(out)["reports"]["keras_fit"]
    assert status == 1 and report["verdict"] == "sensitive problem, no bug"
    assert report["growth"]["beyond_tolerance_at"] is not None
    assert report["margin"]["against"] == "envelope" and report["margin"]["ratio"] <= 1
    assert run_cli(capsys, *args)[0] == 0  # the default: sensitivity-only passes
    assert run_cli(capsys, *args, "--allow-sensitive")[0] == 0


def test_reference_is_not_a_candidate(capsys):
    status, _, err = run_cli(capsys, "--styles", "tf1_graph")
    assert status == 2 and "tf1_graph is the reference" in err


@pytest.mark.parametrize("fmt", ["markdown", "table"])
def test_output_file_in_each_format(mnist, capsys, tmp_path, fmt):
    path = tmp_path / f"parity.{fmt}"
    status, out, _ = run_cli(
        capsys, "--data-dir", mnist.source, "--steps", "5", "--styles", "eager", "--format", fmt, "-o", str(path)
    )
    text = path.read_text()
    assert status == 0 and out == "" and "parity: eager against tf1_graph: PARITY" in text
    assert ("| eager " in text) == (fmt == "markdown")


def test_non_finite_runs_are_never_parity_and_exit_1(mnist, capsys):
    args = ("--data-dir", mnist.source, "--steps", "5", "--styles", "eager", "--loss", "tutorial", "--lr", "1e6")
    status, out, _ = run_cli(capsys, *args, "--format", "json")
    report = json.loads(out)["reports"]["eager"]
    assert status == 1 and report["verdict"] == "non-finite" and report["ok"] is False
    assert [n["run"] for n in report["nonfinite"]] == ["tf1_graph", "eager"]
    losses = report["trajectory"]["reference_losses"]  # JSON null where the loss was NaN or inf
    assert report["nonfinite"][0]["loss_step"] == losses.index(None)
    status, out, _ = run_cli(capsys, *args)
    summary = out.split("\n\n")[1]
    assert status == 1 and "bit-identical" not in summary and "parity" not in summary.replace("non-finite", "")
    assert f"step {losses.index(None)}: non-finite (tf1_graph, eager)" in summary
    assert "parity: eager against tf1_graph: NON-FINITE" in out and "lower the learning rate" in out
