"""Loss pitfalls: summed vs mean cross-entropy, log(softmax) vs the fused op, v1 loss reductions."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tfparity.benchmarks.pitfalls.core import DataLoader, Measurement, Pitfall
from tfparity.benchmarks.pitfalls.training import max_weight_diff
from tfparity.compat import Datasets, TrainConfig
from tfparity.compat.api_map import mapping_for
from tfparity.tf1_graph import graph_style
from tfparity.tf2_eager import eager_style, function_style

SUM_MEAN_STEPS = 300


def measure_sum_vs_mean(data: DataLoader) -> Measurement:
    """TF1 summed loss at lr 0.01 against mean loss at lr 1.0 (equal) and at lr 0.01 (slow)."""
    mnist = data("mnist")
    base = TrainConfig(steps=SUM_MEAN_STEPS, batch_size=100)
    summed = graph_style.train(mnist, base.replace(loss="sum", learning_rate=0.01))
    mean_scaled = function_style.train(mnist, base.replace(loss="mean", learning_rate=1.0))
    mean_same_lr = function_style.train(mnist, base.replace(loss="mean", learning_rate=0.01))
    dw = max_weight_diff(summed, mean_scaled)
    # Per-step losses: the summed one is batch_size times the mean one.
    loss_gap = float(np.max(np.abs(summed.losses / base.batch_size - mean_scaled.losses)))
    acc_drop = summed.test_accuracy - mean_same_lr.test_accuracy
    numbers = {
        "steps": base.steps,
        "batch_size": base.batch_size,
        "max_abs_dw_sum_lr0.01_vs_mean_lr1": dw,
        "max_abs_step_loss_gap": loss_gap,
        "test_acc_sum_lr0.01": summed.test_accuracy,
        "test_acc_mean_lr1": mean_scaled.test_accuracy,
        "test_acc_mean_lr0.01": mean_same_lr.test_accuracy,
        "accuracy_drop_mean_lr0.01": acc_drop,
    }
    return Measurement(
        effect=(
            f"sum@0.01 vs mean@1.0: max |dW| {dw:.1e} after {base.steps} steps; mean@0.01 reaches "
            f"{mean_same_lr.test_accuracy:.3f} test accuracy against {summed.test_accuracy:.3f}"
        ),
        checks={
            "sum@0.01 equals mean@1.0 step for step (max |dW| <= 1e-5, per-step mean loss within 1e-5)": dw <= 1e-5
            and loss_gap <= 1e-5,
            f"mean@0.01 trains far slower (test accuracy >= 3 points lower after {base.steps} steps)": acc_drop >= 0.03,
        },
        numbers=numbers,
    )


SUM_VS_MEAN = Pitfall(
    id="sum-vs-mean-loss",
    title="summed loss vs mean loss: the learning rate silently changes by the batch size",
    tf1="cross_entropy = -tf.reduce_sum(y_ * tf.log(y)); tf.train.GradientDescentOptimizer(0.01)",
    tf2="loss = keras.losses.CategoricalCrossentropy()  # mean over the batch; keras.optimizers.SGD(0.01)",
    differs="the summed loss's gradient is batch_size times the mean's: same lr, 100x smaller steps at batch 100",
    fix=(
        "scale the learning rate by the batch size (mean loss with lr 1.0 = summed loss with lr 0.01), or keep the "
        "summed reduction"
    ),
    measure=measure_sum_vs_mean,
)


# --- log(softmax) vs softmax_cross_entropy_with_logits -------------------------------------

LOGIT_SCALES = (1.0, 10.0, 100.0)
UNSTABLE_LR = 0.05  # five times the tutorial's 0.01
UNSTABLE_STEPS = 100


def count_nonfinite_batch_losses(weights: dict[str, np.ndarray], data: Datasets, form: str, scale: float) -> int:
    """Test batches of 100 whose loss (`form`) is inf or NaN when the logits are multiplied by `scale`."""
    bad = 0
    for start in range(0, data.test.num_examples, 100):
        images, labels = data.test.images[start : start + 100], data.test.one_hot[start : start + 100]
        logits = scale * (images @ weights["W"] + weights["b"])
        bad += int(not np.isfinite(eager_style.loss_fn(tf.constant(logits), tf.constant(labels), form).numpy()))
    return bad


def measure_log_softmax(data: DataLoader) -> Measurement:
    """Non-finite losses of both forms on scaled (confident) logits, and in training at a larger lr."""
    mnist = data("mnist")
    trained = function_style.train(mnist, TrainConfig(steps=100))  # a plausible model to scale up
    per_scale = {
        form: {scale: count_nonfinite_batch_losses(trained.weights, mnist, form, scale) for scale in LOGIT_SCALES}
        for form in ("tutorial", "sum")
    }
    log_softmax_run = graph_style.train(mnist, TrainConfig.tutorial(steps=UNSTABLE_STEPS, learning_rate=UNSTABLE_LR))
    fused_run = function_style.train(mnist, TrainConfig(steps=UNSTABLE_STEPS, loss="sum", learning_rate=UNSTABLE_LR))
    bad_steps = ~np.isfinite(log_softmax_run.losses)
    first_nan = int(np.argmax(bad_steps)) if bad_steps.any() else None
    numbers = {
        "nonfinite_test_batches_log_softmax": {str(s): n for s, n in per_scale["tutorial"].items()},
        "nonfinite_test_batches_with_logits": {str(s): n for s, n in per_scale["sum"].items()},
        "test_batches": mnist.test.num_examples // 100,
        "train_lr": UNSTABLE_LR,
        "train_steps": UNSTABLE_STEPS,
        "first_nonfinite_step_log_softmax": first_nan,
        "nonfinite_steps_log_softmax": int(bad_steps.sum()),
        "nonfinite_steps_with_logits": int((~np.isfinite(fused_run.losses)).sum()),
        "test_acc_log_softmax": log_softmax_run.test_accuracy,
        "test_acc_with_logits": fused_run.test_accuracy,
    }
    worst = max(LOGIT_SCALES)
    return Measurement(
        effect=(
            f"logits x{worst:g}: {per_scale['tutorial'][worst]}/{numbers['test_batches']} test batches give a "
            f"non-finite log(softmax) loss, 0 with logits; training at lr {UNSTABLE_LR}: NaN from step {first_nan}, "
            f"test acc {log_softmax_run.test_accuracy:.3f} vs {fused_run.test_accuracy:.3f}"
        ),
        checks={
            f"log(softmax) gives inf/NaN losses on extreme logits (logits x{worst:g}: some test batch non-finite)": (
                per_scale["tutorial"][worst] > 0
            ),
            "softmax_cross_entropy_with_logits stays finite at every scale": not any(per_scale["sum"].values()),
            f"summed log(softmax) at lr {UNSTABLE_LR} hits NaN within {UNSTABLE_STEPS} steps, the fused loss never": (
                first_nan is not None and numbers["nonfinite_steps_with_logits"] == 0
            ),
        },
        numbers=numbers,
    )


LOG_SOFTMAX = Pitfall(
    id="log-softmax",
    title="log(softmax(z)) vs softmax_cross_entropy_with_logits: NaN on confident logits",
    tf1="y = tf.nn.softmax(tf.matmul(x, W) + b); cross_entropy = -tf.reduce_sum(y_ * tf.log(y))",
    tf2="y = tf.nn.softmax(logits); loss = -tf.reduce_sum(y_ * tf.math.log(y))",
    differs=(
        "softmax underflows to 0 in float32 once a logit gap passes ~100; log(0) = -inf and 0 * -inf = NaN. The "
        "fused op works in log space"
    ),
    fix=mapping_for("`-tf.reduce_sum(y_ * tf.log(tf.nn.softmax(logits)))`").tf2.replace("`", ""),
    measure=measure_log_softmax,
)


# --- tf.compat.v1.losses reduction vs Keras' -----------------------------------------------


def weighted_losses(logits: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> tuple[float, float]:
    """(tf.compat.v1.losses.softmax_cross_entropy, keras CategoricalCrossentropy) with the same weights."""
    v1 = float(tf.compat.v1.losses.softmax_cross_entropy(labels, logits, weights=weights))
    k3 = float(keras.losses.CategoricalCrossentropy(from_logits=True)(labels, logits, sample_weight=weights))
    return v1, k3


def measure_v1_losses_reduction(data: DataLoader) -> Measurement:
    """The same weighted batch through both reductions: unit, masked (zeros) and positive weights."""
    mnist = data("mnist")
    trained = function_style.train(mnist, TrainConfig(steps=100))
    images, labels, digits = mnist.test.images[:100], mnist.test.one_hot[:100], mnist.test.labels[:100]
    logits = images @ trained.weights["W"] + trained.weights["b"]
    cases = {
        "unit": np.ones(100, np.float32),
        "mask_digit_1": (digits != 1).astype(np.float32),  # ignore one class: zero weights
        "double_digit_1": np.where(digits == 1, 2.0, 1.0).astype(np.float32),  # class weights, none zero
    }
    numbers: dict = {"batch": 100}
    for name, w in cases.items():
        v1, k3 = weighted_losses(logits, labels, w)
        numbers[name] = {
            "v1": v1,
            "keras": k3,
            "ratio": v1 / k3,
            "nonzero_weights": int(np.count_nonzero(w)),
            "weight_sum": float(w.sum()),
        }
    masked = numbers["mask_digit_1"]
    expected_ratio = 100 / masked["nonzero_weights"]
    return Measurement(
        effect=(
            f"unit weights: {numbers['unit']['v1']:.6f} both; digit 1 masked out "
            f"({100 - masked['nonzero_weights']} zero weights): "
            f"v1 {masked['v1']:.4f} vs Keras {masked['keras']:.4f} (x{masked['ratio']:.3f}); class weights 2.0: equal"
        ),
        checks={
            "unit weights: equal (|diff| <= 1e-6)": abs(numbers["unit"]["v1"] - numbers["unit"]["keras"]) <= 1e-6,
            "zero weights: v1 / Keras = batch / nonzero weights (within 1e-4), not 1": (
                abs(masked["ratio"] - expected_ratio) <= 1e-4 * expected_ratio and expected_ratio > 1.01
            ),
            "non-zero non-unit weights: equal (|diff| <= 1e-6)": abs(
                numbers["double_digit_1"]["v1"] - numbers["double_digit_1"]["keras"]
            )
            <= 1e-6,
        },
        numbers=numbers,
    )


V1_LOSSES_REDUCTION = Pitfall(
    id="v1-losses-reduction",
    title="tf.compat.v1.losses divides by the non-zero weights, Keras losses by the batch size",
    tf1="loss = tf.losses.softmax_cross_entropy(onehot_labels, logits, weights=w)  # SUM_BY_NONZERO_WEIGHTS",
    tf2=(
        "loss = keras.losses.CategoricalCrossentropy(from_logits=True)(y, logits, sample_weight=w)  # "
        "sum_over_batch_size"
    ),
    differs=(
        "v1 divides the weighted sum by the count of non-zero weights, Keras by the batch size: equal while no "
        "weight is 0, different under masking"
    ),
    fix=(
        "with masks, divide explicitly: tf.reduce_sum(w * per_example) / tf.math.count_nonzero(w, dtype=tf.float32), "
        "or use reduction='sum' and divide yourself"
    ),
    measure=measure_v1_losses_reduction,
)
