"""A TF1 script tfparity did not write: the tutorials' two-layer network, unnamed variables, saved by `Saver`.

Its variables are `Variable`, `Variable_1`, `Variable_2`, `Variable_3` (TF1's names for unnamed
variables, numbered in creation order), as countless TF1 tutorials left them. `save` trains it a
few steps and writes a `Saver` checkpoint (with its meta graph and `checkpoint` state file, as
scripts did); `build` is its graph, for verification; `make_keras` and `make_module` are the TF2
models its weights move into, with `two_layer_map.json` beside this file pairing the names.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tfparity.compat import parity

HIDDEN = 100
MAP_FILE = Path(__file__).with_name("fixtures") / "two_layer_map.json"


def build() -> parity.TF1Graph:
    x = tf.compat.v1.placeholder(tf.float32, [None, 784])
    y_ = tf.compat.v1.placeholder(tf.float32, [None, 10])
    W1 = tf.compat.v1.Variable(tf.compat.v1.truncated_normal([784, HIDDEN], stddev=0.1, seed=1))
    b1 = tf.compat.v1.Variable(tf.constant(0.1, shape=[HIDDEN]))
    W2 = tf.compat.v1.Variable(tf.compat.v1.truncated_normal([HIDDEN, 10], stddev=0.1, seed=2))
    b2 = tf.compat.v1.Variable(tf.constant(0.1, shape=[10]))
    y = tf.matmul(tf.nn.relu(tf.matmul(x, W1) + b1), W2) + b2
    loss = tf.reduce_mean(tf.compat.v1.nn.softmax_cross_entropy_with_logits_v2(labels=y_, logits=y))
    train = tf.compat.v1.train.GradientDescentOptimizer(0.5).minimize(loss)
    return parity.TF1Graph(inputs=x, outputs=y, labels=y_, loss=loss, train_op=train)


def save(prefix: str, images: np.ndarray, labels: np.ndarray, steps: int = 20) -> str:
    """Train `steps` batches of 100 and save, as the script did; the path Saver returns."""
    graph = tf.Graph()
    with graph.as_default():
        g = build()
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            for step in range(steps):
                batch = slice(step * 100, (step + 1) * 100)
                sess.run(g.train_op, {g.inputs: images[batch], g.labels: labels[batch]})
            return saver.save(sess, prefix, global_step=steps)


def make_keras() -> keras.Model:
    return keras.Sequential(
        [
            keras.Input((784,)),
            keras.layers.Dense(HIDDEN, activation="relu", name="hidden"),
            keras.layers.Dense(10, name="logits"),
        ]
    )


class TwoLayer(tf.Module):
    """The TF2 guides' way: variables as attributes of a tf.Module, the forward pass its __call__ (named as
    the Keras model's are, so that one map file serves both)."""

    def __init__(self):
        super().__init__(name="two_layer")
        self.w1 = tf.Variable(tf.zeros([784, HIDDEN]), name="hidden/kernel")
        self.b1 = tf.Variable(tf.zeros([HIDDEN]), name="hidden/bias")
        self.w2 = tf.Variable(tf.zeros([HIDDEN, 10]), name="logits/kernel")
        self.b2 = tf.Variable(tf.zeros([10]), name="logits/bias")

    def __call__(self, x):
        return tf.matmul(tf.nn.relu(tf.matmul(x, self.w1) + self.b1), self.w2) + self.b2


def make_module() -> TwoLayer:
    return TwoLayer()


def make_keras_sigmoid() -> keras.Model:
    """A port with a bug the weights cannot show: sigmoid where the TF1 graph has relu."""
    return keras.Sequential(
        [
            keras.Input((784,)),
            keras.layers.Dense(HIDDEN, activation="sigmoid", name="hidden"),
            keras.layers.Dense(10, name="logits"),
        ]
    )


def build_renamed_adam() -> parity.TF1Graph:
    """The same network trained by an Adam named 'opt': its slots are saved as `Variable/opt`, `Variable/opt_1`."""
    g = build()
    train = tf.compat.v1.train.AdamOptimizer(0.01, beta1=0.5, name="opt").minimize(g.loss)
    return parity.TF1Graph(inputs=g.inputs, outputs=g.outputs, labels=g.labels, loss=g.loss, train_op=train)


class Unnamed(tf.Module):
    """The TF2 guides' tf.Module with variables named nothing: all four are TF2's 'Variable'."""

    def __init__(self):
        super().__init__()
        self.w1, self.b1 = tf.Variable(tf.zeros([784, HIDDEN])), tf.Variable(tf.zeros([HIDDEN]))
        self.w2, self.b2 = tf.Variable(tf.zeros([HIDDEN, 10])), tf.Variable(tf.zeros([10]))

    def __call__(self, x):
        return tf.matmul(tf.nn.relu(tf.matmul(x, self.w1) + self.b1), self.w2) + self.b2


def make_unnamed() -> Unnamed:
    return Unnamed()


def not_a_graph() -> int:
    return 3
