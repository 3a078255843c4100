"""`tfparity`: one command per thing users do with the four styles.

Each subcommand lives in its own module of `benchmarks/` exposing `add_arguments(parser)`
and `run(args) -> int` (the exit status); its one-line help lives here, so that `tfparity
--help` lists the commands without importing them (and TensorFlow with them).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Iterable

# Before anything imports TensorFlow: keep its C++ INFO chatter off the terminal.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# name -> (module, help); each module: add_arguments(parser), run(args) -> int
COMMANDS = {
    "compare": ("benchmarks.compare",
                "train all four styles on one config; table of accuracy, loss, max |dW|, |db| against TF1, and time"),
    "parity": ("benchmarks.parity_cmd",
               "check every TF2 style against the TF1 graph with compat.parity (variables, forward pass, "
               "training trajectory, 1-ulp growth); exit status 1 on divergence"),
    "sidebyside": ("benchmarks.sidebyside",
                   "the style modules' real source side by side, aligned stage by stage, "
                   "with each stage's TF1 -> TF2 API changes (Markdown or HTML)"),
    "pitfalls": ("benchmarks.pitfalls.command",
                 "run the TF1 -> TF2 pitfall catalogue on the real data; table of effect measured, claim, held, fix"),
    "bench": ("benchmarks.bench",
              "benchmark every style and idiom (pytest-benchmark): ms/step, examples/s, first step, "
              "time to 0.91, ratios to TF1 and the NumPy floor"),
    "upgrade": ("benchmarks.upgrade",
                "run TensorFlow's tf_upgrade_v2 on a TF1 script; show its diff and report, "
                "then audit what it leaves broken or unmigrated"),
}


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", choices=["mnist", "fashion_mnist"], default="mnist")
    parser.add_argument(
        "--data-dir", default=None, metavar="PATH",
        help="folder of the four IDX files, or a Keras mnist.npz (default: $TFPARITY_MNIST_DIR / "
        "$TFPARITY_FASHION_MNIST_DIR, $TFPARITY_DATA_DIR/<dataset>, system folders, then Keras' download cache)",
    )
    parser.add_argument("--no-verify", action="store_true", help="skip the checksum of known data sets")


def add_config_arguments(parser: argparse.ArgumentParser, **defaults) -> None:
    """One flag per TrainConfig field; `defaults` overrides TrainConfig's own defaults."""
    from compat import LOSS_FORMS, TrainConfig

    base = TrainConfig().to_dict() | defaults
    g = parser.add_argument_group("training config (every field of compat.TrainConfig)")
    g.add_argument("--steps", type=int, default=base["steps"])
    g.add_argument("--batch-size", type=int, default=base["batch_size"])
    g.add_argument("--learning-rate", "--lr", type=float, default=base["learning_rate"])
    g.add_argument("--optimizer", choices=["sgd", "adam"], default=base["optimizer"])
    g.add_argument("--adam-beta1", type=float, default=base["adam_beta1"])
    g.add_argument("--adam-beta2", type=float, default=base["adam_beta2"])
    g.add_argument("--adam-epsilon", type=float, default=base["adam_epsilon"])
    g.add_argument("--loss", choices=list(LOSS_FORMS), default=base["loss"],
                   help="; ".join(f"{k}: {v}" for k, v in LOSS_FORMS.items()))
    g.add_argument("--init", choices=["zeros", "normal", "glorot_uniform"], default=base["init"])
    g.add_argument("--init-stddev", type=float, default=base["init_stddev"])
    g.add_argument("--seed", type=int, default=base["seed"])
    g.add_argument("--device", choices=["cpu", "gpu"], default=base["device"])
    g.add_argument("--tutorial", action="store_true",
                   help="the seed-faithful TF1 tutorial config (summed log-softmax loss, SGD 0.01); overrides --loss and --lr")


def config_from_args(args: argparse.Namespace):
    from compat import TrainConfig

    fields = dict(
        steps=args.steps, batch_size=args.batch_size, learning_rate=args.learning_rate, optimizer=args.optimizer,
        adam_beta1=args.adam_beta1, adam_beta2=args.adam_beta2, adam_epsilon=args.adam_epsilon, loss=args.loss,
        init=args.init, init_stddev=args.init_stddev, seed=args.seed, device=args.device,
    )
    if getattr(args, "tutorial", False):
        return TrainConfig.tutorial(**{k: v for k, v in fields.items() if k not in ("loss", "learning_rate")})
    return TrainConfig(**fields)


def load_data_from_args(args: argparse.Namespace):
    from compat import load_dataset

    return load_dataset(args.dataset, args.data_dir, verify=not args.no_verify)


def add_output_arguments(parser: argparse.ArgumentParser, formats=("table", "markdown", "json")) -> None:
    parser.add_argument("--format", choices=list(formats), default=formats[0])
    parser.add_argument("-o", "--output", default=None, metavar="FILE", help="write the report here instead of stdout")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines")


def write_output(text: str, output: str | None) -> None:
    """Write the report to stdout, or atomically to a file (never half-written)."""
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    tmp = f"{output}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text if text.endswith("\n") else text + "\n")
    os.replace(tmp, output)


def build_parser(commands: Iterable[str] | None = None) -> argparse.ArgumentParser:
    """The parser of every command, with the arguments of `commands` (None: all of them).

    A command's arguments need its module, and most modules import TensorFlow (seconds, and
    its log lines): `main` builds only the command it runs, so `tfparity --help` stays instant.
    """
    wanted = set(COMMANDS if commands is None else commands)
    parser = argparse.ArgumentParser(prog="tfparity", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name in wanted:
            module = importlib.import_module(module_name)
            module.add_arguments(p)
            p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    # The top level has no options of its own besides --help: its first word is the command.
    command = next((word for word in argv if not word.startswith("-")), None)
    args = build_parser([command] if command in COMMANDS else []).parse_args(argv)
    from compat import DataError, DeviceUnavailable

    try:
        return int(args._run(args) or 0)
    except (DataError, DeviceUnavailable, ValueError) as exc:
        print(f"tfparity {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
