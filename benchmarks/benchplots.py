"""The `tfparity bench --plot` figures: ms per step, loss curves, batch scaling.

matplotlib is an optional dependency (`tfparity[bench]`): it is imported here only, inside the
functions, so that the report and its tests need none; `tfparity bench` checks for it before
the run when --plot is given.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tfparity.benchmarks import idioms
from tfparity.benchmarks.benchstats import case_id_of


def plot(report: dict[str, Any], out_dir: str) -> list[str]:
    """ms_per_step.png (median bars, IQR whiskers) and loss_curves.png (every case on one axis), both at batch 100;
    batch_scaling.png (examples/s against batch size, CPU and GPU) when larger batches ran."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed, and none opened on a desktop
    import matplotlib.pyplot as plt

    Path(out_dir).mkdir(parents=True, exist_ok=True)
    done = [r for r in report["cases"] if r["ms_per_step_median"] is not None and r["batch_size"] == idioms.BATCH_SIZE]
    labels = [case_id_of(r) for r in done]
    written = []

    fig, ax = plt.subplots(figsize=(9, 0.45 * len(done) + 1.5))
    medians = [r["ms_per_step_median"] for r in done]
    spread = [
        [r["ms_per_step_median"] - r["ms_per_step_q1"] for r in done],
        [r["ms_per_step_q3"] - r["ms_per_step_median"] for r in done],
    ]
    bars = ax.barh(
        labels,
        medians,
        xerr=spread,
        capsize=3,
        color=["tab:green" if r["device"] == "gpu" else "tab:blue" for r in done],
    )
    _plain_log_axis(ax, "x")
    ax.bar_label(bars, labels=[f"{m:.3g}" for m in medians], padding=4, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("ms per training step (median, whiskers: interquartile range over rounds; log scale)")
    ax.set_title(f"Steady-state step time per style and idiom, batch {idioms.BATCH_SIZE}")
    written.append(_save(fig, Path(out_dir) / "ms_per_step.png"))

    fig, ax = plt.subplots(figsize=(9, 5))
    for label, r in zip(labels, done, strict=True):
        if len(r["losses"]) == r["steps"]:
            ax.plot(r["loss_steps"], r["losses"], label=label, linewidth=1, alpha=0.7)
        elif r["losses"]:  # keras with steps_per_execution logs once per call: points, not a line
            ax.plot(r["loss_steps"], r["losses"], "o", label=label, markersize=4)
    _plain_log_axis(ax, "y")
    ax.set_xlabel("training step")
    ax.set_ylabel("training loss (batch, before the update)")
    ax.set_title("Training loss of every style (same batch plan: the curves should coincide)")
    ax.legend(fontsize=7)
    written.append(_save(fig, Path(out_dir) / "loss_curves.png"))
    if report.get("batch_scaling"):
        written.append(plot_batch_scaling(plt, report["batch_scaling"], Path(out_dir) / "batch_scaling.png"))
    plt.close("all")
    return written


def plot_batch_scaling(plt: Any, scaling: list[dict[str, Any]], path: Path) -> str:
    """Examples/s against batch size, one line per idiom and device (solid: CPU, dashed: GPU)."""
    fig, ax = plt.subplots(figsize=(9, 5))
    for k, (style, name) in enumerate(idioms.SCALING_IDIOMS):
        for device, line in (("cpu", "-"), ("gpu", "--")):
            points = [
                (s["batch_size"], s[f"{device}_examples_per_s"])
                for s in scaling
                if (s["style"], s["idiom"]) == (style, name) and s[f"{device}_examples_per_s"]
            ]
            if points:
                ax.plot(*zip(*points, strict=True), line, marker="o", color=f"C{k}", label=f"{style}-{name}-{device}")
    _plain_log_axis(ax, "x")
    _plain_log_axis(ax, "y")
    ax.set_xlabel("batch size (log scale)")
    ax.set_ylabel("training examples per second (median; log scale)")
    ax.set_title("Throughput as the batch grows (solid: CPU, dashed: GPU)")
    ax.legend(fontsize=7)
    return _save(fig, path)


def _plain_log_axis(ax: Any, which: str) -> None:
    """Log scale with ticks at 1, 2, 5 x 10^k written as plain numbers (0.2, not 2x10^-1)."""
    import matplotlib.ticker

    (ax.set_xscale if which == "x" else ax.set_yscale)("log")
    axis = ax.xaxis if which == "x" else ax.yaxis
    axis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    axis.set_minor_formatter(matplotlib.ticker.NullFormatter())


def _save(fig: Any, path: Path) -> str:
    """Write the PNG atomically: a reader never sees half a file."""
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    fig.savefig(tmp, format="png", dpi=110)
    os.replace(tmp, path)
    return str(path)
