"""Same starting point for every style: initial weights and random seeds.

The initial weights are drawn once, with NumPy, from the config's seed, and every style
starts its variables from these arrays. That takes framework random number generators out of
the comparison: TF1's graph-level seeds, `tf.random` and Keras initializers draw different
numbers from the same seed, and parity tests must not depend on which one a style calls.
"""

from __future__ import annotations

import os
import random

import numpy as np

from tfparity.compat.config import TrainConfig
from tfparity.compat.models import MODELS


def initial_weights(config: TrainConfig, shapes: dict[str, tuple[int, ...]] | None = None) -> dict[str, np.ndarray]:
    """float32 initial values, by variable name, for `config.init`.

    - `zeros`: the TF1 tutorial's `tf.zeros`.
    - `normal`: N(0, init_stddev^2) on W (as `tf.random.normal(..., stddev=...)` in several tutorials).
    - `glorot_uniform`: Keras `Dense`'s and `Conv2D`'s default, U(-l, l) with l = sqrt(6 / (fan_in + fan_out)).
    - `truncated_normal`: `tf.random.truncated_normal(shape, stddev=init_stddev)` as TF1's CNN tutorial
      draws it: N(0, init_stddev^2), every value beyond two standard deviations drawn again.

    Every bias (a variable of one dimension) starts at `init_bias`, and a variable the model's
    tutorial starts at a constant (`ModelSpec.initial_values`) at that constant.
    """
    constants = {} if shapes else MODELS[config.model].initial_values
    shapes = shapes or MODELS[config.model].shapes
    rng = np.random.Generator(np.random.PCG64(config.seed))
    out = {}
    for name, shape in shapes.items():
        if name in constants:
            out[name] = np.full(shape, constants[name], dtype=np.float32)
        elif len(shape) < 2:
            out[name] = np.full(shape, config.init_bias, dtype=np.float32)
        elif config.init == "zeros":
            out[name] = np.zeros(shape, dtype=np.float32)
        elif config.init == "truncated_normal":
            out[name] = (truncated_standard_normal(rng, shape) * config.init_stddev).astype(np.float32)
        elif config.init == "normal":
            out[name] = (rng.standard_normal(shape) * config.init_stddev).astype(np.float32)
        else:  # Keras' fans: a conv kernel's are its receptive field times its input and output channels
            receptive = int(np.prod(shape[:-2]))
            limit = np.sqrt(6.0 / (receptive * (shape[-2] + shape[-1])))
            out[name] = rng.uniform(-limit, limit, size=shape).astype(np.float32)
    return out


def truncated_standard_normal(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """N(0, 1) values, each one beyond two standard deviations drawn again until it is within them."""
    values = rng.standard_normal(shape)
    outside = np.abs(values) > 2
    while outside.any():
        values[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(values) > 2
    return values


def seed_everything(seed: int, *, op_determinism: bool = False) -> None:
    """Seed Python, NumPy and TensorFlow (`keras.utils.set_random_seed`).

    With `op_determinism`, also `tf.config.experimental.enable_op_determinism()`: process-wide,
    it makes GPU reductions repeatable at some speed cost, and makes ops with no deterministic
    kernel raise instead of silently varying.
    """
    random.seed(seed)
    np.random.seed(seed)
    os.environ.setdefault("PYTHONHASHSEED", str(seed))
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    if op_determinism:
        tf.config.experimental.enable_op_determinism()
