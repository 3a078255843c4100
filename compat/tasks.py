"""What a model's output is, and so what it is trained against and measured by: its task.

`compat.models` gives each model a task: "classes" (the MNIST models: ten scores, one-hot
labels, accuracy), "binary" (one probability against a 0/1 label, accuracy at 0.5) or
"regression" (one value against a target, mean squared error). One source for those facts:
the styles, the parity sides and the commands read them here.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tfparity.compat.metrics import accuracy
from tfparity.compat.models import MODELS

Metric = Callable[[np.ndarray, np.ndarray], float]


def binary_accuracy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of rows whose probability is on the label's side of 0.5."""
    return float(np.mean((np.asarray(probabilities) > 0.5) == (np.asarray(labels) > 0.5)))


def mean_squared_error(predictions: np.ndarray, targets: np.ndarray) -> float:
    """Mean of the squared differences, in float64."""
    diff = np.asarray(predictions, np.float64) - np.asarray(targets, np.float64)
    return float(np.mean(diff * diff))


# task -> (the metric's name in reports and parity checks, the metric)
TEST_METRICS: dict[str, tuple[str, Metric]] = {
    "classes": ("test_accuracy", accuracy),
    "binary": ("test_accuracy", binary_accuracy),
    "regression": ("test_mse", mean_squared_error),
}


def task_of(model: str) -> str:
    return MODELS[model].task


def training_labels(split, model: str) -> np.ndarray:
    """What `model` is trained against: one-hot rows for the MNIST models, the split's own labels otherwise."""
    return split.one_hot if task_of(model) == "classes" else split.labels


def test_metric(model: str) -> tuple[str, Metric]:
    """(name, metric) of `model`'s test measure: accuracy, or the regression's mean squared error."""
    return TEST_METRICS[task_of(model)]


def epoch_losses(losses: np.ndarray, num_examples: int, batch_size: int) -> np.ndarray:
    """The mean step loss of each whole epoch (num_examples // batch_size steps each), as the tutorials print it."""
    per_epoch = max(num_examples // batch_size, 1)
    whole = len(losses) // per_epoch * per_epoch
    return np.asarray(losses[:whole], np.float64).reshape(-1, per_epoch).mean(axis=1)


def test_measures(model: str, predictions: np.ndarray, targets: np.ndarray) -> dict[str, float]:
    """`RunResult` fields of a test evaluation: `test_accuracy`, and for a regression (which has no
    accuracy: NaN there) its `test_mse`."""
    name, metric = test_metric(model)
    value = metric(np.asarray(predictions), np.asarray(targets))
    return {"test_accuracy": value} if name == "test_accuracy" else {"test_accuracy": float("nan"), name: value}
