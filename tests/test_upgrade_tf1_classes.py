"""`tfparity upgrade` on the kinds of real TF1 code it used to miss (issue #13, section 5).

Each kind has a small TF1 script in tests/fixtures/ that really fails after tf_upgrade_v2. The
tests find the lines that matter in the converted code independently of the audit (with
`ast`), check that the audit flags them, then run the script in a fresh interpreter: it must
fail at the first line the audit names, with what the audit says it raises; and with the
audit's mechanical fixes applied, run. TensorFlow's import alone takes seconds, so the
scripts run once per module, two at a time.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from upgrade_support import FIXTURES, run_script

from tfparity.benchmarks import upgrade, upgrade_tables
from tfparity.compat.api_table_symbols import V1_METRICS

# name -> (fixture, which of the audit's fixes to apply: none, only the eager switch, all)
RUNS = {
    "summaries_eager_only": ("tf1_summaries.py", "eager"),
    "summaries_fixed": ("tf1_summaries.py", "all"),
    "device_converted": ("tf1_device_function.py", "none"),
    "device_fixed": ("tf1_device_function.py", "all"),
    "queues_converted": ("tf1_queue_input.py", "none"),
    "session_converted": ("tf1_session_no_placeholder.py", "none"),
    "capture_converted": ("tf1_eager_capture.py", "none"),
    "capture_fixed": ("tf1_eager_capture.py", "all"),
    "app_run_converted": ("tf1_app_run.py", "none"),
    "app_run_fixed": ("tf1_app_run.py", "all"),
    "class_model_converted": ("tf1_class_model.py", "none"),
    "class_model_fixed": ("tf1_class_model.py", "all"),
}


@dataclass
class Run:
    text: str  # the script that ran
    findings: list  # the audit of that very script (a re-audit, for fixed ones)
    proc: subprocess.CompletedProcess
    line: int | None  # the script line its traceback ends at
    cwd: Path


def converted(fixture: str) -> tuple[upgrade.Conversion, list]:
    path = str(FIXTURES / fixture)
    conversion = upgrade.convert(upgrade.read_script(path), path)
    return conversion, upgrade.audit(conversion.converted)


def script_text(fixture: str, fixes: str) -> str:
    conversion, findings = converted(fixture)
    chosen = {"none": [], "eager": [f for f in findings if f.kind == "eager-conflict"], "all": findings}[fixes]
    return upgrade.apply_fixes(conversion.converted, chosen)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Run]:
    scripts = {}
    for name, (fixture, fixes) in RUNS.items():
        folder = tmp_path_factory.mktemp(name)  # its own cwd: the summaries script writes logs/ there
        (folder / "script.py").write_text(script_text(fixture, fixes))
        scripts[name] = folder
    with ThreadPoolExecutor(max_workers=2) as pool:  # CI has two cores
        done = dict(zip(scripts, pool.map(lambda f: run_script(f / "script.py", f), scripts.values()), strict=True))
    results = {}
    for name, folder in scripts.items():
        text = (folder / "script.py").read_text()
        results[name] = Run(text, upgrade.audit(text), *done[name], folder)
    return results


def call_lines(code: str, *callees: str) -> list[int]:
    """Lines of the calls of `callees` (as written), found without the audit."""
    return sorted(
        n.lineno for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Call) and ast.unparse(n.func) in callees
    )


def first_fatal(findings: list) -> upgrade.Finding:
    return min((f for f in findings if f.fatal), key=lambda f: f.line)


def raised(problem: str) -> str:
    """The exception part of a finding's problem: `Type: message`, for comparing with stderr."""
    start = min(
        problem.find(t)
        for t in ("RuntimeError", "ValueError", "TBNotInstalledError", "NotImplementedError")
        if t in problem
    )
    return problem[start:].split(" (")[0].rstrip(".")


def assert_fails_as_predicted(run: Run) -> upgrade.Finding:
    first = first_fatal(run.findings)
    assert run.proc.returncode != 0 and run.line == first.line, (first, run.proc.stderr[-1500:])
    message = raised(first.problem).split(": ", 1)[1].replace("<op input>: ", "")  # TensorFlow names the input there
    assert message in run.proc.stderr, (first.problem, run.proc.stderr[-1500:])
    return first


def assert_runs(run: Run, output: str) -> None:
    assert run.proc.returncode == 0, run.proc.stderr[-1500:]
    assert output in run.proc.stdout
    assert upgrade.exit_status(run.findings) == upgrade.EXIT_OK, [f for f in run.findings if f.fatal]


# --- tf.summary.scalar / histogram / image in TF1 code -------------------------------------------


def test_tf1_summary_ops_are_flagged_at_each_call():
    conversion, findings = converted("tf1_summaries.py")
    ops = call_lines(conversion.converted, "tf.summary.scalar", "tf.summary.histogram", "tf.summary.image")
    assert len(ops) == 3  # tf_upgrade_v2 left them as they were...
    claims = [line for line in conversion.log if "converted to tf.compat.v1.summary" in line]
    assert len(claims) >= 3  # ... while its log says it converted them
    flagged = [f for f in findings if f.cause.startswith(upgrade_tables.SUMMARY_CAUSE) and f.edit is not None]
    assert sorted(f.line for f in flagged) == ops
    assert all(f.kind == ("silent-change" if upgrade.tensorboard_installed() else "changed-api") for f in flagged)
    assert upgrade.exit_status(findings) == upgrade.EXIT_FAILS


def test_with_tensorboard_installed_the_failure_is_the_run_of_merge_all(monkeypatch):
    """TensorBoard is not installed here, so this branch is checked statically: its summary ops
    then write nothing, merge_all() returns None, and sess.run of it raises TypeError."""
    monkeypatch.setattr("tfparity.benchmarks.upgrade_audit.tensorboard_installed", lambda: True)
    conversion, findings = converted("tf1_summaries.py")
    ops = call_lines(conversion.converted, "tf.summary.scalar", "tf.summary.histogram", "tf.summary.image")
    assert sorted(f.line for f in findings if f.kind == "silent-change") == ops
    code = conversion.converted.splitlines()
    merged_run = next(i for i, text in enumerate(code, 1) if "sess.run([merged" in text)
    [fails] = [f for f in findings if f.kind == "changed-api"]
    assert fails.line == merged_run and upgrade_tables.MERGE_NONE in fails.problem
    # The same --apply-fixes rewrite: the fixed code has no TF2 summary op left.
    fixed = upgrade.apply_fixes(conversion.converted, findings)
    assert not [f for f in upgrade.audit(fixed) if f.cause.startswith(upgrade_tables.SUMMARY_CAUSE)]


def test_tf1_summaries_fail_as_predicted_until_the_fix_and_then_write(runs):
    half = runs["summaries_eager_only"]  # eager execution off, summary ops left as tf_upgrade_v2 left them
    assert upgrade.exit_status(half.findings) == upgrade.EXIT_FAILS  # a re-audit never says 0 problems here
    first = assert_fails_as_predicted(half)
    if upgrade.tensorboard_installed():
        assert "Argument `fetch` = None" in half.proc.stderr  # merge_all() found no TF1 summary
    else:
        assert "TBNotInstalledError" in half.proc.stderr and first.symbol == "tf.summary.scalar"
    fixed = runs["summaries_fixed"]
    assert "tf.compat.v1.summary.scalar(" in fixed.text and "tf.summary.scalar(" not in fixed.text
    assert_runs(fixed, "trained, summaries written")
    assert any((fixed.cwd / "logs").iterdir())  # the FileWriter wrote its events file


# --- tf.device(<a device function>) -------------------------------------------------------------


def test_device_function_fails_at_tf_device_and_tf_compat_v1_device_runs(runs):
    run = runs["device_converted"]
    [device_line] = call_lines(run.text, "tf.device")
    first = assert_fails_as_predicted(run)
    assert first.line == device_line and first.kind == "changed-api"
    fixed = runs["device_fixed"]
    assert "tf.compat.v1.device(ps_placement)" in fixed.text
    assert_runs(fixed, "6.0")


# --- queue-based input ---------------------------------------------------------------------------


def test_queue_input_is_flagged_at_each_producer_and_batcher(runs):
    run = runs["queues_converted"]
    queues = call_lines(
        run.text,
        *(
            f"tf.compat.v1.train.{name}"
            for name in ("slice_input_producer", "string_input_producer", "batch", "shuffle_batch")
        ),
    )
    assert len(queues) == 4
    eager = {f.line: f for f in run.findings if f.kind == "eager-conflict"}
    assert set(queues) <= set(eager)
    assert all(upgrade_tables.QUEUES_EAGER in eager[line].problem for line in queues)
    runners = call_lines(run.text, "tf.compat.v1.train.start_queue_runners")
    first = assert_fails_as_predicted(run)
    assert first.line == queues[0] < runners[0]  # not at start_queue_runners


# --- sessions: what their first run really raises ------------------------------------------------


def test_session_fails_at_its_first_run_with_the_error_it_really_raises(runs):
    run = runs["session_converted"]
    [made] = call_lines(run.text, "tf.compat.v1.Session")
    first_run = min(call_lines(run.text, "sess.run"))
    first = assert_fails_as_predicted(run)
    assert first.line == first_run > made and upgrade_tables.SESSION_RUN_RAISES.rstrip(".") in first.problem
    # Its fix is the eager switch alone, which the tutorial's test runs (test_upgrade.py).
    assert first.edit is not None and "disable_eager_execution()" in first.edit.text


def test_a_main_started_by_tf_app_run_is_called_and_fails_as_predicted_until_the_fix(runs):
    """tf.app.run(main=main) calls main(): its placeholder fails with eager execution on, not "nothing calls it"."""
    run = runs["app_run_converted"]
    first = assert_fails_as_predicted(run)
    assert first.kind == "eager-conflict" and first.line == min(call_lines(run.text, "tf.compat.v1.placeholder"))
    assert not [f for f in run.findings if f.kind == "graph-only"], run.findings
    assert_runs(runs["app_run_fixed"], "app run: 3.0")


def test_a_graph_built_in_a_class_init_is_called_and_fails_as_predicted_until_the_fixes(runs):
    """Regressor(2) runs __init__, and tf.app.run() runs main(): neither is "nothing calls it". The fixes
    (the eager switch, `.value` dropped) make it run; compute_gradients on `self.opt` is graph-only too."""
    run = runs["class_model_converted"]
    first = assert_fails_as_predicted(run)
    assert first.kind == "eager-conflict" and first.line == min(call_lines(run.text, "tf.compat.v1.placeholder"))
    assert not [f for f in run.findings if f.kind == "graph-only"], run.findings
    kinds = {f.symbol: f.kind for f in run.findings if f.kind != "compat-v1"}
    assert kinds["Optimizer.compute_gradients(loss)"] == "eager-conflict"
    assert kinds["self.x.get_shape()[1].value"] == "changed-api"
    assert kinds["tf.compat.v1.get_collection"] == "silent-change"
    fixed = runs["class_model_fixed"]
    assert "inputs = self.x.get_shape()[1]\n" in fixed.text
    assert_runs(fixed, "class model: 2.072")


def test_eager_tensor_captured_by_graph_code(runs):
    """Eager execution turned off after a tensor was made: the old audit found nothing (exit 0)."""
    run = runs["capture_converted"]
    line = next(i for i, text in enumerate(run.text.splitlines(), 1) if text.startswith("y = x * scale"))
    first = assert_fails_as_predicted(run)
    assert (first.line, first.kind, first.symbol) == (line, "eager-capture", "scale")
    assert "Attempting to capture an EagerTensor without building a function" in run.proc.stderr
    assert_runs(runs["capture_fixed"], "[2. 4.]")


# --- every message the new rules print is what TensorFlow raises ---------------------------------

# Metrics whose third argument is required (thresholds, k, num_classes): the eager check comes after it.
METRIC_ARG3 = (
    "mean_iou",
    "recall_at_k",
    "precision_at_thresholds",
    "recall_at_thresholds",
    "sensitivity_at_specificity",
    "specificity_at_sensitivity",
)
NEW_LOOP_CLASSES = ("Supervisor", "MonitoredSession", "SingularMonitoredSession")
# table key -> statements that reach it with eager execution on (the last one turns it off)
PROBES = {
    **{
        f"tf.compat.v1.train.{name}": f"tf.compat.v1.train.{name}({args})"
        for name, args in {
            "slice_input_producer": "[tf.constant([1, 2])]",
            "string_input_producer": "['a.tfrecord']",
            "range_input_producer": "3",
            "input_producer": "tf.constant([1, 2])",
            "batch": "[tf.constant(1)], 2",
            "shuffle_batch": "[tf.constant(1)], 2, 10, 2",
            "batch_join": "[[tf.constant(1)]], 2",
            "shuffle_batch_join": "[[tf.constant(1)]], 2, 10, 2",
            "maybe_batch": "[tf.constant(1)], True, 2",
        }.items()
    },
    **{
        f"tf.compat.v1.{name}": f"tf.compat.v1.{name}({args})"
        for name, args in {
            "WholeFileReader": "",
            "TFRecordReader": "",
            "TextLineReader": "",
            "FixedLengthRecordReader": "4",
        }.items()
    },
    **{
        f"tf.compat.v1.metrics.{name}": f"tf.compat.v1.metrics.{name}(None, None{', 2' if name in METRIC_ARG3 else ''})"
        for name in V1_METRICS
    },
    **{f"tf.compat.v1.train.{name}": f"tf.compat.v1.train.{name}()" for name in NEW_LOOP_CLASSES},
    "tf.compat.v1.device(function)": "with tf.compat.v1.device(lambda op: '/cpu:0'): pass",
    "DEVICE_RAISES": "with tf.device(lambda op: '/cpu:0'): pass",
    "SESSION_RUN_RAISES": "tf.compat.v1.Session().run(tf.constant(1.0))",
    "EVAL_RAISES": "tf.constant(1.0).eval()",
    "TB_MISSING": "tf.summary.scalar('loss', 1.0)",
    "CAPTURE_RAISES": "made = tf.constant(1.0); tf.compat.v1.disable_eager_execution(); made * 2.0",
}
PROBE = """
import json, sys
import tensorflow as tf
out = {}
for key, code in json.loads(sys.argv[1]).items():
    try:
        exec(code)
        out[key] = None
    except Exception as exc:
        out[key] = f"{type(exc).__name__}: {exc}"
print(json.dumps(out))
"""


def expected_messages() -> dict[str, str]:
    tables = upgrade_tables
    new_graph_only = {
        k: v[0]
        for k, v in tables.GRAPH_ONLY.items()
        if tables.QUEUES_EAGER in v[0]
        or tables.READERS_EAGER in v[0]
        or k.endswith("(function)")
        or k.startswith("tf.compat.v1.metrics.")
        or k.removeprefix("tf.compat.v1.train.") in NEW_LOOP_CLASSES
    }
    return {
        **new_graph_only,
        "DEVICE_RAISES": tables.DEVICE_RAISES,
        "SESSION_RUN_RAISES": tables.SESSION_RUN_RAISES,
        "EVAL_RAISES": tables.EVAL_RAISES,
        "TB_MISSING": tables.TB_MISSING.format(op="scalar"),
        "CAPTURE_RAISES": tables.CAPTURE_RAISES.replace("<op input>: ", ""),
    }


def test_messages_are_what_tensorflow_raises():
    expected = expected_messages()
    assert set(expected) == set(PROBES)  # a new table entry needs its probe
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(PROBES)], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout.splitlines()[-1])
    if upgrade.tensorboard_installed():  # then tf.summary.scalar raises nothing: the message says so
        assert got.pop("TB_MISSING") is None and expected.pop("TB_MISSING")
    for key, message in expected.items():
        actual = got[key] or "(nothing raised)"
        if key == "CAPTURE_RAISES":  # TensorFlow puts the op input's name after the type
            actual = actual.replace(actual.split(": ")[1] + ": ", "", 1)
        if message == upgrade_tables.SUMMARY_MERGE_RAISES:  # its advice, tf.contrib.summary, is gone in TF2
            actual = actual.removesuffix(". Use tf.contrib.summary instead.")
        assert actual.rstrip(".") == message.rstrip("."), key
