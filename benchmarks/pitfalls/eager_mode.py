"""`tf.compat.v1.disable_eager_execution()` is process-global.

Measured in child processes only: once called, eager mode stays off for the rest of the
process, so calling it here would break every later experiment (and test) in this one.
Run as `python -m tfparity.benchmarks.pitfalls.eager_mode {global|private} DATA_PATH STEPS`.
"""

from __future__ import annotations

import sys

from tfparity.benchmarks.pitfalls.core import (
    DataLoader,
    Measurement,
    Pitfall,
    data_arg,
    load_child_data,
    print_child_result,
    run_child,
)

CHILD_STEPS = 20
MODES = ("global", "private")


def child(mode: str, data_path: str, steps: int) -> dict:
    """Train TF1 first, then the three TF2 styles, in this one process; report what each did."""
    import tensorflow as tf

    from tfparity.benchmarks.idioms import REFERENCE, STYLES
    from tfparity.benchmarks.pitfalls.training import max_weight_diff
    from tfparity.compat import TrainConfig

    mnist = load_child_data("mnist", data_path)
    if mode == "global":
        tf.compat.v1.disable_eager_execution()  # the TF1 migration guide's first line
    config = TrainConfig(steps=steps)
    reference = STYLES[REFERENCE](mnist, config)  # graph_style: a private tf.Graph either way
    styles = {REFERENCE: {"ok": True, "test_accuracy": reference.test_accuracy, "max_abs_dw_vs_tf1": 0.0}}
    for name, train in STYLES.items():
        if name == REFERENCE:
            continue
        try:
            run = train(mnist, config)
            styles[name] = {
                "ok": True,
                "test_accuracy": run.test_accuracy,
                "max_abs_dw_vs_tf1": max_weight_diff(reference, run),
            }
        except Exception as exc:  # the failure is the measurement
            styles[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}".splitlines()[0][:200]}
    return {"mode": mode, "executing_eagerly": tf.executing_eagerly(), "styles": styles}


def measure_disable_eager(data: DataLoader) -> Measurement:
    path = data_arg(data("mnist"))
    runs = {mode: run_child(__name__, [mode, path, str(CHILD_STEPS)]) for mode in MODES}
    broken = sorted(n for n, r in runs["global"]["styles"].items() if not r["ok"])
    private_ok = all(r["ok"] for r in runs["private"]["styles"].values())
    private_dw = max(
        (r["max_abs_dw_vs_tf1"] for r in runs["private"]["styles"].values() if r["ok"]), default=float("nan")
    )
    errors = {n: runs["global"]["styles"][n]["error"] for n in broken}
    return Measurement(
        effect=(
            f"after disable_eager_execution(): {len(broken)} of 3 TF2 styles fail "
            f"({'; '.join(f'{n}: {e}' for n, e in errors.items())}); "
            f"private tf.Graph: all 4 train, max |dW| vs TF1 {private_dw:.1e}"
        ),
        checks={
            "disable_eager_execution() turns eager off for the whole process": not runs["global"]["executing_eagerly"],
            "every TF2 style run after it fails": broken
            == sorted(n for n in runs["global"]["styles"] if n != "tf1_graph"),
            "TF1 graph code still trains after it": runs["global"]["styles"]["tf1_graph"]["ok"],
            "with a private tf.Graph all four styles train in one process and agree (max |dW| <= 1e-5)": (
                private_ok and runs["private"]["executing_eagerly"] and private_dw <= 1e-5
            ),
        },
        numbers={"steps": CHILD_STEPS, "children": runs},
    )


DISABLE_EAGER = Pitfall(
    id="disable-eager",
    title="tf.compat.v1.disable_eager_execution() is process-global",
    tf1="tf.compat.v1.disable_eager_execution()  # then placeholders and Session.run",
    tf2="with tf.Graph().as_default() as g: ...; tf.compat.v1.Session(graph=g)",
    differs=(
        "both let TF1 graph code run, but disable_eager_execution() switches eager off for every later line in "
        "the process: GradientTape, tf.function and keras.fit code then fails"
    ),
    fix=(
        "build TF1 code in a private tf.Graph run by Session(graph=g) (as tf1_graph/graph_style.py does); never call "
        "disable_eager_execution() in a process that also runs TF2 code"
    ),
    measure=measure_disable_eager,
)


if __name__ == "__main__":
    print_child_result(child(sys.argv[1], sys.argv[2], int(sys.argv[3])))
