"""float32 sensitivity: whether a 1-ulp difference stays put or grows depends on the problem.

The check a user can run on their own problem: train twice from initial weights that differ
by `PERTURBATION` and watch the gap. The analysis is `compat.parity.estimate_growth` (the
parity checker's own 1-ulp growth estimate): "stable" when the perturbed twin stays within
the guide's tolerance, so a tight absolute parity tolerance means something there;
"sensitive" when it leaves it, so compare losses or accuracy (or run in float64) instead.
"""

from __future__ import annotations

import math

import numpy as np

from tfparity.benchmarks.pitfalls.core import DataLoader, Measurement, Pitfall
from tfparity.benchmarks.pitfalls.training import plan_batches, train_function_on
from tfparity.compat import Datasets, TrainConfig, initial_weights
from tfparity.compat.parity import GUIDE_TOLERANCE, GrowthEstimate, estimate_growth

PERTURBATION = 1e-7  # about one float32 ulp of weights near 1
SENSITIVITY_STEPS = 50


def perturbation_growth(
    data: Datasets, config: TrainConfig, perturbation: float = PERTURBATION, seed: int = 1
) -> GrowthEstimate:
    """Train twice (tf.function style, the shared batch plan), W differing by +-`perturbation`; how the gap grows."""
    start = initial_weights(config)
    signs = np.random.default_rng(seed).choice([-1.0, 1.0], size=start["W"].shape)
    nudged = {**start, "W": (start["W"] + perturbation * signs).astype(np.float32)}
    reference, twin = (
        train_function_on(data, config, plan_batches(data, config), init=init, record_trajectory=True).extra[
            "trajectory"
        ]
        for init in (start, nudged)
    )
    return estimate_growth(reference, twin, GUIDE_TOLERANCE)


def regime(growth: GrowthEstimate) -> str:
    return "sensitive" if growth.sensitive else "stable"


def growth_text(growth_per_step: float) -> str:
    """The fitted growth per step, or why there is none (too few steps above rounding to fit a line)."""
    if not math.isfinite(growth_per_step):
        return "no growth above rounding to fit"
    return f"x{growth_per_step:.3g}/step"


def measure_float32_sensitivity(data: DataLoader) -> Measurement:
    config = TrainConfig(steps=SENSITIVITY_STEPS, learning_rate=0.5)
    growth = {name: perturbation_growth(data(name), config) for name in ("mnist", "fashion_mnist")}
    numbers = {
        name: {
            "final_gap": g.weight_divergence[-1],
            "max_gap": max(g.weight_divergence),
            "amplification": g.amplification,
            "growth_per_step": g.growth_per_step,
            "leaves_tolerance_at": g.beyond_tolerance_at,
            "regime": regime(g),
            "gaps_every_10_steps": g.weight_divergence[::10],
        }
        for name, g in growth.items()
    }
    numbers.update(
        perturbation=PERTURBATION,
        steps=SENSITIVITY_STEPS,
        learning_rate=config.learning_rate,
        tolerance=str(GUIDE_TOLERANCE),
    )
    mnist, fashion = numbers["mnist"], numbers["fashion_mnist"]
    return Measurement(
        effect=(
            f"a {PERTURBATION:g} nudge after {SENSITIVITY_STEPS} SGD 0.5 steps: Fashion-MNIST {fashion['max_gap']:.1e} "
            f"({growth_text(fashion['growth_per_step'])}, {fashion['regime']}), MNIST {mnist['max_gap']:.1e} "
            f"({growth_text(mnist['growth_per_step'])}, {mnist['regime']})"
        ),
        checks={
            f"Fashion-MNIST: the gap grows to >= 1e-2 within {SENSITIVITY_STEPS} steps (about 1e-1)": fashion["max_gap"]
            >= 1e-2,
            f"MNIST: the gap stays < 1e-6 for {SENSITIVITY_STEPS} steps": mnist["max_gap"] < 1e-6,
            f"the growth estimate tells the regimes apart at the guide's tolerance ({GUIDE_TOLERANCE})": (
                fashion["regime"] == "sensitive" and mnist["regime"] == "stable"
            ),
        },
        numbers=numbers,
    )


FLOAT32_SENSITIVITY = Pitfall(
    id="float32-sensitivity",
    title="float32 sensitivity: a 1e-7 difference stays on MNIST, grows to 1e-1 on Fashion-MNIST",
    tf1="np.testing.assert_allclose(W_tf1, W_tf2, atol=1e-6)  # MNIST, SGD 0.5: passes",
    tf2="np.testing.assert_allclose(W_tf1, W_tf2, atol=1e-6)  # Fashion-MNIST, SGD 0.5: fails",
    differs=(
        "rounding differences of one ulp are amplified step after step on a sensitive problem; a tolerance that "
        "proves parity on one data set is meaningless on another"
    ),
    fix=(
        "measure the regime first: perturb the initial weights by 1e-7, train both, estimate the growth "
        "(compat.parity.estimate_growth; check_parity does it for you); on a sensitive problem compare "
        "losses/accuracy or run in float64"
    ),
    measure=measure_float32_sensitivity,
)
