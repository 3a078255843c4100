"""`tfparity upgrade FILE`: run TensorFlow's own tf_upgrade_v2 on a TF1 script, then audit what it leaves.

tf_upgrade_v2 (shipped in the tensorflow wheel as `tensorflow.tools.compatibility`) renames
what has a TF2 name (`tf.log` -> `tf.math.log`), moves what has none under `tf.compat.v1`, and
reports what it knows it cannot convert. It never runs the code; the audit
(`benchmarks.upgrade_audit`) checks the converted code against the installed TensorFlow, and
the report (`benchmarks.upgrade_render`) lists what fails by cause, with the fix of each.

When tf_upgrade_v2 itself fails (its `pasta` parser trips on some valid Python), the report
says where and why, and audits the unconverted source for what TF2 removed.

Exit status: 0 when nothing the audit found makes the converted code fail (tf.compat.v1 debt
may remain), 1 when at least one finding does, 2 on bad input (missing file, not Python,
syntax error) and when tf_upgrade_v2 cannot convert the file (the report is still printed).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import dataclasses
import difflib
import io
import os
import re
import sys
import tokenize
import warnings
from dataclasses import dataclass
from pathlib import Path

from tfparity.benchmarks import cli

# The audit's API, re-exported: `benchmarks.upgrade` is the module users and tests import.
from tfparity.benchmarks.upgrade_audit import audit, exit_status, group_by_cause  # noqa: F401
from tfparity.benchmarks.upgrade_fixes import TUTORIAL_READER, Edit, Span, apply_fixes  # noqa: F401
from tfparity.benchmarks.upgrade_imports import Binding, keras_version, resolve_chain, tensorboard_installed, tf_version  # noqa: F401
from tfparity.benchmarks.upgrade_render import plural, render, report_dict, wrap  # noqa: F401
from tfparity.benchmarks.upgrade_tables import (  # noqa: F401
    API_DOCS,
    DEBT_FIXES,
    EAGER_OFF,
    EXIT_BAD_INPUT,
    EXIT_FAILS,
    EXIT_OK,
    GRAPH_ONLY,
    GRAPH_SOURCES,
    KINDS,
    Finding,
)


class UpgradeInputError(ValueError):
    """The FILE given to `tfparity upgrade` cannot be read as a Python script."""


@dataclass(frozen=True)
class ConverterFailure:
    """tf_upgrade_v2 raised on a file Python parses: where (if it says) and why."""

    line: int | None
    why: str

    def describe(self, path: str) -> str:
        where = f"{path}:{self.line}" if self.line else path
        return f"{where}: tf_upgrade_v2 could not convert it ({self.why})"

    def message(self, path: str) -> str:
        """One line for stderr: the file, the line, why, and what to do."""
        spot = f"line {self.line}" if self.line else "the statement it trips on (halve the file to find it)"
        return (
            f"{self.describe(path)}; the report audits the unconverted source for what TF2 removed; rewrite {spot} "
            "(its parser, pasta, trips on some valid Python, such as a slice continued with a backslash) and run "
            "it again"
        )


@dataclass(frozen=True)
class Conversion:
    """What tf_upgrade_v2 made of one file: the converted text, its log and its own issue list."""

    path: str
    original: str
    converted: str  # the original text when the converter failed
    log: tuple[str, ...]
    issues: tuple[str, ...]  # tf_upgrade_v2's "issues that require attention" (its warnings and errors)
    failure: ConverterFailure | None = None
    # With --apply-fixes: `converted` is the code written, the fixes applied to it, and the audit is of it.
    applied: tuple[str, ...] = ()

    def diff(self) -> str:
        made_by = "tf_upgrade_v2 + --apply-fixes" if self.applied else "tf_upgrade_v2"
        return "".join(
            difflib.unified_diff(
                self.original.splitlines(keepends=True),
                self.converted.splitlines(keepends=True),
                fromfile=self.path,
                tofile=f"{self.path} ({made_by})",
            )
        )


# --- input and conversion -----------------------------------------------------------------


def read_script(path: str) -> str:
    """The text of a Python 3 script, or UpgradeInputError naming the file and the fix."""
    p = Path(path)
    if not p.exists():
        raise UpgradeInputError(f"{path}: no such file; give the path of a TF1 Python script (.py)")
    if p.is_dir():
        raise UpgradeInputError(
            f"{path}: is a folder; give one Python file (tf_upgrade_v2 --intree converts whole trees)"
        )
    if p.suffix == ".ipynb":
        raise UpgradeInputError(f"{path}: a Jupyter notebook; export it first (jupyter nbconvert --to script {path})")
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise UpgradeInputError(f"{path}: cannot be read ({exc.strerror}); check its permissions") from exc
    if b"\0" in raw:
        raise UpgradeInputError(
            f"{path}: not a Python source file (it holds NUL bytes: binary data); give a .py script"
        )
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
        text = raw.decode(encoding)
    except (SyntaxError, UnicodeDecodeError, LookupError) as exc:
        raise UpgradeInputError(f"{path}: not a Python source file ({exc}); save it as UTF-8 text") from exc
    try:
        ast.parse(text, filename=path)
    except SyntaxError as exc:
        raise UpgradeInputError(
            f"{path}:{exc.lineno}: not valid Python 3 ({exc.msg}); fix the syntax (Python 2 code: run 2to3 first)"
        ) from exc
    return text


def source_encoding(path: str) -> str:
    """The encoding a script declares (PEP 263; UTF-8 by default): its converted code is written in it."""
    with open(path, "rb") as f:
        return tokenize.detect_encoding(f.readline)[0]


def with_fixes(conversion: Conversion, findings: list[Finding]) -> tuple[Conversion, list[Finding]]:
    """The converted code with the audit's mechanical fixes applied, and the audit of that code
    (what is left: the report and the exit status are of the file written)."""
    fixed = apply_fixes(conversion.converted, findings)
    applied = tuple(
        f"{cause.kind}: {cause.cause} (line{'s' if len(cause.lines) > 1 else ''} {', '.join(map(str, cause.lines))})"
        for cause in group_by_cause([f for f in findings if f.edit is not None])
    )
    try:
        remaining = audit(fixed)
    except SyntaxError as exc:  # a fix that breaks the code is tfparity's bug: say so, write nothing
        raise UpgradeInputError(
            f"{conversion.path}: --apply-fixes made code that does not parse (line {exc.lineno}: {exc.msg}), a "
            "tfparity bug; nothing written: run without --apply-fixes, and report the script"
        ) from exc
    return dataclasses.replace(conversion, converted=fixed, applied=applied), remaining


def convert(source: str, path: str) -> Conversion:
    """Run tf_upgrade_v2 on `source` in memory, with its command line's defaults.

    Its failures come back as `Conversion.failure`, not as exceptions: they are the
    converter's, on a file Python itself parses (`read_script` checked that).
    """
    from tensorflow.tools.compatibility import ast_edits, tf_upgrade_v2

    # The defaults of the tf_upgrade_v2 console script (tf_upgrade_v2_main.py).
    spec = tf_upgrade_v2.TFAPIChangeSpec(import_rename=False, upgrade_compat_v1_import=True)
    # The converter prints every change as it makes it, and its pasta visitors use ast names
    # Python 3.8 deprecated (visit_Str, visit_Num): neither is ours to show.
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            processed, converted, log, issues = ast_edits.ASTCodeUpgrader(spec).update_string_pasta(source, path)
        except Exception as exc:  # pasta's AnnotationError and whatever else its visitors raise
            return Conversion(path, source, source, (), (), failure_of(exc))
    if not processed:  # pasta.parse raised; the converter logged the traceback
        return Conversion(path, source, source, (), (), failure_in_log(log))
    return Conversion(path, source, converted, tuple(log), tuple(issues))


def failure_of(exc: Exception) -> ConverterFailure:
    """pasta's messages end with `line N: <source line>`; its first line says what it expected."""
    text = str(exc).strip()
    match = re.search(r"^line (\d+):", text, re.M)
    line = int(match.group(1)) if match else getattr(exc, "lineno", None)
    return ConverterFailure(line, f"{type(exc).__name__}: {text.splitlines()[0] if text else 'no message'}")


def failure_in_log(log: list[str]) -> ConverterFailure:
    """The exception line that ends the traceback tf_upgrade_v2 logged."""
    lines = [line for line in "".join(log).splitlines() if line.strip()]
    last = lines[-1].strip() if lines else "tf_upgrade_v2 failed to parse it"
    match = re.search(r"\bline (\d+)", last)
    return ConverterFailure(int(match.group(1)) if match else None, last)


# --- the command ----------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="a TF1 Python script")
    # -o names the converted code here (as tf_upgrade_v2's --outfile), so the report goes to --report.
    parser.add_argument(
        "-o",
        "--output",
        default=None,
        metavar="FILE",
        type=cli.output_file,
        help="write the converted code here (atomically); without it nothing is written",
    )
    parser.add_argument(
        "--apply-fixes",
        action="store_true",
        help="with -o: also apply the audit's mechanical fixes (disable eager execution, the tutorials "
        "reader, TF1 summary ops, device functions)",
    )
    parser.add_argument(
        "--format", choices=["table", "markdown", "json"], default="table", help="how the report is written"
    )
    parser.add_argument(
        "--report", default=None, metavar="FILE", type=cli.output_file, help="write the report here instead of stdout"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="do not confirm the files written on stderr")
    parser.epilog = (
        "exit status: 0 nothing found that makes the converted code fail; 1 something does;\n"
        "  2 bad input, or tf_upgrade_v2 could not convert it (the report still audits the source)"
    )


REPORT_SUFFIXES = (".json", ".md", ".markdown", ".txt", ".html", ".csv")


def check_distinct_paths(script: str, output: str | None, report: str | None) -> None:
    """The TF1 script is never overwritten, and the code and the report never share a file."""
    same = os.path.realpath
    for option, path in (("-o", output), ("--report", report)):
        if path is not None and same(path) == same(script):
            raise UpgradeInputError(f"{option} {path} is the script being converted; write to another file")
    if output is not None and report is not None and same(output) == same(report):
        raise UpgradeInputError(f"-o and --report both name {output}; give the report a file of its own")
    if report is not None and Path(report).suffix.lower() == ".py":
        raise UpgradeInputError(
            f"--report {report}: the report is text, Markdown or JSON; write the converted code with -o {report}"
        )
    if output is not None and Path(output).suffix.lower() in REPORT_SUFFIXES:
        # In every other command -o is the report: here it is the code, so a report's name there is a mix-up.
        raise UpgradeInputError(
            f"-o {output}: upgrade's -o is the converted Python code; write the report with --report {output}"
        )


def run(args: argparse.Namespace) -> int:
    if args.apply_fixes and not args.output:
        raise UpgradeInputError("--apply-fixes changes the converted code written by -o FILE; give -o FILE too")
    check_distinct_paths(args.file, args.output, args.report)
    source = read_script(args.file)
    conversion = convert(source, args.file)  # seconds at most: no progress lines
    findings = audit(conversion.converted)
    if conversion.failure is not None:
        # The report first (on stdout, or JSON for tools), then the one-line error.
        cli.write_output(render(conversion, findings, args.format), args.report, quiet=args.quiet)
        unwritten = f"; nothing written to {args.output}" if args.output else ""
        print(f"tfparity upgrade: error: {conversion.failure.message(args.file)}{unwritten}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.apply_fixes:
        conversion, findings = with_fixes(conversion, findings)
    if args.output:
        encoding = source_encoding(args.file)
        cli.write_output(conversion.converted, args.output, quiet=args.quiet, encoding=encoding, newline="")
    cli.write_output(render(conversion, findings, args.format), args.report, quiet=args.quiet)
    return exit_status(findings)
