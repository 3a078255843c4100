"""The audit of `tfparity upgrade`: what in converted TF1 code fails on the installed TensorFlow.

tf_upgrade_v2 never runs the code, so it cannot see that the converted script still builds
placeholders while eager execution is on, that an import no longer exists, or that a symbol
it emits raises on the TensorFlow and Keras installed today. The audit reads the converted
code with `ast` and checks each of those against the installed TensorFlow:

- `eager-conflict`, `eager-capture`, `graph-only`: eager execution (see `upgrade_eager`);
- `changed-api`: a TF1 call that TF2's API of the same name rejects: TF1 summary ops
  (`tf.summary.scalar` is TF2's summary API: TensorBoard's, no longer TF1's graph op),
  `tf.device(<a device function>)`, and what TF2 behaviours break with eager execution off
  too (`upgrade_v2_behavior`); `silent-change`: one it runs differently, with no error
  (`upgrade_silent`); Keras 3 meeting TF1 code (`upgrade_keras3`);
- `removed-import`: an import of a TensorFlow module that no longer exists;
- `missing-symbol`: a `tf.` attribute chain that does not resolve, or raises on access;
- `compat-v1`: every remaining `tf.compat.v1` use: migration debt, with the TF2 replacement.

Findings that one change fixes share a `cause`; the report lists each cause once, with its lines.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass

from tfparity.benchmarks.upgrade_eager import capture_findings, eager_findings, eager_fix_edit, graph_regions
from tfparity.benchmarks.upgrade_imports import (
    Binding,
    collect_imports,
    keras_major,
    keras_version,
    legacy_keras,
    resolve_chain,
    tensorboard_installed,
    tf_version,
)
from tfparity.benchmarks.upgrade_keras3 import keras3_findings
from tfparity.benchmarks.upgrade_names import Use, UseCollector, collect_uses, v1_rename_edit
from tfparity.benchmarks.upgrade_silent import silent_findings
from tfparity.benchmarks.upgrade_tables import (
    API_DOCS,
    DEBT_FIXES,
    DEVICE_CAUSE,
    DEVICE_RAISES,
    EXIT_FAILS,
    EXIT_OK,
    GRAPH_ONLY,
    KERAS3_REMOVED_PREFIXES,
    KINDS,
    MERGE_NONE,
    MISSING_FIXES,
    SUMMARY_CAUSE,
    SUMMARY_OPS,
    TB_MISSING,
    TF1_SUMMARY_KEYWORDS,
    Finding,
    lookup_prefix,
    prefix_key,
)
from tfparity.benchmarks.upgrade_v2_behavior import v2_behavior_findings
from tfparity.compat.api_map import mapping_for


def audit(converted: str) -> list[Finding]:
    """Every finding on the converted code, by line."""
    tree = ast.parse(converted)
    imports = collect_imports(tree)
    collected = collect_uses(tree, imports.bindings)
    fix_edit = eager_fix_edit(imports, converted.splitlines())
    regions = graph_regions(tree, collected)
    findings = [
        *imports.findings,
        *missing_symbol_findings(collected.uses),
        *eager_findings(tree, collected, fix_edit, regions),
        *capture_findings(tree, collected, regions, fix_edit),
        *summary_findings(tree, collected.uses),
        *device_findings(collected),
        *v2_behavior_findings(tree, collected),
        *silent_findings(tree, collected),
        *keras3_findings(tree, collected, regions),
        *debt_findings(collected.uses),
    ]
    order = list(KINDS)
    return sorted(findings, key=lambda f: (f.line, order.index(f.kind), f.symbol))


def exit_status(findings: list[Finding]) -> int:
    return EXIT_FAILS if any(f.fatal for f in findings) else EXIT_OK


# --- symbols TensorFlow no longer has ------------------------------------------------------------


def symbol_error(use: Use) -> str | None:
    """Why a tf. chain fails in the installed TensorFlow, or None when it resolves."""
    if use.binding is None:
        return None
    error = resolve_chain(use.binding, use.rest)
    if (
        error is None
        and use.canonical.startswith(KERAS3_REMOVED_PREFIXES)
        and keras_major() >= 3
        and not legacy_keras()
    ):
        error = f"{use.canonical} needs Keras 2 (tf_keras); the installed Keras is {keras_version()}"
    return error


def missing_symbol_findings(uses: list[Use]) -> list[Finding]:
    findings = []
    for use in uses:
        error = symbol_error(use)
        if error is None:
            continue
        key = prefix_key(MISSING_FIXES, use.canonical)
        findings.append(
            Finding(
                line=use.line,
                kind="missing-symbol",
                symbol=use.written,
                problem=error if use.written == use.canonical else f"{use.canonical}: {error}",
                fix=(MISSING_FIXES[key] if key else None) or v1_rename(use) or f"find its TF2 replacement: {API_DOCS}",
                cause=f"{key or use.canonical} is not in TensorFlow {tf_version()} (Keras {keras_version()})",
            )
        )
    return findings


def v1_rename(use: Use) -> str | None:
    """`tf.compat.v1.X` where TF1's `tf.X` (unconverted code) still lives there: tf_upgrade_v2's rename."""
    if use.binding is None or use.binding.canonical != "tf" or use.canonical.startswith("tf.compat."):
        return None
    v1 = Binding("tf.compat.v1", "tensorflow.compat.v1")
    if not use.rest or resolve_chain(v1, use.rest) is not None:
        return None
    name = ".".join(use.rest)
    tf2 = lookup_prefix(DEBT_FIXES, name)
    return f"tf.compat.v1.{name} (tf_upgrade_v2's rename)" + (f"; TF2: {tf2}" if tf2 else "")


# --- TF2 APIs with TF1's names --------------------------------------------------------------------


def summary_op(use: Use) -> str | None:
    op = use.canonical.removeprefix("tf.summary.")
    return op if use.is_call and use.canonical.startswith("tf.summary.") and op in SUMMARY_OPS else None


def is_tf1_summary_call(use: Use, op: str, tf1_file: bool) -> bool:
    """TF1's signature: (name, tensor, collections, family), no step; TF2's: (name, data, step, ...)."""
    keywords = set(use.keywords)
    if keywords & TF1_SUMMARY_KEYWORDS:
        return True
    if "step" in keywords:
        return False
    return tf1_file or len(use.call.args) <= SUMMARY_OPS[op]


def summary_findings(tree: ast.Module, uses: list[Use]) -> list[Finding]:
    """TF1 summary ops left as `tf.summary.*`: tf_upgrade_v2 logs that it moved them to
    tf.compat.v1.summary, and does not. In TF2 these names are TensorBoard's summary API."""
    calls = [(use, op) for use in uses if (op := summary_op(use))]
    if not calls:
        return []
    tb = tensorboard_installed()
    tf1_file = any(u.canonical.startswith(("tf.compat.v1.summary.", "tf.compat.v1.Session")) for u in uses)
    merges = [u for u in uses if u.canonical in ("tf.compat.v1.summary.merge_all", "tf.compat.v1.summary.merge")]
    findings = []
    for use, op in calls:
        tf1 = is_tf1_summary_call(use, op, tf1_file)
        if tf1 or not tb:
            findings.append(summary_call_finding(use, op, tf1, tb, merges[0].line if merges else None))
    if tb and merges and any(f.kind == "silent-change" for f in findings):
        findings.append(merge_none_finding(tree, merges[0], [f.line for f in findings]))
    return findings


def summary_call_finding(use: Use, op: str, tf1: bool, tb: bool, merge_line: int | None) -> Finding:
    if tb:
        kind, problem = (
            "silent-change",
            "writes nothing (no default writer), with no error, and adds nothing to merge_all()",
        )
        cause = (
            f"{SUMMARY_CAUSE}: it writes only inside `with writer.as_default():` (without TensorBoard: "
            "TBNotInstalledError)"
        )
    else:
        kind, problem = "changed-api", TB_MISSING.format(op=op)
        with_tb = (
            f"merge_all() at line {merge_line} returns None, which sess.run rejects: {MERGE_NONE}"
            if merge_line
            else "they write nothing, with no error"
        )
        cause = f"{SUMMARY_CAUSE}: TensorBoard implements it, and is not installed (with it installed, {with_tb})"
    edit = v1_rename_edit(use, f"summary.{op}") if tf1 else None
    if edit:
        fix = (
            "tf.compat.v1.summary.*: TF1's summary ops, which merge_all and FileWriter collect "
            "(tf_upgrade_v2's log says it made this change; it did not)"
        )
    else:
        fix = "pip install tensorboard: TF2's summary ops are TensorBoard's"
    return Finding(
        line=use.line,
        kind=kind,
        symbol=use.written,
        problem=problem,
        fix=fix,
        edit=edit,
        cause=cause,
        tf2=mapping_for(f"tf.summary.{op}").tf2_way,
        docs=API_DOCS + f"tf/summary/{op}",
    )


def merge_none_finding(tree: ast.Module, merge: Use, summary_lines: list[int]) -> Finding:
    """With TensorBoard installed, the failure is where the merged summary is run: it is None."""
    merged = {
        t.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Assign) and n.value is merge.call
        for t in n.targets
        if isinstance(t, ast.Name)
    }
    runs = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and n.func.attr == "run"
        and any(isinstance(a, ast.Name) and a.id in merged for a in ast.walk(n))
    ]
    line = min((n.lineno for n in runs), default=merge.line)
    return Finding(
        line=line,
        kind="changed-api",
        symbol=merge.written,
        cause=SUMMARY_CAUSE,
        problem=(
            f"merge_all() at line {merge.line} returns None: the summaries at lines "
            f"{', '.join(map(str, summary_lines))} "
            f"are TF2's and add nothing to its collection; running it raises {MERGE_NONE}"
        ),
        fix="make those summaries tf.compat.v1.summary.* (--apply-fixes does)",
        tf2=GRAPH_ONLY["tf.compat.v1.summary.merge_all"][1],
    )


def device_findings(collected: UseCollector) -> list[Finding]:
    """`tf.device(<a device function>)`: TF1 placed ops with functions; TF2's tf.device raises."""
    eagerly, tf2 = GRAPH_ONLY["tf.compat.v1.device(function)"]
    findings = []
    for use in collected.uses:
        if use.canonical != "tf.device" or use.call is None or not use.call.args:
            continue
        target = use.call.args[0]
        if not collected.is_device_function(target):
            continue
        edit = v1_rename_edit(use, "device")
        findings.append(
            Finding(
                line=use.line,
                kind="changed-api",
                symbol=use.written,
                cause=DEVICE_CAUSE,
                edit=edit,
                problem=(
                    f"{DEVICE_RAISES} (`{ast.unparse(target)}` is a device function; TF2's tf.device takes a "
                    "device name only)"
                ),
                fix=(
                    "tf.compat.v1.device(...), with eager execution off (eagerly it raises "
                    f"'{eagerly.removeprefix('RuntimeError: ')}')"
                ),
                tf2=tf2,
            )
        )
    return findings


# --- migration debt ------------------------------------------------------------------------------


def debt_findings(uses: list[Use]) -> list[Finding]:
    findings = []
    for use in uses:
        if use.binding is None or not use.canonical.startswith("tf.compat.v1.") or symbol_error(use) is not None:
            continue
        name = use.canonical[len("tf.compat.v1.") :]
        fix = (
            lookup_prefix(DEBT_FIXES, name)
            or same_in_tf2(use)
            or "no TF2 equivalent in tfparity's table: see https://www.tensorflow.org/guide/migrate"
        )
        findings.append(
            Finding(
                line=use.line,
                kind="compat-v1",
                symbol=use.written,
                cause=use.written,
                problem=f"{use.canonical} is TF1 API kept alive by tf.compat.v1",
                fix=fix,
                docs=API_DOCS + use.canonical.replace(".", "/"),
            )
        )
    return findings


def same_in_tf2(use: Use) -> str | None:
    """`tf.X` when the TF2 namespace holds the very same object (aliased `tensorflow.compat.v1 as tf` code)."""
    import tensorflow as tf

    name = use.canonical.split(".")[3:]
    try:
        same = functools.reduce(getattr, ["compat", "v1", *name], tf) is functools.reduce(getattr, name, tf)
    except Exception:  # not in the TF2 namespace, or state-dependent (FLAGS before parsing)
        return None
    return f"tf.{'.'.join(name)}: the same object in TF2" if same else None


# --- causes: what the report lists --------------------------------------------------------------


@dataclass(frozen=True)
class Cause:
    """Findings that one change fixes: the report lists the cause once, with every line under it."""

    kind: str
    cause: str
    findings: tuple[Finding, ...]

    @property
    def fatal(self) -> bool:
        return self.findings[0].fatal

    @property
    def lines(self) -> list[int]:
        return sorted({f.line for f in self.findings})

    @property
    def shared_fix(self) -> str | None:
        """The fix, when every line has the same one."""
        fixes = {f.fix for f in self.findings}
        return fixes.pop() if len(fixes) == 1 else None

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "cause": self.cause,
            "fatal": self.fatal,
            "lines": self.lines,
            "fix": self.shared_fix,
            "count": len(self.findings),
        }


def group_by_cause(findings: list[Finding]) -> list[Cause]:
    """Causes in the order of their first line."""
    groups: dict[tuple[str, str], list[Finding]] = {}
    for finding in sorted(findings, key=lambda f: f.line):
        groups.setdefault(finding.group, []).append(finding)
    return [Cause(kind, cause, tuple(items)) for (kind, cause), items in groups.items()]
