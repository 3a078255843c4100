"""What the converted code imports from the installed TensorFlow: each bound name, whether it resolves.

One pass of `ast` binds every name imported from TensorFlow, checking that the import works in
the installed TensorFlow (a failed import is a finding of its own); `resolve_chain` then says
whether a `tf.` attribute chain exists there. The versions the report names come from here too.
"""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
import os
import types
from dataclasses import dataclass, field
from typing import Any

from tfparity.benchmarks.upgrade_fixes import tutorial_reader_edit
from tfparity.benchmarks.upgrade_tables import REMOVED_MODULES, Finding

# --- names: what each imported name is bound to --------------------------------------------


@dataclass(frozen=True)
class Binding:
    """A name bound by an import: `import_path` is imported, then `attr` taken from it (if any)."""

    canonical: str  # "tf.compat.v1" for `import tensorflow.compat.v1 as tf`
    import_path: str
    attr: str | None = None


def canonical_of(module_path: str) -> str:
    """`tensorflow.compat.v1` -> `tf.compat.v1` (the spelling users write and the tables use)."""
    return "tf" + module_path[len("tensorflow") :] if module_path.split(".")[0] == "tensorflow" else module_path


def is_tensorflow(module_path: str) -> bool:
    top = module_path.split(".")[0]
    return top in ("tensorflow", "tensorflow_estimator")


@dataclass
class Imports:
    bindings: dict[str, Binding] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    last_tf_import: ast.stmt | None = None  # the module-level import the eager fix goes after
    last_import: ast.stmt | None = None
    # Without one: the first TensorFlow import in a block (`try:`, a function), where the fix goes instead
    nested_tf_import: ast.stmt | None = None


def collect_imports(tree: ast.Module) -> Imports:
    """Bind every name imported from TensorFlow, and report the imports that fail (their names stay
    unbound, so a failed `from tensorflow.contrib import slim` is one finding, not one per `slim.` use)."""
    found = Imports()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if not is_tensorflow(alias.name):
                    continue
                bound = alias.asname or alias.name.split(".")[0]
                path = alias.name if alias.asname else bound
                _bind(found, node, bound, Binding(canonical_of(path), path), alias.name)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and is_tensorflow(node.module):
            for alias in node.names:
                if alias.name == "*":
                    continue
                bound = alias.asname or alias.name
                _bind(
                    found,
                    node,
                    bound,
                    Binding(canonical_of(f"{node.module}.{alias.name}"), node.module, alias.name),
                    f"{node.module}.{alias.name}",
                )

    def binds_tf(node: ast.Import | ast.ImportFrom) -> bool:
        bound = [a.asname or a.name.split(".")[0] for a in node.names]
        return any(found.bindings.get(name, Binding("", "")).canonical in ("tf", "tf.compat.v1") for name in bound)

    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.last_import = node
            if binds_tf(node):
                found.last_tf_import = node
    nested = [
        n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom)) and n not in tree.body and binds_tf(n)
    ]
    found.nested_tf_import = min(nested, key=lambda n: n.lineno, default=None)
    return found


def _bind(found: Imports, node: ast.Import | ast.ImportFrom, name: str, binding: Binding, written: str) -> None:
    error = import_error(binding)
    if error is None:
        found.bindings[name] = binding
        return
    module = next((m for m in REMOVED_MODULES if written == m or written.startswith(m + ".")), None)
    fix = REMOVED_MODULES[module] if module else f"remove it or find its TF2 replacement ({error})"
    gone = f"{module or written} is not in TensorFlow {tf_version()}"
    found.findings.append(
        Finding(
            line=node.lineno,
            kind="removed-import",
            symbol=written,
            problem=error,
            fix=fix,
            edit=tutorial_reader_edit(node, name, written),
            cause=gone,
        )
    )


@functools.cache
def import_error(binding: Binding) -> str | None:
    """Why importing `binding` fails at run time (Python's own semantics), or None."""
    try:
        import_bound(binding)
    except Exception as exc:  # ImportError, and whatever a lazy loader raises
        return f"{type(exc).__name__}: {exc}"
    return None


def import_bound(binding: Binding) -> Any:
    module = importlib.import_module(binding.import_path)
    if binding.attr is None:
        return module
    try:  # `from a.b import c`: an attribute of a.b, else the submodule a.b.c
        return getattr(module, binding.attr)
    except AttributeError:
        return importlib.import_module(f"{binding.import_path}.{binding.attr}")


@functools.cache
def resolve_chain(binding: Binding, rest: tuple[str, ...]) -> str | None:
    """Why `binding.rest...` fails on attribute access in the installed TensorFlow, or None.

    Access is followed through modules and classes only: past a function or an instance
    (`FLAGS.data_dir`), what an attribute holds depends on run-time state, not on the install.
    """
    obj = import_bound(binding)
    for part in rest:
        if not isinstance(obj, (types.ModuleType, type)):
            return None
        try:
            obj = getattr(obj, part)
        except Exception as exc:  # TensorFlow's lazy loaders raise AttributeError with their own message
            return f"{type(exc).__name__}: {exc}"
    return None


# --- versions -------------------------------------------------------------------------------


def tf_version() -> str:
    import tensorflow as tf

    return tf.__version__


def keras_version() -> str:
    import keras

    return keras.__version__


def keras_major() -> int:
    return int(keras_version().split(".")[0])


def legacy_keras() -> bool:
    """TF_USE_LEGACY_KERAS routes tf.keras and tf.compat.v1.layers to tf_keras (Keras 2)."""
    return os.environ.get("TF_USE_LEGACY_KERAS", "").lower() in ("1", "true", "yes")


def tensorboard_installed() -> bool:
    """TF2's tf.summary ops are TensorBoard's: without it each raises TBNotInstalledError."""
    return importlib.util.find_spec("tensorboard") is not None
