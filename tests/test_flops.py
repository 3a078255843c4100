"""FLOPs from a model's shapes, as TensorFlow's profiler counts them, and the device ceiling they are read against.

The times themselves are measurements (benchmarks), never asserted here.
"""

from __future__ import annotations

import math

import pytest
import tensorflow as tf

from tfparity.benchmarks import flops
from tfparity.benchmarks.flops import Conv2D, Dense
from tfparity.compat.devices import gpu_skip_reason

# TF1's "Deep MNIST for experts": conv 5x5x32, pool, conv 5x5x64, pool, dense 1024, dense 10 (batch 50)
CNN = [Conv2D(28, 28, 1, 32, 5), Conv2D(14, 14, 32, 64, 5), Dense(7 * 7 * 64, 1024), Dense(1024, 10)]
BATCH = 50
COUNTED = ("MatMul", "Conv2D", "Conv2DBackpropFilter", "Conv2DBackpropInput")


def _profiled_flops(with_gradients: bool) -> int:
    """TensorFlow's profiler's count over the matmuls and convolutions of the CNN's TF1 graph."""
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [BATCH, 28, 28, 1])
        weights = [
            tf.Variable(tf.zeros(shape)) for shape in ([5, 5, 1, 32], [5, 5, 32, 64], [7 * 7 * 64, 1024], [1024, 10])
        ]
        h = x
        for kernel in weights[:2]:
            h = tf.compat.v1.nn.conv2d(h, kernel, strides=[1, 1, 1, 1], padding="SAME")
            h = tf.compat.v1.nn.max_pool(tf.nn.relu(h), ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="SAME")
        h = tf.nn.relu(tf.matmul(tf.reshape(h, [BATCH, -1]), weights[2]))
        loss = tf.reduce_sum(tf.matmul(h, weights[3]))
        if with_gradients:  # the input too, so that every layer has its input gradient, as the rule counts
            tf.gradients(loss, [*weights, x])
        builder = tf.compat.v1.profiler.ProfileOptionBuilder
        options = builder(builder.float_operation()).with_empty_output().build()
        profile = tf.compat.v1.profiler.profile(graph, options=options)
    ops = {op.name: op.type for op in graph.get_operations()}
    return sum(node.total_float_ops for node in profile.children if ops.get(node.name) in COUNTED)


def test_forward_flops_are_what_tensorflows_profiler_counts():
    assert flops.forward_flops(CNN, BATCH) == _profiled_flops(with_gradients=False)


def test_a_training_step_is_the_forward_pass_and_its_two_gradients():
    assert flops.train_step_flops(CNN, BATCH) == _profiled_flops(with_gradients=True)
    assert flops.train_step_flops(CNN, BATCH) == 3 * flops.forward_flops(CNN, BATCH)


def test_strided_same_convolutions_round_their_output_up():
    assert Conv2D(7, 7, 1, 1, 3, stride=2).forward_flops(1) == 2 * 4 * 4 * 9


@pytest.mark.parametrize("op", ["matmul", "conv2d"])
def test_a_ceiling_is_its_ops_flops_over_its_measured_time(op):
    ceiling = flops.measure_ceiling(op, "cpu", repeats=2, scale=1 / 16)
    assert ceiling.op == op and ceiling.device == "cpu" and ceiling.seconds > 0
    expected = Dense(128, 128).forward_flops(128) if op == "matmul" else Conv2D(56, 56, 64, 64, 3).forward_flops(2)
    assert ceiling.gflops * ceiling.seconds * 1e9 == pytest.approx(expected)
    gflops, fraction = flops.achieved(expected, ceiling.seconds * 1e3, ceiling)
    assert math.isclose(gflops, ceiling.gflops) and math.isclose(fraction, 1.0)


def test_an_unknown_op_is_refused():
    with pytest.raises(ValueError, match="'matmul' or 'conv2d'"):
        flops.measure_ceiling("fft")


@pytest.mark.parametrize(
    "words, named",
    [(["--repeats", "0"], "--repeats 0"), (["--device", "tpu"], "'tpu'"), (["--device", "gpu"], "no GPU visible")],
)
def test_bad_input_is_one_line_and_exit_2(words, named, capsys):
    if words == ["--device", "gpu"] and gpu_skip_reason() is None:
        pytest.skip("a GPU is visible here: --device gpu is good input")
    assert flops.main(words) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("flops: error:") and named in err
