"""The one TF1 -> TF2 table, and how tools read it: the side-by-side view, the upgrade audit, the pitfalls.

`MAPPINGS` holds every row (`ApiMapping`, see `compat.api_entry`): first the rows by training
stage that `tfparity sidebyside` finds in the styles' code (`find_mappings`), then the rows only
`tfparity upgrade` reads (`compat.api_table_symbols`). The audit and the pitfalls look rows up
by name: `mapping_for` (one row), `symbols_with` (every name whose row has a given text).

Nothing here imports the styles or `tfparity.benchmarks`; `resolve_symbol` imports TensorFlow
only when called.
"""

from __future__ import annotations

import ast
import importlib
import io
import sys
import tokenize
from typing import Any

from tfparity.compat.api_entry import (  # noqa: F401  (the table's API, re-exported)
    API,
    EVAL_RAISES,
    GUIDE,
    SESSION_RUN_RAISES,
    STAGES,
    SUMMARY_MERGE_RAISES,
    TUTORIAL_READER,
    ApiMapping,
)
from tfparity.compat.api_table import STAGE_ROWS
from tfparity.compat.api_table_symbols import QUEUES_EAGER, READERS_EAGER, SYMBOL_ROWS, TF1_SUMMARY_OPS  # noqa: F401

MAPPINGS: tuple[ApiMapping, ...] = STAGE_ROWS + SYMBOL_ROWS
# Audit texts, by name: a name belongs to one row at most (a test checks it).
BY_SYMBOL: dict[str, ApiMapping] = {symbol: m for m in MAPPINGS for symbol in m.symbols}
AUDIT_TEXTS = ("fix", "gone", "raises", "tf2_way", "eager_silent")


def mapping_for(key: str) -> ApiMapping:
    """The row that `key` names: one of its `symbols`, or else its `tf1` text exactly."""
    found = BY_SYMBOL.get(key) or next((m for m in MAPPINGS if m.tf1 == key), None)
    if found is None:
        raise KeyError(f"{key!r}: no row of compat.api_map.MAPPINGS has it among its symbols or as its tf1")
    return found


def symbols_with(text: str) -> dict[str, ApiMapping]:
    """Every name whose row has `text` (one of AUDIT_TEXTS), with that row."""
    if text not in AUDIT_TEXTS:
        raise ValueError(f"{text!r} is not one of {AUDIT_TEXTS}")
    return {symbol: m for symbol, m in BY_SYMBOL.items() if getattr(m, text)}


def code_only(source: str) -> str:
    """`source` with comments and docstrings blanked out (same lines and columns), so that a
    mapping is found in what code does, never in what its prose mentions."""
    lines = source.splitlines(keepends=True)
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return source  # not Python we can tokenize: search it as it is
    blank: list[tuple[tuple[int, int], tuple[int, int]]] = []
    line_start = True  # at the start of a logical line (where a docstring would stand)
    for i, tok in enumerate(tokens):
        if tok.type == tokenize.COMMENT:
            blank.append((tok.start, tok.end))
        elif tok.type == tokenize.STRING and line_start:
            following = next((t for t in tokens[i + 1 :] if t.type not in (tokenize.COMMENT, tokenize.NL)), None)
            if following is None or following.type in (tokenize.NEWLINE, tokenize.ENDMARKER):
                blank.append((tok.start, tok.end))
        if tok.type not in (tokenize.NL, tokenize.COMMENT):
            line_start = tok.type in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT)
    chars = [list(line) for line in lines]
    for (row0, col0), (row1, col1) in blank:
        for row in range(row0, row1 + 1):
            line = chars[row - 1]
            start = col0 if row == row0 else 0
            end = col1 if row == row1 else len(line)
            for col in range(start, min(end, len(line))):
                if line[col] != "\n":
                    line[col] = " "
    return "".join("".join(line) for line in chars)


def find_mappings(source: str) -> list[tuple[ApiMapping, list[int]]]:
    """The mappings `source` exercises, in table order, each with the 1-based lines that match."""
    code = code_only(source)
    found = []
    for mapping in MAPPINGS:
        lines = mapping.match_lines(code)
        if lines:
            found.append((mapping, lines))
    return found


def tf_symbols_used(source: str, prefix: str = "tf.") -> dict[str, list[int]]:
    """Every dotted name starting with `prefix` that `source` uses (longest chain only), with its lines.

    `tf.compat.v1.train.AdamOptimizer(...)` gives `tf.compat.v1.train.AdamOptimizer`, never
    its parents `tf.compat.v1.train` or `tf.compat`.
    """
    tree = ast.parse(source)
    inner = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    used: dict[str, list[int]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and id(node) not in inner:
            name = dotted_name(node)
            if name and name.startswith(prefix):
                used.setdefault(name, []).append(node.lineno)
    return {name: sorted(lines) for name, lines in sorted(used.items())}


def dotted_name(node: ast.AST) -> str | None:
    """`a.b.c` for a chain of attributes on a plain name; None for anything else (calls, subscripts)."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


class SymbolNotFound(LookupError):
    """A dotted name that the installed TensorFlow / Keras does not provide."""


ROOT_MODULES = {
    "tf": "tensorflow",
    "keras": "keras",
    "tensorflow": "tensorflow",
    "tensorflow_estimator": "tensorflow_estimator",
}


def resolve_symbol(dotted: str) -> Any:
    """The object `dotted` ("tf.compat.v1.placeholder", "keras.optimizers.SGD",
    "tensorflow.examples.tutorials") names in the installed packages.

    Raises SymbolNotFound with the reason, including TensorFlow's own message where it has one
    ("`dense` is not available with Keras 3.").
    """
    root, *parts = dotted.split(".")
    if root not in ROOT_MODULES:
        raise ValueError(f"{dotted!r}: symbols must start with one of {sorted(ROOT_MODULES)}")
    module_path = ROOT_MODULES[root]
    try:
        obj = importlib.import_module(module_path)
    except ImportError as exc:  # tensorflow_estimator, gone with TensorFlow 2.16
        raise SymbolNotFound(f"{dotted}: {exc}") from None
    for part in parts:
        module_path = f"{module_path}.{part}"
        try:
            obj = getattr(obj, part)
            continue
        except Exception as exc:  # TensorFlow's lazy loaders raise more than AttributeError
            reason = f"{type(exc).__name__}: {exc}"
        # A submodule not imported yet (tensorflow.examples...). Only below a real, imported
        # module: importing through one of TensorFlow's lazy loaders would replace it.
        parent = sys.modules.get(module_path.rpartition(".")[0])
        if parent is not obj:
            raise SymbolNotFound(f"{dotted}: {reason}")
        try:
            obj = importlib.import_module(module_path)
        except ImportError as exc:
            raise SymbolNotFound(f"{dotted}: {reason}; import: {exc}") from None
    return obj
