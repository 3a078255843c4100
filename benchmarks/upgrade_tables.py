"""What `tfparity upgrade` knows about TF1 -> TF2: its finding kinds, its messages, its views of the table.

The TF1 -> TF2 facts (what replaces each TF1 name, what a graph-only API raises with eager
execution on, the fix of a name TensorFlow no longer has) are rows of `compat.api_map`'s table,
which `sidebyside` and the pitfalls read too; the dicts below are the audit's views of it. The
rest is the audit's own: what each kind of finding means, the messages of its rules (checked
against TensorFlow 2.21 and Keras 3, re-raised by the tests in a fresh interpreter), and the
names its rules test for.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from tfparity.benchmarks.upgrade_fixes import Edit, Span
from tfparity.compat.api_map import (  # noqa: F401  (the messages the tests re-raise, re-exported)
    API,
    EVAL_RAISES,
    QUEUES_EAGER,
    READERS_EAGER,
    SESSION_RUN_RAISES,
    SUMMARY_MERGE_RAISES,
    TF1_SUMMARY_OPS,
    symbols_with,
)

API_DOCS = API  # TensorFlow's API pages: a symbol's is API_DOCS + its dotted name with slashes

# kind -> (makes the converted code fail?, what it means)
KINDS: dict[str, tuple[bool, str]] = {
    "eager-conflict": (True, "graph-only API reached with eager execution on"),
    "eager-capture": (True, "a tensor made while eager execution was on, used by graph code"),
    "changed-api": (True, "a TF1 call that TF2's API of the same name rejects"),
    "removed-import": (True, "import of a module TensorFlow no longer has"),
    "missing-symbol": (True, "tf. symbol that does not resolve in the installed TensorFlow"),
    "silent-change": (False, "a TF1 call that TF2's API of the same name runs differently, with no error"),
    "graph-only": (False, "graph-only API in a function nothing in this file calls"),
    "compat-v1": (False, "tf.compat.v1 use left: migration debt"),
}
EXIT_OK, EXIT_FAILS, EXIT_BAD_INPUT = 0, 1, 2

V1 = "tf.compat.v1."
# The audit's views of the table. Graph-only APIs (canonical names; `name(function)`: a use with a
# function argument) -> (what each raises with eager execution on, the TF2 way).
GRAPH_ONLY: dict[str, tuple[str, str]] = {
    name: (m.raises, m.tf2_way or m.fix) for name, m in symbols_with("raises").items()
}
# APIs that run with eager execution on but do something else there -> (what, the TF2 way).
EAGER_SILENT: dict[str, tuple[str, str]] = {
    name: (m.eager_silent, m.fix) for name, m in symbols_with("eager_silent").items()
}
# tf.compat.v1 names (after `tf.compat.v1.`, prefix match on whole dotted parts) -> the TF2 fix.
DEBT_FIXES: dict[str, str] = {
    name.removeprefix(V1): m.fix for name, m in symbols_with("fix").items() if name.startswith(V1)
}
# Names that no longer resolve (prefix match): tf. chains -> the fix; import paths -> the fix.
MISSING_FIXES: dict[str, str] = {name: m.gone for name, m in symbols_with("gone").items() if name.startswith("tf.")}
REMOVED_MODULES: dict[str, str] = {
    name: m.gone for name, m in symbols_with("gone").items() if not name.startswith("tf.")
}
EAGER_OFF = ("tf.compat.v1.disable_eager_execution", "tf.compat.v1.disable_v2_behavior")
GRAPH_SOURCES = ("tf.Graph", "tf.compat.v1.Graph", "tf.compat.v1.get_default_graph")

# TF1 layer namespaces that Keras 3 no longer backs. TensorFlow 2.16-2.21 raise on attribute
# access ("`dense` is not available with Keras 3."), which resolution catches; the list also
# catches them on a TensorFlow that would defer the error to the call.
KERAS3_REMOVED_PREFIXES = ("tf.compat.v1.layers.", "tf.compat.v1.nn.rnn_cell.")


# TF1 summary ops whose names TF2's tf.summary took over -> index of TF2's `step` argument (audio
# takes a sample rate before it). TF1 code calls them without a step (and with TF1-only keywords),
# then merges them with merge_all.
SUMMARY_OPS: dict[str, int] = {op: 3 if op == "audio" else 2 for op in TF1_SUMMARY_OPS}
TF1_SUMMARY_KEYWORDS = frozenset({"tensor", "values", "collections", "family"})
SUMMARY_CAUSE = "tf.summary.* is TF2's summary API, not TF1's"
# What tf.summary.* raises when TensorBoard (which implements TF2's summary ops) is absent.
TB_MISSING = "TBNotInstalledError: TensorBoard is not installed, missing implementation for tf.summary.{op}"
MERGE_NONE = 'TypeError: Argument `fetch` = None has invalid type "NoneType"'

DEVICE_CAUSE = "TF2's tf.device takes a device name, not a device function"
DEVICE_RAISES = "RuntimeError: tf.device does not support functions."
DEVICE_SETTERS = ("tf.compat.v1.train.replica_device_setter", "tf.train.replica_device_setter")
# tf.app.run() with no main runs the main() of the script it is called from.
APP_RUNS = ("tf.compat.v1.app.run", "tf.app.run")

EAGER_CAUSE = "eager execution is on (TF2's default) and nothing turns it off"
CAPTURE_CAUSE = "tensors made while eager execution was on are used by graph code"
CAPTURE_RAISES = "RuntimeError: <op input>: Attempting to capture an EagerTensor without building a function."

# tf. calls whose result is not a tensor (or is made for its side effect): a module-level name
# bound to one is no EagerTensor for graph code to capture.
NOT_TENSOR_PREFIXES = (
    "tf.compat.v1.flags",
    "tf.compat.v1.app",
    "tf.compat.v1.logging",
    "tf.io.gfile",
    "tf.compat.v1.gfile",
    "tf.config",
    "tf.test",
    "tf.summary",
    "tf.compat.v1.summary",
    "tf.data",
    "tf.compat.v1.data",
    "tf.keras",
    "tf.train",
    "tf.compat.v1.train",
    "tf.saved_model",
    "tf.distribute",
    "tf.sysconfig",
    "tf.random.set_seed",
    "tf.compat.v1.set_random_seed",
    "tf.compat.v1.get_default_graph",
    "tf.compat.v1.reset_default_graph",
    "tf.compat.v1.disable_",
    "tf.compat.v1.enable_",
    "tf.compat.v1.global_variables_initializer",
    "tf.compat.v1.initialize_all_variables",
    "tf.compat.v1.local_variables_initializer",
    "tf.device",
    "tf.name_scope",
    "tf.compat.v1.variable_scope",
    "tf.compat.v1.name_scope",
    "tf.compat.v1.placeholder",
    "tf.compat.v1.ConfigProto",
)


@dataclass(frozen=True)
class Finding:
    line: int
    kind: str
    symbol: str
    problem: str  # what happens at this line
    fix: str  # what makes this line run
    edit: Edit | Span | None = None
    docs: str = ""  # the TensorFlow API page of the symbol, where it has one
    cause: str = ""  # shared by every finding one change fixes: the report groups by it
    tf2: str = ""  # the TF2 way, past the immediate fix

    @property
    def fatal(self) -> bool:
        return KINDS[self.kind][0]

    @property
    def group(self) -> tuple[str, str]:
        return self.kind, self.cause or f"{self.symbol}: {self.problem}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "fatal": self.fatal}


def lookup_prefix(table: dict[str, str], dotted: str) -> str | None:
    """The entry for `dotted` or its longest dotted prefix."""
    key = prefix_key(table, dotted)
    return None if key is None else table[key]


def prefix_key(table: dict, dotted: str) -> str | None:
    """The longest of `dotted` and its dotted prefixes that `table` has."""
    parts = dotted.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in table:
            return ".".join(parts[:n])
    return None
