"""The one training contract every style honours: a `TrainConfig` in, a `RunResult` out.

Every hyperparameter is explicit, including the ones whose defaults differ between
`tf.compat.v1.train` and Keras (Adam's epsilon above all), so that two styles given the
same config cannot silently train different models.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from tfparity.compat.batches import BatchPlan, make_batch_plan
from tfparity.compat.finite import NonFinite, first_nonfinite
from tfparity.compat.models import MODELS, model_spec

Optimizer = Literal["sgd", "adam", "rmsprop"]
LossForm = Literal["mean", "sum", "tutorial"]
Initializer = Literal["zeros", "normal", "glorot_uniform", "truncated_normal"]
Device = Literal["cpu", "gpu"]

OPTIMIZERS: tuple[str, ...] = ("sgd", "adam", "rmsprop")
LOSS_FORMS: dict[str, str] = {
    "mean": "softmax_cross_entropy_with_logits, mean over the batch (stable)",
    "sum": "softmax_cross_entropy_with_logits, summed over the batch (stable)",
    "tutorial": "-reduce_sum(y_ * log(softmax(logits))), summed over the batch (the TF1 tutorial, seed-faithful)",
}
INITIALIZERS: tuple[str, ...] = ("zeros", "normal", "glorot_uniform", "truncated_normal")
DEVICES: tuple[str, ...] = ("cpu", "gpu")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides the trained weights, and nothing else.

    The defaults are the TensorFlow "MNIST for ML beginners" model in its stable form:
    zeros init, mean cross-entropy, SGD with learning rate 0.5, batch 100, 1000 steps.
    """

    steps: int = 1000
    batch_size: int = 100
    learning_rate: float = 0.5
    optimizer: Optimizer = "sgd"
    # Adam's hyperparameters are always stated: TF1 AdamOptimizer defaults epsilon to 1e-8,
    # Keras Adam to 1e-7, and that alone moves the weights by about 3e-2 in 1000 steps.
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_epsilon: float = 1e-8
    # RMSprop's, TF1's values: tf.compat.v1.train.RMSPropOptimizer's decay and epsilon (Keras' epsilon is
    # 1e-7), and its mean square starts at ones, which the Keras styles copy (Keras' starts at zeros).
    rmsprop_rho: float = 0.9
    rmsprop_epsilon: float = 1e-10
    loss: LossForm = "mean"
    init: Initializer = "zeros"
    init_stddev: float = 0.01
    init_bias: float = 0.0  # every bias's starting value (the TF1 CNN tutorial's is 0.1)
    # Keras' Dropout rate (TF1 fed keep_prob = 1 - rate) after each hidden layer of a model with dropout;
    # every style draws the masks keras.layers.Dropout(rate, seed=seed) draws (compat.models says how).
    dropout_rate: float = 0.0
    seed: int = 0
    # a fresh permutation of the examples every epoch; False: the data's own order every epoch,
    # as the regression tutorials' per-example and hand-cut minibatch loops read their files
    shuffle: bool = True
    device: Device = "cpu"
    model: str = "softmax"  # a row of compat.models.MODELS

    def __post_init__(self) -> None:
        problems = []
        if self.model not in MODELS:
            problems.append(f"model must be one of {tuple(MODELS)}, got {self.model!r}")
        elif self.optimizer not in MODELS[self.model].optimizers:
            problems.append(
                f"the {self.model} styles train with {MODELS[self.model].optimizers}, not optimizer {self.optimizer!r}"
            )
        if not 0 <= self.rmsprop_rho < 1 or not self.rmsprop_epsilon > 0:
            problems.append("rmsprop_rho must lie in [0, 1) and rmsprop_epsilon be > 0")
        if not isinstance(self.steps, int) or self.steps < 1:
            problems.append(f"steps must be a positive integer, got {self.steps!r}")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            problems.append(f"batch_size must be a positive integer, got {self.batch_size!r}")
        if not self.learning_rate > 0:
            problems.append(f"learning_rate must be > 0, got {self.learning_rate!r}")
        if self.optimizer not in OPTIMIZERS:
            problems.append(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.loss not in LOSS_FORMS:
            problems.append(f"loss must be one of {tuple(LOSS_FORMS)}, got {self.loss!r}")
        if self.init not in INITIALIZERS:
            problems.append(f"init must be one of {INITIALIZERS}, got {self.init!r}")
        if self.device not in DEVICES:
            problems.append(f"device must be one of {DEVICES}, got {self.device!r}")
        if not 0 <= self.adam_beta1 < 1 or not 0 <= self.adam_beta2 < 1:
            problems.append("adam_beta1 and adam_beta2 must lie in [0, 1)")
        if not self.adam_epsilon > 0:
            problems.append(f"adam_epsilon must be > 0, got {self.adam_epsilon!r}")
        if not 0 <= self.dropout_rate < 1:
            problems.append(f"dropout_rate must lie in [0, 1), got {self.dropout_rate!r}")
        elif self.dropout_rate and not MODELS.get(self.model, MODELS["softmax"]).dropout:
            problems.append(f"the {self.model} model has no dropout layer: dropout_rate must be 0")
        spec = MODELS.get(self.model)
        if spec is not None and spec.task != "classes" and self.loss != "mean":
            problems.append(f"the {self.model} model's loss is its mean over the batch: loss must be 'mean'")
        if spec is not None and spec.dataset == "mnist" and not self.shuffle:
            problems.append(f"the {self.model} styles draw a fresh permutation each epoch: shuffle must be True")
        if not self.init_stddev > 0:
            problems.append(f"init_stddev must be > 0, got {self.init_stddev!r}")
        if problems:
            raise ValueError("invalid TrainConfig: " + "; ".join(problems))

    @classmethod
    def for_model(cls, model: str, **overrides: Any) -> TrainConfig:
        """The run `model` reproduces (`compat.models`), with `overrides` on top."""
        return cls(**{**model_spec(model).reference, "model": model, **overrides})

    @classmethod
    def tutorial(cls, **overrides: Any) -> TrainConfig:
        """The seed-faithful TF1 tutorial: summed `-y_*log(softmax)`, GradientDescent 0.01."""
        return cls(**{"loss": "tutorial", "learning_rate": 0.01, **overrides})

    def batch_plan(self, num_examples: int) -> BatchPlan:
        """The plan of this run's batches over `num_examples` (its batch size, steps, seed and shuffle)."""
        return make_batch_plan(num_examples, self.batch_size, self.steps, self.seed, shuffle=self.shuffle)

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class RunResult:
    """What one style's `train(data, config)` returns.

    `weights` maps variable name to value (`W`, `b` here) so larger models fit the same
    contract. `losses[i]` is the training loss of step i, computed on that step's batch
    before its update. `ms_per_step` covers the training loop only (first step included);
    `seconds` is the whole call, graph building and evaluation included.
    """

    style: str
    config: TrainConfig
    weights: dict[str, np.ndarray]
    losses: np.ndarray
    test_accuracy: float
    steps: int
    seconds: float
    ms_per_step: float
    plan_fingerprint: str = ""
    device: str = "cpu"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def final_loss(self) -> float:
        return float(self.losses[-1]) if len(self.losses) else float("nan")

    @property
    def nonfinite(self) -> NonFinite | None:
        """Where the run went to NaN or inf (its losses, and its final weights), or None."""
        return first_nonfinite(self.style, self.losses, {len(self.losses): self.weights})

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (weights reduced to shapes and a digest, not dumped)."""
        return {
            "style": self.style,
            "test_accuracy": self.test_accuracy,
            "final_loss": self.final_loss,
            "steps": self.steps,
            "seconds": self.seconds,
            "ms_per_step": self.ms_per_step,
            "device": self.device,
            "plan_fingerprint": self.plan_fingerprint,
            "weights": {k: {"shape": list(v.shape), "sha256": weights_digest({k: v})} for k, v in self.weights.items()},
            "config": self.config.to_dict(),
            **({"extra": self.extra} if self.extra else {}),
        }


def weights_digest(weights: Mapping[str, np.ndarray]) -> str:
    """A digest of the exact bits of the weights: equal digests mean bit-identical weights."""
    h = hashlib.sha256()
    for name in sorted(weights):
        value = np.ascontiguousarray(weights[name])
        h.update(name.encode())
        h.update(json.dumps([str(value.dtype), list(value.shape)]).encode())
        h.update(value.tobytes())
    return h.hexdigest()[:16]
