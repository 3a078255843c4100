"""Randomness: what makes random ops agree between a TF1 graph and TF2, and the guide's seed tool.

On TF 2.21 / Keras 3 (each line is tested in tests/test_parity.py):

- NumPy arrays as initial values on both sides: always agree. `check_parity` copies the
  reference's initial values into the candidate before the forward and trajectory checks, so
  initializer randomness never reaches them; when the reference's own builds differ, it draws
  them under a seed it sets (`initial.reproducible_start`), so every run starts the same.
- Keras 3 initializers with an integer seed (`keras.initializers.GlorotUniform(seed=1)`) draw
  with `tf.random.stateless_*`: the same numbers inside a TF1 graph (as the `initializer=` of
  `tf.compat.v1.get_variable`) and in a Keras layer. So do `tf.random.stateless_*` ops and
  `tf.nn.experimental.stateless_dropout` given the same seed.
- `keras.utils.set_random_seed(s)` with `tf.compat.v1.set_random_seed(s)` does *not* make
  TF1 initializers agree with Keras 3 ones: TF1's are stateful ops, Keras 3's are stateless.
- Stateful ops (`tf.random.uniform`, `tf.compat.v1` initializers) agree when both sides set
  the same global seed (`tf.compat.v1.set_random_seed` in the graph, `tf.random.set_seed`
  eagerly) and every op has its own explicit op seed. Without op seeds, or with one op seed
  used by two ops (a graph repeats the numbers, eager code draws on), they do not.
- `deterministic_op_seeds()` below is the guide's `DeterministicRandomTestTool` (in `tf_keras`,
  absent under Keras 3): it makes stateful `tf.random.*` ops and `tf.compat.v1` initializers
  agree between a graph and eager code, but Keras 3 layers never call it.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any, Literal


class DeterministicOpSeeds:
    """Op seeds that depend only on how many random ops were made, not on the graph (see
    `deterministic_op_seeds`). `operation_seed` is the next op seed, and may be set."""

    def __init__(self, seed: int, mode: Literal["constant", "num_random_ops"]):
        if mode not in ("constant", "num_random_ops"):
            raise ValueError(f"mode must be 'constant' or 'num_random_ops', got {mode!r}")
        self.seed, self.mode, self.operation_seed = seed, mode, 0
        self._used: set[int] = set()

    def get_seed(self, _op_seed: Any) -> tuple[int, int]:
        """What TensorFlow's `get_seed` returns: (global seed, this op's seed)."""
        import tensorflow as tf

        op_seed = self.operation_seed
        if self.mode == "constant":
            tf.random.set_seed(op_seed)
        else:
            if op_seed in self._used:
                raise ValueError(
                    f"operation seed {op_seed} was already used: eager and graph draws would no longer agree"
                )
            self._used.add(op_seed)
            self.operation_seed += 1
        return self.seed, op_seed


@contextlib.contextmanager
def deterministic_op_seeds(
    seed: int = 42, mode: Literal["constant", "num_random_ops"] = "constant"
) -> Iterator[DeterministicOpSeeds]:
    """The migration guide's `DeterministicRandomTestTool.scope()`, for TF 2.21 without tf_keras.

    Inside, every *stateful* random op (`tf.random.uniform`, `tf.random.normal`,
    `tf.compat.v1` initializers, `tf.nn.dropout`) takes its seeds from this object instead of
    TensorFlow's `get_seed`, so a TF1 graph built in one scope and eager code run in another
    draw the same numbers. "constant": every op gets the same seeds; "num_random_ops": the
    n-th random op gets op seed n (program order must match on both sides).

    Keras 3 layers and initializers draw through `keras.random` (stateless ops and
    `SeedGenerator`s) and are not affected: give them integer seeds instead (module docstring).
    This patches `tensorflow.python.framework.random_seed.get_seed`, a private symbol, as the
    guide's tool did.
    """
    from unittest import mock

    import tensorflow as tf

    tool = DeterministicOpSeeds(seed, mode)
    tf.random.set_seed(seed)
    module = sys.modules[tf.compat.v1.get_seed.__module__]
    with mock.patch.object(module, "get_seed", wraps=tool.get_seed):
        yield tool
