"""The mirrored custom loop as a `compat.parity` side, checked against the single-device TF1 graph in a child.

`python -m tfparity.benchmarks.replicas_parity --model M --replicas N --steps S [--per-replica-mean]`
splits the CPU, builds a `TF2Side` whose step is `mirrored_style`'s (the global batch in equal
slices over the replicas) and prints the parity report's verdict as JSON. With
`--per-replica-mean` the planted bug (each replica's own mean, a gradient N times too large) is
what the parity API has to call a bug; without it, parity. Exit status as `tfparity parity`'s:
0 when the report passes, 1 when it does not (a bug, non-finite), 2 on bad arguments. `check`
runs it from the parent, and raises with the child's last words when it printed no verdict (a crash).
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

from tfparity.compat import tf_logs

tf_logs.silence_by_default()  # before anything imports TensorFlow

MODULE = "tfparity.benchmarks.replicas_parity"
PROG = f"python -m {MODULE}"
TIMEOUT_S = 600


def check(model: str, replicas: int, steps: int, *, per_replica_mean: bool = False) -> dict:
    """The child's verdict, exit status and standard error: {"verdict", "headline", "margin", "exit_status", "stderr"}.

    RuntimeError, with the child's last words, when it did not print a verdict (bad arguments, a crash)."""
    from tfparity.benchmarks.benchrunner import child_environment

    argv = [sys.executable, "-m", MODULE, "--model", model]
    argv += ["--replicas", str(replicas), "--steps", str(steps)] + (["--per-replica-mean"] if per_replica_mean else [])
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT_S, env=child_environment())
    said = proc.stdout.strip().splitlines()
    if proc.returncode not in (0, 1) or not said or not said[-1].startswith("{"):
        raise RuntimeError(f"replicas_parity failed (exit {proc.returncode}): {proc.stderr.strip()[-500:]}")
    return {**json.loads(said[-1]), "exit_status": proc.returncode, "stderr": proc.stderr}


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


def exit_status(report) -> int:
    """As `tfparity parity`'s: 0 when the report passes ('sensitive problem, no bug' included), else 1."""
    return 0 if report.passes(allow_sensitive=True) else 1


def main(argv: list[str] | None = None) -> int:
    from tfparity.benchmarks import replicas
    from tfparity.benchmarks.errors import UsageError
    from tfparity.benchmarks.report_args import OneLineParser, positive

    parser = OneLineParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="softmax", choices=replicas.MODELS, help="the model (default: softmax)")
    parser.add_argument(
        "--replicas", type=positive(int, "--replicas", "a whole number"), default=2, help="logical CPUs to split over"
    )
    parser.add_argument("--steps", type=positive(int, "--steps", "a whole number"), default=100, help="steps compared")
    parser.add_argument("--per-replica-mean", action="store_true", help="plant the bug: each replica's own mean")
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        print(f"replicas_parity: error: {exc}", file=sys.stderr)
        return 2
    tf_logs.import_tensorflow()  # its start-up lines filtered out, before the CPU is split
    from tfparity.compat.devices import split_cpu

    split_cpu(args.replicas)
    from tfparity.compat import TrainConfig, load_dataset

    config = TrainConfig.for_model(args.model, steps=args.steps)
    report = verdict("mirrored", config, load_dataset("mnist"), args.replicas, per_replica_mean=args.per_replica_mean)
    margin = None if report.margin is None else report.margin.describe()
    print(json.dumps({"verdict": report.verdict, "headline": report.headline, "margin": margin}))
    return exit_status(report)


if __name__ == "__main__":
    sys.exit(main())
