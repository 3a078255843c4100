"""Checkpoint pitfalls of the migration: names that depend on creation order, a TF1 checkpoint read by a
Keras 3 model, and the optimizer state a weights-only conversion leaves behind.

Each experiment writes real checkpoints into a temporary folder and reads them back the way the
migrating code would; the claims are what restores, what fails, and by how much the results move.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import tensorflow as tf

from tfparity.benchmarks import checkpoint_models
from tfparity.benchmarks.pitfalls.core import DataLoader, Measurement, Pitfall
from tfparity.compat import TrainConfig, parity
from tfparity.compat.checkpoints import convert, open_checkpoint

WIDTH = 64  # the hidden layers: two of them have the same shape, (64, 64)


def deep_net(x, reordered: bool = False, extra_first: bool = False):
    """784 -> 64 -> 64 -> 64 -> 10 on unnamed variables (TF1 names them Variable, Variable_1, ...)."""
    rng = np.random.default_rng(0)
    init = [
        rng.normal(0, 0.1, s).astype(np.float32) for s in ((784, WIDTH), (WIDTH, WIDTH), (WIDTH, WIDTH), (WIDTH, 10))
    ]
    if extra_first:  # a refactor adds a variable before the others (a step counter, say)
        tf.compat.v1.Variable(0.0)
    order = [0, 2, 1, 3] if reordered else [0, 1, 2, 3]  # another refactor builds layer 3 before layer 2
    made = {i: tf.compat.v1.Variable(init[i]) for i in order}
    h = x
    for i in range(3):
        h = tf.nn.relu(tf.matmul(h, made[i]))
    return tf.matmul(h, made[3])


def restore_into(prefix: str, images: np.ndarray, **variant) -> tuple[str, np.ndarray | None]:
    """Build the variant, restore `prefix` by name with a `Saver`, run it: ('restored' or the error, outputs)."""
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, 784])
        y = deep_net(x, **variant)
        with tf.compat.v1.Session() as sess:
            try:
                tf.compat.v1.train.Saver().restore(sess, prefix)
            except (tf.errors.NotFoundError, tf.errors.InvalidArgumentError, ValueError) as exc:
                return type(exc).__name__, None
            return "restored", sess.run(y, {x: images})


def measure_creation_order(data: DataLoader) -> Measurement:
    images = data("mnist").test.images[:1000]
    with tempfile.TemporaryDirectory() as folder:
        graph = tf.Graph()
        with graph.as_default():
            x = tf.compat.v1.placeholder(tf.float32, [None, 784])
            y = deep_net(x)
            with tf.compat.v1.Session() as sess:
                sess.run(tf.compat.v1.global_variables_initializer())
                reference = sess.run(y, {x: images})
                prefix = tf.compat.v1.train.Saver().save(sess, str(Path(folder) / "deep.ckpt"))
        same, same_out = restore_into(prefix, images)
        extra, _ = restore_into(prefix, images, extra_first=True)
        swapped, swapped_out = restore_into(prefix, images, reordered=True)
    swapped_diff = float(np.abs(swapped_out - reference).max()) if swapped_out is not None else float("nan")
    same_diff = float(np.abs(same_out - reference).max()) if same_out is not None else float("nan")
    agree = float(np.mean(np.argmax(swapped_out, 1) == np.argmax(reference, 1))) if swapped_out is not None else 0.0
    return Measurement(
        effect=(
            f"unchanged code restores exactly (max |diff| {same_diff:g}); an extra variable created first: {extra}; "
            f"two (64, 64) layers created in the other order: {swapped}, silently, outputs off by {swapped_diff:.3g} "
            f"and the argmax agrees on {agree:.1%} of 1,000 test images"
        ),
        checks={
            "an extra variable created first shifts every name: the restore fails": extra != "restored",
            "same-shape variables created in another order restore without an error, swapped": swapped == "restored",
            "... and the swapped model's outputs are off by > 0.01": swapped_diff > 0.01,
        },
        numbers={"restore_unchanged": same, "restore_extra_first": extra, "restore_reordered": swapped,
                 "max_abs_diff_reordered": swapped_diff, "argmax_agreement_reordered": agree},
    )  # fmt: skip


CREATION_ORDER = Pitfall(
    id="ckpt-creation-order",
    title="TF1 checkpoints of unnamed variables: names follow creation order, and so does what restores",
    tf1="W = tf.Variable(...)  # saved as 'Variable', 'Variable_1', ... in the order the graph made them",
    tf2="the same graph, refactored: one more variable first, or two layers built in another order",
    differs="Saver restores by name: a variable made first renames every later one (the restore fails), and two "
    "same-shape variables made in swapped order restore swapped, with no error at all",
    fix="name every variable (name='hidden/kernel'); to move old checkpoints, pair names explicitly "
    "(tfparity checkpoint convert --map FILE) and verify the forward pass, which the command does",
    measure=measure_creation_order,
)


def measure_keras3_by_name(data: DataLoader) -> Measurement:
    """A TF1 checkpoint whose names are even Keras' own ('dense/kernel') read by a Keras 3 model, two ways."""

    mnist = data("mnist")
    config = TrainConfig()
    tf1 = checkpoint_models.holder("tf1", config)
    tf1.train(parity.planned_batches(mnist.train.images, mnist.train.one_hot, batch_size=100, steps=100))
    images, labels = mnist.test.images, mnist.test.labels
    with tempfile.TemporaryDirectory() as folder:
        prefix = Path(folder) / "softmax.ckpt"
        tf1.save(prefix)
        keras_side = checkpoint_models.holder("keras", config)
        try:
            keras_side.model.load_weights(str(prefix))
            load_weights = "loaded"
        except ValueError as exc:
            load_weights = f"ValueError: {str(exc).split(':')[0]}"  # 'File format not supported', less the path
        before = keras_side.read()
        status = tf.train.Checkpoint(model=keras_side.model).read(str(prefix)).expect_partial()
        after = keras_side.read()
        unchanged = all(np.array_equal(before[n], after[n]) for n in before)
        make = lambda: checkpoint_models.holder("keras", config)  # noqa: E731
        converted = convert(open_checkpoint(prefix), make(), Path(folder) / "softmax.weights.h5",
                            fresh_target=make, source_forward=tf1.forward, inputs=images)  # fmt: skip
    tf1_acc = float(np.mean(np.argmax(tf1.forward(images), 1) == labels))
    read_acc = float(np.mean(np.argmax(keras_side.forward(images), 1) == labels))
    return Measurement(
        effect=(
            f"load_weights: {load_weights}; tf.train.Checkpoint(model=...).read(...).expect_partial() "
            f"({type(status).__name__}) restored {'nothing' if unchanged else 'something'}: test accuracy "
            f"{read_acc:.4f} against TF1's {tf1_acc:.4f}; converted by tfparity: {converted.verification.describe()}"
        ),
        checks={
            "Keras 3's load_weights refuses a TF1 checkpoint (ValueError)": load_weights.startswith("ValueError"),
            "an object-based read of it, partial allowed, restores no variable of the Keras model": unchanged,
            "tfparity checkpoint convert's weights file gives TF1's forward pass": converted.verification.passed,
        },
        numbers={"load_weights": load_weights, "read_restored_nothing": unchanged, "test_acc_tf1": tf1_acc,
                 "test_acc_after_read": read_acc, "converted_max_abs_diff": converted.verification.max_abs_diff},
    )  # fmt: skip


KERAS3_BY_NAME = Pitfall(
    id="ckpt-keras3-by-name",
    title="a TF1 checkpoint into Keras 3: load_weights refuses it, Checkpoint.read restores nothing",
    tf1="saver.restore(sess, 'model.ckpt')  # by variable name",
    tf2="model.load_weights('model.ckpt'), or tf.train.Checkpoint(model=model).read('model.ckpt').expect_partial()",
    differs="Keras 3 reads only .weights.h5 and .keras files; an object-based read of a name-based checkpoint "
    "matches Keras 3 variables by nothing it can find, and expect_partial() silences the warning: the model "
    "keeps its initial weights",
    fix="convert once: tfparity checkpoint convert model.ckpt -o model.weights.h5 --to keras (verified), then "
    "model.load_weights('model.weights.h5'); never expect_partial() without assert_existing_objects_matched()",
    measure=measure_keras3_by_name,
)


def measure_optimizer_state(data: DataLoader) -> Measurement:
    """Resume a TF1 Adam run in Keras from the weights alone, and from the converted optimizer state."""
    mnist = data("mnist")
    config = TrainConfig(optimizer="adam", learning_rate=0.01, steps=40)
    batches = parity.planned_batches(mnist.train.images, mnist.train.one_hot, batch_size=100, steps=40)
    first, second = batches[:20], batches[20:]
    tf1 = checkpoint_models.holder("tf1", config)
    tf1.train(first)
    make = lambda: checkpoint_models.holder("keras", config)  # noqa: E731
    with tempfile.TemporaryDirectory() as folder:
        tf1.save(Path(folder) / "adam.ckpt")
        carried = make()
        report = convert(open_checkpoint(Path(folder) / "adam.ckpt"), carried, Path(folder) / "adam.weights.h5",
                         fresh_target=make, source_forward=tf1.forward, inputs=mnist.test.images[:100])  # fmt: skip
    weights_only = make()
    weights_only.assign({name: carried.read()[name] for name in carried.named})
    tf1.train(second)
    for side in (carried, weights_only):
        for x, y in second:
            side.model.train_on_batch(x, y)
    reference = tf1.read()
    diff = {
        name: max(float(np.abs(side.read()[n] - reference[n]).max()) for n in reference)
        for name, side in (("carried", carried), ("weights_only", weights_only))
    }
    return Measurement(
        effect=(
            f"20 more Adam steps after the conversion: max |dW| from TF1's own {diff['carried']:.2g} with the "
            f"moments and step carried ({'; '.join(report.carried)}), {diff['weights_only']:.2g} from the weights "
            "alone (a fresh Adam: zero moments, step 0, so its first steps are full-size)"
        ),
        checks={
            "with Adam's moments and step carried, training resumes as TF1's did (max |dW| <= 1e-5)": diff["carried"]
            <= 1e-5,
            "from the weights alone it does not (max |dW| > 100x that)": diff["weights_only"] > 100 * max(
                diff["carried"], 1e-7
            ),
        },
        numbers={"max_abs_dw_carried": diff["carried"], "max_abs_dw_weights_only": diff["weights_only"],
                 "carried": report.carried, "dropped": report.dropped},
    )  # fmt: skip


OPTIMIZER_STATE = Pitfall(
    id="ckpt-optimizer-state",
    title="resuming training after a weights-only conversion: the optimizer starts over",
    tf1="saver.restore(sess, ckpt)  # restores W/Adam, W/Adam_1, beta1_power, beta2_power with the weights",
    tf2="model.set_weights(...) or a weights-only conversion, then model.fit(...)  # a fresh Adam",
    differs="Adam's moments restart at zero and its step at 0: the bias correction makes the first steps "
    "full-size, and the run moves off the one TF1 would have continued",
    fix="carry the optimizer state where it means the same (Adam's moments and step: tfparity checkpoint convert "
    "does, and reports what it cannot carry, such as RMSProp's accumulator that starts at ones in TF1)",
    measure=measure_optimizer_state,
)
