"""Which device a run uses, and what the machine is, for reports a reader can trust."""

from __future__ import annotations

import functools
import os
import platform
import subprocess
import sys
from typing import Any


class DeviceUnavailable(RuntimeError):
    """The requested device is not visible to TensorFlow."""


@functools.cache
def visible_gpus() -> tuple[str, ...]:
    import tensorflow as tf

    return tuple(d.name for d in tf.config.list_logical_devices("GPU"))


def gpu_available() -> bool:
    return bool(visible_gpus())


def tf_device_name(device: str) -> str:
    """'cpu' -> '/CPU:0', 'gpu' -> '/GPU:0'; raises DeviceUnavailable for a GPU that is not there."""
    if device == "cpu":
        return "/CPU:0"
    if device == "gpu":
        if not gpu_available():
            raise DeviceUnavailable(
                "no GPU is visible to TensorFlow (tf.config.list_logical_devices('GPU') is empty); "
                "run on the CPU (--device cpu)"
            )
        return "/GPU:0"
    raise ValueError(f"device must be 'cpu' or 'gpu', got {device!r}")


def gpu_skip_reason() -> str | None:
    """None when a GPU is visible, else why GPU cases cannot run (for pytest.skip)."""
    if gpu_available():
        return None
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "unset")
    return f"no GPU visible to TensorFlow on this machine (CUDA_VISIBLE_DEVICES={visible})"


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gpu_description() -> list[dict[str, str]]:
    """Name and driver of each NVIDIA GPU (from nvidia-smi), empty where there is none."""
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    gpus = []
    for line in out.strip().splitlines():
        name, driver, memory = (p.strip() for p in line.split(","))
        gpus.append({"name": name, "driver": driver, "memory": memory})
    return gpus


def environment() -> dict[str, Any]:
    """Versions and hardware behind a result: what a reader needs to trust a number."""
    import keras
    import numpy as np
    import tensorflow as tf

    return {
        "python": sys.version.split()[0],
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "gpus": gpu_description(),
        "tf_visible_gpus": list(visible_gpus()),
    }


# Process-wide settings that change what TensorFlow, XLA or BLAS do, read from the environment when each
# runtime starts: a benchmark run made under any of them says so (docs/benchmarks.md, "Process-wide settings").
RUNTIME_VARIABLES = (
    "XLA_FLAGS",
    "TF_XLA_FLAGS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
    "TF_ENABLE_ONEDNN_OPTS",
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
)


def runtime_settings() -> dict[str, str]:
    """The RUNTIME_VARIABLES set in this process's environment, with their values."""
    return {name: os.environ[name] for name in RUNTIME_VARIABLES if name in os.environ}


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB."""
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def split_cpu(replicas: int) -> list[str]:
    """Split the CPU into `replicas` logical devices and return their names ('/cpu:0', ...).

    Data-parallel code needs several devices; on a machine with one CPU, logical ones stand in (a
    correctness and overhead test, not a speed-up: they share the cores). TensorFlow fixes its
    devices when its runtime starts, so call this first thing in a fresh process; later, RuntimeError.
    """
    import tensorflow as tf

    if replicas < 1:
        raise ValueError(f"replicas must be at least 1, got {replicas}")
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * replicas)
    return [f"/cpu:{i}" for i in range(replicas)]
