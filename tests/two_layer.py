"""A small two-layer classifier written both ways, for the compat.parity tests.

`build_tf1` is TF1 code through `tf.compat.v1` (placeholders, `get_variable`, matmul, relu,
softmax cross-entropy, a `tf.compat.v1.train` optimizer); `make_keras` is its Keras 3
counterpart. `make_keras(bug=...)` plants one migration bug at a time on the TF2 side.

Both sides initialize their kernels with the same seeded Keras 3 initializer: it draws with
stateless ops, so it gives the same numbers inside the TF1 graph and in the Keras layer.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from tfparity.compat import parity

HIDDEN = 64
NUM_CLASSES = 10
BUGS = ("wrong_initializer", "transposed_kernel", "sum_loss", "adam_epsilon")


def build_tf1(optimizer: str = "sgd", learning_rate: float = 0.1, features: int = 784) -> parity.TF1Graph:
    x = tf.compat.v1.placeholder(tf.float32, [None, features], name="x")
    y = tf.compat.v1.placeholder(tf.float32, [None, NUM_CLASSES], name="y")
    with tf.compat.v1.variable_scope("hidden"):
        w1 = tf.compat.v1.get_variable(
            "kernel", [features, HIDDEN], initializer=keras.initializers.GlorotUniform(seed=1)
        )
        b1 = tf.compat.v1.get_variable("bias", [HIDDEN], initializer=tf.compat.v1.zeros_initializer())
    with tf.compat.v1.variable_scope("logits"):
        w2 = tf.compat.v1.get_variable(
            "kernel", [HIDDEN, NUM_CLASSES], initializer=keras.initializers.GlorotUniform(seed=2)
        )
        b2 = tf.compat.v1.get_variable("bias", [NUM_CLASSES], initializer=tf.compat.v1.zeros_initializer())
    logits = tf.matmul(tf.nn.relu(tf.matmul(x, w1) + b1), w2) + b2
    loss = tf.reduce_mean(tf.compat.v1.nn.softmax_cross_entropy_with_logits_v2(labels=y, logits=logits))
    if optimizer == "adam":  # TF1's AdamOptimizer: epsilon defaults to 1e-8
        opt = tf.compat.v1.train.AdamOptimizer(learning_rate, epsilon=1e-8)
    else:
        opt = tf.compat.v1.train.GradientDescentOptimizer(learning_rate)
    return parity.TF1Graph(inputs=x, labels=y, outputs=logits, loss=loss, train_op=opt.minimize(loss))


class TransposedDense(keras.layers.Layer):
    """A Dense layer that stores its kernel as (units, inputs): the planted 'transposed kernel'."""

    def __init__(self, units: int, kernel_initializer, **kwargs):
        super().__init__(**kwargs)
        self.units, self.kernel_initializer = units, kernel_initializer

    def build(self, input_shape):
        self.kernel = self.add_weight(
            shape=(self.units, input_shape[-1]), initializer=self.kernel_initializer, name="kernel"
        )
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")

    def call(self, inputs):
        return tf.nn.relu(tf.matmul(inputs, self.kernel, transpose_b=True) + self.bias)


def make_keras(
    optimizer: str = "sgd", learning_rate: float = 0.1, features: int = 784, bug: str | None = None
) -> keras.Model:
    if bug is not None and bug not in BUGS:
        raise ValueError(f"unknown bug {bug!r}; choose from {BUGS}")
    hidden_init = (
        keras.initializers.HeNormal(seed=1) if bug == "wrong_initializer" else keras.initializers.GlorotUniform(seed=1)
    )
    if bug == "transposed_kernel":
        hidden = TransposedDense(HIDDEN, hidden_init, name="hidden")
    else:
        hidden = keras.layers.Dense(HIDDEN, activation="relu", kernel_initializer=hidden_init, name="hidden")
    model = keras.Sequential(
        [
            keras.Input((features,)),
            hidden,
            keras.layers.Dense(NUM_CLASSES, kernel_initializer=keras.initializers.GlorotUniform(seed=2), name="logits"),
        ],
        name="two_layer",
    )
    if optimizer == "adam":  # Keras' Adam defaults epsilon to 1e-7: state TF1's 1e-8
        opt = keras.optimizers.Adam(learning_rate, epsilon=1e-7 if bug == "adam_epsilon" else 1e-8)
    else:
        opt = keras.optimizers.SGD(learning_rate)
    reduction = "sum" if bug == "sum_loss" else "sum_over_batch_size"
    model.compile(optimizer=opt, loss=keras.losses.CategoricalCrossentropy(from_logits=True, reduction=reduction))
    return model


def keras_names(name: str) -> str:
    """'two_layer/hidden/kernel' (Keras 3 variable path) -> 'hidden/kernel' (TF1 variable scope)."""
    return name.split("/", 1)[1]


def sides(optimizer: str = "sgd", learning_rate: float = 0.1, bug: str | None = None, features: int = 784):
    tf1 = parity.TF1GraphSide(lambda: build_tf1(optimizer, learning_rate, features), name="tf1")
    tf2 = parity.TF2Side(
        lambda: make_keras(optimizer, learning_rate, features, bug),
        name=f"keras{'+' + bug if bug else ''}",
        name_map=keras_names,
    )
    return tf1, tf2


def case_sum_loss():
    """The pair with the planted `sum_loss` bug, as a ParityCase (what `tfparity parity` exits 1 on)."""
    from tfparity.compat.parity.case import ParityCase

    reference, candidate = sides(bug="sum_loss")
    return ParityCase(reference, candidate, name="sum_loss")
