"""`tfparity`: one command per thing users do with the four styles.

Each subcommand lives in its own module of `benchmarks/` exposing `add_arguments(parser)`
and `run(args) -> int` (the exit status); its one-line help lives here, so that `tfparity
--help` lists the commands without importing them (and TensorFlow with them).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path

from tfparity.benchmarks.errors import OneLineParser, UsageError
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
    "checkpoint": (
        "tfparity.benchmarks.checkpoint_cmd",
        "inspect a TF1 or TF2 checkpoint; convert one to the other era's format (or Keras' .weights.h5), "
        "verified on the forward pass; round-trip a model through every style",
    ),
    "upgrade": (
        "tfparity.benchmarks.upgrade",
        "run TensorFlow's tf_upgrade_v2 on a TF1 script; show its diff and report, "
        "then audit what it leaves broken or unmigrated",
    ),
}


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dataset",
        choices=["mnist", "fashion_mnist"],
        default=None,
        help="the images the MNIST models train on (default: mnist); the regression models read their own file",
    )
    parser.add_argument(
        "--data-dir",
        default=None,
        metavar="PATH",
        help="folder of the four IDX files, or a Keras mnist.npz; for a regression model, its file or the folder "
        "holding it (default: $TFPARITY_MNIST_DIR / $TFPARITY_FASHION_MNIST_DIR, $TFPARITY_DATA_DIR/<dataset>, "
        "system folders, then the download cache)",
    )
    parser.add_argument("--no-verify", action="store_true", help="skip the checksum of known data sets")


def load_data_from_args(args: argparse.Namespace, model: str | None = None):
    """The data set `model` (default `--model`, else softmax) trains on, as the flags name it; a batch no
    style can draw from it is an error before any work."""
    from tfparity.compat import MODELS, load_dataset

    model = model or getattr(args, "model", None) or "softmax"
    dataset = MODELS[model].dataset if model in MODELS else "mnist"
    if dataset != "mnist" and args.dataset is not None:
        raise UsageError(f"--dataset {args.dataset}: the {model} model trains on {dataset} only; drop --dataset")
    # with --model all, --data-dir names the MNIST data: the regression models find their own files
    path = None if dataset != "mnist" and getattr(args, "model", None) == "all" else args.data_dir
    data = load_dataset(args.dataset or dataset, path, verify=not args.no_verify)
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


def write_output(
    text: str, output: str | None, *, quiet: bool = False, encoding: str = "utf-8", newline: str | None = None
) -> None:
    """Write the report to stdout, or atomically to a file (never half-written) and say so on stderr.

    `encoding` and `newline` are open()'s: a converted script keeps its source's declared encoding and
    line ends (newline="")."""
    if not text.endswith("\n"):
        text += "\n"
    if output is None:
        sys.stdout.write(text)
        return
    tmp = f"{output}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding=encoding, newline=newline) as f:
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
    "checkpoint": "tfparity checkpoint convert train/model.ckpt-1000 -o keras/model.weights.h5 --to keras --model mlp",
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


def add_verbose_argument(parser: argparse.ArgumentParser) -> None:
    """-v/--verbose, which every command and subcommand takes (`main` reads it before any parser runs)."""
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show TensorFlow's own start-up and log lines (as does setting TF_CPP_MIN_LOG_LEVEL)",
    )


def build_parser(commands: Iterable[str] | None = None) -> argparse.ArgumentParser:
    """The parser of every command, with the arguments of `commands` (None: all of them).

    A command's arguments need its module, and most modules import TensorFlow (seconds, and
    its log lines): `main` builds only the command it runs, so `tfparity --help` stays instant.
    """
    wanted = set(COMMANDS if commands is None else commands)
    verbose = OneLineParser(add_help=False)
    add_verbose_argument(verbose)
    parser = OneLineParser(  # a bad flag is one line naming the command's --help, not its usage text
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
        args, unknown = build_parser([command] if command in COMMANDS else []).parse_known_args(argv)
        if unknown:  # the top-level parser finds them: point at the help of the command they were given to
            where = f"tfparity {command}" if command in COMMANDS else "tfparity"
            raise UsageError(f"unrecognized arguments: {' '.join(unknown)} (see {where} --help)")
        with stop_on_sigterm():
            return int(args._run(args) or 0)
    except (UsageError, DataError, DeviceUnavailable, ValueError) as exc:
        print(f"tfparity {command or ''}".rstrip() + f": error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"tfparity {command}: interrupted; its child processes were stopped", file=sys.stderr)
        return 130


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the command is so that the `finally` blocks stopping its children run."""


@contextlib.contextmanager
def stop_on_sigterm():
    """SIGTERM unwinds like Ctrl-C (its default would end the process and orphan the children it started)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum, frame):
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
