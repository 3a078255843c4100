"""`tfparity compare --replicas N`: each data-parallel variant against the one-device TF1 run on the same batches.

Every variant (`replicas.VARIANTS`: TF1 towers, MirroredStrategy's custom loop and keras.fit)
trains in a child process whose CPU is split into N logical devices, on the shared plan of the
model's global batch; the TF1 graph style trains the same batches on one device in this process.
Synchronous data parallelism must equal it to float32 reduction-order tolerance: each child
also runs the parity API's check of its variant against the one-device TF1 graph, so a long run of
a float32-sensitive model is judged by the rounding family's envelope (sensitive, no bug) and a
scaled gradient is a bug; a bug exits 1. Logical devices share the machine's cores,
so ms/step here measures the overhead of replication, never a speed-up; the table says so.
"""

from __future__ import annotations

import argparse
import sys

from tfparity.benchmarks import cli, compare, config_args, idioms, replicas
from tfparity.benchmarks.errors import UsageError
from tfparity.benchmarks.progress import Progress
from tfparity.compat import RunResult


def check_args(args: argparse.Namespace, models: list[str]) -> None:
    if args.replicas < 2:
        raise UsageError(f"--replicas {args.replicas}: data parallelism needs at least 2 replicas")
    if args.styles or args.plot:
        raise UsageError("--styles and --plot are the single-device comparison's; --replicas runs every variant")
    other = [m for m in models if m not in replicas.MODELS]
    if other and args.model != "all":
        raise UsageError(f"--replicas covers the models {list(replicas.MODELS)}, not {other[0]}; pick one of them")


def run(args: argparse.Namespace) -> int:
    models = list(replicas.MODELS) if args.model == "all" else [args.model]
    check_args(args, models)
    configs = [config_args.config_from_args(args, model) for model in models]
    for config in configs:
        if config.batch_size % args.replicas:
            raise UsageError(
                f"--replicas {args.replicas}: the global batch of {config.batch_size} does not split into "
                f"{args.replicas} equal slices; choose a --batch-size that is a multiple of it"
            )
    datas = [cli.load_data_from_args(args, config.model) for config in configs]
    status, outputs, every_row = 0, [], []
    for config, data in zip(configs, datas, strict=True):
        results: dict[str, RunResult | BaseException] = {}
        with Progress(1 + len(replicas.VARIANTS), f"compare x{args.replicas}", quiet=args.quiet) as progress:
            progress.step("training tf1_graph on one device")
            results[idioms.REFERENCE] = idioms.style_train(idioms.REFERENCE)(data, config)
            for variant in replicas.VARIANTS:
                progress.step(f"training {variant} over {args.replicas} logical CPUs")
                try:
                    results[variant] = replicas.run_variant(variant, config, args.replicas, args.data_dir, verdict=True)
                except RuntimeError as exc:
                    results[variant] = exc
        table_rows = [judged(row, results[row["style"]], args.replicas) for row in compare.rows(results)]
        every_row += table_rows
        outputs.append(render(table_rows, args.format, data, config, args.replicas))
        status = max(status, problems(table_rows))
    text = compare.render(every_row, "json", datas[0], configs[0]) if args.format == "json" else "\n\n".join(outputs)
    cli.write_output(text, args.output, quiet=args.quiet)
    return status


def judged(row: dict, result: RunResult | BaseException, replica_count: int) -> dict:
    """The row with the parity verdict its child found (the reference's stays 'reference')."""
    row["replicas"] = 1 if row["style"] == idioms.REFERENCE else replica_count
    if "error" in row or row["style"] == idioms.REFERENCE:
        return row
    row.update(result.extra["verdict"])
    return row


def render(rows: list[dict], fmt: str, data, config, replica_count: int) -> str:
    text = compare.render(rows, fmt, data, config).replace(
        "against the TF1 run, by `tfparity parity`'s rule;",
        "against the single-device TF1 run on the same global batches, by `tfparity parity`'s rule;",
    )
    note = (
        f"{replica_count} replicas are {replica_count} logical CPU devices sharing this machine's cores: "
        "the rows test correctness and show replication's overhead per global step, never a speed-up."
    )
    return f"{text}\n\n{note if fmt != 'markdown' else f'_{note}_'}"


def problems(rows: list[dict]) -> int:
    bad = [r for r in rows if "error" in r or r.get("verdict") in ("bug", "non-finite")]
    for r in bad:
        print(f"tfparity compare: {r['style']}: {r.get('error') or r['verdict_detail']}", file=sys.stderr)
    return 1 if bad else 0
