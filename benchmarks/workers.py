"""Multi-process data parallelism on localhost: TF1 between-graph and MultiWorkerMirroredStrategy.

`run_workers(variant, config, workers)` starts the variant's cluster on free localhost ports
(`benchmarks.cluster`): M worker processes (and, for TF1, one parameter server), each training
its share of every global batch of the shared plan, and reads the runs back as one `RunResult`
(worker 0's weights, the global batch's loss per step). A task that dies, never starts or
outlives the timeout fails the run with the task named; no process is left behind.

Each task is `python -m tfparity.benchmarks.workers --variant V --task worker:0 --cluster JSON
--config JSON --out FILE.npz`; MultiWorkerMirroredStrategy's tasks also get `TF_CONFIG`, which is
how the same program runs across machines (docs/distributed.md).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tfparity.benchmarks import cluster as clusters
from tfparity.benchmarks.replicas import load_run, save_run

VARIANTS = {
    "between_graph": "TF1 between-graph replication: a ps and M worker processes, SyncReplicasOptimizer",
    "multi_worker": "tf.distribute.MultiWorkerMirroredStrategy: M worker processes configured by TF_CONFIG",
}
MODELS = ("softmax", "mlp")
# Each task is a process with its own TensorFlow (about half a GB) on this machine's cores: more than this is
# a typo, not a test. Real clusters span machines, each started with its own TF_CONFIG (docs/scaling.md).
MAX_WORKERS = 8
TIMEOUT_S = 1800.0  # a loaded 2-core machine runs the MLP's 2,345 between-graph steps in up to 800 s


def task_list(
    variant: str, config, cluster: dict, data_dir: str | None, folder: Path, verify: bool = True
) -> list[clusters.Task]:
    """One task per cluster member: the same command line, told which task it is."""
    from tfparity.benchmarks.benchrunner import child_environment

    base = [sys.executable, "-m", "tfparity.benchmarks.workers", "--variant", variant]
    base += ["--cluster", json.dumps(cluster), "--config", json.dumps(config.to_dict())]
    base += ["--data-dir", data_dir] if data_dir else []
    base += [] if verify else ["--no-verify"]
    env = {**child_environment(), "TF_CPP_MIN_LOG_LEVEL": "2"}
    tasks = []
    for job, addresses in cluster.items():
        for i in range(len(addresses)):
            argv = base + ["--task", f"{job}:{i}", "--out", str(folder / f"{job}-{i}.npz")]
            task_env = {**env, "TF_CONFIG": tf_config(cluster, job, i)} if variant == "multi_worker" else env
            tasks.append(clusters.Task(f"{job} {i}", argv, task_env, must_finish=job == "worker"))
    return tasks


def tf_config(cluster: dict, job: str, index: int) -> str:
    return json.dumps({"cluster": cluster, "task": {"type": job, "index": index}})


def run_workers(
    variant: str, config, workers: int, data_dir: str | None = None, *, timeout_s: float = TIMEOUT_S,
    on_started: Callable[[dict[str, int]], None] | None = None, verify: bool = True,
):  # fmt: skip
    """The variant trained by `workers` processes on localhost, as one RunResult (see the module)."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {list(VARIANTS)}, got {variant!r}")
    jobs = {"worker": workers, "ps": 1 if variant == "between_graph" else 0}
    with tempfile.TemporaryDirectory(prefix="tfparity-workers-") as folder:
        seconds = clusters.launch_on_localhost(
            jobs,
            lambda cluster: task_list(variant, config, cluster, data_dir, Path(folder), verify),
            timeout_s,
            on_started=on_started,
        )
        runs = [load_run(Path(folder) / f"worker-{w}.npz", config) for w in range(workers)]
    return merged(runs, seconds)


def merged(runs: list, seconds: float):
    """Worker 0's run, with the global batch's loss (the workers' equal-slice means, averaged) and
    whether every worker ended with the same variables (synchronous training must)."""
    first = runs[0]
    first.losses = np.mean([r.losses for r in runs], axis=0, dtype=np.float64).astype(np.float32)
    first.extra["workers"] = len(runs)
    first.extra["workers_agree"] = all(
        np.array_equal(r.weights[k], first.weights[k]) for r in runs[1:] for k in first.weights
    )
    first.extra["cluster_seconds"] = seconds
    return first


def train_task(variant: str, job: str, index: int, cluster: dict, config, data_dir: str | None, verify: bool = True):
    """In a task process: serve (ps) or train this worker's share; the strategy before anything else."""
    if job == "ps":
        from tfparity.tf1_graph import between_graph

        between_graph.serve_parameters(cluster, index)
        return None
    strategy = None
    if variant == "multi_worker":
        from tfparity.tf2_eager import multi_worker

        strategy = multi_worker.make_strategy()  # reads TF_CONFIG; must precede every other op
    from tfparity.benchmarks.idioms import style_module
    from tfparity.compat import load_dataset

    data = load_dataset("mnist", data_dir, verify=verify)
    if variant == "multi_worker":
        return multi_worker.train(data, config, style_module("eager", config.model), strategy)
    from tfparity.tf1_graph import between_graph

    return between_graph.train(data, config, style_module("tf1_graph", config.model), cluster, index)


def task_name(text: str) -> tuple[str, int]:
    """'worker:0' -> ('worker', 0), for argparse (a bad one: its one-line usage error)."""
    job, _, index = text.partition(":")
    if job not in ("worker", "ps") or not index.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r}: give JOB:INDEX, JOB worker or ps, e.g. worker:0")
    return job, int(index)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tfparity.benchmarks.workers")
    parser.add_argument("--variant", choices=list(VARIANTS), required=True)
    parser.add_argument("--task", required=True, type=task_name, help="JOB:INDEX, e.g. worker:0 or ps:0")
    parser.add_argument(
        "--cluster",
        required=True,
        help="the cluster as JSON, job -> ['host:port', ...] (between_graph's servers; multi_worker reads TF_CONFIG)",
    )
    parser.add_argument("--config", required=True, help="the TrainConfig as JSON: its fields (TrainConfig.to_dict())")
    parser.add_argument("--data-dir")
    parser.add_argument("--no-verify", action="store_true", help="skip the data's checksum")
    parser.add_argument("--out", required=True, help="worker's run: FILE.npz (weights, losses) and FILE.json beside it")
    args = parser.parse_args(argv)
    from tfparity.compat import TrainConfig

    job, index = args.task
    config = TrainConfig(**json.loads(args.config))
    result = train_task(args.variant, job, index, json.loads(args.cluster), config, args.data_dir, not args.no_verify)
    if result is not None:
        save_run(result, Path(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
