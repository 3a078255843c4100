"""`tfparity compare`: train every style on one config and show how far each lands from TF1.

Each style's row carries its parity verdict against the TF1 run (`compat.parity`, through
`parity_sides`): bit-identical, within tolerance, sensitive problem and no bug, bug, or
non-finite, with the margin that decided it. The verdict comes from a second, recorded run of
each style (weights read at every step), so the timings stay those of the plain runs.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import traceback
from typing import Any

import numpy as np
from tabulate import tabulate

from tfparity.benchmarks import cli, config_args, idioms, parity_sides, regression_plots
from tfparity.benchmarks.errors import UsageError
from tfparity.benchmarks.progress import Progress
from tfparity.compat import MODELS, Datasets, RunResult, TrainConfig, max_abs_diff, parity, weights_digest
from tfparity.compat.finite import FIX as NONFINITE_FIX
from tfparity.compat.tasks import epoch_losses, task_of


def add_arguments(parser: argparse.ArgumentParser) -> None:
    cli.add_data_arguments(parser)
    config_args.add_config_arguments(parser, every_model=True)
    parser.add_argument(
        "--styles",
        nargs="+",
        default=None,
        choices=list(idioms.STYLES),
        metavar="STYLE",
        help=f"subset of {list(idioms.STYLES)} (the TF1 reference always runs)",
    )
    parser.add_argument(
        "--plot",
        default=None,
        metavar="DIR",
        help="the regression models: draw the data and each style's fit (birth_life's line, Pima's decision "
        "boundary on its two strongest features) as PNGs in DIR (made if missing; needs tfparity[bench])",
    )
    parser.add_argument(
        "--replicas",
        type=int,
        default=None,
        metavar="N",
        help="data-parallel: the TF1 towers and tf.distribute.MirroredStrategy (custom loop, keras.fit) over N "
        "logical CPUs, each against the single-device TF1 run on the same global batches (softmax, mlp)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="M",
        help="data-parallel across M processes on localhost: TF1 between-graph (a ps, SyncReplicasOptimizer) and "
        "tf.distribute.MultiWorkerMirroredStrategy (TF_CONFIG), each against the single-device TF1 run",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="S",
        help="with --workers: fail a variant whose cluster has not finished in S seconds, naming the tasks still "
        "running, and stop every process (default 600)",
    )
    cli.add_output_arguments(parser)


def run_styles(
    data: Datasets, config: TrainConfig, names: list[str], *, quiet: bool = False
) -> dict[str, RunResult | BaseException]:
    """Train each named style (the reference first); a style that raises is kept as its exception."""
    order = [idioms.REFERENCE] + [n for n in names if n != idioms.REFERENCE]
    results: dict[str, RunResult | BaseException] = {}
    with Progress(len(order), "compare", quiet=quiet) as progress:
        for name in order:
            progress.step(f"training {name}")
            try:
                results[name] = idioms.STYLES[name](data, config)
            except Exception as exc:  # reported in the table and the exit status, never swallowed
                exc.__traceback_text__ = traceback.format_exc()
                results[name] = exc
    return results


def parity_verdicts(
    data: Datasets, config: TrainConfig, results: dict[str, RunResult | BaseException], *, quiet: bool = False
) -> dict[str, parity.ParityReport]:
    """Each style that ran against the TF1 graph, with `compat.parity`'s default rule (none when TF1 failed)."""
    ran = [n for n, r in results.items() if isinstance(r, RunResult) and n != idioms.REFERENCE]
    if not ran or not isinstance(results.get(idioms.REFERENCE), RunResult):
        return {}
    with Progress(len(ran) + 1, "parity verdicts", quiet=quiet) as progress:
        return parity_sides.check_styles(
            data, config, ran, metrics=None, progress=lambda name: progress.step(f"checking {name}")
        )


def verdict_cell(report: parity.ParityReport | None) -> str:
    """'bit-identical', 'within tolerance (0.066x)', 'sensitive, no bug (0.31x envelope)', 'BUG (37x envelope ...)'."""
    if report is None:
        return "-"
    m, t = report.margin, report.trajectory
    ratio = "" if m is None else m.short().split(" ", 1)[0]
    if report.verdict == parity.PARITY:
        return "bit-identical" if t is not None and t.bit_identical else f"within tolerance ({ratio})"
    if report.verdict == parity.SENSITIVE:
        return f"sensitive, no bug ({ratio} envelope)"
    if report.verdict == parity.BUG:
        return "BUG" if m is None else f"BUG ({m.short()})"
    return report.verdict


def rows(
    results: dict[str, RunResult | BaseException],
    reports: dict[str, parity.ParityReport] | None = None,
    num_examples: int | None = None,
) -> list[dict[str, Any]]:
    """One row per style. A run that went non-finite (or a non-finite reference) has no
    max |dW| (None) and is never bit-identical: NaN equals nothing. `reports` adds each style's
    parity verdict (the reference's own row says "reference"); `num_examples` (the training set's
    size) adds each epoch's mean loss, the curve the regression tutorials print."""
    reports = reports or {}
    ref = results.get(idioms.REFERENCE)
    ref_ok = isinstance(ref, RunResult) and ref.nonfinite is None
    out = []
    for name, result in results.items():
        if isinstance(result, BaseException):
            out.append({"style": name, "error": f"{type(result).__name__}: {result}"})
            continue
        bad = result.nonfinite
        comparable = ref_ok and bad is None
        dw, db = kernel_and_bias_diffs(ref.weights, result.weights) if comparable else (None, None)
        out.append(
            {
                "style": name,
                "model": result.config.model,
                "test_accuracy": result.test_accuracy,
                "test_mse": result.extra.get("test_mse"),
                "final_loss": result.final_loss,
                "epoch_losses": curve(result, num_examples),
                "max_abs_dw": dw,
                "max_abs_db": db,
                "bit_identical": comparable and weights_digest(ref.weights) == weights_digest(result.weights),
                "finite": bad is None,
                "nonfinite": None
                if bad is None
                else {
                    "step": bad.step,
                    "loss_step": bad.loss_step,
                    "variables": list(bad.variables),
                    "message": bad.describe(),
                },
                "nan_loss": bool(not all(math.isfinite(v) for v in result.losses)),
                "same_batches": isinstance(ref, RunResult) and ref.plan_fingerprint == result.plan_fingerprint,
                "seconds": result.seconds,
                "ms_per_step": result.ms_per_step,
                "first_step_ms": result.extra.get("first_step_ms"),
                **_verdict_keys(name, reports.get(name)),
            }
        )
    return out


def curve(result: RunResult, num_examples: int | None) -> list[float] | None:
    """Each whole epoch's mean step loss, for the models whose tutorials print it (else None)."""
    if num_examples is None or not MODELS[result.config.model].curve_epochs:
        return None
    return [float(v) for v in epoch_losses(result.losses, num_examples, result.config.batch_size)]


def kernel_and_bias_diffs(reference: dict[str, Any], candidate: dict[str, Any]) -> tuple[float, float]:
    """The largest |difference| over the weight matrices (the softmax's W, an MLP's kernels) and over the
    biases (every 1-D variable)."""
    diffs = max_abs_diff(reference, candidate)
    matrices = [d for name, d in diffs.items() if np.ndim(reference[name]) >= 2]
    vectors = [d for name, d in diffs.items() if np.ndim(reference[name]) < 2]
    return max(matrices, default=0.0), max(vectors, default=0.0)


def _verdict_keys(name: str, report: parity.ParityReport | None) -> dict[str, Any]:
    if name == idioms.REFERENCE:
        return {"verdict": "reference", "verdict_detail": "reference", "margin": None}
    if report is None:
        return {"verdict": None, "verdict_detail": "-", "margin": None}
    m = report.margin
    margin = None if m is None else {"ratio": m.ratio, "against": m.against, "step": m.step, "where": m.where}
    return {"verdict": report.verdict, "verdict_detail": verdict_cell(report), "margin": margin}


def _json_safe(value: Any) -> Any:
    """NaN and inf to None: JSON has neither, and `json.dumps` would write invalid JSON."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _diff_cell(row: dict[str, Any], key: str) -> str:
    if not row["finite"]:
        return "non-finite"
    return "-" if row[key] is None else f"{row[key]:.3g}"  # "-": the reference went non-finite


def render(table_rows: list[dict[str, Any]], fmt: str, data: Datasets, config: TrainConfig) -> str:
    if fmt == "json":
        return json.dumps(_json_safe(table_rows), indent=2, allow_nan=False)
    regression = task_of(config.model) == "regression"
    headers = ["style", "test MSE" if regression else "test acc", "final loss", "max |dW| vs TF1", "max |db| vs TF1"]
    headers += ["parity verdict"]
    headers += ["s", "ms/step"]
    body = []
    for r in table_rows:
        if "error" in r:  # its message below the table: a cell of the table would stretch every row
            body.append([r["style"], "FAILED", "", "", "", "FAILED (below)", "", ""])
            continue
        body.append(
            [
                r["style"],
                f"{r['test_mse']:.4f}" if regression else f"{r['test_accuracy']:.4f}",
                f"{r['final_loss']:.6g}",
                _diff_cell(r, "max_abs_dw"),
                _diff_cell(r, "max_abs_db"),
                r["verdict_detail"],
                f"{r['seconds']:.2f}",
                f"{r['ms_per_step']:.3f}",
            ]
        )
    title = (
        f"{config.model} model; {data.name} ({data.train.num_examples} train / {data.test.num_examples} test, "
        f"{data.source}); "
        f"{config.optimizer} lr={config.learning_rate:g}, loss={config.loss}, init={init_cell(config)}, "
        f"batch={config.batch_size}, steps={config.steps}, seed={config.seed}, device={config.device}"
    )
    if fmt == "markdown":  # a bare | inside a cell would split the column in a pipe table
        headers = [h.replace("|", "\\|") for h in headers]
    table = tabulate(body, headers=headers, tablefmt="github" if fmt == "markdown" else "simple", disable_numparse=True)
    notes = [
        "ms/step: training loop after the first step (which carries tracing/graph set-up).",
        "parity verdict: against the TF1 run, by `tfparity parity`'s rule; Nx: its margin (above 1x: a bug).",
    ]
    note = "\n".join(notes if fmt == "table" else [f"_{n}_" for n in notes])
    sections = [title, table, *_curve_section(table_rows, config, fmt), *_nonfinite_section(table_rows, fmt)]
    sections += [*_failed_section(table_rows, fmt), note]
    return "\n\n".join(sections)


def init_cell(config: TrainConfig) -> str:
    """The init; a variable the model's tutorial starts at a constant is named with its value."""
    constants = MODELS[config.model].initial_values
    return "; ".join(
        [config.init, *(f"{name} starts at {value:g} (the tutorial's)" for name, value in constants.items())]
    )


def _curve_section(table_rows: list[dict[str, Any]], config: TrainConfig, fmt: str) -> list[str]:
    """The mean loss of the epochs the model's tutorial prints, one column per style (nothing for other models)."""
    ran = [r for r in table_rows if r.get("epoch_losses")]
    if not ran:
        return []
    last = len(ran[0]["epoch_losses"])
    epochs = [e for e in MODELS[config.model].curve_epochs if e < last] + [last]  # and always the last epoch run
    body = [[e, *(f"{r['epoch_losses'][e - 1]:.6g}" for r in ran)] for e in epochs]
    table = tabulate(
        body, headers=["epoch", *(r["style"] for r in ran)], tablefmt="github" if fmt == "markdown" else "simple"
    )
    caption = f"mean training loss by epoch (the tutorial's printout; {MODELS[config.model].published}):"
    return [caption + ("\n\n" if fmt == "markdown" else "\n") + table]


def _failed_section(table_rows: list[dict[str, Any]], fmt: str) -> list[str]:
    """The styles that raised, each with its error (nothing when every style ran)."""
    failed = [f"{r['style']}: {r['error']}" for r in table_rows if "error" in r]
    if not failed:
        return []
    bullet = "- " if fmt == "markdown" else "  "
    return ["\n".join(["failed (more on standard error):", *(bullet + f for f in failed)])]


def _nonfinite_section(table_rows: list[dict[str, Any]], fmt: str) -> list[str]:
    """The runs that went NaN or inf, where, and the fix (nothing when every run is finite)."""
    broken = [r["nonfinite"]["message"] for r in table_rows if r.get("nonfinite")]
    if not broken:
        return []
    bullet = "- " if fmt == "markdown" else "  "
    return [
        "\n".join(
            [
                "went non-finite, so not compared (NaN equals nothing):",
                *(bullet + b for b in broken),
                f"fix: {NONFINITE_FIX}.",
            ]
        )
    ]


def run(args: argparse.Namespace) -> int:
    if args.timeout is not None and args.workers is None:
        raise UsageError("--timeout bounds a --workers run; give --workers M, or drop --timeout")
    if args.replicas is not None or args.workers is not None:
        from tfparity.benchmarks import compare_replicas

        return compare_replicas.run(args)
    models = list(MODELS) if args.model == "all" else [args.model]
    configs = [config_args.config_from_args(args, model) for model in models]  # every config checked before any work
    plots = regression_plots.check_plot_dir(args.plot, models) if args.plot else None
    names = idioms.select_styles(args.styles)
    datas = [cli.load_data_from_args(args, model) for model in models]
    status, outputs, every_row = 0, [], []
    for config, data in zip(configs, datas, strict=True):
        results = run_styles(data, config, names, quiet=args.quiet)
        reports = parity_verdicts(data, config, results, quiet=args.quiet)
        table_rows = rows(results, reports, data.train.num_examples)
        every_row += table_rows
        outputs.append(render(table_rows, args.format, data, config))
        if plots is not None and config.model in regression_plots.PLOTS:
            written = regression_plots.plot(config.model, data, results, plots)
            if not args.quiet:
                print(f"tfparity compare: drew {', '.join(map(str, written))}", file=sys.stderr)
        status = max(status, report_problems(results, reports))
    text = render(every_row, "json", datas[0], configs[0]) if args.format == "json" else "\n\n".join(outputs)
    cli.write_output(text, args.output, quiet=args.quiet)
    return status


def report_problems(results: dict[str, RunResult | BaseException], reports: dict[str, parity.ParityReport]) -> int:
    """Failed styles, non-finite runs and bugs, each said on stderr: 1 if any, else 0."""
    failed = [n for n, r in results.items() if isinstance(r, BaseException)]
    for name in failed:
        print(
            f"tfparity compare: {name} failed:\n{getattr(results[name], '__traceback_text__', results[name])}",
            file=sys.stderr,
        )
    broken = [r.nonfinite for r in results.values() if isinstance(r, RunResult) and r.nonfinite]
    if broken:  # one line: the report says where each run blew up
        print(
            f"tfparity compare: {', '.join(b.run for b in broken)} went non-finite "
            f"from step {min(b.step for b in broken)}, "
            f"so not compared; {NONFINITE_FIX}",
            file=sys.stderr,
        )
    bugs = [n for n, r in reports.items() if r.verdict == parity.BUG]
    for name in bugs:
        print(f"tfparity compare: {name}: {reports[name].headline}", file=sys.stderr)
    return 1 if failed or broken or bugs else 0
