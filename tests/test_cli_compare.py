"""`tfparity compare`: the table, the JSON CI jobs read, and failures that are never hidden."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from benchmarks import cli, styles

ARGS = ["compare", "--steps", "30", "--quiet"]


@pytest.fixture
def data_args(mnist):
    return ["--data-dir", mnist.source]


def test_json_has_one_object_per_style_with_the_documented_keys(data_args, capsys):
    assert cli.main(ARGS + data_args + ["--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["style"] for r in rows] == list(styles.STYLES)
    for row in rows:
        assert {"style", "test_accuracy", "final_loss", "max_abs_dw", "max_abs_db", "seconds", "ms_per_step"} <= set(row)
        assert row["same_batches"] is True
    ref = rows[0]
    assert ref["max_abs_dw"] == 0.0 and ref["bit_identical"] is True
    assert all(r["max_abs_dw"] <= 1e-5 and abs(r["test_accuracy"] - ref["test_accuracy"]) <= 1e-3 for r in rows)


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
    args = parser.parse_args(["compare", "--steps", "7", "--batch-size", "50", "--lr", "0.1", "--optimizer", "adam",
                              "--adam-epsilon", "1e-7", "--adam-beta1", "0.8", "--adam-beta2", "0.99", "--loss", "sum",
                              "--init", "normal", "--init-stddev", "0.1", "--seed", "3", "--device", "cpu"])
    config = cli.config_from_args(args)
    assert (config.steps, config.batch_size, config.learning_rate, config.optimizer, config.adam_epsilon) == (7, 50, 0.1, "adam", 1e-7)
    assert (config.adam_beta1, config.adam_beta2, config.loss, config.init, config.init_stddev, config.seed) == (0.8, 0.99, "sum", "normal", 0.1, 3)
    tutorial = cli.config_from_args(parser.parse_args(["compare", "--tutorial"]))
    assert (tutorial.loss, tutorial.learning_rate) == ("tutorial", 0.01)


def test_a_failing_style_shows_as_failed_and_sets_the_exit_status(data_args, capsys, monkeypatch):
    def broken(data, config):
        raise RuntimeError("planted failure")

    monkeypatch.setitem(styles.STYLES, "eager", broken)
    assert cli.main(ARGS + data_args + ["--styles", "eager"]) == 1
    captured = capsys.readouterr()
    assert "FAILED" in captured.out and "planted failure" in captured.out
    assert "Traceback" in captured.err


def test_bad_input_is_a_clear_error(tmp_path, capsys):
    assert cli.main(["compare", "--data-dir", str(tmp_path / "nowhere"), "--steps", "5"]) == 2
    err = capsys.readouterr().err
    assert "nowhere: no such file or folder" in err and "--data-dir DIR" in err
    assert cli.main(["compare", "--data-dir", str(tmp_path), "--steps", "0"]) == 2
    assert "steps must be a positive integer" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        cli.main(["compare", "--styles", "nosuchstyle"])
    assert info.value.code == 2 and "invalid choice: 'nosuchstyle'" in capsys.readouterr().err


def test_console_script_runs_quietly_when_not_a_terminal(data_args):
    out = subprocess.run([sys.executable, "-m", "benchmarks", *ARGS[:-1], "--styles", "tf1_graph", *data_args],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "[1/" not in out.stderr  # no progress lines in a pipe
    assert "tf1_graph" in out.stdout


@pytest.mark.parametrize("argv, shown", [
    (["--help"], list(cli.COMMANDS)),
    # The bench command's choices come from the idiom registry, which imports a style only to run it.
    (["bench", "--help"], ["--idioms", "whole_epoch_xla", "steps_per_execution", "--malloc"]),
])
def test_help_loads_no_tensorflow(argv, shown):
    # TensorFlow takes seconds to import and logs as it does: help must not wait for it.
    listing = (f"import sys\nfrom benchmarks import cli\ntry:\n    cli.main({argv!r})\nexcept SystemExit as exit:\n"
               "    assert exit.code == 0\nprint('loaded:', sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", listing], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert all(text in out.stdout for text in shown), out.stdout
    assert out.stdout.rstrip().endswith("loaded: []")


def test_only_the_command_run_gets_its_arguments():
    args = cli.build_parser(["upgrade"]).parse_args(["upgrade", "script.py", "--format", "json"])
    assert args.command == "upgrade" and args.format == "json" and args._run.__module__ == "benchmarks.upgrade"
    with pytest.raises(SystemExit):  # a command whose module was not loaded has no arguments to parse
        cli.build_parser([]).parse_args(["compare", "--steps", "3"])
