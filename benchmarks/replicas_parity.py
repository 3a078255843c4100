"""The mirrored custom loop as a `compat.parity` side, checked against the single-device TF1 graph in a child.

`python -m tfparity.benchmarks.replicas_parity --model M --replicas N --steps S [--per-replica-mean]`
splits the CPU, builds a `TF2Side` whose step is `mirrored_style`'s (the global batch in equal
slices over the replicas) and prints the parity report's verdict as JSON. With
`--per-replica-mean` the planted bug (each replica's own mean, a gradient N times too large) is
what the parity API has to call a bug; without it, parity. Exit status as `tfparity parity`'s:
0 when the report passes, 1 when it does not (a bug, non-finite), 2 on bad arguments. `check`
runs it from the parent.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import numpy as np

from tfparity.compat import tf_logs

tf_logs.silence_by_default()  # before anything imports TensorFlow

TIMEOUT_S = 600


def check(model: str, replicas: int, steps: int, *, per_replica_mean: bool = False) -> dict:
    """The child's verdict and exit status: {"verdict", "headline", "margin", "exit_status"}."""
    from tfparity.benchmarks.benchrunner import child_environment

    argv = [sys.executable, "-m", "tfparity.benchmarks.replicas_parity", "--model", model]
    argv += ["--replicas", str(replicas), "--steps", str(steps)] + (["--per-replica-mean"] if per_replica_mean else [])
    env = {**child_environment(), "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT_S, env=env)
    if proc.returncode not in (0, 1):  # 1: a report that fails, its JSON printed all the same
        raise RuntimeError(f"replicas_parity failed (exit {proc.returncode}): {proc.stderr.strip()[-500:]}")
    return {**json.loads(proc.stdout.strip().splitlines()[-1]), "exit_status": proc.returncode}


def side_for(variant: str, config, replicas: int, *, per_replica_mean: bool = False):
    """The variant as a parity side over the first `replicas` CPUs (TF1 towers, mirrored loop, mirrored fit)."""
    import tensorflow as tf

    from tfparity.benchmarks import parity_sides
    from tfparity.benchmarks.idioms import style_module
    from tfparity.compat import parity
    from tfparity.tf1_graph import towers_style

    devices = [f"/cpu:{i}" for i in range(replicas)]
    if variant == "mirrored":
        return mirrored_side(config, replicas, per_replica_mean=per_replica_mean)
    if variant == "towers":
        module = style_module("tf1_graph", config.model)

        def build() -> parity.TF1Graph:
            g = towers_style.build_graph(module, config, devices)
            variables = list(g.params.values())
            return parity.TF1Graph(g.x, g.logits, g.y_, g.loss, g.train_op, variables)

        return parity.TF1GraphSide(build, name="towers", device=None)
    strategy = tf.distribute.MirroredStrategy(devices)
    side = parity_sides.KerasFitSide(config)
    unscoped = side.make_model

    def make_model():
        with strategy.scope():  # the whole migration of fit: build and compile under the scope
            return unscoped()

    side.make_model, side.device, side.name = make_model, None, "mirrored_keras"
    return side


def verdict(variant: str, config, data, replicas: int, *, per_replica_mean: bool = False):
    """The parity report of the variant against the single-device TF1 graph, on the shared plan."""
    from tfparity.benchmarks import parity_sides
    from tfparity.compat import parity

    candidate = side_for(variant, config, replicas, per_replica_mean=per_replica_mean)
    return parity.check_parity(parity_sides.tf1_graph_side(config), candidate, parity_sides.batches_for(data, config))


def mirrored_side(config, replicas: int, *, per_replica_mean: bool = False):
    """A TF2Side training `config.model` with the mirrored custom loop over the first `replicas` CPUs."""
    import tensorflow as tf

    from tfparity.benchmarks.idioms import style_module
    from tfparity.benchmarks.parity_sides import TapeModel
    from tfparity.compat import initial_weights, parity
    from tfparity.tf2_eager import mirrored_style

    module = style_module("eager", config.model)
    strategy = tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(replicas)])

    def make_model() -> TapeModel:
        with strategy.scope():
            params = module.build_model(initial_weights(config))
            model = TapeModel(params, mirrored_style.make_optimizer(module, config, params))
        model.step = mirrored_style.make_train_step(module, strategy, params, model.optimizer, config, per_replica_mean)
        return model

    def train_step(model: TapeModel, images, labels):
        return model.step(mirrored_style.distribute_batch(strategy, np.asarray(images), np.asarray(labels)))

    return parity.TF2Side(
        make_model, train_step=train_step, forward=lambda m, x: module.forward(m.params, x), name="mirrored"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tfparity.benchmarks.replicas_parity")
    parser.add_argument("--model", default="softmax", help="a model of the suite (default: softmax)")
    parser.add_argument("--replicas", type=int, default=2, help="logical CPUs the global batch is split over")
    parser.add_argument("--steps", type=int, default=100, help="training steps compared")
    parser.add_argument("--per-replica-mean", action="store_true", help="plant the bug: each replica's own mean")
    args = parser.parse_args(argv)
    from tfparity.compat.devices import split_cpu

    split_cpu(args.replicas)
    from tfparity.compat import TrainConfig, load_dataset

    config = TrainConfig.for_model(args.model, steps=args.steps)
    report = verdict("mirrored", config, load_dataset("mnist"), args.replicas, per_replica_mean=args.per_replica_mean)
    margin = None if report.margin is None else report.margin.describe()
    print(json.dumps({"verdict": report.verdict, "headline": report.headline, "margin": margin}))
    return 0 if report.passes(allow_sensitive=True) else 1


if __name__ == "__main__":
    sys.exit(main())
