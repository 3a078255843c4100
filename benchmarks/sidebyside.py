"""`tfparity sidebyside`: the styles' real source, aligned stage by stage, with the API changes each stage makes.

Each style module is read from its file and split at its `# %% stage: NAME` markers (data,
model, loss, optimizer, train step, loop, evaluate, in that order: a missing, extra or
misordered marker is an error naming the file). Code a stage imports unchanged from another
style (`from tf2_eager.eager_style import loss_fn  # unchanged: ...`) is shown as the import
line followed by the imported functions' own source, marked as unchanged. Under each stage come
the TF1 -> TF2 mappings of `compat.api_map` that the stage's code exercises, found in the
source by the table's own patterns, with links to TensorFlow's documentation.

Two renderings: Markdown (stages one after another, readable anywhere) and a standalone HTML
page (inline CSS, Pygments colours, no network) with the styles in columns and the stages in
aligned rows; every stage cell has `id="cell-<stage>-<style>"`.
"""

from __future__ import annotations

import argparse
import ast
import html
import importlib
import inspect
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

from tfparity.benchmarks import cli, styles
from tfparity.compat.api_map import MAPPINGS, STAGES, ApiMapping, code_only

MARKER = re.compile(r"^# %% stage: *(?P<name>.*?) *$", re.MULTILINE)
UNCHANGED_COMMENT = re.compile(r"#\s*unchanged:\s*(?P<reason>.*?)\s*(?:#|$)")
REPO_ROOT = Path(__file__).resolve().parents[1]


class StageMarkerError(ValueError):
    """A style module whose `# %% stage:` markers are missing, unknown, repeated or out of order."""


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
        lines = f"line {self.first_line}" if self.last_line == self.first_line else f"lines {self.first_line}-{self.last_line}"
        return f"`{self.path}` {lines}"


@dataclass(frozen=True)
class Import:
    """Code a stage imports unchanged from another style module, with the import's own comment."""

    style: str  # the style it comes from
    reason: str  # the "# unchanged: ..." comment of the import line
    code: Code


@dataclass(frozen=True)
class StageSource:
    """One stage of one style: its own code, plus what it imports unchanged from other styles."""

    style: str
    stage: str
    code: Code
    imports: tuple[Import, ...] = ()
    only_imports: bool = False  # the whole stage is imported: unchanged from that style

    @property
    def blocks(self) -> tuple[Code, ...]:
        return (self.code, *(i.code for i in self.imports))


@dataclass(frozen=True)
class StageMapping:
    """A mapping exercised in a stage, with the lines it matched in each code block."""

    mapping: ApiMapping
    lines: dict[tuple[str, int], list[int]] = field(default_factory=dict)  # (style, block index) -> 1-based lines


@dataclass(frozen=True)
class Column:
    style: str
    title: str  # "TF1 graph"
    summary: str  # the module docstring's first line, after the title
    path: str


@dataclass(frozen=True)
class View:
    columns: tuple[Column, ...]
    stages: dict[str, dict[str, StageSource]]  # stage -> style -> source
    mappings: dict[str, tuple[StageMapping, ...]]  # stage -> mappings it exercises

    @property
    def styles(self) -> list[str]:
        return [c.style for c in self.columns]


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
    for (before, line_before, _), (after, line_after, _) in zip(markers, markers[1:]):
        if STAGES.index(before) > STAGES.index(after):
            raise StageMarkerError(
                f"{path}: stage markers out of order: {before!r} (line {line_before}) comes before "
                f"{after!r} (line {line_after}); {fix}"
            )
    stages = {}
    for i, (name, _, match) in enumerate(markers):
        end = markers[i + 1][2].start() if i + 1 < len(markers) else len(source)
        body = source[match.end():end]
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


def module_title(module: ModuleType, style: str) -> tuple[str, str]:
    """("TF1 graph", "placeholders, ...") from a docstring that starts "TF1 graph style: placeholders, ..."."""
    first = (inspect.getdoc(module) or style).splitlines()[0]
    title, sep, summary = first.partition(" style: ")
    return (title, summary) if sep else (style, first)


def style_title(style: str) -> str:
    return module_title(styles.MODULES[style], style)[0]


def imports_from_styles(stage: Code, module_styles: dict[str, str]) -> tuple[tuple[Import, ...], bool]:
    """The functions `stage` imports from other style modules, and whether it is nothing but such imports."""
    try:
        body = ast.parse(stage.text).body
    except SyntaxError:
        return (), False
    lines = stage.text.splitlines()
    style_imports = [node for node in body if isinstance(node, ast.ImportFrom) and node.module in module_styles]
    imports = []
    for node in style_imports:
        module = importlib.import_module(node.module)
        comment = UNCHANGED_COMMENT.search(lines[node.end_lineno - 1])
        reason = comment.group("reason") if comment else ""
        for alias in node.names:
            source, start = inspect.getsourcelines(getattr(module, alias.name))
            code = Code(display_path(inspect.getsourcefile(module)), start, "".join(source).rstrip("\n"))
            imports.append(Import(module_styles[node.module], reason, code))
    return tuple(imports), bool(style_imports) and len(style_imports) == len(body)


def read_style(style: str) -> tuple[Column, dict[str, StageSource]]:
    module = styles.MODULES[style]
    path = inspect.getsourcefile(module)
    shown = display_path(path)
    stages = split_stages(Path(path).read_text(encoding="utf-8"), shown)
    module_styles = {m.__name__: name for name, m in styles.MODULES.items() if name != style}
    out = {}
    for name, code in stages.items():
        imports, only_imports = imports_from_styles(code, module_styles)
        out[name] = StageSource(style, name, code, imports, only_imports)
    title, summary = module_title(module, style)
    return Column(style, title, summary, shown), out


def stage_mappings(sources: dict[str, StageSource]) -> tuple[StageMapping, ...]:
    """The mappings exercised by any style's code in one stage, in table order."""
    code = {(style, i): code_only(block.text) for style, source in sources.items() for i, block in enumerate(source.blocks)}
    found = []
    for mapping in MAPPINGS:
        lines = {key: matched for key, text in code.items() if (matched := mapping.match_lines(text))}
        if lines:
            found.append(StageMapping(mapping, lines))
    return tuple(found)


def default_styles() -> list[str]:
    """Every style, the TF1 reference first: TF1 against each TF2 style."""
    return [styles.REFERENCE] + [n for n in styles.STYLES if n != styles.REFERENCE]


def build_view(names: list[str] | None = None) -> View:
    """The view of the named styles, in that order (default: `default_styles()`)."""
    names = styles.select(names) if names else default_styles()
    if len(names) < 2:
        raise ValueError(f"sidebyside needs two or more styles, got {names}; for example --styles tf1_graph function")
    if len(set(names)) != len(names):
        raise ValueError(f"style named twice in {names}")
    columns, per_style = [], {}
    for name in names:
        column, stages = read_style(name)
        columns.append(column)
        per_style[name] = stages
    stages = {stage: {name: per_style[name][stage] for name in names} for stage in STAGES}
    return View(tuple(columns), stages, {stage: stage_mappings(stages[stage]) for stage in STAGES})


# --- Markdown -------------------------------------------------------------------------------------


def doc_label(url: str) -> str:
    """`tf.compat.v1.placeholder` for an API page, `guide: migrate_tf2` for a guide page."""
    path = url.split("tensorflow.org/", 1)[-1]
    if path.startswith("api_docs/python/"):
        symbol, _, member = path[len("api_docs/python/"):].partition("#")
        return symbol.replace("/", ".") + (f".{member}" if member else "")
    return "guide: " + path.rstrip("/").split("/")[-1]


def markdown_links(urls: tuple[str, ...]) -> str:
    return ", ".join(f"[{doc_label(u)}]({u})" for u in urls)


def anchor(stage: str) -> str:
    """GitHub's heading anchor for `## 5. train step`."""
    return f"{STAGES.index(stage) + 1}-{stage.replace(' ', '-')}"


def view_title(view: View) -> str:
    first, *rest = view.columns
    return f"{first.title} vs {', '.join(c.title for c in rest)}, stage by stage"


def command_line(view: View, fmt: str, output: str | None) -> str:
    parts = ["tfparity sidebyside"]
    if view.styles != default_styles():
        parts.append("--styles " + " ".join(view.styles))
    if fmt != "markdown":
        parts.append(f"--format {fmt}")
    if output:
        parts.append(f"-o {output}")
    return " ".join(parts)


def mappings_by_first_use(view: View) -> dict[ApiMapping, list[str]]:
    """Each mapping the view exercises, in order of the first stage that does, with all its stages."""
    stages: dict[ApiMapping, list[str]] = {}
    for stage in STAGES:
        for found in view.mappings[stage]:
            stages.setdefault(found.mapping, []).append(stage)
    return stages


def fenced(code: Code) -> list[str]:
    return ["```python", code.text, "```"]


def render_markdown(view: View, command: str) -> str:
    out = [
        f"# {view_title(view)}",
        "",
        f"<!-- generated by `{command}` from the style modules' source: edit those, then regenerate -->",
        "",
        "The real source of each style, split at its `# %% stage:` markers and aligned stage by stage. "
        "Under each stage: the TF1 → TF2 API changes its code makes, found in the source with the "
        "patterns of the table in `compat/api_map.py`, each with TensorFlow's documentation.",
        "",
        "| style | module | in one line |",
        "| --- | --- | --- |",
        *[f"| {c.title} | `{c.path}` | {c.summary} |" for c in view.columns],
        "",
        "Stages: " + " · ".join(f"[{stage}](#{anchor(stage)})" for stage in STAGES),
        "",
        "## What changes, at a glance",
        "",
        "| TF1 | TF2 | why | found in | TensorFlow docs |",
        "| --- | --- | --- | --- | --- |",
    ]
    for mapping, stages in mappings_by_first_use(view).items():
        found_in = ", ".join(f"[{stage}](#{anchor(stage)})" for stage in stages)
        out.append(f"| {mapping.tf1} | {mapping.tf2} | {mapping.why} | {found_in} | {markdown_links(mapping.docs)} |")
    for stage in STAGES:
        out += ["", f"## {STAGES.index(stage) + 1}. {stage}"]
        for column in view.columns:
            source = view.stages[stage][column.style]
            out.append("")
            if source.only_imports:
                origins = " and ".join(dict.fromkeys(style_title(i.style) for i in source.imports))
                out += [f"**{column.title}**: unchanged from {origins}. {source.code.where}:", ""]
            else:
                out += [f"**{column.title}**: {source.code.where}", ""]
            out += fenced(source.code)
            for imported in source.imports:
                reason = f" ({imported.reason})" if imported.reason else ""
                out += ["", f"which imports, unchanged from {style_title(imported.style)}{reason}, {imported.code.where}:", ""]
                out += fenced(imported.code)
        if view.mappings[stage]:
            out += ["", f"**API changes in {stage}**", ""]
            for found in view.mappings[stage]:
                m = found.mapping
                first = mappings_by_first_use(view)[m][0]
                if first == stage:
                    out.append(f"- {m.tf1} → {m.tf2}: {m.why}. Docs: {markdown_links(m.docs)}")
                else:
                    out.append(f"- {m.tf1} → {m.tf2} (see [{first}](#{anchor(first)}))")
    return "\n".join(out) + "\n"


# --- HTML -----------------------------------------------------------------------------------------


def inline_html(text: str) -> str:
    """Markdown's inline code (`x`) as <code>, everything else escaped."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text, quote=False))


def slug(stage: str) -> str:
    return stage.replace(" ", "-")


def highlighted(code: Code, lines: list[int]) -> str:
    formatter = HtmlFormatter(linenos="inline", linenostart=code.first_line, hl_lines=lines, wrapcode=True)
    return highlight(code.text, PythonLexer(), formatter)


CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328; margin: 0 1.25rem 3rem; }
h1 { font-size: 1.4rem; margin: 1rem 0 .25rem; }
p.lead { margin: .25rem 0 1rem; max-width: 70rem; color: #424a53; }
code { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; font-size: .92em; background: #eff2f5; padding: 0 .2em; border-radius: 3px; }
table.sidebyside { border-collapse: collapse; width: 100%; table-layout: fixed; }
table.sidebyside thead th { position: sticky; top: 0; z-index: 2; background: #f6f8fa; text-align: left; vertical-align: top;
  padding: .45rem .6rem; border-bottom: 2px solid #d0d7de; font-weight: 600; }
th .module { display: block; font-weight: 400; font-size: .8rem; color: #59636e; }
th .summary { display: block; font-weight: 400; font-size: .85rem; margin-top: .15rem; }
tr.stage-title th { text-align: left; padding: .4rem .6rem; background: #ddf4ff; border-top: 1.25rem solid #fff; font-size: 1.05rem; }
td.stage-cell { vertical-align: top; padding: .35rem .5rem .5rem; border-left: 1px solid #d0d7de; border-right: 1px solid #d0d7de; }
.where { font-size: .78rem; color: #59636e; margin-bottom: .2rem; }
.unchanged-note { font-size: .85rem; color: #1a7f37; font-weight: 600; margin: .1rem 0 .3rem; }
.unchanged { border-left: 3px dashed #8c959f; padding-left: .45rem; margin-top: .35rem; }
.highlight { background: #fbfbfb; }
.highlight pre { margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; font-size: 12.5px; line-height: 1.4; }
.highlight pre code { background: none; padding: 0; font-size: inherit; }
.highlight .linenos { color: #8c959f; margin-right: .6em; user-select: none; }
.highlight .hll { background-color: #fff8c5; display: inline-block; width: 100%; }
tr.stage-mappings td { padding: .35rem .6rem .6rem; font-size: .88rem; background: #fafbfc; border: 1px solid #d0d7de; border-top: none; }
tr.stage-mappings ul { margin: .2rem 0 0; padding-left: 1.2rem; }
tr.stage-mappings li { margin: .2rem 0; }
.why { color: #424a53; }
.docs a { color: #0969da; }
"""


def mapping_item_html(m: ApiMapping, stage: str, first: str) -> str:
    change = f"{inline_html(m.tf1)} → {inline_html(m.tf2)}"
    if stage != first:
        return f'<li>{change} (see <a href="#stage-{slug(first)}">{first}</a>)</li>'
    links = ", ".join(f'<a href="{html.escape(u, quote=True)}">{html.escape(doc_label(u))}</a>' for u in m.docs)
    return f'<li>{change}: <span class="why">{inline_html(m.why)}</span>. <span class="docs">Docs: {links}</span></li>'


def render_html(view: View, command: str) -> str:
    pygments_css = HtmlFormatter().get_style_defs(".highlight")
    width = f"{100 / len(view.columns):.3f}%"
    head = "".join(
        f'<th class="style-head style-{c.style}" id="style-{c.style}" style="width:{width}">{html.escape(c.title)}'
        f'<span class="module">{html.escape(c.path)}</span><span class="summary">{inline_html(c.summary)}</span></th>'
        for c in view.columns
    )
    body = []
    for number, stage in enumerate(STAGES, 1):
        found = view.mappings[stage]
        body.append(f'<tbody class="stage" id="stage-{slug(stage)}" data-stage="{stage}">')
        body.append(f'<tr class="stage-title"><th colspan="{len(view.columns)}">{number}. {stage}</th></tr>')
        cells = []
        for column in view.columns:
            source = view.stages[stage][column.style]
            marked = [sorted({ln for f in found for ln in f.lines.get((column.style, i), [])}) for i in range(len(source.blocks))]
            parts = [f'<div class="where">{inline_html(source.code.where)}</div>']
            if source.only_imports:
                origins = " and ".join(dict.fromkeys(style_title(i.style) for i in source.imports))
                parts.append(f'<div class="unchanged-note">unchanged from {html.escape(origins)}</div>')
            parts.append(highlighted(source.code, marked[0]))
            for imported, lines in zip(source.imports, marked[1:]):
                reason = f": {inline_html(imported.reason)}" if imported.reason else ""
                parts.append(
                    f'<div class="unchanged"><div class="unchanged-note">imported unchanged from {html.escape(style_title(imported.style))}{reason}</div>'
                    f'<div class="where">{inline_html(imported.code.where)}</div>{highlighted(imported.code, lines)}</div>'
                )
            cells.append(
                f'<td class="stage-cell stage-{slug(stage)} style-{column.style}" id="cell-{slug(stage)}-{column.style}" '
                f'data-stage="{stage}" data-style="{column.style}">{"".join(parts)}</td>'
            )
        body.append(f'<tr class="stage-code">{"".join(cells)}</tr>')
        if found:
            items = "".join(mapping_item_html(f.mapping, stage, mappings_by_first_use(view)[f.mapping][0]) for f in found)
            body.append(f'<tr class="stage-mappings"><td colspan="{len(view.columns)}"><strong>API changes in {stage}</strong> '
                        f"(highlighted lines)<ul>{items}</ul></td></tr>")
        body.append("</tbody>")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(view_title(view))}</title>
<!-- generated by `{html.escape(command)}` -->
<style>{pygments_css}
{CSS}</style>
</head>
<body>
<h1>{html.escape(view_title(view))}</h1>
<p class="lead">The real source of each style, split at its <code># %% stage:</code> markers and aligned stage by stage.
Highlighted lines use an API that changes between TF1 and TF2; under each stage, what replaces what, why, and TensorFlow's documentation
(from the table in <code>compat/api_map.py</code>). Line numbers are the modules' own.</p>
<table class="sidebyside">
<thead><tr>{head}</tr></thead>
{chr(10).join(body)}
</table>
</body>
</html>
"""


# --- the command ----------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--styles", nargs="+", default=None, metavar="STYLE",
        help=f"two or more of {list(styles.STYLES)}, shown in this order (default: all, {styles.REFERENCE} first)",
    )
    cli.add_output_arguments(parser, formats=("markdown", "html"))


def render(view: View, fmt: str, output: str | None = None) -> str:
    command = command_line(view, fmt, output)
    return render_html(view, command) if fmt == "html" else render_markdown(view, command)


def run(args: argparse.Namespace) -> int:
    view = build_view(args.styles)
    output = display_path(args.output) if args.output else None
    cli.write_output(render(view, args.format, output), args.output, quiet=args.quiet)
    return 0
