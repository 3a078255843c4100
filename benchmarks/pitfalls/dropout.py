"""Dropout's argument turned over: TF1's `keep_prob` (the fraction kept) became TF2's `rate` (the fraction dropped).

TF1 wrote `tf.nn.dropout(h, keep_prob)` with `keep_prob` fed as 0.5 or 0.8 while training and 1.0
while evaluating. TF2's `tf.nn.dropout(h, rate)` takes the fraction to drop in the same position,
and `keras.layers.Dropout(rate)` likewise: a port that keeps the number (0.8) drops 80% of the
units instead of 20%, and nothing fails. `tf_upgrade_v2` rewrites the call to `rate=1 - (keep_prob)`;
hand ports and ports of the Keras layers are where it slips.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tfparity.benchmarks.pitfalls.core import DataLoader, Measurement, Pitfall
from tfparity.benchmarks.pitfalls.quickstart import STEPS, quickstart_model, train_fit

KEEP_PROB = 0.8  # the TF1 code's keep_prob (the quickstart's Dropout(0.2))
UNITS = (1000, 1000)  # a tensor of ones, to count what each call keeps


def kept_fraction_tf1(keep_prob: float) -> tuple[float, float]:
    """`tf.compat.v1.nn.dropout(ones, keep_prob=...)` in a TF1 graph: (fraction kept, value of a kept unit)."""
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.set_random_seed(0)
        dropped = tf.compat.v1.nn.dropout(tf.ones(UNITS), keep_prob=keep_prob)
    with tf.compat.v1.Session(graph=graph) as sess:
        out = sess.run(dropped)
    return float(np.mean(out != 0)), float(out.max())


def kept_fraction_tf2(second_argument: float) -> tuple[float, float]:
    """`tf.nn.dropout(ones, second_argument)`, the number passed where TF1 code passed keep_prob."""
    out = tf.nn.dropout(tf.ones(UNITS), second_argument, seed=0).numpy()
    return float(np.mean(out != 0)), float(out.max())


def measure_keep_prob_vs_rate(data: DataLoader) -> Measurement:
    """The same number in TF1's and TF2's dropout, then the quickstart MLP trained at rate 0.2 and at 0.8."""
    mnist = data("mnist")
    tf1_kept, tf1_scale = kept_fraction_tf1(KEEP_PROB)
    tf2_kept, tf2_scale = kept_fraction_tf2(KEEP_PROB)
    stated_kept, _ = kept_fraction_tf2(1 - KEEP_PROB)
    _, right_acc, _ = train_fit(mnist, quickstart_model(dropout_rate=1 - KEEP_PROB))
    _, wrong_acc, _ = train_fit(mnist, quickstart_model(dropout_rate=KEEP_PROB))
    cost = right_acc - wrong_acc
    return Measurement(
        effect=(
            f"dropout(h, {KEEP_PROB}) keeps {tf1_kept:.3f} of the units in TF1, {tf2_kept:.3f} in TF2 (kept units x"
            f"{tf1_scale:g} vs x{tf2_scale:g}); the quickstart MLP at Dropout({KEEP_PROB}) reaches test acc "
            f"{wrong_acc:.4f} against {right_acc:.4f} at Dropout({1 - KEEP_PROB:.1f}) after {STEPS} steps"
        ),
        checks={
            f"the same {KEEP_PROB} keeps ~{KEEP_PROB:.0%} in TF1 and ~{1 - KEEP_PROB:.0%} in TF2 (within 1 point)": (
                abs(tf1_kept - KEEP_PROB) <= 0.01 and abs(tf2_kept - (1 - KEEP_PROB)) <= 0.01
            ),
            "rate = 1 - keep_prob keeps what TF1 kept (within 1 point)": abs(stated_kept - tf1_kept) <= 0.01,
            f"dropping {KEEP_PROB:.0%} instead of {1 - KEEP_PROB:.0%} costs >= 1 point of test accuracy": cost >= 0.01,
        },
        numbers={
            "keep_prob": KEEP_PROB,
            "tf1_kept_fraction": tf1_kept,
            "tf2_kept_fraction_same_number": tf2_kept,
            "tf2_kept_fraction_rate_1_minus_keep_prob": stated_kept,
            "tf1_kept_unit_value": tf1_scale,
            "tf2_kept_unit_value_same_number": tf2_scale,
            "steps": STEPS,
            "test_acc_rate_0.2": right_acc,
            "test_acc_rate_0.8": wrong_acc,
        },
    )


KEEP_PROB_VS_RATE = Pitfall(
    id="keep-prob-vs-rate",
    title="dropout: TF1's keep_prob (fraction kept) vs TF2's rate (fraction dropped), in the same position",
    tf1="tf.nn.dropout(h, keep_prob)  # keep_prob fed 0.8 while training, 1.0 while evaluating",
    tf2="tf.nn.dropout(h, 0.8); keras.layers.Dropout(0.8)  # the number kept, now read as rate",
    differs="the same number drops 80% of the units instead of 20%, and the kept ones are scaled x5, not x1.25",
    fix="tf.nn.dropout(h, rate=1 - keep_prob) or keras.layers.Dropout(1 - keep_prob); evaluate with training=False "
    "instead of feeding keep_prob 1.0",
    measure=measure_keep_prob_vs_rate,
)
