"""Where a whole-epoch step's time goes: the same compiled loop with more and more of the step in its body.

Each row times one loop body over the stacked epoch of the benchmark suite (`whole_epoch_fast`'s
loop, every planned batch pre-stacked, one call for all the steps but the first), as
`tf.function` and as XLA, and the same work in NumPy where it has a counterpart. Going down the
table, each body adds one part of a step, so the difference between two rows is what that part
costs in this loop:

1. the loop alone (a constant written as each step's loss);
2. the batch read (the sum of its images: under XLA, also the copy of the batch out of the stack);
3. the forward product `x W`;
4. both products, `x W` and `x^T (x W)` (the weight gradient's shape), nothing updated;
5. the closed-form step (`whole_epoch_fast`'s `closed_form=True`): the products, the fused softmax
   cross-entropy and its gradient, the SGD update;
6. the same with W kept transposed (`transposed=True`);
7. the autodiff step with the Keras optimizer (`whole_epoch`, `whole_epoch_xla`); NumPy: the floor's step.

W stays fixed in rows 1 to 4 (the batch changes every step, so nothing is hoisted out of the loop).
Medians over the repeats, ms per step; at batch 1,000 the loop runs a tenth of the steps, on the
same examples. The rows are timings of one process on one machine, not a model of it: read them
as a breakdown, and time the idioms themselves with `tfparity bench`.

Threads: by default TensorFlow's intra-op pool has a thread per core and NumPy's BLAS the floor's
count (`numpy_floor.blas_threads`: one up to batch 100, every core above); `--threads N` sets
both to N before TensorFlow starts, so one thread against one, or both cores against both, can be
compared. The line above the table says which.

    python -m tfparity.benchmarks.profile_epoch [--batch-sizes 100 1000] [--steps 300] [--repeats 7] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tfparity.compat import tf_logs

tf_logs.silence_by_default()  # before anything imports TensorFlow

PROG = "python -m tfparity.benchmarks.profile_epoch"
PARTS = (
    "loop alone",
    "+ read the batch",
    "+ forward product x W",
    "+ weight-gradient product x^T (x W)",
    "closed-form step (products, softmax cross-entropy, SGD)",
    "closed-form step, W transposed",
    "autodiff step, Keras SGD (whole_epoch); NumPy: the floor's step",
)
Body = Callable[..., object]  # (images, labels) -> the step's loss, traced into the loop


@dataclass(frozen=True)
class Row:
    part: str
    batch: int
    function_ms: float
    xla_ms: float
    numpy_ms: float | None


def tf_bodies(config, params, transposed_params) -> list[Callable[[], Body]]:
    """Makers of the loop bodies, one per PART, each called once per compilation (the steps make variables)."""
    import tensorflow as tf

    from tfparity.tf2_eager import whole_epoch_fast

    w = params["W"]
    return [
        lambda: lambda x, y: tf.constant(0.0),
        lambda: lambda x, y: tf.reduce_sum(x),
        lambda: lambda x, y: tf.reduce_sum(tf.matmul(x, w)),
        lambda: lambda x, y: tf.reduce_sum(tf.matmul(x, tf.matmul(x, w), transpose_a=True)),
        lambda: whole_epoch_fast.make_step(config, params, closed_form=True),
        lambda: whole_epoch_fast.make_step(config, transposed_params, closed_form=True),
        lambda: whole_epoch_fast.make_step(config, params, closed_form=False),
    ]


def numpy_bodies(config, init: dict | None = None) -> list[Callable[[object, object], object] | None]:
    """The NumPy counterparts of PARTS, where there is one (None: no row entry), from `init` (default: the config's)."""
    from tfparity.benchmarks import numpy_floor
    from tfparity.compat import initial_weights

    params = numpy_floor.build_model(init or initial_weights(config))
    optimizer = numpy_floor.make_optimizer(config, params)
    work = numpy_floor.Workspace(config.batch_size, params)
    w = params["W"]
    return [
        lambda x, y: None,
        lambda x, y: x.sum(),
        lambda x, y: (x @ w).sum(),
        lambda x, y: (x.T @ (x @ w)).sum(),
        None,
        None,
        lambda x, y: numpy_floor.train_step(params, optimizer, x, y, config.loss, work),
    ]


def median_ms_per_step(run: Callable[[], object], steps: int, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3 / steps


def time_tf(make_body: Callable[[], Body], images, labels, jit_compile: bool, repeats: int) -> float:
    """ms per step of the compiled loop over steps 1 .. end, after a call that compiles it on step 0."""
    import tensorflow as tf

    from tfparity.tf2_eager import whole_epoch_fast

    train_epoch = whole_epoch_fast.make_epoch_fn(make_body(), 1, jit_compile)
    zero, one, steps = (tf.constant(n, tf.int32) for n in (0, 1, images.shape[0]))
    train_epoch(images, labels, zero, one).numpy()
    return median_ms_per_step(lambda: train_epoch(images, labels, one, steps).numpy(), images.shape[0] - 1, repeats)


def blas_threads(batch: int, threads: int | None) -> int:
    """NumPy's BLAS threads at `batch`: `threads` where given, else the floor's own rule."""
    from tfparity.benchmarks import numpy_floor

    return threads or numpy_floor.blas_threads(batch)


def time_numpy(body, images, labels, repeats: int, threads: int | None = None) -> float:
    from threadpoolctl import threadpool_limits

    def run() -> None:
        for x, y in zip(images[1:], labels[1:], strict=True):
            body(x, y)

    with threadpool_limits(limits=blas_threads(images.shape[1], threads), user_api="blas"):
        return median_ms_per_step(run, images.shape[0] - 1, repeats)


def blas_threads_in_force(batch: int, threads: int | None) -> int:
    """The BLAS threads NumPy runs with under `time_numpy`'s limit at `batch`, as threadpoolctl reads them back
    (a library built for fewer threads than asked runs with its own maximum)."""
    import numpy  # noqa: F401 (threadpoolctl finds only the BLAS libraries already loaded)
    from threadpoolctl import threadpool_info, threadpool_limits

    with threadpool_limits(limits=blas_threads(batch, threads), user_api="blas"):
        return max((pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"), default=1)


def set_threads(threads: int | None, batch_sizes: Sequence[int]) -> str:
    """TensorFlow's intra-op threads set to `threads` (before it starts), and the line that says what is in force."""
    import tensorflow as tf

    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
    in_force = tf.config.threading.get_intra_op_parallelism_threads() or "one per core (TensorFlow's default)"
    blas = ", ".join(f"{blas_threads_in_force(b, threads)} at batch {b:,}" for b in batch_sizes)
    return f"threads: TensorFlow intra-op {in_force}; NumPy BLAS {blas}"


def profile(data, batch: int, steps: int, repeats: int, threads: int | None = None) -> list[Row]:
    """One Row per PART at `batch`, over `steps` steps."""
    import tensorflow as tf

    from tfparity.compat import TrainConfig, initial_weights, tf_device_name
    from tfparity.tf2_eager import whole_epoch_fast

    config = TrainConfig(steps=steps, batch_size=batch)
    rows = []
    with tf.device(tf_device_name("cpu")):
        _, images, labels = whole_epoch_fast.make_inputs(data, config)
        host_images, host_labels = images.numpy(), labels.numpy()
        numpy_parts = numpy_bodies(config)
        for index, part in enumerate(PARTS):
            timed = {}
            for jit_compile in (False, True):  # fresh variables for each: the steps train them
                params = whole_epoch_fast.build_model(initial_weights(config))
                transposed = whole_epoch_fast.build_model(initial_weights(config), transposed=True)
                body = tf_bodies(config, params, transposed)[index]
                timed[jit_compile] = time_tf(body, images, labels, jit_compile, repeats)
            numpy_body = numpy_parts[index]
            numpy_ms = time_numpy(numpy_body, host_images, host_labels, repeats, threads) if numpy_body else None
            rows.append(Row(part, batch, timed[False], timed[True], numpy_ms))
    return rows


def markdown(rows: Sequence[Row]) -> str:
    """The rows as a GitHub Markdown table, ms per step to 4 decimals."""
    lines = [
        "| batch | what each step does | tf.function ms/step | XLA ms/step | NumPy ms/step |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        numpy_ms = "" if r.numpy_ms is None else f"{r.numpy_ms:.4f}"
        lines.append(f"| {r.batch:,} | {r.part} | {r.function_ms:.4f} | {r.xla_ms:.4f} | {numpy_ms} |")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    from tfparity.benchmarks import cli, report_args

    parser = report_args.OneLineParser(
        prog=PROG, description=__doc__.splitlines()[0], formatter_class=cli.HelpFormatter
    )
    count = report_args.positive(int, "--steps", "a whole number")
    parser.add_argument(
        "--batch-sizes",
        nargs="+",
        type=report_args.positive(int, "--batch-sizes", "a whole number"),
        default=[100, 1000],
        help="batch sizes to profile, each over the same examples",
    )
    parser.add_argument("--steps", type=count, default=300, help="steps at batch 100 (larger batches: fewer)")
    parser.add_argument(
        "--repeats",
        type=report_args.positive(int, "--repeats", "a whole number"),
        default=7,
        help="timed calls of each loop; the median is shown",
    )
    parser.add_argument(
        "--threads",
        type=report_args.positive(int, "--threads", "a whole number"),
        default=None,
        help="TensorFlow intra-op threads and NumPy BLAS threads (default: each one's own)",
    )
    parser.add_argument("--data-dir", default=None, help="MNIST folder or mnist.npz (default: the usual search)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from tfparity.benchmarks.cli import UsageError

    try:
        args = build_parser().parse_args(argv)
    except UsageError as exc:
        print(f"profile_epoch: error: {exc}", file=sys.stderr)
        return 2
    tf_logs.import_tensorflow()
    from tfparity.compat import load_dataset

    settings = set_threads(args.threads, args.batch_sizes)
    data = load_dataset("mnist", args.data_dir)
    rows = []
    for batch in args.batch_sizes:
        steps = max(args.steps * 100 // batch, 3)  # the same examples at every batch size
        rows += profile(data, batch, steps, args.repeats, args.threads)
    print(settings + "\n")
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
