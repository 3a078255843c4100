"""An optimizer's saved state across the migration: what carries over, what is dropped, and why.

Adam's state means the same thing on both sides: TF1's `W/Adam` and `W/Adam_1` slots are Keras 3
Adam's momentum and velocity of `W`, and TF1's step is its `global_step` (or, without one, read off
`beta1_power`, which holds beta1^(t+1) after t steps) where Keras counts `iterations`. Other slots
do not translate one to one and are reported as dropped with the reason, never silently:
RMSProp's mean square starts at ones in TF1 and at zeros in Keras, and TF1's momentum accumulator
holds sum(g) where Keras' SGD momentum holds -lr * sum(g).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from tfparity.compat.checkpoints.read import Checkpoint

DROPPED_WHY = {
    "rmsprop_ms": "TF1's RMSProp mean square starts at ones, Keras' at zeros: the two accumulators are not the same",
    "rmsprop_momentum": "TF1's RMSProp momentum has no Keras RMSprop counterpart with the same scaling",
    "momentum": "TF1's momentum accumulator holds sum(g), Keras' SGD momentum -lr * sum(g)",
    "adagrad": "TF1's Adagrad accumulator starts at 0.1, Keras' at its initial_accumulator_value: not carried",
    "rmsprop": "Keras' RMSprop velocity starts at zeros, TF1's mean square at ones: the two accumulators differ",
    "sgd": "Keras' SGD momentum holds -lr * sum(g), TF1's momentum accumulator sum(g)",
}


@dataclass
class OptimizerState:
    """Per-variable slots ((variable, kind) -> value) and the step, in the source's names."""

    slots: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    step: int | None = None
    notes: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # state read but not carried, each with its reason


@dataclass
class Carried:
    carried: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)


def tf1_state(checkpoint: Checkpoint, beta1: float | None = None) -> OptimizerState:
    """A TF1 checkpoint's slots and step: its global_step, else read off beta1_power with the Adam's
    `beta1` (the target's or the source model's); without either the step is reported dropped."""
    state = OptimizerState()
    powers = {}
    for entry in checkpoint.entries:
        if entry.role == "slot":
            state.slots[(entry.slot_of, entry.slot)] = checkpoint.value(entry)
        elif entry.role == "step":
            state.step = int(checkpoint.value(entry))
        elif entry.name.startswith("beta1_power"):
            powers[entry.name] = float(checkpoint.value(entry))
    if state.step is None and powers:
        power = powers[min(powers)]
        if beta1 is None:
            state.dropped.append(
                "the step: no global_step, and no Adam beta1 on either side to read it off beta1_power"
            )
        else:
            state.step = round(math.log(power) / math.log(beta1)) - 1
            state.notes.append(f"step {state.step} read off beta1_power = {power:.6g} with beta1 {beta1:g}")
    return state


def is_adam(optimizer) -> bool:
    import keras

    return isinstance(optimizer, keras.optimizers.Adam)


def keras_adam_slots(optimizer, variables: Mapping[str, object]) -> dict[str, tuple[object, object]]:
    """name -> (momentum, velocity) variables of a built Keras 3 Adam, for each of `variables`."""
    if not is_adam(optimizer):
        raise TypeError(f"{type(optimizer).__name__} is not a Keras Adam: it keeps no Adam moments")
    out = {}
    for name, variable in variables.items():
        index = optimizer._get_variable_index(variable)  # Keras 3 keeps the slots in lists by this index
        out[name] = (optimizer._momentums[index], optimizer._velocities[index])
    return out


def carry_into_keras(
    state: OptimizerState, mapping: Mapping[str, str], optimizer, variables: Mapping[str, object]
) -> Carried:
    """Assign `state` (source names) into a built Keras Adam over `variables` (target names)."""
    report = Carried()
    kinds = {kind for _, kind in state.slots}
    for kind in sorted(kinds - {"adam_m", "adam_v"}):
        why = DROPPED_WHY.get(kind, "a slot of an optimizer saved under another name: its meaning is not known")
        report.dropped.append(f"{kind} slots: {why}")
    if {"adam_m", "adam_v"} & kinds:
        if optimizer is None or not is_adam(optimizer):
            report.dropped.append("Adam moments: the target model has no Adam optimizer to hold them")
        else:
            slots = keras_adam_slots(optimizer, variables)
            for src, tgt in mapping.items():
                m, v = state.slots.get((src, "adam_m")), state.slots.get((src, "adam_v"))
                if m is not None and v is not None:
                    slots[tgt][0].assign(m)
                    slots[tgt][1].assign(v)
            report.carried.append(f"Adam moments of {len(mapping)} variables")
    if state.step is not None and optimizer is not None:
        optimizer.iterations.assign(state.step)
        report.carried.append(f"step {state.step} (as the optimizer's iterations)")
    elif state.step is not None:
        report.dropped.append(f"step {state.step}: the target model has no optimizer to count it (compile it first)")
    report.carried += state.notes
    report.dropped += state.dropped
    return report


def keras_state(optimizer, variables: Mapping[str, object]) -> OptimizerState:
    """A built Keras optimizer's iterations, and Adam's moments by the names of `variables`; any other
    optimizer's slots are reported as dropped."""
    state = OptimizerState(step=int(optimizer.iterations.numpy()))
    if is_adam(optimizer):
        for name, (m, v) in keras_adam_slots(optimizer, variables).items():
            state.slots[(name, "adam_m")], state.slots[(name, "adam_v")] = m.numpy(), v.numpy()
    elif len(optimizer.variables) > 2:  # beyond iterations and the learning rate: slots of its own
        kind = type(optimizer).__name__
        state.dropped.append(
            f"{kind} slots: {DROPPED_WHY.get(kind.lower(), 'no TF1 counterpart with the same meaning')}"
        )
    return state


def tf1_slot_values(
    state: OptimizerState, mapping: Mapping[str, str], target_state: Mapping[str, tuple[int, ...]], betas=None
) -> tuple[dict[str, np.ndarray], Carried]:
    """The TF1 graph's slot and step values (its names) for `state` mapped by `mapping` (source -> TF1 name)."""
    report, values = Carried(), {}
    for (src, kind), value in state.slots.items():
        suffix = {"adam_m": "Adam", "adam_v": "Adam_1"}.get(kind)
        name = f"{mapping.get(src, src)}/{suffix}" if suffix else None
        if name in target_state:
            values[name] = value
    if values:
        report.carried.append(f"Adam moments of {len(values) // 2} variables")
    elif state.slots:
        report.dropped.append("optimizer slots: the TF1 graph has no Adam slots to hold them")
    report.dropped += state.dropped
    if state.step is not None:
        held = []
        if "global_step" in target_state:
            values["global_step"] = np.asarray(state.step, np.int64)
            held.append("global_step")
        for i, beta in enumerate(betas or (), start=1):
            if f"beta{i}_power" in target_state:
                values[f"beta{i}_power"] = np.asarray(beta ** (state.step + 1), np.float32)
                held.append(f"beta{i}_power = beta{i}^(step + 1)")
        if held:
            report.carried.append(f"step {state.step} ({', '.join(held)})")
        else:
            report.dropped.append(f"step {state.step}: the TF1 graph has no global_step or Adam to hold it")
    return values, report
