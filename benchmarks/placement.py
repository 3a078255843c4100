"""Where each idiom's ops ran, read back from TensorFlow's own device-placement log.

`python -m tfparity.benchmarks.placement --device gpu` trains every TensorFlow idiom of the benchmark
suite for a few steps with `tf.debugging.set_log_device_placement(True)` and prints JSON: for
each idiom, the devices its MatMul ops (forward and gradient) were placed on, and the devices its
traced `tf.function`s (XLA clusters included) were called on. The log is
TensorFlow's C++ logging, so this must run in a fresh process (it sets TF_CPP_MIN_LOG_LEVEL=0
before TensorFlow loads) and it reads its own stdout/stderr at the file-descriptor level.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import sys
import tempfile
from collections.abc import Callable
from typing import Any

# Graph placer lines ("name: (MatMul): /job:.../device:GPU:0") and eager ones ("Executing op MatMul in device ...").
MATMUL_PLACEMENT = re.compile(r"(?:\(MatMul\): |Executing op MatMul in device )/job:\S+/device:(\w+:\d+)")
# The call of a traced tf.function ("Executing op __inference_train_epoch_178 in device ..."): where
# its body runs, and for jit_compile=True the one place the XLA cluster is compiled and run. Every
# trace has a new name, so the line is written on every run, whatever ran before in the process;
# an eager MatMul is logged only when its kernel is not cached yet, and XLA's own MatMuls not at all.
FUNCTION_PLACEMENT = re.compile(r"Executing op __inference_\S+ in device /job:\S+/device:(\w+:\d+)")


def matmul_devices(log: str) -> list[str]:
    """The devices ('CPU:0', 'GPU:0', ...) that MatMul ops were placed on, per the placement log."""
    return sorted(set(MATMUL_PLACEMENT.findall(log)))


def function_devices(log: str) -> list[str]:
    """The devices that traced tf.functions (XLA clusters included) were called on, per the placement log."""
    return sorted(set(FUNCTION_PLACEMENT.findall(log)))


def with_captured_output(fn: Callable[[], Any]) -> tuple[Any, str]:
    """Run `fn` with file descriptors 1 and 2 sent to a temporary file; return its result and that text."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            result = fn()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
        sink.seek(0)
        return result, sink.read().decode("utf-8", "replace")


def probe(device: str, steps: int, data_dir: str | None = None) -> dict[str, dict[str, Any]]:
    """Train each TensorFlow idiom `steps` steps on `device`.

    Reports where its MatMuls and compiled functions ran, and its weights' distance to TF1 on the CPU.
    """
    import tensorflow as tf

    from tfparity.benchmarks import idioms
    from tfparity.compat import TrainConfig, load_dataset, max_abs_diff

    data = load_dataset("mnist", data_dir)
    config = TrainConfig(steps=steps)
    reference = idioms.get(*idioms.BASELINE).train(data, config)
    tf.debugging.set_log_device_placement(True)
    report = {}
    for case in idioms.select(devices=[device], batch_sizes=[idioms.BATCH_SIZE]):
        idiom = case.idiom
        if (idiom.style, idiom.name) == idioms.FLOOR:
            continue  # NumPy: no TensorFlow ops to place
        result, log = with_captured_output(functools.partial(idiom.train, data, config.replace(device=device)))
        report[idiom.key] = {
            "matmul_devices": matmul_devices(log),
            "function_devices": function_devices(log),
            "compute_devices": sorted(set(matmul_devices(log)) | set(function_devices(log))),
            "max_abs_diff_vs_tf1_cpu": max(max_abs_diff(reference.weights, result.weights).values()),
        }
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tfparity.benchmarks.placement", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--device", choices=["cpu", "gpu"], default="gpu")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args(argv)
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"  # the placement log is INFO-level C++ logging
    print(json.dumps(probe(args.device, args.steps, args.data_dir), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
