"""Data-parallel training across the migration (issue 19): what `tf.distribute.MirroredStrategy` changes quietly.

TF1 code replicated its graph by hand, a tower per device, and averaged the towers' gradients. Under
`MirroredStrategy` the batch a dataset is cut into is the global one, the all-reduce sums the
replicas' gradients, and every replica runs the same ops with the same seeds. Each experiment
trains `tf2_eager/mirrored_style.py`'s loop with one thing planted, against the single-device run on
the same batches, in a child process whose CPU is split into logical devices before TensorFlow
starts (`python -m tfparity.benchmarks.pitfalls.distributed_child`): this process may have started
TensorFlow already, and its devices are fixed from then on.
"""

from __future__ import annotations

from typing import Any

from tfparity.benchmarks.pitfalls.core import DataLoader, Measurement, Pitfall, data_arg, run_child

CHILD = "tfparity.benchmarks.pitfalls.distributed_child"
ROUNDING = 1e-5  # float32 reduction order over a few dozen steps; measured here: 3e-7 at most
PARTED = 1e-3  # a planted run's distance from one device must be far above rounding (measured: 2e-2 at least)


def run_experiment(data: DataLoader, experiment: str) -> dict[str, Any]:
    return run_child(CHILD, [experiment, data_arg(data("mnist"))])


# --- a batch size left per replica --------------------------------------------------------------


def measure_global_batch(data: DataLoader) -> Measurement:
    n = run_experiment(data, "global-batch")
    replicas, per_tower, steps = n["replicas"], n["tf1_batch_per_tower"], n["steps"]
    global_batch, fast_lr = n["tf1_examples_per_step"], n["learning_rate"] * n["replicas"]
    return Measurement(
        effect=(
            f"ds.batch({per_tower}) over {replicas} replicas: {n['rows_per_replica_batched_per_tower']} rows a "
            f"replica, {per_tower} examples a step, not {global_batch}; it trains one device at batch {per_tower} "
            f"(max |dW| {n['max_abs_dw_batched_per_tower_vs_one_device_at_per_tower_batch']:.1e}), "
            f"{n['max_abs_dw_batched_per_tower_vs_one_device']:.2g} from the TF1 run after {steps} steps (test acc "
            f"{n['test_acc_batched_per_tower']:.4f} vs {n['test_acc_one_device']:.4f}); a per-replica mean trains "
            f"one device at lr {fast_lr:g} ({n['max_abs_dw_per_replica_mean_vs_one_device_at_lr_x_n']:.1e}), "
            f"{n['max_abs_dw_per_replica_mean_vs_one_device']:.2g} from the TF1 run; ds.batch({global_batch}): "
            f"{n['max_abs_dw_batched_global_vs_one_device']:.1e}"
        ),
        checks={
            f"experimental_distribute_dataset(ds.batch({per_tower})) gives each of {replicas} replicas "
            f"{per_tower // replicas} rows, ds.batch({global_batch}) gives each {per_tower}": (
                n["rows_per_replica_batched_per_tower"] == [per_tower // replicas] * replicas
                and n["rows_per_replica_batched_global"] == [per_tower] * replicas
            ),
            f"batched by the global size, the mirrored run trains the single-device run (max |dW| <= {ROUNDING:g})": (
                n["max_abs_dw_batched_global_vs_one_device"] <= ROUNDING
            ),
            f"batched by the per-tower size, it trains one device at batch {per_tower} instead (max |dW| <= "
            f"{ROUNDING:g}), > {PARTED:g} from the TF1 run after {steps} steps": (
                n["max_abs_dw_batched_per_tower_vs_one_device_at_per_tower_batch"] <= ROUNDING
                and n["max_abs_dw_batched_per_tower_vs_one_device"] > PARTED
            ),
            f"each replica's loss averaged over its own rows trains one device at {replicas}x the learning rate "
            f"(max |dW| <= {ROUNDING:g}), > {PARTED:g} from the TF1 run": (
                n["max_abs_dw_per_replica_mean_vs_one_device_at_lr_x_n"] <= ROUNDING
                and n["max_abs_dw_per_replica_mean_vs_one_device"] > PARTED
            ),
        },
        numbers=n,
    )


MIRRORED_GLOBAL_BATCH = Pitfall(
    id="mirrored-global-batch",
    title="MirroredStrategy batch sizes are global: TF1's per-tower batch, or a per-replica mean, is not",
    tf1="batch_size = 50  # per tower, N towers: a step trains on 50 x N examples, the towers' gradients averaged",
    tf2="strategy.experimental_distribute_dataset(ds.batch(50)); each replica's loss tf.reduce_mean(per_example)",
    differs=(
        "experimental_distribute_dataset reads the batch as the global one: each replica gets 50 / N rows and a "
        "step trains on 50 examples, not 50 x N (the single-device run at batch 50, an epoch N times as many "
        "steps); a mean over the replica's own rows is summed N times by the all-reduce: N x the learning rate"
    ),
    fix=(
        "batch by the global size, ds.batch(per_replica * strategy.num_replicas_in_sync), and divide each "
        "replica's loss by it: tf.nn.compute_average_loss(per_example_loss, global_batch_size=that size)"
    ),
    measure=measure_global_batch,
)


# --- unscaled regularisation losses -------------------------------------------------------------


def measure_l2_unscaled(data: DataLoader) -> Measurement:
    n = run_experiment(data, "regularisation")
    replicas, steps, beta = n["replicas"], n["steps"], n["beta"]
    ratio = n["regularisation_gradient_vs_one_device"]
    return Measurement(
        effect=(
            f"beta * l2_loss(W) in each of {replicas} replicas' loss: its all-reduced gradient is "
            f"{ratio['unscaled']:g}x one device's ({ratio['scaled']:g}x scaled); after {steps} steps the unscaled "
            f"run is {n['max_abs_dw_unscaled_vs_one_device']:.2g} from one device (weights up to "
            f"{n['max_abs_w_one_device']:.2g}) and {n['max_abs_dw_unscaled_vs_one_device_at_n_beta']:.1e} from one "
            f"device at beta x {replicas}; scaled: {n['max_abs_dw_scaled_vs_one_device']:.1e}"
        ),
        checks={
            f"the all-reduced gradient of the L2 term is {replicas}x one device's unscaled, 1x with "
            "tf.nn.scale_regularization_loss (within 1e-6)": (
                abs(ratio["unscaled"] - replicas) <= 1e-6 and abs(ratio["scaled"] - 1) <= 1e-6
            ),
            f"scaled, the mirrored run trains the single-device run (max |dW| <= {ROUNDING:g})": (
                n["max_abs_dw_scaled_vs_one_device"] <= ROUNDING
            ),
            f"unscaled, it trains one device at {replicas} x beta (max |dW| <= {ROUNDING:g}), > {PARTED:g} from the "
            f"single-device run after {steps} steps at beta {beta:g}": (
                n["max_abs_dw_unscaled_vs_one_device_at_n_beta"] <= ROUNDING
                and n["max_abs_dw_unscaled_vs_one_device"] > PARTED
            ),
        },
        numbers=n,
    )


MIRRORED_L2_UNSCALED = Pitfall(
    id="mirrored-l2-unscaled",
    title="MirroredStrategy: an L2 term added to each replica's loss is summed N times by the all-reduce",
    tf1="loss = cross_entropy + beta * tf.nn.l2_loss(W)  # each tower's loss; the towers' gradients averaged",
    tf2="loss = tf.nn.compute_average_loss(per_example, global_batch_size=B) + beta * tf.nn.l2_loss(W)",
    differs=(
        "the replicas' gradients are summed, not averaged: compute_average_loss divides the data term by the "
        "global batch, but every replica adds the whole L2 gradient, so the run is one device's at N x beta"
    ),
    fix=(
        "loss += tf.nn.scale_regularization_loss(beta * tf.nn.l2_loss(W)), which divides by num_replicas_in_sync; "
        "in a custom loop, the layers' kernel_regularizer losses too: scale_regularization_loss(tf.add_n(model.losses))"
    ),
    measure=measure_l2_unscaled,
)


# --- a replica-dependent random op --------------------------------------------------------------


def measure_dropout_seed(data: DataLoader) -> Measurement:
    n = run_experiment(data, "dropout")
    masks, dw, acc = n["masks_at_step_0"], n["max_abs_dw_vs_one_device"], n["test_acc"]
    independent, steps = n["independent_mask_agreement"], n["steps"]
    replicated, own_streams = ("same_seed", "stateful_op_seed"), ("per_replica_seed", "generator_in_scope")
    return Measurement(
        effect=(
            f"dropout {n['rate']:g}, {n['replicas']} replicas: replica 0's and 1's masks agree on "
            + ", ".join(f"{masks[s]['replicas_agree']:.0%} ({s})" for s in masks)
            + f" (independent: {independent:.0%}); after {steps} steps, max |dW| vs one device "
            + ", ".join(f"{dw[s]:.1e} ({s})" for s in dw)
            + f"; test acc {acc['per_replica_seed']:.4f} per-replica seeds vs {n['test_acc_one_device']:.4f}"
        ),
        checks={
            "the single-device seeding (a stateless seed, or a fixed op seed) draws the same mask on every "
            "replica (100% of the units agree)": all(masks[s]["replicas_agree"] == 1.0 for s in replicated),
            "seeds folded with replica_id_in_sync_group, or a tf.random.Generator made under strategy.scope(), "
            f"draw masks that agree as independent ones do (within 5 points of {independent:.0%})": all(
                abs(masks[s]["replicas_agree"] - independent) <= 0.05 for s in own_streams
            ),
            "with any of these seedings some replica's mask is not its rows of the single-device mask (< 90% agree)": (
                all(min(m["agree_with_one_device_rows"]) < 0.9 for m in masks.values())
            ),
            f"so those runs part from one device beyond rounding (max |dW| > {PARTED:g} after {steps} steps); "
            "the per-replica-seeded one reaches the single-device test accuracy within 1 point": (
                min(dw["same_seed"], dw["per_replica_seed"]) > PARTED
                and abs(acc["per_replica_seed"] - n["test_acc_one_device"]) <= 0.01
            ),
            f"replica r applying rows r of one device's mask trains the single-device weights (max |dW| <= "
            f"{ROUNDING:g})": dw["global_mask_rows"] <= ROUNDING,
        },
        numbers=n,
    )


MIRRORED_DROPOUT_SEED = Pitfall(
    id="mirrored-dropout-seed",
    title="MirroredStrategy: a random op seeded as on one device draws the same mask on every replica",
    tf1="h = tf.nn.dropout(h, keep_prob, seed=1)  # one device: reproducible masks",
    tf2="tf.nn.experimental.stateless_dropout(h, rate, seed=(seed, step)), or tf.nn.dropout(h, rate, seed=1), "
    "inside strategy.run",
    differs=(
        "every replica runs the same op with the same seed on the same shape: every replica's rows get the same "
        "mask (correlated replicas, N times fewer distinct masks), and no seeding per replica draws the "
        "single-device mask, so the run cannot match one device to rounding"
    ),
    fix=(
        "one stream per replica: tf.random.experimental.stateless_fold_in(seed, "
        "tf.distribute.get_replica_context().replica_id_in_sync_group), or a tf.random.Generator made under "
        "strategy.scope(); a parity check then expects rounding-level agreement only with dropout off (or "
        "replica r applying rows r of the global batch's mask), and statistics (accuracy) otherwise"
    ),
    measure=measure_dropout_seed,
)
