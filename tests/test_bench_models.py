"""`tfparity bench --models`: the models suite (benchmarks/bench_models.py) run as a command, with its ceiling column.

The suite's own cases run under plain `pytest` (quick mode); this runs one model's cases through
the command, as a user would, and reads its JSON report.
"""

from __future__ import annotations

import json

import pytest
from benchmark_support import data_path, run_child, tfparity_cache  # noqa: F401  (tfparity_cache: autouse)

from tfparity.benchmarks import bench_models, cli, flops


@pytest.fixture(scope="module")
def models_report(mnist, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bench-models")
    args = ["-m", "tfparity", "bench", "--models", "mlp_dropout", "--quick", "--rounds", "1", "--data-dir"]
    proc = run_child([*args, data_path(mnist), "--format", "json", "-o", str(tmp / "report.json")], cwd=tmp)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads((tmp / "report.json").read_text())


def test_every_style_of_the_model_is_timed_and_held_to_tf1(models_report):
    rows = models_report["cases"]
    assert [(r["style"], r["idiom"]) for r in rows] == list(bench_models.MODEL_IDIOMS)
    assert {r["model"] for r in rows} == {"mlp_dropout"} and {r["status"] for r in rows} == {"passed"}
    for row in rows:
        assert row["max_abs_dw"] <= bench_models.WEIGHT_TARGET[row["style"]]
        assert abs(row["test_accuracy"] - row["reference_test_accuracy"]) <= 0.001
        assert row["test_examples"] == bench_models.QUICK_TEST_EXAMPLES


def test_each_case_reports_its_gflops_against_a_ceiling_measured_in_the_run(models_report):
    for row in models_report["cases"]:
        assert row["flops_per_step"] == flops.train_step_flops(bench_models.LAYERS["mlp_dropout"], 32)
        assert row["ceiling_op"] == "matmul" and row["ceiling_gflops"] > 0
        expected = row["flops_per_step"] / (row["ms_per_step_median"] / 1e3) / 1e9
        assert row["gflops"] == pytest.approx(expected) and 0 < row["fraction_of_ceiling"] < 1


def test_the_layers_fill_the_models_variables():
    """LAYERS is written out per model: its kernels must be the model's own shapes, or the FLOPs are another model's."""
    from tfparity.compat import MODELS

    for model, layers in bench_models.LAYERS.items():
        kernels = [s for name, s in MODELS[model].shapes.items() if name.endswith("kernel") or name == "W"]
        counted = [
            (layer.kernel, layer.kernel, layer.in_channels, layer.filters)
            if isinstance(layer, flops.Conv2D)
            else (layer.inputs, layer.units)
            for layer in layers
        ]
        assert counted == kernels, model


def test_softmax_suite_options_are_refused_with_models(capsys):
    assert cli.main(["bench", "--models", "cnn", "--styles", "eager"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--styles: the softmax suite's options" in err


def test_markdown_escapes_the_bar_in_a_header():
    from tfparity.benchmarks.benchmodels import HEADERS, render_models

    context = dict.fromkeys(("tensorflow", "keras", "numpy", "python", "cpu", "cpu_count", "benchmark_json"), "?")
    row = {"model": "cnn", "style": "eager", "idiom": "gradient_tape", "status": "failed", "message": ""}
    text = render_models({"context": context, "cases": [row]}, "markdown")
    header = next(line for line in text.splitlines() if line.startswith("| model"))
    assert "max \\|dW\\| vs TF1" in header and header.count(" | ") == len(HEADERS) - 1
