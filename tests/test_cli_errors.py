"""Every command: bad output paths and unrunnable configs are one-line errors, exit 2, before any work;
progress and TensorFlow's start-up lines are what a user should see, and nothing more."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from tfparity.benchmarks import bench, cli, compare, progress
from tfparity.compat import tf_logs

REPO = Path(__file__).resolve().parents[1]
FIXTURE = str(REPO / "tests" / "fixtures" / "mnist_softmax.py")

# (command line before the output option, the option); the script argument of `upgrade` comes first.
OUTPUT_OPTIONS = [
    (["compare"], "-o"),
    (["parity"], "-o"),
    (["bench"], "-o"),
    (["bench"], "--benchmark-json"),
    (["bench"], "--plot"),
    (["sidebyside"], "-o"),
    (["pitfalls"], "-o"),
    (["upgrade", FIXTURE], "-o"),
    (["upgrade", FIXTURE], "--report"),
]


def one_error_line(err: str, command: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"tfparity {command}: error: "), err
    return lines[0]


@pytest.fixture
def no_work(monkeypatch):
    """Any training, benchmarking or converting now is a failure of the test: the error must come first."""

    def forbidden(*args, **kwargs):
        raise AssertionError("work started before the bad input was reported")

    monkeypatch.setattr(compare, "run_styles", forbidden)
    monkeypatch.setattr(bench, "run_suite", forbidden)


@pytest.mark.parametrize(("words", "option"), OUTPUT_OPTIONS, ids=lambda v: v if isinstance(v, str) else v[0])
def test_output_below_a_file_is_refused_before_any_work(words, option, tmp_path, capsys, no_work):
    (tmp_path / "notes.txt").write_text("not a folder")
    target = tmp_path / "notes.txt" / "out"
    assert cli.main([*words, option, str(target)]) == 2
    line = one_error_line(capsys.readouterr().err, words[0])
    assert str(target) in line and "notes.txt is not a folder" in line


# --benchmark-json creates the folders it lacks (its default lies in .benchmarks/).
@pytest.mark.parametrize(
    ("words", "option"),
    [o for o in OUTPUT_OPTIONS if o[1] != "--benchmark-json"],
    ids=lambda v: v if isinstance(v, str) else v[0],
)
def test_output_into_a_missing_folder_is_refused_before_any_work(words, option, tmp_path, capsys, no_work):
    target = tmp_path / "missing" / ("plots" if option == "--plot" else "out.txt")
    assert cli.main([*words, option, str(target)]) == 2
    line = one_error_line(capsys.readouterr().err, words[0])
    assert str(target) in line and "does not exist" in line and "create it" in line
    assert not target.parent.exists()


@pytest.mark.parametrize(("words", "option"), OUTPUT_OPTIONS, ids=lambda v: v if isinstance(v, str) else v[0])
def test_output_into_a_read_only_folder_is_refused(words, option, tmp_path, capsys, monkeypatch, no_work):
    # As root (CI) a chmod'ed folder stays writable; the probe's own failure is what is shown.
    def read_only(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    target = tmp_path / ("plots" if option == "--plot" else "out.txt")
    assert cli.main([*words, option, str(target)]) == 2
    line = one_error_line(capsys.readouterr().err, words[0])
    assert str(target) in line and "not writable (Permission denied)" in line and "choose a writable path" in line


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder; the probe is tested above")
def test_output_into_a_chmod_read_only_folder_is_refused(tmp_path, capsys):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        assert cli.main(["sidebyside", "-o", str(folder / "x.md")]) == 2
    finally:
        folder.chmod(0o755)
    assert "is not writable" in one_error_line(capsys.readouterr().err, "sidebyside")


def test_output_that_is_a_folder_is_refused(tmp_path, capsys):
    assert cli.main(["sidebyside", "-o", str(tmp_path)]) == 2
    assert "it is a folder; give a file name" in one_error_line(capsys.readouterr().err, "sidebyside")


def test_benchmark_json_may_create_its_folders_and_plot_its_folder(tmp_path):
    deep = tmp_path / "a" / "b" / "bench.json"
    assert cli.output_file_in_new_folders(str(deep)) == str(deep)
    assert cli.output_folder(str(tmp_path / "plots")) == str(tmp_path / "plots")
    assert list(tmp_path.iterdir()) == []  # the probe leaves nothing behind


def test_written_report_is_confirmed_with_its_size_and_quiet_silences_it(tmp_path, capsys):
    target = tmp_path / "view.md"
    assert cli.main(["sidebyside", "--styles", "tf1_graph", "eager", "-o", str(target)]) == 0
    err = capsys.readouterr().err
    assert err.strip() == f"tfparity: wrote {target} ({target.stat().st_size:,} bytes)"
    assert cli.main(["sidebyside", "--styles", "tf1_graph", "eager", "-o", str(target), "--quiet"]) == 0
    assert capsys.readouterr().err == ""


def test_batch_larger_than_the_training_set_is_refused_before_any_style_runs(mnist, capsys, no_work):
    assert cli.main(["compare", "--data-dir", mnist.source, "--batch-size", "60001"]) == 2
    line = one_error_line(capsys.readouterr().err, "compare")
    assert "--batch-size 60001" in line and "60000 examples" in line and "choose at most 60000" in line


def test_gpu_device_without_a_gpu_is_refused_before_any_style_runs(mnist, capsys, no_work):
    from tfparity.compat.devices import gpu_available

    if gpu_available():
        pytest.skip("a GPU is visible: --device gpu is runnable here")
    assert cli.main(["compare", "--data-dir", mnist.source, "--device", "gpu"]) == 2
    line = one_error_line(capsys.readouterr().err, "compare")
    assert "no GPU is visible to TensorFlow" in line and "--device cpu" in line


def test_bench_gpu_only_without_a_gpu_is_refused_before_the_suite(capsys, no_work):
    from tfparity.compat.devices import gpu_available

    if gpu_available():
        pytest.skip("a GPU is visible: GPU cases are runnable here")
    assert cli.main(["bench", "--devices", "gpu", "--quick"]) == 2
    line = one_error_line(capsys.readouterr().err, "bench")
    assert "--devices gpu: no GPU visible" in line and "--devices cpu" in line


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (["--steps", "0"], "--steps 0: give a whole number above 0"),
        (["--rounds", "0"], "--rounds 0: give a whole number above 0"),
        (["--batch-sizes", "50"], "--batch-sizes 50: the suite times batch sizes 100 1000 10000"),
        (["--styles", "eager", "--idioms", "feed_dict"], "no case matches --styles eager --idioms feed_dict: "),
        (["--data-dir", "MISSING"], "MISSING: no such file or folder"),
        (["--models", "linear_regression", "--data-dir", "MISSING"], "MISSING: no such file or folder"),
        (["--distributed", "--data-dir", "MISSING"], "MISSING: no such file or folder"),
    ],
)
def test_bench_input_that_cannot_run_is_one_line_before_the_suite(words, message, tmp_path, capsys, no_work):
    words = [str(tmp_path / "MISSING") if w == "MISSING" else w for w in words]
    report = tmp_path / "report.txt"
    assert cli.main(["bench", "--quick", *words, "-o", str(report)]) == 2
    line = one_error_line(capsys.readouterr().err, "bench")
    assert message.replace("MISSING", str(tmp_path / "MISSING")) in line, line
    assert not report.exists()  # no report of a run that never happened


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        (["--benchmark-compare=0042"], "no saved run matches '0042'"),
        (["--benchmark-compare", "0042", "-x"], "no saved run matches '0042'"),
        (["--benchmark-compare", "--benchmark-compare-fail=mean:5%"], "no saved run in"),
    ],
)
def test_bench_compare_against_no_saved_run_is_refused_before_the_suite(
    extra, named, tmp_path, capsys, monkeypatch, no_work
):
    monkeypatch.setenv("TFPARITY_CACHE_DIR", str(tmp_path / "cache"))
    assert cli.main(["bench", "--quick", "--idioms", "floor", "--", *extra]) == 2
    line = one_error_line(capsys.readouterr().err, "bench")
    assert named in line and str(tmp_path / "cache" / "benchmarks") in line, line


def test_bench_compare_against_a_saved_run_goes_ahead(tmp_path, monkeypatch):
    import argparse

    from pytest_benchmark.utils import get_machine_id

    from tfparity.benchmarks.benchrunner import missing_baseline

    monkeypatch.setenv("TFPARITY_CACHE_DIR", str(tmp_path / "cache"))
    saved = tmp_path / "cache" / "benchmarks" / get_machine_id() / "0042_baseline.json"
    saved.parent.mkdir(parents=True)
    saved.write_text("{}")
    for extra in (["--benchmark-compare=0042"], ["--benchmark-compare"], ["-x"]):
        assert missing_baseline(argparse.Namespace(pytest_args=["--", *extra])) is None, extra
    assert missing_baseline(argparse.Namespace(pytest_args=["--", "--benchmark-compare=0043"]))
    storage = f"--benchmark-storage=file://{tmp_path / 'elsewhere'}"  # a storage named by the user is the one read
    assert "elsewhere" in missing_baseline(argparse.Namespace(pytest_args=["--", storage, "--benchmark-compare"]))


def test_a_bench_run_that_measured_nothing_is_a_failure():
    skipped = {"cases": [{"status": "skipped", "message": "no GPU visible"}] * 2}
    assert bench.nothing_measured(skipped) == "no case ran to completion (no GPU visible): nothing was measured"
    assert bench.nothing_measured({"cases": [*skipped["cases"], {"status": "passed", "message": ""}]}) is None


# --- progress ------------------------------------------------------------------------------------


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_writes_one_plain_line_per_finished_unit_when_not_a_terminal():
    stream = io.StringIO()
    with progress.Progress(2, "compare", stream=stream) as p:
        p.step("training tf1_graph")
        p.step("training eager")
    lines = stream.getvalue().splitlines()
    assert [line.split(": done in")[0] for line in lines] == [
        "[1/2] compare: training tf1_graph",
        "[2/2] compare: training eager",
    ]
    assert "\r" not in stream.getvalue()


def test_progress_reports_units_that_finish_as_they_are_learned_of():
    stream = io.StringIO()
    with progress.Progress(2, "bench", stream=stream) as p:
        p.done("case-a passed")
    assert stream.getvalue().startswith("[1/2] bench: case-a passed (")


def test_progress_is_a_live_line_on_a_terminal_and_silent_when_quiet():
    terminal = Terminal()
    with progress.Progress(1, "pitfalls", stream=terminal) as p:
        p.step("adam-epsilon")
    assert terminal.getvalue().startswith("\r\033[K[1/1] pitfalls: adam-epsilon") and "\n" not in terminal.getvalue()
    for stream in (io.StringIO(), Terminal()):
        with progress.Progress(1, "pitfalls", stream=stream, quiet=True) as p:
            p.step("adam-epsilon")
        assert stream.getvalue() == ""


def test_the_live_line_ticks_while_a_unit_runs_and_stops_with_the_block(monkeypatch):
    monkeypatch.setattr(progress, "TICK_S", 0.01)
    terminal = Terminal()
    with progress.Progress(1, "compare", stream=terminal) as p:
        p.step("training multi_worker over 2 processes")
        time.sleep(0.3)  # a unit that runs: the clock is redrawn meanwhile, not only when it ends
    redraws = terminal.getvalue().count("\r\033[K[1/1] compare: training multi_worker over 2 processes (")
    assert redraws >= 3, terminal.getvalue()
    written = terminal.getvalue()
    time.sleep(0.1)
    assert terminal.getvalue() == written  # the ticker stopped with the block
    assert "progress-ticker" not in {t.name for t in threading.enumerate()}


# --- TensorFlow's start-up lines -------------------------------------------------------------------


def test_startup_noise_is_dropped_and_every_other_line_kept(capfd):
    with tf_logs.startup_noise_filtered():
        os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n")
        os.write(
            2,
            b"I0000 00:00:1.2 3434 cudart_stub.cc:31] Could not find cuda drivers on your machine, "
            b"GPU will not be used.\n",
        )
        os.write(2, b"E0000 00:00:1.3 3463 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: (303)\n")
        os.write(2, b"E0000 00:00:1.4 3463 some_kernel.cc:9] a real error\n")
    assert capfd.readouterr().err == "E0000 00:00:1.4 3463 some_kernel.cc:9] a real error\n"


def run_tfparity(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "TFPARITY_VERBOSE")}
    return subprocess.run(
        [sys.executable, "-m", "tfparity", *args],
        cwd=REPO,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_command_that_loads_tensorflow_prints_none_of_its_startup_lines():
    quiet = run_tfparity("sidebyside", "--styles", "tf1_graph", "eager")
    assert quiet.returncode == 0 and "tf1_graph" in quiet.stdout, quiet.stderr
    assert quiet.stderr == ""
    verbose = run_tfparity("sidebyside", "--styles", "tf1_graph", "eager", "--verbose")
    assert verbose.returncode == 0 and verbose.stdout == quiet.stdout
    assert "absl::InitializeLog" in verbose.stderr  # TensorFlow's own lines, back on request


def test_pitfalls_check_a_data_path_given_before_running_any(tmp_path, capsys, monkeypatch):
    from tfparity.benchmarks.pitfalls import command

    monkeypatch.setattr(
        command, "measure_all", lambda *a, **k: pytest.fail("a pitfall ran before the path was checked")
    )
    assert cli.main(["pitfalls", "--fashion-mnist-dir", str(tmp_path / "nowhere")]) == 2
    assert "nowhere" in one_error_line(capsys.readouterr().err, "pitfalls")
    # --data-dir, as the other commands spell it, names the MNIST folder
    assert cli.main(["pitfalls", "adam-epsilon", "--data-dir", str(tmp_path / "elsewhere")]) == 2
    assert "elsewhere" in one_error_line(capsys.readouterr().err, "pitfalls")


def test_upgrade_never_overwrites_the_script_or_writes_two_outputs_to_one_file(tmp_path, capsys):
    script = tmp_path / "tf1.py"
    script.write_text(Path(FIXTURE).read_text())
    before = script.read_text()
    assert cli.main(["upgrade", str(script), "-o", str(script)]) == 2
    assert "is the script being converted" in one_error_line(capsys.readouterr().err, "upgrade")
    assert cli.main(["upgrade", str(script), "--report", str(script)]) == 2
    assert "is the script being converted" in one_error_line(capsys.readouterr().err, "upgrade")
    both = tmp_path / "out.py"
    assert cli.main(["upgrade", str(script), "-o", str(both), "--report", str(both)]) == 2
    assert "both name" in one_error_line(capsys.readouterr().err, "upgrade")
    assert script.read_text() == before and not both.exists()
    report = tmp_path / "report.json"  # -o is every other command's report: here it would get Python code
    assert cli.main(["upgrade", str(script), "--format", "json", "-o", str(report)]) == 2
    assert f"write the report with --report {report}" in one_error_line(capsys.readouterr().err, "upgrade")
    assert not report.exists()
    code = tmp_path / "tf2.py"  # and the other way round: --report named like the converted code
    assert cli.main(["upgrade", str(script), "--report", str(code)]) == 2
    assert f"write the converted code with -o {code}" in one_error_line(capsys.readouterr().err, "upgrade")
    assert not code.exists()
