"""What `tfparity upgrade` knows about TF1 -> TF2: its finding kinds and its tables.

Every message here was checked against TensorFlow 2.21 and Keras 3 (the tests re-check the
symbols against the installed TensorFlow, and the raised messages in a fresh interpreter).
These stay apart from `compat.api_map` (the one curated table of TF1 -> TF2 mappings that
`sidebyside` shows) because that table's rows must be exercised by tfparity's own styles,
and these are the APIs the styles never use: failures seen in other people's TF1 scripts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from tfparity.benchmarks.upgrade_fixes import TUTORIAL_READER, Edit, Span

API_DOCS = "https://www.tensorflow.org/api_docs/python/"

# kind -> (makes the converted code fail?, what it means)
KINDS: dict[str, tuple[bool, str]] = {
    "eager-conflict": (True, "graph-only API reached with eager execution on"),
    "eager-capture": (True, "a tensor made while eager execution was on, used by graph code"),
    "changed-api": (True, "a TF1 call that TF2's API of the same name rejects"),
    "removed-import": (True, "import of a module TensorFlow no longer has"),
    "missing-symbol": (True, "tf. symbol that does not resolve in the installed TensorFlow"),
    "silent-change": (False, "a TF1 call that TF2's API of the same name runs differently, with no error"),
    "graph-only": (False, "graph-only API in a function nothing in this file calls"),
    "compat-v1": (False, "tf.compat.v1 use left: migration debt"),
}
EXIT_OK, EXIT_FAILS, EXIT_BAD_INPUT = 0, 1, 2

QUEUES_EAGER = ("Input pipelines based on Queues are not supported when eager execution is enabled. "
                "Please use tf.data to ingest data into your model instead.")
READERS_EAGER = ("Readers are not supported when eager execution is enabled. "
                 "Instead, please use tf.data to get data into your model.")

# Graph-only APIs (canonical names), what each raises with eager execution on, and the TF2 way.
# Checked against TensorFlow 2.21: each raises when called eagerly (Session: on run, see below).
GRAPH_ONLY: dict[str, tuple[str, str]] = {
    "tf.compat.v1.placeholder": (
        "RuntimeError: tf.placeholder() is not compatible with eager execution",
        "pass the batch as an argument of the (@tf.function) step that uses it"),
    "tf.compat.v1.sparse_placeholder": (
        "RuntimeError: `sparse_placeholder` is not compatible with eager execution",
        "pass a tf.SparseTensor as a function argument"),
    # Session and InteractiveSession raise nothing when made: what fails is their first run or
    # eval, and the audit names that line and its error (`session_failure`).
    "tf.compat.v1.Session": (
        "RuntimeError on its first run: The Session graph is empty. Add operations to the graph before calling run()",
        "no session: call the step directly; @tf.function gives back graph speed"),
    "tf.compat.v1.InteractiveSession": (
        "NotImplementedError on eval: eval is not supported when eager execution is enabled, is .numpy() what you're looking for?",
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
    # Queue-based input: each raises where it is called, long before start_queue_runners.
    **{f"tf.compat.v1.train.{name}": (f"{error}: {QUEUES_EAGER}", tf2) for name, (error, tf2) in {
        "slice_input_producer": ("RuntimeError", "tf.data.Dataset.from_tensor_slices(tuple(tensors)).shuffle(n).repeat(epochs)"),
        "string_input_producer": ("RuntimeError", "tf.data.Dataset.from_tensor_slices(filenames) + tf.data.TFRecordDataset / TextLineDataset"),
        "range_input_producer": ("RuntimeError", "tf.data.Dataset.range(limit).shuffle(limit).repeat(epochs)"),
        "input_producer": ("RuntimeError", "tf.data.Dataset.from_tensor_slices(tensor).shuffle(n).repeat(epochs)"),
        "batch": ("ValueError", "dataset.batch(batch_size)"),
        "shuffle_batch": ("ValueError", "dataset.shuffle(min_after_dequeue).batch(batch_size)"),
        "batch_join": ("ValueError", "dataset.interleave(...).batch(batch_size)"),
        "shuffle_batch_join": ("ValueError", "dataset.interleave(...).shuffle(min_after_dequeue).batch(batch_size)"),
        "maybe_batch": ("ValueError", "dataset.filter(...).batch(batch_size)"),
    }.items()},
    **{f"tf.compat.v1.{name}": (f"RuntimeError: {READERS_EAGER}", tf2) for name, tf2 in {
        "WholeFileReader": "tf.data.Dataset.from_tensor_slices(filenames).map(tf.io.read_file)",
        "TFRecordReader": "tf.data.TFRecordDataset(filenames)",
        "TextLineReader": "tf.data.TextLineDataset(filenames)",
        "FixedLengthRecordReader": "tf.data.FixedLengthRecordDataset(filenames, record_bytes)",
    }.items()},
    # A pseudo-symbol: tf.compat.v1.device given a device function (tf.device takes none at all).
    "tf.compat.v1.device(function)": (
        "RuntimeError: tf.device does not support functions when eager execution is enabled.",
        "tf.distribute.experimental.ParameterServerStrategy, or tf.device('/job:ps/task:0') around each variable"),
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
        f"`import {TUTORIAL_READER} as input_data`: tfparity's copy of the old reader (read_data_sets(dir, one_hot=True), "
        ".train.next_batch); or tf.keras.datasets.mnist.load_data() (TF 1.x's own input_data.py imports tf.contrib)"),
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
    "train.replica_device_setter": "tf.distribute.experimental.ParameterServerStrategy",
    "device": "tf.device with a device name (TF2's tf.device takes no device functions)",
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


# TF1 summary ops whose names TF2's tf.summary took over: name -> index of TF2's `step` argument.
# TF1 code calls them without a step (and with TF1-only keywords), then merges them with merge_all.
SUMMARY_OPS: dict[str, int] = {"scalar": 2, "histogram": 2, "image": 2, "text": 2, "audio": 3}
TF1_SUMMARY_KEYWORDS = frozenset({"tensor", "values", "collections", "family"})
SUMMARY_CAUSE = "tf.summary.* is TF2's summary API, not TF1's"
SUMMARY_TF2 = "tf.summary.{op}(name, data, step=step) inside `with tf.summary.create_file_writer(logdir).as_default():`"
# What tf.summary.* raises when TensorBoard (which implements TF2's summary ops) is absent.
TB_MISSING = "TBNotInstalledError: TensorBoard is not installed, missing implementation for tf.summary.{op}"
MERGE_NONE = "TypeError: Argument `fetch` = None has invalid type \"NoneType\""

DEVICE_CAUSE = "TF2's tf.device takes a device name, not a device function"
DEVICE_RAISES = "RuntimeError: tf.device does not support functions."
DEVICE_SETTERS = ("tf.compat.v1.train.replica_device_setter", "tf.train.replica_device_setter")

EAGER_CAUSE = "eager execution is on (TF2's default) and nothing turns it off"
CAPTURE_CAUSE = "tensors made while eager execution was on are used by graph code"
CAPTURE_RAISES = "RuntimeError: <op input>: Attempting to capture an EagerTensor without building a function."
SESSION_RUN_RAISES = "RuntimeError: The Session graph is empty. Add operations to the graph before calling run()."
EVAL_RAISES = "NotImplementedError: eval is not supported when eager execution is enabled, is .numpy() what you're looking for?"

# tf. calls whose result is not a tensor (or is made for its side effect): a module-level name
# bound to one is no EagerTensor for graph code to capture.
NOT_TENSOR_PREFIXES = (
    "tf.compat.v1.flags", "tf.compat.v1.app", "tf.compat.v1.logging", "tf.io.gfile", "tf.compat.v1.gfile", "tf.config",
    "tf.test", "tf.summary", "tf.compat.v1.summary", "tf.data", "tf.compat.v1.data", "tf.keras", "tf.train",
    "tf.compat.v1.train", "tf.saved_model", "tf.distribute", "tf.sysconfig", "tf.random.set_seed",
    "tf.compat.v1.set_random_seed", "tf.compat.v1.get_default_graph", "tf.compat.v1.reset_default_graph",
    "tf.compat.v1.disable_", "tf.compat.v1.enable_", "tf.compat.v1.global_variables_initializer",
    "tf.compat.v1.initialize_all_variables", "tf.compat.v1.local_variables_initializer", "tf.device", "tf.name_scope",
    "tf.compat.v1.variable_scope", "tf.compat.v1.name_scope", "tf.compat.v1.placeholder", "tf.compat.v1.ConfigProto",
)


@dataclass(frozen=True)
class Finding:
    line: int
    kind: str
    symbol: str
    problem: str  # what happens at this line
    fix: str  # what makes this line run
    edit: Edit | Span | None = None
    docs: str = ""  # the TensorFlow API page of the symbol, where it has one
    cause: str = ""  # shared by every finding one change fixes: the report groups by it
    tf2: str = ""  # the TF2 way, past the immediate fix

    @property
    def fatal(self) -> bool:
        return KINDS[self.kind][0]

    @property
    def group(self) -> tuple[str, str]:
        return self.kind, self.cause or f"{self.symbol}: {self.problem}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "fatal": self.fatal}


def lookup_prefix(table: dict[str, str], dotted: str) -> str | None:
    """The entry for `dotted` or its longest dotted prefix."""
    key = prefix_key(table, dotted)
    return None if key is None else table[key]


def prefix_key(table: dict, dotted: str) -> str | None:
    """The longest of `dotted` and its dotted prefixes that `table` has."""
    parts = dotted.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in table:
            return ".".join(parts[:n])
    return None
