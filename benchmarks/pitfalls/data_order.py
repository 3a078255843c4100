"""Data pitfalls: what an epoch contains and in which order (shuffle buffers, next_batch, the 55k split)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tfparity.benchmarks.pitfalls.core import DataLoader, Measurement, Pitfall
from tfparity.benchmarks.pitfalls.training import max_weight_diff, train_function_on, train_graph_on
from tfparity.compat import Datasets, Split, TrainConfig, read_data_sets
from tfparity.tf1_graph import graph_style
from tfparity.tf2_eager import function_style

# --- tf.data shuffle buffer ----------------------------------------------------------------------

SHUFFLE_BUFFER = 5000  # what the seeds use
BATCH = 100
HEAD_FRACTION = 0.1


def ks_distance_from_uniform(indices: np.ndarray, n: int) -> float:
    """Kolmogorov-Smirnov distance between the indices' empirical CDF and uniform on 0..n-1."""
    s = np.sort(indices)
    uniform = (s + 1) / n
    above = np.arange(1, len(s) + 1) / len(s) - uniform
    below = uniform - np.arange(len(s)) / len(s)
    return float(max(above.max(), below.max()))


def first_epoch_head(n: int, buffer: int, seed: int = 0) -> np.ndarray:
    """The example indices of the first `HEAD_FRACTION` of an epoch from
    `Dataset.range(n).shuffle(buffer).batch(BATCH)`."""
    head_batches = int(n * HEAD_FRACTION) // BATCH
    dataset = tf.data.Dataset.range(n).shuffle(buffer, seed=seed).batch(BATCH).take(head_batches)
    return np.concatenate(list(dataset.as_numpy_iterator()))


def measure_shuffle_buffer(data: DataLoader) -> Measurement:
    n = data("mnist").train.num_examples
    head = {"buffer_5000": first_epoch_head(n, SHUFFLE_BUFFER), "full_buffer": first_epoch_head(n, n)}
    ks = {name: ks_distance_from_uniform(idx, n) for name, idx in head.items()}
    partial = head["buffer_5000"]
    numbers = {
        "examples": n,
        "head_examples": len(partial),
        "ks_from_uniform": ks,
        "max_index_first_batch": {name: int(idx[:BATCH].max()) for name, idx in head.items()},
        "max_index_head": {name: int(idx.max()) for name, idx in head.items()},
    }
    return Measurement(
        effect=(
            f"first {HEAD_FRACTION:.0%} of the epoch ({len(partial)} examples): indices 0..{partial.max()} of {n} with "
            f"shuffle({SHUFFLE_BUFFER}), KS distance from uniform {ks['buffer_5000']:.2f} (full shuffle "
            f"{ks['full_buffer']:.3f})"
        ),
        checks={
            f"shuffle({SHUFFLE_BUFFER}): the first batch only holds indices < buffer + batch": numbers[
                "max_index_first_batch"
            ]["buffer_5000"]
            < SHUFFLE_BUFFER + BATCH,
            f"shuffle({SHUFFLE_BUFFER}): the epoch's first {HEAD_FRACTION:.0%} is far from uniform (KS > 0.5)": ks[
                "buffer_5000"
            ]
            > 0.5,
            "a full-size buffer is close to uniform (KS < 0.05)": ks["full_buffer"] < 0.05,
        },
        numbers=numbers,
    )


SHUFFLE_BUFFER_PITFALL = Pitfall(
    id="shuffle-buffer",
    title="tf.data shuffle with a buffer smaller than the data is not a full shuffle",
    tf1="mnist.train.next_batch(100)  # a full permutation every epoch",
    tf2="tf.data.Dataset.from_tensor_slices((x, y)).shuffle(5000).batch(100)",
    differs=(
        "shuffle(5000) draws from a sliding window: an epoch starts with examples from the front of the file and "
        "ends with those at the back"
    ),
    fix=(
        "shuffle(buffer_size=len(x)) (the whole set fits in memory here), shuffle the index array once per epoch, or "
        "feed a batch plan"
    ),
    measure=measure_shuffle_buffer,
)


# --- next_batch vs tf.data order ------------------------------------------------------------------

ORDER_STEPS = 300


def next_batch_batches(data: Datasets, steps: int, seed: int = 0):
    """TF1's reader over all 60,000 training images (no validation split, to isolate the order)."""
    reader = read_data_sets(data, one_hot=True, validation_size=0, seed=seed).train
    return (reader.next_batch(BATCH) for _ in range(steps))


def tf_data_batches(data: Datasets, steps: int, seed: int = 0):
    dataset = tf.data.Dataset.from_tensor_slices((data.train.images, data.train.one_hot))
    return dataset.shuffle(SHUFFLE_BUFFER, seed=seed).repeat().batch(BATCH).take(steps).as_numpy_iterator()


def measure_next_batch_order(data: DataLoader) -> Measurement:
    mnist = data("mnist")
    config = TrainConfig(steps=ORDER_STEPS, batch_size=BATCH)
    tf1_reader = train_graph_on(mnist, config, next_batch_batches(mnist, ORDER_STEPS))
    tf2_reader = train_function_on(mnist, config, tf_data_batches(mnist, ORDER_STEPS))
    tf1_plan, tf2_plan = graph_style.train(mnist, config), function_style.train(mnist, config)
    order_dw, plan_dw = max_weight_diff(tf1_reader, tf2_reader), max_weight_diff(tf1_plan, tf2_plan)
    return Measurement(
        effect=(
            f"next_batch vs tf.data shuffle({SHUFFLE_BUFFER}): max |dW| {order_dw:.1e} after {ORDER_STEPS} steps "
            f"(test acc {tf1_reader.test_accuracy:.3f} vs {tf2_reader.test_accuracy:.3f}); one batch plan: "
            f"{plan_dw:.0e}"
        ),
        checks={
            "same data in a different order trains to different weights (max |dW| > 1e-2)": order_dw > 1e-2,
            "the batch plan makes TF1 and TF2 agree (max |dW| <= 1e-6, same plan fingerprint)": (
                plan_dw <= 1e-6 and tf1_plan.plan_fingerprint == tf2_plan.plan_fingerprint
            ),
        },
        numbers={
            "steps": ORDER_STEPS,
            "max_abs_dw_readers": order_dw,
            "max_abs_dw_batch_plan": plan_dw,
            "test_acc_next_batch": tf1_reader.test_accuracy,
            "test_acc_tf_data": tf2_reader.test_accuracy,
        },
    )


NEXT_BATCH_ORDER = Pitfall(
    id="next-batch-order",
    title="TF1 next_batch vs tf.data: same data, different order, different trajectory",
    tf1="batch_xs, batch_ys = mnist.train.next_batch(100)",
    tf2="for batch_xs, batch_ys in dataset.shuffle(5000).batch(100): ...",
    differs=(
        "each reader orders the epoch its own way (and seeds its own generator), so the two trainings see "
        "different batches at every step"
    ),
    fix=(
        "draw one batch plan (compat.make_batch_plan) and have both sides gather images[plan.indices[step]]; compare "
        "plan fingerprints"
    ),
    measure=measure_next_batch_order,
)


# --- the 55k/5k split ----------------------------------------------------------------------------

SPLIT_STEPS = 300


def measure_validation_split(data: DataLoader) -> Measurement:
    mnist = data("mnist")
    tutorial = read_data_sets(mnist, one_hot=False)
    held_out = tutorial.validation.num_examples
    tf1_set = Datasets(
        mnist.name,
        Split(tutorial.train.images, tutorial.train.labels),
        mnist.test,
        mnist.source + " (read_data_sets split)",
    )
    config = TrainConfig(steps=SPLIT_STEPS)
    on_55k, on_60k = function_style.train(tf1_set, config), function_style.train(mnist, config)
    held_is_head = bool(np.array_equal(tutorial.validation.images, mnist.train.images[:held_out]))
    class_gap = np.bincount(mnist.train.labels, minlength=10) - np.bincount(tutorial.train.labels, minlength=10)
    return Measurement(
        effect=(
            f"read_data_sets trains on {tutorial.train.num_examples:,}, keras.datasets on {mnist.train.num_examples:,} "
            f"(the first {held_out:,} held out, {class_gap.min()}-{class_gap.max()} per digit); test acc after "
            f"{SPLIT_STEPS} steps {on_55k.test_accuracy:.3f} vs {on_60k.test_accuracy:.3f}"
        ),
        checks={
            "read_data_sets: 55,000 training images, keras.datasets.mnist: 60,000": (
                tutorial.train.num_examples == 55000 and mnist.train.num_examples == 60000
            ),
            "the 5,000 held out are the first 5,000 of the 60,000": held_out == 5000 and held_is_head,
            "every digit loses examples to the split (per-digit counts all differ)": bool((class_gap > 0).all()),
        },
        numbers={
            "train_examples_read_data_sets": tutorial.train.num_examples,
            "train_examples_keras": mnist.train.num_examples,
            "validation_examples": held_out,
            "held_out_per_digit": class_gap.tolist(),
            "steps": SPLIT_STEPS,
            "test_acc_55k": on_55k.test_accuracy,
            "test_acc_60k": on_60k.test_accuracy,
        },
    )


VALIDATION_SPLIT = Pitfall(
    id="validation-split",
    title="read_data_sets held out 5,000 images; keras.datasets.mnist does not",
    tf1="mnist = input_data.read_data_sets('MNIST_data', one_hot=True)  # train: 55,000",
    tf2="(x_train, y_train), _ = keras.datasets.mnist.load_data()  # 60,000",
    differs="the same 'MNIST' with a different training set: TF1 held the first 5,000 images out for validation",
    fix=(
        "slice explicitly: x_train[5000:] to reproduce TF1 (x_train[:5000] is its validation set), or state which "
        "split a result used"
    ),
    measure=measure_validation_split,
)
