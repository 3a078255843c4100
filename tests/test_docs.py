"""README.md and docs/: the front door stays short and true, and every copy of a generated output is current.

Everything here reads files inside this repository only. The generated blocks each have their
own keeper: docs/results/ (tests/test_bench_docs.py), docs/upgrade.md (tests/test_upgrade.py),
docs/pitfalls.md and the README's pitfall list (tests/test_pitfalls.py), docs/parity.md's example
(tests/test_parity_readme.py). This file keeps the README's shape, its links, its `tfparity
compare` output and its batch-100 table.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
DOCS = sorted((REPO / "docs").rglob("*.md"))
MAX_LINES = 200
MAX_WIDTH = 119  # "under 120 characters"
CPU_RESULTS = REPO / "docs" / "results" / "cpu.md"
B100_COLUMNS = [
    "style",
    "idiom",
    "ms/step median",
    "first step ms",
    "time to 0.91 s",
    "x TF1 feed_dict",
    "x NumPy floor",
]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def block(text: str, name: str, where: str) -> str:
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    assert begin in text and end in text, f"{where} lacks the {begin} / {end} markers"
    return text.split(begin, 1)[1].split(end, 1)[0]


def pipe_rows(text: str) -> list[list[str]]:
    """Every row of the Markdown pipe tables in `text` as stripped cells (separator rows dropped)."""
    rows = []
    for line in text.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            if not all(re.fullmatch(r":?-+:?", c) for c in cells):
                rows.append(cells)
    return rows


def ci_test_command() -> str:
    return (REPO / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()[-1]


# --- the README's shape ---------------------------------------------------------------------------


def test_readme_opens_with_the_two_commands_and_the_test_one_is_what_ci_runs():
    text = README.read_text(encoding="utf-8")
    first = re.search(r"```bash\n(.*?)```", text, re.S)
    assert first and text[: first.start()].count("\n") < 10, "README.md must open with its two commands"
    commands = [line for line in first.group(1).splitlines() if line and not line.startswith("#")]
    main_job = (
        "python3 -m venv .venv && .venv/bin/pip install -q -e . "
        "&& TFPARITY_DATA_DIR=../shared/data .venv/bin/tfparity compare"
    )
    assert commands == [main_job, ci_test_command()], (
        "README's first two commands: install and run `tfparity compare`; install and run the tests as .ci/run does"
    )


def test_readme_is_at_most_200_lines_of_under_120_characters():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_LINES, f"README.md has {len(lines)} lines; move detail to docs/"
    wide = [(n, len(line)) for n, line in enumerate(lines, 1) if len(line) > MAX_WIDTH and line != ci_test_command()]
    assert not wide, f"README.md lines of 120 characters or more (line, length): {wide}"


def slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
    return {slug(m.group(1)) for m in re.finditer(r"^#{1,6} (.+)$", text, re.M)}


@pytest.mark.parametrize("doc", [README, *DOCS], ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_resolves_inside_the_repository(doc):
    text = re.sub(r"```.*?```", "", doc.read_text(encoding="utf-8"), flags=re.S)
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):
            continue  # https://..., mailto:...
        path_part, _, anchor = target.partition("#")
        resolved = (doc.parent / path_part).resolve() if path_part else doc
        assert resolved.is_relative_to(REPO), f"{doc.name}: {target} leaves the repository"
        assert resolved.exists(), f"{doc.name}: {target} does not exist"
        if anchor and resolved.suffix == ".md":
            assert anchor in anchors(resolved), f"{doc.name}: {target}: no heading with that anchor in {resolved.name}"


def test_docs_folder_holds_the_documents_the_readme_promises():
    names = {str(p.relative_to(REPO / "docs")) for p in DOCS}
    assert {
        "styles.md",
        "benchmarks.md",
        "parity.md",
        "upgrade.md",
        "pitfalls.md",
        "results/README.md",
        "results/cpu.md",
        "results/gpu.md",
        "results/verdict-accuracy.md",
        "results/parity-cost.md",
    } <= names


@pytest.mark.parametrize(
    "doc, command",
    [
        ("docs/results/cpu.md", "tfparity bench --devices cpu --format markdown"),
        ("docs/results/gpu.md", "tfparity bench --format markdown"),
        ("docs/upgrade.md", "tfparity upgrade tests/fixtures/mnist_softmax.py --format markdown"),
        ("docs/pitfalls.md", "tfparity pitfalls --format markdown"),
        ("docs/results/verdict-accuracy.md", "python -m tfparity.benchmarks.verdict_accuracy --seeds 10"),
        ("docs/results/parity-cost.md", "python -m tfparity.benchmarks.parity_cost --seeds 5"),
    ],
)
def test_generated_documents_carry_their_command(doc, command):
    text = (REPO / doc).read_text(encoding="utf-8")
    first_marker = re.search(r"<!-- [\w-]+:begin -->", text)
    assert first_marker and command in text[: first_marker.start()], (
        f"{doc} must name `{command}` above its generated block"
    )


# --- the README's copies of measured output ------------------------------------------------------------


def test_readme_batch_100_table_copies_the_cpu_results():
    """The README's table is the batch-100 rows of docs/results/cpu.md, some columns of them, unchanged."""
    results = pipe_rows(block(CPU_RESULTS.read_text(encoding="utf-8"), "bench-cpu", "docs/results/cpu.md"))
    header = results[0]
    wanted = [
        [row[header.index(c)] for c in B100_COLUMNS]
        for row in results[1:]
        if len(row) == len(header) and row[header.index("batch")] == "100"
    ]
    shown = pipe_rows(block(README.read_text(encoding="utf-8"), "bench-cpu-b100", "README.md"))
    expected = "\n".join("| " + " | ".join(cells) + " |" for cells in wanted)
    assert shown[1:] == wanted, (
        f"README's batch-100 table does not copy docs/results/cpu.md; its rows should read:\n{expected}"
    )
    assert len(shown[0]) == len(B100_COLUMNS)


def test_readme_compare_output_is_current(mnist, capsys):
    """README's `tfparity compare` block is the default (text) output: the same header and note, and
    the same cells wherever they do not depend on the machine's speed (test accuracy, final loss,
    the parity verdict, and zero differences where bit-identical)."""
    from tfparity.benchmarks import cli

    stale = (
        "README's compare block is stale: run `tfparity compare` (defaults) and paste its table and note "
        "between the compare markers"
    )
    shown = block(README.read_text(encoding="utf-8"), "compare", "README.md")
    shown = shown.split("```text\n", 1)[1].split("```", 1)[0].splitlines()
    assert cli.main(["compare", "--data-dir", mnist.source, "-q"]) == 0
    printed = capsys.readouterr().out.splitlines()
    table_start = next(i for i, line in enumerate(printed) if line.startswith("style "))
    printed = printed[table_start:]  # the title line names the data's path: machine-specific
    assert len(shown) == len(printed) and shown[0].split() == printed[0].split(), stale
    body = shown.index("")  # the table ends at the blank line before the note
    assert shown[body + 1 :] == printed[body + 1 :], stale  # the note
    cells = [
        (re.split(r"\s{2,}", a.strip()), re.split(r"\s{2,}", b.strip()))
        for a, b in zip(shown[2:body], printed[2:body], strict=True)
    ]
    for was, now in cells:  # columns: style, test acc, final loss, max |dW|, max |db|, parity verdict, s, ms/step
        verdict = now[5].split(" (")[0]  # "within tolerance (0.066x)": the margin follows
        assert was[:3] == now[:3] and was[5].split(" (")[0] == verdict, f"{stale}\n{was}\n{now}"
        if verdict in ("reference", "bit-identical"):
            assert was[3] == was[4] == "0", stale
        else:
            assert verdict == "within tolerance", stale
            assert 0 < float(was[3]) <= 1e-5 and 0 < float(was[4]) <= 1e-5, stale


# --- statements about the code ---------------------------------------------------------------------------


def tfparity_imports(path: Path) -> set[str]:
    """The tfparity modules `path` imports (anywhere in it), `tfparity.compat.*` collapsed to `tfparity.compat`."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            package = REPO.joinpath(*node.module.split(".")[1:])
            names = [
                f"{node.module}.{alias.name}"
                if (package / f"{alias.name}.py").is_file() or (package / alias.name).is_dir()
                else node.module
                for alias in node.names
            ]
        else:
            continue
        for name in names:
            if name == "tfparity" or name.startswith("tfparity."):
                found.add("tfparity.compat" if name.startswith("tfparity.compat") else name)
    return found


def test_what_imports_what_is_as_docs_styles_says():
    layers = {
        "compat": {"tfparity.tf1_graph", "tfparity.tf2_eager", "tfparity.benchmarks"},
        "tf1_graph": {"tfparity.tf2_eager", "tfparity.benchmarks"},
        "tf2_eager": {"tfparity.tf1_graph", "tfparity.benchmarks"},
    }
    for folder, forbidden in layers.items():
        for path in sorted((REPO / folder).rglob("*.py")):
            wrong = {
                name for name in tfparity_imports(path) if name.split(".")[:2] in [f.split(".") for f in forbidden]
            }
            assert not wrong, f"{path.relative_to(REPO)} imports {sorted(wrong)}, against docs/styles.md"
    actual = {
        "tfparity." + ".".join(path.relative_to(REPO).with_suffix("").parts): sorted(tfparity_imports(path))
        for folder in ("tf1_graph", "tf2_eager")
        for path in sorted((REPO / folder).glob("*.py"))
        if path.name != "__init__.py"
    }
    documented = {
        cells[0].strip("`"): sorted(name.strip("` ") for name in cells[1].split(","))
        for cells in pipe_rows(
            block((REPO / "docs" / "styles.md").read_text(encoding="utf-8"), "imports", "docs/styles.md")
        )[1:]
    }
    expected = "\n".join(f"| `{m}` | {', '.join(f'`{n}`' for n in names)} |" for m, names in actual.items())
    assert documented == actual, f"docs/styles.md's import table is stale; its rows should read:\n{expected}"
