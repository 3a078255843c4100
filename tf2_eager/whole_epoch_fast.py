"""tf.function whole-epoch, tuned further: several steps per loop iteration, the gradient in closed form, W transposed.

`whole_epoch.py` already leaves Python once per run. What is left of a step, beside its two
matrix products, is the machinery around them: the `while` loop's own bookkeeping once per
step, the gradient graph that autodiff builds, the Keras optimizer's update (its iteration
counter, its learning-rate variable, its casts), and the layout the products read W in. Each
option of `train` removes one of them; none changes the arithmetic:

- `unroll=k`: k steps per iteration of the `while` loop (a Python `for` inside it, traced k
  times), then the steps that are left, one per iteration: the loop's condition, counter and
  control edges are paid once per k steps.
- `closed_form=True`: the gradient written out, as the NumPy floor writes it. TensorFlow's own
  fused `SoftmaxCrossEntropyWithLogits` kernel returns the per-example loss *and* its gradient
  with respect to the logits (`softmax(z) - y`, the tensor autodiff would use), scaled by
  `1/batch` for the mean loss; then `dW = x^T dlogits`, `db = sum(dlogits)`, and for SGD the
  update `W -= lr * dW` applied with `assign_sub`, the one op TF1's `GradientDescentOptimizer`
  runs. Adam keeps the Keras optimizer. Stable loss forms (`mean`, `sum`) only.
- `transposed=True`: W kept as `W_t`, `[10, 784]`: the forward product reads `x W_t^T` and the
  weight gradient is `dlogits^T x`, both taking the batch as it is stored; W is returned in the
  styles' `[784, 10]`.
- `uint8_images=True`: the stacked epoch kept as the uint8 pixels the data layer scaled the
  images from (checked to scale back bit for bit), each batch scaled inside the step by the same
  float32 multiply: a quarter of the bytes read per step, and of the stacked epoch's memory.

Same batch plan and weights as `whole_epoch.train`: without XLA, the unrolled loop and the
closed-form gradient are bit-identical to TF1 feed_dict; every registered combination stays
within 1e-5 of its weights (tests/test_whole_epoch_fast.py, tests/test_tuned_idioms.py).
Kept apart from the teaching modules: read `whole_epoch.py` first.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from tfparity.compat import (
    BatchPlan,
    Datasets,
    RunResult,
    TrainConfig,
    initial_weights,
    make_batch_plan,
    tf_device_name,
)
from tfparity.compat.data import PIXEL_SCALE
from tfparity.compat.timing import StepClock
from tfparity.tf2_eager import eager_style, function_style, whole_epoch

STYLE = function_style.STYLE  # the same model trained to the same weights
CLOSED_FORM_LOSSES = ("mean", "sum")

Params = dict[str, tf.Variable]
StepFn = Callable[[tf.Tensor, tf.Tensor], tf.Tensor]  # (images, labels) -> the batch's loss


# %% stage: data
def make_inputs(
    data: Datasets, config: TrainConfig, uint8_images: bool = False
) -> tuple[BatchPlan, tf.Tensor, tf.Tensor]:
    """`whole_epoch.make_inputs`: every planned batch stacked once, `[steps, batch, 784]`; with
    `uint8_images`, the images as their uint8 pixels (ValueError where they are not exactly that)."""
    if not uint8_images:
        return whole_epoch.make_inputs(data, config)
    try:
        train_pixels = data.train.uint8_pixels()  # the loader's own where it kept them; else recovered, checked
    except ValueError as exc:
        raise ValueError(f"uint8_images=True: {exc}; train this data with uint8_images=False") from exc
    plan = make_batch_plan(data.train.num_examples, config.batch_size, config.steps, config.seed)
    pixels, labels = plan.gather(train_pixels, data.train.one_hot)
    return plan, tf.constant(pixels), tf.constant(labels)


def scaled_inside(step: StepFn) -> StepFn:
    """The step on uint8 pixels: scaled to float32 first, by the data layer's own multiply (bit-identical)."""
    scale = tf.constant(PIXEL_SCALE)
    return lambda pixels, labels: step(tf.cast(pixels, tf.float32) * scale, labels)


# %% stage: model
def build_model(init: dict[str, np.ndarray], transposed: bool = False) -> Params:
    """The eager model's variables; `transposed` keeps W as its transpose `W_t`, [10, 784]."""
    if not transposed:
        return eager_style.build_model(init)
    return {"W_t": tf.Variable(init["W"].T.copy(), name="W_t"), "b": tf.Variable(init["b"], name="b")}


def forward(params: Params, x: tf.Tensor) -> tf.Tensor:
    """`x W + b`; with `W_t`, the same product read as `x W_t^T` (`transpose_b`, no transpose is materialised)."""
    if "W_t" in params:
        return tf.matmul(x, params["W_t"], transpose_b=True) + params["b"]
    return eager_style.forward(params, x)


def weights_of(params: Params) -> dict[str, np.ndarray]:
    """The trained weights in the styles' own layout, W [784, 10]."""
    values = {name: v.numpy() for name, v in params.items()}
    if "W_t" in values:
        values["W"] = np.ascontiguousarray(values.pop("W_t").T)
    return values


# %% stage: loss
def loss_and_logit_grad(logits: tf.Tensor, labels: tf.Tensor, form: str) -> tuple[tf.Tensor, tf.Tensor]:
    """The batch's loss and its gradient with respect to the logits, from one fused kernel.

    `SoftmaxCrossEntropyWithLogits` computes the per-example loss and `softmax(logits) - labels`
    together (its second output is what TensorFlow's registered gradient multiplies by the
    incoming one). The mean's gradient is `1/batch` for every example, multiplied in as autodiff
    multiplies it.
    """
    per_example, backprop = tf.raw_ops.SoftmaxCrossEntropyWithLogits(features=logits, labels=labels)
    if form == "sum":
        return tf.reduce_sum(per_example), backprop
    scale = tf.constant(1.0, tf.float32) / tf.cast(tf.shape(logits)[0], tf.float32)
    return tf.reduce_mean(per_example), backprop * scale


def closed_form_grads(params: Params, images: tf.Tensor, labels: tf.Tensor, form: str) -> tuple[tf.Tensor, dict]:
    """Forward pass, loss and the written-out backward pass: `dW = x^T dlogits`, `db = sum(dlogits)`."""
    loss, dlogits = loss_and_logit_grad(forward(params, images), labels, form)
    if "W_t" in params:  # dW^T = dlogits^T x: the [10, 784] product, rows contiguous
        return loss, {"W_t": tf.matmul(dlogits, images, transpose_a=True), "b": tf.reduce_sum(dlogits, axis=0)}
    return loss, {"W": tf.matmul(images, dlogits, transpose_a=True), "b": tf.reduce_sum(dlogits, axis=0)}


# %% stage: optimizer
def make_update(config: TrainConfig, params: Params) -> Callable[[Params, dict], None]:
    """How gradients become new weights: SGD as TF1's `GradientDescentOptimizer` does it (`W -= lr * dW`,
    one `assign_sub` per variable), any other optimizer through its Keras optimizer, built before tracing."""
    if config.optimizer == "sgd":
        learning_rate = tf.constant(config.learning_rate, tf.float32)

        def sgd(params: Params, grads: dict) -> None:
            for name, grad in grads.items():
                params[name].assign_sub(grad * learning_rate)

        return sgd
    optimizer = function_style.make_optimizer(config, params)
    return lambda params, grads: optimizer.apply_gradients([(grads[k], params[k]) for k in params])


# %% stage: train step
def make_step(config: TrainConfig, params: Params, closed_form: bool) -> StepFn:
    """One training step on a batch, to be traced into the epoch's loop: the closed form, or the eager step."""
    if closed_form:
        update = make_update(config, params)

        def closed_form_step(images: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
            loss, grads = closed_form_grads(params, images, labels, config.loss)
            update(params, grads)
            return loss

        return closed_form_step
    optimizer = function_style.make_optimizer(config, params)
    return lambda images, labels: autodiff_step(params, optimizer, images, labels, config.loss)


def autodiff_step(
    params: Params, optimizer: keras.optimizers.Optimizer, images: tf.Tensor, labels: tf.Tensor, loss_form: str
) -> tf.Tensor:
    """`eager_style.train_step`, with this module's `forward` (which reads `W_t` where the model keeps one)."""
    with tf.GradientTape() as tape:
        loss = eager_style.loss_fn(forward(params, images), labels, loss_form)
    variables = list(params.values())
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
    return loss


def make_epoch_fn(step: StepFn, unroll: int, jit_compile: bool) -> Callable[..., tf.Tensor]:
    """A `tf.function` running steps `start .. stop` of the stacked epoch, `unroll` steps per loop iteration.

    The first loop runs whole groups of `unroll` steps; the second, the `(stop - start) % unroll`
    steps left over, one per iteration. Both bounds are tensors, so the first-step call and the
    rest share one trace (see `whole_epoch.make_epoch_fn` on why `while`, not `tf.range`).
    """

    @tf.function(jit_compile=jit_compile)
    def train_epoch(images: tf.Tensor, labels: tf.Tensor, start: tf.Tensor, stop: tf.Tensor) -> tf.Tensor:
        losses = tf.TensorArray(tf.float32, size=images.shape[0])
        i = start
        while i + unroll <= stop:
            for j in range(unroll):  # Python: traced `unroll` times into one iteration
                losses = losses.write(i + j, step(images[i + j], labels[i + j]))
            i += unroll
        while i < stop:
            losses = losses.write(i, step(images[i], labels[i]))
            i += 1
        return losses.stack()

    return train_epoch


# %% stage: loop
def check_options(config: TrainConfig, unroll: int, closed_form: bool) -> None:
    """ValueError for options that cannot run: before anything is built or gathered."""
    if isinstance(unroll, bool) or not isinstance(unroll, int) or unroll < 1:
        raise ValueError(f"unroll must be a positive integer, got {unroll!r}")
    if closed_form and config.loss not in CLOSED_FORM_LOSSES:
        raise ValueError(
            f"closed_form writes out the gradient of the stable loss forms {CLOSED_FORM_LOSSES}, not {config.loss!r}"
        )


def train(
    data: Datasets,
    config: TrainConfig,
    *,
    jit_compile: bool = True,
    unroll: int = 1,
    closed_form: bool = False,
    transposed: bool = False,
    uint8_images: bool = False,
) -> RunResult:
    """`whole_epoch.train`'s two calls (step 0 alone, then the rest), with this module's options."""
    check_options(config, unroll, closed_form)
    clock = StepClock()
    with tf.device(tf_device_name(config.device)):
        plan, images, labels = make_inputs(data, config, uint8_images)
        params = build_model(initial_weights(config), transposed)
        step = make_step(config, params, closed_form)
        train_epoch = make_epoch_fn(scaled_inside(step) if uint8_images else step, unroll, jit_compile)
        zero, one, steps = (tf.constant(n, tf.int32) for n in (0, 1, config.steps))
        first, rest = clock.loop(
            lambda start, stop: train_epoch(images, labels, start, stop).numpy(), [(zero, one), (one, steps)]
        )
        losses = np.concatenate([first[:1], rest[1:]])
        test_accuracy = evaluate(params, data.test.images, data.test.one_hot)
    options = {"jit_compile": jit_compile, "unroll": unroll, "closed_form": closed_form, "transposed": transposed}
    options["uint8_images"] = uint8_images
    return clock.result(STYLE, config, plan, weights_of(params), losses, test_accuracy, **options)


# %% stage: evaluate
def evaluate(params: Params, images: np.ndarray, labels: np.ndarray) -> float:
    """`eager_style.evaluate` with this module's `forward`."""
    correct = tf.equal(tf.argmax(forward(params, images), 1), tf.argmax(labels, 1))
    return float(tf.reduce_mean(tf.cast(correct, tf.float32)))
