"""The audit's rules for Keras 3 (TensorFlow 2.16+'s `tf.keras`) meeting TF1 code.

- `model.compile(optimizer=tf.compat.v1.train.AdamOptimizer(...))`: Keras 3 takes only its own
  optimizers: `ValueError: Could not interpret optimizer identifier`;
- `model.fit` / `evaluate` / `predict` with eager execution off: Keras 3 runs only eagerly (or in a
  tf.function), so a script whose TF1 half turns eager execution off for the whole process (the
  eager fix included) breaks its Keras half: the fix is a private graph for the TF1 half.
"""

from __future__ import annotations

import ast

from tfparity.benchmarks.upgrade_eager import GraphRegions
from tfparity.benchmarks.upgrade_names import UseCollector, names_assigned
from tfparity.benchmarks.upgrade_tables import DEBT_FIXES, EAGER_OFF, Finding, lookup_prefix

OPTIMIZER_CAUSE = "Keras 3's compile takes Keras optimizers only, not tf.compat.v1.train ones"
OPTIMIZER_RAISES = "ValueError: Could not interpret optimizer identifier: <{name} object>"
EAGER_OFF_CAUSE = "Keras 3 trains and predicts only with eager execution on"
EAGER_OFF_RAISES = (
    "RuntimeError: `tf.data.Dataset` only supports Python-style iteration in eager mode or within tf.function."
)
KERAS_PREFIXES = ("tf.keras.", "tf.compat.v1.keras.")
RUNS = ("fit", "evaluate", "predict")


def keras3_findings(tree: ast.Module, collected: UseCollector, regions: GraphRegions) -> list[Finding]:
    models = names_assigned(tree, collected.bindings, lambda c: bool(c) and c.startswith(KERAS_PREFIXES))
    off = [u.line for u in collected.uses if u.canonical in EAGER_OFF and u.is_call]
    findings = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr == "compile":
            findings += compile_findings(node, collected)
        elif node.func.attr in RUNS and off and regions.kind_at(node.lineno) == "off":
            receiver = ast.unparse(node.func.value)
            if receiver in models:
                findings.append(eager_off_finding(node, receiver, min(off)))
    return findings


def compile_findings(node: ast.Call, collected: UseCollector) -> list[Finding]:
    optimizer = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "optimizer"), None)
    if optimizer is None or not collected._is_v1_optimizer(optimizer):
        return []
    made = optimizer.func if isinstance(optimizer, ast.Call) else None
    canonical = collected.canonical(made) if made is not None else None
    name = (canonical or "tf.compat.v1.train.Optimizer").rsplit(".", 1)[-1]
    keras = lookup_prefix(DEBT_FIXES, f"train.{name}") or "the tf.keras.optimizers class"
    return [
        Finding(
            line=node.lineno,
            kind="changed-api",
            symbol=f"compile(optimizer={ast.unparse(optimizer)})",
            cause=OPTIMIZER_CAUSE,
            problem=OPTIMIZER_RAISES.format(name=name),
            fix=keras,
        )
    ]


def eager_off_finding(node: ast.Call, receiver: str, off_line: int) -> Finding:
    return Finding(
        line=node.lineno,
        kind="changed-api",
        symbol=f"{receiver}.{node.func.attr}",
        cause=EAGER_OFF_CAUSE,
        problem=f"eager execution is off (line {off_line}): {EAGER_OFF_RAISES}",
        fix=(
            "keep eager execution on: build the TF1 part under `with tf.Graph().as_default():` and run it in "
            "tf.compat.v1.Session(graph=...), instead of disable_eager_execution()"
        ),
    )
