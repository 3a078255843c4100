"""The batch plan: one deterministic sequence of index arrays that every style consumes.

Two implementations fed the same examples in a different order train to different weights.
TF1's `next_batch`, `tf.data`'s `shuffle(5000)` and Keras' `fit(shuffle=True)` all order an
epoch differently, so no style here shuffles on its own: the plan is made once from a seed,
and each style only gathers `images[plan.indices[step]]`.
`PlannedBatches` is the same plan as a sequence of batches, what a parity check feeds both sides.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BatchPlan:
    """`indices[step]` holds the example indices of training step `step`.

    Built epoch by epoch: each epoch is a fresh permutation of all examples, and batches run
    straight across epoch boundaries, as TF1's `next_batch` did.
    """

    indices: np.ndarray  # int64, shape (steps, batch_size)
    num_examples: int
    seed: int

    @property
    def steps(self) -> int:
        return int(self.indices.shape[0])

    @property
    def batch_size(self) -> int:
        return int(self.indices.shape[1])

    @property
    def fingerprint(self) -> str:
        """Equal fingerprints mean the same examples in the same order."""
        return hashlib.sha256(self.indices.tobytes()).hexdigest()[:16]

    def gather(self, images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """All batches at once: images (steps, batch, features), labels (steps, batch, ...)."""
        return images[self.indices], labels[self.indices]


def make_batch_plan(num_examples: int, batch_size: int, steps: int, seed: int, *, shuffle: bool = True) -> BatchPlan:
    """The plan for `steps` batches of `batch_size` drawn from `num_examples`, fixed by `seed`;
    without `shuffle`, every epoch in the examples' own order (the seed then changes nothing)."""
    if batch_size > num_examples:
        raise ValueError(f"batch_size {batch_size} is larger than the {num_examples} examples")
    if steps < 1 or batch_size < 1:
        raise ValueError(f"steps and batch_size must be positive, got {steps} and {batch_size}")
    rng = np.random.Generator(np.random.PCG64(seed))
    needed = steps * batch_size
    epochs = -(-needed // num_examples)
    epoch = rng.permutation if shuffle else np.arange
    order = np.concatenate([epoch(num_examples) for _ in range(epochs)])
    return BatchPlan(
        indices=order[:needed].reshape(steps, batch_size).astype(np.int64), num_examples=num_examples, seed=seed
    )


def iterate_batches(plan: BatchPlan, images: np.ndarray, labels: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield (images, labels) per step, gathered lazily (what `feed_dict` code wants)."""
    for step_indices in plan.indices:
        yield images[step_indices], labels[step_indices]


Batch = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class PlannedBatches(Sequence):
    """A batch plan over two arrays, gathered lazily: `batches[step] == (images[idx], labels[idx])`.

    Both sides of a parity check see the same examples in the same order; sides that feed a
    `tf.data` pipeline can use `plan.indices` directly.
    """

    plan: BatchPlan
    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return self.plan.steps

    def __getitem__(self, step: int | slice) -> Batch | list[Batch]:  # type: ignore[override]
        if isinstance(step, slice):
            return [self[i] for i in range(*step.indices(len(self)))]
        idx = self.plan.indices[step]
        return self.images[idx], self.labels[idx]

    def __iter__(self) -> Iterator[Batch]:
        return iterate_batches(self.plan, self.images, self.labels)


def planned_batches(
    images: np.ndarray, labels: np.ndarray, *, batch_size: int, steps: int, seed: int = 0
) -> PlannedBatches:
    """`steps` batches of `batch_size` drawn by `make_batch_plan` (a fresh permutation each epoch)."""
    return PlannedBatches(make_batch_plan(len(images), batch_size, steps, seed), images, labels)
