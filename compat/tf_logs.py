"""TensorFlow without its start-up chatter: what a tfparity user sees is tfparity's output.

Importing TensorFlow 2.21 on a machine without a GPU writes five to seven lines to the
process's stderr (file descriptor 2, from C++) before its logging is set up, so neither
`TF_CPP_MIN_LOG_LEVEL` nor Python's `logging` can hold them back: `absl::InitializeLog`
notices, `cudart_stub` "Could not find cuda drivers", and `cuInit ... UNKNOWN ERROR (303)`.
`import_tensorflow()` imports TensorFlow and initialises its devices with descriptor 2
pointed at a temporary file, then writes back every line that is not known start-up noise,
so a real error still reaches the user. A user who sets `TF_CPP_MIN_LOG_LEVEL` (or passes
`--verbose`) gets TensorFlow's output untouched.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from types import ModuleType

# Lines TensorFlow writes at start-up on a machine that runs fine; anything else is replayed.
STARTUP_NOISE = re.compile(
    "|".join(
        [
            r"All log messages before absl::InitializeLog\(\) is called are written to STDERR",
            r"cudart_stub\.cc.*Could not find cuda drivers",
            r"cuda_platform\.cc.*failed call to cuInit",
            r"cuda_(dnn|fft|blas)\.cc.*Unable to register cu(DNN|FFT|BLAS) factory",
            r"computation_placer\.cc.*computation placer already registered",
            r"port\.cc.*oneDNN custom operations are on",
            r"cpu_feature_guard\.cc.*This TensorFlow binary is optimized",
            r"To enable the following instructions: .* rebuild TensorFlow",
            r"TF-TRT Warning: Could not find TensorRT",
        ]
    )
)

_USER_LOG_LEVEL = "TF_CPP_MIN_LOG_LEVEL" in os.environ  # read before anything of ours sets it


def user_wants_logs() -> bool:
    """True when the user set TF_CPP_MIN_LOG_LEVEL (or TFPARITY_VERBOSE=1): show TensorFlow as it is."""
    return _USER_LOG_LEVEL or os.environ.get("TFPARITY_VERBOSE") == "1"


def silence_by_default() -> None:
    """Before TensorFlow loads: keep its C++ INFO/WARNING logs and Python warnings off the terminal."""
    if not user_wants_logs():
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def show_logs() -> None:
    """--verbose: TensorFlow's output as TensorFlow writes it, in this process and its children."""
    os.environ["TFPARITY_VERBOSE"] = "1"
    if not _USER_LOG_LEVEL:
        os.environ.pop("TF_CPP_MIN_LOG_LEVEL", None)


def is_startup_noise(line: str) -> bool:
    return bool(STARTUP_NOISE.search(line))


@contextlib.contextmanager
def startup_noise_filtered() -> Iterator[None]:
    """Inside: file descriptor 2 goes to a temporary file; after: its lines, less the start-up noise, to stderr."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            lines = sink.read().decode("utf-8", "replace").splitlines(keepends=True)
            sys.stderr.write("".join(line for line in lines if not is_startup_noise(line)))
            sys.stderr.flush()


def import_tensorflow() -> ModuleType:
    """`import tensorflow`, its devices initialised, with the start-up noise filtered out of stderr.

    Idempotent: once TensorFlow is loaded it returns it. With `user_wants_logs()` nothing is
    filtered.
    """
    if "tensorflow" in sys.modules or user_wants_logs():
        import tensorflow as tf

        return tf
    silence_by_default()
    with startup_noise_filtered():
        import tensorflow as tf

        tf.config.list_physical_devices()  # cuInit and the platform plugins log here
        tf.get_logger().setLevel(logging.ERROR)  # tf.function retracing and deprecation warnings
    return tf
