"""The mechanical fixes of `tfparity upgrade --apply-fixes`: edits on the converted code.

Two shapes of edit: `Edit` replaces or inserts whole lines (the eager-execution switch, the
tutorials import), `Span` replaces a stretch of one line (a `tf.summary.scalar` chain made
`tf.compat.v1.summary.scalar`). Spans never add lines, so they go first and leave the line
numbers of every `Edit` valid.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tfparity.compat.api_map import TUTORIAL_READER  # the module of tfparity's copy of TF1's reader

if TYPE_CHECKING:  # the findings carry these edits: a runtime import would be circular
    from tfparity.benchmarks.upgrade_tables import Finding

TUTORIAL_READER_NOTE = "tfparity's copy of TF1's reader: tensorflow.examples is gone"


@dataclass(frozen=True)
class Edit:
    """Replace lines `start`..`end` (1-based, inclusive) by `text`; `end == start - 1` inserts before `start`."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Span:
    """Replace columns `col`..`end_col` of line `line` by `text`.

    Columns are ast's: offsets in the line's UTF-8 bytes, so that a span built from a node
    lands on the node even after a non-ASCII character.
    """

    line: int
    col: int
    end_col: int
    text: str


def rename_span(node: ast.expr, text: str) -> Span | None:
    """A span that rewrites the whole expression `node` (one line only) as `text`."""
    if node.end_lineno != node.lineno or node.end_col_offset is None:
        return None
    return Span(node.lineno, node.col_offset, node.end_col_offset, text)


def tutorial_reader_edit(node: ast.Import | ast.ImportFrom, name: str, written: str) -> Edit | None:
    """The removed import with a mechanical fix: TF1's tutorial reader -> TUTORIAL_READER.

    `name` is what the import binds; the fix binds the same name, so that the script's
    `input_data.read_data_sets(...)` (or `read_data_sets(...)`) keeps working unchanged.
    """
    if (
        len(node.names) != 1 or name == written.split(".")[0]
    ):  # `import tensorflow.examples...`: no short name to rebind
        return None
    if written.endswith("tutorials.mnist.input_data"):
        text = f"import {TUTORIAL_READER} as {name}"
    elif written.endswith("tutorials.mnist.input_data.read_data_sets"):
        text = f"from {TUTORIAL_READER} import read_data_sets" + ("" if name == "read_data_sets" else f" as {name}")
    else:
        return None
    indent = " " * node.col_offset
    return Edit(node.lineno, node.end_lineno, f"{indent}{text}  # {TUTORIAL_READER_NOTE}")


def apply_fixes(code: str, findings: list[Finding]) -> str:
    """`code` with every mechanical fix the findings carry (each distinct edit once): spans, then lines, bottom up."""
    edits = {f.edit for f in findings if f.edit is not None}
    lines = code.splitlines(keepends=True)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"  # a Windows file keeps its line ends
    if lines and not lines[-1].endswith(("\n", "\r")):  # a line inserted after the last one starts a line of its own
        lines[-1] += newline
    for span in sorted((e for e in edits if isinstance(e, Span)), key=lambda s: (s.line, s.col), reverse=True):
        raw = lines[span.line - 1].encode("utf-8")
        lines[span.line - 1] = (raw[: span.col] + span.text.encode("utf-8") + raw[span.end_col :]).decode("utf-8")
    for edit in sorted((e for e in edits if isinstance(e, Edit)), key=lambda e: (e.start, e.end), reverse=True):
        lines[edit.start - 1 : edit.end] = [edit.text.replace("\n", newline) + newline]
    return "".join(lines)
