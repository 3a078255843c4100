"""`tfparity sidebyside`, the reading: modules cut into stages, and the API changes each stage makes.

Each module the registry names (`idioms.MODULES`: the four style modules, the tuned idioms' two
and the data-parallel variants') is read from its file and split at its `# %% stage: NAME`
markers (data, model, loss, optimizer, train step, loop, evaluate, in that order: a missing,
extra or misordered marker is an error naming the file). Code a stage takes unchanged from
another of those modules is shown after the stage's own lines, with its real source, marked as
unchanged. A stage takes it in one of two ways, either line ending in a `# unchanged: why`
comment that the view shows:

    loss_fn = eager_style.loss_fn  # unchanged: traced into the graph with the step
    from tfparity.tf2_eager.eager_style import loss_fn  # unchanged: traced into the graph with the step

The modules use the first (no import in the middle of a module); the second still works. Under
each stage come the TF1 -> TF2 mappings of `compat.api_map` that the stage's code exercises,
found in the source by the table's own patterns. The renderers are `sidebyside_markdown` and
`sidebyside_html`; the command is `sidebyside`.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from tfparity.benchmarks import idioms
from tfparity.compat.api_map import MAPPINGS, STAGES, ApiMapping, code_only

MARKER = re.compile(r"^# %% stage: *(?P<name>.*?) *$", re.MULTILINE)
UNCHANGED_COMMENT = re.compile(r"#\s*unchanged:\s*(?P<reason>.*?)\s*(?:#|$)")
REPO_ROOT = Path(__file__).resolve().parents[1]


class StageMarkerError(ValueError):
    """A module whose `# %% stage:` markers are missing, unknown, repeated or out of order."""


@dataclass(frozen=True)
class Code:
    """A piece of real source: where it lives and its text."""

    path: str  # relative to the repository root where possible
    first_line: int
    text: str

    @property
    def last_line(self) -> int:
        return self.first_line + self.text.count("\n")

    @property
    def where(self) -> str:
        lines = (
            f"line {self.first_line}"
            if self.last_line == self.first_line
            else f"lines {self.first_line}-{self.last_line}"
        )
        return f"`{self.path}` {lines}"


@dataclass(frozen=True)
class Import:
    """Code a stage takes unchanged from another module, with the `# unchanged:` comment of its line."""

    style: str  # the registry name of the module it comes from
    title: str  # that module's title: "Eager"
    reason: str
    code: Code


@dataclass(frozen=True)
class StageSource:
    """One stage of one module: its own code, plus what it takes unchanged from other modules."""

    style: str
    stage: str
    code: Code
    imports: tuple[Import, ...] = ()
    only_imports: bool = False  # the whole stage is taken unchanged

    @property
    def blocks(self) -> tuple[Code, ...]:
        return (self.code, *(i.code for i in self.imports))

    @property
    def origins(self) -> str:
        """ "Eager", or "Eager and tf.function": where an unchanged stage comes from."""
        return " and ".join(dict.fromkeys(i.title for i in self.imports))


@dataclass(frozen=True)
class StageMapping:
    """A mapping exercised in a stage, with the lines it matched in each code block."""

    mapping: ApiMapping
    lines: dict[tuple[str, int], list[int]] = field(default_factory=dict)  # (style, block index) -> 1-based lines


@dataclass(frozen=True)
class Column:
    style: str  # the module's registry name
    title: str  # "TF1 graph"
    summary: str  # the module docstring's first line, after the title
    path: str


@dataclass(frozen=True)
class View:
    columns: tuple[Column, ...]
    stages: dict[str, dict[str, StageSource]]  # stage -> style -> source
    mappings: dict[str, tuple[StageMapping, ...]]  # stage -> mappings it exercises
    model: str = "softmax"  # the model (compat.models) whose modules the columns are

    @property
    def styles(self) -> list[str]:
        return [c.style for c in self.columns]

    @property
    def title(self) -> str:
        first, *rest = self.columns
        model = "" if self.model == "softmax" else f", the {self.model} model"
        return f"{first.title} vs {', '.join(c.title for c in rest)}{model}, stage by stage"

    def first_uses(self) -> dict[ApiMapping, list[str]]:
        """Each mapping the view exercises, in order of the first stage that does, with all its stages."""
        stages: dict[ApiMapping, list[str]] = {}
        for stage in STAGES:
            for found in self.mappings[stage]:
                stages.setdefault(found.mapping, []).append(stage)
        return stages


# --- reading the modules ----------------------------------------------------------------------


def split_stages(source: str, path: str) -> dict[str, Code]:
    """The stages of one module's source, by name, in STAGES order.

    Raises StageMarkerError naming `path` when a marker is missing, unknown, repeated or out
    of order, so that the side-by-side view can never silently drop or shuffle a stage.
    """
    markers = [(m.group("name"), source.count("\n", 0, m.start()) + 1, m) for m in MARKER.finditer(source)]
    names = [name for name, _, _ in markers]
    fix = f"every style module needs one `# %% stage: NAME` line per stage, in this order: {', '.join(STAGES)}"
    unknown = [f"{name!r} (line {line})" for name, line, _ in markers if name not in STAGES]
    if unknown:
        raise StageMarkerError(f"{path}: unknown stage marker {', '.join(unknown)}; {fix}")
    repeated = sorted({name for name in names if names.count(name) > 1}, key=STAGES.index)
    if repeated:
        raise StageMarkerError(f"{path}: stage marker {', '.join(map(repr, repeated))} appears more than once; {fix}")
    missing = [name for name in STAGES if name not in names]
    if missing:
        raise StageMarkerError(f"{path}: missing stage marker {', '.join(repr(n) for n in missing)}; {fix}")
    for (before, line_before, _), (after, line_after, _) in zip(markers, markers[1:], strict=False):
        if STAGES.index(before) > STAGES.index(after):
            raise StageMarkerError(
                f"{path}: stage markers out of order: {before!r} (line {line_before}) comes before "
                f"{after!r} (line {line_after}); {fix}"
            )
    stages = {}
    for i, (name, _, match) in enumerate(markers):
        end = markers[i + 1][2].start() if i + 1 < len(markers) else len(source)
        body = source[match.end() : end]
        first_line = source.count("\n", 0, match.end()) + 2  # the line after the marker
        leading = len(body) - len(body.lstrip("\n"))
        first_line += max(0, leading - 1)
        stages[name] = Code(path, first_line, body.strip("\n"))
    return stages


def display_path(path: str | Path) -> str:
    path = Path(path).resolve()
    try:
        return path.relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return str(path)


def module_title(module: ModuleType, name: str) -> tuple[str, str]:
    """("TF1 graph", "placeholders, ...") from a docstring that starts "TF1 graph style: placeholders, ...",
    ("TF1 graph", "the CNN: ...") from one that starts "TF1 graph style, the CNN: ...", and ("TF1 in-graph
    replication", "one tower per device, ...") from one that names no style ("TF1 in-graph replication: ...")."""
    first = (inspect.getdoc(module) or name).splitlines()[0]
    for separator in (" style: ", " style, ", ": "):
        title, sep, summary = first.partition(separator)
        if sep:
            return title, summary
    return name, first


def import_title(origin: ModuleType, name: str, reader: ModuleType) -> str:
    """Where `reader` took code from: "Eager" within the softmax's modules; from another model's
    module, "Eager, the MLPs" or "Eager, the softmax model"."""
    title, summary = module_title(origin, name)
    softmax = set(idioms.MODULES.values())
    if origin.__name__ in softmax:
        return title if reader.__name__ in softmax else f"{title}, the softmax model"
    model, sep, _ = summary.partition(": ")
    return f"{title}, {model}" if sep and model.startswith("the ") else title


def registered_modules() -> dict[str, str]:
    """Every module the registry names, for every model: module path -> the style or idiom it writes."""
    paths = {path: name for name, path in idioms.MODULES.items()}
    for modules in idioms.MODEL_MODULES.values():
        paths.update({path: style for style, path in modules.items()})
    return paths


def taken_unchanged(node: ast.stmt, module: ModuleType, registered: dict[str, str]) -> list[tuple[ModuleType, str]]:
    """(module, name) of each object one statement of `module` takes from a registered module; [] for other code."""
    if isinstance(node, ast.ImportFrom) and node.module in registered:
        source = importlib.import_module(node.module)
        return [(source, alias.name) for alias in node.names]
    if (
        isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
        and isinstance(node.value, ast.Attribute)
        and isinstance(node.value.value, ast.Name)
    ):
        source = getattr(module, node.value.value.id, None)
        if isinstance(source, ModuleType) and source.__name__ in registered:
            return [(source, node.value.attr)]
    return []


def unchanged_code(stage: Code, module: ModuleType, registered: dict[str, str]) -> tuple[tuple[Import, ...], bool]:
    """What `stage` takes unchanged from the `registered` modules (module name -> registry name), and
    whether that is all the stage does."""
    try:
        body = ast.parse(stage.text).body
    except SyntaxError:
        return (), False
    lines = stage.text.splitlines()
    imports, taking = [], 0
    for node in body:
        taken = taken_unchanged(node, module, registered)
        taking += bool(taken)
        comment = UNCHANGED_COMMENT.search(lines[node.end_lineno - 1])
        for source, name in taken:
            obj = getattr(source, name)
            # Where the object is defined, which an alias of an alias would hide.
            origin = inspect.getmodule(obj) or source
            origin = origin if origin.__name__ in registered else source
            text, start = inspect.getsourcelines(obj)
            code = Code(display_path(inspect.getsourcefile(obj)), start, "".join(text).rstrip("\n"))
            style = registered[origin.__name__]
            reason = comment.group("reason") if comment else ""
            imports.append(Import(style, import_title(origin, style, module), reason, code))
    return tuple(imports), bool(body) and taking == len(body)


def read_style(style: str, model: str = "softmax") -> tuple[Column, dict[str, StageSource]]:
    """One registered module (a style's for `model`, or a tuned idiom's), cut into its stages."""
    module = idioms.module(style) if model == "softmax" else idioms.style_module(style, model)
    path = inspect.getsourcefile(module)
    shown = display_path(path)
    stages = split_stages(Path(path).read_text(encoding="utf-8"), shown)
    registered = {path: name for path, name in registered_modules().items() if path != module.__name__}
    out = {}
    for name, code in stages.items():
        imports, only_imports = unchanged_code(code, module, registered)
        out[name] = StageSource(style, name, code, imports, only_imports)
    title, summary = module_title(module, style)
    return Column(style, title, summary, shown), out


def stage_mappings(sources: dict[str, StageSource]) -> tuple[StageMapping, ...]:
    """The mappings exercised by any module's code in one stage, in table order."""
    code = {
        (style, i): code_only(block.text) for style, source in sources.items() for i, block in enumerate(source.blocks)
    }
    found = []
    for mapping in MAPPINGS:
        lines = {key: matched for key, text in code.items() if (matched := mapping.match_lines(text))}
        if lines:
            found.append(StageMapping(mapping, lines))
    return tuple(found)


def default_styles() -> list[str]:
    """The tutorial code of every style, the TF1 reference first: TF1 against each TF2 style."""
    return [idioms.REFERENCE] + [n for n in idioms.STYLE_MODULES if n != idioms.REFERENCE]


def tuned_styles() -> list[str]:
    """The tuned idioms' modules: TF1's (in_graph) against TF2's (whole_epoch)."""
    return list(idioms.TUNED_MODULES)


def build_view(names: list[str] | None = None, model: str = "softmax") -> View:
    """The view of the named modules of `model`, in that order (default: `default_styles()`)."""
    names = list(names) if names else default_styles()
    known = list(idioms.MODULES) if model == "softmax" else list(idioms.STYLES)  # tuned idioms: the softmax's
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown style(s) {unknown} for the {model} model; choose from {known}")
    if len(names) < 2:
        raise ValueError(f"sidebyside needs two or more styles, got {names}; for example --styles tf1_graph function")
    if len(set(names)) != len(names):
        raise ValueError(f"style named twice in {names}")
    columns, per_style = [], {}
    for name in names:
        column, stages = read_style(name, model)
        columns.append(column)
        per_style[name] = stages
    stages = {stage: {name: per_style[name][stage] for name in names} for stage in STAGES}
    return View(tuple(columns), stages, {stage: stage_mappings(stages[stage]) for stage in STAGES}, model)


def doc_label(url: str) -> str:
    """`tf.compat.v1.placeholder` for an API page, `guide: migrate_tf2` for a guide page, `tutorial:
    custom_training` for a tutorial."""
    path = url.split("tensorflow.org/", 1)[-1]
    if path.startswith("api_docs/python/"):
        symbol, _, member = path[len("api_docs/python/") :].partition("#")
        return symbol.replace("/", ".") + (f".{member}" if member else "")
    kind = "tutorial" if path.startswith("tutorials/") else "guide"
    return f"{kind}: " + path.rstrip("/").split("/")[-1]
