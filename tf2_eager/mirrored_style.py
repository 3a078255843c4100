"""tf.distribute style: the custom training loop under `MirroredStrategy`, synchronous data parallelism.

The eager style's model and optimizer, made under `strategy.scope()` (mirrored variables, one
copy per replica); each global batch of the shared plan split into equal slices, slice r to
replica r (`experimental_distribute_dataset` of a pipeline batched by the global batch size, or
`experimental_distribute_values_from_function`); each replica's loss is its per-example
losses summed over the **global** batch size (`tf.nn.compute_average_loss`), so that the all-reduce
(a sum) of the replicas' gradients is the single-device mean gradient. `per_replica_mean=True`
plants the classic bug instead: `reduce_mean` per replica, a gradient N times too large.

`eager_module` is the model's eager style module (`eager_style` for softmax, `mlp_eager` for the
MLP): its `build_model`, `forward` and optimizer are used unchanged. Replicas are devices the
caller has made; on a machine with one CPU, logical CPUs set before TensorFlow starts
(`compat.devices.split_cpu`, in a child process).
"""

from __future__ import annotations

from types import ModuleType

import numpy as np
import tensorflow as tf

from tfparity.compat import Datasets, RunResult, TrainConfig, initial_weights
from tfparity.compat.timing import StepClock

STYLE = "mirrored"


# %% stage: data
PIPELINES = ("values", "dataset")  # the default first: the same slices, bit for bit, without tf.data's threads


def make_inputs(data: Datasets, config: TrainConfig, strategy: tf.distribute.Strategy, pipeline: str = "values"):
    """The plan, and each step's global batch split over the replicas: each slice handed over by a function
    (`distribute_batch`), or `experimental_distribute_dataset` of a tf.data pipeline batched by the global
    batch size (`distributed_dataset`). Both give replica r rows r*B/N to (r+1)*B/N of the global batch."""
    if config.batch_size % strategy.num_replicas_in_sync:
        raise ValueError(
            f"batch_size {config.batch_size} does not split over {strategy.num_replicas_in_sync} replicas; "
            "make it a multiple"
        )
    if pipeline not in PIPELINES:
        raise ValueError(f"pipeline must be one of {PIPELINES}, got {pipeline!r}")
    plan = config.batch_plan(data.train.num_examples)
    images, labels = data.train.images, data.train.one_hot
    if pipeline == "dataset":
        return plan, ((batch,) for batch in distributed_dataset(strategy, images, labels, plan))
    return plan, ((distribute_batch(strategy, images[idx], labels[idx]),) for idx in plan.indices)


def distributed_dataset(strategy: tf.distribute.Strategy, images: np.ndarray, labels: np.ndarray, plan):
    """The planned global batches as a tf.data pipeline batched by the global size, split by the strategy.

    The plan's example indices, batched by the global batch size (the batch op the strategy cuts into
    the replicas' slices, in order), then each slice's rows gathered: the epoch is never copied whole."""
    images_t, labels_t = tf.constant(images), tf.constant(labels)
    indices = tf.data.Dataset.from_tensor_slices(plan.indices.reshape(-1)).batch(plan.batch_size)
    dataset = indices.map(lambda idx: (tf.gather(images_t, idx), tf.gather(labels_t, idx)))
    return strategy.experimental_distribute_dataset(dataset)


def distribute_batch(strategy: tf.distribute.Strategy, x: np.ndarray, y: np.ndarray):
    """Replica r gets rows r*B/N to (r+1)*B/N of the global batch: equal slices, in order."""
    share = len(x) // strategy.num_replicas_in_sync

    def replica_slice(context: tf.distribute.InputReplicaContext):
        r = context.replica_id_in_sync_group
        return x[r * share : (r + 1) * share], y[r * share : (r + 1) * share]

    return strategy.experimental_distribute_values_from_function(replica_slice)


# %% stage: model
def build_model(eager_module: ModuleType, config: TrainConfig, strategy: tf.distribute.Strategy):
    """The eager style's variables and optimizer, made under the strategy's scope: mirrored."""
    with strategy.scope():
        params = eager_module.build_model(initial_weights(config))
        optimizer = make_optimizer(eager_module, config, params)
    return params, optimizer


# %% stage: loss
def loss_fn(logits: tf.Tensor, labels: tf.Tensor, global_batch_size: int, per_replica_mean: bool = False):
    """Per-example cross-entropy over the global batch size: the replicas' gradients add up to the mean's."""
    per_example = tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    if per_replica_mean:  # the planted bug: each replica's own mean, so the all-reduce sums N means
        return tf.reduce_mean(per_example)
    return tf.nn.compute_average_loss(per_example, global_batch_size=global_batch_size)


# %% stage: optimizer
def make_optimizer(eager_module: ModuleType, config: TrainConfig, params: dict):
    """The eager style's optimizer (softmax: unbuilt; the larger models': built on `params`), built here."""
    if hasattr(eager_module, "rmsprop_velocities"):  # the MLP's: RMSprop's velocities set to TF1's ones
        return eager_module.make_optimizer(config, params)
    optimizer = eager_module.make_optimizer(config)
    optimizer.build(list(params.values()))
    return optimizer


# %% stage: train step
def make_train_step(eager_module, strategy, params, optimizer, config: TrainConfig, per_replica_mean: bool = False):
    """The step, compiled: each replica's forward, loss and gradients, the optimizer's all-reduce and update."""
    variables = list(params.values())

    def replica_step(x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(eager_module.forward(params, x), y, config.batch_size, per_replica_mean)
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
        return loss

    @tf.function
    def train_step(batch):
        per_replica = strategy.run(replica_step, args=batch)
        return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)  # the global batch's loss

    return train_step


# %% stage: loop
def train(
    data: Datasets, config: TrainConfig, eager_module: ModuleType, strategy: tf.distribute.Strategy,
    *, per_replica_mean: bool = False, pipeline: str = "values",
) -> RunResult:  # fmt: skip
    if config.loss != "mean" or config.dropout_rate:
        raise ValueError("the mirrored style trains the mean cross-entropy of a model without dropout")
    clock = StepClock()
    plan, batches = make_inputs(data, config, strategy, pipeline)
    params, optimizer = build_model(eager_module, config, strategy)
    step = make_train_step(eager_module, strategy, params, optimizer, config, per_replica_mean)
    losses = clock.loop(step, batches, finish=lambda losses: tf.stack(losses).numpy())
    test_accuracy = evaluate(eager_module, params, data)
    weights = {k: v.numpy() for k, v in params.items()}
    return clock.result(STYLE, config, plan, weights, losses, test_accuracy, replicas=strategy.num_replicas_in_sync)


# %% stage: evaluate
def evaluate(eager_module: ModuleType, params: dict, data: Datasets) -> float:
    """On one device: the mirrored variables read as plain tensors."""
    return eager_module.evaluate(params, data.test.images, data.test.one_hot)
