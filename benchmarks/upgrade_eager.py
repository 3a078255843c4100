"""The audit's eager-execution rules: where eager execution is on, and what fails because of it.

TF2 runs every op as it is built. TF1 code built a graph first and ran it in a session, so
after tf_upgrade_v2 three things fail, each at its own line:

- `eager-conflict`: a graph-only API (placeholder, queue input, minimize(tensor), ...) called
  with eager execution on; for a Session, its first run or eval, not the line that makes it;
- `eager-capture`: a tensor made while eager execution was on, used by graph code (after a
  `disable_eager_execution()` below it, or in a `with tf.Graph().as_default():` block);
- `graph-only`: a graph-only API in a function nothing in the file calls (its callers decide).

Static, so conservative in one direction only: a `disable_eager_execution()` call counts when
it is at module level above the use, or anywhere for uses inside functions (which run after the
module body); a function counts as graph-built when every call of it is inside a graph context
or inside another graph-built function.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass

from tfparity.benchmarks.upgrade_fixes import Edit, Span
from tfparity.benchmarks.upgrade_imports import Imports
from tfparity.benchmarks.upgrade_names import CallSite, Use, UseCollector, function_key
from tfparity.benchmarks.upgrade_tables import (
    CAPTURE_CAUSE,
    CAPTURE_RAISES,
    EAGER_CAUSE,
    EAGER_OFF,
    EAGER_SILENT,
    EVAL_RAISES,
    GRAPH_ONLY,
    GRAPH_SOURCES,
    NOT_TENSOR_PREFIXES,
    SESSION_RUN_RAISES,
    Finding,
)

SESSIONS = ("tf.compat.v1.Session", "tf.compat.v1.InteractiveSession")
EVERYTHING_AFTER = 10**9  # the end line of "the rest of the file"


def eager_fix_edit(imports: Imports, lines: list[str]) -> Edit | Span:
    """`disable_eager_execution()` after the module-level TensorFlow import; without one, after the
    first TensorFlow import in a block (`try:`, a function), indented as its line; else after the
    last import. An import with code before it on its line (`try: import tensorflow as tf`,
    `import numpy as np; import tensorflow as tf`) gets the switch on that line, after a `;`."""
    alias = next((n for n, b in imports.bindings.items() if b.canonical == "tf"), None)
    v1_alias = next((n for n, b in imports.bindings.items() if b.canonical == "tf.compat.v1"), None)
    anchor = imports.last_tf_import or imports.nested_tf_import or imports.last_import
    if alias:
        text = f"{alias}.compat.v1.disable_eager_execution()"
    elif v1_alias:
        text = f"{v1_alias}.disable_eager_execution()"
    else:
        text = "import tensorflow as tf\ntf.compat.v1.disable_eager_execution()"
    if anchor is None:
        return Edit(1, 0, text)
    first_line = lines[anchor.lineno - 1].encode("utf-8")
    if first_line[: anchor.col_offset].strip() and anchor.end_col_offset is not None:
        return Span(anchor.end_lineno, anchor.end_col_offset, anchor.end_col_offset, "; " + text.replace("\n", "; "))
    indent = re.match(r"[ \t]*", lines[anchor.lineno - 1]).group()
    line = anchor.end_lineno + 1
    return Edit(line, line - 1, "\n".join(indent + part for part in text.split("\n")))


def switch_line(fix_edit: Edit | Span) -> int:
    """The line from which the eager switch is in force."""
    return fix_edit.start if isinstance(fix_edit, Edit) else fix_edit.line + 1


def eager_fix_text(fix_edit: Edit | Span) -> str:
    switch = fix_edit.text.removeprefix("; ").split("; ")[-1] if isinstance(fix_edit, Span) else fix_edit.text
    return f"`{switch.splitlines()[-1].strip()}` after line {switch_line(fix_edit) - 1}"


def eager_off_calls(collected: UseCollector) -> list[Use]:
    """The calls that turn eager execution off (disable_eager_execution, disable_v2_behavior)."""
    return [u for u in collected.uses if u.canonical in EAGER_OFF and u.is_call]


def graph_built_functions(calls: dict[str, list[CallSite]]) -> set[str]:
    """Functions every call of which happens in a graph context (directly or through such functions)."""
    built: set[str] = set()
    changed = True
    while changed:
        changed = False
        for name, sites in calls.items():
            if name not in built and sites and all(s.in_graph or s.function in built for s in sites):
                built.add(name)
                changed = True
    return built


@dataclass(frozen=True)
class GraphRegions:
    """Line ranges where ops go into a graph: ("off", ...) after a disable_eager_execution(),
    ("graph", ...) inside a `with <graph>.as_default():` block or a function only called there."""

    ranges: tuple[tuple[int, int, str], ...]

    def kind_at(self, line: int) -> str | None:
        kinds = [kind for start, end, kind in self.ranges if start <= line <= end]
        return "off" if "off" in kinds else (kinds[0] if kinds else None)


def graph_regions(tree: ast.Module, collected: UseCollector) -> GraphRegions:
    off = eager_off_calls(collected)
    module_off = min((u.line for u in off if u.function is None), default=None)
    ranges: list[tuple[int, int, str]] = []
    if module_off is not None:
        ranges.append((module_off + 1, EVERYTHING_AFTER, "off"))
    built = graph_built_functions(collected.calls)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            key = function_key(node, collected.class_of.get(id(node)))
            own_off = [u.line for u in off if u.function == key and node.lineno <= u.line <= node.end_lineno]
            if own_off:
                ranges.append((min(own_off) + 1, node.end_lineno, "off"))
            sites = collected.calls.get(key, [])
            if module_off is not None and sites and all(s.function is not None or s.line > module_off for s in sites):
                ranges.append((node.lineno, node.end_lineno, "off"))
            elif key in built:
                ranges.append((node.lineno, node.end_lineno, "graph"))
        elif isinstance(node, ast.With) and any(collected._is_graph_context(i.context_expr) for i in node.items):
            ranges.append((node.body[0].lineno, node.end_lineno, "graph"))
    return GraphRegions(tuple(ranges))


def eager_findings(tree: ast.Module, collected: UseCollector, fix_edit: Edit, regions: GraphRegions) -> list[Finding]:
    """Graph-only APIs reached with eager execution still on."""
    off = eager_off_calls(collected)
    built = graph_built_functions(collected.calls)
    findings = []
    for use in (u for u in collected.uses if u.canonical in GRAPH_ONLY or u.canonical in EAGER_SILENT):
        if use.in_graph or use.function in built:
            continue
        if use.canonical in SESSIONS and "graph" in use.keywords:  # Session(graph=g) runs g; Supervisor(graph=g) raises
            continue
        if use.function is None and any(o.function is None and o.line < use.line for o in off):
            continue
        if use.function is not None and off:
            continue
        if use.canonical in EAGER_SILENT:
            if use.function is None or collected.calls.get(use.function):
                findings.append(silent_finding(use, fix_edit, off))
            continue
        raises, tf2 = GRAPH_ONLY[use.canonical]
        line, problem = use.line, f"with eager execution on it raises {raises}"
        if use.canonical in SESSIONS:
            failure = session_failure(tree, use, regions)
            if failure is None:
                continue
            line, raises = failure
            problem = raises  # a sentence of its own: which run or eval raises what
        if use.function is not None and not collected.calls.get(use.function):
            findings.append(
                Finding(
                    line=line,
                    kind="graph-only",
                    symbol=use.written,
                    problem=problem,
                    tf2=tf2,
                    fix="its callers must build it under `with tf.Graph().as_default():` or disable eager execution",
                    cause=f"{use.function}() uses graph-only APIs and nothing in this file calls it",
                )
            )
            continue
        findings.append(
            Finding(
                line=line,
                kind="eager-conflict",
                symbol=use.written,
                problem=raises,
                tf2=tf2,
                fix=f"{eager_fix_text(fix_edit)}, or `with tf.Graph().as_default():` around it",
                edit=fix_edit,
                cause=eager_cause(use, off),
            )
        )
    return findings


def silent_finding(use: Use, fix_edit: Edit, off: list[Use]) -> Finding:
    """A graph-era API that runs eagerly but returns something else (collections: []), raising nothing.

    No edit: turning eager execution off is the fix only where the script is graph code, which
    its fatal findings (if any) already fix."""
    what, tf2 = EAGER_SILENT[use.canonical]
    return Finding(
        line=use.line,
        kind="silent-change",
        symbol=use.written,
        problem=f"it {what}",
        fix=f"in graph code: {eager_fix_text(fix_edit)}; in TF2 code: {tf2}",
        cause=eager_cause(use, off),
    )


def eager_cause(use: Use, off: list[Use]) -> str:
    """Why eager execution is on at `use`: nothing turns it off, or what does runs after it."""
    later = [o for o in off if o.function is not None or o.line > use.line]
    if use.function is not None or not later:
        return EAGER_CAUSE
    first = min(later, key=lambda o: o.line)
    where = f"inside {first.function}()" if first.function else "below it"
    return (
        f"eager execution is on at module level: it is turned off only at line {first.line}, {where}, "
        "which has not run at this line"
    )


# --- sessions: nothing fails where one is made; its first run or eval does ------------------------


def session_failure(tree: ast.Module, use: Use, regions: GraphRegions) -> tuple[int, str] | None:
    """(line, what it raises) of the first run or eval of the session `use` makes; None when
    that happens with eager execution off (a session made eagerly still runs a graph built later)."""
    first = first_session_call(tree, use)
    if first is None:
        return use.line, (
            "nothing fails where it is made; with eager execution on, its run raises "
            f"{SESSION_RUN_RAISES.rstrip('.')}, and tensor.eval() raises {EVAL_RAISES}"
        )
    if regions.kind_at(first.lineno) == "off":
        return None
    text = shorten(ast.unparse(first))
    if isinstance(first.func, ast.Attribute) and first.func.attr == "eval":
        return first.lineno, f"`{text}` raises {EVAL_RAISES}"
    return first.lineno, (
        f"`{text}` (the session made at line {use.line}) raises {SESSION_RUN_RAISES.rstrip('.')} "
        "(every op above ran eagerly as it was built: none is in the session's graph)"
    )


def first_session_call(tree: ast.Module, use: Use) -> ast.Call | None:
    """The first `<session>.run(...)` or `<tensor>.eval(...)` at or after the line that makes the session."""
    made = use.call
    names = session_names(tree, made)
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)) or node.lineno < use.line:
            continue
        receiver = node.func.value
        runs = node.func.attr == "run" and (
            receiver is made or (isinstance(receiver, ast.Name) and receiver.id in names)
        )
        if runs or node.func.attr == "eval":
            found.append(node)
    return min(found, key=lambda n: (n.lineno, n.col_offset), default=None)


def session_names(tree: ast.Module, made: ast.Call | None) -> set[str]:
    """Names bound to the session `made` creates: `sess = tf.compat.v1.Session()`, `with ... as sess:`."""
    names: set[str] = set()
    if made is None:
        return names
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and node.value is made:
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.With):
            names.update(
                i.optional_vars.id
                for i in node.items
                if i.context_expr is made and isinstance(i.optional_vars, ast.Name)
            )
    return names


def shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- eager tensors captured by graph code ------------------------------------------------------


def capture_findings(tree: ast.Module, collected: UseCollector, regions: GraphRegions, fix_edit: Edit) -> list[Finding]:
    """Module-level tensors made eagerly, then used by ops built in a graph: the first use of each."""
    made = eagerly_made(tree, collected, regions)
    if not made:
        return []
    reassigned = module_assignments(tree)
    locals_of = function_locals(tree)
    first_use: dict[str, ast.Name] = {}
    for name_node in graph_operands(tree, collected):
        name, line = name_node.id, name_node.lineno
        if name not in made or line <= made[name] or regions.kind_at(line) is None:
            continue
        if any(made[name] < k < line for k in reassigned.get(name, ())) or name in locals_of(line):
            continue
        if name not in first_use or line < first_use[name].lineno:
            first_use[name] = name_node
    findings = []
    for name, node in first_use.items():
        by_switch = regions.kind_at(node.lineno) == "off" and switch_line(fix_edit) <= made[name]
        fix = (
            f"turn eager execution off before line {made[name]}: {eager_fix_text(fix_edit)}"
            if by_switch
            else f"make `{name}` inside the graph that uses it (or keep it a Python value)"
        )
        findings.append(
            Finding(
                line=node.lineno,
                kind="eager-capture",
                symbol=name,
                cause=CAPTURE_CAUSE,
                problem=(
                    f"`{name}` was made at line {made[name]} while eager execution was on; graph code cannot use "
                    f"it: {CAPTURE_RAISES}"
                ),
                fix=fix,
                edit=fix_edit if by_switch else None,
                tf2="no graphs: keep eager execution on and run the step as a (@tf.function) function",
            )
        )
    return findings


def eagerly_made(tree: ast.Module, collected: UseCollector, regions: GraphRegions) -> dict[str, int]:
    """Module-level names bound to a tensor (or variable) while eager execution was on: name -> line."""
    made: dict[str, int] = {}
    for stmt in tree.body:
        if not isinstance(stmt, ast.Assign) or regions.kind_at(stmt.lineno) is not None:
            continue
        if makes_tensor(stmt.value, collected, made):
            made.update({t.id: stmt.lineno for t in stmt.targets if isinstance(t, ast.Name)})
    return made


def makes_tensor(expr: ast.expr, collected: UseCollector, made: dict[str, int]) -> bool:
    """Whether `expr` evaluates to a tensor or variable: a tf. op, or arithmetic on such names."""
    if isinstance(expr, ast.BinOp):
        return any(makes_tensor(side, collected, made) for side in (expr.left, expr.right))
    if isinstance(expr, ast.UnaryOp):
        return makes_tensor(expr.operand, collected, made)
    if isinstance(expr, ast.Name):
        return expr.id in made
    if not isinstance(expr, ast.Call):
        return False
    name = collected.canonical(expr.func)
    if name is None or not name.startswith("tf.") or name.startswith(NOT_TENSOR_PREFIXES):
        return False
    if name in GRAPH_ONLY or name in GRAPH_SOURCES or name in EAGER_OFF:
        return False
    last = name.rsplit(".", 1)[-1]
    return last[:1].islower() or last == "Variable"


def graph_operands(tree: ast.Module, collected: UseCollector) -> list[ast.Name]:
    """Names read as operands of an op: arguments of a tf. call, sides of arithmetic."""
    operands: list[ast.expr] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp):
            operands += [node.left, node.right]
        elif isinstance(node, ast.UnaryOp):
            operands.append(node.operand)
        elif isinstance(node, ast.Call) and (collected.canonical(node.func) or "").startswith("tf."):
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                operands += arg.elts if isinstance(arg, (ast.List, ast.Tuple)) else [arg]
    return [o for o in operands if isinstance(o, ast.Name) and isinstance(o.ctx, ast.Load)]


def module_assignments(tree: ast.Module) -> dict[str, list[int]]:
    """Lines at which each module-level name is (re)bound."""
    lines: dict[str, list[int]] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                for node in ast.walk(target):
                    if isinstance(node, ast.Name):
                        lines.setdefault(node.id, []).append(stmt.lineno)
    return lines


def function_locals(tree: ast.Module) -> Callable[[int], set[str]]:
    """`locals_of(line)`: the names local to the functions around `line` (they shadow module names)."""
    scopes = []
    for fn in (n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))):
        local = {a.arg for a in [*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs]}
        local |= {n.id for n in ast.walk(fn) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        scopes.append((fn.lineno, fn.end_lineno, local))

    def locals_of(line: int) -> set[str]:
        return set().union(*(local for start, end, local in scopes if start <= line <= end))

    return locals_of
