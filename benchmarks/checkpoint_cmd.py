"""`tfparity checkpoint`: inspect a checkpoint of either era, convert it to another, verified; round-trip a model.

    tfparity checkpoint inspect CKPT
    tfparity checkpoint convert SRC -o DST --to tf2|keras|tf1 (--model NAME | --source F --target F) [--map FILE]
    tfparity checkpoint roundtrip --model NAME|all

Every conversion is verified (the written file loaded into a fresh target model, its forward
pass against the source model's: exit 1 when it fails). Bad input (a missing or damaged
checkpoint, a mapping that leaves a variable out, a destination that exists) is one line and
exit 2, before anything is written.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
from tabulate import tabulate

from tfparity.benchmarks import cli, config_args
from tfparity.benchmarks.errors import UsageError
from tfparity.compat import MODELS

FORMATS = ("tf1", "tf2", "keras")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(
        dest="action", required=True, metavar="ACTION", help="inspect, convert or roundtrip"
    )
    inspect = actions.add_parser(
        "inspect",
        help="the variables, optimizer slots and step a checkpoint holds",
        description="List a TF1 or TF2 checkpoint's (or a Keras .weights.h5's) entries: each variable, each "
        "optimizer slot with the variable it belongs to, the optimizer's scalars and the step.",
    )
    inspect.add_argument(
        "checkpoint", metavar="CKPT", help="a TF1 or TF2 checkpoint (prefix, file or folder), or .weights.h5"
    )
    cli.add_output_arguments(inspect)
    convert = actions.add_parser("convert", help="convert a checkpoint to another era's format, then verify it")
    convert.add_argument(
        "source", metavar="SRC", help="the checkpoint to convert (prefix, file or folder, or .weights.h5)"
    )
    convert.add_argument(
        "-o", "--output", required=True, metavar="DST", help="where to write (a prefix; Keras: *.weights.h5)"
    )
    convert.add_argument(
        "--to", required=True, choices=FORMATS, help="tf1: Saver; tf2: tf.train.Checkpoint; keras: .weights.h5"
    )
    convert.add_argument(
        "--source-model",
        metavar="PATH.py:FACTORY",
        help="your model SRC was written from "
        "(a TF1 graph builder returning compat.parity.TF1Graph, a keras.Model or a tf.Module)",
    )
    convert.add_argument("--target-model", metavar="PATH.py:FACTORY", help="your model to convert into, built alike")
    convert.add_argument("--map", metavar="FILE", help="JSON (or YAML) object of source name -> target name")
    add_common(convert)
    # tfparity's models (--model, both sides its styles) are built from their training config: its optimizer
    # decides the slots, its betas the step read off beta1_power
    config_args.add_config_arguments(convert)
    roundtrip = actions.add_parser("roundtrip", help="TF1 -> each TF2 form -> each TF2 style -> TF1, verified")
    roundtrip.add_argument(
        "--keep", metavar="DIR", help="keep every checkpoint written in DIR (default: a temporary folder)"
    )
    add_common(roundtrip)
    config_args.add_config_arguments(roundtrip, every_model=True)  # --steps: TF1's steps before the first save
    for action in (inspect, convert, roundtrip):
        cli.add_verbose_argument(action)


def add_common(parser: argparse.ArgumentParser) -> None:
    cli.add_data_arguments(parser)
    parser.add_argument("--examples", type=int, default=1000, help="test examples the forward passes are compared on")
    parser.add_argument("--input", metavar="FILE.npy", help="compare the forward passes on this array instead")
    parser.add_argument("--format", choices=["table", "markdown", "json"], default="table", help="the report's format")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")


def run(args: argparse.Namespace) -> int:
    from tfparity.compat.checkpoints import CheckpointError

    try:
        return {"inspect": run_inspect, "convert": run_convert, "roundtrip": run_roundtrip}[args.action](args)
    except CheckpointError as exc:
        raise UsageError(str(exc)) from None


# --- inspect ------------------------------------------------------------------------------------


# Keras 3 optimizers save their per-variable state as one list, in the order they were built with: nothing in
# the file says which variable an entry belongs to, so inspect (which has no model) lists them unmatched.
UNMATCHED_OPTIMIZER_STATE = (
    "Other optimizer entries with a shape are per-variable state (Keras 3 Adam's moments, optimizer/_variables/N) "
    "saved as one list, not as slots of each variable: `tfparity checkpoint convert` with the model (--model or "
    "--source-model) matches them to their variables."
)


def run_inspect(args: argparse.Namespace) -> int:
    from tfparity.compat.checkpoints import open_checkpoint

    checkpoint = open_checkpoint(args.checkpoint)
    rows = [
        {"name": e.name, "role": e.role, "shape": list(e.shape), "dtype": e.dtype, "slot_of": e.slot_of, "slot": e.slot}
        for e in checkpoint.entries
        if e.role != "internal"
    ]
    if args.format == "json":
        text = json.dumps({"path": str(checkpoint.path), "format": checkpoint.format, "entries": rows}, indent=2)
    else:
        labels = {"variable": "variables", "slot": "optimizer slots", "optimizer": "other optimizer entries"}
        counts = ", ".join(f"{sum(r['role'] == role for r in rows)} {label}" for role, label in labels.items())
        steps = [int(checkpoint.value(e)) for e in checkpoint.entries if e.role == "step" and not e.shape]
        step = f", at step {steps[0]}" if steps else ", no step saved"
        head = f"{checkpoint.path}: {checkpoint.format} checkpoint, {counts}{step}"
        body = [
            [r["name"], r["role"], r["shape"], r["dtype"], f"{r['slot']} of {r['slot_of']}" if r["slot"] else ""]
            for r in rows
        ]
        table = tabulate(body, ["name", "role", "shape", "dtype", "slot"], tablefmt=fmt_table(args.format))
        text = f"{head}\n\n{table}"
        if any(e.role == "optimizer" and e.shape for e in checkpoint.entries):
            text += f"\n\n{UNMATCHED_OPTIMIZER_STATE}"
    cli.write_output(text, args.output, quiet=getattr(args, "quiet", False))
    return 0


def fmt_table(fmt: str) -> str:
    return "github" if fmt == "markdown" else "simple"


# --- convert ------------------------------------------------------------------------------------


def check_destination(path: str, to: str) -> Path:
    destination = Path(path)
    if to == "keras" and not destination.name.endswith(".weights.h5"):
        raise UsageError(f"-o {path}: a Keras weights file must end in .weights.h5 (Keras 3 reads nothing else)")
    if to != "keras" and destination.suffix == ".h5":
        raise UsageError(
            f"-o {path}: an .h5 name is a Keras weights file, but --to {to} writes a checkpoint prefix "
            f"({path}.index and .data-*); give --to keras, or a prefix without .h5"
        )
    if not destination.parent.is_dir():
        raise UsageError(f"-o {path}: folder {destination.parent} does not exist; create it or choose another path")
    taken = [p for p in (destination, Path(f"{destination}.index")) if p.exists()]
    taken += sorted(destination.parent.glob(f"{destination.name}.data-*"))
    if taken:
        raise UsageError(f"-o {path}: {taken[0]} exists; choose another path (a conversion never overwrites)")
    return destination


def run_convert(args: argparse.Namespace) -> int:
    from tfparity.compat.checkpoints import convert, load_into, open_checkpoint, read_map_file, read_optimizer_state
    from tfparity.compat.checkpoints.convert import adam_betas

    destination = check_destination(args.output, args.to)
    source = open_checkpoint(args.source)
    explicit = read_map_file(args.map) if args.map else None
    source_holder, make_target, inputs = sides(args, source.format)
    read_optimizer_state(source, source_holder)
    load_into(source_holder, source)  # the source model at the checkpoint's weights: the reference
    check_inputs(source_holder, inputs, args)
    conversion = convert(
        source,
        make_target(),
        destination,
        fresh_target=make_target,
        source_forward=source_holder.forward,
        inputs=inputs,
        explicit=explicit,
        betas=adam_betas(source_holder),
    )
    cli.write_output(render_conversion(conversion_report(source, args.to, conversion), args.format), None)
    return 0 if conversion.verification.passed else 1


def sides(args: argparse.Namespace, source_format: str):
    """(the source model, a maker of fresh target models, the inputs the forward passes are compared on)."""
    if not (args.source_model or args.target_model):  # tfparity's model, both sides its styles
        from tfparity.benchmarks import checkpoint_models

        config = config_args.config_from_args(args)
        make_target = lambda: checkpoint_models.holder(args.to, config)  # noqa: E731
        return checkpoint_models.holder(source_format, config), make_target, inputs_for(args, args.model)
    if not (args.source_model and args.target_model):
        raise UsageError(
            "give both --source-model and --target-model (yours: the model the checkpoint was written from, to "
            "verify against, and the one to convert into), or neither for tfparity's --model"
        )
    from tfparity.benchmarks import checkpoint_user

    source = checkpoint_user.holder(args.source_model, source_format, "--source-model")
    return source, lambda: checkpoint_user.holder(args.target_model, args.to), inputs_for(args, "softmax")


def check_inputs(holder, inputs: np.ndarray, args: argparse.Namespace) -> None:
    """The source model runs on the inputs, or a UsageError saying what to give (before anything is written)."""
    try:
        holder.forward(inputs[:1])
    except Exception as exc:  # a width or dtype the model does not take
        given = f"--input {args.input}" if args.input else f"the first test images (shape {inputs.shape})"
        raise UsageError(
            f"the source model cannot run on {given}: {str(exc).splitlines()[0][:200]}; give --input FILE.npy, "
            "a batch of what your model takes"
        ) from None


def inputs_for(args: argparse.Namespace, model: str) -> np.ndarray:
    """--input's array, else the first --examples test examples of the model's data."""
    if args.input:
        try:
            return np.load(args.input, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise UsageError(
                f"--input {args.input}: not a readable .npy array ({exc}); save one with numpy.save"
            ) from None
    if args.examples < 1:
        raise UsageError(f"--examples must be at least 1, got {args.examples}")
    data = cli.load_data_from_args(args, model)
    return data.test.images[: args.examples]


def conversion_report(source, to: str, conversion) -> dict[str, Any]:
    v = conversion.verification
    return {
        "source": str(source.path),
        "source_format": source.format,
        "target_format": to,
        "written": [str(p) for p in conversion.written],
        "mapping": conversion.mapping,
        "carried": conversion.carried,
        "dropped": conversion.dropped,
        "verified": v.passed,
        "verification": v.describe(),
        "max_abs_diff": v.max_abs_diff,
        "examples": v.examples,
    }


def render_conversion(report: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(report, indent=2)
    pairs = tabulate(
        [[src, tgt] for src, tgt in report["mapping"].items()], ["source", "target"], tablefmt=fmt_table(fmt)
    )
    lines = [
        f"{report['source']} ({report['source_format']}) -> "
        + (
            f"{', '.join(report['written'])} ({report['target_format']})"
            if report["written"]
            else f"{report['target_format']}: nothing written (the verification failed)"
        ),
        "",
        pairs,
        "",
        *(f"carried: {c}" for c in report["carried"]),
        *(f"dropped: {d}" for d in report["dropped"]),
        report["verification"],
    ]
    return "\n".join(lines)


# --- roundtrip ----------------------------------------------------------------------------------


def run_roundtrip(args: argparse.Namespace) -> int:
    import tempfile

    from tfparity.benchmarks import checkpoint_roundtrip

    models = list(MODELS) if args.model == "all" else [args.model]
    args.steps = 20 if args.steps is None else args.steps  # a few steps: the optimizer's slots move
    if args.steps < 1:
        raise UsageError(f"--steps must be at least 1, got {args.steps}")
    if args.examples < 1:
        raise UsageError(f"--examples must be at least 1, got {args.examples}")
    configs = {m: config_args.config_from_args(args, m) for m in models}
    datas = {m: cli.load_data_from_args(args, m) for m in models}
    keep = Path(args.keep) if args.keep else None
    if keep is not None and not keep.parent.is_dir():
        raise UsageError(f"--keep {args.keep}: folder {keep.parent} does not exist")
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for model in models:
            folder = (keep or Path(scratch)) / model
            folder.mkdir(parents=True, exist_ok=True)
            inputs = inputs_for(args, model)
            rows += checkpoint_roundtrip.roundtrip(datas[model], configs[model], folder, inputs, quiet=args.quiet)
    cli.write_output(checkpoint_roundtrip.render(rows, args.format), None)
    return 0 if all(r["verified"] for r in rows) else 1
