"""One curated table of TF1 -> TF2 API mappings: what replaces what, why, and where it is documented.

Each `ApiMapping` names the TF1 API (as TF1 code wrote it, today through `tf.compat.v1`), its
TF2 replacement, a one-line reason, the training stage it belongs to, and TensorFlow's own
documentation pages. It also carries what tools need to find it in real code:

- `tf1_code` / `tf2_code`: regular expressions, each group matching when *all* its patterns
  occur in code (comments and docstrings excluded, see `code_only`). `tfparity sidebyside`
  uses them to show, under each stage, the mappings that stage's source exercises.
- `tf1_symbols` / `tf2_symbols`: dotted names that exist in the installed TensorFlow and Keras
  (a test resolves every one); `removed`: the TF 1.x spellings TensorFlow 2 no longer has
  (a test checks that none resolves), so a tool can tell "rename it" from "rewrite it".

Nothing here imports the styles; `resolve_symbol` imports TensorFlow only when called.
"""

from __future__ import annotations

import ast
import importlib
import io
import re
import sys
import tokenize
from dataclasses import dataclass
from typing import Any

# The shared stages every style module marks with `# %% stage: NAME`, in this order.
STAGES: tuple[str, ...] = ("data", "model", "loss", "optimizer", "train step", "loop", "evaluate")

API = "https://www.tensorflow.org/api_docs/python/"
GUIDE = "https://www.tensorflow.org/guide/"


@dataclass(frozen=True)
class ApiMapping:
    tf1: str  # the TF1 API, Markdown (code in backticks)
    tf2: str  # what TF2 code writes instead, Markdown
    why: str  # one line, Markdown
    stage: str  # one of STAGES: where this change happens in a training script
    docs: tuple[str, ...]  # tensorflow.org pages: the TF1 symbol's ("Migrate to TF2" section) and the TF2 one's
    tf1_symbols: tuple[str, ...] = ()  # exist in the installed TensorFlow (tf.compat.v1.*)
    tf2_symbols: tuple[str, ...] = ()  # exist in the installed TensorFlow / Keras
    removed: tuple[str, ...] = ()  # TF 1.x spellings that no longer resolve in TensorFlow 2
    tf1_code: tuple[str, ...] = ()  # regexes, all of which match code that uses the TF1 API
    tf2_code: tuple[str, ...] = ()  # regexes, all of which match code that uses the replacement

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


MAPPINGS: tuple[ApiMapping, ...] = (
    # --- data ---------------------------------------------------------------------------------
    ApiMapping(
        tf1="`tf.compat.v1.placeholder`",
        tf2="a function argument: the batch is passed to the function that uses it",
        why="placeholders only exist in a graph: with eager execution on (the TF2 default) `placeholder()` raises RuntimeError",
        stage="data",
        docs=(API + "tf/compat/v1/placeholder", GUIDE + "migrate/migrate_tf2"),
        tf1_symbols=("tf.compat.v1.placeholder",),
        removed=("tf.placeholder",),
        tf1_code=(r"\bplaceholder\(",),
    ),
    ApiMapping(
        tf1="`tf.compat.v1.placeholder_with_default`",
        tf2="a function argument with a default value",
        why="TensorFlow discourages it under eager execution and `tf.function`: pass the value as an argument (a `tf.TensorSpec` input signature keeps a partly known shape)",
        stage="data",
        docs=(API + "tf/compat/v1/placeholder_with_default", API + "tf/function"),
        tf1_symbols=("tf.compat.v1.placeholder_with_default",),
        removed=("tf.placeholder_with_default",),
        tf1_code=(r"\bplaceholder_with_default\(",),
    ),
    ApiMapping(
        tf1="`tensorflow.examples.tutorials.mnist.input_data.read_data_sets`",
        tf2="`keras.datasets.mnist.load_data()` (or `compat.read_data_sets`, which reproduces the old reader)",
        why="the tutorials package left the TensorFlow wheel in 2.0: importing it raises ModuleNotFoundError",
        stage="data",
        docs=(API + "tf/keras/datasets/mnist/load_data",),
        tf2_symbols=("keras.datasets.mnist.load_data",),
        removed=("tensorflow.examples.tutorials",),
        tf1_code=(r"\bexamples\.tutorials\b|\binput_data\.read_data_sets\(",),
    ),
    ApiMapping(
        tf1="`feed_dict={x: batch_xs, y_: batch_ys}` on every step",
        tf2="`tf.data.Dataset`, consumed by `Model.fit`",
        why="`fit` pulls its batches from a Dataset; without `shuffle` it sees them in the order the Dataset yields",
        stage="data",
        docs=(API + "tf/data/Dataset", API + "tf/keras/Model#fit"),
        tf1_symbols=("tf.compat.v1.Session.run",),
        tf2_symbols=("tf.data.Dataset.from_tensor_slices",),
        tf2_code=(r"\btf\.data\.Dataset\b",),
    ),
    # --- model --------------------------------------------------------------------------------
    ApiMapping(
        tf1="`tf.compat.v1.Variable`",
        tf2="`tf.Variable`",
        why="TF2 variables are resource variables that hold their value from the moment they are created: no initializer op, no graph collections",
        stage="model",
        docs=(API + "tf/compat/v1/Variable", API + "tf/Variable"),
        tf1_symbols=("tf.compat.v1.Variable",),
        tf2_symbols=("tf.Variable",),
        tf1_code=(r"\bcompat\.v1\.Variable\(",),
        tf2_code=(r"(?<![\w.])tf\.Variable\(",),
    ),
    ApiMapping(
        tf1="`tf.compat.v1.layers.dense` (or `tf.matmul(x, W) + b` on your own variables)",
        tf2="`keras.layers.Dense`",
        why="`tf.compat.v1.layers` raises \"not available with Keras 3\" on TensorFlow 2.16 and later; a Keras `Dense` owns its kernel and bias (`set_weights` loads existing values)",
        stage="model",
        docs=(API + "tf/compat/v1/layers/dense", API + "tf/keras/layers/Dense"),
        tf2_symbols=("keras.layers.Dense",),
        removed=("tf.layers.dense", "tf.compat.v1.layers.dense"),
        tf1_code=(r"\blayers\.dense\(",),
        tf2_code=(r"\blayers\.Dense\(",),
    ),
    ApiMapping(
        tf1="`tf.contrib` (for example `tf.contrib.layers.fully_connected`)",
        tf2="Keras layers (`keras.layers.Dense`, ...); TF-Slim or TF Addons for the rest",
        why="`tf.contrib` was removed in TensorFlow 2.0, and `tf_upgrade_v2` cannot convert most of it",
        stage="model",
        docs=(GUIDE + "migrate", API + "tf/keras/layers/Dense"),
        tf2_symbols=("keras.layers.Dense",),
        removed=("tf.contrib",),
        tf1_code=(r"\btf\.contrib\b",),
    ),
    # --- loss ---------------------------------------------------------------------------------
    ApiMapping(
        tf1="`tf.compat.v1.log` (TF1: `tf.log`)",
        tf2="`tf.math.log`",
        why="TF2 moved most math ops into `tf.math`; `tf.log` is gone from the top-level namespace",
        stage="loss",
        docs=(API + "tf/math/log",),
        tf1_symbols=("tf.compat.v1.log",),
        tf2_symbols=("tf.math.log",),
        removed=("tf.log",),
        tf1_code=(r"(?<![\w.])tf\.(?:compat\.v1\.)?log\(",),
        tf2_code=(r"\btf\.math\.log\(",),
    ),
    ApiMapping(
        tf1="`tf.compat.v1.nn.softmax_cross_entropy_with_logits_v2`",
        tf2="`tf.nn.softmax_cross_entropy_with_logits`",
        why="TF2 ships the `_v2` op under the plain name (the old un-suffixed op, which kept gradients out of the labels, is gone): same numbers",
        stage="loss",
        docs=(API + "tf/compat/v1/nn/softmax_cross_entropy_with_logits_v2", API + "tf/nn/softmax_cross_entropy_with_logits"),
        tf1_symbols=("tf.compat.v1.nn.softmax_cross_entropy_with_logits_v2",),
        tf2_symbols=("tf.nn.softmax_cross_entropy_with_logits",),
        removed=("tf.nn.softmax_cross_entropy_with_logits_v2",),
        tf1_code=(r"\bsoftmax_cross_entropy_with_logits_v2\(",),
        tf2_code=(r"\bnn\.softmax_cross_entropy_with_logits\(",),
    ),
    ApiMapping(
        tf1="`-tf.reduce_sum(y_ * tf.log(tf.nn.softmax(logits)))`",
        tf2="a loss on the logits: `keras.losses.CategoricalCrossentropy(from_logits=True)` or `tf.nn.softmax_cross_entropy_with_logits`",
        why="`log(softmax)` is -inf as soon as a probability underflows to 0, and the loss turns NaN; a loss given logits computes log-softmax stably (tfparity keeps the tutorial's form as `--loss tutorial`)",
        stage="loss",
        docs=(API + "tf/keras/losses/CategoricalCrossentropy", API + "tf/nn/softmax_cross_entropy_with_logits"),
        tf1_symbols=("tf.compat.v1.log", "tf.nn.softmax"),
        tf2_symbols=("keras.losses.CategoricalCrossentropy", "tf.nn.softmax_cross_entropy_with_logits"),
        removed=("tf.log",),
        tf1_code=(r"\bnn\.softmax\(", r"\blog\("),
        tf2_code=(r"\bfrom_logits\s*=\s*True\b",),
    ),
    # --- optimizer ----------------------------------------------------------------------------
    ApiMapping(
        tf1="`tf.compat.v1.train.GradientDescentOptimizer`",
        tf2="`keras.optimizers.SGD`",
        why="the same update `w -= lr * grad`, from an optimizer that works eagerly and inside `tf.function`",
        stage="optimizer",
        docs=(API + "tf/compat/v1/train/GradientDescentOptimizer", API + "tf/keras/optimizers/SGD"),
        tf1_symbols=("tf.compat.v1.train.GradientDescentOptimizer",),
        tf2_symbols=("keras.optimizers.SGD",),
        removed=("tf.train.GradientDescentOptimizer",),
        tf1_code=(r"\bGradientDescentOptimizer\(",),
        tf2_code=(r"\boptimizers\.SGD\(",),
    ),
    ApiMapping(
        tf1="`tf.compat.v1.train.AdamOptimizer`",
        tf2="`keras.optimizers.Adam`, with `epsilon` stated",
        why="TF1 defaults `epsilon` to 1e-8, Keras to 1e-7, enough on its own to make the weights drift apart; `beta1`/`beta2` are renamed `beta_1`/`beta_2`",
        stage="optimizer",
        docs=(API + "tf/compat/v1/train/AdamOptimizer", API + "tf/keras/optimizers/Adam"),
        tf1_symbols=("tf.compat.v1.train.AdamOptimizer",),
        tf2_symbols=("keras.optimizers.Adam",),
        removed=("tf.train.AdamOptimizer",),
        tf1_code=(r"\bAdamOptimizer\(",),
        tf2_code=(r"\boptimizers\.Adam\(",),
    ),
    ApiMapping(
        tf1="`tf.compat.v1.train.Optimizer`",
        tf2="`keras.optimizers.Optimizer`",
        why="a separate class hierarchy: Keras optimizers apply the gradients you give them and have no `minimize(loss_tensor)`",
        stage="optimizer",
        docs=(API + "tf/compat/v1/train/Optimizer", API + "tf/keras/optimizers/Optimizer"),
        tf1_symbols=("tf.compat.v1.train.Optimizer",),
        tf2_symbols=("keras.optimizers.Optimizer",),
        removed=("tf.train.Optimizer",),
        tf1_code=(r"\bcompat\.v1\.train\.Optimizer\b",),
    ),
    # --- train step ---------------------------------------------------------------------------
    ApiMapping(
        tf1="`sess.run(fetches, feed_dict={...})`",
        tf2="a direct call with the batch as arguments; results are tensors (`.numpy()` for NumPy)",
        why="TF2 runs ops when they are called: nothing to fetch, nothing to feed",
        stage="train step",
        docs=(API + "tf/compat/v1/Session#run", GUIDE + "migrate/migrate_tf2"),
        tf1_symbols=("tf.compat.v1.Session.run",),
        removed=("tf.Session",),
        tf1_code=(r"\bsess(?:ion)?\.run\(|\bfeed_dict\s*=",),
    ),
    ApiMapping(
        tf1="`optimizer.minimize(loss)`, a train op the session runs",
        tf2="`tf.GradientTape` + `optimizer.apply_gradients(zip(grads, variables))`",
        why="eager code has no graph to differentiate later: record the forward pass on a tape, take its gradients, apply them",
        stage="train step",
        docs=(API + "tf/GradientTape", API + "tf/keras/optimizers/Optimizer#apply_gradients"),
        tf1_symbols=("tf.compat.v1.train.Optimizer.minimize",),
        tf2_symbols=("tf.GradientTape", "keras.optimizers.Optimizer.apply_gradients"),
        tf1_code=(r"\.minimize\(",),
        tf2_code=(r"\bGradientTape\(", r"\.apply_gradients\("),
    ),
    ApiMapping(
        tf1="`tf.Graph()` + `tf.compat.v1.Session(graph=...)`",
        tf2="`@tf.function` on the step (or plain eager calls)",
        why="TF2 executes eagerly; `tf.function` traces the Python step into a graph once per input signature and reruns that graph, the speed a session gave",
        stage="train step",
        docs=(API + "tf/compat/v1/Session", API + "tf/function", GUIDE + "function"),
        tf1_symbols=("tf.Graph", "tf.compat.v1.Session"),
        tf2_symbols=("tf.function",),
        removed=("tf.Session",),
        tf1_code=(r"\bSession\b",),
        tf2_code=(r"@tf\.function\b",),
    ),
    ApiMapping(
        tf1="`train_op = optimizer.minimize(loss)`",
        tf2="`model.compile(optimizer=..., loss=..., metrics=...)`",
        why="`compile` writes the train step (forward, loss, gradients, update, metrics) that `fit` runs as a `tf.function`",
        stage="train step",
        docs=(API + "tf/keras/Model#compile",),
        tf1_symbols=("tf.compat.v1.train.Optimizer.minimize",),
        tf2_symbols=("keras.Model.compile",),
        tf2_code=(r"\.compile\(",),
    ),
    # --- loop ---------------------------------------------------------------------------------
    ApiMapping(
        tf1="`tf.compat.v1.global_variables_initializer()`",
        tf2="nothing: variables are initialized when they are created",
        why="there is no initializer op to run in TF2; reading a variable before it has a value cannot happen",
        stage="loop",
        docs=(API + "tf/compat/v1/global_variables_initializer",),
        tf1_symbols=("tf.compat.v1.global_variables_initializer",),
        removed=("tf.global_variables_initializer", "tf.initialize_all_variables"),
        tf1_code=(r"\b(?:global_variables_initializer|initialize_all_variables)\(",),
    ),
    ApiMapping(
        tf1="`for step in ...: sess.run(train_op, feed_dict=...)`",
        tf2="`model.fit(dataset, epochs=..., steps_per_epoch=...)`",
        why="`fit` owns the loop; per-batch values come from a callback (`on_train_batch_end`), not from fetches",
        stage="loop",
        docs=(API + "tf/keras/Model#fit", API + "tf/keras/callbacks/Callback"),
        tf1_symbols=("tf.compat.v1.Session.run",),
        tf2_symbols=("keras.Model.fit", "keras.callbacks.Callback.on_train_batch_end"),
        tf2_code=(r"\.fit\(",),
    ),
    ApiMapping(
        tf1="`tf.estimator.Estimator(...).train(input_fn)`",
        tf2="a Keras model: `model.compile(...)` + `model.fit(dataset)`",
        why="`tf.estimator` was removed in TensorFlow 2.16",
        stage="loop",
        docs=(GUIDE + "migrate/migrating_estimator", API + "tf/keras/Model#fit"),
        tf2_symbols=("keras.Model.fit",),
        removed=("tf.estimator", "tf.compat.v1.estimator"),
        tf1_code=(r"\btf\.(?:compat\.v1\.)?estimator\b",),
    ),
    # --- evaluate -----------------------------------------------------------------------------
    ApiMapping(
        tf1="`sess.run(accuracy, feed_dict={x: test_images, y_: test_labels})`",
        tf2="`model.evaluate(x, y, return_dict=True)` with a Keras metric",
        why="Keras computes the metrics given to `compile` over the data you pass, batch by batch",
        stage="evaluate",
        docs=(API + "tf/keras/Model#evaluate", API + "tf/keras/metrics/CategoricalAccuracy"),
        tf1_symbols=("tf.compat.v1.Session.run",),
        tf2_symbols=("keras.Model.evaluate", "keras.metrics.CategoricalAccuracy"),
        tf2_code=(r"\.evaluate\(",),
    ),
)


def code_only(source: str) -> str:
    """`source` with comments and docstrings blanked out (same lines and columns), so that a
    mapping is found in what code does, never in what its prose mentions."""
    lines = source.splitlines(keepends=True)
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return source  # not Python we can tokenize: search it as it is
    blank: list[tuple[tuple[int, int], tuple[int, int]]] = []
    line_start = True  # at the start of a logical line (where a docstring would stand)
    for i, tok in enumerate(tokens):
        if tok.type == tokenize.COMMENT:
            blank.append((tok.start, tok.end))
        elif tok.type == tokenize.STRING and line_start:
            following = next((t for t in tokens[i + 1:] if t.type not in (tokenize.COMMENT, tokenize.NL)), None)
            if following is None or following.type in (tokenize.NEWLINE, tokenize.ENDMARKER):
                blank.append((tok.start, tok.end))
        if tok.type not in (tokenize.NL, tokenize.COMMENT):
            line_start = tok.type in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT)
    chars = [list(line) for line in lines]
    for (row0, col0), (row1, col1) in blank:
        for row in range(row0, row1 + 1):
            line = chars[row - 1]
            start = col0 if row == row0 else 0
            end = col1 if row == row1 else len(line)
            for col in range(start, min(end, len(line))):
                if line[col] != "\n":
                    line[col] = " "
    return "".join("".join(line) for line in chars)


def find_mappings(source: str) -> list[tuple[ApiMapping, list[int]]]:
    """The mappings `source` exercises, in table order, each with the 1-based lines that match."""
    code = code_only(source)
    found = []
    for mapping in MAPPINGS:
        lines = mapping.match_lines(code)
        if lines:
            found.append((mapping, lines))
    return found


def tf_symbols_used(source: str, prefix: str = "tf.") -> dict[str, list[int]]:
    """Every dotted name starting with `prefix` that `source` uses (longest chain only), with its lines.

    `tf.compat.v1.train.AdamOptimizer(...)` gives `tf.compat.v1.train.AdamOptimizer`, never
    its parents `tf.compat.v1.train` or `tf.compat`.
    """
    tree = ast.parse(source)
    inner = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    used: dict[str, list[int]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and id(node) not in inner:
            name = dotted_name(node)
            if name and name.startswith(prefix):
                used.setdefault(name, []).append(node.lineno)
    return {name: sorted(lines) for name, lines in sorted(used.items())}


def dotted_name(node: ast.AST) -> str | None:
    """`a.b.c` for a chain of attributes on a plain name; None for anything else (calls, subscripts)."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


class SymbolNotFound(LookupError):
    """A dotted name that the installed TensorFlow / Keras does not provide."""


ROOT_MODULES = {"tf": "tensorflow", "keras": "keras", "tensorflow": "tensorflow"}


def resolve_symbol(dotted: str) -> Any:
    """The object `dotted` ("tf.compat.v1.placeholder", "keras.optimizers.SGD",
    "tensorflow.examples.tutorials") names in the installed packages.

    Raises SymbolNotFound with the reason, including TensorFlow's own message where it has one
    ("`dense` is not available with Keras 3.").
    """
    root, *parts = dotted.split(".")
    if root not in ROOT_MODULES:
        raise ValueError(f"{dotted!r}: symbols must start with one of {sorted(ROOT_MODULES)}")
    module_path = ROOT_MODULES[root]
    obj = importlib.import_module(module_path)
    for part in parts:
        module_path = f"{module_path}.{part}"
        try:
            obj = getattr(obj, part)
            continue
        except Exception as exc:  # TensorFlow's lazy loaders raise more than AttributeError
            reason = f"{type(exc).__name__}: {exc}"
        # A submodule not imported yet (tensorflow.examples...). Only below a real, imported
        # module: importing through one of TensorFlow's lazy loaders would replace it.
        parent = sys.modules.get(module_path.rpartition(".")[0])
        if parent is not obj:
            raise SymbolNotFound(f"{dotted}: {reason}")
        try:
            obj = importlib.import_module(module_path)
        except ImportError as exc:
            raise SymbolNotFound(f"{dotted}: {reason}; import: {exc}") from None
    return obj
