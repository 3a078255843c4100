"""The audit's rules for TF2 APIs that keep TF1's names, run, and return something else (`silent-change`).

tf_upgrade_v2 leaves these names as they are, and nothing raises; the numbers change:

- `tf.while_loop(cond, body, [x])`: TF1 unpacked a one-variable loop's result, TF2 returns the
  list (`result * 2` then repeats a Python list); `tf.compat.v1.while_loop` still unpacks;
- `tf.cond(pred, lambda: [a], lambda: [b])`: TF2 keeps the one-element list as well;
- `tf.image.resize`, what tf_upgrade_v2 makes of `tf.image.resize_images` and `resize_bilinear`:
  TF2's samples at half-pixel centres, TF1's did not (a 4x4 `arange` resized to 2x2 gives
  [2.5, 4.5, 10.5, 12.5], TF1 [0, 2, 8, 10]); `tf.compat.v1.image.resize` is TF1's;
- `tf.Variable(..., collections=[...])`: TF2's `tf.Variable` ignores `collections`, so a local
  variable becomes a global one (saved, initialised with the rest); `tf.compat.v1.Variable` honours it;
- `tf.compat.v1.keras.initializers.*` (what tf_upgrade_v2 makes of `tf.contrib.layers.xavier_initializer`)
  are Keras 3's, which ignore `tf.compat.v1.set_random_seed`: a seeded TF1 script stops being
  reproducible; the `tf.compat.v1.*_initializer` functions still read the graph seed.

Each finding carries its mechanical fix where one exists (a rename to the TF1 API), which
`--apply-fixes` applies.
"""

from __future__ import annotations

import ast

from tfparity.benchmarks.upgrade_names import Use, UseCollector, v1_rename_edit
from tfparity.benchmarks.upgrade_tables import Finding

WHILE_CAUSE = "TF2's tf.while_loop returns its loop variables as given: a list of one, where TF1's returned the tensor"
COND_CAUSE = "TF2's tf.cond keeps a branch's one-element list, where TF1's unpacked it"
COLLECTIONS_CAUSE = "TF2's tf.Variable ignores `collections`: the variable lands in the global collection"
SEED_CAUSE = "Keras 3 initializers ignore tf.compat.v1.set_random_seed: each run draws other initial weights"
RESIZE_CAUSE = (
    "TF2's tf.image.resize samples at half-pixel centres, TF1's resize_images / resize_bilinear / "
    "resize_nearest_neighbor (which tf_upgrade_v2 renames to it) at each pixel's top-left corner: other values"
)
# TF2 code already: tf.compat.v1.image.resize takes neither these keywords nor these methods
TF2_ONLY_RESIZE_KEYWORDS = {"antialias"}
TF2_ONLY_METHODS = (
    "lanczos3",
    "lanczos5",
    "gaussian",
    "mitchellcubic",
    "LANCZOS3",
    "LANCZOS5",
    "GAUSSIAN",
    "MITCHELLCUBIC",
)
SEEDS = ("tf.compat.v1.set_random_seed", "tf.random.set_seed")
KERAS_INITIALIZERS = "tf.compat.v1.keras.initializers."
# Keras initializer class -> the TF1 initializer that takes the same arguments and reads the graph seed.
V1_INITIALIZER_OF = {
    "VarianceScaling": "variance_scaling_initializer",
    "GlorotUniform": "glorot_uniform_initializer",
    "GlorotNormal": "glorot_normal_initializer",
    "TruncatedNormal": "truncated_normal_initializer",
    "RandomNormal": "random_normal_initializer",
    "RandomUniform": "random_uniform_initializer",
    "Orthogonal": "orthogonal_initializer",
}


def silent_findings(tree: ast.Module, collected: UseCollector) -> list[Finding]:
    # Results already taken apart (`(x,) = ...`, `...[0]`): TF2 code, which the TF1 spelling would break.
    unpacked = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Assign) and unpacks(n.targets)}
    unpacked |= {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Subscript)}
    seeded = any(u.canonical in SEEDS and u.is_call for u in collected.uses)
    findings = []
    for use in collected.uses:
        if use.call is None:
            continue
        if use.canonical == "tf.while_loop" and one_loop_variable(use.call) and id(use.call) not in unpacked:
            findings.append(renamed(use, "while_loop", WHILE_CAUSE, "the tensor, as TF1 did"))
        elif use.canonical == "tf.cond" and any(returns_one_element(b) for b in branches(use.call)):
            findings.append(
                Finding(
                    line=use.line,
                    kind="silent-change",
                    symbol=use.written,
                    cause=COND_CAUSE,
                    problem="returns a list of one tensor where TF1 returned the tensor, raising nothing",
                    fix="return the tensor itself from each branch (not [tensor]), or take [0] of the result",
                )
            )
        elif use.canonical == "tf.Variable" and "collections" in use.keywords:
            findings.append(renamed(use, "Variable", COLLECTIONS_CAUSE, "a variable in the collections given"))
        elif use.canonical == "tf.image.resize" and resized_as_tf1_could(use.call):
            findings.append(renamed(use, "image.resize", RESIZE_CAUSE, "pixel values"))
        elif seeded and use.canonical.startswith(KERAS_INITIALIZERS):
            findings.append(seed_finding(use))
    return findings


def resized_as_tf1_could(call: ast.Call) -> bool:
    """A resize TF1's function also takes: no TF2-only keyword or method, at most images, size, method by
    position (TF2's fourth is preserve_aspect_ratio, TF1's align_corners)."""
    if set(k.arg for k in call.keywords) & TF2_ONLY_RESIZE_KEYWORDS or len(call.args) > 3:
        return False
    method = call.args[2] if len(call.args) > 2 else next((k.value for k in call.keywords if k.arg == "method"), None)
    return method is None or not ast.unparse(method).strip("'\"").endswith(TF2_ONLY_METHODS)


def unpacks(targets: list[ast.expr]) -> bool:
    return any(isinstance(t, (ast.Tuple, ast.List)) for t in targets)


def one_loop_variable(call: ast.Call) -> bool:
    loop_vars = (
        call.args[2] if len(call.args) > 2 else next((k.value for k in call.keywords if k.arg == "loop_vars"), None)
    )
    return isinstance(loop_vars, (ast.List, ast.Tuple)) and len(loop_vars.elts) == 1


def branches(call: ast.Call) -> list[ast.expr]:
    named = [k.value for k in call.keywords if k.arg in ("true_fn", "false_fn")]
    return [*call.args[1:3], *named]


def returns_one_element(branch: ast.expr) -> bool:
    return (
        isinstance(branch, ast.Lambda) and isinstance(branch.body, (ast.List, ast.Tuple)) and len(branch.body.elts) == 1
    )


def v1_spelling(use: Use, name: str) -> str:
    """`tf.compat.v1.<name>` through the script's own TensorFlow alias."""
    return f"{use.written.split('.')[0]}.compat.v1.{name}"


def renamed(use: Use, name: str, cause: str, tf1_gives: str) -> Finding:
    fix = v1_spelling(use, name)
    edit = v1_rename_edit(use, name)
    return Finding(
        line=use.line,
        kind="silent-change",
        symbol=use.written,
        cause=cause,
        problem=f"runs and gives something else than TF1's {tf1_gives}, raising nothing",
        fix=f"{fix}, which behaves as TF1's did (--apply-fixes does)" if edit else f"{fix}, which behaves as TF1's did",
        edit=edit,
    )


def seed_finding(use: Use) -> Finding:
    keras_class = use.canonical.removeprefix(KERAS_INITIALIZERS)
    v1 = V1_INITIALIZER_OF.get(keras_class)
    edit = v1_rename_edit(use, v1) if v1 else None
    fix = f"{v1_spelling(use, v1)}(...), the same arguments" if v1 else "the tf.compat.v1.*_initializer function"
    return Finding(
        line=use.line,
        kind="silent-change",
        symbol=use.written,
        cause=SEED_CAUSE,
        problem="the script seeds the graph (set_random_seed), which this initializer does not read",
        fix=fix + (" (--apply-fixes does)" if edit else ""),
        edit=edit,
    )
