"""The softmax suite's ceilings: what a step must do, what the machine can, and the fractions the report shows.

The rates are measurements, never asserted beyond being positive and consistent with the work
they were measured on; the fractions are checked against numbers made up here.
"""

from __future__ import annotations

import pytest

from tfparity.benchmarks import flops

CEILINGS = {  # as flops.machine_ceilings returns them: round numbers, so that every fraction is exact
    "matmul_tf": {
        "op": "matmul",
        "shape": "(2048, 2048) @ (2048, 2048)",
        "device": "cpu",
        "gflops": 62.72,
        "seconds": 1,
    },
    "matmul_numpy": {
        "op": "matmul (NumPy)",
        "shape": "(2048, 2048) @ (2048, 2048)",
        "device": "cpu",
        "gflops": 31.36,
        "seconds": 1,
    },
    "bandwidth_numpy": {"source": "copy (NumPy)", "mib": 256.0, "gbps": 6.352, "seconds": 1},
    "bandwidth_tf": {"source": "in-place add (TensorFlow)", "mib": 256.0, "gbps": 3.0, "seconds": 1},
}


def test_a_softmax_step_is_its_forward_product_and_weight_gradient_and_its_batch():
    # The issue's figures: about 3.1 MFLOP and a 313 KB batch of images (plus 4 KB of labels) at batch 100.
    assert flops.softmax_step_flops(100) == 2 * (2 * 100 * 784 * 10) == 3_136_000
    assert flops.softmax_step_flops(1000) == 10 * flops.softmax_step_flops(100)
    assert flops.softmax_step_bytes(100) == 100 * 784 * 4 + 100 * 10 * 4 == 317_600
    assert flops.softmax_step_bytes(100, image_bytes=1) == 100 * 784 + 100 * 10 * 4 == 82_400  # uint8 pixels


def test_hardware_use_divides_the_stated_work_by_the_time_and_the_ceilings():
    use = flops.hardware_use(3_136_000, 317_600, 0.1, CEILINGS)  # 0.1 ms a step
    assert use["gflops"] == pytest.approx(31.36) and use["gbps"] == pytest.approx(3.176)
    assert use["of_matmul_tf"] == pytest.approx(0.5) and use["of_matmul_numpy"] == pytest.approx(1.0)
    assert use["of_bandwidth"] == pytest.approx(0.5)  # against the higher of the two bandwidths


def test_numpy_matmul_ceiling_is_the_tensorflow_ceilings_product_timed_in_numpy():
    ceiling = flops.measure_numpy_matmul(repeats=2, scale=1 / 16)
    assert ceiling.shape == flops.measure_ceiling("matmul", repeats=1, scale=1 / 16).shape == "(128, 128) @ (128, 128)"
    assert ceiling.seconds > 0 and ceiling.gflops * ceiling.seconds * 1e9 == pytest.approx(2 * 128**3)


@pytest.mark.parametrize(("source", "passes"), [("numpy", 2), ("tensorflow", 3)])
def test_bandwidth_counts_every_byte_read_and_written(source, passes):
    bandwidth = flops.measure_bandwidth(source, repeats=2, scale=1 / 256)  # 1 MiB
    assert bandwidth.mib == 1.0 and bandwidth.seconds > 0
    assert bandwidth.gbps * bandwidth.seconds * 1e9 == pytest.approx(passes * 2**20)
    with pytest.raises(ValueError, match="source must be one of"):
        flops.measure_bandwidth("memcpy")


def test_machine_ceilings_measure_all_four_once():
    ceilings = flops.machine_ceilings(repeats=1, scale=1 / 64)
    assert set(ceilings) == set(CEILINGS)
    for name, measured in ceilings.items():
        assert set(measured) == set(CEILINGS[name]), name
        assert measured.get("gflops", measured.get("gbps")) > 0, name


def suite_run(infos: list[dict]):
    """A SuiteRun whose pytest-benchmark JSON holds these extra_infos, every case passed."""
    from tfparity.benchmarks import benchrunner, idioms

    benchmarks = [
        {
            "params": {k: info[k] for k in ("style", "idiom", "device", "batch_size")},
            "extra_info": info,
            "stats": {"median": 1.0},
        }
        for info in infos
    ]
    outcomes = {idioms.case_id(i["style"], i["idiom"], i["device"], i["batch_size"]): ("passed", "") for i in infos}
    data = {
        "benchmarks": benchmarks,
        "machine_info": {},
        "tfparity": {"floor": "float32 throughout; (the floor's settings)", "runtime": {"TF_NUM_INTRAOP_THREADS": "1"}},
    }
    return benchrunner.SuiteRun(returncode=0, output="", outcomes=outcomes, benchmark_json=data)


def test_report_shows_each_cpu_cases_share_of_the_ceilings():
    from tfparity.benchmarks import benchrender, benchstats, idioms

    def info(idiom: str, device: str, ms: float) -> dict:
        return {
            "style": "function",
            "idiom": idiom,
            "device": device,
            "batch_size": 100,
            "ms_per_step_median": ms,
            "flops_per_step": flops.softmax_step_flops(100),
            "bytes_per_step": flops.softmax_step_bytes(100),
            "ceilings": CEILINGS,
        }

    cases = idioms.select(
        styles=["function"], idioms=["whole_epoch_xla", "closed_form_transposed_xla"], batch_sizes=[100]
    )
    suite = suite_run(
        [
            info("whole_epoch_xla", "cpu", 0.2),
            info("closed_form_transposed_xla", "cpu", 0.1),
            info("whole_epoch_xla", "gpu", 0.1),
        ]
    )
    report = benchstats.build_report(cases, suite, "kept.json")
    rows = {(r["idiom"], r["device"]): r for r in report["cases"]}
    assert report["ceilings"] == CEILINGS
    assert rows["closed_form_transposed_xla", "cpu"]["of_matmul_tf"] == pytest.approx(0.5)
    assert rows["whole_epoch_xla", "cpu"]["of_matmul_tf"] == pytest.approx(0.25)
    assert rows["whole_epoch_xla", "cpu"]["of_bandwidth"] == pytest.approx(0.25)
    assert rows["whole_epoch_xla", "gpu"]["gflops"] is None  # the ceilings are the CPU's
    markdown = benchrender.render(report, "markdown")
    assert "- ceilings (CPU, measured once in this run): tf.matmul (2048, 2048) @ (2048, 2048) 62.7 GFLOP/s" in markdown
    assert "a softmax step: 3.14 MFLOP (forward and weight gradient) and 318 KB (its batch, read once)" in markdown
    assert "- NumPy floor: float32 throughout; (the floor's settings)" in markdown
    assert "- runtime settings: TF_NUM_INTRAOP_THREADS=1 " in markdown
    assert (
        "| function | closed_form_transposed_xla | cpu      | 100     | 31.4      | 0.500         | 1.000" in markdown
    )
    hardware = markdown.split("**Hardware use")[1].split("\n\n")[1].splitlines()[2:]  # the table's rows
    assert [line.split("|")[2].strip() for line in hardware] == ["whole_epoch_xla", "closed_form_transposed_xla"]
    assert all(line.split("|")[3].strip() == "cpu" for line in hardware)  # no row for the GPU case


def test_a_report_without_ceilings_has_no_hardware_table():
    from tfparity.benchmarks import benchrender, benchstats, idioms

    info = {"style": "numpy", "idiom": "floor", "device": "cpu", "batch_size": 100, "ms_per_step_median": 0.1}
    report = benchstats.build_report(idioms.select(idioms=["floor"], batch_sizes=[100]), suite_run([info]), "kept.json")
    assert report["ceilings"] is None and report["cases"][0]["gflops"] is None
    text = benchrender.render(report, "table")
    assert "Hardware use" not in text and "ceilings (CPU" not in text
