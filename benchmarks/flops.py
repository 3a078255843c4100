"""Arithmetic per training step, from a model's shapes, and the device's ceiling, measured: achieved GFLOP/s.

A step's FLOPs are those of its matrix products and convolutions, forward and backward, counted
as TensorFlow's profiler counts them (`tf.compat.v1.profiler`, a multiply and an add are two):
forward, the gradient with respect to the weights, and the one with respect to the inputs, each
the size of the forward op (tests/test_flops.py holds the two counts equal). Bias adds,
activations, pooling and the loss are left out: on the MLPs and the CNN they are under 1%.

The ceiling is what the same device reaches on one large op of the kind, timed in the same run:
a large `tf.matmul`, and for convolutional models a large `tf.nn.conv2d`. Dividing a model's
FLOPs per step by its measured time per step, then by the ceiling, says how much of the device
a training style uses, and so where dispatch stops mattering.

    python -m tfparity.benchmarks.flops [--device cpu|gpu] [--repeats N]
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

from tfparity.compat import tf_logs

tf_logs.silence_by_default()  # before anything imports TensorFlow

PROG = "python -m tfparity.benchmarks.flops"
BACKWARD_FACTOR = 3  # forward, d/dweights, d/dinputs: each the forward op's size
MATMUL_SIZE = 2048  # the ceiling's matmul: (n, n) @ (n, n)
CONV_SHAPE = (32, 56, 56, 64, 64, 3)  # the ceiling's conv2d: batch, height, width, in, out channels, kernel


@dataclass(frozen=True)
class Dense:
    inputs: int
    units: int

    def forward_flops(self, batch: int) -> int:
        return 2 * batch * self.inputs * self.units


@dataclass(frozen=True)
class Conv2D:
    """A 'SAME'-padded convolution at stride `stride` on `height` x `width` inputs."""

    height: int
    width: int
    in_channels: int
    filters: int
    kernel: int
    stride: int = 1

    def forward_flops(self, batch: int) -> int:
        out_h, out_w = -(-self.height // self.stride), -(-self.width // self.stride)
        return 2 * batch * out_h * out_w * self.kernel * self.kernel * self.in_channels * self.filters


Layer = Dense | Conv2D


def forward_flops(layers: Sequence[Layer], batch: int) -> int:
    """The matmuls' and convolutions' FLOPs of one forward pass over `batch` examples."""
    return sum(layer.forward_flops(batch) for layer in layers)


def train_step_flops(layers: Sequence[Layer], batch: int) -> int:
    """One training step's FLOPs: forward and backward (`BACKWARD_FACTOR` times the forward)."""
    return BACKWARD_FACTOR * forward_flops(layers, batch)


@dataclass(frozen=True)
class Ceiling:
    op: str  # "matmul" or "conv2d"
    shape: str
    device: str
    gflops: float  # median over the repeats
    seconds: float  # the median op's time


def measure_ceiling(op: str, device: str = "cpu", repeats: int = 5, scale: float = 1.0) -> Ceiling:
    """GFLOP/s of one large `op` ("matmul" or "conv2d") on `device`, compiled by tf.function, after a
    warm-up call; the median of `repeats` timed calls. `scale` shrinks the op (tests use a small one)."""
    import tensorflow as tf

    from tfparity.compat import tf_device_name

    if op == "matmul":
        n = max(8, int(MATMUL_SIZE * scale))
        shapes, flops, shape = ([n, n], [n, n]), Dense(n, n).forward_flops(n), f"({n}, {n}) @ ({n}, {n})"
        fn = tf.function(tf.matmul)
    elif op == "conv2d":
        b, h, w, cin, cout, k = CONV_SHAPE
        b = max(1, int(b * scale))
        shapes = ([b, h, w, cin], [k, k, cin, cout])
        flops, shape = Conv2D(h, w, cin, cout, k).forward_flops(b), f"{b}x{h}x{w}x{cin} * {k}x{k}x{cin}x{cout}"
        fn = tf.function(lambda x, f: tf.nn.conv2d(x, f, strides=1, padding="SAME"))
    else:
        raise ValueError(f"op must be 'matmul' or 'conv2d', got {op!r}")
    with tf.device(tf_device_name(device)):
        rng = tf.random.Generator.from_seed(0)
        a, b_ = (rng.normal(s) for s in shapes)
        fn(a, b_).numpy()  # trace and warm up
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn(a, b_).numpy()  # .numpy(): wait for the device
            times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    return Ceiling(op, shape, device, flops / seconds / 1e9, seconds)


def achieved(flops_per_step: int, ms_per_step: float, ceiling: Ceiling) -> tuple[float, float]:
    """(GFLOP/s a style achieved, its fraction of the ceiling) from its measured ms per step."""
    gflops = flops_per_step / (ms_per_step / 1e3) / 1e9
    return gflops, gflops / ceiling.gflops


def main(argv: Sequence[str] | None = None) -> int:
    from tfparity.benchmarks import cli, report_args
    from tfparity.benchmarks.cli import UsageError

    parser = report_args.OneLineParser(
        prog=PROG, description=__doc__.splitlines()[0], formatter_class=cli.HelpFormatter
    )
    parser.add_argument("--device", choices=["cpu", "gpu"], default="cpu", help="where to measure")
    parser.add_argument(
        "--repeats", type=report_args.positive(int, "--repeats", "a whole number"), default=5, help="timed calls per op"
    )
    try:
        args = parser.parse_args(argv)
        tf_logs.import_tensorflow()  # its start-up lines filtered, before devices imports it
        from tfparity.compat.devices import gpu_skip_reason

        if args.device == "gpu" and (reason := gpu_skip_reason()):
            raise UsageError(f"--device gpu: {reason}; run with --device cpu")
    except UsageError as exc:
        print(f"flops: error: {exc}", file=sys.stderr)
        return 2
    from tabulate import tabulate

    rows = [measure_ceiling(op, args.device, args.repeats) for op in ("matmul", "conv2d")]
    table = [[c.op, c.shape, c.device, f"{c.gflops:.1f}", f"{c.seconds * 1e3:.1f}"] for c in rows]
    print(tabulate(table, ["op", "shape", "device", "GFLOP/s", "ms (median)"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
