"""The TF1 -> TF2 table's row type, `ApiMapping`, and the texts several rows share.

Each `ApiMapping` names a TF1 API (as TF1 code wrote it, today through `tf.compat.v1`), its TF2
replacement, a one-line reason, the training stage it belongs to, and TensorFlow's own
documentation pages. It also carries what tools need to find it and to talk about it:

- `tf1_code` / `tf2_code`: regular expressions, each group matching when *all* its patterns
  occur in code (comments and docstrings excluded, see `api_map.code_only`). `tfparity
  sidebyside` uses them to show, under each stage, the mappings that stage's source exercises;
  `in_styles` says that tfparity's own styles exercise the row (a test checks it both ways).
- `tf1_symbols` / `tf2_symbols`: dotted names that exist in the installed TensorFlow and Keras
  (a test resolves every one); `removed`: the TF 1.x spellings TensorFlow 2 no longer has
  (a test checks that none resolves), so a tool can tell "rename it" from "rewrite it".
- `symbols` and the texts after it: what `tfparity upgrade` prints about those names: the
  fix of a use that still resolves, the fix where it no longer does, what it raises with eager
  execution on, the TF2 way beside that.

The rows: `api_table` (by stage, what `sidebyside` shows) and `api_table_symbols` (what only the
upgrade audit reads); `api_map` joins them into `MAPPINGS`. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The shared stages every style module marks with `# %% stage: NAME`, in this order.
STAGES: tuple[str, ...] = ("data", "model", "loss", "optimizer", "train step", "loop", "evaluate")

API = "https://www.tensorflow.org/api_docs/python/"
GUIDE = "https://www.tensorflow.org/guide/"


@dataclass(frozen=True)
class ApiMapping:
    tf1: str  # the TF1 API, Markdown (code in backticks)
    tf2: str  # what TF2 code writes instead, Markdown
    why: str  # one line, Markdown ("" on rows only the upgrade audit reads)
    stage: str  # one of STAGES: where this change happens in a training script
    docs: tuple[str, ...] = ()  # tensorflow.org pages: the TF1 symbol's ("Migrate to TF2" section), the TF2 one's
    tf1_symbols: tuple[str, ...] = ()  # exist in the installed TensorFlow (tf.compat.v1.*)
    tf2_symbols: tuple[str, ...] = ()  # exist in the installed TensorFlow / Keras
    removed: tuple[str, ...] = ()  # TF 1.x spellings that no longer resolve in TensorFlow 2
    tf1_code: tuple[str, ...] = ()  # regexes, all of which match code that uses the TF1 API
    tf2_code: tuple[str, ...] = ()  # regexes, all of which match code that uses the replacement
    in_styles: bool = False  # tfparity's styles exercise it: `sidebyside` finds it in their code
    # What `tfparity upgrade` says about `symbols`, plain text ("" where it says nothing). `fix`
    # and `gone` also serve the dotted children of a name that has no row of its own.
    symbols: tuple[str, ...] = ()  # canonical dotted names (`tf.compat.v1.Session`), import paths
    fix: str = ""  # the TF2 replacement of a use that still resolves: tf.compat.v1 debt
    gone: str = ""  # the fix where it no longer resolves: a missing symbol, a removed import
    raises: str = ""  # what it raises with eager execution on: a graph-only API
    tf2_way: str = ""  # the TF2 way shown beside that failure, where it differs from `fix`
    eager_silent: str = ""  # what it does instead with eager execution on, raising nothing

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise ValueError(f"ApiMapping {self.tf1!r}: stage {self.stage!r} is not one of {STAGES}")

    def match_lines(self, code: str) -> list[int]:
        """1-based lines of `code` (already passed through `code_only`) where this mapping's
        TF1 or TF2 patterns match; empty when neither group matches in full."""
        lines: set[int] = set()
        for group in (self.tf1_code, self.tf2_code):
            matches = [list(re.finditer(pattern, code)) for pattern in group]
            if group and all(matches):
                lines.update(code.count("\n", 0, m.start()) + 1 for found in matches for m in found)
        return sorted(lines)


def symbol_row(
    stage: str,
    *symbols: str,
    fix: str = "",
    gone: str = "",
    raises: str = "",
    tf2_way: str = "",
    eager_silent: str = "",
    resolves: bool | None = None,
) -> ApiMapping:
    """A row that only the upgrade audit reads: TF1 names the styles never use, shown as themselves.

    `resolves`: whether the names themselves exist in TensorFlow 2 (default: unless `gone` is
    their only text; `tf.compat.v1.nn.rnn_cell` resolves, its cells do not). `name(function)` is
    a pseudo-symbol: a use of `name` with a function argument.
    """
    names = tuple(s.split("(")[0] for s in symbols)
    if resolves is None:
        resolves = not gone or bool(fix or raises or tf2_way or eager_silent)
    return ApiMapping(
        tf1=", ".join(f"`{s}`" for s in symbols),
        tf2=fix or tf2_way or gone,
        why="",
        stage=stage,
        tf1_symbols=names if resolves else (),
        removed=() if resolves else names,
        symbols=symbols,
        fix=fix,
        gone=gone,
        raises=raises,
        tf2_way=tf2_way,
        eager_silent=eager_silent,
    )


# tfparity's copy of TF 1.x's `input_data` reader: `read_data_sets(train_dir, one_hot=True)`,
# `.train.next_batch(n)`, `.test.images`. The one place that names its module: every import the
# upgrade's fixes write follows this.
TUTORIAL_READER = "tfparity.compat.data"
# Keras 3 layers are TF2 code: in a TF1 graph run by a Session they break (checked on Keras 3.15).
KERAS3_OTHER_FIX = (
    "in TF2 code (eager, tf.function); code that keeps its graph and Session: pip install tf_keras and set "
    "TF_USE_LEGACY_KERAS=1 before importing TensorFlow (Keras 3 layers in a TF1 graph: sess.run cannot fetch "
    "their variables, BatchNormalization never updates its moving statistics, RNN cells do not fit static_rnn)"
)
# Session and InteractiveSession raise nothing when made: what fails is their first run or eval.
SESSION_RUN_RAISES = "RuntimeError: The Session graph is empty. Add operations to the graph before calling run()."
# What MonitoredTrainingSession, MonitoredSession and SingularMonitoredSession raise when made with eager execution on.
SUMMARY_MERGE_RAISES = "RuntimeError: Merging tf.summary.* ops is not compatible with eager execution"
EVAL_RAISES = (
    "NotImplementedError: eval is not supported when eager execution is enabled, is .numpy() what you're looking for?"
)
