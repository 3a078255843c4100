"""The audit's rules for Keras 3 (TensorFlow 2.16+'s `tf.keras`) meeting TF1 code.

- `model.compile(optimizer=tf.compat.v1.train.AdamOptimizer(...))`: Keras 3 takes only its own
  optimizers: `ValueError: Could not interpret optimizer identifier`;
- `model.fit` / `evaluate` / `predict` with eager execution off: Keras 3 runs only eagerly (or in a
  tf.function), so a script whose TF1 half turns eager execution off for the whole process (the
  eager fix included) breaks its Keras half: the fix is a private graph for the TF1 half;
- Keras 3 layers in a TF1 graph mostly work (forward, minimize), but `sess.run(layer.kernel)`
  raises (a Keras variable is no tensor: `layer.kernel.value` is), and `BatchNormalization` never
  updates its moving statistics there (nothing in UPDATE_OPS, nothing runs them): silent-change.
"""

from __future__ import annotations

import ast

from tfparity.benchmarks.upgrade_eager import GraphRegions, eager_off_calls
from tfparity.benchmarks.upgrade_fixes import Span
from tfparity.benchmarks.upgrade_names import UseCollector, names_assigned
from tfparity.benchmarks.upgrade_tables import DEBT_FIXES, Finding, lookup_prefix

OPTIMIZER_CAUSE = "Keras 3's compile takes Keras optimizers only, not tf.compat.v1.train ones"
OPTIMIZER_RAISES = "ValueError: Could not interpret optimizer identifier: <{name} object>"
EAGER_OFF_CAUSE = "Keras 3 trains and predicts only with eager execution on"
EAGER_OFF_RAISES = (
    "RuntimeError: `tf.data.Dataset` only supports Python-style iteration in eager mode or within tf.function."
)
KERAS_PREFIXES = ("tf.keras.", "tf.compat.v1.keras.")
RUNS = ("fit", "evaluate", "predict")
# What tf_upgrade_v2 writes for tf.contrib.layers.l2_regularizer(scale=s): l2(l=0.5 * s); Keras 3 calls it l2=.
REGULARIZERS = {"tf.keras.regularizers.l2": "l2", "tf.keras.regularizers.l1": "l1"}
REGULARIZER_CAUSE = "Keras 3's l1 / l2 regularizers take l1= / l2=, not Keras 2's l= (what tf_upgrade_v2 writes)"
LAYER_VARIABLES = ("kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance", "embeddings")
FETCH_RAISES = 'TypeError: Argument `fetch` = <Variable path=...> has invalid type "Variable"'
FETCH_CAUSE = "a Keras 3 layer's variable is a Keras Variable, which Session.run cannot fetch"
BATCH_NORM = ("tf.keras.layers.BatchNormalization", "tf.compat.v1.keras.layers.BatchNormalization")
BATCH_NORM_CAUSE = (
    "Keras 3 BatchNormalization in a TF1 graph never updates its moving mean and variance (nothing in "
    "UPDATE_OPS, nothing runs them): inference uses their initial values"
)
KEEP_KERAS_2 = (
    "keep Keras 2 for graph code: pip install tf_keras and set TF_USE_LEGACY_KERAS=1 before importing TensorFlow"
)


def keras3_findings(tree: ast.Module, collected: UseCollector, regions: GraphRegions) -> list[Finding]:
    models = names_assigned(tree, collected.bindings, lambda c: bool(c) and c.startswith(KERAS_PREFIXES))
    off = [u.line for u in eager_off_calls(collected)]
    layers = names_assigned(tree, collected.bindings, lambda c: bool(c) and ".keras.layers." in c)
    findings = [
        batch_norm_finding(use)
        for use in collected.uses
        if use.canonical in BATCH_NORM and use.is_call and regions.kind_at(use.line) is not None
    ]
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if collected.canonical(node.func) in REGULARIZERS:
            findings += regularizer_findings(node)
        elif node.func.attr == "run" and node.args:
            findings += [fetch_finding(f) for f in fetched(node.args[0]) if is_layer_variable(f, layers)]
        elif node.func.attr == "compile":
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


def fetched(fetches: ast.expr) -> list[ast.expr]:
    """The expressions a `sess.run(fetches)` fetches: the argument, or the items of its list, tuple or dict."""
    if isinstance(fetches, (ast.List, ast.Tuple)):
        return [e for item in fetches.elts for e in fetched(item)]
    if isinstance(fetches, ast.Dict):
        return [e for item in fetches.values for e in fetched(item)]
    return [fetches]


def is_layer_variable(node: ast.expr, layers: set[str]) -> bool:
    """`dense.kernel`, `self.bn.moving_mean`: a variable of a Keras layer made in this file."""
    return isinstance(node, ast.Attribute) and node.attr in LAYER_VARIABLES and ast.unparse(node.value) in layers


def fetch_finding(node: ast.Attribute) -> Finding:
    edit = Span(node.end_lineno, node.end_col_offset, node.end_col_offset, ".value") if node.end_col_offset else None
    return Finding(
        line=node.lineno,
        kind="changed-api",
        symbol=ast.unparse(node),
        cause=FETCH_CAUSE,
        problem=FETCH_RAISES,
        fix=f"fetch `{ast.unparse(node)}.value`, the tf.Variable under it (--apply-fixes does); or {KEEP_KERAS_2}",
        edit=edit,
    )


def batch_norm_finding(use) -> Finding:
    return Finding(
        line=use.line,
        kind="silent-change",
        symbol=use.written,
        cause=BATCH_NORM_CAUSE,
        problem="trains, but its moving statistics stay at their initial values, raising nothing",
        fix=KEEP_KERAS_2 + "; or rewrite the loop as TF2 code (eager or tf.function), where Keras runs them",
    )


def regularizer_findings(node: ast.Call) -> list[Finding]:
    name = ast.unparse(node.func).rsplit(".", 1)[-1]
    keyword = next((k for k in node.keywords if k.arg == "l"), None)
    if keyword is None:
        return []
    edit = (
        Span(keyword.lineno, keyword.col_offset, keyword.col_offset + 1, name)
        if keyword.lineno == keyword.end_lineno
        else None
    )
    return [
        Finding(
            line=node.lineno,
            kind="changed-api",
            symbol=f"{ast.unparse(node.func)}(l=...)",
            cause=REGULARIZER_CAUSE,
            problem=f"TypeError: {name.upper()}.__init__() got an unexpected keyword argument 'l'",
            fix=f"{ast.unparse(node.func)}({name}=...), the same value (--apply-fixes does)",
            edit=edit,
        )
    ]
