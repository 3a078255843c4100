"""`tfparity upgrade`, the command: its text, JSON and Markdown output, exit statuses, bad input
named with its fix, and what it reports when tf_upgrade_v2 itself fails.
"""

from __future__ import annotations

import json
import re

import pytest
from upgrade_support import PASTA_FAILURE, REPO

from tfparity.benchmarks import cli, upgrade


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


def test_apply_fixes_reports_and_exits_on_the_code_it_wrote(tmp_path, monkeypatch):
    """With --apply-fixes the report is of the file written: its line numbers, what the fixes left, and the
    exit status of that (0 once every fatal finding had a mechanical fix)."""
    monkeypatch.chdir(REPO)
    out, report = tmp_path / "fixed.py", tmp_path / "r.json"
    argv = ["upgrade", "tests/fixtures/tf1_class_model.py", "-q", "--format", "json", "--report", str(report)]
    assert cli.main(argv) == upgrade.EXIT_FAILS  # without the fixes: eager-conflict and `.value`
    before = json.loads(report.read_text())
    assert before["audited"] == "converted code" and before["applied_fixes"] == []
    assert cli.main([*argv, "-o", str(out), "--apply-fixes"]) == upgrade.EXIT_OK
    after = json.loads(report.read_text())
    assert after["audited"] == "code written (tf_upgrade_v2 + --apply-fixes)" and after["exit_status"] == 0
    assert [a.split(":")[0] for a in after["applied_fixes"]] == ["eager-conflict", "changed-api"]
    assert not [f for f in after["findings"] if f["fatal"]] and after["diff"].count("+++ ") == 1
    written = out.read_text().splitlines()
    for finding in after["findings"]:  # the line numbers are the written file's
        assert finding["symbol"].split(".")[-1].split("(")[0] in written[finding["line"] - 1], finding


def test_a_fix_left_unfixed_keeps_exit_1_after_apply_fixes(tmp_path, capsys):
    """A resource variable's `w/read:0` has no mechanical fix: --apply-fixes fixes the rest and still fails."""
    script = tmp_path / "read.py"
    script.write_text(
        "import tensorflow as tf\nx = tf.placeholder(tf.float32)\nw = tf.get_variable('w', [2])\n"
        "r = tf.get_default_graph().get_tensor_by_name('w/read:0')\n"
    )
    status = cli.main(["upgrade", str(script), "-o", str(tmp_path / "out.py"), "--apply-fixes", "-q"])
    text = capsys.readouterr().out
    assert status == upgrade.EXIT_FAILS
    assert "1 problem that makes the code written (tf_upgrade_v2 + --apply-fixes) fail" in text
    assert "--apply-fixes applied 1 fix, audited above as written" in text and "w/Read/ReadVariableOp" in text


def test_the_code_written_keeps_the_scripts_encoding_and_line_ends(tmp_path):
    """A latin-1 script (PEP 263 declaration) with Windows line ends: so is its conversion, inserted lines too."""
    script = tmp_path / "latin.py"
    source = (
        '# -*- coding: latin-1 -*-\r\nimport tensorflow as tf\r\nlabel = "café"\r\nx = tf.placeholder(tf.float32)\r\n'
    )
    script.write_bytes(source.encode("latin-1"))
    out = tmp_path / "out.py"
    cli.main(["upgrade", str(script), "-o", str(out), "--apply-fixes", "-q"])
    raw = out.read_bytes()
    assert 'label = "café"'.encode("latin-1") in raw and "é".encode() not in raw
    assert raw.count(b"\n") == raw.count(b"\r\n") == 5  # the eager switch added, with the file's line end
    assert b"disable_eager_execution()\r\n" in raw


def test_eager_switched_off_too_late_says_where(capsys):
    """A module-level use above a disable_eager_execution() in main(): the cause names that line."""
    code = (
        "import tensorflow as tf\nx = tf.compat.v1.placeholder(tf.float32)\n"
        "def main():\n    tf.compat.v1.disable_eager_execution()\nmain()\n"
    )
    [finding] = [f for f in upgrade.audit(code) if f.kind == "eager-conflict"]
    assert finding.cause == (
        "eager execution is on at module level: it is turned off only at line 4, inside main(), "
        "which has not run at this line"
    )
