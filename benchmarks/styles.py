"""The registry of styles: name -> `train(data, config) -> RunResult`.

The only module that imports every style; everything that runs "all four" goes through it.
"""

from __future__ import annotations

from typing import Callable, Iterable

from tfparity.compat import Datasets, RunResult, TrainConfig
from tfparity.tf1_graph import graph_style
from tfparity.tf2_eager import eager_style, function_style, keras_style

TrainFn = Callable[[Datasets, TrainConfig], RunResult]

STYLES: dict[str, TrainFn] = {
    graph_style.STYLE: graph_style.train,
    eager_style.STYLE: eager_style.train,
    function_style.STYLE: function_style.train,
    keras_style.STYLE: keras_style.train,
}
MODULES = {
    graph_style.STYLE: graph_style,
    eager_style.STYLE: eager_style,
    function_style.STYLE: function_style,
    keras_style.STYLE: keras_style,
}
REFERENCE = graph_style.STYLE


def select(names: Iterable[str] | None) -> list[str]:
    """Validate style names (None: all, in registry order)."""
    if not names:
        return list(STYLES)
    unknown = [n for n in names if n not in STYLES]
    if unknown:
        raise ValueError(f"unknown style(s) {unknown}; choose from {list(STYLES)}")
    return list(names)
