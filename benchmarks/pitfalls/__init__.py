"""The executable pitfall catalogue: TF1 -> TF2 traps, each with an experiment that measures it.

`CATALOGUE` lists every pitfall in reading order; `PITFALLS` maps id -> pitfall. Each entry's
`measure(data)` trains or runs something on the real data and returns a `Measurement` whose
named checks are the entry's claims (tests/test_pitfalls.py keeps them true). `tfparity
pitfalls` runs them (benchmarks/pitfalls/command.py).
"""

from __future__ import annotations

from collections.abc import Iterable

from tfparity.benchmarks.pitfalls import (
    checkpoints,
    data_order,
    distributed,
    dropout,
    eager_mode,
    initializers,
    keras3,
    losses,
    optimizers,
    performance,
    quickstart,
    regression,
    rmsprop,
    sensitivity,
)
from tfparity.benchmarks.pitfalls.core import DataLoader, Measurement, Pitfall

CATALOGUE: tuple[Pitfall, ...] = (
    losses.SUM_VS_MEAN,
    losses.LOG_SOFTMAX,
    quickstart.SOFTMAX_TWICE,
    optimizers.ADAM_EPSILON,
    rmsprop.RMSPROP_DEFAULTS,
    initializers.INITIALIZERS,
    eager_mode.DISABLE_EAGER,
    performance.KERAS_DISPATCH,
    performance.XLA_DYNAMIC_SLICE,
    performance.GPU_TINY_MODEL,
    sensitivity.FLOAT32_SENSITIVITY,
    data_order.SHUFFLE_BUFFER_PITFALL,
    data_order.NEXT_BATCH_ORDER,
    keras3.KERAS3_V1_LAYERS,
    optimizers.DEFAULT_LEARNING_RATES,
    losses.V1_LOSSES_REDUCTION,
    data_order.VALIDATION_SPLIT,
    dropout.KEEP_PROB_VS_RATE,
    regression.PER_EXAMPLE_LOOP,
    distributed.MIRRORED_GLOBAL_BATCH,
    distributed.MIRRORED_L2_UNSCALED,
    distributed.MIRRORED_DROPOUT_SEED,
    checkpoints.CREATION_ORDER,
    checkpoints.KERAS3_BY_NAME,
    checkpoints.OPTIMIZER_STATE,
)
PITFALLS: dict[str, Pitfall] = {p.id: p for p in CATALOGUE}


def select(ids: Iterable[str] | None) -> list[Pitfall]:
    """The named pitfalls in the order given (None or empty: the whole catalogue)."""
    if not ids:
        return list(CATALOGUE)
    unknown = [i for i in ids if i not in PITFALLS]
    if unknown:
        raise ValueError(f"unknown pitfall id(s) {unknown}; `tfparity pitfalls --list` shows them: {list(PITFALLS)}")
    return [PITFALLS[i] for i in ids]


__all__ = ["CATALOGUE", "PITFALLS", "DataLoader", "Measurement", "Pitfall", "select"]
