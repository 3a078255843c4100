"""`tfparity compare --replicas N | --workers M`: each data-parallel variant against the one-device TF1 run.

`--replicas N`: every variant of `replicas.VARIANTS` (TF1 towers, MirroredStrategy's custom loop
and keras.fit) trains in a child process whose CPU is split into N logical devices, on the shared
plan of the model's global batch; the TF1 graph style trains the same batches on one device in this
process. Synchronous data parallelism must equal it to float32 reduction-order tolerance: each
child also runs the parity API's check of its variant against the one-device TF1 graph, so a long
run of a float32-sensitive model is judged by the rounding family's envelope (sensitive, no bug)
and a scaled gradient is a bug.

`--workers M`: the multi-process variants (`workers.VARIANTS`: TF1 between-graph with a parameter
server, MultiWorkerMirroredStrategy through TF_CONFIG), M processes on localhost. The parity API's
rounding envelope needs both sides in one process, so their verdict is first the weights' against
issue 19's target (max |dW| and |db| at or under 1e-5); beyond it, each is run against its in-process
twin, which computes the same sums in the same order (`TWIN`: towers, mirrored, over M logical
CPUs): bit-identical to it, it takes the twin's parity verdict (a float32-sensitive model's long
run is sensitive, not a bug); otherwise it differs. A cluster that fails names its task.

A bug, a difference or a failed run exits 1. The replicas share the machine's cores, so ms/step
here measures the overhead of replication, never a speed-up; the table says so.
"""

from __future__ import annotations

import argparse
import math
import sys

import numpy as np

from tfparity.benchmarks import cli, compare, config_args, idioms, replicas, workers
from tfparity.benchmarks.errors import UsageError
from tfparity.benchmarks.progress import Progress
from tfparity.compat import RunResult
from tfparity.compat.metrics import largest_abs_diff

WEIGHTS_TOLERANCE = 1e-5  # issue 19's target for the multi-process variants (weights only)
TWIN = {"between_graph": "towers", "multi_worker": "mirrored"}  # the same arithmetic, in one process


def replica_count(args: argparse.Namespace) -> tuple[int, str]:
    return (args.replicas, "--replicas") if args.workers is None else (args.workers, "--workers")


def variants(args: argparse.Namespace) -> dict[str, str]:
    return replicas.VARIANTS if args.workers is None else workers.VARIANTS


def check_args(args: argparse.Namespace, models: list[str]) -> None:
    if args.replicas is not None and args.workers is not None:
        raise UsageError("--replicas and --workers: give one (each worker process runs one replica)")
    count, flag = replica_count(args)
    if count < 2:
        raise UsageError(f"{flag} {count}: data parallelism needs at least 2 {flag.strip('-')}")
    if args.workers is not None and count > workers.MAX_WORKERS:
        raise UsageError(
            f"--workers {count}: at most {workers.MAX_WORKERS} processes on one machine (each starts its own "
            "TensorFlow); across machines, start each task with its TF_CONFIG (docs/scaling.md)"
        )
    if args.timeout is not None and not (math.isfinite(args.timeout) and args.timeout > 0):
        raise UsageError(f"--timeout {args.timeout:g}: give a positive, finite number of seconds")
    if args.device == "gpu":
        raise UsageError(f"{flag} runs on logical CPU devices or CPU processes only; drop --device gpu")
    if getattr(args, "dataset", None) not in (None, "mnist"):
        raise UsageError(f"--dataset {args.dataset}: {flag} trains MNIST only; drop --dataset")
    if args.styles or args.plot:
        raise UsageError(f"--styles and --plot are the single-device comparison's; {flag} runs every variant")
    other = [m for m in models if m not in replicas.MODELS]
    if other and args.model != "all":
        raise UsageError(f"{flag} covers the models {list(replicas.MODELS)}, not {other[0]}; pick one of them")


def run(args: argparse.Namespace) -> int:
    models = list(replicas.MODELS) if args.model == "all" else [args.model]
    check_args(args, models)
    configs = [config_args.config_from_args(args, model) for model in models]
    count, flag = replica_count(args)
    for config in configs:
        if config.batch_size % count:
            raise UsageError(
                f"{flag} {count}: the global batch of {config.batch_size} does not split into "
                f"{count} equal slices; choose a --batch-size that is a multiple of {count}"
            )
        if config.loss != "mean":
            raise UsageError(
                f"--loss {config.loss}: the data-parallel variants train the mean cross-entropy (a replica's share of "
                "the global mean); drop --loss and --tutorial"
            )
    datas = [cli.load_data_from_args(args, config.model) for config in configs]
    where = "logical CPUs" if args.workers is None else "processes on localhost"
    status, outputs, every_row = 0, [], []
    for config, data in zip(configs, datas, strict=True):
        results: dict[str, RunResult | BaseException] = {}
        with Progress(1 + len(variants(args)), f"compare x{count}", quiet=args.quiet) as progress:
            progress.step("training tf1_graph on one device")
            results[idioms.REFERENCE] = idioms.style_train(idioms.REFERENCE)(data, config)
            for variant in variants(args):
                progress.step(f"training {variant} over {count} {where}")
                try:
                    results[variant] = run_variant(variant, config, args)
                except RuntimeError as exc:
                    results[variant] = exc
        twins = twin_verdicts(results, config, args) if args.workers is not None else {}
        table_rows = [
            judged(row, results[row["style"]], count, args.workers, twins.get(row["style"]))
            for row in compare.rows(results)
        ]
        every_row += table_rows
        outputs.append(render(table_rows, args.format, data, config, count, args.workers))
        status = max(status, problems(table_rows))
    text = compare.render(every_row, "json", datas[0], configs[0]) if args.format == "json" else "\n\n".join(outputs)
    cli.write_output(text, args.output, quiet=args.quiet)
    return status


def run_variant(variant: str, config, args: argparse.Namespace) -> RunResult:
    """One variant's run; with --replicas, the parity API's verdict from its child in `extra["verdict"]`."""
    verify = not args.no_verify
    if args.workers is None:
        return replicas.run_variant(variant, config, args.replicas, args.data_dir, verdict=True, verify=verify)
    return workers.run_workers(variant, config, args.workers, args.data_dir, timeout_s=timeout(args), verify=verify)


def timeout(args: argparse.Namespace) -> float:
    return workers.TIMEOUT_S if args.timeout is None else args.timeout


def twin_verdict(variant: str, result: RunResult, config, args: argparse.Namespace) -> dict | None:
    """The in-process twin's parity verdict when the variant's weights are bit-identical to the twin's."""
    try:
        twin = replicas.run_variant(
            TWIN[variant], config, args.workers, args.data_dir, verdict=True, verify=not args.no_verify,
            timeout_s=timeout(args),
        )  # fmt: skip
    except RuntimeError as exc:
        print(f"tfparity compare: {variant}: its twin {TWIN[variant]} failed, no verdict: {exc}", file=sys.stderr)
        return None
    if any(not np.array_equal(twin.weights[k], result.weights[k]) for k in result.weights):
        return None
    verdict = dict(twin.extra["verdict"])
    verdict["verdict_detail"] = f"as {TWIN[variant]}, bit-identical: {verdict['verdict_detail']}"
    return verdict


def twin_verdicts(results: dict, config, args: argparse.Namespace) -> dict[str, dict | None]:
    """For each multi-process run beyond 1e-5 of the reference: its twin's verdict (None: not its twin's)."""
    reference = results[idioms.REFERENCE]
    found = {}
    for variant, result in results.items():
        if variant not in TWIN or isinstance(result, BaseException):
            continue
        worst = largest_abs_diff(reference.weights, result.weights)
        if worst > WEIGHTS_TOLERANCE:
            with Progress(1, f"compare x{args.workers}", quiet=args.quiet) as progress:
                progress.step(
                    f"{variant} is {worst:.3g} from the one-device run: training {TWIN[variant]}, its twin in one "
                    "process, with its parity verdict"
                )
                found[variant] = twin_verdict(variant, result, config, args)
    return found


def judge_weights(row: dict) -> dict:
    """Across processes: parity when every variable is within 1e-5 of the single-device run's."""
    worst = max(row["max_abs_dw"], row["max_abs_db"])
    if worst <= WEIGHTS_TOLERANCE:
        return {"verdict": "parity", "verdict_detail": f"within {WEIGHTS_TOLERANCE:g} (weights)", "margin": None}
    detail = f"{worst:.3g} > {WEIGHTS_TOLERANCE:g} (weights only, no rounding envelope: see --replicas)"
    return {"verdict": "differs", "verdict_detail": detail, "margin": None}


def judged(
    row: dict, result: RunResult | BaseException, count: int, worker_count: int | None, twin: dict | None = None
) -> dict:
    """The row with its verdict: the child's parity API report, or across processes the weights' (beyond
    1e-5, `twin`'s: the in-process twin's verdict, when the weights are bit-identical to its)."""
    row["replicas"] = 1 if row["style"] == idioms.REFERENCE else count
    if "error" in row or row["style"] == idioms.REFERENCE:
        return row
    if worker_count is None:
        row.update(result.extra["verdict"])
        return row
    row["workers"] = worker_count
    row.update(judge_weights(row))
    if row["verdict"] == "differs" and twin is not None:
        row.update(twin)
    if not result.extra.get("workers_agree", True):
        row.update(verdict="bug", verdict_detail="the workers ended with different variables")
    return row


def render(rows: list[dict], fmt: str, data, config, count: int, worker_count: int | None = None) -> str:
    rule = "by `tfparity parity`'s rule; Nx: its margin (above 1x: a bug)."
    ours = f"max |dW| and |db| at most {WEIGHTS_TOLERANCE:g} (weights only)." if worker_count else rule
    text = compare.render(rows, fmt, data, config).replace(
        f"against the TF1 run, {rule}", f"against the single-device TF1 run on the same global batches, {ours}"
    )
    if worker_count is None:
        what = f"{count} replicas are {count} logical CPU devices sharing this machine's cores"
    else:
        what = f"{count} workers are {count} processes on localhost sharing this machine's cores (gRPC between them)"
    note = f"{what}: the rows test correctness and show replication's overhead per global step, never a speed-up."
    return f"{text}\n\n{note if fmt != 'markdown' else f'_{note}_'}"


def problems(rows: list[dict]) -> int:
    bad = [r for r in rows if "error" in r or r.get("verdict") in ("bug", "non-finite", "differs")]
    for r in bad:
        print(f"tfparity compare: {r['style']}: {r.get('error') or r['verdict_detail']}", file=sys.stderr)
    return 1 if bad else 0
