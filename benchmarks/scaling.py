"""Where data parallelism would pay for tfparity's models, on paper: compute per step against the all-reduce.

Each replica of synchronous data parallelism computes its slice and then all-reduces the
gradients. With a ring all-reduce every replica sends and receives 2(N-1)/N times the gradients'
bytes in 2(N-1) steps, so one all-reduce costs 2(N-1) x (a link's latency per step) plus that
volume over the link's bandwidth; the compute of a step is the model's training FLOPs per example
(`benchmarks.flops`, from the layers `bench_models` times) times the per-replica batch, over the
device's FLOP rate. With no overlap of the two, N replicas run N x compute / (compute + all-reduce)
times as many examples a second as one device, and the per-replica batch at which the all-reduce
takes as long as the compute (the break-even batch) is where it starts to pay. A per-step overhead
measured by `tfparity compare --replicas N --format json` (each variant's ms/step minus the
one-device TF1 graph's) can be added to the all-reduce: `--overhead-from FILE.json`.

    python -m tfparity.benchmarks.scaling [--overhead-from FILE.json] [--tflops R] [--replicas N ...]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from tfparity.benchmarks import flops, replicas
from tfparity.benchmarks.cli import UsageError, require_extra
from tfparity.benchmarks.idioms import REFERENCE
from tfparity.benchmarks.report_args import OneLineParser, positive
from tfparity.compat import MODELS, TrainConfig

PROG = "python -m tfparity.benchmarks.scaling"
SCALED_MODELS = (*replicas.MODELS, "cnn")  # the data-parallel variants' models, and the CNN on paper
BYTES_PER_PARAMETER = 4  # float32 gradients
DEFAULT_TFLOPS = 20.0  # assumed achieved float32 rate: about 30% of an H100 SXM's 67 TFLOP/s peak (NVIDIA's datasheet)
DEFAULT_REPLICAS = (2, 8)
DEFAULT_VARIANT = "mirrored"  # the TF2 custom loop: what MultiWorkerMirroredStrategy runs across machines


@dataclass(frozen=True)
class Link:
    name: str
    gb_per_s: float  # effective bandwidth per direction, GB/s (1e9 bytes)
    hop_us: float  # latency of one of the ring's 2(N-1) steps, microseconds


# Bandwidths: PCIe 4.0 x16 carries 16 GT/s per lane with 128b/130b coding, 31.5 GB/s a direction
# (PCI-SIG's PCIe 4.0 specification), about 25 GB/s after packet overhead; NVLink 4 gives an H100
# SXM 900 GB/s in all, 450 a direction (NVIDIA's H100 datasheet); Ethernet's line rates are 25 and
# 100 Gb/s (IEEE 802.3by, 802.3ba), 3.125 and 12.5 GB/s, about 3 and 12 after framing. Latency per
# ring step: NCCL's own cost model (src/graph/tuning.cc, hwLat, Ring/Simple: NVLink 3.4 us, PCI
# 5.7 us; its network figure, 9.6 us, assumes RDMA); over TCP sockets on Ethernet we assume 25 us.
LINKS: tuple[Link, ...] = (
    Link("NVLink 4 (H100)", 450.0, 3.4),
    Link("PCIe 4.0 x16", 25.0, 5.7),
    Link("100 GbE", 12.0, 25.0),
    Link("25 GbE", 3.0, 25.0),
)


def parameters(model: str) -> int:
    """The model's trainable values, from its variables' shapes (`compat.models`)."""
    return sum(math.prod(shape) for shape in MODELS[model].shapes.values())


def layers(model: str) -> tuple[flops.Layer, ...]:
    """The matmuls and convolutions of `model`: the models suite's (`bench_models.LAYERS`); the softmax
    model, which that suite does not time, is its one kernel."""
    if model == "softmax":
        return (flops.Dense(*MODELS[model].shapes["W"]),)
    from tfparity.benchmarks.bench_models import LAYERS  # imports pytest: the `bench` extra's

    return LAYERS[model]


def flops_per_example(model: str) -> int:
    return flops.train_step_flops(layers(model), 1)


def ring_allreduce_bytes(params: int, replica_count: int) -> float:
    """Bytes each replica sends (and receives) in one ring all-reduce of `params` float32 gradients."""
    return 2 * (replica_count - 1) / replica_count * params * BYTES_PER_PARAMETER


def allreduce_seconds(params: int, replica_count: int, link: Link) -> float:
    steps = 2 * (replica_count - 1)
    return steps * link.hop_us * 1e-6 + ring_allreduce_bytes(params, replica_count) / (link.gb_per_s * 1e9)


def compute_seconds(flops_each: int, batch: int, tflops: float) -> float:
    """One replica's arithmetic for one step, at the device's achieved rate (launch latency left out)."""
    return flops_each * batch / (tflops * 1e12)


def break_even_batch(seconds: float, flops_each: int, tflops: float) -> float:
    """The per-replica batch whose compute takes `seconds`: above it, compute dominates the communication."""
    return seconds * tflops * 1e12 / flops_each


def read_overheads(path: str) -> dict[str, dict[str, float]]:
    """model -> variant -> its ms per step over the one-device TF1 graph's, from the rows `tfparity compare
    --replicas N --format json` writes; anything else raises UsageError in one line."""
    make = "make it with `tfparity compare --replicas 2 --format json -o FILE`"
    try:
        with open(path, encoding="utf-8") as f:
            rows = json.load(f)
    except OSError as exc:
        raise UsageError(f"--overhead-from {path}: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"--overhead-from {path}: not JSON ({exc}); {make}") from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise UsageError(f"--overhead-from {path}: not a list of compare rows; {make}")
    ms = {
        (row.get("model", "softmax"), row["style"]): float(row["ms_per_step"])
        for row in rows
        if row.get("style") in (*replicas.VARIANTS, REFERENCE) and finite_number(row.get("ms_per_step"))
    }
    overheads: dict[str, dict[str, float]] = {}
    for (model, style), value in ms.items():
        if style != REFERENCE and (model, REFERENCE) in ms:
            overheads.setdefault(model, {})[style] = value - ms[model, REFERENCE]
    if not overheads:
        raise UsageError(f"--overhead-from {path}: no replicated row beside its one-device {REFERENCE} row; {make}")
    return overheads


def finite_number(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


@dataclass(frozen=True)
class Facts:
    """What the model costs: its parameters, training FLOPs per example, and its run's batch (per replica)."""

    model: str
    params: int
    flops_each: int
    batch: int

    def compute(self, tflops: float) -> float:
        return compute_seconds(self.flops_each, self.batch, tflops)


def facts(model: str) -> Facts:
    return Facts(model, parameters(model), flops_per_example(model), TrainConfig.for_model(model).batch_size)


def model_row(f: Facts, tflops: float, overheads: dict[str, float]) -> list[str]:
    """The model's size, its arithmetic and the overheads measured for it."""
    measured = ", ".join(f"{variant} {ms:.2f}" for variant, ms in overheads.items()) or "not measured"
    megabytes, mflop, ms = f.params * BYTES_PER_PARAMETER / 1e6, f.flops_each / 1e6, f.compute(tflops) * 1e3
    return [f.model, f"{f.params:,}", f"{megabytes:.2f}", f"{mflop:.3f}", str(f.batch), f"{ms:.4f}", measured]


def link_row(f: Facts, link: Link, n: int, tflops: float, overhead_ms: float | None) -> list[str]:
    """The all-reduce of `f`'s gradients over `link` between `n` replicas against its compute, and where it pays."""
    comm, compute = allreduce_seconds(f.params, n, link), f.compute(tflops)
    with_overhead = "not measured" if overhead_ms is None else break_even_text(comm + overhead_ms / 1e3, f, tflops)
    megabytes = ring_allreduce_bytes(f.params, n) / 1e6
    speed_up = n * compute / (compute + comm)
    return [f.model, link.name, str(n), f"{megabytes:.2f}", f"{comm * 1e3:.4f}", f"{speed_up:.2f}",
            break_even_text(comm, f, tflops), with_overhead]  # fmt: skip


def break_even_text(seconds: float, f: Facts, tflops: float) -> str:
    batch = break_even_batch(seconds, f.flops_each, tflops)
    return "< 1" if batch < 1 else f"{math.ceil(batch):,}"


def pipe_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(row) + " |" for row in (headers, ["---"] * len(headers), *rows)]


def render_markdown(tflops: float, replica_counts: Sequence[int], overheads: dict, variant: str) -> str:
    """The links' and the models' tables, one row per model, link and replica count, what the columns assume."""
    all_facts = [facts(model) for model in SCALED_MODELS]
    link_table = pipe_table(
        ["link", "GB/s per direction", "latency per ring step, us"],
        [[k.name, f"{k.gb_per_s:g}", f"{k.hop_us:g}"] for k in LINKS],
    )
    models = pipe_table(
        ["model", "parameters", "gradients, MB", "training MFLOP per example", "batch per replica",
         f"compute per step, ms at {tflops:g} TFLOP/s", "measured overhead per step, ms"],
        [model_row(f, tflops, overheads.get(f.model, {})) for f in all_facts],
    )  # fmt: skip
    links = pipe_table(
        ["model", "link", "replicas", "MB sent per replica", "all-reduce, ms", "speed-up at that batch",
         "break-even batch", f"break-even batch + {variant} overhead"],
        [link_row(f, link, n, tflops, overheads.get(f.model, {}).get(variant))
         for f in all_facts for link in LINKS for n in replica_counts],
    )  # fmt: skip
    note = (
        f"_Compute: float32 at {tflops:g} TFLOP/s, each replica at its model's batch (`compat.models`); all-reduce: "
        "ring, float32 gradients, not overlapped with the backward pass. Speed-up: N x compute / (compute + "
        "all-reduce), against one device at that batch. Break-even: the per-replica batch whose compute equals "
        "the all-reduce (and, in the last column, the all-reduce plus the measured overhead)._"
    )
    return "\n".join([*link_table, "", *models, "", *links, "", note]) + "\n"


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("--overhead-from", metavar="FILE.json", help="rows of `tfparity compare --replicas N "
                        "--format json`: each variant's ms/step over the one-device TF1 graph's")  # fmt: skip
    parser.add_argument(
        "--overhead-variant", choices=list(replicas.VARIANTS), default=DEFAULT_VARIANT,
        help="whose measured overhead the last column adds",
    )  # fmt: skip
    parser.add_argument(
        "--tflops", type=positive(float, "--tflops", "a rate"), default=DEFAULT_TFLOPS,
        help="the device's achieved float32 TFLOP/s",
    )  # fmt: skip
    parser.add_argument(
        "--replicas", nargs="+", type=replica_count, default=list(DEFAULT_REPLICAS), help="replica counts N"
    )
    return parser


def replica_count(text: str) -> int:
    count = positive(int, "--replicas", "a whole number")(text)
    if count < 2:
        raise UsageError(f"--replicas {text}: data parallelism needs at least 2 replicas")
    return count


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        require_extra("bench", "pytest", what=PROG)  # the CNN's and the MLP's layers live in the models suite
        overheads = read_overheads(args.overhead_from) if args.overhead_from else {}
    except UsageError as exc:
        print(f"scaling: error: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(render_markdown(args.tflops, args.replicas, overheads, args.overhead_variant))
    return 0


if __name__ == "__main__":
    sys.exit(main())
