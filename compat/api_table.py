"""The TF1 -> TF2 table's rows by training stage: what `tfparity sidebyside` shows beside the styles.

Most of them are exercised by tfparity's own styles (`in_styles`); the others name TF1 APIs the
styles do not use, most of them gone from TensorFlow 2. Where the upgrade audit talks about a
row's API, the row carries its texts too (`symbols`, `fix`, `gone`, `raises`, `tf2_way`: see
`api_entry`).
"""

from __future__ import annotations

from tfparity.compat.api_entry import (
    API,
    GUIDE,
    KERAS3_OTHER_FIX,
    SESSION_RUN_RAISES,
    TUTORIAL_READER,
    ApiMapping,
)
from tfparity.compat.api_table_distributed import DISTRIBUTED_ROWS
from tfparity.compat.api_table_layers import LAYER_ROWS, TUTORIAL_ROWS

STAGE_ROWS: tuple[ApiMapping, ...] = (
    # --- data ---------------------------------------------------------------------------------
    ApiMapping(
        tf1="`tf.compat.v1.placeholder`",
        tf2="a function argument: the batch is passed to the function that uses it",
        why=(
            "placeholders only exist in a graph: with eager execution on (the TF2 default) `placeholder()` raises "
            "RuntimeError"
        ),
        stage="data",
        docs=(API + "tf/compat/v1/placeholder", GUIDE + "migrate/migrate_tf2"),
        tf1_symbols=("tf.compat.v1.placeholder",),
        removed=("tf.placeholder",),
        tf1_code=(r"\bplaceholder\(",),
        in_styles=True,
        symbols=("tf.compat.v1.placeholder",),
        fix="a function argument: pass the batch to the (@tf.function) step",
        raises="RuntimeError: tf.placeholder() is not compatible with eager execution",
        tf2_way="pass the batch as an argument of the (@tf.function) step that uses it",
    ),
    ApiMapping(
        tf1="`tf.compat.v1.placeholder_with_default`",
        tf2="a function argument with a default value",
        why=(
            "TensorFlow discourages it under eager execution and `tf.function`: pass the value as an argument "
            "(a `tf.TensorSpec` input signature keeps a partly known shape)"
        ),
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
        symbols=("tensorflow.examples.tutorials",),
        gone=(
            f"`import {TUTORIAL_READER} as input_data`: tfparity's copy of the old reader "
            "(read_data_sets(dir, one_hot=True), .train.next_batch); or tf.keras.datasets.mnist.load_data() "
            "(TF 1.x's own input_data.py imports tf.contrib)"
        ),
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
        in_styles=True,
    ),
    # --- model --------------------------------------------------------------------------------
    ApiMapping(
        tf1="`tf.compat.v1.Variable`",
        tf2="`tf.Variable`",
        why=(
            "TF2 variables are resource variables that hold their value from the moment they are created: "
            "no initializer op, no graph collections"
        ),
        stage="model",
        docs=(API + "tf/compat/v1/Variable", API + "tf/Variable"),
        tf1_symbols=("tf.compat.v1.Variable",),
        tf2_symbols=("tf.Variable",),
        tf1_code=(r"\bcompat\.v1\.Variable\(",),
        tf2_code=(r"(?<![\w.])tf\.Variable\(",),
        in_styles=True,
        symbols=("tf.compat.v1.Variable",),
        fix="tf.Variable",
    ),
    ApiMapping(
        tf1="`tf.compat.v1.layers.dense` (or `tf.matmul(x, W) + b` on your own variables)",
        tf2="`keras.layers.Dense`",
        why=(
            '`tf.compat.v1.layers` raises "not available with Keras 3" on TensorFlow 2.16 and later; '
            "a Keras `Dense` owns its kernel and bias (`set_weights` loads existing values)"
        ),
        stage="model",
        docs=(API + "tf/compat/v1/layers/dense", API + "tf/keras/layers/Dense"),
        tf2_symbols=("keras.layers.Dense",),
        removed=("tf.layers.dense", "tf.compat.v1.layers.dense"),
        tf1_code=(r"\blayers\.dense\(",),
        tf2_code=(r"\blayers\.Dense\(",),
        in_styles=True,
        symbols=("tf.compat.v1.layers.dense",),
        gone=f"tf.keras.layers.Dense(units, activation=...)(x) {KERAS3_OTHER_FIX}",
    ),
    ApiMapping(
        tf1="`tf.contrib` (for example `tf.contrib.layers.fully_connected`)",
        tf2="Keras layers (`keras.layers.Dense`, ...); TF-Slim or TF Addons for the rest",
        why="`tf.contrib` was removed in TensorFlow 2.0, and `tf_upgrade_v2` cannot convert most of it",
        stage="model",
        docs=(GUIDE + "migrate", API + "tf/keras/layers/Dense"),
        tf2_symbols=("keras.layers.Dense",),
        removed=("tf.contrib", "tensorflow.contrib"),
        tf1_code=(r"\btf\.contrib\b",),
        symbols=("tensorflow.contrib", "tf.contrib"),
        gone=(
            "tf.contrib was removed in TF 2.0: contrib.layers -> tf.keras.layers, contrib.slim -> the tf-slim package "
            "(import tf_slim as slim), contrib.learn datasets -> tf.keras.datasets, "
            "contrib.rnn -> tf.keras.layers RNN cells in TF2 code (code that keeps its Session: tf_keras with "
            "TF_USE_LEGACY_KERAS=1 and tf.compat.v1.nn.rnn_cell)"
        ),
    ),
    *LAYER_ROWS,  # conv2d, max_pool, dropout: api_table_layers.py
    # --- loss ---------------------------------------------------------------------------------
    *TUTORIAL_ROWS,  # the regression tutorials' iterator (data) and losses: api_table_layers.py
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
        in_styles=True,
    ),
    ApiMapping(
        tf1="`tf.compat.v1.nn.softmax_cross_entropy_with_logits_v2`",
        tf2="`tf.nn.softmax_cross_entropy_with_logits`",
        why=(
            "TF2 ships the `_v2` op under the plain name (the old un-suffixed op, which kept gradients out of "
            "the labels, is gone): same numbers"
        ),
        stage="loss",
        docs=(
            API + "tf/compat/v1/nn/softmax_cross_entropy_with_logits_v2",
            API + "tf/nn/softmax_cross_entropy_with_logits",
        ),
        tf1_symbols=("tf.compat.v1.nn.softmax_cross_entropy_with_logits_v2",),
        tf2_symbols=("tf.nn.softmax_cross_entropy_with_logits",),
        removed=("tf.nn.softmax_cross_entropy_with_logits_v2",),
        tf1_code=(r"\bsoftmax_cross_entropy_with_logits_v2\(",),
        tf2_code=(r"\bnn\.softmax_cross_entropy_with_logits\(",),
        in_styles=True,
        symbols=("tf.compat.v1.nn.softmax_cross_entropy_with_logits_v2",),
        fix="tf.nn.softmax_cross_entropy_with_logits",
    ),
    ApiMapping(
        tf1="`-tf.reduce_sum(y_ * tf.log(tf.nn.softmax(logits)))`",
        tf2=(
            "a loss on the logits: `keras.losses.CategoricalCrossentropy(from_logits=True)` or "
            "`tf.nn.softmax_cross_entropy_with_logits`"
        ),
        why=(
            "`log(softmax)` is -inf as soon as a probability underflows to 0, and the loss turns NaN; a loss given "
            "logits computes log-softmax stably (tfparity keeps the tutorial's form as `--loss tutorial`)"
        ),
        stage="loss",
        docs=(API + "tf/keras/losses/CategoricalCrossentropy", API + "tf/nn/softmax_cross_entropy_with_logits"),
        tf1_symbols=("tf.compat.v1.log", "tf.nn.softmax"),
        tf2_symbols=("keras.losses.CategoricalCrossentropy", "tf.nn.softmax_cross_entropy_with_logits"),
        removed=("tf.log",),
        tf1_code=(r"\bnn\.softmax\(", r"\blog\("),
        tf2_code=(r"\bfrom_logits\s*=\s*True\b",),
        in_styles=True,
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
        in_styles=True,
        symbols=("tf.compat.v1.train.GradientDescentOptimizer",),
        fix="tf.keras.optimizers.SGD(learning_rate)",
    ),
    ApiMapping(
        tf1="`tf.compat.v1.train.AdamOptimizer`",
        tf2="`keras.optimizers.Adam`, with `epsilon` stated",
        why=(
            "TF1 defaults `epsilon` to 1e-8, Keras to 1e-7, enough on its own to make the weights drift apart; "
            "`beta1`/`beta2` are renamed `beta_1`/`beta_2`"
        ),
        stage="optimizer",
        docs=(API + "tf/compat/v1/train/AdamOptimizer", API + "tf/keras/optimizers/Adam"),
        tf1_symbols=("tf.compat.v1.train.AdamOptimizer",),
        tf2_symbols=("keras.optimizers.Adam",),
        removed=("tf.train.AdamOptimizer",),
        tf1_code=(r"\bAdamOptimizer\(",),
        tf2_code=(r"\boptimizers\.Adam\(",),
        in_styles=True,
        symbols=("tf.compat.v1.train.AdamOptimizer",),
        fix="tf.keras.optimizers.Adam(learning_rate, epsilon=1e-8): TF1's epsilon, Keras defaults to 1e-7",
    ),
    ApiMapping(
        tf1="`tf.compat.v1.train.Optimizer`",
        tf2="`keras.optimizers.Optimizer`",
        why=(
            "a separate class hierarchy: Keras optimizers apply the gradients you give them and have no "
            "`minimize(loss_tensor)`"
        ),
        stage="optimizer",
        docs=(API + "tf/compat/v1/train/Optimizer", API + "tf/keras/optimizers/Optimizer"),
        tf1_symbols=("tf.compat.v1.train.Optimizer",),
        tf2_symbols=("keras.optimizers.Optimizer",),
        removed=("tf.train.Optimizer",),
        tf1_code=(r"\bcompat\.v1\.train\.Optimizer\b",),
        in_styles=True,
        symbols=("tf.compat.v1.train.Optimizer",),
        fix="tf.keras.optimizers.Optimizer",
    ),
    ApiMapping(
        tf1="`tf.compat.v1.train.RMSPropOptimizer(learning_rate)`",
        tf2="`keras.optimizers.RMSprop(learning_rate, epsilon=1e-10)`, its velocities set to ones after `build()`",
        why=(
            "TF1's mean square starts at ones and its epsilon is 1e-10; Keras' starts at zeros with 1e-7, so its "
            "first steps are about 3x the learning rate per weight where TF1's are about lr * gradient (the "
            "`rmsprop-defaults` pitfall measures both defaults); the MLP's styles (`--model mlp`) exercise it"
        ),
        stage="optimizer",
        docs=(API + "tf/compat/v1/train/RMSPropOptimizer", API + "tf/keras/optimizers/RMSprop"),
        tf1_symbols=("tf.compat.v1.train.RMSPropOptimizer",),
        tf2_symbols=("keras.optimizers.RMSprop",),
        tf1_code=(r"\bRMSPropOptimizer\(",),
        tf2_code=(r"\boptimizers\.RMSprop\(",),
        in_styles=True,
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
        in_styles=True,
        symbols=("tf.Session",),
        gone="no session: call the step directly (@tf.function for graph speed)",
    ),
    ApiMapping(
        tf1="`optimizer.minimize(loss)`, a train op the session runs",
        tf2="`tf.GradientTape` + `optimizer.apply_gradients(zip(grads, variables))`",
        why=(
            "eager code has no graph to differentiate later: record the forward pass on a tape, take its gradients, "
            "apply them"
        ),
        stage="train step",
        docs=(API + "tf/GradientTape", API + "tf/keras/optimizers/Optimizer#apply_gradients"),
        tf1_symbols=("tf.compat.v1.train.Optimizer.minimize",),
        tf2_symbols=("tf.GradientTape", "keras.optimizers.Optimizer.apply_gradients"),
        tf1_code=(r"\.minimize\(",),
        tf2_code=(r"\bGradientTape\(", r"\.apply_gradients\("),
        in_styles=True,
        # Pseudo-uses of the audit's: minimize() or compute_gradients() given a tensor, not a function.
        symbols=("tf.compat.v1.train.Optimizer.minimize", "tf.compat.v1.train.Optimizer.compute_gradients"),
        fix="tf.GradientTape + optimizer.apply_gradients(zip(grads, variables))",
        raises=(
            "RuntimeError: `loss` passed to Optimizer.compute_gradients should be a function "
            "when eager execution is enabled"
        ),
        tf2_way="tf.GradientTape + optimizer.apply_gradients, or minimize(lambda: loss, var_list)",
    ),
    ApiMapping(
        tf1="`tf.Graph()` + `tf.compat.v1.Session(graph=...)`",
        tf2="`@tf.function` on the step (or plain eager calls)",
        why=(
            "TF2 executes eagerly; `tf.function` traces the Python step into a graph once per input signature "
            "and reruns that graph, the speed a session gave"
        ),
        stage="train step",
        docs=(API + "tf/compat/v1/Session", API + "tf/function", GUIDE + "function"),
        tf1_symbols=("tf.Graph", "tf.compat.v1.Session"),
        tf2_symbols=("tf.function",),
        removed=("tf.Session",),
        tf1_code=(r"\bSession\b",),
        tf2_code=(r"@tf\.function\b",),
        in_styles=True,
        symbols=("tf.compat.v1.Session",),
        fix="no session: call the step directly; @tf.function gives graph speed",
        raises=SESSION_RUN_RAISES,
        tf2_way="no session: call the step directly; @tf.function gives back graph speed",
    ),
    ApiMapping(
        tf1="`train_op = optimizer.minimize(loss)`",
        tf2="`model.compile(optimizer=..., loss=..., metrics=...)`",
        why=(
            "`compile` writes the train step (forward, loss, gradients, update, metrics) that `fit` runs as a "
            "`tf.function`"
        ),
        stage="train step",
        docs=(API + "tf/keras/Model#compile",),
        tf1_symbols=("tf.compat.v1.train.Optimizer.minimize",),
        tf2_symbols=("keras.Model.compile",),
        tf2_code=(r"\.compile\(",),
        in_styles=True,
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
        in_styles=True,
        symbols=(
            "tf.compat.v1.global_variables_initializer",
            "tf.compat.v1.initialize_all_variables",
            "tf.compat.v1.local_variables_initializer",
            "tf.compat.v1.variables_initializer",
        ),
        fix="nothing: TF2 variables are initialized when created",
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
        in_styles=True,
    ),
    ApiMapping(
        tf1="`tf.estimator.Estimator(...).train(input_fn)`",
        tf2="a Keras model: `model.compile(...)` + `model.fit(dataset)`",
        why="`tf.estimator` was removed in TensorFlow 2.16",
        stage="loop",
        docs=(GUIDE + "migrate/migrating_estimator", API + "tf/keras/Model#fit"),
        tf2_symbols=("keras.Model.fit",),
        removed=("tf.estimator", "tf.compat.v1.estimator", "tensorflow.estimator"),
        tf1_code=(r"\btf\.(?:compat\.v1\.)?estimator\b",),
        symbols=("tensorflow.estimator", "tf.estimator", "tf.compat.v1.estimator"),
        gone=(
            "tf.estimator was removed in TF 2.16: rewrite with Keras (model.compile + model.fit) or a tf.GradientTape "
            "loop; or pin tensorflow<2.16 (with tensorflow-estimator) to keep it"
        ),
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
        tf2_code=(r"\bmodel\.evaluate\(",),
    ),
    *DISTRIBUTED_ROWS,  # data-parallel training, every stage: api_table_distributed.py
)
