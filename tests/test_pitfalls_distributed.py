"""Issue 19's pitfalls of data-parallel training: a batch size left per replica, an unscaled L2 term, dropout's seed.

Each experiment runs once per session (the `measured` fixture in conftest.py), in a child process
whose CPU is split into two logical devices; the claims are the entry's own (`tests/test_pitfalls.py`
checks the catalogue as a whole).
"""

from __future__ import annotations

import pytest
from test_pitfalls import assert_claims


@pytest.mark.slow
def test_measured_in_a_child_even_after_this_process_started_tensorflow(measured):
    import tensorflow as tf

    assert len(tf.config.list_logical_devices("CPU")) == 1  # the runtime is up: its devices are fixed now
    m = measured("mirrored-global-batch")
    assert m.numbers["replicas"] == 2 and len(m.numbers["rows_per_replica_batched_global"]) == 2
    assert len(tf.config.list_logical_devices("CPU")) == 1  # split in the child, never here


@pytest.mark.slow
def test_per_tower_batch_and_per_replica_mean_train_other_single_device_runs(measured):
    m = measured("mirrored-global-batch")
    n = m.numbers
    assert (n["tf1_batch_per_tower"], n["tf1_examples_per_step"]) == (50, 100)
    assert n["rows_per_replica_batched_per_tower"] == [25, 25]  # the per-tower 50 read as the global batch
    assert n["rows_per_replica_batched_global"] == [50, 50]
    assert n["max_abs_dw_batched_global_vs_one_device"] <= 1e-6
    assert n["max_abs_dw_batched_per_tower_vs_one_device_at_per_tower_batch"] <= 1e-6  # one device at batch 50
    assert n["max_abs_dw_batched_per_tower_vs_one_device"] > 1e-2  # about 0.09 after 50 steps
    assert n["max_abs_dw_per_replica_mean_vs_one_device_at_lr_x_n"] <= 1e-6  # exactly lr x 2 for SGD
    assert n["max_abs_dw_per_replica_mean_vs_one_device"] > 1e-2  # about 0.19
    assert_claims(m)


@pytest.mark.slow
def test_unscaled_l2_term_is_one_device_at_n_times_beta(measured):
    m = measured("mirrored-l2-unscaled")
    n = m.numbers
    ratio = n["regularisation_gradient_vs_one_device"]
    assert ratio["unscaled"] == pytest.approx(2.0, abs=1e-6) and ratio["scaled"] == pytest.approx(1.0, abs=1e-6)
    assert n["max_abs_dw_scaled_vs_one_device"] <= 1e-6
    assert n["max_abs_dw_unscaled_vs_one_device_at_n_beta"] <= 1e-6
    assert n["max_abs_dw_unscaled_vs_one_device"] > 5e-3  # about 0.025 with weights up to 0.3
    assert_claims(m)


@pytest.mark.slow
def test_dropout_seeded_as_on_one_device_repeats_the_mask_on_every_replica(measured):
    m = measured("mirrored-dropout-seed")
    n = m.numbers
    masks, dw = n["masks_at_step_0"], n["max_abs_dw_vs_one_device"]
    assert n["independent_mask_agreement"] == pytest.approx(0.68)  # rate 0.2: 0.8^2 + 0.2^2
    same = masks["same_seed"]
    assert same["replicas_agree"] == 1.0 and masks["stateful_op_seed"]["replicas_agree"] == 1.0
    # the stateless seed on half the rows: replica 0 draws one device's first rows, replica 1 draws them again
    assert same["agree_with_one_device_rows"][0] == 1.0 and same["agree_with_one_device_rows"][1] < 0.8
    for own_stream in ("per_replica_seed", "generator_in_scope"):
        assert masks[own_stream]["replicas_agree"] == pytest.approx(0.68, abs=0.05)
    for mask in masks.values():
        assert all(kept == pytest.approx(0.8, abs=0.03) for kept in mask["kept_fraction"])  # the rate holds
    assert min(dw["same_seed"], dw["per_replica_seed"]) > 1e-2  # 0.03 or so after 50 steps
    assert dw["global_mask_rows"] <= 1e-6
    assert_claims(m)
