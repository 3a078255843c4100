"""The rounding family and its envelope on made-up runs: what S(k), the margin and the first crossing are."""

from __future__ import annotations

import numpy as np
import pytest

from tfparity.compat import parity

STEPS = 6
TOL = parity.Tolerance(rtol=0, atol=1e-6)


def run(offsets: list[float], loss_offsets: list[float] | None = None) -> parity.Trajectory:
    """A two-variable run whose weights sit `offsets[k]` away from the origin run at step k."""
    losses = np.ones(STEPS) + np.asarray(loss_offsets if loss_offsets is not None else np.zeros(STEPS))
    weights = {
        k: {"w": np.full((2, 2), offsets[k], np.float32), "b": np.zeros(2, np.float32)} for k in range(STEPS + 1)
    }
    return parity.Trajectory(losses, weights)


ORIGIN = run([0.0] * (STEPS + 1))
SPREAD = [0.0, 1e-5, 2e-5, 4e-5, 8e-5, 1.6e-4, 3.2e-4]  # how far the farthest twin drifts, step by step


def family() -> list[parity.Trajectory]:
    return [run([s * f for s in SPREAD]) for f in (0.5, -0.5, 1.0)]  # the widest pair: 1.5x SPREAD apart


def judge(candidate: parity.Trajectory, factor: float = 10.0) -> parity.Envelope:
    growth = parity.estimate_growth(ORIGIN, family(), TOL)
    trajectory = parity.compare_trajectories(ORIGIN, candidate, TOL, TOL, record_every=1)
    return parity.apply_sensitivity_rule(trajectory, growth, ORIGIN, candidate, TOL, TOL, factor)


def test_the_spread_is_the_widest_pair_of_the_family_at_each_step():
    growth = parity.estimate_growth(ORIGIN, family(), TOL)
    np.testing.assert_allclose(growth.weight_divergence, [1.5 * s for s in SPREAD], rtol=1e-6)
    np.testing.assert_allclose(growth.weight_low, [0.5 * s for s in SPREAD], rtol=1e-6)  # the closest pair
    assert growth.twins == 3 and growth.pairs == 6
    assert growth.beyond_tolerance_at == 1  # the first step a twin leaves atol 1e-6


def test_a_candidate_inside_the_envelope_is_explained_with_its_margin():
    envelope = judge(run([s * 5 for s in SPREAD]))  # 5x the origin's drift: 3.33x the spread, K = 10
    assert envelope.explains and envelope.first_crossing is None
    assert envelope.margin.ratio == pytest.approx(5 / 1.5 / 10, rel=1e-5) and envelope.margin.against == "envelope"
    assert envelope.margin.where == "w"


def test_a_candidate_above_the_envelope_crosses_it_at_the_first_step_it_does():
    drift = [0.0, 1e-5, 2e-5, 4e-5, 8e-5 * 40, 1.6e-4 * 40, 3.2e-4 * 40]  # within until step 3, 40x from step 4
    envelope = judge(run(drift))
    assert not envelope.explains
    assert envelope.first_crossing.step == 4 and envelope.first_crossing.ratio == pytest.approx(40 / 15, rel=1e-5)
    assert envelope.weight_violation.step == 4 and envelope.weight_violation.where == "w"
    assert judge(run(drift), factor=100.0).explains  # K = 100 explains the same run: the factor is the rule


def test_a_loss_beyond_its_envelope_is_a_crossing_too():
    candidate = run([0.0] * (STEPS + 1), loss_offsets=[0, 0, 0.5, 0, 0, 0])  # the weights agree, one loss does not
    envelope = judge(candidate)
    assert envelope.first_crossing.where == "loss" and envelope.first_crossing.step == 2
    assert envelope.loss_violation.step == 2 and envelope.weight_violation is None


def test_twins_move_each_input_by_one_ulp_and_leave_zeros_alone():
    x = np.array([[0.0, 0.5, 3.0], [1e-3, 0.0, -2.0]], np.float32)
    y = np.eye(2, dtype=np.float32)
    moved = parity.perturb_inputs([(x, y)], seed=1)[0]
    assert moved[1] is y and moved[0].dtype == np.float32
    np.testing.assert_array_equal(np.abs(moved[0] - x), np.where(x == 0, 0, np.abs(np.spacing(x))))
    np.testing.assert_array_equal(moved[0], parity.perturb_inputs([(x, y)], seed=1)[0][0])  # seeded
    assert not np.array_equal(moved[0], parity.perturb_inputs([(x, y)], seed=2)[0][0])
    plan = parity.planned_batches(x, y, batch_size=1, steps=3, seed=0)
    moved_plan = parity.perturb_inputs(plan, seed=1)
    assert isinstance(moved_plan, parity.PlannedBatches)  # keras.fit feeds a plan to tf.data
    for (moved_x, moved_y), (x_k, y_k) in zip(moved_plan, plan):
        np.testing.assert_array_equal(moved_y, y_k)
        np.testing.assert_array_equal(np.abs(moved_x - x_k), np.where(x_k == 0, 0, np.abs(np.spacing(x_k))))
    np.testing.assert_array_equal(moved_plan[0][0], moved_plan[2][0])  # each example moved once, wherever it recurs
