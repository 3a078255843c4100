"""Your own models as checkpoint holders, from factories named `path/to/file.py:FACTORY` (as `tfparity parity`'s).

A TF1 side is a graph builder: called inside a fresh `tf.Graph`, it returns a `compat.parity.TF1Graph`
(its `inputs` and `outputs` at least; `variables` defaults to the graph's trainable ones), so the
same function that built the graph your `Saver` wrote can be named here. A TF2 side returns a
`keras.Model` (written as `.weights.h5`; its compiled optimizer's state is carried where it can be)
or a `tf.Module` whose `__call__` is its forward pass (written by `tf.train.Checkpoint`).
"""

from __future__ import annotations

from tfparity.benchmarks.errors import UsageError
from tfparity.benchmarks.parity_target import load_factory
from tfparity.compat.checkpoints.holders import KerasHolder, ModuleHolder, TF1Holder


def holder(target: str, format: str, role: str = "--target-model"):
    """A fresh holder of the factory's model, in `format` ("tf1", "tf2" or "keras"); every failure a
    UsageError that names the flag (`role`) and the factory."""
    try:
        return _holder(target, format)
    except UsageError as exc:
        raise UsageError(str(exc).replace(f"target {target}", f"{role} {target}", 1)) from None
    except (TypeError, AttributeError) as exc:
        raise UsageError(f"{role} {target}: {exc}") from None


def _holder(target: str, format: str):
    factory = load_factory(target)
    if format == "tf1":
        return TF1Holder(factory)
    import keras
    import tensorflow as tf

    model = factory()
    if format == "keras":
        if not isinstance(model, keras.Model):
            raise UsageError(f"target {target}: a Keras weights file needs a keras.Model, got {type(model).__name__}")
        if getattr(model, "optimizer", None) is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        return KerasHolder(model)
    if isinstance(model, keras.Model):
        raise UsageError(f"target {target}: a keras.Model is saved as .weights.h5 (keras), a tf.Module as tf2")
    if not isinstance(model, tf.Module) or not callable(model):
        raise UsageError(
            f"target {target}: a TF2 checkpoint needs a tf.Module with __call__, got {type(model).__name__}"
        )
    return ModuleHolder(model, model)
