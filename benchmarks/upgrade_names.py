"""What the converted code's names do: `tf.` chains, calls and graph contexts.

With the names bound by its TensorFlow imports (`upgrade_imports`), one pass of `ast` records
each `tf.` attribute chain with where it stands: the enclosing function, whether a
`with <graph>.as_default():` surrounds it, and the call it makes. The audit's rules read these
records, never the source text.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from tfparity.benchmarks.upgrade_fixes import Span, rename_span
from tfparity.benchmarks.upgrade_imports import Binding
from tfparity.benchmarks.upgrade_tables import APP_RUNS, DEVICE_SETTERS, GRAPH_SOURCES
from tfparity.compat.api_map import dotted_name

# --- uses: every tf. chain, every graph context, every call ----------------------------------


@dataclass(frozen=True)
class Use:
    line: int
    written: str  # as the code spells it: `tf.placeholder`
    canonical: str  # `tf.compat.v1.placeholder`
    binding: Binding | None  # None for pseudo-symbols (`...Optimizer.minimize`, `tf.compat.v1.device(function)`)
    rest: tuple[str, ...]
    function: str | None  # innermost enclosing function, None at module level
    in_graph: bool  # lexically inside `with <graph>.as_default():`
    is_call: bool
    keywords: tuple[str, ...] = ()  # keyword arguments of the call, when it is one
    node: ast.expr | None = field(default=None, compare=False, repr=False)  # the chain, for rename edits
    call: ast.Call | None = field(default=None, compare=False, repr=False)  # the call it makes, if any


@dataclass(frozen=True)
class CallSite:
    function: str | None
    in_graph: bool
    line: int = 0


# Names that hold a graph where nothing in the file binds them (function parameters): `g`, `graph`, `train_graph`.
GRAPH_LIKE_NAME = re.compile(r"g\d*|(\w*_)?graph", re.IGNORECASE)
# Optimizer methods that take the loss: a tensor there is graph-only (eager execution wants a function).
LOSS_TAKERS = ("minimize", "compute_gradients")


class UseCollector(ast.NodeVisitor):
    """One pass over the converted code: tf. chains, local function calls, graph contexts."""

    def __init__(
        self,
        bindings: dict[str, Binding],
        graph_names: set[str],
        optimizer_names: set[str],
        device_functions: set[str] = frozenset(),
        classes: set[str] = frozenset(),
    ):
        self.bindings, self.graph_names, self.optimizer_names = bindings, graph_names, optimizer_names
        self.device_functions = device_functions  # names bound to TF1 device functions (defs, replica_device_setter)
        self.device_factories: set[str] = set()  # functions of this file that return a function they define
        self.classes = classes  # the classes this file defines
        self.class_of: dict[int, str] = {}  # id() of a method's FunctionDef -> its class
        self.assigned: set[str] = set()  # names the file binds by assignment or `with ... as`
        self.functions: list[str] = []
        self.graph_depth = 0
        self.uses: list[Use] = []
        self.calls: dict[str, list[CallSite]] = {}
        self.calls_by_callee: dict[int, ast.Call] = {}  # id() of a callee node -> its Call

    def _where(self) -> tuple[str | None, bool]:
        return (self.functions[-1] if self.functions else None), self.graph_depth > 0

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for decorator in node.decorator_list:
            self.visit(decorator)
        self.functions.append(function_key(node, self.class_of.get(id(node))))
        for stmt in node.body:
            self.visit(stmt)
        self.functions.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_With(self, node: ast.With) -> None:
        # Items are entered in order: `with g.as_default(), tf.Session() as sess:` makes the session in g.
        graph = 0
        for item in node.items:
            self.graph_depth += graph
            self.visit(item)
            self.graph_depth -= graph
            graph = graph or self._is_graph_context(item.context_expr)
        self.graph_depth += graph
        for stmt in node.body:
            self.visit(stmt)
        self.graph_depth -= graph

    def _is_graph_context(self, expr: ast.expr) -> bool:
        """`<graph>.as_default()` where <graph> is `tf.Graph()`, a name bound to one, or `x.graph`."""
        if not (isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr == "as_default"):
            return False
        target = expr.func.value
        if isinstance(target, ast.Call):
            return self.canonical(target.func) in GRAPH_SOURCES
        if isinstance(target, ast.Name):  # a name bound to a graph here, or a graph passed in (`def build(graph):`)
            passed_in = target.id not in self.assigned and bool(GRAPH_LIKE_NAME.fullmatch(target.id))
            return target.id in self.graph_names or passed_in
        return isinstance(target, ast.Attribute) and (target.attr == "graph" or dotted_name(target) in self.graph_names)

    def canonical(self, node: ast.expr) -> str | None:
        chain = attribute_chain(node)
        if chain is None or chain[0] not in self.bindings:
            return None
        return ".".join([self.bindings[chain[0]].canonical, *chain[1:]])

    def visit_Call(self, node: ast.Call) -> None:
        function, in_graph = self._where()
        callee = (
            node.func.id
            if isinstance(node.func, ast.Name)
            else node.func.attr
            if isinstance(node.func, ast.Attribute)
            else None
        )
        if callee is not None:
            self.calls.setdefault(callee, []).append(CallSite(function, in_graph, node.lineno))
        # A function handed to a call is called by it: tf.app.run(main=main), absl.app.run(main), Thread(target=f).
        for argument in [*node.args, *(k.value for k in node.keywords)]:
            if isinstance(argument, ast.Name):
                self.calls.setdefault(argument.id, []).append(CallSite(function, in_graph, node.lineno))
        # Making an instance of a class of this file calls its __init__; tf.app.run() with no main calls main().
        implied = f"{callee}.__init__" if callee in self.classes and isinstance(node.func, ast.Name) else None
        if self.canonical(node.func) in APP_RUNS and not node.args and not node.keywords:
            implied = "main"
        if implied:
            self.calls.setdefault(implied, []).append(CallSite(function, in_graph, node.lineno))
        if (
            isinstance(node.func, ast.Attribute)
            and node.func.attr in LOSS_TAKERS
            and self._is_v1_optimizer(node.func.value)
        ):
            loss = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "loss"), None)
            if loss is not None and not isinstance(loss, ast.Lambda):
                self.uses.append(
                    Use(
                        node.lineno,
                        f"Optimizer.{node.func.attr}({ast.unparse(loss)})",
                        f"tf.compat.v1.train.Optimizer.{node.func.attr}",
                        None,
                        (),
                        function,
                        in_graph,
                        True,
                    )
                )
        if self.canonical(node.func) == "tf.compat.v1.device" and node.args and self.is_device_function(node.args[0]):
            # Legal in a graph, raises with eager execution on: a graph-only use of its own.
            self.uses.append(
                Use(
                    node.lineno,
                    f"{ast.unparse(node.func)}({ast.unparse(node.args[0])})",
                    "tf.compat.v1.device(function)",
                    None,
                    (),
                    function,
                    in_graph,
                    True,
                )
            )
        self.generic_visit(node)

    def is_device_function(self, expr: ast.expr) -> bool:
        """A TF1 device function: a lambda, a function of this file, or what replica_device_setter returns."""
        if isinstance(expr, ast.Lambda):
            return True
        if isinstance(expr, ast.Name):
            return expr.id in self.device_functions
        if not isinstance(expr, ast.Call):
            return False
        # replica_device_setter(...), or a function of this file that returns one (`assign_to_device(d)`)
        return self.canonical(expr.func) in DEVICE_SETTERS or dotted_name(expr.func) in self.device_factories

    def _is_v1_optimizer(self, expr: ast.expr) -> bool:
        if isinstance(expr, (ast.Name, ast.Attribute)):
            return dotted_name(expr) in self.optimizer_names
        return isinstance(expr, ast.Call) and is_v1_optimizer_class(self.canonical(expr.func))

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if not self._record(node):
            self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        self._record(node)

    def _record(self, node: ast.Attribute | ast.Name) -> bool:
        """Record the longest tf. chain at `node`; True when it was one (its parts are not visited)."""
        chain = attribute_chain(node)
        if chain is None or chain[0] not in self.bindings:
            return False
        binding = self.bindings[chain[0]]
        function, in_graph = self._where()
        call = self.calls_by_callee.get(id(node))
        keywords = tuple(k.arg for k in call.keywords if k.arg) if call else ()
        self.uses.append(
            Use(
                node.lineno,
                ".".join(chain),
                ".".join([binding.canonical, *chain[1:]]),
                binding,
                tuple(chain[1:]),
                function,
                in_graph,
                call is not None,
                keywords,
                node,
                call,
            )
        )
        return True


def v1_rename_edit(use: Use, name: str) -> Span | None:
    """The edit that spells `use` as `<alias>.compat.v1.<name>`, where the chain is bound to `tf` itself."""
    if use.binding is None or use.binding.canonical != "tf" or use.node is None:
        return None
    return rename_span(use.node, f"{use.written.split('.')[0]}.compat.v1.{name}")


def function_key(node: ast.FunctionDef | ast.AsyncFunctionDef, class_name: str | None) -> str:
    """The name calls are recorded under: a method's bare name (`self.build()` calls `build`), but
    `Model.__init__` for a constructor, which `Model()` calls (every class has its own)."""
    return f"{class_name}.__init__" if node.name == "__init__" and class_name else node.name


def returns_a_function(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """`def f(...): def g(op): ...; return g` (or `return lambda op: ...`): a factory of functions."""
    inner = {n.name for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    returns = [n.value for n in ast.walk(node) if isinstance(n, ast.Return) and n.value is not None]
    return any(isinstance(r, ast.Lambda) or (isinstance(r, ast.Name) and r.id in inner) for r in returns)


def attribute_chain(node: ast.expr) -> list[str] | None:
    """["tf", "compat", "v1", "placeholder"] for `tf.compat.v1.placeholder`; None unless names and attributes only."""
    name = dotted_name(node)
    return None if name is None else name.split(".")


def is_v1_optimizer_class(canonical: str | None) -> bool:
    return bool(canonical and canonical.startswith("tf.compat.v1.train.") and canonical.endswith("Optimizer"))


def names_assigned(tree: ast.Module, bindings: dict[str, Binding], test) -> set[str]:
    """Names (`opt`, `self.opt`) assigned `name = <call>` anywhere, where `test(canonical of the callee)` holds."""
    collector = UseCollector(bindings, set(), set())
    names = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and test(collector.canonical(node.value.func))
        ):
            names.update(dotted_name(t) for t in node.targets if dotted_name(t))  # `opt`, `self.opt`
    return names


def collect_uses(tree: ast.Module, bindings: dict[str, Binding]) -> UseCollector:
    graph_names = names_assigned(tree, bindings, lambda c: c in GRAPH_SOURCES)
    optimizer_names = names_assigned(tree, bindings, is_v1_optimizer_class)
    defined = {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    device_functions = defined | names_assigned(tree, bindings, lambda c: c in DEVICE_SETTERS)
    factories = {
        f.name
        for f in ast.walk(tree)
        if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)) and returns_a_function(f)
    }
    classes = {n.name for n in ast.walk(tree) if isinstance(n, ast.ClassDef)}
    collector = UseCollector(bindings, graph_names, optimizer_names, device_functions, classes)
    collector.device_factories = factories
    collector.assigned = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    collector.class_of = {
        id(f): c.name
        for c in ast.walk(tree)
        if isinstance(c, ast.ClassDef)
        for f in c.body
        if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    # Callees first, so that `_record` knows which chains are called and with what.
    collector.calls_by_callee = {id(node.func): node for node in ast.walk(tree) if isinstance(node, ast.Call)}
    collector.visit(tree)
    return collector
