"""The audit's rules for TF2 behaviours that stay on with eager execution off.

`disable_eager_execution()` brings graphs and sessions back, not the rest of TF1: shapes still
hold ints (TensorShape v2) and `get_variable` still makes resource variables. TF1 code that
relied on either fails at its line, eager execution on or off:

- `x.get_shape()[i].value`, `x.shape[i].value`: TF1's Dimension objects are ints (or None) now,
  so `.value` raises AttributeError; `x.shape[i]` is already the value (the fix drops `.value`);
- `graph.get_tensor_by_name("w/read:0")`: a resource variable has no `w/read` op (its read is
  `w/Read/ReadVariableOp`), so the lookup raises KeyError; fetch the variable itself;
- `tf.compat.v1.assign(v, value, validate_shape=False)`: a resource variable keeps its shape, so
  assigning another one raises ValueError (shape mismatch).

`tf.compat.v1.disable_v2_behavior()` turns both back off (and the narrower switches one each),
so a file that calls one gets no finding from the rules it covers.
"""

from __future__ import annotations

import ast
import re

from tfparity.benchmarks.upgrade_fixes import Span
from tfparity.benchmarks.upgrade_names import UseCollector
from tfparity.benchmarks.upgrade_tables import Finding

V2_OFF = "tf.compat.v1.disable_v2_behavior"
SHAPES_OFF = (V2_OFF, "tf.compat.v1.disable_v2_tensorshape")
RESOURCE_OFF = (V2_OFF, "tf.compat.v1.disable_resource_variables")

SHAPE_CAUSE = "TF2 shapes hold ints, not Dimension objects (TensorShape v2: on even with eager execution off)"
SHAPE_RAISES = "AttributeError: 'int' object has no attribute 'value' ('NoneType' for an unknown dimension)"
READ_CAUSE = "TF2's variables are resource variables: no `<name>/read` op (on even with eager execution off)"
# What get_tensor_by_name raises for a ref variable's read op, with the name it was given.
READ_RAISES = "KeyError: The name '{name}' refers to a Tensor which does not exist"
READ_NAME = re.compile(r"/read(:\d+)?$")
LOOKUPS = ("get_tensor_by_name", "get_operation_by_name")


def v2_behavior_findings(tree: ast.Module, collected: UseCollector) -> list[Finding]:
    switched_off = {u.canonical for u in collected.uses if u.is_call}
    findings = []
    if not switched_off & set(SHAPES_OFF):
        findings += dimension_value_findings(tree)
    if not switched_off & set(RESOURCE_OFF):
        findings += read_op_findings(tree)
        findings += reshaping_assign_findings(collected)
    return findings


def is_shape_index(node: ast.expr) -> bool:
    """`<x>.get_shape()[i]` or `<x>.shape[i]`: one dimension of a TensorShape."""
    if not isinstance(node, ast.Subscript) or isinstance(node.slice, ast.Slice):
        return False
    shape = node.value
    if isinstance(shape, ast.Call):
        return isinstance(shape.func, ast.Attribute) and shape.func.attr == "get_shape" and not shape.args
    return isinstance(shape, ast.Attribute) and shape.attr == "shape"


def dimension_value_findings(tree: ast.Module) -> list[Finding]:
    findings = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and node.attr == "value" and is_shape_index(node.value)):
            continue
        dimension = node.value
        # Dropping `.value` is exact: TF2's x.shape[i] is what TF1's x.shape[i].value was.
        same_line = dimension.end_lineno == node.end_lineno and node.end_col_offset is not None
        edit = Span(node.end_lineno, dimension.end_col_offset, node.end_col_offset, "") if same_line else None
        findings.append(
            Finding(
                line=node.lineno,
                kind="changed-api",
                symbol=ast.unparse(node),
                cause=SHAPE_CAUSE,
                problem=SHAPE_RAISES,
                fix=(
                    f"`{ast.unparse(dimension)}`: drop `.value`, the dimension is already an int or None "
                    "(--apply-fixes does); code for TF1 and TF2: tf.compat.v1.dimension_value(...)"
                ),
                edit=edit,
            )
        )
    return findings


def last_text(node: ast.expr) -> str | None:
    """The end of a string argument as written: a literal, an f-string's or a concatenation's last literal."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and node.values:
        return last_text(node.values[-1])
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return last_text(node.right)
    return None


def read_op_findings(tree: ast.Module) -> list[Finding]:
    findings = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in LOOKUPS):
            continue
        name = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "name"), None)
        text = last_text(name) if name is not None else None
        if text is None or not READ_NAME.search(text):
            continue
        written = ast.unparse(name)
        findings.append(
            Finding(
                line=node.lineno,
                kind="changed-api",
                symbol=f"{node.func.attr}({written})",
                cause=READ_CAUSE,
                problem=READ_RAISES.format(name=text if isinstance(name, ast.Constant) else written),
                fix=(
                    "fetch the variable object itself (sess.run(w), or its read: `w/Read/ReadVariableOp:0`); "
                    "or keep TF1's ref variables: tf.compat.v1.disable_resource_variables() at the top"
                ),
            )
        )
    return findings


RESHAPE_RAISES = "ValueError: Cannot assign value to variable: Shape mismatch (when the value's shape differs)"


def reshaping_assign_findings(collected: UseCollector) -> list[Finding]:
    """`assign(v, value, validate_shape=False)`: TF1's way to change a variable's shape."""
    findings = []
    for use in collected.uses:
        if use.canonical != "tf.compat.v1.assign" or use.call is None:
            continue
        flag = next((k.value for k in use.call.keywords if k.arg == "validate_shape"), None)
        if isinstance(flag, ast.Constant) and flag.value is False:
            findings.append(
                Finding(
                    line=use.line,
                    kind="changed-api",
                    symbol=f"{use.written}(..., validate_shape=False)",
                    cause=READ_CAUSE.replace("no `<name>/read` op", "their shape is fixed when they are made"),
                    problem=RESHAPE_RAISES,
                    fix=(
                        "make the variable with tf.compat.v1.Variable(..., use_resource=False), or call "
                        "tf.compat.v1.disable_resource_variables() at the top"
                    ),
                )
            )
    return findings
