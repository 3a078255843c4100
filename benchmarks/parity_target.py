"""`tfparity parity TARGET`: the user's own pair, from a factory named `path/to/file.py:FACTORY` or `module:FACTORY`.

The factory is called with no arguments and returns what `compat.parity.case.as_case` accepts.
A file is imported under a name of its own, with its folder on sys.path while it imports and
while the factory runs (so it can import its neighbours); a module is imported with the
current folder importable. Every failure is a `cli.UsageError`: one line, exit status 2, before
any data is loaded.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import inspect
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from tfparity.benchmarks import parity_sides
from tfparity.benchmarks.cli import UsageError
from tfparity.compat import Datasets, TrainConfig, parity
from tfparity.compat.parity.case import ACCEPTED, ParityCase, as_case

FORM = "PATH.py:FACTORY or MODULE:FACTORY (e.g. tests/two_layer.py:sides)"


def load_case(target: str) -> ParityCase:
    """Import the target, call its factory and check what it returns: every failure a UsageError."""
    where, name = split_target(target)
    if is_file(where):
        path = _existing_py(where, target)
        with importable(path.parent):
            return call_factory(find_factory(import_file(path, target), name, target), name, target)
    with importable(Path.cwd()):
        return call_factory(find_factory(import_module(where, target), name, target), name, target)


def load_factory(target: str) -> Callable[[], Any]:
    """The target's factory, called (with no arguments) with its folder importable; import failures: UsageError."""
    where, name = split_target(target)
    folder = _existing_py(where, target).parent if is_file(where) else Path.cwd()
    with importable(folder):
        module = import_file(folder / Path(where).name, target) if is_file(where) else import_module(where, target)
    factory = find_factory(module, name, target)

    def call() -> Any:
        with importable(folder):
            try:
                return factory()
            except Exception as exc:
                raise UsageError(f"target {target}: {name}() raised {raised(exc)}; fix the factory") from None

    return call


def split_target(target: str) -> tuple[str, str]:
    """'dir/pair.py:sides' -> ('dir/pair.py', 'sides'); split at the last ':' (a Windows drive keeps its own)."""
    where, colon, name = target.rpartition(":")
    if not colon or not where or not name:
        raise UsageError(f"target {target!r} is not of the form {FORM}: add ':' and the factory's name")
    if not name.isidentifier():
        raise UsageError(f"target {target}: {name!r} is not a Python name; after ':' name the factory function")
    return where, name


def is_file(where: str) -> bool:
    """A path (it ends in .py or has a folder separator) rather than a dotted module name."""
    return where.endswith(".py") or "/" in where or os.sep in where


def _existing_py(where: str, target: str) -> Path:
    path = Path(where)
    if path.suffix != ".py":
        raise UsageError(
            f"target {target}: {where} is not a .py file; name a Python file, or a module as MODULE:FACTORY"
        )
    if not path.is_file():
        raise UsageError(f"target {target}: no file {where} (from {Path.cwd()}); check the path")
    return path.resolve()


@contextlib.contextmanager
def importable(folder: Path) -> Iterator[None]:
    """`folder` first on sys.path for the duration, then sys.path as it was."""
    entry = str(folder)
    sys.path.insert(0, entry)
    try:
        yield
    finally:
        sys.path.remove(entry)


def import_file(path: Path, target: str) -> ModuleType:
    """Execute `path` as a fresh module named after it and its location (two files named alike never clash)."""
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:10]
    module_name = f"tfparity_target_{path.stem}_{digest}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses and pickling look their module up here
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:
        del sys.modules[module_name]
        raise UsageError(f"target {target}: importing {path.name} raised {raised(exc)}; fix that error") from None
    return module


def import_module(name: str, target: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and (name == exc.name or name.startswith(f"{exc.name}.")):
            raise UsageError(
                f"target {target}: no module named {exc.name} on sys.path or in the current folder ({Path.cwd()}); "
                "give a file path (path/to/file.py:FACTORY) or run from the folder that holds the module"
            ) from None
        raise UsageError(f"target {target}: importing {name} raised {raised(exc)}; fix that error") from None
    except (Exception, SystemExit) as exc:
        raise UsageError(f"target {target}: importing {name} raised {raised(exc)}; fix that error") from None


def find_factory(module: ModuleType, name: str, target: str) -> Callable[[], Any]:
    if not hasattr(module, name):
        found = public_callables(module)
        have = f"its public functions are {', '.join(found)}" if found else "it defines no public function"
        raise UsageError(f"target {target}: the module has no {name!r}; {have}")
    factory = getattr(module, name)
    if not callable(factory):
        raise UsageError(f"target {target}: {name} is {type(factory).__name__}, not callable; name a function")
    return factory


def public_callables(module: ModuleType) -> list[str]:
    """Functions and classes defined in `module` (not imported into it) whose names do not start with '_'."""
    return sorted(
        n
        for n, v in vars(module).items()
        if not n.startswith("_") and callable(v) and getattr(v, "__module__", None) == module.__name__
    )


def call_factory(factory: Callable[[], Any], name: str, target: str) -> ParityCase:
    """`factory()` as a ParityCase; a factory that needs arguments, raises, or returns otherwise: a UsageError."""
    required = _required_parameters(factory)
    if required:
        raise UsageError(
            f"target {target}: {name} requires {', '.join(required)}; the factory is called with no arguments: "
            "give them defaults, or name a factory that takes none"
        )
    try:
        value = factory()
    except Exception as exc:
        raise UsageError(f"target {target}: {name}() raised {raised(exc)}; fix the factory") from None
    try:
        return as_case(value)
    except TypeError as exc:
        raise UsageError(f"target {target}: {name}() must return {ACCEPTED}: {exc}") from None


def _required_parameters(factory: Callable[[], Any]) -> list[str]:
    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):  # builtins without a signature: let the call decide
        return []
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [
        p.name
        for p in params
        if p.default is p.empty and (p.kind in positional or p.kind is inspect.Parameter.KEYWORD_ONLY)
    ]


def raised(exc: BaseException) -> str:
    """'ZeroDivisionError: division by zero (pair.py, line 3)': the exception on one line, with the
    deepest place in the user's own code it passed through (not Python's or an installed library's)."""
    lines = str(exc).strip().splitlines()
    message = lines[0][:300] + (" ..." if len(lines) > 1 or len(lines[0]) > 300 else "") if lines else ""
    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames if _user_code(f.filename)] or frames
    where = f" ({Path(own[-1].filename).name}, line {own[-1].lineno})" if own else ""
    return f"{type(exc).__name__}: {message}{where}" if message else f"{type(exc).__name__}{where}"


def _user_code(filename: str) -> bool:
    installed = {sys.prefix, sys.base_prefix, sys.exec_prefix}
    return not filename.startswith("<") and filename != __file__ and not filename.startswith(tuple(installed))


def check_case(
    case: ParityCase,
    data: Datasets | None,
    config: TrainConfig,
    flags: dict[str, Any],
    progress: Callable[[str], None] | None = None,
) -> dict[str, parity.ParityReport]:
    """The case's candidate against its reference, on its own batches or the plan every style draws
    (--batch-size, --steps, --seed on `data`); `progress` is called with each side's name as it starts."""
    batches = case.batches if case.batches is not None else parity_sides.batches_for(data, config)
    options = case_options(case, flags, data)
    reports = parity.check_many(case.reference, {case.label: case.candidate}, batches, progress=progress, **options)
    for report in reports.values():  # the case's name, in the table and in the report's own text alike
        report.candidate = case.label
    return reports


def case_options(case: ParityCase, flags: dict[str, Any], data: Datasets | None) -> dict[str, Any]:
    """check_parity's options: the flags', then the case's over them; test accuracy on the data's test
    split when the batches come from the data and the case names no metrics or eval data of its own."""
    options = {**flags, **case.options}
    if case.batches is None and data is not None:
        options.setdefault("eval_data", (data.test.images, data.test.labels))
        options.setdefault("metrics", {"test_accuracy": parity.accuracy})
    return options
