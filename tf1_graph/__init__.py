"""TF1 graph style (placeholders, Session, feed_dict), run through tf.compat.v1; `in_graph` is its tuned idiom."""

from tfparity.tf1_graph.graph_style import STYLE, train

__all__ = ["STYLE", "train"]
