"""The TF1 -> TF2 table's rows for the larger models and the regression tutorials (issues 16, 17).

The MLPs' and the CNN's layers (convolution, pooling, dropout), placed in `api_table.STAGE_ROWS`
after the dense layer's, and the regression tutorials' input iterator and hand-written losses
(`TUTORIAL_ROWS`); apart only to keep each table module a readable length.
"""

from __future__ import annotations

from tfparity.compat.api_entry import API, ApiMapping

LAYER_ROWS: tuple[ApiMapping, ...] = (
    ApiMapping(
        tf1="`tf.compat.v1.nn.conv2d(x, W, strides=[1, 1, 1, 1], padding='SAME')` on your own variables",
        tf2="`tf.nn.conv2d(x, W, strides=1, padding='SAME')`, or `keras.layers.Conv2D(filters, kernel_size, "
        "padding='same')`",
        why=(
            "the same op; TF2's takes `strides` as an int and has no `use_cudnn_on_gpu`. A Keras `Conv2D` owns its "
            "kernel (laid out as TF1's, height x width x in x out) and bias, initialized glorot_uniform and zeros, "
            "not the tutorial's truncated_normal(stddev=0.1) and 0.1: copy them in to compare"
        ),
        stage="model",
        in_styles=True,
        docs=(API + "tf/compat/v1/nn/conv2d", API + "tf/keras/layers/Conv2D"),
        tf1_symbols=("tf.compat.v1.nn.conv2d",),
        tf2_symbols=("tf.nn.conv2d", "keras.layers.Conv2D"),
        tf1_code=(r"\bcompat\.v1\.nn\.conv2d\(",),
        tf2_code=(r"(?<![\w.])tf\.nn\.conv2d\(|\blayers\.Conv2D\(",),
    ),
    ApiMapping(
        tf1="`tf.compat.v1.nn.max_pool(x, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding='SAME')`",
        tf2="`tf.nn.max_pool2d(x, 2, 2, 'SAME')`, or `keras.layers.MaxPooling2D(2, padding='same')`",
        why=(
            "`ksize` and `strides` take ints; Keras' `MaxPooling2D` pads 'valid' by default, which on an odd size "
            "(7x7) gives 3x3 where TF1's 'SAME' gave 4x4: state padding='same' to keep TF1's shapes"
        ),
        stage="model",
        in_styles=True,
        docs=(API + "tf/compat/v1/nn/max_pool", API + "tf/keras/layers/MaxPool2D"),
        tf1_symbols=("tf.compat.v1.nn.max_pool",),
        tf2_symbols=("tf.nn.max_pool2d", "keras.layers.MaxPooling2D"),
        tf1_code=(r"\bcompat\.v1\.nn\.max_pool\(",),
        tf2_code=(r"\bnn\.max_pool2d\(|\blayers\.MaxPooling2D\(",),
    ),
    ApiMapping(
        tf1="`tf.compat.v1.nn.dropout(h, keep_prob)`, `keep_prob` fed 0.5 while training and 1.0 while evaluating",
        tf2="`tf.nn.dropout(h, rate=1 - keep_prob)` while training only, or `keras.layers.Dropout(rate)` called "
        "with `training=`; for masks that code elsewhere can replay, `tf.nn.experimental.stateless_dropout(h, rate, "
        "seed=[seed, step])`, the op Keras 3's `Dropout(rate, seed=seed)` calls at its step-th call",
        why=(
            "TF2's second argument is `rate`, the fraction dropped: the same number drops the complement "
            "(the `keep-prob-vs-rate` pitfall). `tf_upgrade_v2` rewrites the call to `rate=1 - (keep_prob)`; a "
            "hand port, or a Keras `Dropout` given the TF1 number, does not. TF1's masks came from a stateful op "
            "seeded per graph, which nothing in TF2 replays: tfparity's styles all draw the stateless op's"
        ),
        stage="model",
        in_styles=True,
        docs=(API + "tf/compat/v1/nn/dropout", API + "tf/nn/dropout", API + "tf/keras/layers/Dropout"),
        tf1_symbols=("tf.compat.v1.nn.dropout",),
        tf2_symbols=("tf.nn.dropout", "keras.layers.Dropout", "tf.nn.experimental.stateless_dropout"),
        tf1_code=(r"\bnn\.dropout\(|\bstateless_dropout\(", r"\bkeep_prob\b"),
        tf2_code=(
            r"\bnn\.dropout\(|\blayers\.Dropout\(|\bstateless_dropout\(|\bdropout\(",
            r"\brate\b|\bdropout_rate\b",
        ),
    ),
)

TUTORIAL_ROWS: tuple[ApiMapping, ...] = (
    ApiMapping(
        tf1="`X, Y = tf.compat.v1.data.make_one_shot_iterator(dataset).get_next()` in place of the placeholders",
        tf2="iterate the `tf.data.Dataset` itself (`for x, y in dataset: train_step(x, y)`), or `fit(dataset)`",
        why=(
            "in TF2 a Dataset is a Python iterable; TF1's iterator tensors were graph inputs that each "
            "`Session.run` pulled one batch through, so the loop ran until `OutOfRangeError`"
        ),
        stage="data",
        in_styles=True,
        docs=(API + "tf/compat/v1/data/make_one_shot_iterator", API + "tf/data/Dataset"),
        tf1_symbols=("tf.compat.v1.data.make_one_shot_iterator",),
        tf2_symbols=("tf.data.Dataset",),
        tf1_code=(r"\bmake_one_shot_iterator\(",),
        tf2_code=(r"\bDataset\.from_tensor_slices\(",),
    ),
    ApiMapping(
        tf1="the tutorials' losses by hand: `tf.reduce_mean(tf.square(Y - prediction))`, "
        "`-tf.reduce_mean(Y * tf.log(h) + (1 - Y) * tf.log(1 - h))` on `h = tf.sigmoid(z)`",
        tf2="the same expressions under a `tf.GradientTape`, or `keras.losses.MeanSquaredError()` and "
        "`keras.losses.BinaryCrossentropy()` with `Dense(1, activation='sigmoid')`",
        why=(
            "the same means, computed Keras' way: on a sigmoid's output Keras 3 takes the logits underneath "
            "(`sigmoid_cross_entropy_with_logits`), finite where `log(h)` is -inf at h = 0; the weights differ "
            "by rounding only (keras.fit within 1e-6 of TF1 on Pima)"
        ),
        stage="loss",
        in_styles=True,
        docs=(API + "tf/keras/losses/MeanSquaredError", API + "tf/keras/losses/BinaryCrossentropy"),
        tf1_symbols=("tf.math.square", "tf.math.sigmoid"),
        tf2_symbols=("keras.losses.MeanSquaredError", "keras.losses.BinaryCrossentropy"),
        tf1_code=(r"\breduce_mean\(tf\.square\(",),
        tf2_code=(r"\blosses\.(?:MeanSquaredError|BinaryCrossentropy)\(",),
    ),
)
