"""Data-parallel runs in a child process: the CPU split into N logical devices before TensorFlow starts.

`python -m tfparity.benchmarks.replicas --variant towers|mirrored|mirrored_keras --model M --replicas N
--steps S --out FILE.npz` splits the CPU (`compat.devices.split_cpu`), trains the variant on the
shared batch plan of the model's global batch and writes the run to FILE.npz (weights, losses)
and FILE.json (the rest). `run_variant` does it from the parent, with a timeout, and reads the
result back as a `RunResult`; `--per-replica-mean` plants the per-replica mean bug (mirrored only).
Logical devices share the machine's cores: these runs test correctness and overhead, not speed-up.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

VARIANTS = {
    "towers": "TF1 in-graph replication: a tower per device, gradients averaged by hand",
    "mirrored": "tf.distribute.MirroredStrategy, custom loop: strategy.run, compute_average_loss",
    "mirrored_keras": "tf.distribute.MirroredStrategy, keras.fit: model built and compiled under strategy.scope()",
}
MODELS = ("softmax", "mlp")  # the models the variants cover (no dropout)
TIMEOUT_S = 600


def run_variant(
    variant: str, config, replicas: int, data_dir: str | None = None, *, per_replica_mean: bool = False,
    verdict: bool = False, verify: bool = True, timeout_s: float | None = None,
):  # fmt: skip
    """The variant's RunResult, trained in a child process with `replicas` logical CPUs; with `verdict`,
    its parity verdict against the single-device TF1 graph in `extra["verdict"]` (`replicas_parity`)."""
    from tfparity.benchmarks.benchrunner import child_environment

    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "run.npz"
        argv = [sys.executable, "-m", "tfparity.benchmarks.replicas", "--variant", variant, "--replicas", str(replicas)]
        argv += ["--config", json.dumps(config.to_dict()), "--out", str(out)]
        argv += ["--data-dir", data_dir] if data_dir else []
        argv += ["--per-replica-mean"] if per_replica_mean else []
        argv += ["--verdict"] if verdict else []
        argv += [] if verify else ["--no-verify"]
        timeout = TIMEOUT_S if timeout_s is None else timeout_s
        env = {**child_environment(), "TF_CPP_MIN_LOG_LEVEL": "2"}
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            message = f"{variant} x{replicas}: no result within {timeout:.0f} s; the child was killed"
            raise RuntimeError(message) from None
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise RuntimeError(f"{variant} x{replicas} failed (exit {proc.returncode}): {last}")
        return load_run(out, config)


def save_run(result, out: Path) -> None:
    """A child's RunResult as FILE.npz (weights, losses) and FILE.json (the rest), for `load_run`."""
    np.savez(out, losses=result.losses, **{f"w:{k}": v for k, v in result.weights.items()})
    meta = {
        k: getattr(result, k) for k in ("style", "test_accuracy", "steps", "seconds", "ms_per_step", "plan_fingerprint")
    }
    out.with_suffix(".json").write_text(json.dumps({**meta, "extra": result.extra}))


def load_run(out: Path, config):
    """The RunResult `save_run` wrote."""
    from tfparity.compat import RunResult

    arrays = np.load(out)
    meta = json.loads(out.with_suffix(".json").read_text())
    weights = {k[len("w:") :]: arrays[k] for k in arrays.files if k.startswith("w:")}
    return RunResult(config=config, weights=weights, losses=arrays["losses"], **meta)


def train(variant: str, config, replicas: int, data_dir: str | None, per_replica_mean: bool, verify: bool = True):
    """In the child: split the CPU, then train the variant (imports TensorFlow only after the split)."""
    from tfparity.compat.devices import split_cpu

    devices = split_cpu(replicas)
    import tensorflow as tf

    from tfparity.benchmarks.idioms import style_module
    from tfparity.compat import load_dataset

    data = load_dataset("mnist", data_dir, verify=verify)
    if variant == "towers":
        from tfparity.tf1_graph import towers_style

        return towers_style.train(data, config, style_module("tf1_graph", config.model), devices)
    strategy = tf.distribute.MirroredStrategy(devices)
    if variant == "mirrored":
        from tfparity.tf2_eager import mirrored_style

        module = style_module("eager", config.model)
        return mirrored_style.train(data, config, module, strategy, per_replica_mean=per_replica_mean)
    from tfparity.tf2_eager import mirrored_keras

    return mirrored_keras.train(data, config, style_module("keras_fit", config.model), strategy)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tfparity.benchmarks.replicas")
    parser.add_argument("--variant", choices=list(VARIANTS), required=True)
    parser.add_argument("--replicas", type=int, required=True)
    parser.add_argument("--config", required=True, help="the TrainConfig as JSON")
    parser.add_argument("--data-dir")
    parser.add_argument("--per-replica-mean", action="store_true")
    parser.add_argument("--no-verify", action="store_true", help="skip the data's checksum (as the parent was told)")
    parser.add_argument("--verdict", action="store_true", help="also the parity verdict against one device")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    from tfparity.compat import TrainConfig

    config = TrainConfig(**json.loads(args.config))
    result = train(args.variant, config, args.replicas, args.data_dir, args.per_replica_mean, not args.no_verify)
    if args.verdict:
        from tfparity.benchmarks import compare, replicas_parity
        from tfparity.compat import load_dataset

        data = load_dataset("mnist", args.data_dir, verify=not args.no_verify)
        report = replicas_parity.verdict(
            args.variant, config, data, args.replicas, per_replica_mean=args.per_replica_mean
        )
        margin = report.margin
        result.extra["verdict"] = {
            "verdict": report.verdict,
            "verdict_detail": compare.verdict_cell(report),
            "margin": None if margin is None else {"ratio": margin.ratio, "against": margin.against},
        }
    save_run(result, Path(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
