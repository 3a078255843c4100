"""`tfparity upgrade`: tf_upgrade_v2's own output, and an audit that finds what it leaves broken.

The claims are proved by running code, not by reading it: the converted tutorial script really
fails in a fresh interpreter at the line the audit names, the audit's fixes really make it train,
and every symbol the audit calls missing really fails in a fresh interpreter (and no other does).
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import conftest
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tfparity.benchmarks import cli, upgrade

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
TUTORIAL = FIXTURES / "mnist_softmax.py"
LAYERS = FIXTURES / "mnist_layers_contrib.py"
PASTA_FAILURE = FIXTURES / "tf1_pasta_failure.py"


@pytest.fixture(scope="module")
def tutorial():
    conversion = upgrade.convert(upgrade.read_script(str(TUTORIAL)), str(TUTORIAL))
    return conversion, upgrade.audit(conversion.converted)


@pytest.fixture(scope="module")
def layers():
    conversion = upgrade.convert(upgrade.read_script(str(LAYERS)), str(LAYERS))
    return conversion, upgrade.audit(conversion.converted)


def kinds_by_line(findings, kind):
    return sorted(f.line for f in findings if f.kind == kind)


def outer_chains(code: str) -> list[tuple[int, str]]:
    """(line, dotted) for every maximal `tf.` attribute chain of `code`, found independently of the audit."""
    tree = ast.parse(code)
    inner = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    chains = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and id(node) not in inner:
            text = ast.unparse(node)
            if re.fullmatch(r"tf(\.\w+)+", text):
                chains.append((node.lineno, text))
    return sorted(chains)


def run_script(path: Path, cwd: Path) -> tuple[subprocess.CompletedProcess, int | None]:
    """Run a script in a fresh interpreter; the result and the script line its traceback ends at.

    The checkout is on PYTHONPATH as an installed tfparity would be: the fixed tutorial imports
    tfparity's reader (upgrade.TUTORIAL_READER), nothing the tests provide."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2"}
    where = conftest._data_path("mnist")  # the data tfparity's tests use, never a download into cwd
    if where is not None:
        env["TFPARITY_MNIST_DIR"] = str(Path(where).resolve())
    proc = subprocess.run([sys.executable, str(path)], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    lines = [int(n) for n in re.findall(rf'File "{re.escape(str(path))}", line (\d+)', proc.stderr)]
    return proc, (lines[-1] if lines else None)


# --- the tutorial script: tf_upgrade_v2 says 0 issues --------------------------------------------


def test_converter_reports_no_issue_on_the_tutorial_but_the_audit_finds_two_failures(tutorial):
    conversion, findings = tutorial
    assert conversion.issues == ()  # tf_upgrade_v2's own "Detected 0 issues that require attention"
    tree = ast.parse(conversion.converted)
    tutorials_import = next(
        n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module.startswith("tensorflow.examples")
    )
    placeholders = sorted(
        n.lineno
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and ast.unparse(n.func) == "tf.compat.v1.placeholder"
    )
    assert kinds_by_line(findings, "removed-import") == [tutorials_import.lineno]
    eager = kinds_by_line(findings, "eager-conflict")
    assert set(placeholders) <= set(eager), (placeholders, eager)
    assert {f.symbol for f in findings if f.kind == "eager-conflict"} >= {
        "tf.compat.v1.placeholder",
        "tf.compat.v1.Session",
    }
    assert "Optimizer.minimize(cross_entropy)" in {f.symbol for f in findings if f.kind == "eager-conflict"}
    assert all(f.line and f.fix for f in findings)
    assert upgrade.exit_status(findings) == upgrade.EXIT_FAILS


def test_every_compat_v1_use_is_counted_as_debt(tutorial, layers):
    for conversion, findings in (tutorial, layers):
        missing = {(f.line, f.symbol) for f in findings if f.kind == "missing-symbol"}
        expected = [
            c for c in outer_chains(conversion.converted) if c[1].startswith("tf.compat.v1.") and c not in missing
        ]
        debt = sorted((f.line, f.symbol) for f in findings if f.kind == "compat-v1")
        assert debt == expected
        assert all(f.docs.startswith(upgrade.API_DOCS) for f in findings if f.kind == "compat-v1")


def test_converted_tutorial_fails_on_eager_conflict_and_the_named_fixes_make_it_train(tutorial, tmp_path):
    conversion, findings = tutorial
    # Only the import fixed: what remains is the failure tf_upgrade_v2 does not report.
    import_fixed = tmp_path / "import_fixed.py"
    import_fixed.write_text(
        upgrade.apply_fixes(conversion.converted, [f for f in findings if f.kind == "removed-import"])
    )
    proc, line = run_script(import_fixed, tmp_path)
    assert proc.returncode != 0
    assert "RuntimeError: tf.placeholder() is not compatible with eager execution" in proc.stderr, proc.stderr[-2000:]
    assert line == min(
        kinds_by_line(findings, "eager-conflict")
    )  # the line the audit named (the edit kept line numbers)

    # Every mechanical fix the audit names: disable_eager_execution() and tfparity's own reader.
    fixed = tmp_path / "fixed.py"
    fixed.write_text(upgrade.apply_fixes(conversion.converted, findings))
    assert "disable_eager_execution()" in fixed.read_text()
    assert f"import {upgrade.TUTORIAL_READER} as input_data" in fixed.read_text()
    assert upgrade.exit_status(upgrade.audit(fixed.read_text())) == upgrade.EXIT_OK  # the import is gone too
    proc, _ = run_script(fixed, tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    accuracy = float(proc.stdout.split()[-1])
    assert 0.88 <= accuracy <= 0.95, proc.stdout  # the tutorial's "about 92%"
    assert not any(
        p.name != "fixed.py" and p.name != "import_fixed.py" for p in tmp_path.iterdir()
    )  # nothing downloaded


# --- tf.layers and tf.contrib ------------------------------------------------------------------


PROBE = """
import json, sys
import tensorflow as tf
out = {}
for chain in json.loads(sys.argv[1]):
    try:
        eval(chain)
        out[chain] = None
    except Exception as exc:
        out[chain] = f"{type(exc).__name__}: {exc}"
print(json.dumps(out))
"""


def test_layers_fixture_missing_symbols_are_exactly_those_that_fail_in_a_fresh_interpreter(layers):
    conversion, findings = layers
    chains = sorted({c for _, c in outer_chains(conversion.converted)})
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(chains)], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    fresh = json.loads(proc.stdout.splitlines()[-1])
    failing = {chain for chain, error in fresh.items() if error}
    reported = {f.symbol for f in findings if f.kind == "missing-symbol"}
    assert reported == failing
    assert {"tf.layers.dense", "tf.compat.v1.layers.batch_normalization", "tf.estimator.Estimator"} <= reported
    # What tf_upgrade_v2 itself emitted for tf.layers.batch_normalization fails on Keras 3:
    assert "not available with Keras 3" in fresh["tf.compat.v1.layers.batch_normalization"]
    keras3 = next(f for f in findings if f.symbol == "tf.compat.v1.layers.batch_normalization")
    assert "Keras 3" in keras3.problem and "tf_keras" in keras3.fix and "TF_USE_LEGACY_KERAS" in keras3.fix
    assert "tensorflow.contrib.slim" in {f.symbol for f in findings if f.kind == "removed-import"}
    # The converter reported tf.contrib (once); tf.layers, tf.estimator and Keras 3 it did not.
    assert len(conversion.issues) < len(reported)


def test_converted_layers_script_fails_at_the_first_fatal_finding(layers, tmp_path):
    conversion, findings = layers
    script = tmp_path / "converted.py"
    script.write_text(conversion.converted)
    proc, line = run_script(script, tmp_path)
    first = min(f.line for f in findings if f.fatal)
    assert proc.returncode != 0 and line == first, proc.stderr[-2000:]
    assert "No module named 'tensorflow.contrib'" in proc.stderr


# --- the audit's static rules on small programs -----------------------------------------------
# Each line that should be reported ends with `# expect: KIND`; the test reads the expectation there.

SNIPPETS = {
    "compat_v1_alias": """
import tensorflow.compat.v1 as tf
x = tf.placeholder(tf.float32, [None, 3])  # expect: eager-conflict
""",
    "compat_v1_alias_disabled": """
import tensorflow.compat.v1 as tf
tf.disable_eager_execution()
x = tf.placeholder(tf.float32, [None, 3])
sess = tf.Session()
""",
    "disabled_too_late": """
import tensorflow as tf
x = tf.compat.v1.placeholder(tf.float32)  # expect: eager-conflict
tf.compat.v1.disable_eager_execution()
""",
    "from_import": """
from tensorflow.compat.v1 import placeholder
x = placeholder("float32")  # expect: eager-conflict
""",
    "graph_context": """
import tensorflow as tf
def inputs():
    return tf.compat.v1.placeholder(tf.float32)
def unused():
    return tf.compat.v1.placeholder(tf.float32)  # expect: graph-only
g = tf.Graph()
with g.as_default():
    x = inputs()
with tf.Graph().as_default():
    y = tf.compat.v1.placeholder(tf.float32)
with tf.compat.v1.Session(graph=g) as sess:
    pass
""",
    "called_outside_graph": """
import tensorflow as tf
def inputs():
    return tf.compat.v1.placeholder(tf.float32)  # expect: eager-conflict
with tf.Graph().as_default():
    x = inputs()
z = inputs()
""",
    "minimize": """
import tensorflow as tf
v = tf.Variable(1.0)
opt = tf.compat.v1.train.GradientDescentOptimizer(0.1)
opt.minimize(lambda: v * v)
opt.minimize(v * v)  # expect: eager-conflict
""",
    "removed_and_missing": """
import tensorflow as tf
import tensorflow.contrib.slim as slim  # expect: removed-import
y = slim.fully_connected(None, 3)
est = tf.estimator.Estimator  # expect: missing-symbol
ok = tf.keras.layers.Dense
""",
    "device_functions": """
import tensorflow as tf
def place(op):
    return "/cpu:0"
setter = tf.compat.v1.train.replica_device_setter(ps_tasks=1)
with tf.device(place):  # expect: changed-api
    pass
with tf.device(lambda op: "/cpu:0"):  # expect: changed-api
    pass
with tf.device(setter):  # expect: changed-api
    pass
with tf.device(tf.compat.v1.train.replica_device_setter(ps_tasks=1)):  # expect: changed-api
    pass
with tf.device("/cpu:0"):
    pass
with tf.compat.v1.device(place):  # expect: eager-conflict
    pass
""",
    "v1_device_function_in_a_graph": """
import tensorflow as tf
tf.compat.v1.disable_eager_execution()
with tf.compat.v1.device(lambda op: "/cpu:0"):
    pass
""",
    "session_eval": """
import tensorflow as tf
t = tf.constant(1.0)
sess = tf.compat.v1.Session()
print(t.eval(session=sess))  # expect: eager-conflict
""",
    "session_made_eagerly_runs_after_disable": """
import tensorflow as tf
sess = tf.compat.v1.Session()
tf.compat.v1.disable_eager_execution()
c = tf.constant(1.0)
sess.run(c)
""",
    "capture_in_a_graph_context": """
import tensorflow as tf
lr = tf.constant(0.1)
with tf.Graph().as_default():
    step = lr * 2.0  # expect: eager-capture
    local = tf.constant(0.1)
    other = local * 2.0
""",
    "capture_after_disable_in_main": """
import tensorflow as tf
W = tf.Variable(tf.ones([2, 2]))
b = W * 2.0
def main():
    tf.compat.v1.disable_eager_execution()
    x = tf.compat.v1.placeholder(tf.float32, [None, 2])
    return tf.matmul(x, W)  # expect: eager-capture
main()
""",
    "no_capture_when_remade": """
import tensorflow as tf
scale = tf.constant(2.0)
tf.compat.v1.disable_eager_execution()
scale = tf.constant(3.0)
x = tf.compat.v1.placeholder(tf.float32)
y = x * scale
""",
}


@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_static_rules(name):
    code = SNIPPETS[name]
    expected = sorted(
        (i, m.group(1)) for i, line in enumerate(code.splitlines(), 1) if (m := re.search(r"# expect: (\S+)", line))
    )
    found = sorted((f.line, f.kind) for f in upgrade.audit(code) if f.kind != "compat-v1")
    assert found == expected


def test_compat_v1_alias_debt_points_at_the_same_tf2_object():
    findings = upgrade.audit("import tensorflow.compat.v1 as tf\nx = tf.zeros([2], tf.float32)\n")
    fixes = {f.symbol: f.fix for f in findings if f.kind == "compat-v1"}
    assert fixes["tf.float32"].startswith("tf.float32: the same object")


def test_no_false_alarm_on_graph_built_tf1_code():
    """tfparity's own TF1 style builds under a private tf.Graph and runs Session(graph=...)."""
    findings = upgrade.audit((REPO / "tf1_graph" / "graph_style.py").read_text())
    assert not [f for f in findings if f.kind != "compat-v1"], [f for f in findings if f.kind != "compat-v1"]
    assert any(f.symbol == "tf.compat.v1.placeholder" for f in findings)  # still counted as debt


def test_audit_tables_name_symbols_the_installed_tensorflow_has():
    import tensorflow as tf

    for name in [*upgrade.GRAPH_ONLY, *upgrade.EAGER_OFF, *upgrade.GRAPH_SOURCES]:
        real = name.split("(")[0]  # `tf.compat.v1.device(function)`: a use of tf.compat.v1.device
        assert upgrade.resolve_chain(upgrade.Binding("tf", "tensorflow"), tuple(real.split(".")[1:])) is None, name
    for name in upgrade.DEBT_FIXES:
        if not name.startswith(("layers", "nn.rnn_cell")):
            assert (
                upgrade.resolve_chain(upgrade.Binding("tf.compat.v1", "tensorflow.compat.v1"), tuple(name.split(".")))
                is None
            ), name
    assert tf.executing_eagerly()  # the audit resolved names without touching eager execution


# --- the command -------------------------------------------------------------------------------


def test_cli_prints_diff_converter_report_and_the_problems_it_misses(capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    status = cli.main(["upgrade", "tests/fixtures/mnist_softmax.py"])
    out = capsys.readouterr().out
    assert status == upgrade.EXIT_FAILS
    assert (
        "-x = tf.placeholder(tf.float32, [None, 784])" in out
        and "+x = tf.compat.v1.placeholder(tf.float32, [None, 784])" in out
    )
    assert "Detected 0 issues that require attention" in out
    assert "removed-import" in out and "eager-conflict" in out and "tf.compat.v1.disable_eager_execution()" in out


def test_cli_json_and_markdown(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(REPO)
    assert (
        cli.main(
            ["upgrade", "tests/fixtures/mnist_softmax.py", "--format", "json", "--report", str(tmp_path / "r.json")]
        )
        == 1
    )
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["converter"]["issues_count"] == 0 and report["exit_status"] == 1
    assert {"removed-import", "eager-conflict", "compat-v1"} <= {f["kind"] for f in report["findings"]}
    assert report["diff"].startswith("--- tests/fixtures/mnist_softmax.py")
    cli.main(["upgrade", "tests/fixtures/mnist_softmax.py", "--format", "markdown"])
    markdown = capsys.readouterr().out
    assert (
        "```diff" in markdown
        and re.search(r"^\| line +\| symbol +\| what happens", markdown, re.M)
        and "](https://www.tensorflow.org/api_docs/python/tf/compat/v1/Session)" in markdown
    )


def test_converted_file_is_written_only_when_asked(tmp_path, monkeypatch, tutorial, capsys):
    monkeypatch.chdir(tmp_path)
    cli.main(["upgrade", str(TUTORIAL), "-q"])
    assert list(tmp_path.iterdir()) == []  # the report went to stdout, nothing written
    cli.main(["upgrade", str(TUTORIAL), "-q", "-o", "converted.py"])
    assert (tmp_path / "converted.py").read_text() == tutorial[0].converted
    cli.main(["upgrade", str(TUTORIAL), "-q", "-o", "fixed.py", "--apply-fixes"])
    assert (tmp_path / "fixed.py").read_text() == upgrade.apply_fixes(tutorial[0].converted, tutorial[1])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["converted.py", "fixed.py"]  # no temporary files left


def test_clean_script_exits_zero(tmp_path, capsys):
    script = tmp_path / "tf2.py"
    script.write_text("import tensorflow as tf\nx = tf.math.log(tf.constant([1.0]))\n")
    assert cli.main(["upgrade", str(script)]) == upgrade.EXIT_OK
    assert "Nothing found that makes the converted code fail" in capsys.readouterr().out


@pytest.mark.parametrize("kind", ["missing", "folder", "binary", "python2", "notebook", "fixes_without_output"])
def test_bad_input_is_named_with_its_fix(kind, tmp_path, capsys):
    path = tmp_path / {"folder": "scripts", "notebook": "nb.ipynb"}.get(kind, "script.py")
    extra = []
    if kind == "folder":
        path.mkdir()
    elif kind == "binary":
        path.write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00")
    elif kind == "python2":
        path.write_text("import tensorflow as tf\nprint tf.__version__\n")
    elif kind == "notebook":
        path.write_text("{}")
    elif kind == "fixes_without_output":
        path.write_text("import tensorflow as tf\n")
        extra = ["--apply-fixes"]
    assert cli.main(["upgrade", str(path), *extra]) == upgrade.EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.startswith("tfparity upgrade: error: ")
    assert (str(path) in err) if kind != "fixes_without_output" else ("-o FILE" in err)
    if kind == "python2":
        assert f"{path}:2:" in err and "2to3" in err


# --- when tf_upgrade_v2 itself fails ------------------------------------------------------------


def pasta_failure_line() -> int:
    """The fixture's line that pasta cannot annotate (a slice assignment continued with a backslash)."""
    return next(i for i, line in enumerate(PASTA_FAILURE.read_text().splitlines(), 1) if line.startswith("c[(n - i)"))


def test_converter_failure_is_reported_with_an_audit_of_the_source_and_exit_2(capsys, tmp_path):
    out_file = tmp_path / "converted.py"
    status = cli.main(["upgrade", str(PASTA_FAILURE), "--format", "json", "-q", "-o", str(out_file)])
    captured = capsys.readouterr()
    assert status == upgrade.EXIT_BAD_INPUT
    report = json.loads(captured.out)  # the report is still printed, as JSON
    line = pasta_failure_line()
    assert report["converter"]["failed"] and report["converter"]["error"]["line"] == line
    assert "AnnotationError" in report["converter"]["error"]["why"] and report["exit_status"] == upgrade.EXIT_BAD_INPUT
    assert report["audited"] == "unconverted source"
    # The unconverted source still uses tf.placeholder, which TF2 removed: found, with the rename.
    placeholder = next(
        i for i, text in enumerate(PASTA_FAILURE.read_text().splitlines(), 1) if "tf.placeholder" in text
    )
    missing = [f for f in report["findings"] if f["kind"] == "missing-symbol"]
    assert [(f["line"], f["symbol"]) for f in missing] == [(placeholder, "tf.placeholder")]
    assert "tf.compat.v1.placeholder" in missing[0]["fix"]
    # One line on stderr: the file, the line, why; no traceback; nothing written.
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("tfparity upgrade: error: "), captured.err
    assert f"{PASTA_FAILURE}:{line}:" in err[0] and "AnnotationError" in err[0] and "Traceback" not in captured.err
    assert not out_file.exists()


def test_converter_failure_in_the_text_report(capsys):
    assert cli.main(["upgrade", str(PASTA_FAILURE), "-q"]) == upgrade.EXIT_BAD_INPUT
    out = capsys.readouterr().out
    assert "tf_upgrade_v2: failed, nothing converted" in out and f"{PASTA_FAILURE}:{pasta_failure_line()}:" in out
    assert "Audit: 1 problem that makes the unconverted source fail" in out


def test_converter_failure_without_a_line_still_names_the_file(capsys, monkeypatch, tmp_path):
    """Any exception of the converter (here: pasta's recursion on a deeply nested expression)."""
    from tensorflow.tools.compatibility import ast_edits

    def recurse(*args):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(ast_edits.ASTCodeUpgrader, "update_string_pasta", recurse)
    script = tmp_path / "deep.py"
    script.write_text("import tensorflow as tf\nx = tf.placeholder(tf.float32)\n")
    assert cli.main(["upgrade", str(script), "-q"]) == upgrade.EXIT_BAD_INPUT
    captured = capsys.readouterr()
    [err] = captured.err.strip().splitlines()
    assert f"{script}: tf_upgrade_v2 could not convert it (RecursionError: maximum recursion depth exceeded)" in err
    assert "missing-symbol" in captured.out and "Traceback" not in captured.err


def test_converter_parse_failure_is_read_from_its_log():
    """When pasta.parse raises, tf_upgrade_v2 returns nothing converted and logs the traceback."""
    log = [
        'ERROR: Failed to parse.\nTraceback (most recent call last):\n  File "pasta/base/ast_utils.py", line 12, '
        "in parse\n"
        "ValueError: source code string cannot contain null bytes, line 7\n"
    ]
    failure = upgrade.failure_in_log(log)
    assert failure == upgrade.ConverterFailure(7, "ValueError: source code string cannot contain null bytes, line 7")


# --- the report's wording and tables -------------------------------------------------------------


def test_headings_agree_with_their_counts(layers, tmp_path):
    one = tmp_path / "one.py"
    one.write_text("import tensorflow as tf\nimport tensorflow.contrib.slim as slim\n")
    conversion = upgrade.convert(one.read_text(), str(one))
    text = upgrade.render(conversion, upgrade.audit(conversion.converted), "table")
    assert "Audit: 1 problem that makes the converted code fail" in text
    conversion, findings = layers
    assert len(conversion.issues) == 1  # tf_upgrade_v2's own count on this fixture
    text = upgrade.render(conversion, findings, "table")
    assert "report: 1 issue that requires attention" in text and "Detected 1 issue that requires attention" in text
    assert re.search(r"Audit: \d+ problems that make the converted code fail", text)
    assert not re.search(r"\b1 (problem|issue)s? that (make|require)\b", text)


def test_text_tables_never_cut_a_name(tutorial, layers):
    """Each name in a finding (GradientDescentOptimizer, softmax_cross_entropy_with_logits_v2, ...)
    appears whole in the text report: wrapped lines break at spaces and after dots only."""
    for conversion, findings in (tutorial, layers):
        text = upgrade.render(conversion, findings, "table")
        shown = [(f.symbol, f.fix) if f.kind == "compat-v1" else (f.symbol, f.problem, f.fix, f.tf2) for f in findings]
        words = {w for parts in shown for part in parts for w in re.findall(r"\w{4,}", part)}
        assert "GradientDescentOptimizer" in words or conversion is layers[0]
        cut = sorted(w for w in words if not re.search(rf"(?<!\w){re.escape(w)}(?!\w)", text))
        assert not cut, cut


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.from_regex(r"[A-Za-z_]\w{0,12}(\.[A-Za-z_]\w{0,12}){0,4}[,;:]?", fullmatch=True), min_size=1, max_size=12
    ),
    st.integers(8, 40),
)
def test_wrap_keeps_every_name_whole_and_lines_short(words, width):
    text = " ".join(words)
    wrapped = upgrade.wrap(text, width).split("\n")
    names = [n for w in words for n in re.findall(r"\w+", w)]
    assert sorted(n for line in wrapped for n in re.findall(r"\w+", line)) == sorted(names)  # none cut, none lost
    for line in wrapped:  # over width only when one piece (a name and its dot) cannot be broken
        assert (
            len(line) <= width
            or re.fullmatch(r"\S+", line)
            and all(len(p) > width for p in re.findall(r"[^./]*[./]?", line) if p)
        )


def test_findings_are_grouped_by_cause(tutorial, capsys, monkeypatch):
    """One eager-execution switch breaks four lines: one problem, four lines under it."""
    conversion, findings = tutorial
    causes = [c for c in upgrade.group_by_cause(findings) if c.fatal]
    assert [c.kind for c in causes] == ["removed-import", "eager-conflict"]
    assert causes[1].lines == kinds_by_line(findings, "eager-conflict") and len(causes[1].lines) == 4
    text = upgrade.render(conversion, findings, "table")
    assert "Audit: 2 problems that make the converted code fail, at 5 lines" in text
    audit_part = text.split("== Audit:")[1].split("== Migration debt")[0]
    assert audit_part.count("disable_eager_execution()") == 1  # the fix once, for the four lines
    monkeypatch.chdir(REPO)
    cli.main(["upgrade", "tests/fixtures/mnist_softmax.py", "--format", "json", "-q"])
    report = json.loads(capsys.readouterr().out)
    assert [(c["kind"], c["lines"]) for c in report["causes"] if c["fatal"]] == [(c.kind, c.lines) for c in causes]
    assert report["fatal_causes"] == 2 and report["fatal_count"] == 5


# --- the README section ------------------------------------------------------------------------


def test_readme_example_is_current(monkeypatch):
    """docs/upgrade.md between <!-- upgrade:begin --> and <!-- upgrade:end --> holds
    `tfparity upgrade tests/fixtures/mnist_softmax.py --format markdown`, run from the repository root;
    the README's excerpt (between <!-- upgrade-excerpt:begin/end -->) holds lines of the default (text) output."""
    doc = (REPO / "docs" / "upgrade.md").read_text(encoding="utf-8")
    command = "tfparity upgrade tests/fixtures/mnist_softmax.py"
    match = re.search(r"<!-- upgrade:begin -->\n(.*?)<!-- upgrade:end -->", doc, re.S)
    assert match, (
        f"docs/upgrade.md lacks the <!-- upgrade:begin/end --> markers: paste `{command} --format markdown` there"
    )
    monkeypatch.chdir(REPO)
    path = "tests/fixtures/mnist_softmax.py"
    conversion = upgrade.convert(upgrade.read_script(path), path)
    findings = upgrade.audit(conversion.converted)
    stated = re.search(r"TensorFlow (\S+), Keras (\S+)", match.group(1))
    if stated and stated.groups() != (upgrade.tf_version(), upgrade.keras_version()):
        pytest.skip(
            f"docs/upgrade.md's example was made with TensorFlow {stated.group(1)}, Keras {stated.group(2)}: "
            "the installed versions differ"
        )
    assert match.group(1).strip() == upgrade.render(conversion, findings, "markdown").strip(), (
        f"docs/upgrade.md's upgrade example is stale: run `{command} --format markdown` "
        "from the repository root and paste its output between the markers"
    )
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    excerpt = re.search(
        r"<!-- upgrade-excerpt:begin -->\n```text\n(.*?)```\n<!-- upgrade-excerpt:end -->", readme, re.S
    )
    assert excerpt, (
        "README.md lacks the <!-- upgrade-excerpt:begin --> / <!-- upgrade-excerpt:end --> markers around a text block"
    )
    printed = upgrade.render(conversion, findings, "table").splitlines()
    for line in excerpt.group(1).splitlines():
        assert line == "..." or line in printed, (
            f"README's upgrade excerpt is stale: {line!r} is not a line of `{command}`; copy the lines from its output"
        )
