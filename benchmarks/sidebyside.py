"""`tfparity sidebyside`: the modules' real source, aligned stage by stage, with the API changes each stage makes.

By default the tutorial code of the four styles (TF1 graph, eager, tf.function, keras.fit) of
the softmax model, `--model NAME` another model's; `--tuned`, the tuned idioms' modules instead
(TF1 in-graph against tf.function whole-epoch); `--styles towers mirrored`, the data-parallel
variants' (TF1 in-graph towers against `MirroredStrategy`'s custom loop; `mirrored_keras`, fit's).
Reading the modules is `sidebyside_stages`; the renderings are `sidebyside_markdown` (stages
one after another) and `sidebyside_html` (one standalone page, modules in columns), which alone
needs Pygments (`tfparity[html]`).
"""

from __future__ import annotations

import argparse

from tfparity.benchmarks import cli, idioms
from tfparity.benchmarks.sidebyside_markdown import render_markdown
from tfparity.benchmarks.sidebyside_stages import View, build_view, default_styles, display_path, tuned_styles


def add_arguments(parser: argparse.ArgumentParser) -> None:
    chosen = parser.add_mutually_exclusive_group()
    chosen.add_argument(
        "--styles",
        nargs="+",
        default=None,
        metavar="STYLE",
        help=f"two or more of {list(idioms.STYLE_MODULES)}, or of the tuned idioms' modules "
        f"{list(idioms.TUNED_MODULES)}, or of the data-parallel variants' {list(idioms.REPLICA_MODULES)}, "
        "shown in this order "
        f"(default: the four styles' tutorial code, {idioms.REFERENCE} first)",
    )
    chosen.add_argument(
        "--tuned",
        action="store_true",
        help=f"the tuned idioms as their own comparison: {' vs '.join(tuned_styles())} "
        "(data preloaded into the TF1 graph, many steps per Session.run; the whole epoch in one tf.function call)",
    )
    parser.add_argument(
        "--model",
        choices=list(idioms.MODEL_MODULES),
        default="softmax",
        help="whose code: the four styles of this model (compat.models; the tuned idioms are the softmax's)",
    )
    cli.add_output_arguments(parser, formats=("markdown", "html"))


def command_line(view: View, fmt: str, output: str | None) -> str:
    """The command that makes this view: the provenance line of the report."""
    parts = ["tfparity sidebyside"]
    if view.styles == tuned_styles():
        parts.append("--tuned")
    elif view.styles != default_styles():
        parts.append("--styles " + " ".join(view.styles))
    if view.model != "softmax":
        parts.append(f"--model {view.model}")
    if fmt != "markdown":
        parts.append(f"--format {fmt}")
    if output:
        parts.append(f"-o {output}")
    return " ".join(parts)


def render(view: View, fmt: str, output: str | None = None) -> str:
    command = command_line(view, fmt, output)
    if fmt == "html":
        from tfparity.benchmarks.sidebyside_html import render_html  # Pygments: only for HTML

        return render_html(view, command)
    return render_markdown(view, command)


def run(args: argparse.Namespace) -> int:
    if args.format == "html":
        cli.require_extra("html", "pygments", what="--format html")
    if args.tuned and args.model != "softmax":
        raise cli.UsageError(f"--tuned shows the softmax model's tuned idioms; drop --model {args.model} or --tuned")
    view = build_view(tuned_styles() if args.tuned else args.styles, args.model)
    output = display_path(args.output) if args.output else None
    cli.write_output(render(view, args.format, output), args.output, quiet=args.quiet)
    return 0
