"""The scaling model (`benchmarks/scaling.py`) and its page, docs/scaling.md: the arithmetic, the measured
overhead it reads, its one-line errors, and the committed tables against what the command prints."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from tfparity.benchmarks import flops, scaling
from tfparity.benchmarks.bench_models import LAYERS

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "scaling.md"
COMMAND = "python -m tfparity.benchmarks.scaling --overhead-from docs/results/compare-replicas-2.json"


def compare_rows(tmp_path: Path, rows: object) -> str:
    path = tmp_path / "replicas.json"
    path.write_text(json.dumps(rows))
    return str(path)


def test_ring_all_reduce_moves_2_n_minus_1_over_n_of_the_gradients():
    assert scaling.ring_allreduce_bytes(1_000_000, 2) == 4_000_000  # float32: each replica sends it all once
    assert scaling.ring_allreduce_bytes(1_000_000, 4) == 6_000_000
    assert scaling.ring_allreduce_bytes(1_000_000, 1000) == pytest.approx(7_992_000)
    link = scaling.Link("test", gb_per_s=2.0, hop_us=10.0)
    # 2(N-1) = 6 steps of 10 us, then 6 MB over 2 GB/s
    assert scaling.allreduce_seconds(1_000_000, 4, link) == pytest.approx(6 * 10e-6 + 6e6 / 2e9)


def test_parameters_and_flops_come_from_the_models_and_flops_py():
    assert scaling.parameters("softmax") == 784 * 10 + 10
    assert scaling.parameters("mlp") == 784 * 512 + 512 + 512 * 10 + 10
    assert scaling.parameters("cnn") == 5 * 5 * 32 + 32 + 5 * 5 * 32 * 64 + 64 + 3136 * 1024 + 1024 + 1024 * 10 + 10
    assert scaling.flops_per_example("softmax") == 3 * 2 * 784 * 10  # forward and two backward matmuls
    for model in ("mlp", "cnn"):
        assert scaling.flops_per_example(model) == flops.train_step_flops(LAYERS[model], 1)


def test_at_the_break_even_batch_compute_equals_the_all_reduce():
    each = scaling.flops_per_example("cnn")
    comm = scaling.allreduce_seconds(scaling.parameters("cnn"), 8, scaling.LINKS[1])
    batch = scaling.break_even_batch(comm, each, 20.0)
    assert scaling.compute_seconds(each, batch, 20.0) == pytest.approx(comm)
    assert scaling.break_even_batch(comm, each, 40.0) == pytest.approx(2 * batch)  # a faster device needs more


@pytest.mark.parametrize("model", scaling.SCALED_MODELS)
@pytest.mark.parametrize("replica_count", [2, 8])
def test_break_even_grows_as_the_link_slows(model, replica_count):
    links = sorted(scaling.LINKS, key=lambda k: (k.gb_per_s, -k.hop_us), reverse=True)
    assert [k.name for k in links] == [k.name for k in scaling.LINKS], "LINKS run from the fastest link down"
    params, each = scaling.parameters(model), scaling.flops_per_example(model)
    batches = [scaling.break_even_batch(scaling.allreduce_seconds(params, replica_count, k), each, 20.0) for k in links]
    assert batches == sorted(batches) and len(set(batches)) == len(batches), batches


def test_the_overhead_is_each_variant_over_the_one_device_tf1_graph(tmp_path):
    rows = [
        {"model": "softmax", "style": "tf1_graph", "ms_per_step": 1.25, "replicas": 1},
        {"model": "softmax", "style": "towers", "ms_per_step": 2.5, "replicas": 2},
        {"model": "softmax", "style": "mirrored", "ms_per_step": 4.0, "replicas": 2},
        {"model": "mlp", "style": "mirrored", "ms_per_step": 9.0, "replicas": 2},  # no mlp reference: not usable
        {"model": "softmax", "style": "eager", "ms_per_step": 9.0},  # not a data-parallel variant
    ]
    path = compare_rows(tmp_path, rows)
    assert scaling.read_overheads(path) == {"softmax": {"towers": 1.25, "mirrored": 2.75}}


def test_the_measured_overhead_moves_the_break_even(tmp_path, capsys):
    path = compare_rows(
        tmp_path, [{"style": "tf1_graph", "ms_per_step": 1.0}, {"style": "mirrored", "ms_per_step": 2.0}]
    )
    assert scaling.main(["--overhead-from", path, "--replicas", "2"]) == 0
    rows = [line.split(" | ") for line in capsys.readouterr().out.splitlines() if line.startswith("| softmax | NVLink")]
    [row] = rows
    each = scaling.flops_per_example("softmax")
    comm = scaling.allreduce_seconds(scaling.parameters("softmax"), 2, scaling.LINKS[0])
    expected = scaling.break_even_batch(comm + 1e-3, each, scaling.DEFAULT_TFLOPS)  # 1 ms more per step
    assert row[-1].strip(" |") == f"{int(-(-expected // 1)):,}"
    assert scaling.main(["--replicas", "2"]) == 0
    assert "not measured" in capsys.readouterr().out


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "No such file"),
        ("{not json", "not JSON"),
        ('{"style": "mirrored"}', "not a list of compare rows"),
        ('[{"style": "mirrored", "ms_per_step": 2.0}]', "no replicated row beside its one-device tf1_graph row"),
    ],
)
def test_a_bad_overhead_file_is_one_line_and_exit_2(tmp_path, capsys, content, message):
    path = tmp_path / "replicas.json"
    if content is not None:
        path.write_text(content)
    assert scaling.main(["--overhead-from", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"scaling: error: --overhead-from {path}: ") and message in err
    assert err.count("\n") == 1, err


def test_replica_counts_below_2_are_refused(capsys):
    assert scaling.main(["--replicas", "1"]) == 2
    assert "at least 2 replicas" in capsys.readouterr().err


def test_docs_scaling_md_is_what_its_command_prints(capsys):
    text = DOC.read_text(encoding="utf-8")
    begin, end = "<!-- scaling:begin -->\n", "<!-- scaling:end -->"
    assert COMMAND in text[: text.index(begin)], f"docs/scaling.md must name `{COMMAND}` above its block"
    argv = shlex.split(COMMAND)[3:]
    argv[argv.index("--overhead-from") + 1] = str(REPO / argv[argv.index("--overhead-from") + 1])
    assert scaling.main(argv) == 0
    block = text.split(begin, 1)[1].split(end, 1)[0]
    assert block == capsys.readouterr().out, f"docs/scaling.md is stale: regenerate its block with `{COMMAND}`"


def test_across_machines_gives_a_tf_config_for_two_workers_on_two_hosts():
    text = DOC.read_text(encoding="utf-8").split("## Across machines", 1)[1]
    configs = [json.loads(m) for m in re.findall(r"TF_CONFIG='([^']+)'", text)]
    assert [c["task"] for c in configs] == [{"type": "worker", "index": 0}, {"type": "worker", "index": 1}]
    assert all(c["cluster"] == {"worker": ["host1:12345", "host2:12345"]} for c in configs)
    assert "MultiWorkerMirroredStrategy" in text and "python -m tfparity.benchmarks.workers" in text
