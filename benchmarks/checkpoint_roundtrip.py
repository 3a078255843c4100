"""`tfparity checkpoint roundtrip`: a model's TF1 checkpoint through each TF2 form and style and back, verified.

Train the TF1 style a few steps (its optimizer's slots and step move), save with `Saver`; convert
to a TF2 `tf.train.Checkpoint` and to a Keras `.weights.h5`; load each into the TF2 styles that
read it (eager and tf.function: the checkpoint; keras.fit: the weights file), compare each
forward pass with the TF1 graph's; convert each back to a TF1 checkpoint and compare every saved
value with the original's. Every comparison is a row; the command fails (exit 1) on any that fails.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf
from tabulate import tabulate

from tfparity.benchmarks import checkpoint_models
from tfparity.benchmarks.progress import Progress
from tfparity.compat import Datasets, TrainConfig, parity
from tfparity.compat.checkpoints import convert, open_checkpoint, read_optimizer_state, verify
from tfparity.compat.tasks import training_labels

# the TF2 styles, the form each reads, and whether its forward pass is compiled (tf.function)
STYLE_FORMS = (("eager", "tf2", False), ("function", "tf2", True), ("keras_fit", "keras", False))


def train_tf1(data: Datasets, config: TrainConfig):
    """The TF1 style's graph after `config.steps` steps on the shared batch plan."""
    holder = checkpoint_models.holder("tf1", config)
    plan = config.batch_plan(data.train.num_examples)
    holder.train(parity.PlannedBatches(plan, data.train.images, training_labels(data.train, config.model)))
    return holder


def style_holder(style: str, form: str, compiled: bool, config: TrainConfig):
    holder = checkpoint_models.holder(form, config)
    if compiled:
        holder._forward = tf.function(holder._forward)
    return holder


def roundtrip(
    data: Datasets, config: TrainConfig, folder: Path, inputs: np.ndarray, *, quiet: bool = False
) -> list[dict[str, Any]]:
    """The rows of one model's round trip (each a comparison and its verdict)."""
    model, rows = config.model, []
    with Progress(1 + 2 + len(STYLE_FORMS) + 2, f"roundtrip {model}", quiet=quiet) as progress:
        progress.step("training the TF1 style")
        tf1 = train_tf1(data, config)
        tf1.save(folder / "tf1.ckpt")
        original = open_checkpoint(folder / "tf1.ckpt")
        written = {}
        for form in ("tf2", "keras"):
            progress.step(f"TF1 -> {form}")
            destination = folder / checkpoint_models.file_name(form)
            make = lambda form=form: checkpoint_models.holder(form, config)  # noqa: E731
            done = convert(original, make(), destination, fresh_target=make, source_forward=tf1.forward, inputs=inputs)
            written[form] = destination
            rows.append(row(model, "tf1_graph", form, done.verification, done.carried, done.dropped))
        for style, form, compiled in STYLE_FORMS:
            progress.step(f"{form} -> {style}")
            check = verify(tf1.forward, style_holder(style, form, compiled, config), written[form], inputs)
            rows.append(row(model, form, style, check))
        for form in ("tf2", "keras"):
            progress.step(f"{form} -> TF1")
            back = open_checkpoint(written[form])
            read_optimizer_state(back, checkpoint_models.holder(form, config))
            destination = folder / f"back-from-{form}.ckpt"
            make = lambda: checkpoint_models.holder("tf1", config)  # noqa: E731
            done = convert(back, make(), destination, fresh_target=make, source_forward=tf1.forward, inputs=inputs)
            r = row(model, form, "tf1_graph", done.verification, done.carried, done.dropped)
            again = open_checkpoint(destination)
            r["max_abs_diff_weights"] = saved_values_diff(original, again, [e.key for e in original.variables()])
            r["max_abs_diff_saved_values"] = saved_values_diff(original, again)
            rows.append(r)
        tf1.close()
    return rows


def saved_values_diff(original, again, keys=None) -> float:
    """The largest |difference| between two TF1 checkpoints' values, over `keys` (default: all both hold)."""
    keys = keys if keys is not None else set(original.values) & set(again.values)
    diffs = [np.abs(np.asarray(original.values[k], np.float64) - again.values[k]).max(initial=0.0) for k in keys]
    return float(max(diffs, default=0.0))


def row(model: str, source: str, target: str, verification, carried=(), dropped=()) -> dict[str, Any]:
    return {
        "model": model,
        "from": source,
        "to": target,
        "verified": verification.passed,
        "max_abs_diff": verification.max_abs_diff,
        "examples": verification.examples,
        "carried": list(carried),
        "dropped": list(dropped),
    }


def render(rows: list[dict[str, Any]], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(rows, indent=2)
    body = [
        [
            r["model"],
            r["from"],
            r["to"],
            "verified" if r["verified"] else "FAILED",
            f"{r['max_abs_diff']:.3g}",
            "" if "max_abs_diff_weights" not in r else f"{r['max_abs_diff_weights']:.3g}",
            "" if "max_abs_diff_saved_values" not in r else f"{r['max_abs_diff_saved_values']:.3g}",
            "; ".join(r["carried"] + [f"dropped {d.split(':')[0]}" for d in r["dropped"]]),
        ]
        for r in rows
    ]
    headers = ["model", "from", "to", "forward pass", "max |diff|", "weights |diff|", "all saved |diff|"]
    headers.append("optimizer state")
    if fmt == "markdown":
        headers = [h.replace("|", "\\|") for h in headers]
    table = tabulate(body, headers, tablefmt="github" if fmt == "markdown" else "simple", disable_numparse=True)
    note = (
        "forward pass: the converted checkpoint loaded into the target and run on the test examples, against the "
        "TF1 graph trained before the first save (the parity API's tolerance, rtol 1e-6, atol 1e-5)"
    )
    return f"{table}\n\n{note}"
