"""The report of `tfparity upgrade`: text tables, Markdown or JSON.

Findings are shown by cause: one eager-execution switch that breaks five lines is one problem
with five lines under it, so that it does not bury the next problem. Text tables wrap at
spaces and after dots, never inside a name (`tf.compat.v1.train.` / `GradientDescentOptimizer`).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from tabulate import tabulate

from tfparity.benchmarks.upgrade_audit import Cause, exit_status, group_by_cause
from tfparity.benchmarks.upgrade_imports import keras_version, tf_version
from tfparity.benchmarks.upgrade_tables import EXIT_BAD_INPUT, Finding

if TYPE_CHECKING:
    from tfparity.benchmarks.upgrade import Conversion

# Column widths of the text tables (Markdown is never wrapped: its renderer does that).
WIDTHS = {"symbol": 34, "problem": 52, "tf2": 36, "fix": 40, "lines": 14}


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def agree(n: int, singular: str, plural_form: str) -> str:
    """The verb of a counted subject: 'makes' for 1, 'make' otherwise."""
    return singular if n == 1 else plural_form


def wrap(text: str, width: int | None) -> str:
    """`text` in lines of at most `width` characters, broken at spaces or after a dot or slash.

    A word longer than `width` is broken after its dots (`tf.compat.v1.train.` +
    `GradientDescentOptimizer`); a single name longer than `width` stays whole, overflowing.
    """
    if width is None:
        return text
    lines: list[str] = []
    for paragraph in text.split("\n"):
        current = ""
        for word in paragraph.split():
            for i, piece in enumerate(word_pieces(word, width)):
                glue = "" if i else " "  # pieces of one word join without a space
                if not current:
                    current = piece
                elif len(current) + len(glue) + len(piece) <= width:
                    current += glue + piece
                else:
                    lines.append(current)
                    current = piece
        lines.append(current)
    return "\n".join(lines)


def word_pieces(word: str, width: int) -> list[str]:
    """`word` whole when it fits, else cut after each `.` or `/` (a dotted name's own joints)."""
    if len(word) <= width:
        return [word]
    pieces, current = [], ""
    for char in word:
        current += char
        if char in "./":
            pieces.append(current)
            current = ""
    return [p for p in [*pieces, current] if p]


def report_dict(conversion: Conversion, findings: list[Finding]) -> dict[str, Any]:
    failure = conversion.failure
    return {
        "file": conversion.path,
        "tensorflow": tf_version(),
        "keras": keras_version(),
        "converter": {
            "failed": failure is not None,
            "error": None if failure is None else {"line": failure.line, "why": failure.why},
            "issues_count": len(conversion.issues),
            "issues": list(conversion.issues),
            "log": list(conversion.log),
        },
        "audited": audited(conversion),
        "applied_fixes": list(conversion.applied),
        "diff": conversion.diff(),
        "causes": [c.to_dict() for c in group_by_cause(findings) if c.kind != "compat-v1"],
        "findings": [f.to_dict() for f in findings],
        "fatal_causes": sum(c.fatal for c in group_by_cause(findings)),
        "fatal_count": sum(f.fatal for f in findings),
        "compat_v1_count": sum(f.kind == "compat-v1" for f in findings),
        "exit_status": EXIT_BAD_INPUT if failure else exit_status(findings),
    }


class Renderer:
    """Text or Markdown: the same sections, two notations."""

    def __init__(self, markdown: bool):
        self.markdown = markdown
        self.tablefmt = "github" if markdown else "simple"

    def heading(self, text: str) -> str:
        return f"#### {text}" if self.markdown else f"== {text} =="

    def block(self, text: str, lang: str = "") -> str:
        return f"```{lang}\n{text.rstrip()}\n```" if self.markdown else text.rstrip()

    def code(self, text: str) -> str:
        return f"`{text}`" if self.markdown else text

    def table(self, rows: list[list[str]], headers: list[str], widths: list[int | None]) -> str:
        if not self.markdown:
            rows = [[wrap(str(cell), width) for cell, width in zip(row, widths, strict=True)] for row in rows]
        return tabulate(rows, headers=headers, tablefmt=self.tablefmt, disable_numparse=True)

    def cause(self, number: int, cause: Cause) -> str:
        count = f" ({plural(len(cause.lines), 'line')})" if len(cause.lines) > 1 else ""
        title = f"{number}. {cause.kind}{count}: {cause.cause}"
        parts = [f"**{title}**" if self.markdown else wrap(title, 110)]
        shared = cause.shared_fix
        if shared:
            parts.append(f"Fix: {shared}" if self.markdown else wrap(f"fix: {shared}", 110))
        has_tf2 = any(f.tf2 for f in cause.findings)
        headers = ["line", "symbol", "what happens", *([] if shared else ["fix"]), *(["TF2 way"] if has_tf2 else [])]
        widths = [
            None,
            WIDTHS["symbol"],
            WIDTHS["problem"],
            *([] if shared else [WIDTHS["fix"]]),
            *([WIDTHS["tf2"]] if has_tf2 else []),
        ]
        rows = [
            [str(f.line), self.code(f.symbol), f.problem, *([] if shared else [f.fix]), *([f.tf2] if has_tf2 else [])]
            for f in cause.findings
        ]
        parts.append(self.table(rows, headers, widths))
        return "\n\n".join(parts)

    def debt(self, causes: list[Cause]) -> str:
        rows = []
        for cause in causes:
            first = cause.findings[0]
            symbol = (
                f"[`{first.symbol}`]({first.docs})" if self.markdown else first.symbol
            )  # links where they can be followed
            rows.append([symbol, ", ".join(map(str, cause.lines)), first.fix])
        return self.table(rows, ["symbol", "lines", "TF2 fix"], [40, WIDTHS["lines"], 56])


def render(conversion: Conversion, findings: list[Finding], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(report_dict(conversion, findings), indent=2)
    out = Renderer(fmt == "markdown")
    causes = group_by_cause(findings)
    fails = [c for c in causes if c.kind != "compat-v1"]
    debt = [c for c in causes if c.kind == "compat-v1"]
    fatal = [c for c in fails if c.fatal]
    parts = [
        f"tfparity upgrade {out.code(conversion.path)}: tf_upgrade_v2 and an audit against TensorFlow {tf_version()}, "
        f"Keras {keras_version()}",
        *converter_sections(conversion, out),
        out.heading(audit_heading(conversion, fails, fatal)),
    ]
    parts += [out.cause(i, c) for i, c in enumerate(fails, 1)] or [
        f"Nothing found that makes the {audited(conversion)} fail."
    ]
    uses = sum(len(c.findings) for c in debt)
    parts.append(out.heading(f"Migration debt: {plural(uses, 'tf.compat.v1 use')} of {plural(len(debt), 'API')} left"))
    if debt:
        parts.append(out.debt(debt))
    if conversion.applied:
        parts.append(
            f"Line numbers are those of the code written. --apply-fixes applied {len(conversion.applied)} "
            f"fix{'' if len(conversion.applied) == 1 else 'es'}"
            ", audited above as written:\n" + "\n".join(f"- {fix}" for fix in conversion.applied)
        )
    elif any(f.edit for f in findings) and conversion.failure is None:
        parts.append(
            f"Line numbers are those of the converted code. Mechanical fixes: "
            f"{out.code(f'tfparity upgrade {conversion.path} -o CONVERTED.py --apply-fixes')}"
        )
    return "\n\n".join(parts)


def audited(conversion: Conversion) -> str:
    """What the audit read: tf_upgrade_v2's output (with --apply-fixes' fixes when they were applied),
    or the source where tf_upgrade_v2 failed."""
    if conversion.failure:
        return "unconverted source"
    return "code written (tf_upgrade_v2 + --apply-fixes)" if conversion.applied else "converted code"


def converter_sections(conversion: Conversion, out: Renderer) -> list[str]:
    if conversion.failure is not None:
        return [
            out.heading("tf_upgrade_v2: failed, nothing converted"),
            out.block(
                f"{conversion.failure.describe(conversion.path)}; the audit below ran on the unconverted source, "
                "for what TF2 removed"
            ),
        ]
    issues = len(conversion.issues)
    return [
        out.heading("tf_upgrade_v2: diff"),
        out.block(conversion.diff() or "(no changes)", "diff"),
        out.heading(
            f"tf_upgrade_v2: report: {plural(issues, 'issue')} that {agree(issues, 'requires', 'require')} attention"
        ),
        out.block(
            "\n".join(
                [
                    f"Detected {plural(issues, 'issue')} that {agree(issues, 'requires', 'require')} attention",
                    *conversion.issues,
                    "Its log:" if conversion.log else "Its log is empty.",
                    # tf_upgrade_v2 logs some notes once per pass over the file: each is shown once
                    *dict.fromkeys(f"  {line.strip()}" for line in conversion.log),
                ]
            )
        ),
    ]


def audit_heading(conversion: Conversion, fails: list[Cause], fatal: list[Cause]) -> str:
    code = f"the {audited(conversion)}"
    lines = sorted({line for c in fatal for line in c.lines})
    text = f"Audit: {plural(len(fatal), 'problem')} that {agree(len(fatal), 'makes', 'make')} {code} fail" + (
        f", at {plural(len(lines), 'line')}" if len(lines) > len(fatal) else ""
    )
    if conversion.failure is None:
        text += f" (tf_upgrade_v2 reported {plural(len(conversion.issues), 'issue')})"
    checks = len(fails) - len(fatal)
    return text + (f", {checks} to check" if checks else "")
