"""`tfparity upgrade` on the tutorial and tf.layers fixture scripts: tf_upgrade_v2's own output,
and an audit that finds what it leaves broken; the report's wording and tables; the docs' example.

The claims are proved by running code, not by reading it: the converted tutorial script really
fails in a fresh interpreter at the line the audit names, the audit's fixes really make it train,
and every symbol the audit calls missing really fails in a fresh interpreter (and no other does).
The audit's rules on small programs are in test_upgrade_rules.py, the command's options, bad input
and converter failures in test_upgrade_cli.py.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from upgrade_support import LAYERS, REPO, TUTORIAL, run_script

from tfparity.benchmarks import cli, upgrade


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


# --- the command writes the converted file only when asked -----------------------------------


def test_converted_file_is_written_only_when_asked(tmp_path, monkeypatch, tutorial, capsys):
    monkeypatch.chdir(tmp_path)
    cli.main(["upgrade", str(TUTORIAL), "-q"])
    assert list(tmp_path.iterdir()) == []  # the report went to stdout, nothing written
    cli.main(["upgrade", str(TUTORIAL), "-q", "-o", "converted.py"])
    assert (tmp_path / "converted.py").read_text() == tutorial[0].converted
    cli.main(["upgrade", str(TUTORIAL), "-q", "-o", "fixed.py", "--apply-fixes"])
    assert (tmp_path / "fixed.py").read_text() == upgrade.apply_fixes(tutorial[0].converted, tutorial[1])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["converted.py", "fixed.py"]  # no temporary files left


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
