"""`tfparity sidebyside`: stage markers cannot rot, stages align, and a real browser shows it.

The browser tests run Debian's headless Chromium (installed by .ci/system-deps) on the HTML
page and read the rendered geometry back through `--dump-dom`. The screenshot lands in the
test's tmp folder; `python -m pytest tests/test_sidebyside.py --basetemp=out/pytest` keeps it
at a known place (`out/pytest/test_browser_*/sidebyside.png`).
"""

from __future__ import annotations

import html
import importlib.util
import inspect
import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tfparity.benchmarks import cli, idioms, sidebyside, sidebyside_stages
from tfparity.benchmarks.sidebyside_stages import Code, StageMarkerError, split_stages, unchanged_code
from tfparity.compat.api_map import STAGES, tf_symbols_used
from tfparity.tf1_graph import graph_style
from tfparity.tf2_eager import eager_style, function_style

REPO = Path(__file__).resolve().parents[1]
REPORT = "benchmarks/reports/tf1_graph_vs_function.md"
REPORT_STYLES = ["tf1_graph", "function"]
TUNED_REPORT = "benchmarks/reports/tuned_in_graph_vs_whole_epoch.md"
REPLICA_REPORT, REPLICA_STYLES = "benchmarks/reports/towers_vs_mirrored.md", ["towers", "mirrored"]  # issue 19
WORKERS_REPORT = "benchmarks/reports/between_graph_vs_multi_worker.md"
WORKERS_STYLES = ["between_graph", "multi_worker"]
MODEL_REPORTS = ("mlp", "cnn", "linear_regression")  # one committed report per set of modules
ALL_STYLES = ["tf1_graph", "eager", "function", "keras_fit"]
TUNED = ["in_graph", "whole_epoch"]
REPLICAS = list(idioms.REPLICA_MODULES)  # the data-parallel variants' modules


@pytest.fixture(scope="module")
def full_view():
    return sidebyside_stages.build_view(None)


# --- stage markers ------------------------------------------------------------------------------


def source_path(style: str) -> str:
    return inspect.getsourcefile(idioms.module(style))


@pytest.mark.parametrize("style", ALL_STYLES + TUNED + REPLICAS)
def test_every_style_module_has_every_stage_in_order(style):
    path = source_path(style)
    stages = split_stages(Path(path).read_text(), path)
    assert list(stages) == list(STAGES)
    assert all(code.text.strip() for code in stages.values()), "a stage with no code"


def graph_style_copy(tmp_path: Path, edit) -> Path:
    """A copy of the real TF1 module with `edit(text) -> text` applied."""
    source = Path(source_path("tf1_graph")).read_text()
    edited = edit(source)
    assert edited != source, "the edit did not change the module"
    copy = tmp_path / "graph_style.py"
    copy.write_text(edited)
    return copy


@pytest.mark.parametrize("stage", ["loss", "train step"])
def test_a_lost_marker_names_the_file_and_the_stage(tmp_path, stage):
    copy = graph_style_copy(tmp_path, lambda s: s.replace(f"# %% stage: {stage}\n", ""))
    with pytest.raises(
        StageMarkerError, match=rf"{re.escape(str(copy))}: missing stage marker '{stage}'.*in this order: data, model"
    ):
        split_stages(copy.read_text(), str(copy))


def test_reordered_markers_name_the_file_and_both_stages(tmp_path):
    swap = {"# %% stage: model\n": "# %% stage: loss\n", "# %% stage: loss\n": "# %% stage: model\n"}
    copy = graph_style_copy(tmp_path, lambda s: re.sub(r"# %% stage: (model|loss)\n", lambda m: swap[m.group(0)], s))
    with pytest.raises(
        StageMarkerError,
        match=rf"{re.escape(str(copy))}: stage markers out of order: 'loss' \(line \d+\) comes before 'model'",
    ):
        split_stages(copy.read_text(), str(copy))


def test_unknown_and_repeated_markers_are_errors(tmp_path):
    copy = graph_style_copy(tmp_path, lambda s: s.replace("# %% stage: loop\n", "# %% stage: training loop\n"))
    with pytest.raises(StageMarkerError, match=rf"{re.escape(str(copy))}: unknown stage marker 'training loop'"):
        split_stages(copy.read_text(), str(copy))
    copy = graph_style_copy(tmp_path, lambda s: s.replace("# %% stage: loop\n", "# %% stage: loss\n"))
    with pytest.raises(StageMarkerError, match="stage marker 'loss' appears more than once"):
        split_stages(copy.read_text(), str(copy))


def test_the_command_fails_when_a_style_module_loses_a_marker(tmp_path, monkeypatch, capsys):
    copy = graph_style_copy(tmp_path, lambda s: s.replace("# %% stage: evaluate\n", ""))
    spec = importlib.util.spec_from_file_location("broken_graph_style", copy)
    broken = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(broken)
    monkeypatch.setitem(sys.modules, "broken_graph_style", broken)
    monkeypatch.setitem(idioms.MODULES, "tf1_graph", "broken_graph_style")
    assert cli.main(["sidebyside", "-o", str(tmp_path / "out.md")]) == 2
    assert f"{copy}: missing stage marker 'evaluate'" in capsys.readouterr().err
    assert not (tmp_path / "out.md").exists()


# --- what the view shows ------------------------------------------------------------------------


def test_stages_show_the_real_source(full_view):
    for style in full_view.styles:
        source = Path(source_path(style)).read_text().splitlines()
        for stage in STAGES:
            code = full_view.stages[stage][style].code
            assert code.text.splitlines() == source[code.first_line - 1 : code.last_line], (style, stage)


def test_unchanged_stages_show_the_imported_eager_code(full_view):
    for stage, names in {"model": ["build_model", "forward"], "loss": ["loss_fn"], "evaluate": ["evaluate"]}.items():
        source = full_view.stages[stage]["function"]
        assert source.only_imports and all(f"{n} = eager_style.{n}  # unchanged: " in source.code.text for n in names)
        assert [i.style for i in source.imports] == ["eager"] * len(names)
        assert [i.code.text for i in source.imports] == [
            inspect.getsource(getattr(eager_style, n)).rstrip("\n") for n in names
        ]
        assert all(i.reason for i in source.imports), "the '# unchanged: ...' comment is the reader's why"
    markdown = sidebyside.render(full_view, "markdown")
    assert "**tf.function**: unchanged from Eager." in markdown
    assert inspect.getsource(eager_style.loss_fn).rstrip("\n") in markdown


def test_teaching_modules_hold_only_the_tutorial_code():
    """The tuned idioms live in modules of their own, so the default view is the tutorial code alone."""
    assert not {"train_in_graph", "preload_inputs", "in_graph_steps"} & set(vars(graph_style))
    assert not {"train_whole_epoch", "make_epoch_fn", "make_epoch_inputs"} & set(vars(function_style))
    for style in ALL_STYLES:
        source = Path(source_path(style)).read_text()
        assert "while_loop" not in source and "jit_compile" not in source and "noqa: E402" not in source, style


def test_tuned_view_sets_the_tuned_idioms_side_by_side(tmp_path):
    view = sidebyside_stages.build_view(sidebyside_stages.tuned_styles())
    assert view.styles == TUNED and [c.title for c in view.columns] == ["TF1 in-graph", "tf.function whole-epoch"]
    # What the tuned idioms change is data, train step and loop; the rest is each style's tutorial code, shown as such.
    for stage in ("model", "loss", "optimizer", "evaluate"):
        assert all(view.stages[stage][style].only_imports for style in TUNED), stage
    for stage in ("data", "train step", "loop"):
        assert not view.stages[stage]["in_graph"].only_imports, stage
    assert {i.title for i in view.stages["model"]["in_graph"].imports} == {"TF1 graph"}
    assert {i.title for i in view.stages["optimizer"]["whole_epoch"].imports} == {"tf.function"}
    assert [i.title for i in view.stages["train step"]["whole_epoch"].imports] == ["Eager"]
    assert "tf.compat.v1.placeholder" in {f.mapping.tf1.strip("`") for f in view.mappings["evaluate"]}
    target = tmp_path / "tuned.md"
    assert cli.main(["sidebyside", "--tuned", "-o", str(target), "--quiet"]) == 0
    assert target.read_text().startswith("# TF1 in-graph vs tf.function whole-epoch, stage by stage")
    assert cli.main(["sidebyside", "--tuned", "--styles", "tf1_graph", "eager"]) == 2  # one or the other


def test_an_unchanged_import_line_is_shown_like_an_alias():
    """`from <module> import name  # unchanged: why` in a stage works as `name = module.name  # unchanged: why`."""
    registered = {"tfparity.tf2_eager.eager_style": "eager"}
    for text in (
        "from tfparity.tf2_eager.eager_style import loss_fn  # unchanged: why",
        "loss_fn = eager_style.loss_fn  # unchanged: why",
    ):
        imports, only = unchanged_code(Code("m.py", 1, text), function_style, registered)
        assert only and [(i.style, i.title, i.reason) for i in imports] == [("eager", "Eager", "why")]
        assert imports[0].code.text == inspect.getsource(eager_style.loss_fn).rstrip("\n")
    imports, only = unchanged_code(Code("m.py", 1, "loss_fn = eager_style.loss_fn\nx = 1"), function_style, registered)
    assert len(imports) == 1 and not only


def test_html_needs_the_html_extra_and_markdown_does_not(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "pygments", None)  # as if not installed: find_spec() finds nothing
    target = tmp_path / "page.html"
    assert cli.main(["sidebyside", "--format", "html", "-o", str(target)]) == 2
    assert "--format html needs pygments: pip install 'tfparity[html]'" in capsys.readouterr().err
    assert not target.exists()
    # Markdown never imports Pygments: in a fresh process, where it cannot have been imported before.
    script = (
        "import sys\nfrom tfparity.benchmarks import cli\n"
        f"status = cli.main(['sidebyside', '--styles', 'tf1_graph', 'eager', '-o', {str(tmp_path / 'v.md')!r}, '-q'])\n"
        "print(status, 'pygments' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert out.stdout.split() == ["0", "False"], out.stderr[-2000:]


def test_mappings_are_detected_per_stage_from_the_source(full_view):
    """Every tf.compat.v1 symbol in a TF1 stage is explained in that very stage, with its lines marked."""
    for stage in STAGES:
        code = full_view.stages[stage]["tf1_graph"].code.text
        shown = full_view.mappings[stage]
        for symbol, lines in tf_symbols_used(code, "tf.compat.v1.").items():
            explaining = [f for f in shown if symbol in f.mapping.tf1_symbols]
            assert explaining, f"{stage}: {symbol} is used but no mapping is shown"
            assert any(set(lines) & set(f.lines.get(("tf1_graph", 0), [])) for f in explaining), (stage, symbol)
    for stage in STAGES:
        for found in full_view.mappings[stage]:
            assert found.mapping.stage in STAGES and any(found.lines.values())


def test_detection_follows_the_source_not_a_list(monkeypatch):
    """Take the placeholders out of the TF1 data stage and their mapping leaves that stage."""
    real = sidebyside_stages.read_style

    def without_placeholders(style, model="softmax"):
        column, stages = real(style, model)
        if style == "tf1_graph":
            data = stages["data"]
            text = data.code.text.replace("tf.compat.v1.placeholder(", "make_tensor(")
            stages["data"] = sidebyside_stages.StageSource(
                style, "data", Code(data.code.path, data.code.first_line, text)
            )
        return column, stages

    before = sidebyside_stages.build_view(REPORT_STYLES)
    monkeypatch.setattr(sidebyside_stages, "read_style", without_placeholders)
    after = sidebyside_stages.build_view(REPORT_STYLES)
    tf1 = lambda view: {f.mapping.tf1 for f in view.mappings["data"]}  # noqa: E731
    assert "`tf.compat.v1.placeholder`" in tf1(before) and "`tf.compat.v1.placeholder`" not in tf1(after)


def test_command_writes_both_formats_and_rejects_bad_styles(tmp_path, capsys):
    assert (
        cli.main(["sidebyside", "--styles", "eager", "keras_fit", "--format", "html", "-o", str(tmp_path / "p.html")])
        == 0
    )
    page = (tmp_path / "p.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and 'id="cell-train-step-keras_fit"' in page
    assert "http://" not in page and "<link" not in page and "<script" not in page  # standalone: nothing to fetch
    assert 'class="highlight"' in page and ".highlight .k" in page  # Pygments colours, CSS inline
    assert cli.main(["sidebyside", "--styles", "tf1_graph"]) == 2
    assert "two or more styles" in capsys.readouterr().err
    assert cli.main(["sidebyside", "--styles", "tf1_graph", "pytorch"]) == 2
    assert "unknown style(s) ['pytorch']" in capsys.readouterr().err


@pytest.mark.parametrize(
    "report, styles, options, model",
    [
        (REPORT, REPORT_STYLES, f"--styles {' '.join(REPORT_STYLES)}", "softmax"),
        (TUNED_REPORT, TUNED, "--tuned", "softmax"),
        (REPLICA_REPORT, REPLICA_STYLES, f"--styles {' '.join(REPLICA_STYLES)}", "softmax"),
        (WORKERS_REPORT, WORKERS_STYLES, f"--styles {' '.join(WORKERS_STYLES)}", "softmax"),
        *[(f"benchmarks/reports/{m}_four_styles.md", None, f"--model {m}", m) for m in MODEL_REPORTS],
    ],
    ids=["tutorial", "tuned", "replicas", "workers", *MODEL_REPORTS],
)
def test_committed_report_is_current(report, styles, options, model):
    expected = sidebyside.render(sidebyside_stages.build_view(styles, model), "markdown", report)
    committed = (REPO / report).read_text()
    assert committed == expected, f"{report} is stale: regenerate with `tfparity sidebyside {options} -o {report}`"


def test_readme_links_the_report():
    """The README links the committed report, and docs/styles.md explains how to read it."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    styles_doc = (REPO / "docs" / "styles.md").read_text(encoding="utf-8")
    assert f"]({REPORT})" in readme, f"README.md does not link {REPORT}"
    assert "## Reading the migration" in styles_doc and f"](../{REPORT})" in styles_doc, (
        f"docs/styles.md lacks its section '## Reading the migration' or its link to ../{REPORT}"
    )


# --- in a real browser -------------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium on PATH: install Debian's `chromium` (.ci/system-deps does)"
)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Injected before </body>: each stage cell's rendered box, whether its code fits, and its text.
GEOMETRY_SCRIPT = """<script>
(() => {
  const cells = [...document.querySelectorAll("td.stage-cell")].map(cell => {
    const box = cell.getBoundingClientRect();
    const hidden = Math.max(0, ...[...cell.querySelectorAll("pre")].map(pre => pre.scrollWidth - pre.clientWidth));
    return {stage: cell.dataset.stage, style: cell.dataset.style, top: box.top + window.scrollY, left: box.left,
            width: box.width, height: box.height, hidden_px: hidden, text: cell.innerText};
  });
  const pageOverflow = document.documentElement.scrollWidth - document.documentElement.clientWidth;
  const out = document.createElement("pre");
  out.id = "geometry";
  out.textContent = JSON.stringify({cells, page_overflow_px: pageOverflow});
  document.body.appendChild(out);
})();
</script>"""


class CellIds(HTMLParser):
    def __init__(self):
        super().__init__()
        self.cells: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "td" and "stage-cell" in (attrs.get("class") or "").split():
            self.cells.append((attrs["data-stage"], attrs["data-style"], attrs["id"]))


def render_in_chromium(page: str, tmp_path: Path, *extra: str) -> tuple[str, dict]:
    """(the DOM Chromium dumped, the geometry the injected script measured)."""
    path = tmp_path / "page.html"
    path.write_text(page.replace("</body>", GEOMETRY_SCRIPT + "\n</body>"))
    done = subprocess.run(
        [
            CHROMIUM,
            *FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1600,2400",
            *extra,
            "--dump-dom",
            path.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    found = re.search(r'<pre id="geometry">(.*?)</pre>', done.stdout, re.DOTALL)
    assert found, f"the geometry script did not run; chromium said: {done.stderr[-2000:]}"
    return done.stdout, json.loads(html.unescape(found.group(1)))


def misaligned_rows(geometry: dict, styles_in_order: list[str]) -> list[str]:
    """Every way the stage rows fail to line up: tops differ, columns not side by side, stages out of order."""
    by_stage: dict[str, dict[str, dict]] = {}
    for cell in geometry["cells"]:
        by_stage.setdefault(cell["stage"], {})[cell["style"]] = cell
    problems = []
    previous_top = -1.0
    for stage in STAGES:
        row = [by_stage[stage][style] for style in styles_in_order]
        tops = [cell["top"] for cell in row]
        if max(tops) - min(tops) > 0.5:
            problems.append(f"{stage}: tops {tops}")
        lefts = [cell["left"] for cell in row]
        if lefts != sorted(lefts) or len(set(lefts)) != len(lefts):
            problems.append(f"{stage}: columns not side by side, lefts {lefts}")
        if min(tops) <= previous_top:
            problems.append(f"{stage}: starts above the stage before it")
        previous_top = min(tops)
    return problems


@needs_chromium
def test_browser_renders_every_stage_of_every_style_aligned(full_view, tmp_path):
    screenshot = tmp_path / "sidebyside.png"
    dom, geometry = render_in_chromium(
        sidebyside.render(full_view, "html"), tmp_path, "--hide-scrollbars", f"--screenshot={screenshot}"
    )

    parser = CellIds()
    parser.feed(dom)
    expected = {(stage, style) for stage in STAGES for style in ALL_STYLES}
    assert {(stage, style) for stage, style, _ in parser.cells} == expected
    assert len({cell_id for _, _, cell_id in parser.cells}) == len(expected), "stage cell ids must be unique"

    assert misaligned_rows(geometry, ALL_STYLES) == []
    cells = {(c["stage"], c["style"]): c for c in geometry["cells"]}
    for (stage, style), cell in cells.items():
        assert cell["width"] > 250 and cell["height"] > 20, (stage, style, cell["width"], cell["height"])
        assert cell["hidden_px"] <= 1, f"{stage}/{style}: code cut off by {cell['hidden_px']} px"
        for block in full_view.stages[stage][style].blocks:  # every line of code reached the screen
            for line in filter(None, (ln.strip() for ln in block.text.splitlines())):
                assert line in cell["text"], (stage, style, line)
    assert geometry["page_overflow_px"] <= 1, "the page scrolls sideways"

    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and screenshot.stat().st_size > 50_000
    print(f"screenshot: {screenshot}")


@needs_chromium
def test_browser_check_catches_columns_that_do_not_align(tmp_path):
    """The same measurement on a page whose cells stack instead of sitting in rows must fail."""
    view = sidebyside_stages.build_view(REPORT_STYLES)
    broken = sidebyside.render(view, "html").replace("</style>", "td.stage-cell { display: block; }</style>")
    _, geometry = render_in_chromium(broken, tmp_path)
    assert any("tops" in problem for problem in misaligned_rows(geometry, REPORT_STYLES))
