"""`tfparity upgrade FILE`: run TensorFlow's own tf_upgrade_v2 on a TF1 script, then audit what it leaves.

tf_upgrade_v2 (shipped in the tensorflow wheel as `tensorflow.tools.compatibility`) renames
what has a TF2 name (`tf.log` -> `tf.math.log`), moves what has none under `tf.compat.v1`, and
reports what it knows it cannot convert. It never runs the code, so it cannot see that the
converted script still builds placeholders while eager execution is on, that an import no longer
exists, or that a symbol it emits raises on the TensorFlow and Keras installed today. The audit
reads the converted code with `ast` and checks each of those against the installed TensorFlow:

- `eager-conflict`: a graph-only API (placeholder, `Session.run`, `optimizer.minimize(tensor)`,
  ...) reached with eager execution still on: no `disable_eager_execution()` before it and no
  `with tf.Graph().as_default():` around it (or around every call of its function);
- `removed-import`: an import of a TensorFlow module that no longer exists (`tf.contrib`,
  `tensorflow.examples.tutorials`, `tf.estimator`);
- `missing-symbol`: a `tf.` attribute chain that does not resolve, or raises on access, in the
  installed TensorFlow (`tf.layers`, `tf.estimator`, `tf.compat.v1.layers.*` on Keras 3);
- `graph-only`: a graph-only API in a function nothing in the file calls (its callers decide);
- `compat-v1`: every remaining `tf.compat.v1` use: migration debt, with the TF2 replacement.

Exit status: 0 when nothing the audit found makes the converted code fail (tf.compat.v1 debt
may remain), 1 when at least one finding does (`eager-conflict`, `removed-import`,
`missing-symbol`), 2 on bad input (missing file, not Python, syntax error).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import difflib
import functools
import importlib
import io
import json
import os
import tokenize
import types
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tabulate import tabulate

from benchmarks import cli
from benchmarks.progress import Progress

API_DOCS = "https://www.tensorflow.org/api_docs/python/"

# kind -> (makes the converted code fail?, what it means)
KINDS: dict[str, tuple[bool, str]] = {
    "eager-conflict": (True, "graph-only API reached with eager execution on"),
    "removed-import": (True, "import of a module TensorFlow no longer has"),
    "missing-symbol": (True, "tf. symbol that does not resolve in the installed TensorFlow"),
    "graph-only": (False, "graph-only API in a function nothing in this file calls"),
    "compat-v1": (False, "tf.compat.v1 use left: migration debt"),
}
EXIT_OK, EXIT_FAILS, EXIT_BAD_INPUT = 0, 1, 2

# Graph-only APIs (canonical names), what each raises with eager execution on, and the TF2 way.
# Checked against TensorFlow 2.21: each raises RuntimeError when called eagerly (Session: on run).
GRAPH_ONLY: dict[str, tuple[str, str]] = {
    "tf.compat.v1.placeholder": (
        "RuntimeError: tf.placeholder() is not compatible with eager execution",
        "pass the batch as an argument of the (@tf.function) step that uses it"),
    "tf.compat.v1.sparse_placeholder": (
        "RuntimeError: `sparse_placeholder` is not compatible with eager execution",
        "pass a tf.SparseTensor as a function argument"),
    "tf.compat.v1.Session": (
        "RuntimeError on run: The Session graph is empty (its ops ran eagerly, not in its graph)",
        "no session: call the step directly; @tf.function gives back graph speed"),
    "tf.compat.v1.InteractiveSession": (
        "RuntimeError on run / eval: the ops ran eagerly, not in its graph",
        "no session: eager tensors have .numpy()"),
    "tf.compat.v1.train.Optimizer.minimize": (
        "RuntimeError: `loss` passed to Optimizer.compute_gradients should be a function when eager execution is enabled",
        "tf.GradientTape + optimizer.apply_gradients, or minimize(lambda: loss, var_list)"),
    "tf.compat.v1.gradients": (
        "RuntimeError: tf.gradients is not supported when eager execution is enabled",
        "tf.GradientTape"),
    "tf.gradients": (
        "RuntimeError: tf.gradients is not supported when eager execution is enabled",
        "tf.GradientTape"),
    "tf.compat.v1.train.Saver": (
        "RuntimeError: When eager execution is enabled, `var_list` must specify a list or dict of variables",
        "tf.train.Checkpoint + tf.train.CheckpointManager"),
    "tf.compat.v1.summary.FileWriter": (
        "RuntimeError: v1.summary.FileWriter is not compatible with eager execution",
        "tf.summary.create_file_writer"),
    "tf.compat.v1.summary.merge_all": (
        "RuntimeError: Merging tf.summary.* ops is not compatible with eager execution",
        "write each summary inside `with writer.as_default():`"),
    "tf.compat.v1.train.start_queue_runners": (
        "RuntimeError: Queues are not compatible with eager execution", "tf.data"),
    "tf.compat.v1.train.MonitoredTrainingSession": (
        "RuntimeError: Merging tf.summary.* ops is not compatible with eager execution",
        "a plain loop with tf.train.CheckpointManager"),
    "tf.compat.v1.data.make_initializable_iterator": (
        "RuntimeError: `make_initializable_iterator()` is not supported in eager mode", "iterate the dataset with a for loop"),
    "tf.compat.v1.train.import_meta_graph": (
        "RuntimeError: Exporting/importing meta graphs is not supported when eager execution is enabled",
        "tf.saved_model.load"),
}
EAGER_OFF = ("tf.compat.v1.disable_eager_execution", "tf.compat.v1.disable_v2_behavior")
GRAPH_SOURCES = ("tf.Graph", "tf.compat.v1.Graph", "tf.compat.v1.get_default_graph")

# Removed modules (import path prefix as written) -> the fix.
REMOVED_MODULES: dict[str, str] = {
    "tensorflow.examples.tutorials": (
        "tf.keras.datasets.mnist.load_data(); or `import input_data`, a local module with read_data_sets "
        "(tfparity's compat.read_data_sets reproduces it; TF 1.x's own input_data.py imports tf.contrib)"),
    "tensorflow.contrib": (
        "tf.contrib was removed in TF 2.0: contrib.layers -> tf.keras.layers, contrib.slim -> the tf-slim package "
        "(import tf_slim as slim), contrib.learn datasets -> tf.keras.datasets, contrib.rnn -> tf.keras.layers RNN cells"),
    "tensorflow.estimator": (
        "tf.estimator was removed in TF 2.16: rewrite with Keras (model.compile + model.fit) or a tf.GradientTape loop; "
        "or pin tensorflow<2.16 (with tensorflow-estimator) to keep it"),
    "tensorflow_estimator": "tensorflow-estimator stopped with TF 2.15: rewrite with Keras (compile + fit)",
}

# Symbols (canonical, prefix match on whole dotted parts) that no longer resolve -> the fix.
KERAS3_OTHER_FIX = "or keep the TF1 layers: pip install tf_keras and set TF_USE_LEGACY_KERAS=1 before importing TensorFlow"
MISSING_FIXES: dict[str, str] = {
    "tf.layers.dense": "tf.keras.layers.Dense(units, activation=...)(x): a layer object that owns its kernel and bias",
    "tf.layers.conv2d": "tf.keras.layers.Conv2D(filters, kernel_size, ...)(x)",
    "tf.layers.max_pooling2d": "tf.keras.layers.MaxPooling2D(pool_size, strides)(x)",
    "tf.layers.dropout": "tf.keras.layers.Dropout(rate)(x, training=training)",
    "tf.layers.flatten": "tf.keras.layers.Flatten()(x)",
    "tf.layers.batch_normalization": "tf.keras.layers.BatchNormalization()(x, training=training)",
    "tf.layers": "the matching tf.keras.layers class, called on the tensor (Dense, Conv2D, Dropout, ...)",
    "tf.compat.v1.layers.dense": f"tf.keras.layers.Dense(units, activation=...)(x); {KERAS3_OTHER_FIX}",
    "tf.compat.v1.layers.batch_normalization": f"tf.keras.layers.BatchNormalization()(x, training=training); {KERAS3_OTHER_FIX}",
    "tf.compat.v1.layers": f"the matching tf.keras.layers class (Dense, Conv2D, BatchNormalization, ...); {KERAS3_OTHER_FIX}",
    "tf.compat.v1.nn.rnn_cell": f"tf.keras.layers.LSTMCell / GRUCell / SimpleRNNCell in a tf.keras.layers.RNN; {KERAS3_OTHER_FIX}",
    "tf.contrib.layers.fully_connected": "tf.keras.layers.Dense(units, activation='relu')(x)",
    "tf.contrib.layers.xavier_initializer": "tf.keras.initializers.GlorotUniform()",
    "tf.contrib.learn.datasets": "tf.keras.datasets.mnist.load_data()",
    "tf.contrib": REMOVED_MODULES["tensorflow.contrib"],
    "tf.estimator": REMOVED_MODULES["tensorflow.estimator"],
    "tf.compat.v1.estimator": REMOVED_MODULES["tensorflow.estimator"],
    "tf.app": "absl: from absl import app, flags (app.run(main))",
    "tf.flags": "absl: from absl import flags",
    "tf.Session": "no session: call the step directly (@tf.function for graph speed)",
}
# TF1 layer namespaces that Keras 3 no longer backs. TensorFlow 2.16-2.21 raise on attribute
# access ("`dense` is not available with Keras 3."), which resolution catches; the list also
# catches them on a TensorFlow that would defer the error to the call.
KERAS3_REMOVED_PREFIXES = ("tf.compat.v1.layers.", "tf.compat.v1.nn.rnn_cell.")

# tf.compat.v1 symbol (name after `tf.compat.v1.`, prefix match on whole parts) -> the TF2 fix.
DEBT_FIXES: dict[str, str] = {
    "placeholder": "a function argument: pass the batch to the (@tf.function) step",
    "sparse_placeholder": "a tf.SparseTensor function argument",
    "Session": "no session: call the step directly; @tf.function gives graph speed",
    "InteractiveSession": "no session: eager tensors have .numpy()",
    "global_variables_initializer": "nothing: TF2 variables are initialized when created",
    "initialize_all_variables": "nothing: TF2 variables are initialized when created",
    "local_variables_initializer": "nothing: TF2 variables are initialized when created",
    "variables_initializer": "nothing: TF2 variables are initialized when created",
    "Variable": "tf.Variable",
    "get_variable": "tf.Variable, or a Keras layer's add_weight",
    "variable_scope": "tf.name_scope; Keras layers own their variables",
    "train.GradientDescentOptimizer": "tf.keras.optimizers.SGD(learning_rate)",
    "train.MomentumOptimizer": "tf.keras.optimizers.SGD(learning_rate, momentum=...)",
    "train.AdamOptimizer": "tf.keras.optimizers.Adam(learning_rate, epsilon=1e-8): TF1's epsilon, Keras defaults to 1e-7",
    "train.RMSPropOptimizer": "tf.keras.optimizers.RMSprop (state epsilon=1e-10 to match TF1)",
    "train.AdagradOptimizer": "tf.keras.optimizers.Adagrad",
    "train.Optimizer": "tf.keras.optimizers.Optimizer",
    "train.Saver": "tf.train.Checkpoint + tf.train.CheckpointManager",
    "train.get_global_step": "optimizer.iterations",
    "train.get_or_create_global_step": "optimizer.iterations",
    "train.start_queue_runners": "tf.data",
    "summary.FileWriter": "tf.summary.create_file_writer",
    "summary": "tf.summary (TF2 summaries: write inside `with writer.as_default():`)",
    "losses": "the tf.keras.losses class (e.g. SparseCategoricalCrossentropy(from_logits=True))",
    "metrics": "the tf.keras.metrics class",
    "layers": "the matching tf.keras.layers class",
    "keras": "tf.keras (Keras 3): the same name without compat.v1",
    "nn.softmax_cross_entropy_with_logits_v2": "tf.nn.softmax_cross_entropy_with_logits",
    "app": "absl: from absl import app",
    "flags": "absl: from absl import flags",
    "logging": "absl.logging, or print",
    "disable_eager_execution": "remove it once no graph-only API is left",
    "disable_v2_behavior": "remove it once no graph-only API is left",
    "get_default_graph": "no global graph: tf.function traces its own",
    "reset_default_graph": "tf.keras.backend.clear_session(), or nothing",
    "data.make_one_shot_iterator": "iterate the dataset: for batch in dataset / iter(dataset)",
    "data.make_initializable_iterator": "iterate the dataset: for batch in dataset",
    "gradients": "tf.GradientTape",
    "assign": "variable.assign(value)",
    "train.Optimizer.minimize": "tf.GradientTape + optimizer.apply_gradients(zip(grads, variables))",
}


class UpgradeInputError(ValueError):
    """The FILE given to `tfparity upgrade` cannot be read as a Python script."""


@dataclass(frozen=True)
class Edit:
    """Replace lines `start`..`end` (1-based, inclusive) by `text`; `end == start - 1` inserts before `start`."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Finding:
    line: int
    kind: str
    symbol: str
    problem: str
    fix: str
    edit: Edit | None = None
    docs: str = ""  # the TensorFlow API page of the symbol, where it has one

    @property
    def fatal(self) -> bool:
        return KINDS[self.kind][0]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "fatal": self.fatal}


@dataclass(frozen=True)
class Conversion:
    """What tf_upgrade_v2 made of one file: the converted text, its log and its own issue list."""

    path: str
    original: str
    converted: str
    log: tuple[str, ...]
    issues: tuple[str, ...]  # tf_upgrade_v2's "issues that require attention" (its warnings and errors)

    def diff(self) -> str:
        return "".join(difflib.unified_diff(
            self.original.splitlines(keepends=True), self.converted.splitlines(keepends=True),
            fromfile=self.path, tofile=f"{self.path} (tf_upgrade_v2)",
        ))


# --- input and conversion -----------------------------------------------------------------


def read_script(path: str) -> str:
    """The text of a Python 3 script, or UpgradeInputError naming the file and the fix."""
    p = Path(path)
    if not p.exists():
        raise UpgradeInputError(f"{path}: no such file; give the path of a TF1 Python script (.py)")
    if p.is_dir():
        raise UpgradeInputError(f"{path}: is a folder; give one Python file (tf_upgrade_v2 --intree converts whole trees)")
    if p.suffix == ".ipynb":
        raise UpgradeInputError(f"{path}: a Jupyter notebook; export it first (jupyter nbconvert --to script {path})")
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise UpgradeInputError(f"{path}: cannot be read ({exc.strerror}); check its permissions") from exc
    if b"\0" in raw:
        raise UpgradeInputError(f"{path}: not a Python source file (it holds NUL bytes: binary data); give a .py script")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
        text = raw.decode(encoding)
    except (SyntaxError, UnicodeDecodeError, LookupError) as exc:
        raise UpgradeInputError(f"{path}: not a Python source file ({exc}); save it as UTF-8 text") from exc
    try:
        ast.parse(text, filename=path)
    except SyntaxError as exc:
        raise UpgradeInputError(
            f"{path}:{exc.lineno}: not valid Python 3 ({exc.msg}); fix the syntax (Python 2 code: run 2to3 first)"
        ) from exc
    return text


def convert(source: str, path: str) -> Conversion:
    """Run tf_upgrade_v2 on `source` in memory, with its command line's defaults."""
    from tensorflow.tools.compatibility import ast_edits, tf_upgrade_v2

    # The defaults of the tf_upgrade_v2 console script (tf_upgrade_v2_main.py).
    spec = tf_upgrade_v2.TFAPIChangeSpec(import_rename=False, upgrade_compat_v1_import=True)
    # The converter prints every change as it makes it, and its pasta visitors use ast names
    # Python 3.8 deprecated (visit_Str, visit_Num): neither is ours to show.
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        processed, converted, log, issues = ast_edits.ASTCodeUpgrader(spec).update_string_pasta(source, path)
    if not processed:
        raise UpgradeInputError(f"{path}: tf_upgrade_v2 could not parse it: {' '.join(log).strip()}")
    return Conversion(path, source, converted, tuple(log), tuple(issues))


# --- names: what each imported name is bound to --------------------------------------------


@dataclass(frozen=True)
class Binding:
    """A name bound by an import: `import_path` is imported, then `attr` taken from it (if any)."""

    canonical: str  # "tf.compat.v1" for `import tensorflow.compat.v1 as tf`
    import_path: str
    attr: str | None = None


def canonical_of(module_path: str) -> str:
    """`tensorflow.compat.v1` -> `tf.compat.v1` (the spelling users write and the tables use)."""
    return "tf" + module_path[len("tensorflow"):] if module_path.split(".")[0] == "tensorflow" else module_path


def is_tensorflow(module_path: str) -> bool:
    top = module_path.split(".")[0]
    return top in ("tensorflow", "tensorflow_estimator")


@dataclass
class Imports:
    bindings: dict[str, Binding] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    last_tf_import: ast.stmt | None = None  # the module-level import the eager fix goes after
    last_import: ast.stmt | None = None


def collect_imports(tree: ast.Module) -> Imports:
    """Bind every name imported from TensorFlow, and report the imports that fail (their names stay
    unbound, so a failed `from tensorflow.contrib import slim` is one finding, not one per `slim.` use)."""
    found = Imports()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if not is_tensorflow(alias.name):
                    continue
                bound = alias.asname or alias.name.split(".")[0]
                path = alias.name if alias.asname else bound
                _bind(found, node, bound, Binding(canonical_of(path), path), alias.name)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and is_tensorflow(node.module):
            for alias in node.names:
                if alias.name == "*":
                    continue
                bound = alias.asname or alias.name
                _bind(found, node, bound, Binding(canonical_of(f"{node.module}.{alias.name}"), node.module, alias.name),
                      f"{node.module}.{alias.name}")
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.last_import = node
            bound = [a.asname or a.name.split(".")[0] for a in node.names]
            if any(found.bindings.get(name, Binding("", "")).canonical in ("tf", "tf.compat.v1") for name in bound):
                found.last_tf_import = node
    return found


def _bind(found: Imports, node: ast.stmt, name: str, binding: Binding, written: str) -> None:
    error = import_error(binding)
    if error is None:
        found.bindings[name] = binding
        return
    module = next((m for m in REMOVED_MODULES if written == m or written.startswith(m + ".")), None)
    fix = REMOVED_MODULES[module] if module else f"remove it or find its TF2 replacement ({error})"
    found.findings.append(Finding(
        line=node.lineno, kind="removed-import", symbol=written,
        problem=f"{error} ({module or written} is not in TensorFlow {tf_version()})",
        fix=fix, edit=_input_data_edit(node, name, written),
    ))


def _input_data_edit(node: ast.stmt, name: str, written: str) -> Edit | None:
    """The one removed import with a mechanical fix: the tutorials' `input_data` -> a local module."""
    if not written.endswith("tutorials.mnist.input_data") or len(node.names) != 1:
        return None
    indent = " " * node.col_offset
    as_name = "" if name == "input_data" else f" as {name}"
    return Edit(node.lineno, node.end_lineno, f"{indent}import input_data{as_name}  # a local copy: tensorflow.examples is gone")


@functools.lru_cache(maxsize=None)
def import_error(binding: Binding) -> str | None:
    """Why importing `binding` fails at run time (Python's own semantics), or None."""
    try:
        import_bound(binding)
    except Exception as exc:  # ImportError, and whatever a lazy loader raises
        return f"{type(exc).__name__}: {exc}"
    return None


def import_bound(binding: Binding) -> Any:
    module = importlib.import_module(binding.import_path)
    if binding.attr is None:
        return module
    try:  # `from a.b import c`: an attribute of a.b, else the submodule a.b.c
        return getattr(module, binding.attr)
    except AttributeError:
        return importlib.import_module(f"{binding.import_path}.{binding.attr}")


@functools.lru_cache(maxsize=None)
def resolve_chain(binding: Binding, rest: tuple[str, ...]) -> str | None:
    """Why `binding.rest...` fails on attribute access in the installed TensorFlow, or None.

    Access is followed through modules and classes only: past a function or an instance
    (`FLAGS.data_dir`), what an attribute holds depends on run-time state, not on the install.
    """
    obj = import_bound(binding)
    for part in rest:
        if not isinstance(obj, (types.ModuleType, type)):
            return None
        try:
            obj = getattr(obj, part)
        except Exception as exc:  # TensorFlow's lazy loaders raise AttributeError with their own message
            return f"{type(exc).__name__}: {exc}"
    return None


# --- uses: every tf. chain, every graph context, every call ----------------------------------


@dataclass(frozen=True)
class Use:
    line: int
    written: str  # as the code spells it: `tf.placeholder`
    canonical: str  # `tf.compat.v1.placeholder`
    binding: Binding | None  # None for the pseudo-symbol `...Optimizer.minimize`
    rest: tuple[str, ...]
    function: str | None  # innermost enclosing function, None at module level
    in_graph: bool  # lexically inside `with <graph>.as_default():`
    is_call: bool
    keywords: tuple[str, ...] = ()  # keyword arguments of the call, when it is one


@dataclass(frozen=True)
class CallSite:
    function: str | None
    in_graph: bool


class UseCollector(ast.NodeVisitor):
    """One pass over the converted code: tf. chains, local function calls, graph contexts."""

    def __init__(self, bindings: dict[str, Binding], graph_names: set[str], optimizer_names: set[str]):
        self.bindings, self.graph_names, self.optimizer_names = bindings, graph_names, optimizer_names
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
        self.functions.append(node.name)
        for stmt in node.body:
            self.visit(stmt)
        self.functions.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_With(self, node: ast.With) -> None:
        for item in node.items:
            self.visit(item)
        graph = any(self._is_graph_context(item.context_expr) for item in node.items)
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
        if isinstance(target, ast.Name):
            return target.id in self.graph_names
        return isinstance(target, ast.Attribute) and target.attr == "graph"

    def canonical(self, node: ast.expr) -> str | None:
        chain = attribute_chain(node)
        if chain is None or chain[0] not in self.bindings:
            return None
        return ".".join([self.bindings[chain[0]].canonical, *chain[1:]])

    def visit_Call(self, node: ast.Call) -> None:
        function, in_graph = self._where()
        callee = node.func.id if isinstance(node.func, ast.Name) else node.func.attr if isinstance(node.func, ast.Attribute) else None
        if callee is not None:
            self.calls.setdefault(callee, []).append(CallSite(function, in_graph))
        if isinstance(node.func, ast.Attribute) and node.func.attr == "minimize" and self._is_v1_optimizer(node.func.value):
            loss = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "loss"), None)
            if loss is not None and not isinstance(loss, ast.Lambda):
                self.uses.append(Use(node.lineno, f"Optimizer.minimize({ast.unparse(loss)})", "tf.compat.v1.train.Optimizer.minimize",
                                     None, (), function, in_graph, True))
        self.generic_visit(node)

    def _is_v1_optimizer(self, expr: ast.expr) -> bool:
        if isinstance(expr, ast.Name):
            return expr.id in self.optimizer_names
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
        self.uses.append(Use(node.lineno, ".".join(chain), ".".join([binding.canonical, *chain[1:]]), binding,
                             tuple(chain[1:]), function, in_graph, call is not None, keywords))
        return True


def attribute_chain(node: ast.expr) -> list[str] | None:
    """["tf", "compat", "v1", "placeholder"] for `tf.compat.v1.placeholder`; None unless names and attributes only."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return [node.id, *reversed(parts)] if isinstance(node, ast.Name) else None


def is_v1_optimizer_class(canonical: str | None) -> bool:
    return bool(canonical and canonical.startswith("tf.compat.v1.train.") and canonical.endswith("Optimizer"))


def names_assigned(tree: ast.Module, bindings: dict[str, Binding], test) -> set[str]:
    """Names assigned `name = <call>` anywhere, where `test(canonical of the callee)` holds."""
    collector = UseCollector(bindings, set(), set())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and test(collector.canonical(node.value.func)):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def collect_uses(tree: ast.Module, bindings: dict[str, Binding]) -> UseCollector:
    graph_names = names_assigned(tree, bindings, lambda c: c in GRAPH_SOURCES)
    optimizer_names = names_assigned(tree, bindings, is_v1_optimizer_class)
    collector = UseCollector(bindings, graph_names, optimizer_names)
    # Callees first, so that `_record` knows which chains are called and with what.
    collector.calls_by_callee = {id(node.func): node for node in ast.walk(tree) if isinstance(node, ast.Call)}
    collector.visit(tree)
    return collector


# --- the audit ------------------------------------------------------------------------------


def audit(converted: str) -> list[Finding]:
    """Every finding on the converted code, by line."""
    tree = ast.parse(converted)
    imports = collect_imports(tree)
    uses = collect_uses(tree, imports.bindings)
    findings = [
        *imports.findings,
        *missing_symbol_findings(uses.uses),
        *eager_findings(uses, eager_fix_edit(imports)),
        *debt_findings(uses.uses),
    ]
    order = list(KINDS)
    return sorted(findings, key=lambda f: (f.line, order.index(f.kind), f.symbol))


def symbol_error(use: Use) -> str | None:
    """Why a tf. chain fails in the installed TensorFlow, or None when it resolves."""
    if use.binding is None:
        return None
    error = resolve_chain(use.binding, use.rest)
    if error is None and use.canonical.startswith(KERAS3_REMOVED_PREFIXES) and keras_major() >= 3 and not legacy_keras():
        error = f"{use.canonical} needs Keras 2 (tf_keras); the installed Keras is {keras_version()}"
    return error


def missing_symbol_findings(uses: list[Use]) -> list[Finding]:
    findings = []
    for use in uses:
        error = symbol_error(use)
        if error is None:
            continue
        findings.append(Finding(
            line=use.line, kind="missing-symbol", symbol=use.written,
            problem=error if use.written == use.canonical else f"{use.canonical}: {error}",
            fix=lookup_prefix(MISSING_FIXES, use.canonical) or f"find its TF2 replacement: {API_DOCS}",
        ))
    return findings


def eager_fix_edit(imports: Imports) -> Edit:
    """Insert `disable_eager_execution()` after the module-level TensorFlow import (or the last import)."""
    alias = next((n for n, b in imports.bindings.items() if b.canonical == "tf"), None)
    v1_alias = next((n for n, b in imports.bindings.items() if b.canonical == "tf.compat.v1"), None)
    anchor = imports.last_tf_import or imports.last_import
    line = anchor.end_lineno + 1 if anchor is not None else 1
    if alias:
        text = f"{alias}.compat.v1.disable_eager_execution()"
    elif v1_alias:
        text = f"{v1_alias}.disable_eager_execution()"
    else:
        text = "import tensorflow as tf\ntf.compat.v1.disable_eager_execution()"
    return Edit(line, line - 1, text)


def eager_findings(collected: UseCollector, fix_edit: Edit) -> list[Finding]:
    """Graph-only APIs reached with eager execution still on.

    Static, so conservative in one direction only: a `disable_eager_execution()` call counts
    when it is at module level above the use, or anywhere for uses inside functions (which run
    after the module body); a function counts as graph-built when every call of it is inside a
    graph context or inside another graph-built function.
    """
    graph_uses = [u for u in collected.uses if u.canonical in GRAPH_ONLY]
    off = [u for u in collected.uses if u.canonical in EAGER_OFF and u.is_call]
    graph_built = graph_built_functions(collected.calls)
    insert_at = fix_edit.start - 1
    findings = []
    for use in graph_uses:
        if use.in_graph or use.function in graph_built or "graph" in use.keywords:  # Session(graph=g) runs g
            continue
        if use.function is None and any(o.function is None and o.line < use.line for o in off):
            continue
        if use.function is not None and off:
            continue
        raises, tf2 = GRAPH_ONLY[use.canonical]
        if use.function is not None and not collected.calls.get(use.function):
            findings.append(Finding(
                line=use.line, kind="graph-only", symbol=use.written,
                problem=f"in {use.function}(), which nothing in this file calls: with eager execution on it raises {raises}",
                fix=f"its callers must build it under `with tf.Graph().as_default():` or disable eager execution; TF2: {tf2}",
            ))
            continue
        findings.append(Finding(
            line=use.line, kind="eager-conflict", symbol=use.written,
            problem=f"eager execution is on (TF2's default) and nothing turns it off: {raises}",
            fix=f"`{fix_edit.text.splitlines()[-1]}` after line {insert_at}, or `with tf.Graph().as_default():` "
                f"around it; TF2: {tf2}",
            edit=fix_edit,
        ))
    return findings


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


def debt_findings(uses: list[Use]) -> list[Finding]:
    findings = []
    for use in uses:
        if use.binding is None or not use.canonical.startswith("tf.compat.v1.") or symbol_error(use) is not None:
            continue
        name = use.canonical[len("tf.compat.v1."):]
        fix = lookup_prefix(DEBT_FIXES, name) or same_in_tf2(use) or "no TF2 equivalent in tfparity's table: see https://www.tensorflow.org/guide/migrate"
        findings.append(Finding(
            line=use.line, kind="compat-v1", symbol=use.written,
            problem=f"{use.canonical} is TF1 API kept alive by tf.compat.v1",
            fix=fix, docs=API_DOCS + use.canonical.replace(".", "/"),
        ))
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


def lookup_prefix(table: dict[str, str], dotted: str) -> str | None:
    """The entry for `dotted` or its longest dotted prefix."""
    parts = dotted.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in table:
            return table[".".join(parts[:n])]
    return None


def apply_fixes(code: str, findings: list[Finding]) -> str:
    """`code` with every mechanical fix the findings carry (each distinct edit once), bottom up."""
    lines = code.splitlines(keepends=True)
    for edit in sorted({f.edit for f in findings if f.edit is not None}, key=lambda e: (e.start, e.end), reverse=True):
        lines[edit.start - 1:edit.end] = [edit.text + "\n"]
    return "".join(lines)


def exit_status(findings: list[Finding]) -> int:
    return EXIT_FAILS if any(f.fatal for f in findings) else EXIT_OK


# --- versions -------------------------------------------------------------------------------


def tf_version() -> str:
    import tensorflow as tf

    return tf.__version__


def keras_version() -> str:
    import keras

    return keras.__version__


def keras_major() -> int:
    return int(keras_version().split(".")[0])


def legacy_keras() -> bool:
    """TF_USE_LEGACY_KERAS routes tf.keras and tf.compat.v1.layers to tf_keras (Keras 2)."""
    return os.environ.get("TF_USE_LEGACY_KERAS", "").lower() in ("1", "true", "yes")


# --- the report -----------------------------------------------------------------------------


def report_dict(conversion: Conversion, findings: list[Finding]) -> dict[str, Any]:
    return {
        "file": conversion.path,
        "tensorflow": tf_version(),
        "keras": keras_version(),
        "converter": {"issues_count": len(conversion.issues), "issues": list(conversion.issues), "log": list(conversion.log)},
        "diff": conversion.diff(),
        "findings": [f.to_dict() for f in findings],
        "fatal_count": sum(f.fatal for f in findings),
        "compat_v1_count": sum(f.kind == "compat-v1" for f in findings),
        "exit_status": exit_status(findings),
    }


def render(conversion: Conversion, findings: list[Finding], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(report_dict(conversion, findings), indent=2)
    markdown = fmt == "markdown"
    tablefmt = "github" if markdown else "simple"
    widths = None if markdown else [None, None, 40, 38, 42]
    fails = [f for f in findings if f.kind != "compat-v1"]
    debt = [f for f in findings if f.kind == "compat-v1"]
    fatal = sum(f.fatal for f in findings)

    def heading(text: str) -> str:
        return f"#### {text}" if markdown else f"== {text} =="

    def block(text: str, lang: str = "") -> str:
        return f"```{lang}\n{text.rstrip()}\n```" if markdown else text.rstrip()

    def code(text: str) -> str:
        return f"`{text}`" if markdown else text

    parts = [
        f"tfparity upgrade {code(conversion.path)}: tf_upgrade_v2 and an audit against TensorFlow {tf_version()}, Keras {keras_version()}",
        heading("tf_upgrade_v2: diff"),
        block(conversion.diff() or "(no changes)", "diff"),
        heading(f"tf_upgrade_v2: report: {plural(len(conversion.issues), 'issue')} that require attention"),
        block("\n".join([
            f"Detected {len(conversion.issues)} issues that require attention",
            *conversion.issues,
            "Its log:" if conversion.log else "Its log is empty.",
            *(f"  {line.strip()}" for line in conversion.log),
        ])),
        heading(f"Audit: {plural(fatal, 'problem')} that make the converted code fail "
                f"(tf_upgrade_v2 reported {plural(len(conversion.issues), 'issue')})"
                + (f", {len(fails) - fatal} to check" if len(fails) > fatal else "")),
    ]
    if fails:
        rows = [[f.line, f.kind, code(f.symbol), f.problem, f.fix] for f in fails]
        parts.append(tabulate(rows, headers=["line", "finding", "symbol", "what's wrong", "fix"], tablefmt=tablefmt,
                              maxcolwidths=widths, disable_numparse=True))
    else:
        parts.append("Nothing found that makes the converted code fail.")
    parts.append(heading(f"Migration debt: {len(debt)} tf.compat.v1 uses left"))
    if debt:
        if markdown:  # links where they can be followed
            rows = [[f.line, f"[`{f.symbol}`]({f.docs})", f.fix] for f in debt]
        else:
            rows = [[f.line, f.symbol, f.fix] for f in debt]
        parts.append(tabulate(rows, headers=["line", "symbol", "TF2 fix"], tablefmt=tablefmt,
                              maxcolwidths=None if markdown else [None, 40, 70], disable_numparse=True))
    if any(f.edit for f in findings):
        parts.append(f"Line numbers are those of the converted code. Mechanical fixes: "
                     f"{code(f'tfparity upgrade {conversion.path} -o CONVERTED.py --apply-fixes')}")
    return "\n\n".join(parts)


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


# --- the command ----------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", help="a TF1 Python script")
    # -o names the converted code here (as tf_upgrade_v2's --outfile), so the report goes to --report.
    parser.add_argument("-o", "--output", default=None, metavar="FILE",
                        help="write the converted code here (atomically); without it nothing is written")
    parser.add_argument("--apply-fixes", action="store_true",
                        help="with -o: also apply the audit's mechanical fixes (disable eager execution, the tutorials import)")
    parser.add_argument("--format", choices=["table", "markdown", "json"], default="table")
    parser.add_argument("--report", default=None, metavar="FILE", help="write the report here instead of stdout")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    parser.epilog = "exit status: 0 nothing found that makes the converted code fail; 1 something does; 2 bad input"


def run(args: argparse.Namespace) -> int:
    if args.apply_fixes and not args.output:
        raise UpgradeInputError("--apply-fixes changes the converted code written by -o FILE; give -o FILE too")
    source = read_script(args.file)
    with Progress(2, "upgrade", quiet=args.quiet) as progress:
        progress.step("tf_upgrade_v2")
        conversion = convert(source, args.file)
        progress.step("audit")
        findings = audit(conversion.converted)
    if args.output:
        cli.write_output(apply_fixes(conversion.converted, findings) if args.apply_fixes else conversion.converted, args.output)
    cli.write_output(render(conversion, findings, args.format), args.report)
    return exit_status(findings)
