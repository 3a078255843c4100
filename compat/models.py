"""The models tfparity writes in every style: their variables, the run each reproduces, its published result.

One source for these facts: `TrainConfig.model` names a row, `initial_weights` draws the row's
variables, the styles' registry (`benchmarks.idioms`) finds the row's modules, and the commands'
`--model` lists the rows. Variables are named as the TF1 code names them, in creation order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

NUM_FEATURES = 784
NUM_CLASSES = 10


@dataclass(frozen=True)
class ModelSpec:
    name: str
    what: str  # one line
    shapes: dict[str, tuple[int, ...]]  # variable name -> shape, in creation order
    optimizers: tuple[str, ...]  # what its styles train it with
    reference: dict[str, Any] = field(default_factory=dict)  # TrainConfig fields of the run it reproduces
    published: str = ""  # the result that run reproduces, and where it was published


MODELS: dict[str, ModelSpec] = {
    "softmax": ModelSpec(
        "softmax",
        "softmax regression, 784 -> 10 (TensorFlow's 'MNIST for ML beginners')",
        {"W": (NUM_FEATURES, NUM_CLASSES), "b": (NUM_CLASSES,)},
        ("sgd", "adam"),
        published="test accuracy 0.9177 after 1,000 steps of SGD 0.5 at batch 100 (the tutorial's 'about 92%')",
    ),
    "mlp": ModelSpec(
        "mlp",
        "Dense(512, relu) -> Dense(10, softmax), RMSprop (Keras' 'first look at a neural network')",
        {
            "hidden/kernel": (NUM_FEATURES, 512),
            "hidden/bias": (512,),
            "output/kernel": (512, NUM_CLASSES),
            "output/bias": (NUM_CLASSES,),
        },
        ("rmsprop", "adam", "sgd"),
        reference={
            "optimizer": "rmsprop",
            "learning_rate": 0.001,
            "batch_size": 128,
            "steps": 2345,  # 5 epochs of 60,000 at batch 128
            "init": "glorot_uniform",
        },
        published="test accuracy 0.98 after 5 epochs (Chollet, Deep Learning with Python, section 2.1)",
    ),
}


def model_spec(name: str) -> ModelSpec:
    """The row `name`; an unknown name is a ValueError listing the models."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose from {list(MODELS)}")
    return MODELS[name]
