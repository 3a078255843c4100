"""`tfparity parity PATH.py:FACTORY` / `MODULE:FACTORY`: a user's own pair from the command line.

A pair at parity exits 0, a planted bug exits 1; every bad target is one line on stderr, exit
status 2, before any data is loaded or anything trains.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from tfparity.benchmarks import cli, parity_cmd, parity_target
from tfparity.compat import parity
from tfparity.compat.parity.case import ParityCase, as_case

TWO_LAYER = Path(__file__).resolve().parent / "two_layer.py"
FAST = ("--batch-size", "32", "--steps", "20")

FACTORIES = '''
import numpy as np

FACTOR = 3


class Fake:
    """Enough of a Side for as_case; it never trains."""

    def __init__(self, name):
        self.name = name

    def inspect(self, inputs): ...

    def forward(self, weights, inputs): ...

    def train(self, weights, batches, record_every=1): ...


def fake_pair():
    return Fake("tf1"), Fake("tf2"), [(np.zeros((1, 2)), np.zeros((1, 2)))]


def boom():
    raise RuntimeError("no weights here")


def needs(path):
    return path


def wrong():
    return 42


def strings():
    return "tf1", "tf2"
'''

BOOM_LINE = FACTORIES.splitlines().index('    raise RuntimeError("no weights here")') + 1


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    status = cli.main(["parity", "--quiet", *args])
    out, err = capsys.readouterr()
    return status, out, err


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("tfparity parity: error: "), err
    return lines[0]


@pytest.fixture
def factories(tmp_path) -> Path:
    """A folder with factories.py (fake sides and broken factories) and bad_import.py (raises on import)."""
    (tmp_path / "factories.py").write_text(FACTORIES)
    (tmp_path / "bad_import.py").write_text("import math\n\nmath.pi / 0\n")
    return tmp_path


@pytest.fixture
def no_work(monkeypatch):
    """Loading data or checking anything now fails the test: the error must come first."""

    def forbidden(*args, **kwargs):
        raise AssertionError("work started before the bad target was reported")

    monkeypatch.setattr(cli, "load_data_from_args", forbidden)
    monkeypatch.setattr(parity_target, "check_case", forbidden)
    monkeypatch.setattr(parity_cmd, "check", forbidden)


# --- a real pair, trained ------------------------------------------------------------------------


def test_own_pair_at_parity_exits_0_and_reports_its_target(mnist, capsys):
    target = f"{TWO_LAYER}:sides"
    status, out, _ = run_cli(capsys, target, "--data-dir", mnist.source, *FAST, "--format", "json")
    body = json.loads(out)
    report = body["reports"]["keras"]
    assert status == 0 and report["verdict"] == parity.PARITY, report["reasons"]
    assert body["target"] == target and body["batches"] == {"from": "mnist", "batch_size": 32, "steps": 20, "seed": 0}
    assert len(report["trajectory"]["reference_losses"]) == 20
    accuracy = report["metrics"]["test_accuracy"]  # the default metric, on the data's test split
    assert 0.5 < accuracy["reference"] < 1 and abs(accuracy["candidate"] - accuracy["reference"]) <= 1e-3


def test_planted_bug_exits_1_with_bug_named_by_the_case(mnist, capsys):
    status, out, _ = run_cli(capsys, f"{TWO_LAYER}:case_sum_loss", "--data-dir", mnist.source, *FAST)
    title, summary = out.split("\n\n")[:2]
    assert status == 1 and title.startswith(f"{TWO_LAYER}:case_sum_loss: sum_loss against tf1; mnist")
    row = next(line for line in summary.splitlines() if line.startswith("sum_loss "))
    assert "bug" in row.split() and "parity: sum_loss against tf1: BUG" in out


def test_a_case_with_its_own_batches_needs_no_data_and_strict_fails_a_sensitive_verdict(factories, capsys, monkeypatch):
    class Sensitive:
        verdict, trajectory, growth, envelope, nonfinite, metrics = parity.SENSITIVE, None, None, None, [], {}
        candidate, margin = "tf2", None
        passes = parity.ParityReport.passes

        def __str__(self) -> str:
            return "parity: tf2 against tf1: SENSITIVE PROBLEM, NO BUG"

    seen = []

    def check_case(case, data, config, flags, progress=None):
        seen.append((case.reference.name, data))
        return {case.label: Sensitive()}

    monkeypatch.setattr(parity_target, "check_case", check_case)
    monkeypatch.setattr(cli, "load_data_from_args", lambda args: pytest.fail("the case brought its own batches"))
    target = f"{factories / 'factories.py'}:fake_pair"
    assert run_cli(capsys, target)[0] == 0
    assert run_cli(capsys, target, "--allow-sensitive")[0] == 0
    status, out, _ = run_cli(capsys, target, "--strict")
    assert status == 1 and out.startswith(f"{target}: tf2 against tf1; the factory's batches")
    assert seen == [("tf1", None)] * 3


# --- resolving the target --------------------------------------------------------------------------


def test_module_form_imports_from_the_current_folder(tmp_path, monkeypatch):
    shutil.copy(TWO_LAYER, tmp_path / "my_migration.py")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "my_migration", raising=False)
    assert importlib.util.find_spec("my_migration") is None  # importable only through the CLI's rule
    path_before = list(sys.path)
    case = parity_target.load_case("my_migration:sides")
    monkeypatch.delitem(sys.modules, "my_migration")
    assert (case.reference.name, case.candidate.name, case.batches) == ("tf1", "keras", None)
    assert isinstance(case.reference, parity.TF1GraphSide) and sys.path == path_before


def test_file_form_imports_its_neighbours(tmp_path):
    (tmp_path / "pair_neighbour.py").write_text(FACTORIES)
    (tmp_path / "pair.py").write_text(
        "from pair_neighbour import Fake\n\n\ndef make():\n    return Fake('a'), Fake('b')\n"
    )
    case = parity_target.load_case(f"{tmp_path / 'pair.py'}:make")
    sys.modules.pop("pair_neighbour", None)
    assert (case.reference.name, case.candidate.name, case.label) == ("a", "b", "b")


BAD_TARGETS = [
    ("{dir}/factories.py", ["is not of the form PATH.py:FACTORY", "add ':'"]),
    ("{dir}/missing.py:sides", ["no file {dir}/missing.py", "check the path"]),
    ("{dir}/notes.txt:sides", ["is not a .py file"]),
    ("no_such_module_for_tfparity:sides", ["no module named no_such_module_for_tfparity", "current folder"]),
    ("{dir}/bad_import.py:sides", ["ZeroDivisionError: float division by zero (bad_import.py, line 3)"]),
    ("{dir}/factories.py:sidez", ["has no 'sidez'", "its public functions are Fake, boom, fake_pair, needs"]),
    ("{dir}/factories.py:FACTOR", ["FACTOR is int, not callable"]),
    ("{dir}/factories.py:boom", ["boom() raised RuntimeError: no weights here (factories.py, line {boom})"]),
    ("{dir}/factories.py:needs", ["needs requires path", "called with no arguments"]),
    ("{dir}/factories.py:wrong", ["wrong() must return a ParityCase", "got an int (42)"]),
    ("{dir}/factories.py:strings", ["the reference must be a compat.parity side", "got a str ('tf1')"]),
    ("keras_fit", ["keras_fit is one of our styles", "--styles keras_fit"]),
]


@pytest.mark.parametrize(("target", "expected"), BAD_TARGETS, ids=[t for t, _ in BAD_TARGETS])
def test_bad_target_is_one_line_exit_2_before_any_work(target, expected, factories, capsys, no_work):
    target = target.format(dir=factories)
    status, out, err = run_cli(capsys, target)
    line = one_error_line(err)
    assert status == 2 and out == ""
    for fragment in expected:
        assert fragment.format(dir=factories, boom=BOOM_LINE) in line, line


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["{dir}/factories.py:fake_pair", "--styles", "eager"], "--styles picks tfparity's own styles"),
        (["--styles", "eager", "{dir}/factories.py:fake_pair"], "the target (which goes before the options)"),
        (["{dir}/factories.py:fake_pair", "--strict", "--allow-sensitive"], "contradict each other"),
        (
            ["{dir}/factories.py:fake_pair", "--lr", "0.1", "--device", "cpu"],
            "--learning-rate, --device set(s) how our",
        ),
        (["{dir}/factories.py:fake_pair", "--model", "mlp"], "--model set(s) how our styles"),
        (["{dir}/factories.py:fake_pair", "--twins", "-1"], "--twins must be 0 or more, got -1"),
    ],
)
def test_contradicting_flags_are_refused_before_any_work(args, expected, factories, capsys, no_work):
    status, _, err = run_cli(capsys, *(a.format(dir=factories) for a in args))
    assert status == 2 and expected in one_error_line(err)


# --- the case and the table ------------------------------------------------------------------------


def test_as_case_accepts_a_case_or_a_tuple_and_checks_options_and_batches():
    fake = SimpleNamespace(name="s", inspect=print, forward=print, train=print)
    batches = [(np.zeros((2, 3)), np.zeros((2, 1)))]
    case = ParityCase(fake, fake, options={"tolerance": parity.Tolerance(1e-3, 1e-3)}, name="mine")
    assert as_case(case) is case and case.label == "mine"
    assert as_case((fake, fake, batches)).batches is batches and as_case([fake, fake]).label == "s"
    with pytest.raises(TypeError, match=r"unknown check_parity option\(s\) \['tol'\]; choose from .*'tolerance'"):
        as_case(ParityCase(fake, fake, options={"tol": 1}))
    with pytest.raises(TypeError, match="batches is empty"):
        as_case((fake, fake, []))
    with pytest.raises(TypeError, match="got a tuple of 4 items"):
        as_case((fake, fake, batches, None))


def test_margin_column_shows_the_ratio_and_where_or_a_dash():
    report = SimpleNamespace(margin=parity.Margin(0.3141, "envelope", "W", (3, 4), 40))
    assert parity_cmd.margin_cell(report) == "0.314x envelope (step 40, W)"
    report.margin = parity.Margin(0.3141, "rounding bound", "outputs", (3, 4))
    assert parity_cmd.margin_cell(report) == "0.314x rounding bound (outputs)"
    assert parity_cmd.margin_cell(SimpleNamespace(margin=None)) == "-"
