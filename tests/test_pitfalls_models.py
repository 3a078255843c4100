"""Issue 16's pitfalls, met when the tutorials' MLPs move to TF2: RMSprop's defaults, softmax twice, keep_prob.

Each experiment runs once per session (the `measured` fixture in conftest.py); the claims are the
entry's own (`tests/test_pitfalls.py` checks the catalogue as a whole).
"""

from __future__ import annotations

import math

import pytest
from test_pitfalls import assert_claims


@pytest.mark.slow
def test_rmsprop_defaults_drift_apart_and_tf1s_stated_in_keras_agree(measured):
    m = measured("rmsprop-defaults")
    n = m.numbers
    assert (n["tf1_accumulator_start"], n["keras_accumulator_start"]) == (1.0, 0.0)
    assert (n["tf1_default_epsilon"], n["keras_default_epsilon"]) == (1e-10, 1e-7)
    assert n["max_abs_dw_defaults"] > 1e-2 and n["max_abs_dw_stated"] <= 1e-4
    assert min(n["max_abs_dw_zeros_start_only"], n["max_abs_dw_keras_epsilon_only"]) >= 100 * n["max_abs_dw_stated"]
    assert abs(n["test_acc_keras_stated"] - n["test_acc_tf1"]) <= 1e-3
    assert_claims(m)


@pytest.mark.slow
def test_softmax_twice_is_repaired_by_keras_loss_and_silent_through_tf_nn(measured):
    m = measured("softmax-twice")
    n = m.numbers
    assert n["loss_floor_softmax_twice"] == pytest.approx(math.log(1 + 9 / math.e))
    assert n["fit_softmax_warnings"] > 0 and n["test_acc_fit_softmax"] == n["test_acc_fit_logits"]
    assert n["tf_nn_softmax_warnings"] == 0 and n["tf_nn_mean_loss_softmax"] > n["loss_floor_softmax_twice"]
    assert n["test_acc_tf_nn_logits"] - n["test_acc_tf_nn_softmax"] >= 0.01
    assert_claims(m)


@pytest.mark.slow
def test_keep_prob_passed_as_rate_drops_the_wrong_fraction(measured):
    m = measured("keep-prob-vs-rate")
    n = m.numbers
    assert n["tf1_kept_fraction"] == pytest.approx(0.8, abs=0.01)
    assert n["tf2_kept_fraction_same_number"] == pytest.approx(0.2, abs=0.01)
    assert n["tf2_kept_unit_value_same_number"] == pytest.approx(5.0)
    assert n["test_acc_rate_0.2"] - n["test_acc_rate_0.8"] >= 0.01
    assert_claims(m)
