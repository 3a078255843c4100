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
import tempfile
from collections.abc import Iterable
from pathlib import Path

from tfparity.compat import tf_logs

# Before anything imports TensorFlow: keep its C++ INFO chatter off the terminal.
tf_logs.silence_by_default()

# Commands whose module loads TensorFlow only when it runs (their --help stays instant).
LAZY_TENSORFLOW = {"bench"}

# name -> (module, help); each module: add_arguments(parser), run(args) -> int
COMMANDS = {
    "compare": (
        "tfparity.benchmarks.compare",
        "train all four styles on one config; table of accuracy, loss, max |dW|, |db| against TF1, the parity "
        "verdict, and time",
    ),
    "parity": (
        "tfparity.benchmarks.parity_cmd",
        "check your own TF1/TF2 pair (PATH.py:FACTORY), or every TF2 style against the TF1 graph, with "
        "compat.parity (variables, forward pass, training trajectory, rounding twins); exit status 1 on a bug",
    ),
    "sidebyside": (
        "tfparity.benchmarks.sidebyside",
        "the style modules' real source side by side, aligned stage by stage, "
        "with each stage's TF1 -> TF2 API changes (Markdown or HTML)",
    ),
    "pitfalls": (
        "tfparity.benchmarks.pitfalls.command",
        "run the TF1 -> TF2 pitfall catalogue on the real data; table of effect measured, claim, held, fix",
    ),
    "bench": (
        "tfparity.benchmarks.bench",
        "benchmark every style and idiom (pytest-benchmark): ms/step, examples/s, first step, "
        "time to 0.91, ratios to TF1 and the NumPy floor",
    ),
    "upgrade": (
        "tfparity.benchmarks.upgrade",
        "run TensorFlow's tf_upgrade_v2 on a TF1 script; show its diff and report, "
        "then audit what it leaves broken or unmigrated",
    ),
}


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dataset", choices=["mnist", "fashion_mnist"], default="mnist", help="the data set to train on"
    )
    parser.add_argument(
        "--data-dir",
        default=None,
        metavar="PATH",
        help="folder of the four IDX files, or a Keras mnist.npz (default: $TFPARITY_MNIST_DIR / "
        "$TFPARITY_FASHION_MNIST_DIR, $TFPARITY_DATA_DIR/<dataset>, system folders, then Keras' download cache)",
    )
    parser.add_argument("--no-verify", action="store_true", help="skip the checksum of known data sets")


def add_config_arguments(parser: argparse.ArgumentParser, *, every_model: bool = False) -> None:
    """`--model` and one flag per TrainConfig field; a flag left out takes the model's own run (`compat.models`).
    `every_model`: `--model all` too, every model one after another."""
    from tfparity.compat import INITIALIZERS, LOSS_FORMS, MODELS, OPTIMIZERS, TrainConfig

    g = parser.add_argument_group(
        "training config (every field of compat.TrainConfig; a flag left out keeps the --model's own run)"
    )
    every = {"all": "every model in turn, each at its own run where a flag does not say"} if every_model else {}
    models = {name: spec.what for name, spec in MODELS.items()} | every
    g.add_argument(
        "--model", choices=list(models), default="softmax", help="; ".join(f"{k}: {v}" for k, v in models.items())
    )
    g.add_argument("--steps", type=int, default=None, help="training steps (batches)")
    g.add_argument("--batch-size", type=int, default=None, help="examples per step")
    g.add_argument("--learning-rate", "--lr", type=float, default=None, help="the optimizer's step size")
    g.add_argument(
        "--optimizer",
        choices=list(OPTIMIZERS),
        default=None,
        help="tf.compat.v1.train's GradientDescent / Adam / RMSProp and their TF2 counterparts (as the model allows)",
    )
    g.add_argument("--adam-beta1", type=float, default=None, help="Adam's first-moment decay")
    g.add_argument("--adam-beta2", type=float, default=None, help="Adam's second-moment decay")
    g.add_argument(
        "--adam-epsilon",
        type=float,
        default=None,
        help="Adam's epsilon, stated on both sides (TF1 defaults to 1e-8, Keras to 1e-7)",
    )
    g.add_argument(
        "--loss",
        choices=list(LOSS_FORMS),
        default=None,
        help="; ".join(f"{k}: {v}" for k, v in LOSS_FORMS.items()),
    )
    g.add_argument(
        "--init",
        choices=list(INITIALIZERS),
        default=None,
        help="initial weights, drawn once in NumPy and given to every style",
    )
    g.add_argument(
        "--init-stddev", type=float, default=None, help="standard deviation of --init normal and truncated_normal"
    )
    g.add_argument("--init-bias", type=float, default=None, help="every bias's initial value")
    g.add_argument(
        "--dropout-rate",
        type=float,
        default=None,
        help="fraction of hidden units dropped while training (TF1 fed keep_prob = 1 - rate); models with dropout",
    )
    g.add_argument("--rmsprop-rho", type=float, default=None, help="RMSProp's decay (TF1's and Keras' 0.9)")
    g.add_argument(
        "--rmsprop-epsilon", type=float, default=None, help="RMSProp's epsilon, stated on both sides (TF1: 1e-10)"
    )
    g.add_argument(
        "--seed",
        type=int,
        default=None,
        help="seed of the initial weights and the batch plan (a parity target's: the plan only)",
    )
    g.add_argument(
        "--device",
        choices=["cpu", "gpu"],
        default=None,
        help="where every style runs (gpu: checked up front)",
    )
    for action in g._group_actions:  # a left-out flag takes the model's run: say what that is, model by model
        if action.default is None and action.dest in TrainConfig.__dataclass_fields__:
            action.help = f"{action.help} {model_defaults(action.dest)}"
    g.add_argument(
        "--tutorial",
        action="store_true",
        help="the seed-faithful TF1 tutorial config (summed log-softmax loss, SGD 0.01); overrides --loss and --lr",
    )


def model_defaults(field: str) -> str:
    """'(default: 1000; mlp 2345)': a field's value in the softmax run, then where another model's run differs."""
    from tfparity.compat import MODELS, TrainConfig

    values = {model: getattr(TrainConfig.for_model(model), field) for model in MODELS}
    base = values.pop("softmax")
    others = ", ".join(f"{model} {value}" for model, value in values.items() if value != base)
    return f"(default: {base}{'; ' + others if others else ''})"


def config_from_args(args: argparse.Namespace, model: str | None = None):
    """The TrainConfig the flags describe (for `model`, default `--model`); a device that is not there is an
    error before any work."""
    from tfparity.compat import TrainConfig, tf_device_name

    given = dict(
        steps=args.steps,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        optimizer=args.optimizer,
        adam_beta1=args.adam_beta1,
        adam_beta2=args.adam_beta2,
        adam_epsilon=args.adam_epsilon,
        rmsprop_rho=args.rmsprop_rho,
        rmsprop_epsilon=args.rmsprop_epsilon,
        loss=args.loss,
        init=args.init,
        init_stddev=args.init_stddev,
        init_bias=args.init_bias,
        dropout_rate=args.dropout_rate,
        seed=args.seed,
        device=args.device,
    )
    fields = {name: value for name, value in given.items() if value is not None}
    model = model or args.model
    if getattr(args, "tutorial", False):
        if model != "softmax":
            raise UsageError(f"--tutorial is the softmax model's TF1 tutorial run; drop it or --model {args.model}")
        config = TrainConfig.tutorial(**{k: v for k, v in fields.items() if k not in ("loss", "learning_rate")})
    else:
        config = TrainConfig.for_model(model, **fields)
    if config.device == "gpu":
        tf_logs.import_tensorflow()
        tf_device_name("gpu")  # DeviceUnavailable: one line, exit 2, before any style runs
    return config


def load_data_from_args(args: argparse.Namespace):
    """The data set the flags name; a batch no style can draw from it is an error before any work."""
    from tfparity.compat import load_dataset

    data = load_dataset(args.dataset, args.data_dir, verify=not args.no_verify)
    batch_size = getattr(args, "batch_size", None)
    if batch_size is not None and batch_size > data.train.num_examples:
        raise UsageError(
            f"--batch-size {batch_size} is larger than the {data.name} training set "
            f"({data.train.num_examples} examples): choose at most {data.train.num_examples}"
        )
    return data


def require_extra(extra: str, *modules: str, what: str) -> None:
    """`what` needs the optional dependencies of tfparity[extra]: an error now when one is missing."""
    import importlib.util

    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise UsageError(f"{what} needs {', '.join(missing)}: pip install 'tfparity[{extra}]'")


# --- output paths: checked when the command line is parsed, before any work -----------------


class UsageError(Exception):
    """Bad input found before any work starts: one line on stderr, exit status 2.

    Not a ValueError: argparse would turn that, raised by a `type=` function, into its own
    message without ours.
    """


def _probe_folder(folder: Path, path: str) -> None:
    """Create and remove a file in `folder`: the only test that holds for root and read-only mounts."""
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".tfparity-probe-")
    except OSError as exc:
        raise UsageError(
            f"cannot write {path}: folder {folder} is not writable ({exc.strerror}); choose a writable path"
        ) from None
    os.close(fd)
    os.unlink(probe)


def _existing_folder(folder: Path, path: str) -> Path:
    if not folder.exists():
        raise UsageError(f"cannot write {path}: folder {folder} does not exist; create it or choose another path")
    if not folder.is_dir():
        raise UsageError(f"cannot write {path}: {folder} is not a folder; choose another path")
    return folder


def output_file(path: str) -> str:
    """argparse type of a report file: its folder exists and takes a new file, and it is no folder."""
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"cannot write {path}: it is a folder; give a file name")
    _probe_folder(_existing_folder(target.parent, path), path)
    return path


def output_file_in_new_folders(path: str) -> str:
    """argparse type of a file whose missing folders tfparity creates: the nearest existing one is writable."""
    target = Path(path).absolute()
    if target.is_dir():
        raise UsageError(f"cannot write {path}: it is a folder; give a file name")
    folder = target.parent
    while not folder.exists():
        folder = folder.parent
    _probe_folder(_existing_folder(folder, path), path)
    return path


def output_folder(path: str) -> str:
    """argparse type of an output folder: it exists and is writable, or its parent is (it is created)."""
    target = Path(path)
    if target.exists():
        _probe_folder(_existing_folder(target, path), path)
    else:
        _probe_folder(_existing_folder(target.parent, path), path)
    return path


def add_output_arguments(parser: argparse.ArgumentParser, formats=("table", "markdown", "json")) -> None:
    parser.add_argument("--format", choices=list(formats), default=formats[0], help="how the report is written")
    parser.add_argument(
        "-o",
        "--output",
        default=None,
        metavar="FILE",
        type=output_file,
        help="write the report here instead of stdout (its folder must exist)",
    )
    add_quiet_argument(parser)


def add_quiet_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no progress (neither the live line on a terminal nor the per-unit lines elsewhere)",
    )


def write_output(text: str, output: str | None, *, quiet: bool = False) -> None:
    """Write the report to stdout, or atomically to a file (never half-written) and say so on stderr."""
    if not text.endswith("\n"):
        text += "\n"
    if output is None:
        sys.stdout.write(text)
        return
    tmp = f"{output}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, output)
    if not quiet:
        print(f"tfparity: wrote {output} ({os.path.getsize(output):,} bytes)", file=sys.stderr)


# name -> a command line worth copying, shown at the end of the command's --help
EXAMPLES = {
    "compare": "tfparity compare --data-dir ~/data/mnist --steps 1000 --format json -o compare.json",
    "parity": "tfparity parity my_migration.py:make_pair --steps 200 --strict --format json -o parity.json",
    "sidebyside": "tfparity sidebyside --styles tf1_graph function --format html -o side_by_side.html",
    "pitfalls": "tfparity pitfalls adam-epsilon sum-vs-mean-loss --format markdown",
    "bench": "tfparity bench --quick --devices cpu --plot plots/ -o bench.txt",
    "upgrade": "tfparity upgrade my_tf1_script.py -o my_tf2_script.py --apply-fixes --format json",
}


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """argparse's help with each option's default appended, where it has one worth stating."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        stated = "(default" in text  # the help says it in its own words
        if stated or default is None or default is False or default is argparse.SUPPRESS or not action.option_strings:
            return text
        shown = " ".join(map(str, default)) if isinstance(default, (list, tuple)) else "%(default)s"
        return f"{text} (default: {shown})"


def build_parser(commands: Iterable[str] | None = None) -> argparse.ArgumentParser:
    """The parser of every command, with the arguments of `commands` (None: all of them).

    A command's arguments need its module, and most modules import TensorFlow (seconds, and
    its log lines): `main` builds only the command it runs, so `tfparity --help` stays instant.
    """
    wanted = set(COMMANDS if commands is None else commands)
    verbose = argparse.ArgumentParser(add_help=False)
    verbose.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show TensorFlow's own start-up and log lines (as does setting TF_CPP_MIN_LOG_LEVEL)",
    )
    parser = argparse.ArgumentParser(
        prog="tfparity",
        description=__doc__.splitlines()[0],
        parents=[verbose],
        epilog="examples:\n" + "\n".join(f"  {line}" for line in EXAMPLES.values()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        p = sub.add_parser(
            name, help=help_text, description=help_text, parents=[verbose], formatter_class=HelpFormatter
        )
        if name in wanted:
            module = importlib.import_module(module_name)
            module.add_arguments(p)
            p.set_defaults(_run=module.run)
            p.epilog = "\n".join(filter(None, [p.epilog, f"example: {EXAMPLES[name]}"]))
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    # The top level has no options of its own besides --help and --verbose: its first word is the command.
    command = next((word for word in argv if not word.startswith("-")), None)
    if "-v" in argv or "--verbose" in argv:
        tf_logs.show_logs()
    elif command in COMMANDS and command not in LAZY_TENSORFLOW:
        tf_logs.import_tensorflow()  # before the command's module imports it, with the start-up noise filtered
    from tfparity.compat import DataError, DeviceUnavailable

    try:
        args = build_parser([command] if command in COMMANDS else []).parse_args(argv)
        return int(args._run(args) or 0)
    except (UsageError, DataError, DeviceUnavailable, ValueError) as exc:
        print(f"tfparity {command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
