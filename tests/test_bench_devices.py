"""`tfparity bench`'s devices: every idiom placed on the selected device, the GPU code path
forced onto a second logical CPU, and on a real GPU where one is visible.
"""

from __future__ import annotations

import json
import subprocess

import pytest
from benchmark_support import (
    REPO,
    data_path,
    run_child,
    tfparity_cache,  # noqa: F401  (autouse: a scratch cache for the children)
)

FORCED_DEVICE_CHILD = """
import sys
import tensorflow as tf

# Two logical CPUs; the styles' "gpu" now resolves to the second one. Everything from
# TrainConfig(device="gpu") down to each style's tf.device scope runs as it would on a GPU.
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import importlib, pkgutil
import tfparity.tf1_graph, tfparity.tf2_eager
from tfparity.compat import devices
from tfparity.benchmarks import placement

def forced(device):
    return "/CPU:1" if device == "gpu" else devices.tf_device_name(device)

# Every module of the two style packages that picks a device: the styles and the tuned idioms' own modules.
for package in (tfparity.tf1_graph, tfparity.tf2_eager):
    for found in pkgutil.iter_modules(package.__path__, f"{package.__name__}."):
        module = importlib.import_module(found.name)
        if hasattr(module, "tf_device_name"):
            module.tf_device_name = forced
sys.exit(placement.main(["--device", "gpu", "--steps", "5", "--data-dir", sys.argv[1]]))
"""


def placement_report(proc: subprocess.CompletedProcess) -> dict:
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(proc.stdout)


def test_gpu_code_path_places_every_idiom_on_the_selected_device(mnist, tmp_path):
    report = placement_report(
        run_child(["-c", FORCED_DEVICE_CHILD, data_path(mnist)], cwd=REPO, extra_env={"TF_CPP_MIN_LOG_LEVEL": "0"})
    )
    from tfparity.benchmarks import idioms

    expected = {c.idiom.key for c in idioms.select(devices=["gpu"], batch_sizes=[100])}
    assert set(report) == expected
    for key, found in report.items():
        assert found["compute_devices"] == ["CPU:1"], (key, found)
        assert found["max_abs_diff_vs_tf1_cpu"] <= 1e-5, (key, found)
    # The XLA idiom's cluster runs where its compiled function is called: that is asserted, not
    # whether XLA happens to log a MatMul (it logs none once another idiom has run).
    for key in ("function/whole_epoch", "function/whole_epoch_xla", "function/per_step"):
        assert report[key]["function_devices"] == ["CPU:1"], (key, report[key])


def test_placement_log_is_read_for_matmuls_and_compiled_function_calls():
    from tfparity.benchmarks import placement

    log = "\n".join(
        [
            "I0000 placer.cc:162] MatMul: (MatMul): /job:localhost/replica:0/task:0/device:CPU:0",
            "I0000 eager: Executing op MatMul in device /job:localhost/replica:0/task:0/device:GPU:0",
            "I0000 eager: Executing op __inference_train_epoch_178 in device "
            "/job:localhost/replica:0/task:0/device:GPU:1",
            "I0000 eager: Executing op AddV2 in device /job:localhost/replica:0/task:0/device:CPU:3",
        ]
    )
    assert placement.matmul_devices(log) == ["CPU:0", "GPU:0"]
    assert placement.function_devices(log) == ["GPU:1"]


def test_every_idiom_runs_on_the_gpu_when_one_exists(mnist):
    from tfparity.compat.devices import gpu_skip_reason

    reason = gpu_skip_reason()
    if reason:
        pytest.skip(reason)
    report = placement_report(
        run_child(["-m", "tfparity.benchmarks.placement", "--device", "gpu", "--data-dir", data_path(mnist)], cwd=REPO)
    )
    for key, found in report.items():
        assert found["compute_devices"] == ["GPU:0"], (key, found)
