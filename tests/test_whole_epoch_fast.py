"""`whole_epoch_fast`: the whole-epoch loop's further tuning changes the speed, never the arithmetic.

The registered idioms (unrolled_xla, closed_form, ...) are held to TF1 feed_dict's weights in
test_tuned_idioms.py and in the benchmark suite. Here, without XLA, where TensorFlow runs the
same kernels as TF1: the unrolled loop and the closed-form gradient are bit-identical to TF1
(so no step is skipped, repeated or reordered, and the written-out gradient is TensorFlow's own),
and the options that cannot run are refused before anything is built.
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tfparity.compat import TrainConfig, max_abs_diff
from tfparity.compat.data import Datasets, Split, images_to_float, images_to_uint8
from tfparity.tf1_graph import graph_style
from tfparity.tf2_eager import eager_style, whole_epoch_fast


def assert_bit_identical(run, ref) -> None:
    assert run.plan_fingerprint == ref.plan_fingerprint
    for name in ref.weights:
        assert np.array_equal(run.weights[name], ref.weights[name]), name
    assert np.array_equal(run.losses, ref.losses)


@pytest.mark.parametrize(("steps", "unroll"), [(200, 7), (12, 16)])
def test_unrolled_loop_runs_every_step_once_in_order(mnist, steps, unroll):
    # 200 steps at 7 per iteration: step 0 alone (the remainder loop), then 28 groups of 7 and 3 left over.
    # 12 steps at 16: no whole group, every step through the remainder loop.
    config = TrainConfig(steps=steps)
    run = whole_epoch_fast.train(mnist, config, jit_compile=False, unroll=unroll)
    assert_bit_identical(run, graph_style.train(mnist, config))
    assert run.extra["unroll"] == unroll


@pytest.mark.parametrize("loss", ["mean", "sum"])
def test_closed_form_gradient_is_tensorflows_own(mnist, loss):
    config = TrainConfig(steps=200, loss=loss, learning_rate=0.5 if loss == "mean" else 0.005)
    run = whole_epoch_fast.train(mnist, config, jit_compile=False, closed_form=True)
    assert_bit_identical(run, graph_style.train(mnist, config))


@pytest.mark.parametrize("loss", ["mean", "sum"])
def test_closed_form_logit_gradient_equals_autodiff(loss):
    rng = np.random.default_rng(0)
    logits = tf.constant(rng.normal(scale=4.0, size=(100, 10)).astype(np.float32))
    labels = tf.one_hot(rng.integers(0, 10, size=100), 10)
    with tf.GradientTape() as tape:
        tape.watch(logits)
        expected_loss = eager_style.loss_fn(logits, labels, loss)
    loss_value, grad = whole_epoch_fast.loss_and_logit_grad(logits, labels, loss)
    assert np.array_equal(grad.numpy(), tape.gradient(expected_loss, logits).numpy())
    assert loss_value.numpy() == expected_loss.numpy()


def test_closed_form_with_adam_keeps_the_keras_update(mnist):
    config = TrainConfig(steps=200, optimizer="adam", learning_rate=0.001)
    run = whole_epoch_fast.train(mnist, config, jit_compile=False, closed_form=True, transposed=True)
    ref = graph_style.train(mnist, config)
    assert max(max_abs_diff(ref.weights, run.weights).values()) <= 1e-5
    assert abs(run.test_accuracy - ref.test_accuracy) <= 0.001


def test_transposed_model_trains_and_returns_w_in_the_styles_layout(mnist):
    config = TrainConfig(steps=200)
    run = whole_epoch_fast.train(mnist, config, jit_compile=False, transposed=True)
    ref = graph_style.train(mnist, config)
    assert run.weights["W"].shape == (784, 10) and set(run.weights) == {"W", "b"}
    assert max(max_abs_diff(ref.weights, run.weights).values()) <= 1e-5
    np.testing.assert_allclose(run.losses, ref.losses, rtol=0, atol=1e-5)
    params = whole_epoch_fast.build_model({"W": run.weights["W"], "b": run.weights["b"]}, transposed=True)
    assert params["W_t"].shape == (10, 784)
    assert whole_epoch_fast.evaluate(params, mnist.test.images, mnist.test.one_hot) == run.test_accuracy


@pytest.mark.parametrize("jit_compile", [False, True], ids=["function", "xla"])
def test_uint8_epoch_trains_bit_identically_on_a_quarter_of_the_bytes(mnist, jit_compile):
    config = TrainConfig(steps=200)
    options = {"jit_compile": jit_compile, "closed_form": True, "transposed": True}
    run = whole_epoch_fast.train(mnist, config, uint8_images=True, **options)
    assert_bit_identical(run, whole_epoch_fast.train(mnist, config, **options))
    assert run.extra["uint8_images"] is True
    _, pixels, _ = whole_epoch_fast.make_inputs(mnist, config, uint8_images=True)
    _, images, _ = whole_epoch_fast.make_inputs(mnist, config)
    assert pixels.dtype == tf.uint8 and pixels.shape == images.shape
    assert np.array_equal(images_to_float(pixels.numpy().reshape(-1, 784)), images.numpy().reshape(-1, 784))


def test_images_that_are_not_scaled_uint8_pixels_are_refused():
    pixels = np.resize(np.arange(256, dtype=np.uint8), (2, 784))
    assert np.array_equal(images_to_uint8(images_to_float(pixels)), pixels)  # every value 0..255 round-trips
    nan = images_to_float(pixels)
    nan[0, 0] = np.nan
    for other in (pixels.astype(np.float32) / 256.0, images_to_float(pixels) + np.float32(1e-3), nan):
        with pytest.raises(ValueError, match="not uint8 pixels scaled by 1/255"):
            images_to_uint8(other)
    with pytest.raises(ValueError, match=r"images must be float32 of shape \(N, k\), got float32 \(2, 28, 28\)"):
        images_to_uint8(images_to_float(pixels).reshape(2, 28, 28))


def test_the_loaders_pixels_are_kept_and_other_data_is_refused_before_anything_is_built(mnist):
    assert mnist.train.pixels.dtype == np.uint8 and mnist.train.pixels.shape == mnist.train.images.shape
    assert np.array_equal(images_to_float(mnist.train.pixels), mnist.train.images)
    split = Split(np.full((200, 784), 0.3, np.float32), np.zeros(200, np.int64))  # 0.3 is no pixel / 255
    other = Datasets("other", split, split, source="made here")
    with pytest.raises(ValueError, match="uint8_images=True: .* train this data with uint8_images=False"):
        whole_epoch_fast.train(other, TrainConfig(steps=2), uint8_images=True)


@pytest.mark.parametrize(
    ("options", "config", "message"),
    [
        ({"unroll": 0}, TrainConfig(), "unroll must be a positive integer, got 0"),
        ({"unroll": True}, TrainConfig(), "unroll must be a positive integer, got True"),
        ({"unroll": 2.0}, TrainConfig(), "unroll must be a positive integer, got 2.0"),
        ({"closed_form": True}, TrainConfig.tutorial(), "not 'tutorial'"),
    ],
)
def test_options_that_cannot_run_are_refused_before_anything_is_built(options, config, message):
    with pytest.raises(ValueError, match=message):
        whole_epoch_fast.train(None, config, **options)  # no data: the check comes first
