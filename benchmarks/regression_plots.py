"""`tfparity compare --plot DIR`: the regression tutorials' matplotlib cells, for every style at once.

birth_life: the 190 countries and each style's fitted line; Pima: the test rows on the two
features with the largest |W| (of the TF1 fit) and each style's decision boundary there, the
other features held at their mean; both: each style's mean loss per epoch. The styles train
to the same weights, so their lines lie on one another: a line apart is a style that is not.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from tfparity.benchmarks import cli
from tfparity.benchmarks.errors import UsageError
from tfparity.compat import Datasets, RunResult
from tfparity.compat.tasks import epoch_losses

PLOTS = ("linear_regression", "logistic_regression")
STYLE_LINES = {"tf1_graph": "-", "eager": "--", "function": "-.", "keras_fit": ":"}


def check_plot_dir(path: str, models: list[str]) -> Path:
    """The folder to draw in, made if missing; bad input is a UsageError before any training."""
    cli.require_extra("bench", "matplotlib", what="--plot")
    if not any(model in PLOTS for model in models):
        raise UsageError(f"--plot draws the regression models' fits ({', '.join(PLOTS)}); drop it or pick one")
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--plot {path}: not a folder; give a folder to draw the PNGs in")
    if not folder.parent.is_dir():
        raise UsageError(f"--plot {path}: folder {folder.parent} does not exist; create it or choose another")
    folder.mkdir(exist_ok=True)
    return folder


def plot(model: str, data: Datasets, results: dict[str, RunResult | BaseException], folder: Path) -> list[Path]:
    """Draw `model`'s fit and loss curve for every style that ran; the paths written."""
    import matplotlib

    matplotlib.use("Agg")
    ran = {name: r for name, r in results.items() if isinstance(r, RunResult)}
    if not ran:
        return []
    draw_fit = draw_line if model == "linear_regression" else draw_boundary
    return [draw_fit(data, ran, folder / f"{model}_fit.png"), draw_curves(data, ran, folder / f"{model}_loss.png")]


def draw_line(data: Datasets, runs: dict[str, RunResult], path: Path) -> Path:
    import matplotlib.pyplot as plt

    x, y = data.train.images[:, 0], data.train.labels[:, 0]
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.scatter(x, y, s=10, color="0.4", label="countries (2010)")
    grid = np.linspace(x.min(), x.max(), 2)
    for name, run in runs.items():
        w, b = run.weights["W"].item(), run.weights["b"].item()
        ax.plot(grid, w * grid + b, STYLE_LINES.get(name, "-"), label=f"{name}: {w:.3f} x + {b:.2f}")
    ax.set(xlabel="birth rate", ylabel="life expectancy", title="birth_life: the fitted line of each style")
    ax.legend(fontsize=8)
    return save(fig, path)


def strongest_features(weights: np.ndarray) -> tuple[int, int]:
    """The indices of the two largest |W| entries, largest first."""
    order = np.argsort(-np.abs(weights.ravel()), kind="stable")
    return int(order[0]), int(order[1])


def draw_boundary(data: Datasets, runs: dict[str, RunResult], path: Path) -> Path:
    import matplotlib.pyplot as plt

    i, j = strongest_features(next(iter(runs.values())).weights["W"])
    names = data.feature_names or tuple(f"feature {k}" for k in range(data.test.images.shape[1]))
    x, labels = data.test.images, data.test.labels[:, 0]
    means = data.train.images.mean(axis=0)
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for value, color in ((0, "tab:blue"), (1, "tab:red")):
        rows = labels == value
        ax.scatter(x[rows, i], x[rows, j], s=12, color=color, label=f"test rows, class {value}")
    grid = np.linspace(x[:, i].min(), x[:, i].max(), 2)
    for name, run in runs.items():
        w, b = run.weights["W"].ravel(), run.weights["b"].item()
        rest = b + sum(w[k] * means[k] for k in range(len(w)) if k not in (i, j))
        ax.plot(grid, -(w[i] * grid + rest) / w[j], STYLE_LINES.get(name, "-"), label=f"{name}: p = 0.5")
    ax.set(xlabel=f"{names[i]} (scaled)", ylabel=f"{names[j]} (scaled)", ylim=(-0.05, 1.05))
    ax.set_title("Pima: decision boundary on the two strongest features (others at their mean)", fontsize=9)
    ax.legend(fontsize=8)
    return save(fig, path)


def draw_curves(data: Datasets, runs: dict[str, RunResult], path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, run in runs.items():
        curve = epoch_losses(run.losses, data.train.num_examples, run.config.batch_size)
        ax.plot(np.arange(1, len(curve) + 1), curve, STYLE_LINES.get(name, "-"), label=name)
    ax.set(xlabel="epoch", ylabel="mean training loss", yscale="log", title=f"{data.name}: loss per epoch")
    ax.legend(fontsize=8)
    return save(fig, path)


def save(fig, path: Path) -> Path:
    """Write the PNG whole or not at all (a temporary file renamed over it), and close the figure."""
    import matplotlib.pyplot as plt

    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}.png")
    try:
        fig.savefig(tmp, dpi=100, bbox_inches="tight")
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        tmp.unlink(missing_ok=True)
    return path
