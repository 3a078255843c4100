"""The timed training loop of every style, tuned idiom and the NumPy floor, and the RunResult it ends in.

One clock, read at the same points everywhere, so that ms/step means the same thing in every
column of a benchmark report:

- `begin`, when `train` is called: `seconds` runs from here to the RunResult, so building the
  graph or the model, staging the data and evaluating count there and not in the steps;
- `start`, when the loop starts;
- `first`, when the first call returns (one step, or the first execution of a loop that runs
  several per call): it carries graph optimisation, tracing or XLA compilation, so its time is
  reported apart as `first_step_ms` and left out of `ms_per_step`;
- `end`, when the last call returns, and the losses are on the host where that is what waits
  for the device to finish (TensorFlow dispatches eager GPU ops asynchronously).

Nothing here imports TensorFlow: the NumPy floor runs the same loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import numpy as np

from tfparity.compat.batches import BatchPlan
from tfparity.compat.config import RunResult, TrainConfig
from tfparity.compat.metrics import step_timing

Output = TypeVar("Output")


class StepClock:
    """The clock of one training run, started when it is made (make it first thing in `train`)."""

    def __init__(self) -> None:
        self.begin = time.perf_counter()
        self.start: float | None = None
        self.first: float | None = None
        self.end: float | None = None

    def loop(
        self,
        step: Callable[..., Output],
        calls: Iterable[Sequence[Any]],
        finish: Callable[[list[Output]], Any] = list,
    ) -> Any:
        """`step(*args)` for each `args` of `calls`, timed; returns `finish(outputs)`.

        `calls` holds each call's arguments: a batch `(images, labels)` for the styles that run
        one step per call, `(steps,)` or `(start, stop)` for the idioms that run many. `finish`
        runs before the clock stops, because the copy of the losses to the host is what waits
        for the device to finish the steps.
        """
        self.mark_start()
        outputs = []
        for args in calls:
            outputs.append(step(*args))
            if self.first is None:
                self.first = time.perf_counter()
        finished = finish(outputs)
        self.end = time.perf_counter()
        return finished

    def mark_start(self) -> None:
        """The loop starts; for a loop that a framework runs (`keras.fit`), instead of `loop`."""
        self.start = time.perf_counter()

    def mark_call(self) -> None:
        """A call has returned; from the framework's per-batch callback, instead of `loop`."""
        self.end = time.perf_counter()
        if self.first is None:
            self.first = self.end

    def result(
        self,
        style: str,
        config: TrainConfig,
        plan: BatchPlan,
        weights: dict[str, np.ndarray],
        losses: Any,
        test_accuracy: float,
        *,
        first_call_steps: int = 1,
        **extra: Any,
    ) -> RunResult:
        """The run's RunResult; `seconds` ends now, so make it last.

        `first_call_steps`: the steps the first call ran. They are all in `first_step_ms`, so the
        steady-state figure divides the rest of the loop by the steps that ran after them.
        """
        if self.start is None or self.first is None or self.end is None:
            raise RuntimeError("StepClock.result before the loop ran a step")
        steps_after_first = config.steps - first_call_steps
        first_ms, ms_per_step = step_timing(self.start, self.first, self.end, steps_after_first + 1)
        return RunResult(
            style=style,
            config=config,
            weights=weights,
            losses=np.asarray(losses, dtype=np.float32),
            test_accuracy=test_accuracy,
            steps=config.steps,
            seconds=time.perf_counter() - self.begin,
            ms_per_step=ms_per_step,
            plan_fingerprint=plan.fingerprint,
            device=config.device,
            extra={"first_step_ms": first_ms, "first_call_steps": first_call_steps, **extra},
        )
