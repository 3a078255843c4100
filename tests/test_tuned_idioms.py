"""The tuned idioms and the NumPy floor train the TF1 model: same batches, same weights, same accuracy.

The benchmark suite compares their speed; these tests are what make that comparison fair. Each
runs 200 steps (the TF1 tutorial model, SGD 0.5, batch 100) and must land within 1e-5 of the
TF1 feed_dict weights.
"""

from __future__ import annotations

import numpy as np
import pytest

from tfparity.benchmarks import idioms, numpy_floor
from tfparity.compat import TrainConfig, max_abs_diff, timing
from tfparity.tf1_graph import graph_style, in_graph
from tfparity.tf2_eager import keras_style, whole_epoch

SGD = TrainConfig(steps=200)
ADAM = TrainConfig(steps=200, optimizer="adam", learning_rate=0.001)
TUNED = [
    "tf1_graph/in_graph",
    "function/whole_epoch",
    "function/whole_epoch_xla",
    "function/unrolled_xla",
    "function/closed_form",
    "function/closed_form_xla",
    "function/transposed_xla",
    "function/closed_form_transposed_xla",
    "function/closed_form_transposed_uint8_xla",
    "keras_fit/steps_per_execution",
    "numpy/floor",
]
TEACHING_MODULES = ("tfparity.tf1_graph.graph_style.", "tfparity.tf2_eager.")


@pytest.fixture(scope="module")
def tf1_runs(mnist):
    return {config: graph_style.train(mnist, config) for config in (SGD, ADAM)}


def assert_matches_tf1(run, ref, weight_tol: float = 1e-5, loss_tol: float = 1e-5):
    assert run.plan_fingerprint == ref.plan_fingerprint  # same examples, same order
    diff = max_abs_diff(ref.weights, run.weights)
    assert max(diff.values()) <= weight_tol, diff
    assert abs(run.test_accuracy - ref.test_accuracy) <= 0.001, (run.test_accuracy, ref.test_accuracy)
    if len(run.losses) == len(ref.losses):
        np.testing.assert_allclose(run.losses, ref.losses, rtol=0, atol=loss_tol)


@pytest.mark.parametrize("key", TUNED)
def test_tuned_idiom_matches_tf1_feed_dict(mnist, tf1_runs, key):
    run = idioms.get(*key.split("/")).train(mnist, SGD)
    assert_matches_tf1(run, tf1_runs[SGD])
    assert run.steps == 200 and np.isfinite(run.ms_per_step) and run.extra["first_step_ms"] > 0


def test_registry_runs_each_idiom_with_its_options(mnist):
    """The registry imports a style only to run it (bench --help loads no TensorFlow), with the idiom's options."""
    config = TrainConfig(steps=idioms.STEPS_PER_CALL + 20)
    # whole_epoch_fast's defaults
    fast = {"jit_compile": True, "unroll": 1, "closed_form": False, "transposed": False, "uint8_images": False}
    expected = {
        "tf1_graph/in_graph": {"steps_per_run": idioms.STEPS_PER_CALL},
        "function/whole_epoch": {"jit_compile": False},
        "function/whole_epoch_xla": {"jit_compile": True},
        "function/unrolled_xla": {**fast, "unroll": idioms.UNROLL},
        "function/closed_form": {**fast, "jit_compile": False, "closed_form": True},
        "function/closed_form_xla": {**fast, "closed_form": True},
        "function/transposed_xla": {**fast, "transposed": True},
        "function/closed_form_transposed_xla": {**fast, "closed_form": True, "transposed": True},
        "function/closed_form_transposed_uint8_xla": {
            **fast,
            "closed_form": True,
            "transposed": True,
            "uint8_images": True,
        },
        "keras_fit/steps_per_execution": {"steps_per_execution": idioms.STEPS_PER_CALL},
        "keras_fit/default": {"steps_per_execution": 1},
    }
    for key, options in expected.items():
        idiom = idioms.get(*key.split("/"))
        assert idiom.train.__qualname__.startswith((*TEACHING_MODULES, "tfparity.tf1_graph.in_graph.")), (
            idiom.train.__qualname__
        )
        extra = idiom.train(mnist, config).extra
        assert {option: extra[option] for option in options} == options, key


@pytest.mark.parametrize("key", ["tf1_graph/in_graph", "function/whole_epoch", "numpy/floor"])
def test_tuned_idiom_matches_tf1_with_adam(mnist, tf1_runs, key):
    assert_matches_tf1(idioms.get(*key.split("/")).train(mnist, ADAM), tf1_runs[ADAM])


def test_xla_whole_epoch_with_adam_stays_close(mnist, tf1_runs):
    """XLA fuses Adam's update differently: not bit-identical, still within 1e-4 after 200 steps."""
    run = whole_epoch.train(mnist, ADAM, jit_compile=True)
    assert_matches_tf1(run, tf1_runs[ADAM], weight_tol=1e-4)


def test_in_graph_is_bit_identical_and_handles_a_short_last_run(mnist, tf1_runs):
    # 200 steps at 70 per Session.run: 1 + 70 + 70 + 59, the last run stops at the plan's end.
    run = in_graph.train(mnist, SGD, steps_per_run=70)
    ref = tf1_runs[SGD]
    for name in ref.weights:
        assert np.array_equal(run.weights[name], ref.weights[name]), name
    assert np.array_equal(run.losses, ref.losses)


def test_in_graph_rejects_a_bad_steps_per_run(mnist):
    with pytest.raises(ValueError, match="steps_per_run must be a positive integer"):
        in_graph.train(mnist, SGD, steps_per_run=0)


def test_tutorial_loss_form_matches_in_graph_and_numpy(mnist):
    config = TrainConfig.tutorial(steps=200)
    ref = graph_style.train(mnist, config)
    assert_matches_tf1(in_graph.train(mnist, config), ref)
    assert_matches_tf1(
        numpy_floor.train(mnist, config), ref, loss_tol=1e-3
    )  # summed loss: ~40, float32 sums differ in order


def test_keras_steps_per_execution_times_the_steps_after_its_first_call(mnist):
    run = keras_style.train(mnist, TrainConfig(steps=60), steps_per_execution=20)
    assert run.extra["first_call_steps"] == 20 and len(run.losses) == 3  # one callback per execution


def test_numpy_floor_refuses_the_gpu(mnist):
    with pytest.raises(ValueError, match="NumPy floor runs on the CPU only"):
        numpy_floor.train(mnist, SGD.replace(device="gpu"))


def test_steps_to_accuracy_finds_the_first_crossing(mnist):
    found = numpy_floor.steps_to_accuracy(mnist, TrainConfig(steps=1000), 0.91)
    assert found is not None
    steps, reached = found
    assert reached >= 0.91 and steps % 10 == 0
    before = numpy_floor.train(mnist, TrainConfig(steps=steps - 10))
    assert before.test_accuracy < 0.91  # the step before the one found had not reached it
    assert numpy_floor.steps_to_accuracy(mnist, TrainConfig(steps=50), 0.99) is None


def test_idiom_selection_filters_and_rejects_unknown_names():
    at_100 = idioms.select(devices=["cpu"], batch_sizes=[100])
    assert [(c.idiom.style, c.idiom.name) for c in at_100] == [(i.style, i.name) for i in idioms.IDIOMS]
    assert ("numpy", "floor") not in {(c.idiom.style, c.idiom.name) for c in idioms.select(devices=["gpu"])}
    assert [c.id for c in idioms.select(styles=["function"], idioms=["whole_epoch_xla"])] == [
        "function-whole_epoch_xla-cpu",
        "function-whole_epoch_xla-gpu",
        "function-whole_epoch_xla-cpu-b1000",
        "function-whole_epoch_xla-gpu-b1000",
        "function-whole_epoch_xla-cpu-b10000",
        "function-whole_epoch_xla-gpu-b10000",
    ]
    with pytest.raises(ValueError, match=r"unknown idiom\(s\) \['whole_epoc'\]"):
        idioms.select(idioms=["whole_epoc"])


def test_larger_batches_run_the_scaling_idioms_on_the_same_examples():
    scaled = idioms.select(batch_sizes=[10_000])
    assert {(c.idiom.style, c.idiom.name) for c in scaled} == set(idioms.SCALING_IDIOMS)
    # The idioms with 100 steps per call keep a steady state only at batch 100.
    assert not any(c.idiom.name in ("in_graph", "steps_per_execution") for c in scaled)
    full = idioms.FULL
    steps = {b: idioms.Case(idioms.get(*idioms.BASELINE), "cpu", b).steps(full) for b in (100, 1_000, 10_000)}
    assert steps == {100: full.steps, 1_000: full.steps // 10, 10_000: full.steps // 100}
    assert {b * n for b, n in steps.items()} == {100 * full.steps}
    assert idioms.Case(idioms.get(*idioms.BASELINE), "cpu", 60_000).steps(full) == idioms.MIN_SCALING_STEPS
    with pytest.raises(ValueError, match="batch sizes must be positive"):
        idioms.select(batch_sizes=[0])


@pytest.mark.parametrize("steps_per_execution", [1, 5])
def test_keras_steps_are_timed_to_the_last_batch_not_to_fit_returning(mnist, monkeypatch, steps_per_execution):
    """fit's wind-down after the last batch (once measured at 0.7 s) is no part of the steady-state step."""
    import itertools
    from types import SimpleNamespace

    ticks = itertools.count()  # a clock that moves one tick per reading: the ms/step counts readings, not time
    monkeypatch.setattr(timing, "time", SimpleNamespace(perf_counter=lambda: float(next(ticks))))
    slow_wind_down = lambda self, logs=None: [next(ticks) for _ in range(10_000)]  # noqa: E731
    monkeypatch.setattr(keras_style.RecordSteps, "on_train_end", slow_wind_down)
    run = keras_style.train(mnist, TrainConfig(steps=20), steps_per_execution=steps_per_execution)
    # One reading per callback: (20 / spe - 1) ticks between the first call and the last,
    # over the 20 - spe steps after the first call.
    calls_after_first = 20 // steps_per_execution - 1
    assert run.ms_per_step == pytest.approx(calls_after_first * 1e3 / (20 - steps_per_execution))


@pytest.mark.parametrize("batch_size", [100, 1000])
def test_numpy_floor_uses_one_blas_thread_for_small_batches_and_every_core_above(mnist, monkeypatch, batch_size):
    from threadpoolctl import threadpool_info

    def blas_threads_now() -> set[int]:
        return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}

    seen = []
    step = numpy_floor.train_step
    monkeypatch.setattr(numpy_floor, "train_step", lambda *args: (seen.append(blas_threads_now()), step(*args))[1])
    default = blas_threads_now()
    numpy_floor.train(mnist, TrainConfig(steps=12, batch_size=batch_size))
    assert seen and all(s == ({1} if batch_size <= numpy_floor.SINGLE_THREAD_MAX_BATCH else default) for s in seen)
    assert blas_threads_now() == default  # restored afterwards


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_numpy_floor_steps_write_into_their_workspace(mnist, optimizer):
    """The floor's steps allocate no arrays: every one they write was allocated once, in the run's Workspace.

    Measured as the peak of traced memory over 19 steps. What is left (about 6 KB) is NumPy's own iterator
    scratch for broadcasting ufuncs; the allocating path, control of the measure, peaks above 30 KB."""
    import tracemalloc

    from tfparity.compat import initial_weights

    config = TrainConfig(steps=20, optimizer=optimizer)
    _, images, labels = numpy_floor.make_inputs(mnist, config)
    peaks = {}
    for with_workspace in (True, False):
        params = numpy_floor.build_model(initial_weights(config))
        step_optimizer = numpy_floor.make_optimizer(config, params)
        work = numpy_floor.Workspace(config.batch_size, params) if with_workspace else None
        numpy_floor.train_step(params, step_optimizer, images[0], labels[0], "mean", work)  # first-call set-up
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for x, y in zip(images[1:], labels[1:], strict=True):
                numpy_floor.train_step(params, step_optimizer, x, y, "mean", work)
            now, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        peaks[with_workspace] = peak - before
        assert now - before < 1024, "the steps accumulate memory"
    logits_bytes = config.batch_size * 10 * 4
    assert peaks[True] < 2 * logits_bytes < 30_000 < peaks[False], peaks


def test_rebuilding_the_epoch_function_every_run_raises_no_retracing_warning(mnist, caplog):
    # Each run builds its epoch function anew on purpose; past five runs TensorFlow would warn of
    # "excessive retracing" into every benchmark and test log. Other retracing warnings still pass.
    import logging

    import tensorflow as tf

    config = TrainConfig(steps=2)
    with caplog.at_level(logging.WARNING, logger="tensorflow"):
        for _ in range(7):
            whole_epoch.train(mnist, config)
        tf.get_logger().warning("5 out of the last 5 calls to <function user_step> triggered tf.function retracing.")
    messages = [r.getMessage() for r in caplog.records if "retracing" in r.getMessage()]
    assert messages == ["5 out of the last 5 calls to <function user_step> triggered tf.function retracing."]


def test_keras_default_idiom_times_keras_default_compile(mnist, tf1_runs, monkeypatch):
    """The default idiom compiles as `model.compile(optimizer, loss)` does: no metric runs in its timed steps.

    Its per-step losses come from Keras' running mean of the loss, to float32 rounding of its sum."""
    import keras

    compiled = []
    real_compile = keras.Model.compile

    def spy(self, *args, **kwargs):
        compiled.append(kwargs)
        return real_compile(self, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "compile", spy)
    run = idioms.get("keras_fit", "default").train(mnist, SGD)
    assert [kwargs.get("metrics") for kwargs in compiled] == [None]
    assert run.extra["batch_loss"] is False
    assert_matches_tf1(run, tf1_runs[SGD], loss_tol=5e-5)
    # compare and parity compare runs step by step: the registry's keras_fit style records every step's own loss.
    compiled.clear()
    exact = idioms.STYLES["keras_fit"](mnist, SGD.replace(steps=20))
    assert [len(kwargs["metrics"]) for kwargs in compiled] == [1] and exact.extra["batch_loss"] is True


def test_keras_call_losses_undo_the_running_mean():
    losses = np.array([2.0, 1.0, 0.5, 0.25, 4.0], np.float64)
    means = np.cumsum(losses) / np.arange(1, 6)
    np.testing.assert_allclose(keras_style.call_losses(list(means), 5, 1), losses, rtol=1e-6)
    # Two steps per call, the last call one step: each call's mean.
    np.testing.assert_allclose(keras_style.call_losses(list(means[[1, 3, 4]]), 5, 2), [1.5, 0.375, 4.0], rtol=1e-6)


def test_in_graph_calls_run_one_step_then_steps_per_run():
    assert in_graph.steps_per_call(200, 70) == [1, 70, 70, 59]
    assert in_graph.steps_per_call(201, 100) == [1, 100, 100]
    assert in_graph.steps_per_call(1, 100) == [1]


def test_step_clock_times_the_first_call_apart_and_the_finish_inside(monkeypatch):
    from types import SimpleNamespace

    readings = iter([0.0, 10.0, 10.5, 13.5, 14.0])  # made, loop start, after the first call, after finish, result
    monkeypatch.setattr(timing, "time", SimpleNamespace(perf_counter=lambda: next(readings)))
    clock = timing.StepClock()
    calls = []
    losses = clock.loop(lambda a, b: calls.append((a, b)) or a + b, [(1, 2), (3, 4), (5, 6), (7, 8)], finish=np.array)
    assert calls == [(1, 2), (3, 4), (5, 6), (7, 8)] and list(losses) == [3, 7, 11, 15]
    plan = SimpleNamespace(fingerprint="plan")
    run = clock.result("s", TrainConfig(steps=4), plan, {}, losses, 0.5, note="x")
    assert run.extra == {"first_step_ms": 500.0, "first_call_steps": 1, "note": "x"}
    assert run.ms_per_step == pytest.approx(1000.0) and run.seconds == 14.0 and run.losses.dtype == np.float32


def test_the_suites_reference_trains_once_per_config(monkeypatch):
    trained = []
    monkeypatch.setattr(idioms, "style_train", lambda style: lambda data, config: trained.append((style, data, config)))
    reference = idioms.memoized_reference(lambda config: f"data for {config.batch_size}")
    for config in (SGD, SGD, SGD.replace(batch_size=50), SGD):
        reference(config)
    assert trained == [
        (idioms.REFERENCE, "data for 100", SGD),
        (idioms.REFERENCE, "data for 50", SGD.replace(batch_size=50)),
    ]
