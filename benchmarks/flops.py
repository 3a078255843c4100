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

The softmax suite reads its idioms against four ceilings of the CPU (`machine_ceilings`): the
large `tf.matmul`, the same product in NumPy (float32, its BLAS on its default threads), and
memory bandwidth on a large array, in NumPy (a copy, `np.copyto`) and in TensorFlow (an in-place
add, `Variable.assign_add`: a TensorFlow op that writes a new tensor allocates it, and a fresh
256 MiB buffer costs its page faults, which are not bandwidth), each counted as the bytes read
plus the bytes written.
A softmax step's work is `softmax_step_flops` and `softmax_step_bytes`.

    python -m tfparity.benchmarks.flops [--device cpu|gpu] [--repeats N]
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tfparity.compat import tf_logs

tf_logs.silence_by_default()  # before anything imports TensorFlow

PROG = "python -m tfparity.benchmarks.flops"
BACKWARD_FACTOR = 3  # forward, d/dweights, d/dinputs: each the forward op's size
MATMUL_SIZE = 2048  # the ceiling's matmul: (n, n) @ (n, n)
CONV_SHAPE = (32, 56, 56, 64, 64, 3)  # the ceiling's conv2d: batch, height, width, in, out channels, kernel
BANDWIDTH_MIB = 256  # the bandwidth ceilings' arrays: far larger than any cache
FLOAT32_BYTES = 4


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


SOFTMAX = Dense(784, 10)  # the softmax suite's model: MNIST's 784 pixels to 10 classes


def softmax_step_flops(batch: int) -> int:
    """A softmax-regression step's FLOPs: the forward product and the weight gradient, each the forward's size.

    Its input is data, which no step differentiates: the third product of `BACKWARD_FACTOR` is not
    computed. At batch 100, 3.1 MFLOP. The softmax, the loss and the update add under 1%."""
    return 2 * SOFTMAX.forward_flops(batch)


def softmax_step_bytes(batch: int, image_bytes: int = FLOAT32_BYTES) -> int:
    """The least a softmax-regression step must move from memory: its batch (images, `image_bytes` a pixel,
    and one-hot labels, float32), read once. W and b (31 KB) stay in cache from step to step. At batch 100,
    318 KB; 82 KB with uint8 pixels."""
    return batch * (SOFTMAX.inputs * image_bytes + SOFTMAX.units * FLOAT32_BYTES)


@dataclass(frozen=True)
class Ceiling:
    op: str  # "matmul" or "conv2d"
    shape: str
    device: str
    gflops: float  # median over the repeats
    seconds: float  # the median op's time


def median_seconds(call: Callable[[], object], repeats: int) -> float:
    """The median time of `repeats` calls of `call`, after one untimed call (tracing, first-touch, caches)."""
    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def matmul_size(scale: float = 1.0) -> int:
    """n of the ceiling's (n, n) @ (n, n) product, in TensorFlow and in NumPy alike."""
    return max(8, int(MATMUL_SIZE * scale))


def measure_ceiling(op: str, device: str = "cpu", repeats: int = 5, scale: float = 1.0) -> Ceiling:
    """GFLOP/s of one large `op` ("matmul" or "conv2d") on `device`, compiled by tf.function, after a
    warm-up call; the median of `repeats` timed calls. `scale` shrinks the op (tests use a small one)."""
    import tensorflow as tf

    from tfparity.compat import tf_device_name

    if op == "matmul":
        n = matmul_size(scale)
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
        seconds = median_seconds(lambda: fn(a, b_).numpy(), repeats)  # .numpy(): wait for the device
    return Ceiling(op, shape, device, flops / seconds / 1e9, seconds)


def measure_numpy_matmul(repeats: int = 5, scale: float = 1.0) -> Ceiling:
    """`measure_ceiling("matmul")`'s product in float32 NumPy, into a preallocated output, its BLAS on its
    default threads (every core): what NumPy reaches on the CPU."""
    import numpy as np

    n = matmul_size(scale)
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((n, n), dtype=np.float32) for _ in range(2))
    out = np.empty((n, n), np.float32)
    seconds = median_seconds(lambda: np.matmul(a, b, out=out), repeats)
    return Ceiling(
        "matmul (NumPy)", f"({n}, {n}) @ ({n}, {n})", "cpu", Dense(n, n).forward_flops(n) / seconds / 1e9, seconds
    )


@dataclass(frozen=True)
class Bandwidth:
    source: str  # what moved the bytes: "copy (NumPy)" or "in-place add (TensorFlow)"
    mib: float  # the array's size
    gbps: float  # bytes read plus bytes written, per second, / 1e9; median over the repeats
    seconds: float  # the median call's time


BANDWIDTH_SOURCES = ("numpy", "tensorflow")


def measure_bandwidth(source: str, repeats: int = 5, scale: float = 1.0) -> Bandwidth:
    """Memory bandwidth on the CPU over BANDWIDTH_MIB arrays allocated before the clock, so that no page is faulted in
    while timed. NumPy: `np.copyto(dst, src)`, read once and written once; TensorFlow: `v.assign_add(x)` in a
    `tf.function` (v's own buffer updated in place), two arrays read and one written."""
    import numpy as np

    count = max(1024, int(BANDWIDTH_MIB * 2**20 * scale) // FLOAT32_BYTES)
    src = np.random.default_rng(0).standard_normal(count, dtype=np.float32)
    nbytes = count * FLOAT32_BYTES
    if source == "numpy":
        dst = np.empty_like(src)
        seconds = median_seconds(lambda: np.copyto(dst, src), repeats)
        return Bandwidth("copy (NumPy)", nbytes / 2**20, 2 * nbytes / seconds / 1e9, seconds)
    if source != "tensorflow":
        raise ValueError(f"source must be one of {BANDWIDTH_SOURCES}, got {source!r}")
    import tensorflow as tf

    from tfparity.compat import tf_device_name

    with tf.device(tf_device_name("cpu")):
        value, target = tf.constant(src), tf.Variable(tf.zeros([count]))

        @tf.function
        def add() -> None:
            target.assign_add(value, read_value=False)

        seconds = median_seconds(add, repeats)
    return Bandwidth("in-place add (TensorFlow)", nbytes / 2**20, 3 * nbytes / seconds / 1e9, seconds)


def machine_ceilings(repeats: int = 5, scale: float = 1.0) -> dict[str, dict]:
    """The CPU's four ceilings, measured now, as plain dicts (for a benchmark's JSON): `matmul_tf`,
    `matmul_numpy` (`Ceiling`s), `bandwidth_numpy`, `bandwidth_tf` (`Bandwidth`s)."""
    from dataclasses import asdict

    return {
        "matmul_tf": asdict(measure_ceiling("matmul", "cpu", repeats, scale)),
        "matmul_numpy": asdict(measure_numpy_matmul(repeats, scale)),
        "bandwidth_numpy": asdict(measure_bandwidth("numpy", repeats, scale)),
        "bandwidth_tf": asdict(measure_bandwidth("tensorflow", repeats, scale)),
    }


def achieved(flops_per_step: int, ms_per_step: float, ceiling: Ceiling) -> tuple[float, float]:
    """(GFLOP/s a style achieved, its fraction of the ceiling) from its measured ms per step."""
    gflops = flops_per_step / (ms_per_step / 1e3) / 1e9
    return gflops, gflops / ceiling.gflops


def hardware_use(flops_per_step: int, bytes_per_step: int, ms_per_step: float, ceilings: dict[str, dict]) -> dict:
    """What a case achieved, from its ms per step: GFLOP/s and its fraction of each matmul ceiling (`achieved`),
    GB/s and its fraction of the higher bandwidth measured (the machine's achievable)."""
    gflops, of_matmul_tf = achieved(flops_per_step, ms_per_step, Ceiling(**ceilings["matmul_tf"]))
    _, of_matmul_numpy = achieved(flops_per_step, ms_per_step, Ceiling(**ceilings["matmul_numpy"]))
    gbps = bytes_per_step / (ms_per_step / 1e3) / 1e9
    bandwidth = max(ceilings["bandwidth_numpy"]["gbps"], ceilings["bandwidth_tf"]["gbps"])
    return {
        "gflops": gflops,
        "of_matmul_tf": of_matmul_tf,
        "of_matmul_numpy": of_matmul_numpy,
        "gbps": gbps,
        "of_bandwidth": gbps / bandwidth,
    }


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
    if args.device == "cpu":
        rows.append(measure_numpy_matmul(args.repeats))
    table = [[c.op, c.shape, c.device, f"{c.gflops:.1f}", f"{c.seconds * 1e3:.1f}"] for c in rows]
    print(tabulate(table, ["op", "shape", "device", "GFLOP/s", "ms (median)"]))
    if args.device == "cpu":
        copies = [measure_bandwidth(source, args.repeats) for source in BANDWIDTH_SOURCES]
        table = [[b.source, f"{b.mib:.0f} MiB", f"{b.gbps:.1f}", f"{b.seconds * 1e3:.1f}"] for b in copies]
        print()
        print(tabulate(table, ["memory bandwidth", "array", "GB/s (read + write)", "ms (median)"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
