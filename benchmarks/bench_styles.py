"""The benchmark suite: every style and idiom, on CPU and GPU, against TF1 and the NumPy floor.

One pytest-benchmark case per (style, idiom, device). Each round is one whole training run
(`train(data, config)`: graph building or tracing, the steps, the test evaluation); that is
what pytest-benchmark's own min/median/max columns time, and what `--benchmark-compare-fail`
gates on. Inside each round the run also times its own loop, and the steady-state ms per step
(the first step, which carries tracing and graph set-up, left out and reported apart) is what
`extra_info` and `tfparity bench` report. Every case asserts that it trained the TF1 model:
its final test accuracy equals the TF1 reference's within 0.1 percentage point.
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import idioms
from benchmarks.idioms import TARGET_ACCURACY, BenchSettings
from compat import RunResult, TrainConfig, max_abs_diff
from compat.devices import gpu_skip_reason, peak_rss_mib

ACCURACY_TOLERANCE = 0.001  # 0.1 percentage point


def case_params() -> list:
    """Every (style, idiom, device); GPU cases carry a skip mark with the reason where no GPU is visible."""
    reason = gpu_skip_reason()
    return [
        pytest.param(
            idiom.style, idiom.name, device, id=f"{idiom.style}-{idiom.name}-{device}",
            marks=[pytest.mark.gpu, pytest.mark.skipif(reason is not None, reason=reason or "")] if device == "gpu" else [],
        )
        for idiom, device in idioms.select()
    ]


def loss_curve(run: RunResult) -> dict[str, list]:
    """The run's training losses and the steps they belong to (keras with steps_per_execution logs one per call)."""
    stride = run.steps / max(len(run.losses), 1)
    return {
        "loss_steps": [int(round((k + 1) * stride)) - 1 for k in range(len(run.losses))],
        "losses": [float(f"{v:.6g}") for v in run.losses],
    }


def case_report(runs: list[RunResult], reference: RunResult, cold: RunResult, target: tuple[int, float], settings: BenchSettings) -> dict:
    """What `extra_info` carries for one case: timings, accuracy, distance to TF1, time to target."""
    ms = np.array([r.ms_per_step for r in runs])
    q1, median, q3 = (float(v) for v in np.percentile(ms, [25, 50, 75]))
    final = runs[-1]
    diff = max_abs_diff(reference.weights, final.weights)
    return {
        "steps": final.steps,
        "batch_size": final.config.batch_size,
        "mode": settings.mode,
        "rounds": len(runs),
        "warmup_rounds": settings.warmup_rounds,
        "ms_per_step_rounds": [round(float(v), 5) for v in ms],
        "ms_per_step_median": median,
        "ms_per_step_q1": q1,
        "ms_per_step_q3": q3,
        "ms_per_step_iqr": q3 - q1,
        "examples_per_s": final.config.batch_size * 1e3 / median,
        "first_step_ms": float(np.median([r.extra["first_step_ms"] for r in runs])),
        "first_call_steps": final.extra.get("first_call_steps", 1),
        "seconds_per_run_median": float(np.median([r.seconds for r in runs])),
        "test_accuracy": final.test_accuracy,
        "reference_test_accuracy": reference.test_accuracy,
        "max_abs_dw": diff["W"],
        "max_abs_db": diff["b"],
        "same_batches": final.plan_fingerprint == reference.plan_fingerprint,
        "target_accuracy": TARGET_ACCURACY,
        "target_steps": target[0],
        "time_to_target_s": cold.seconds,
        "accuracy_at_target": cold.test_accuracy,
        "peak_rss_mib": peak_rss_mib(),
        **loss_curve(final),
    }


@pytest.mark.parametrize("style,idiom,device", case_params())
def test_idiom_speed_and_accuracy(benchmark, style, idiom, device, bench_settings, bench_data, tf1_reference, accuracy_target):
    case = idioms.get(style, idiom)
    config = TrainConfig(steps=bench_settings.steps, device=device)  # the tutorial model, stable loss, SGD 0.5
    reference = tf1_reference(config)
    runs: list[RunResult] = []

    benchmark.group = f"{device}: batch {config.batch_size}, {config.steps} steps per run"
    benchmark.extra_info.update(style=style, idiom=idiom, device=device, summary=case.summary)
    benchmark.pedantic(
        lambda: runs.append(case.train(bench_data, config)),
        rounds=bench_settings.rounds, warmup_rounds=bench_settings.warmup_rounds, iterations=1,
    )
    timed = runs[-bench_settings.rounds:]  # the warm-up rounds come first
    # Time to target from a cold start: a fresh run (new graph or trace) of just enough steps.
    cold = case.train(bench_data, config.replace(steps=accuracy_target[0]))
    benchmark.extra_info.update(case_report(timed, reference, cold, accuracy_target, bench_settings))

    final = timed[-1]
    assert final.plan_fingerprint == reference.plan_fingerprint, "trained on other batches than TF1"
    assert abs(final.test_accuracy - reference.test_accuracy) <= ACCURACY_TOLERANCE, (
        f"{style}/{idiom} on {device}: test accuracy {final.test_accuracy:.4f}, TF1 reference {reference.test_accuracy:.4f}"
    )
    assert abs(cold.test_accuracy - accuracy_target[1]) <= ACCURACY_TOLERANCE, (
        f"{style}/{idiom} on {device}: {cold.test_accuracy:.4f} after {accuracy_target[0]} steps, the NumPy floor had {accuracy_target[1]:.4f}"
    )
