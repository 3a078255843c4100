"""`tfparity compare`: the table, the JSON CI jobs read, and failures that are never hidden."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from data_support import permission_taken, public_folder, write_folder

import tfparity.benchmarks.compare  # noqa: F401  (imported before a test drops privileges: see permission_taken)
from tfparity.benchmarks import cli, compare, config_args, idioms
from tfparity.compat import RunResult, TrainConfig

ARGS = ["compare", "--steps", "30", "--quiet"]


@pytest.fixture
def data_args(mnist):
    return ["--data-dir", mnist.source]


def test_json_has_one_object_per_style_with_the_documented_keys(data_args, capsys):
    assert cli.main(ARGS + data_args + ["--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["style"] for r in rows] == list(idioms.STYLES)
    for row in rows:
        assert {"style", "test_accuracy", "final_loss", "max_abs_dw", "max_abs_db", "seconds", "ms_per_step"} <= set(
            row
        )
        assert row["same_batches"] is True
    ref = rows[0]
    assert ref["max_abs_dw"] == 0.0 and ref["bit_identical"] is True
    assert all(r["max_abs_dw"] <= 1e-5 and abs(r["test_accuracy"] - ref["test_accuracy"]) <= 1e-3 for r in rows)
    # Every style's parity verdict against the TF1 run: MNIST at SGD 0.5 is a stable problem.
    verdicts = {r["style"]: (r["verdict"], r["verdict_detail"]) for r in rows}
    assert verdicts["tf1_graph"] == ("reference", "reference")
    assert verdicts["eager"] == verdicts["function"] == ("parity", "bit-identical")
    assert verdicts["keras_fit"][0] == "parity" and rows[3]["margin"]["against"] == "tolerance"


def test_sensitive_problem_is_named_in_the_verdict_column(fashion_mnist, capsys):
    """Fashion-MNIST at SGD 0.5 is chaotic: keras.fit lands 1e-1 away from TF1, by rounding, and says so."""
    args = ["compare", "--dataset", "fashion_mnist", "--data-dir", fashion_mnist.source, "--steps", "300"]
    assert cli.main(args + ["--styles", "keras_fit", "--format", "json", "--quiet"]) == 0
    rows = json.loads(capsys.readouterr().out)
    keras_fit = next(r for r in rows if r["style"] == "keras_fit")
    assert keras_fit["max_abs_dw"] > 1e-3 and not keras_fit["bit_identical"]  # far beyond any tolerance...
    assert keras_fit["verdict"] == "sensitive problem, no bug"  # ...and still no bug
    assert keras_fit["margin"]["against"] == "envelope" and keras_fit["margin"]["ratio"] <= 1
    table = compare.render(rows, "table", fashion_mnist, TrainConfig(steps=300))
    line = next(row for row in table.splitlines() if row.startswith("keras_fit"))
    assert "sensitive, no bug" in line and "envelope" in line


def test_table_and_markdown(data_args, capsys, tmp_path):
    assert cli.main(ARGS + data_args + ["--styles", "tf1_graph", "function"]) == 0
    out = capsys.readouterr().out
    assert "max |dW| vs TF1" in out and "function" in out and "keras_fit" not in out
    target = tmp_path / "compare.md"
    assert cli.main(ARGS + data_args + ["--styles", "eager", "--format", "markdown", "-o", str(target)]) == 0
    text = target.read_text()
    assert "| style" in text and "| eager " in text and "| tf1_graph " in text  # the reference always runs
    header = next(line for line in text.splitlines() if line.startswith("| style"))
    assert "max \\|dW\\| vs TF1" in header and header.replace("\\|", "").count("|") == 9  # 8 columns, none split
    assert list(tmp_path.iterdir()) == [target]  # no temporary file left behind


def test_every_config_flag_reaches_the_config():
    parser = cli.build_parser()
    args = parser.parse_args(
        [
            "compare",
            "--steps",
            "7",
            "--batch-size",
            "50",
            "--lr",
            "0.1",
            "--optimizer",
            "adam",
            "--adam-epsilon",
            "1e-7",
            "--adam-beta1",
            "0.8",
            "--adam-beta2",
            "0.99",
            "--loss",
            "sum",
            "--init",
            "normal",
            "--init-stddev",
            "0.1",
            "--seed",
            "3",
            "--device",
            "cpu",
        ]
    )
    config = config_args.config_from_args(args)
    assert (config.steps, config.batch_size, config.learning_rate, config.optimizer, config.adam_epsilon) == (
        7,
        50,
        0.1,
        "adam",
        1e-7,
    )
    assert (config.adam_beta1, config.adam_beta2, config.loss, config.init, config.init_stddev, config.seed) == (
        0.8,
        0.99,
        "sum",
        "normal",
        0.1,
        3,
    )
    tutorial = config_args.config_from_args(parser.parse_args(["compare", "--tutorial"]))
    assert (tutorial.loss, tutorial.learning_rate) == ("tutorial", 0.01)


def test_a_failing_style_shows_as_failed_and_sets_the_exit_status(data_args, capsys, monkeypatch):
    def broken(data, config):
        raise RuntimeError("planted failure")

    monkeypatch.setitem(idioms.STYLES, "eager", broken)
    assert cli.main(ARGS + data_args + ["--styles", "eager"]) == 1
    captured = capsys.readouterr()
    assert "FAILED" in captured.out and "planted failure" in captured.out
    row = next(line for line in captured.out.splitlines() if line.startswith("eager "))
    assert "FAILED (below)" in row and "planted failure" not in row  # the message under the table, not in a cell
    assert "  eager: RuntimeError: planted failure" in captured.out.split("failed (more on standard error):")[1]
    assert "Traceback" in captured.err


def test_bad_input_is_a_clear_error(tmp_path, capsys):
    assert cli.main(["compare", "--data-dir", str(tmp_path / "nowhere"), "--steps", "5"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nowhere: no such file or folder; give the folder holding train-images" in err
    assert cli.main(["compare", "--data-dir", str(tmp_path), "--steps", "0"]) == 2
    assert "steps must be a positive integer" in capsys.readouterr().err
    assert cli.main(["compare", "--styles", "nosuchstyle"]) == 2
    err = capsys.readouterr().err  # argparse's own errors too: one line naming the help, no usage text
    assert err.count("\n") == 1 and "invalid choice: 'nosuchstyle'" in err and "(see tfparity compare --help)" in err


def test_console_script_writes_plain_progress_lines_when_not_a_terminal(data_args):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}  # as a user runs it
    out = subprocess.run(
        [sys.executable, "-m", "tfparity", *ARGS[:-1], "--styles", "tf1_graph", *data_args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    # No TensorFlow start-up lines; in a pipe: no live line (no carriage returns), one plain line per finished style.
    assert "\r" not in out.stderr
    assert [line.split(": done in")[0] for line in out.stderr.splitlines()] == ["[1/1] compare: training tf1_graph"], (
        out.stderr
    )
    assert "tf1_graph" in out.stdout


@pytest.mark.parametrize(
    "argv, shown",
    [
        (["--help"], list(cli.COMMANDS)),
        # The bench command's choices come from the idiom registry, which imports a style only to run it.
        (["bench", "--help"], ["--idioms", "whole_epoch_xla", "steps_per_execution", "--malloc"]),
    ],
)
def test_help_loads_no_tensorflow(argv, shown):
    # TensorFlow takes seconds to import and logs as it does: help must not wait for it.
    listing = (
        f"import sys\nfrom benchmarks import cli\ntry:\n    cli.main({argv!r})\nexcept SystemExit as exit:\n"
        "    assert exit.code == 0\nprint('loaded:', sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", listing], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert all(text in out.stdout for text in shown), out.stdout
    assert out.stdout.rstrip().endswith("loaded: []")


def test_only_the_command_run_gets_its_arguments():
    args = cli.build_parser(["upgrade"]).parse_args(["upgrade", "script.py", "--format", "json"])
    assert args.command == "upgrade" and args.format == "json" and args._run.__module__ == "tfparity.benchmarks.upgrade"
    with pytest.raises(cli.UsageError, match="unrecognized arguments: --steps 3"):  # its module was not loaded
        cli.build_parser([]).parse_args(["compare", "--steps", "3"])


# --- runs that went numerically wrong (issue #13) ---------------------------------------------


def strict_json(text: str):
    """json.loads that refuses NaN and Infinity, which are not JSON."""

    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_non_finite_runs_are_reported_never_compared_and_exit_1(data_args, capsys):
    steps = 5
    blow_up = ["compare", "--steps", str(steps), "--quiet", "--loss", "tutorial", "--lr", "1e6", *data_args]
    status = cli.main([*blow_up, "--format", "json"])
    captured = capsys.readouterr()
    assert status == 1
    rows = strict_json(captured.out)
    assert [r["style"] for r in rows] == list(idioms.STYLES)
    for row in rows:
        bad = row["nonfinite"]
        assert row["finite"] is False and row["bit_identical"] is False and row["max_abs_dw"] is None
        assert 1 <= bad["loss_step"] < steps  # step 0 starts from zeros: its loss is finite
        assert bad["variables"] and set(bad["variables"]) <= {"W", "b"}
        assert bad["message"].startswith(f"{row['style']}: non-finite loss nan from step {bad['loss_step']}")
    first = min(r["nonfinite"]["step"] for r in rows)
    expected = (
        f"tfparity compare: {', '.join(idioms.STYLES)} went non-finite from step {first}, "
        "so not compared; lower the learning rate"
    )
    assert expected in captured.err
    status = cli.main([*blow_up, "--styles", "eager"])
    out = capsys.readouterr().out
    assert status == 1
    for line in (line for line in out.splitlines() if line.startswith(("tf1_graph ", "eager "))):
        verdict = "reference" if line.startswith("tf1_graph") else "non-finite"
        assert line.split()[3:6] == ["non-finite", "non-finite", verdict], line  # max |dW|, max |db|, verdict
    assert "went non-finite, so not compared" in out and "softmax_cross_entropy_with_logits" in out


def run_result(style: str, losses: list[float], w: float) -> RunResult:
    return RunResult(
        style=style,
        config=TrainConfig(steps=len(losses)),
        weights={"W": np.full((784, 10), w, np.float32), "b": np.zeros(10, np.float32)},
        losses=np.array(losses),
        test_accuracy=0.1,
        steps=len(losses),
        seconds=0.0,
        ms_per_step=0.0,
        plan_fingerprint="p",
    )


def test_rows_compare_no_run_with_a_non_finite_side():
    fine, broken = run_result("tf1_graph", [1.0, 0.5, 0.25], 0.5), run_result("eager", [1.0, np.inf, np.nan], np.nan)
    ref_row, bad_row = compare.rows({"tf1_graph": fine, "eager": broken})
    assert ref_row["finite"] and ref_row["max_abs_dw"] == 0.0 and ref_row["bit_identical"]
    assert bad_row["nonfinite"] == {
        "step": 1,
        "loss_step": 1,
        "variables": ["W"],
        "message": "eager: non-finite loss inf from step 1; W in the final weights",
    }
    # A non-finite reference: no style has a difference to it, not even a finite one.
    _, fine_row = compare.rows({"tf1_graph": broken, "eager": fine})
    assert fine_row["finite"] and fine_row["max_abs_dw"] is None and fine_row["bit_identical"] is False


# --- data paths: one line on stderr, exit 2, no traceback (issue #13) ------------------------


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_unreadable_data_dir_exits_2_naming_it(capsys):
    with public_folder() as base:
        folder = write_folder(base / "mnist")
        with permission_taken(folder):
            status = cli.main(["compare", "--data-dir", str(folder), "--steps", "5", "--quiet"])
    line = one_error_line(capsys.readouterr().err)
    assert (
        status == 2
        and line.startswith(f"tfparity compare: error: {folder}: permission denied")
        and f"chmod a+rx {folder}" in line
    )


def test_data_dir_variable_pointing_nowhere_exits_2_naming_it(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("TFPARITY_MNIST_DIR", raising=False)
    monkeypatch.setenv("TFPARITY_DATA_DIR", str(tmp_path / "nowhere"))
    status = cli.main(["compare", "--steps", "5", "--quiet"])
    line = one_error_line(capsys.readouterr().err)
    assert status == 2 and f"TFPARITY_DATA_DIR={tmp_path / 'nowhere'}: no such folder" in line


def test_first_online_run_writes_pure_json(monkeypatch, tmp_path, capsys):
    for var in ("TFPARITY_MNIST_DIR", "TFPARITY_DATA_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))

    import keras

    def first_download():  # Keras prints this line, then a progress bar, on a first online run
        print("Downloading data from https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz")
        rng = np.random.default_rng(0)
        return (
            (rng.integers(0, 256, (200, 28, 28), dtype=np.uint8), np.arange(200) % 10),
            (rng.integers(0, 256, (50, 28, 28), dtype=np.uint8), np.arange(50) % 10),
        )

    monkeypatch.setattr(keras.datasets.mnist, "load_data", first_download)
    status = cli.main(["compare", "--steps", "3", "--quiet", "--format", "json", "--styles", "tf1_graph"])
    out, err = capsys.readouterr()
    assert status == 0 and [r["style"] for r in strict_json(out)] == ["tf1_graph"]
    assert "Downloading data from" in err
