"""The data-parallel pitfalls' experiments, each in a child process whose CPU is split into logical devices.

`python -m tfparity.benchmarks.pitfalls.distributed_child EXPERIMENT DATA_PATH` splits the CPU into
`REPLICAS` logical devices (`compat.devices.split_cpu`) before TensorFlow starts, runs one experiment
of `benchmarks/pitfalls/distributed.py` and prints its numbers as one JSON line. Each planted variant
is `tf2_eager/mirrored_style.py`'s loop with one thing changed (the input pipeline, the loss, the
dropout seed), set against the single-device run of the model's eager module on the same batch plan.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # only: the child must split the CPU before anything starts TensorFlow's runtime
    import tensorflow as tf

    from tfparity.compat import Datasets, RunResult, TrainConfig

REPLICAS = 2
STEPS = 50
L2 = 0.01  # the TF1 idiom's beta in `loss = cross_entropy + beta * tf.nn.l2_loss(W)`
STATEFUL_OP_SEED = 1  # a fixed op seed, as TF1 code wrote `tf.nn.dropout(h, keep_prob, seed=1)`

# The replica's loss from (params, optimizer, images, labels): what the variants change.
ReplicaLoss = Callable[..., Any]


# --- shared: a mirrored loop with the loss as a parameter, and a single-device one ------------------


def make_step(strategy: tf.distribute.Strategy, params: dict, optimizer, replica_loss: ReplicaLoss):
    """`mirrored_style.make_train_step` with the replica's loss passed in (that one computes its own):
    each replica's gradients, the optimizer's all-reduce (a sum) and one update."""
    import tensorflow as tf

    variables = list(params.values())

    def replica_step(x, y):
        with tf.GradientTape() as tape:
            loss = replica_loss(params, optimizer, x, y)
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
        return loss

    @tf.function
    def train_step(batch):
        return strategy.reduce(tf.distribute.ReduceOp.SUM, strategy.run(replica_step, args=batch), axis=None)

    return train_step


def train_mirrored(
    data: Datasets, config: TrainConfig, module: ModuleType, strategy: tf.distribute.Strategy,
    replica_loss: ReplicaLoss,
) -> dict[str, Any]:  # fmt: skip
    """`config`'s plan over the replicas (mirrored_style's inputs and model), trained with `replica_loss`."""
    from tfparity.tf2_eager import mirrored_style

    _, batches = mirrored_style.make_inputs(data, config, strategy)
    params, optimizer = mirrored_style.build_model(module, config, strategy)
    step = make_step(strategy, params, optimizer, replica_loss)
    for (batch,) in batches:  # each step's global batch, distributed (mirrored_style.distribute_batch)
        step(batch)
    return run_numbers(module, params, data)


def train_one_device(data: Datasets, config: TrainConfig, module: ModuleType, loss: ReplicaLoss) -> dict[str, Any]:
    """The same plan, model and optimizer on one device, without tf.distribute, trained with `loss`."""
    import tensorflow as tf

    from tfparity.compat import initial_weights
    from tfparity.tf2_eager import mirrored_style

    _, batches = module.make_inputs(data, config)
    params = module.build_model(initial_weights(config))
    optimizer = mirrored_style.make_optimizer(module, config, params)  # the module's own optimizer, built
    variables = list(params.values())

    @tf.function
    def train_step(x, y):
        with tf.GradientTape() as tape:
            value = loss(params, optimizer, x, y)
        optimizer.apply_gradients(zip(tape.gradient(value, variables), variables, strict=True))

    for x, y in batches:
        train_step(x, y)
    return run_numbers(module, params, data)


def run_numbers(module: ModuleType, params: dict, data: Datasets) -> dict[str, Any]:
    weights = {k: v.numpy() for k, v in params.items()}
    return {"weights": weights, "test_accuracy": module.evaluate(params, data.test.images, data.test.one_hot)}


def max_dw(a: dict[str, Any], b: dict[str, Any]) -> float:
    from tfparity.compat.metrics import largest_abs_diff

    return float(largest_abs_diff(a["weights"], b["weights"]))


def of_run_result(run: RunResult) -> dict[str, Any]:
    return {"weights": run.weights, "test_accuracy": run.test_accuracy}


# --- mirrored-global-batch ----------------------------------------------------------------------


def global_batch(data: Datasets, strategy: tf.distribute.Strategy) -> dict[str, Any]:
    """The TF1 towers' batch (B per tower, B x N a step) read as the global one, and a replica's mean loss."""
    from tfparity.compat import TrainConfig
    from tfparity.tf2_eager import eager_style, mirrored_style

    config = TrainConfig(steps=STEPS)  # the global batch: 100, the TF1 code's 50 per tower x 2
    per_tower = config.batch_size // REPLICAS
    one_device = of_run_result(eager_style.train(data, config))
    by_global, rows_global = dataset_port(data, config, strategy)
    by_per_tower, rows_per_tower = dataset_port(data, config.replace(batch_size=per_tower), strategy)
    one_device_small = of_run_result(eager_style.train(data, config.replace(batch_size=per_tower)))
    per_replica_mean = mirrored_style.train(data, config, eager_style, strategy, per_replica_mean=True)
    lr_times_n = config.learning_rate * REPLICAS
    one_device_fast = of_run_result(eager_style.train(data, config.replace(learning_rate=lr_times_n)))
    return {
        "replicas": REPLICAS,
        "steps": STEPS,
        "learning_rate": config.learning_rate,
        "tf1_batch_per_tower": per_tower,
        "tf1_examples_per_step": config.batch_size,
        "rows_per_replica_batched_global": rows_global,
        "rows_per_replica_batched_per_tower": rows_per_tower,
        "max_abs_dw_batched_global_vs_one_device": max_dw(by_global, one_device),
        "max_abs_dw_batched_per_tower_vs_one_device": max_dw(by_per_tower, one_device),
        "max_abs_dw_batched_per_tower_vs_one_device_at_per_tower_batch": max_dw(by_per_tower, one_device_small),
        "max_abs_dw_per_replica_mean_vs_one_device": max_dw(of_run_result(per_replica_mean), one_device),
        "max_abs_dw_per_replica_mean_vs_one_device_at_lr_x_n": max_dw(of_run_result(per_replica_mean), one_device_fast),
        "test_acc_one_device": one_device["test_accuracy"],
        "test_acc_batched_per_tower": by_per_tower["test_accuracy"],
        "test_acc_per_replica_mean": per_replica_mean.test_accuracy,
    }


def dataset_port(
    data: Datasets, config: TrainConfig, strategy: tf.distribute.Strategy
) -> tuple[dict[str, Any], list[int]]:
    """`strategy.experimental_distribute_dataset(ds.batch(config.batch_size))` over the plan's order, the
    loss over the same number (`compute_average_loss(global_batch_size=config.batch_size)`): the run, and
    the rows each replica got in the first step."""
    import tensorflow as tf

    from tfparity.tf2_eager import eager_style, mirrored_style

    order = config.batch_plan(data.train.num_examples).indices.reshape(-1)  # every plan is one stream, cut
    examples = tf.data.Dataset.from_tensor_slices((data.train.images[order], data.train.one_hot[order]))
    batches = iter(strategy.experimental_distribute_dataset(examples.batch(config.batch_size)))
    params, optimizer = mirrored_style.build_model(eager_style, config, strategy)
    step = mirrored_style.make_train_step(eager_style, strategy, params, optimizer, config)
    rows = []
    for _ in range(config.steps):
        batch = next(batches)
        rows = rows or [int(x.shape[0]) for x in strategy.experimental_local_results(batch[0])]
        step(batch)
    return run_numbers(eager_style, params, data), rows


# --- mirrored-l2-unscaled -----------------------------------------------------------------------


def regularisation(data: Datasets, strategy: tf.distribute.Strategy) -> dict[str, Any]:
    """`cross_entropy + beta * tf.nn.l2_loss(W)` on each replica, with and without scale_regularization_loss."""
    import tensorflow as tf

    from tfparity.compat import TrainConfig
    from tfparity.tf2_eager import eager_style, mirrored_style

    config = TrainConfig(steps=STEPS)

    def l2(params, beta=L2):
        return beta * tf.nn.l2_loss(params["W"])

    def data_term(params, x, y):
        return mirrored_style.loss_fn(eager_style.forward(params, x), y, config.batch_size)

    scaled = train_mirrored(
        data, config, eager_style, strategy,
        lambda p, _, x, y: data_term(p, x, y) + tf.nn.scale_regularization_loss(l2(p)),
    )  # fmt: skip
    unscaled = train_mirrored(data, config, eager_style, strategy, lambda p, _, x, y: data_term(p, x, y) + l2(p))

    def one_device_loss(beta):
        return lambda p, _, x, y: eager_style.loss_fn(eager_style.forward(p, x), y, "mean") + l2(p, beta)

    one_device = train_one_device(data, config, eager_style, one_device_loss(L2))
    one_device_n_beta = train_one_device(data, config, eager_style, one_device_loss(L2 * REPLICAS))
    return {
        "replicas": REPLICAS,
        "steps": STEPS,
        "beta": L2,
        "regularisation_gradient_vs_one_device": regularisation_gradient_ratios(strategy, one_device["weights"]["W"]),
        "max_abs_dw_scaled_vs_one_device": max_dw(scaled, one_device),
        "max_abs_dw_unscaled_vs_one_device": max_dw(unscaled, one_device),
        "max_abs_dw_unscaled_vs_one_device_at_n_beta": max_dw(unscaled, one_device_n_beta),
        "max_abs_w_one_device": float(np.abs(one_device["weights"]["W"]).max()),
        "test_acc_one_device": one_device["test_accuracy"],
        "test_acc_scaled": scaled["test_accuracy"],
        "test_acc_unscaled": unscaled["test_accuracy"],
    }


def regularisation_gradient_ratios(strategy: tf.distribute.Strategy, w: np.ndarray) -> dict[str, float]:
    """|all-reduced gradient of the L2 term| / |one device's|, at weights `w` mirrored on every replica."""
    import tensorflow as tf

    with strategy.scope():
        weights = tf.Variable(w)

    def replica_gradients():
        with tf.GradientTape(persistent=True) as tape:
            raw = L2 * tf.nn.l2_loss(weights)
            scaled = tf.nn.scale_regularization_loss(raw)
        return tape.gradient(raw, weights), tape.gradient(scaled, weights)

    @tf.function
    def all_reduced():
        raw, scaled = strategy.run(replica_gradients)
        return tuple(strategy.reduce(tf.distribute.ReduceOp.SUM, g, axis=None) for g in (raw, scaled))

    raw, scaled = all_reduced()
    one_device = np.linalg.norm(L2 * w)  # d(beta * sum(W^2) / 2)/dW = beta * W
    return {"unscaled": float(np.linalg.norm(raw) / one_device), "scaled": float(np.linalg.norm(scaled) / one_device)}


# --- mirrored-dropout-seed ----------------------------------------------------------------------


def dropout(data: Datasets, strategy: tf.distribute.Strategy) -> dict[str, Any]:
    """The quickstart MLP's dropout under the strategy: masks per replica, and runs against one device."""
    from tfparity.compat import TrainConfig
    from tfparity.tf2_eager import mirrored_style, mlp_eager

    config = TrainConfig.for_model("mlp_dropout", steps=STEPS)
    rate, global_batch = config.dropout_rate, config.batch_size

    def seeded(seed_of):
        def replica_loss(params, optimizer, x, y):
            seed = seed_of(mlp_eager.dropout_seed(config.seed, optimizer))
            return mirrored_style.loss_fn(mlp_eager.forward(params, x, rate, seed), y, global_batch)

        return replica_loss

    def rows_of_global_mask(params, optimizer, x, y):
        seed = mlp_eager.dropout_seed(config.seed, optimizer)
        return mirrored_style.loss_fn(forward_global_mask_rows(params, x, rate, seed, global_batch), y, global_batch)

    one_device = of_run_result(mlp_eager.train(data, config))
    runs = {
        "same_seed": train_mirrored(data, config, mlp_eager, strategy, seeded(lambda s: s)),
        "per_replica_seed": train_mirrored(data, config, mlp_eager, strategy, seeded(replica_seed)),
        "global_mask_rows": train_mirrored(data, config, mlp_eager, strategy, rows_of_global_mask),
    }
    return {
        "replicas": REPLICAS,
        "steps": STEPS,
        "rate": rate,
        "global_batch": global_batch,
        "independent_mask_agreement": (1 - rate) ** 2 + rate**2,  # two independent masks agree this often
        "masks_at_step_0": first_step_masks(strategy, config),
        "max_abs_dw_vs_one_device": {name: max_dw(run, one_device) for name, run in runs.items()},
        "test_acc_one_device": one_device["test_accuracy"],
        "test_acc": {name: run["test_accuracy"] for name, run in runs.items()},
    }


def replica_seed(seed: tf.Tensor) -> tf.Tensor:
    """The step's seed folded with the replica's id: one stream per replica."""
    import tensorflow as tf

    replica = tf.distribute.get_replica_context().replica_id_in_sync_group
    return tf.random.experimental.stateless_fold_in(seed, tf.cast(replica, tf.int64))


def forward_global_mask_rows(params: dict, x: tf.Tensor, rate: float, seed: tf.Tensor, global_batch: int) -> tf.Tensor:
    """mlp_eager.forward with replica r's rows of the mask one device draws for the whole global batch."""
    import tensorflow as tf

    hidden = tf.nn.relu(tf.matmul(x, params["hidden/kernel"]) + params["hidden/bias"])
    share = tf.shape(x)[0]
    start = share * tf.distribute.get_replica_context().replica_id_in_sync_group
    mask = tf.nn.experimental.stateless_dropout(tf.ones([global_batch, hidden.shape[1]]), rate, seed)
    return tf.matmul(hidden * mask[start : start + share], params["output/kernel"]) + params["output/bias"]


def first_step_masks(strategy: tf.distribute.Strategy, config: TrainConfig) -> dict[str, dict[str, Any]]:
    """Each seeding's masks on the replicas at step 0: how often replica 0's and 1's agree, and how
    often replica r's agrees with its rows of the single-device mask."""
    import tensorflow as tf

    from tfparity.compat.models import model_spec

    units = model_spec(config.model).shapes["hidden/bias"][0]
    rate, share = config.dropout_rate, config.batch_size // REPLICAS
    seed = tf.constant([config.seed, 0], tf.int32)  # mlp_eager.dropout_seed before the first update
    ones = tf.ones([share, units])
    with strategy.scope():  # made under the scope: one stream per replica (the tf.random.Generator docs)
        generator = tf.random.Generator.from_seed(config.seed)
    tf.random.set_seed(config.seed)
    draws = {
        "same_seed": lambda: tf.nn.experimental.stateless_dropout(ones, rate, seed) != 0,
        "per_replica_seed": lambda: tf.nn.experimental.stateless_dropout(ones, rate, replica_seed(seed)) != 0,
        "generator_in_scope": lambda: generator.uniform([share, units]) >= rate,
        "stateful_op_seed": lambda: tf.nn.dropout(ones, rate, seed=STATEFUL_OP_SEED) != 0,
    }
    single = (tf.nn.experimental.stateless_dropout(tf.ones([config.batch_size, units]), rate, seed) != 0).numpy()
    return {name: mask_agreement(strategy, draw, single, share) for name, draw in draws.items()}


def mask_agreement(
    strategy: tf.distribute.Strategy, draw: Callable[[], tf.Tensor], single: np.ndarray, share: int
) -> dict[str, Any]:
    import tensorflow as tf

    masks = [m.numpy() for m in strategy.experimental_local_results(tf.function(lambda: strategy.run(draw))())]
    return {
        "replicas_agree": float(np.mean(masks[0] == masks[1])),
        "agree_with_one_device_rows": [
            float(np.mean(m == single[r * share : (r + 1) * share])) for r, m in enumerate(masks)
        ],
        "kept_fraction": [float(m.mean()) for m in masks],
    }


EXPERIMENTS = {"global-batch": global_batch, "regularisation": regularisation, "dropout": dropout}


def main(argv: list[str]) -> dict[str, Any]:
    experiment, data_path = argv
    from tfparity.compat.devices import split_cpu

    devices = split_cpu(REPLICAS)  # before anything starts TensorFlow's runtime
    import tensorflow as tf

    from tfparity.benchmarks.pitfalls.core import load_child_data

    strategy = tf.distribute.MirroredStrategy(devices)
    return EXPERIMENTS[experiment](load_child_data("mnist", data_path), strategy)


if __name__ == "__main__":
    from tfparity.benchmarks.pitfalls.core import print_child_result

    print_child_result(main(sys.argv[1:]))
