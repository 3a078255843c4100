"""The data-parallel suite: ms per global step of each distributed variant, against its style on one device.

One pytest-benchmark case per (model, variant): the single-device styles the variants are written
in (TF1 feed_dict, the tf.function step, keras.fit) and the variants over 2 replicas: TF1 towers and
MirroredStrategy (custom loop, keras.fit) on 2 logical CPUs in a child process, TF1 between-graph
and MultiWorkerMirroredStrategy as 2 worker processes on localhost. Each round is one training
run; ms per global step is the run's training loop after its first step (process start-up, tracing
and the cluster's handshake excluded), and the report sets it against the variant's single-device
style (`BASELINE`) measured in the same run: the overhead of replication. Every case asserts the TF1
run's weights (1e-5; keras.fit 1e-4) and test accuracy (0.1 point). Logical devices and localhost
processes share this machine's cores: an overhead and correctness measure, never a speed-up.
A plain `pytest` of the whole project skips the quick cases, which tests/test_bench_distributed.py
runs through the command; name this file (as the command does) to run them.

    tfparity bench --distributed [--quick]      # or: pytest benchmarks/bench_distributed.py [--bench-full]
"""

from __future__ import annotations

import numpy as np
import pytest

from tfparity.benchmarks import idioms, replicas, workers
from tfparity.compat import Datasets, RunResult, TrainConfig, max_abs_diff

REPLICAS = 2
# variant -> the single-device style its code is written in (its overhead is measured against it)
BASELINE = {
    "towers": "tf1_graph",
    "between_graph": "tf1_graph",
    "mirrored": "function",
    "multi_worker": "function",
    "mirrored_keras": "keras_fit",
}
SINGLE_DEVICE = ("tf1_graph", "function", "keras_fit")
CASES = (*SINGLE_DEVICE, *replicas.VARIANTS, *workers.VARIANTS)
# CI's quick run: one case of each kind (in this process, a child with logical CPUs, a cluster of processes)
QUICK_CASES = {"softmax": ("tf1_graph", "function", "towers", "multi_worker")}
STEPS = {"quick": {"softmax": 20}, "full": {"softmax": 300, "mlp": 100}}
FULL_ROUNDS = 3
WEIGHT_TARGET = {"keras_fit": 1e-4, "mirrored_keras": 1e-4}  # the others: 1e-5
ACCURACY_TOLERANCE = 0.001


def case_params() -> list:
    return [pytest.param(m, v, id=f"{m}-{v}") for m in replicas.MODELS for v in CASES]


def train_variant(variant: str, data: Datasets, config: TrainConfig, data_dir: str | None) -> RunResult:
    """One run: a single-device style here, a replicated variant in its child, a cluster of processes."""
    if variant in SINGLE_DEVICE:
        return idioms.style_train(variant)(data, config)
    if variant in replicas.VARIANTS:
        return replicas.run_variant(variant, config, REPLICAS, data_dir)
    return workers.run_workers(variant, config, REPLICAS, data_dir)


def kind(variant: str) -> str:
    if variant in SINGLE_DEVICE:
        return "one device"
    if variant in replicas.VARIANTS:
        return f"{REPLICAS} logical CPUs"
    return f"{REPLICAS} processes" + (" + ps" if variant == "between_graph" else "")


@pytest.fixture(scope="session")
def distributed_reference(bench_data: Datasets):
    return idioms.memoized_reference(lambda config: bench_data)


@pytest.mark.parametrize("model,variant", case_params())
def test_distributed_overhead_and_parity(
    benchmark, model, variant, pytestconfig, bench_data, distributed_reference, whole_project_run
):
    full = pytestconfig.getoption("bench_full")
    wanted = pytestconfig.getoption("bench_model")
    if wanted and model not in ",".join(wanted).split(","):
        pytest.skip(f"--bench-model {' '.join(wanted)}")
    if not full and variant not in QUICK_CASES.get(model, ()):
        pytest.skip("not in the quick run (one case of each kind); `tfparity bench --distributed` runs every case")
    if not full and whole_project_run:
        # CI: tests/test_bench_distributed.py runs these very cases through `tfparity bench --distributed`
        # and checks its report; running them twice adds a minute of cluster start-ups.
        pytest.skip("plain pytest: the quick cases run through the command in tests/test_bench_distributed.py")
    config = TrainConfig.for_model(model, steps=STEPS["full" if full else "quick"][model])
    reference = distributed_reference(config)
    rounds = pytestconfig.getoption("bench_rounds") or (FULL_ROUNDS if full else 1)
    runs: list[RunResult] = []
    benchmark.group = f"{model}: data-parallel, global batch {config.batch_size}, {config.steps} steps per run"
    data_dir = pytestconfig.getoption("bench_data_dir")
    benchmark.pedantic(lambda: runs.append(train_variant(variant, bench_data, config, data_dir)), rounds=rounds)
    ms = float(np.median([r.ms_per_step for r in runs]))
    final = runs[-1]
    diff = max_abs_diff(reference.weights, final.weights)
    benchmark.extra_info.update(
        model=model, variant=variant, kind=kind(variant), baseline=BASELINE.get(variant),
        replicas=1 if variant in SINGLE_DEVICE else REPLICAS, batch_size=config.batch_size, steps=config.steps,
        ms_per_step_rounds=[round(r.ms_per_step, 4) for r in runs], ms_per_step_median=ms,
        examples_per_s=config.batch_size * 1e3 / ms, test_accuracy=final.test_accuracy,
        reference_test_accuracy=reference.test_accuracy, max_abs_dw=max(diff.values()),
    )  # fmt: skip
    assert final.plan_fingerprint == reference.plan_fingerprint, "trained on other batches than TF1"
    assert abs(final.test_accuracy - reference.test_accuracy) <= ACCURACY_TOLERANCE, f"{model} {variant}"
    target = WEIGHT_TARGET.get(variant, 1e-5)
    assert max(diff.values()) <= target, f"{model} {variant}: max |dW| {max(diff.values()):.2e} beyond {target:g}"
