"""The TF1 -> TF2 table's rows that only `tfparity upgrade` reads, by training stage.

The TF1 APIs tfparity's styles never use, found in other people's TF1 scripts: graph-only APIs
and what each raises with eager execution on, queue-based input, summaries, device functions,
the `tf.compat.v1` names left after tf_upgrade_v2 and what replaces them, and the TF 1.x names
TensorFlow 2 no longer has. Every message was checked against TensorFlow 2.21 and Keras 3: the
tests resolve each name in the installed TensorFlow and re-raise the new messages in a fresh
interpreter.
"""

from __future__ import annotations

from tfparity.compat.api_entry import EVAL_RAISES, KERAS3_OTHER_FIX, SUMMARY_MERGE_RAISES, ApiMapping, symbol_row

QUEUES_EAGER = (
    "Input pipelines based on Queues are not supported when eager execution is enabled. "
    "Please use tf.data to ingest data into your model instead."
)
READERS_EAGER = (
    "Readers are not supported when eager execution is enabled. "
    "Instead, please use tf.data to get data into your model."
)
V1 = "tf.compat.v1."
# TF1's initializer classes (tf.compat.v1.*: a dtype in the constructor) -> the Keras class TF2 code uses
V1_INITIALIZERS = {
    "zeros_initializer": "Zeros",
    "ones_initializer": "Ones",
    "constant_initializer": "Constant",
    "random_normal_initializer": "RandomNormal",
    "truncated_normal_initializer": "TruncatedNormal",
    "random_uniform_initializer": "RandomUniform",
    "glorot_uniform_initializer": "GlorotUniform",
    "glorot_normal_initializer": "GlorotNormal",
    "variance_scaling_initializer": "VarianceScaling",
    "orthogonal_initializer": "Orthogonal",
}

# Queue-based input: each raises where it is called, long before start_queue_runners.
QUEUE_INPUT = {
    "slice_input_producer": (
        "RuntimeError",
        "tf.data.Dataset.from_tensor_slices(tuple(tensors)).shuffle(n).repeat(epochs)",
    ),
    "string_input_producer": (
        "RuntimeError",
        "tf.data.Dataset.from_tensor_slices(filenames) + tf.data.TFRecordDataset / TextLineDataset",
    ),
    "range_input_producer": ("RuntimeError", "tf.data.Dataset.range(limit).shuffle(limit).repeat(epochs)"),
    "input_producer": ("RuntimeError", "tf.data.Dataset.from_tensor_slices(tensor).shuffle(n).repeat(epochs)"),
    "batch": ("ValueError", "dataset.batch(batch_size)"),
    "shuffle_batch": ("ValueError", "dataset.shuffle(min_after_dequeue).batch(batch_size)"),
    "batch_join": ("ValueError", "dataset.interleave(...).batch(batch_size)"),
    "shuffle_batch_join": ("ValueError", "dataset.interleave(...).shuffle(min_after_dequeue).batch(batch_size)"),
    "maybe_batch": ("ValueError", "dataset.filter(...).batch(batch_size)"),
}
READERS = {
    "WholeFileReader": "tf.data.Dataset.from_tensor_slices(filenames).map(tf.io.read_file)",
    "TFRecordReader": "tf.data.TFRecordDataset(filenames)",
    "TextLineReader": "tf.data.TextLineDataset(filenames)",
    "FixedLengthRecordReader": "tf.data.FixedLengthRecordDataset(filenames, record_bytes)",
}
# TF1's streaming metrics (tf.compat.v1.metrics.*: graph-only, local variables) -> the Keras metric class.
V1_METRICS = {
    "accuracy": "Accuracy",
    "auc": "AUC",
    "mean": "Mean",
    "mean_absolute_error": "MeanAbsoluteError",
    "mean_squared_error": "MeanSquaredError",
    "root_mean_squared_error": "RootMeanSquaredError",
    "precision": "Precision",
    "recall": "Recall",
    "precision_at_thresholds": "Precision(thresholds=...)",
    "recall_at_thresholds": "Recall(thresholds=...)",
    "recall_at_k": "Recall(top_k=k)",
    "true_positives": "TruePositives",
    "false_positives": "FalsePositives",
    "true_negatives": "TrueNegatives",
    "false_negatives": "FalseNegatives",
    "mean_iou": "MeanIoU",
    "sensitivity_at_specificity": "SensitivityAtSpecificity",
    "specificity_at_sensitivity": "SpecificityAtSensitivity",
}


def metric_raises(name: str) -> str:
    """What tf.compat.v1.metrics.<name> raises with eager execution on (recall's message says it twice)."""
    twice = " is not supported" if name == "recall" else ""
    return f"RuntimeError: tf.metrics.{name} is not supported{twice} when eager execution is enabled"


# Graph collections: with eager execution on there is no graph to keep them, so these return [].
COLLECTIONS_EAGER = "returns [] with eager execution on (no graph keeps collections), raising nothing"
NO_COLLECTIONS = "no collections in TF2: keep the list yourself (update ops: Keras layers apply their own)"
# TF1's summary ops, whose names TF2's tf.summary took over (with a `step` argument).
TF1_SUMMARY_OPS = ("scalar", "histogram", "image", "text", "audio")
ABSL_FLAGS = "absl: from absl import flags"

SYMBOL_ROWS: tuple[ApiMapping, ...] = (
    # --- data ---------------------------------------------------------------------------------
    symbol_row(
        "data",
        V1 + "sparse_placeholder",
        fix="a tf.SparseTensor function argument",
        raises="RuntimeError: `sparse_placeholder` is not compatible with eager execution",
        tf2_way="pass a tf.SparseTensor as a function argument",
    ),
    *(
        symbol_row("data", f"{V1}train.{name}", fix=tf2, raises=f"{error}: {QUEUES_EAGER}")
        for name, (error, tf2) in QUEUE_INPUT.items()
    ),
    *(symbol_row("data", V1 + name, fix=tf2, raises=f"RuntimeError: {READERS_EAGER}") for name, tf2 in READERS.items()),
    symbol_row(
        "data",
        V1 + "train.start_queue_runners",
        fix="tf.data",
        raises="RuntimeError: Queues are not compatible with eager execution",
    ),
    symbol_row(
        "data", V1 + "data.make_one_shot_iterator", fix="iterate the dataset: for batch in dataset / iter(dataset)"
    ),
    symbol_row(
        "data",
        V1 + "data.make_initializable_iterator",
        fix="iterate the dataset: for batch in dataset",
        raises="RuntimeError: `make_initializable_iterator()` is not supported in eager mode",
        tf2_way="iterate the dataset with a for loop",
    ),
    symbol_row("data", "tf.contrib.learn.datasets", gone="tf.keras.datasets.mnist.load_data()"),
    # --- model --------------------------------------------------------------------------------
    symbol_row("model", V1 + "get_variable", fix="tf.Variable, or a Keras layer's add_weight"),
    symbol_row("model", V1 + "variable_scope", fix="tf.name_scope; Keras layers own their variables"),
    symbol_row("model", V1 + "assign", fix="variable.assign(value)"),
    symbol_row(
        "model", V1 + "while_loop", fix="tf.while_loop (a list of one loop variable comes back as a list of one)"
    ),
    symbol_row(
        "data",
        V1 + "image.resize",
        V1 + "image.resize_images",
        fix="tf.image.resize (half-pixel centres: other values than TF1's; align_corners is gone)",
    ),
    symbol_row("data", V1 + "string_split", fix="tf.strings.split (a RaggedTensor; .to_sparse() for TF1's)"),
    symbol_row("model", V1 + "keras", fix="tf.keras (Keras 3): the same name without compat.v1"),
    symbol_row(
        "model",
        V1 + "layers",
        fix="the matching tf.keras.layers class",
        gone=f"the matching tf.keras.layers class (Dense, Conv2D, BatchNormalization, ...) {KERAS3_OTHER_FIX}",
    ),
    symbol_row(
        "model",
        V1 + "layers.batch_normalization",
        gone=f"tf.keras.layers.BatchNormalization()(x, training=training) {KERAS3_OTHER_FIX}",
    ),
    symbol_row(
        "model",
        V1 + "nn.rnn_cell",
        gone=f"tf.keras.layers.LSTMCell / GRUCell / SimpleRNNCell in a tf.keras.layers.RNN {KERAS3_OTHER_FIX}",
        resolves=True,
    ),
    symbol_row(
        "model",
        "tf.layers.dense",
        gone="tf.keras.layers.Dense(units, activation=...)(x): a layer object that owns its kernel and bias",
    ),
    symbol_row("model", "tf.layers.conv2d", gone="tf.keras.layers.Conv2D(filters, kernel_size, ...)(x)"),
    symbol_row("model", "tf.layers.max_pooling2d", gone="tf.keras.layers.MaxPooling2D(pool_size, strides)(x)"),
    symbol_row("model", "tf.layers.dropout", gone="tf.keras.layers.Dropout(rate)(x, training=training)"),
    symbol_row("model", "tf.layers.flatten", gone="tf.keras.layers.Flatten()(x)"),
    symbol_row(
        "model", "tf.layers.batch_normalization", gone="tf.keras.layers.BatchNormalization()(x, training=training)"
    ),
    symbol_row(
        "model",
        "tf.layers",
        gone="the matching tf.keras.layers class, called on the tensor (Dense, Conv2D, Dropout, ...)",
    ),
    symbol_row("model", "tf.contrib.layers.fully_connected", gone="tf.keras.layers.Dense(units, activation='relu')(x)"),
    symbol_row("model", "tf.contrib.layers.xavier_initializer", gone="tf.keras.initializers.GlorotUniform()"),
    *(
        symbol_row(
            "model",
            f"{V1}{tf1_name}",
            fix=f"tf.keras.initializers.{keras_name}(...): the dtype goes to the call, not the constructor; "
            "seeded draws differ from TF1's",
        )
        for tf1_name, keras_name in V1_INITIALIZERS.items()
    ),
    symbol_row("model", V1 + "device", fix="tf.device with a device name (TF2's tf.device takes no device functions)"),
    symbol_row(
        "model",
        V1 + "device(function)",
        raises="RuntimeError: tf.device does not support functions when eager execution is enabled.",
        tf2_way=(
            "tf.distribute.experimental.ParameterServerStrategy, or tf.device('/job:ps/task:0') around each variable"
        ),
    ),
    # --- loss ---------------------------------------------------------------------------------
    symbol_row(
        "loss",
        V1 + "losses",
        fix="the tf.keras.losses class (e.g. SparseCategoricalCrossentropy(from_logits=True))",
    ),
    # --- optimizer ----------------------------------------------------------------------------
    symbol_row("optimizer", V1 + "train.MomentumOptimizer", fix="tf.keras.optimizers.SGD(learning_rate, momentum=...)"),
    symbol_row(
        "optimizer",
        V1 + "train.RMSPropOptimizer",
        fix="tf.keras.optimizers.RMSprop (to match TF1: epsilon=1e-10, velocities set to ones after build())",
    ),
    symbol_row("optimizer", V1 + "train.AdagradOptimizer", fix="tf.keras.optimizers.Adagrad"),
    symbol_row(
        "optimizer",
        V1 + "gradients",
        "tf.gradients",
        fix="tf.GradientTape",
        raises="RuntimeError: tf.gradients is not supported when eager execution is enabled",
    ),
    symbol_row(
        "optimizer",
        V1 + "train.get_global_step",
        V1 + "train.get_or_create_global_step",
        fix="optimizer.iterations",
    ),
    # --- train step ---------------------------------------------------------------------------
    symbol_row(
        "train step", V1 + "InteractiveSession", fix="no session: eager tensors have .numpy()", raises=EVAL_RAISES
    ),
    symbol_row(
        "train step",
        V1 + "disable_eager_execution",
        V1 + "disable_v2_behavior",
        fix="remove it once no graph-only API is left",
    ),
    symbol_row("model", V1 + "set_random_seed", fix="tf.random.set_seed (TF2's seeds are drawn per op otherwise)"),
    symbol_row("train step", V1 + "get_default_graph", fix="no global graph: tf.function traces its own"),
    symbol_row(
        "train step",
        V1 + "get_collection",
        V1 + "get_collection_ref",
        fix=NO_COLLECTIONS,
        eager_silent=COLLECTIONS_EAGER,
    ),
    symbol_row("train step", V1 + "GraphKeys", V1 + "add_to_collection", fix=NO_COLLECTIONS),
    symbol_row(
        "train step",
        V1 + "trainable_variables",
        V1 + "global_variables",
        V1 + "local_variables",
        V1 + "all_variables",
        fix="model.trainable_variables (a tf.Module's or keras.Model's), or the variables you made",
        eager_silent=COLLECTIONS_EAGER,
    ),
    symbol_row(
        "train step",
        "tf.keras.backend.set_session",
        "tf.keras.backend.get_session",
        V1 + "keras.backend.set_session",
        V1 + "keras.backend.get_session",
        gone=(
            "Keras 3 has no session: drop set_session and run the graph in your own tf.compat.v1.Session; "
            "or keep Keras 2: pip install tf_keras and set TF_USE_LEGACY_KERAS=1 before importing TensorFlow"
        ),
    ),
    symbol_row("train step", V1 + "reset_default_graph", fix="tf.keras.backend.clear_session(), or nothing"),
    # --- loop ---------------------------------------------------------------------------------
    symbol_row(
        "loop",
        V1 + "train.Saver",
        fix="tf.train.Checkpoint + tf.train.CheckpointManager",
        raises="RuntimeError: When eager execution is enabled, `var_list` must specify a list or dict of variables",
    ),
    symbol_row(
        "loop",
        V1 + "train.Supervisor",
        fix="a plain loop with tf.train.Checkpoint + tf.train.CheckpointManager",
        raises="RuntimeError: Supervisors are incompatible with eager execution",
    ),
    symbol_row(
        "loop",
        V1 + "train.MonitoredSession",
        V1 + "train.SingularMonitoredSession",
        fix="a plain loop with tf.train.Checkpoint + tf.train.CheckpointManager; hooks become code in the loop",
        raises=SUMMARY_MERGE_RAISES,
    ),
    symbol_row(
        "loop",
        V1 + "train.import_meta_graph",
        fix="tf.saved_model.load",
        raises="RuntimeError: Exporting/importing meta graphs is not supported when eager execution is enabled",
    ),
    symbol_row("loop", V1 + "summary", fix="tf.summary (TF2 summaries: write inside `with writer.as_default():`)"),
    symbol_row(
        "loop",
        V1 + "summary.FileWriter",
        fix="tf.summary.create_file_writer",
        raises="RuntimeError: v1.summary.FileWriter is not compatible with eager execution",
    ),
    symbol_row(
        "loop",
        V1 + "summary.merge_all",
        raises="RuntimeError: Merging tf.summary.* ops is not compatible with eager execution",
        tf2_way="write each summary inside `with writer.as_default():`",
    ),
    *(
        symbol_row(
            "loop",
            f"tf.summary.{op}",
            tf2_way=(
                f"tf.summary.{op}(name, data, step=step) inside `with "
                "tf.summary.create_file_writer(logdir).as_default():`"
            ),
        )
        for op in TF1_SUMMARY_OPS
    ),
    symbol_row(
        "loop",
        "tensorflow_estimator",
        gone="tensorflow-estimator stopped with TF 2.15: rewrite with Keras (compile + fit)",
    ),
    symbol_row("loop", V1 + "app", fix="absl: from absl import app"),
    symbol_row("loop", "tf.app", gone="absl: from absl import app, flags (app.run(main))"),
    symbol_row("loop", V1 + "flags", fix=ABSL_FLAGS),
    symbol_row("loop", "tf.flags", gone=ABSL_FLAGS),
    symbol_row("loop", V1 + "logging", fix="absl.logging, or print"),
    # --- evaluate -----------------------------------------------------------------------------
    symbol_row("evaluate", V1 + "metrics", fix="the tf.keras.metrics class"),
    *(
        symbol_row(
            "evaluate",
            f"{V1}metrics.{name}",
            fix=f"tf.keras.metrics.{keras}: update_state(labels, predictions) per batch, result() at the end",
            raises=metric_raises(name),
        )
        for name, keras in V1_METRICS.items()
    ),
)
