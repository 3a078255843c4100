"""The regression tutorials' pitfall: the per-example loop, one `Session.run` or one eager step per example.

Stanford CS20 fed birth_life one (x, y) pair per `Session.run`, 190 a epoch; ported as written,
the TF2 loop makes one eager step (or one `tf.function` call, or one `fit` batch) per example.
Every step pays the framework's fixed cost, whatever its arithmetic: the measured claim is the
ratio of an epoch's time one example at a time to the same epoch in minibatches of 10, style by
style, timed back to back in one process (the absolute milliseconds vary with the machine). Each
style's two epochs run REPEATS times, interleaved, and each keeps its fastest: a 19-step minibatch
epoch is short enough for one stall from another process to hide the whole effect.
"""

from __future__ import annotations

import functools

from tfparity.benchmarks import idioms
from tfparity.benchmarks.pitfalls.core import DataLoader, Measurement, Pitfall, fastest_interleaved
from tfparity.compat import RunResult, TrainConfig
from tfparity.compat.metrics import largest_abs_diff

MODEL = "linear_regression"
STYLES = ("tf1_graph", "eager", "function", "keras_fit")
PER_EXAMPLE = {"batch_size": 1, "learning_rate": 0.001}  # CS20's loop
MINIBATCH = {"batch_size": 10, "learning_rate": 0.01}  # the tutorials' hand-cut minibatches
MIN_RATIO = 3.0  # an epoch one example at a time costs more than this many minibatch epochs, in every style
REPEATS = 3


def epoch_ms(run: RunResult) -> float:
    """The epoch's steady-state time: ms per step (first step, with its tracing, left out) times the steps."""
    return run.ms_per_step * run.steps


def measure_per_example_loop(data: DataLoader) -> Measurement:
    birth_life = data("birth_life")
    rows = birth_life.train.num_examples
    configs = {
        idiom: TrainConfig.for_model(MODEL, steps=rows // fields["batch_size"], shuffle=False, **fields)
        for idiom, fields in (("per_example", PER_EXAMPLE), ("minibatch", MINIBATCH))
    }
    runs: dict[str, dict[str, RunResult]] = {idiom: {} for idiom in configs}
    for style in STYLES:
        train = idioms.style_train(style)
        calls = {idiom: functools.partial(train, birth_life, config) for idiom, config in configs.items()}
        for idiom, run in fastest_interleaved(calls, REPEATS, epoch_ms).items():
            runs[idiom][style] = run
    ratios = {style: epoch_ms(runs["per_example"][style]) / epoch_ms(runs["minibatch"][style]) for style in STYLES}
    spread = max(
        largest_abs_diff(by_style["tf1_graph"].weights, run.weights)
        for by_style in runs.values()
        for run in by_style.values()
    )
    cells = ", ".join(
        f"{s} {epoch_ms(runs['per_example'][s]):.0f} vs {epoch_ms(runs['minibatch'][s]):.0f} ms (x{ratios[s]:.1f})"
        for s in STYLES
    )
    return Measurement(
        effect=f"one birth_life epoch, one example per step vs minibatches of 10: {cells}",
        checks={
            f"in every style an epoch one example at a time costs > {MIN_RATIO:g}x the minibatch epoch": min(
                ratios.values()
            )
            > MIN_RATIO,
            "each idiom trains the same weights in every style (max |dW| vs TF1 <= 1e-6)": spread <= 1e-6,
        },
        numbers={
            "rows": rows,
            "epoch_ms": {idiom: {s: epoch_ms(r) for s, r in by.items()} for idiom, by in runs.items()},
            "ratio_per_example_vs_minibatch": ratios,
            "repeats": REPEATS,
            "max_abs_dw_across_styles": spread,
        },
    )


PER_EXAMPLE_LOOP = Pitfall(
    id="per-example-loop",
    title="the regression tutorials' loop: one Session.run, or one eager step, per example",
    tf1="for x, y in data: sess.run([optimizer, loss], feed_dict={X: x, Y: y})  # CS20, 190 runs an epoch",
    tf2="for x, y in data: train_step(x, y)  # the same loop, one eager step (or tf.function call) per example",
    differs="every step pays the framework's fixed cost (a Session.run, an eager op dispatch, a tf.function call): "
    "at one example per step that cost is the epoch, in every style; it is also another optimization problem "
    "(batch 1 at lr 0.001 is not batch 10 at lr 0.01)",
    fix="feed minibatches (tf.data.Dataset.from_tensor_slices((x, y)).batch(n), or fit(batch_size=n)) and retune "
    "the learning rate; compile the step with tf.function; tfparity bench --models linear_regression times each",
    measure=measure_per_example_loop,
)
