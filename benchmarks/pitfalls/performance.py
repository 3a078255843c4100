"""Performance pitfalls: keras.fit's per-step dispatch, XLA on a dynamically sliced epoch, tiny models on a GPU.

Every figure is a ratio of two timings taken back to back in one process: absolute
milliseconds vary with the machine and its load, the ratios are the claims.
"""

from __future__ import annotations

import functools
import time

import tensorflow as tf

from tfparity.benchmarks.pitfalls.core import DataLoader, Measurement, Pitfall, fastest_interleaved
from tfparity.benchmarks.pitfalls.training import max_weight_diff
from tfparity.compat import (
    Datasets,
    TrainConfig,
    gpu_available,
    initial_weights,
    make_batch_plan,
    max_abs_diff,
    tf_device_name,
)
from tfparity.compat.devices import gpu_skip_reason
from tfparity.tf1_graph import graph_style
from tfparity.tf2_eager import eager_style, function_style, keras_style

# --- keras.fit dispatch ------------------------------------------------------------------------

FIT_STEPS = 600  # one MNIST epoch at batch 100
STEPS_PER_EXECUTION = 50
FIT_REPEATS = 2  # each fit's fastest of two, interleaved (see fastest_interleaved)


def measure_keras_dispatch(data: DataLoader) -> Measurement:
    mnist = data("mnist")
    config = TrainConfig(steps=FIT_STEPS)
    fits = {
        "default": functools.partial(keras_style.train, mnist, config),
        "batched": functools.partial(keras_style.train, mnist, config, steps_per_execution=STEPS_PER_EXECUTION),
    }
    fastest = fastest_interleaved(fits, FIT_REPEATS, lambda run: run.ms_per_step)
    default, batched = fastest["default"], fastest["batched"]
    ratio = default.ms_per_step / batched.ms_per_step
    dw = max_weight_diff(default, batched)
    return Measurement(
        effect=(
            f"keras.fit {default.ms_per_step:.3f} ms/step by default, {batched.ms_per_step:.3f} with "
            f"steps_per_execution={STEPS_PER_EXECUTION} (x{ratio:.1f}); weights equal to {dw:.0e}"
        ),
        checks={
            f"default fit is slower per step than steps_per_execution={STEPS_PER_EXECUTION} (ratio > 1.3)": ratio > 1.3,
            "steps_per_execution changes the speed, not the weights (max |dW| <= 1e-6)": dw <= 1e-6,
        },
        numbers={
            "steps": FIT_STEPS,
            "steps_per_execution": STEPS_PER_EXECUTION,
            "repeats": FIT_REPEATS,
            "ms_per_step_default": default.ms_per_step,
            "ms_per_step_steps_per_execution": batched.ms_per_step,
            "ratio": ratio,
            "max_abs_dw": dw,
        },
    )


KERAS_DISPATCH = Pitfall(
    id="keras-dispatch",
    title="keras.fit pays a dispatch per step unless steps_per_execution is set",
    tf1="for i in range(steps): sess.run(train_op, feed_dict=...)",
    tf2="model.compile(optimizer, loss); model.fit(dataset)",
    differs=(
        "fit calls its compiled train function once per batch, with callbacks and metric bookkeeping in Python "
        "each time: for a tiny model that overhead is most of the step"
    ),
    fix="model.compile(..., steps_per_execution=50): many steps per call (callbacks then fire once per execution)",
    measure=measure_keras_dispatch,
)


# --- whole-epoch loops, sliced or pre-batched, with and without XLA ----------------------------


def make_epoch_loop(
    params: dict[str, tf.Variable], optimizer, loss_form: str, batch_size: int, *, prebatched: bool, jit_compile: bool
):
    """Steps `start .. stop` of an epoch in one `tf.function` call, around the eager style's train step.

    `prebatched`: the data is `[steps, batch, 784]` and step i reads `images[i]`; otherwise it
    is the flat `[examples, 784]` tensor and step i reads `images[i*B:(i+1)*B]`, a slice with
    dynamic bounds. A `while` over tensors (not `tf.range`) so that XLA compiles once for any
    (start, stop).
    """

    @tf.function(jit_compile=jit_compile)
    def run_steps(images: tf.Tensor, labels: tf.Tensor, start: tf.Tensor, stop: tf.Tensor) -> tf.Tensor:
        i, loss = start, tf.constant(0.0)
        while i < stop:
            if prebatched:
                x, y = images[i], labels[i]
            else:
                x, y = images[i * batch_size : (i + 1) * batch_size], labels[i * batch_size : (i + 1) * batch_size]
            loss = eager_style.train_step(params, optimizer, x, y, loss_form)
            i += 1
        return loss

    return run_steps


def time_epoch_loop(
    data: Datasets, config: TrainConfig, timed_steps: int, *, prebatched: bool, jit_compile: bool
) -> dict:
    """ms per step of `make_epoch_loop` over one planned epoch: step 0 alone (tracing, compiling), then
    `timed_steps`."""
    epoch = data.train.num_examples // config.batch_size
    if not 0 < timed_steps < epoch:
        raise ValueError(f"timed_steps must be in 1..{epoch - 1}, got {timed_steps}")
    plan = make_batch_plan(data.train.num_examples, config.batch_size, epoch, config.seed)
    images, labels = plan.gather(data.train.images, data.train.one_hot)
    if not prebatched:
        images, labels = images.reshape(-1, images.shape[-1]), labels.reshape(-1, labels.shape[-1])
    with tf.device(tf_device_name(config.device)):
        images, labels = tf.constant(images), tf.constant(labels)
        params = function_style.build_model(initial_weights(config))
        optimizer = function_style.make_optimizer(config, params)
        run_steps = make_epoch_loop(
            params, optimizer, config.loss, config.batch_size, prebatched=prebatched, jit_compile=jit_compile
        )
        t0 = time.perf_counter()
        run_steps(images, labels, tf.constant(0), tf.constant(1)).numpy()
        t1 = time.perf_counter()
        run_steps(images, labels, tf.constant(1), tf.constant(1 + timed_steps)).numpy()
        t2 = time.perf_counter()
    return {
        "ms_per_step": (t2 - t1) * 1e3 / timed_steps,
        "first_call_ms": (t1 - t0) * 1e3,
        "timed_steps": timed_steps,
        "data_shape": list(images.shape),
        "weights": {k: v.numpy() for k, v in params.items()},
    }


LOOP_STEPS = 300
XLA_SLICED_STEPS = 10  # ~0.1 s each on a 2-core CPU: a few suffice for a ratio


def measure_xla_dynamic_slice(data: DataLoader) -> Measurement:
    mnist = data("mnist")
    config = TrainConfig()
    loops = {
        "sliced_no_xla": time_epoch_loop(mnist, config, LOOP_STEPS, prebatched=False, jit_compile=False),
        "sliced_xla": time_epoch_loop(mnist, config, XLA_SLICED_STEPS, prebatched=False, jit_compile=True),
        "prebatched_xla": time_epoch_loop(mnist, config, LOOP_STEPS, prebatched=True, jit_compile=True),
        "prebatched_no_xla": time_epoch_loop(mnist, config, LOOP_STEPS, prebatched=True, jit_compile=False),
    }
    ms = {name: loop["ms_per_step"] for name, loop in loops.items()}
    # Same planned batches, same steps: how the loop indexes its data must not change the weights.
    dw = max(max_abs_diff(loops["sliced_no_xla"]["weights"], loops["prebatched_xla"]["weights"]).values())
    slow = ms["sliced_xla"] / ms["sliced_no_xla"]
    fixed = ms["sliced_xla"] / ms["prebatched_xla"]
    return Measurement(
        effect=(
            f"X[i*B:(i+1)*B] of {loops['sliced_xla']['data_shape']}: {ms['sliced_xla']:.1f} ms/step with XLA vs "
            f"{ms['sliced_no_xla']:.3f} without (x{slow:.0f}); pre-batched X[i] with XLA {ms['prebatched_xla']:.3f}, "
            f"without {ms['prebatched_no_xla']:.3f}"
        ),
        checks={
            "XLA on the dynamically sliced epoch is > 10x slower per step than no XLA": slow > 10,
            "the pre-batched X[i] loop with XLA is > 10x faster than the sliced one": fixed > 10,
            "sliced no-XLA and pre-batched XLA train to the same weights (max |dW| <= 1e-5)": dw <= 1e-5,
        },
        numbers={
            "ms_per_step": ms,
            "first_call_ms": {n: loop["first_call_ms"] for n, loop in loops.items()},
            "timed_steps": {n: loop["timed_steps"] for n, loop in loops.items()},
            "ratio_sliced_xla_vs_no_xla": slow,
            "ratio_sliced_xla_vs_prebatched_xla": fixed,
            "ratio_prebatched_no_xla_vs_xla": ms["prebatched_no_xla"] / ms["prebatched_xla"],
            "max_abs_dw": dw,
        },
    )


XLA_DYNAMIC_SLICE = Pitfall(
    id="xla-dynamic-slice",
    title="jit_compile=True on an epoch loop that slices the data with dynamic bounds",
    tf1="for i in range(steps): sess.run(train_op, feed_dict={x: X[i*B:(i+1)*B], y_: Y[i*B:(i+1)*B]})",
    tf2="@tf.function(jit_compile=True) def epoch(X, Y): ... x = X[i*B:(i+1)*B]  # X: [60000, 784]",
    differs=(
        "moving the loop into one XLA-compiled function makes the dynamic-bounds slice of the big tensor cost "
        "hundreds of times a non-XLA step on CPU; X[i] on a pre-batched tensor stays cheap"
    ),
    fix=(
        "pre-batch the epoch to [steps, batch, 784] and index X[i] (or leave jit_compile off); time both before "
        "keeping XLA"
    ),
    measure=measure_xla_dynamic_slice,
)


# --- tiny models on a GPU ------------------------------------------------------------------------

# Measured elsewhere (issue 5, an H100 machine with TensorFlow 2.21): quoted, never re-measured here.
H100_REFERENCE_MS = {"tf1_feed_dict_gpu": 0.93, "tf1_feed_dict_same_machine_cpu": 0.54, "xla_epoch_loop_gpu": 0.020}
DEVICE_STEPS = 300
DEVICE_REPEATS = 2  # a 300-step loop of 0.5 ms steps is short enough for one stall to decide the ratio


def measure_on(device: str, data: Datasets) -> dict[str, float]:
    """ms per step of each loop on `device`, each the fastest of DEVICE_REPEATS interleaved runs."""
    config = TrainConfig(steps=DEVICE_STEPS + 1, device=device)

    def epoch_loop_ms(jit_compile: bool) -> float:
        return time_epoch_loop(data, config, DEVICE_STEPS, prebatched=True, jit_compile=jit_compile)["ms_per_step"]

    loops = {
        "tf1_feed_dict": lambda: graph_style.train(data, config).ms_per_step,
        "epoch_loop": lambda: epoch_loop_ms(False),
        "xla_epoch_loop": lambda: epoch_loop_ms(True),
    }
    return fastest_interleaved(loops, DEVICE_REPEATS, lambda ms: ms)


def measure_gpu_tiny_model(data: DataLoader) -> Measurement:
    mnist = data("mnist")
    cpu = measure_on("cpu", mnist)
    numbers: dict = {
        "ms_per_step_cpu": cpu,
        "h100_reference_ms_measured_elsewhere": H100_REFERENCE_MS,
        "steps": DEVICE_STEPS,
        "repeats": DEVICE_REPEATS,
    }
    checks = {
        "on CPU the on-device epoch loop beats feed_dict per step (ratio > 1.5)": cpu["tf1_feed_dict"]
        / cpu["epoch_loop"]
        > 1.5,
    }
    not_measured = {}
    if gpu_available():
        gpu = measure_on("gpu", mnist)
        numbers["ms_per_step_gpu"] = gpu
        checks["on the GPU feed_dict is slower per step than on this CPU"] = gpu["tf1_feed_dict"] > cpu["tf1_feed_dict"]
        checks["on the GPU the XLA epoch loop is > 10x faster per step than feed_dict"] = (
            gpu["tf1_feed_dict"] / gpu["xla_epoch_loop"] > 10
        )
        gpu_text = f"GPU: feed_dict {gpu['tf1_feed_dict']:.3f}, XLA loop {gpu['xla_epoch_loop']:.3f} ms/step"
    else:
        not_measured["gpu"] = gpu_skip_reason() or "no GPU"
        ref = H100_REFERENCE_MS
        gpu_text = (
            f"GPU not measured here; H100 (measured elsewhere): feed_dict {ref['tf1_feed_dict_gpu']} vs its CPU "
            f"{ref['tf1_feed_dict_same_machine_cpu']}, XLA loop {ref['xla_epoch_loop_gpu']} ms/step"
        )
    return Measurement(
        effect=(
            f"CPU: feed_dict {cpu['tf1_feed_dict']:.3f}, epoch loop {cpu['epoch_loop']:.3f}, XLA epoch loop "
            f"{cpu['xla_epoch_loop']:.3f} ms/step; {gpu_text}"
        ),
        checks=checks,
        numbers=numbers,
        not_measured=not_measured,
    )


GPU_TINY_MODEL = Pitfall(
    id="gpu-tiny-model",
    title="a tiny model is slower per step on a GPU unless the loop lives on the device",
    tf1="with tf.device('/gpu:0'): ...; sess.run(train_op, feed_dict={x: batch_xs, y_: batch_ys})",
    tf2="with tf.device('/GPU:0'): for x, y in batches: train_step(params, opt, x, y)  # one call per step",
    differs=(
        "a 784x10 step is microseconds of GPU work; per-step feeding, copying and launching cost more than the "
        "CPU's whole step (H100, measured elsewhere: 0.93 vs 0.54 ms)"
    ),
    fix=(
        "keep the loop on the device: pre-batched data on the GPU and the whole epoch in one tf.function with "
        "jit_compile=True (H100: 0.020 ms/step), or train tiny models on the CPU"
    ),
    measure=measure_gpu_tiny_model,
)
