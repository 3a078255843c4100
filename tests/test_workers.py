"""Multi-process data parallelism (issue 19): TF1 between-graph and MultiWorkerMirroredStrategy on localhost.

Each variant's cluster (M workers, and a parameter server for TF1) trains the shared plan's global
batches, a slice per worker; synchronous training must equal the single-device TF1 run to 1e-5.
A task that dies, never starts or outlives the timeout fails the run with the task named, and no
process of the cluster outlives it.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tfparity.benchmarks import cli, cluster, compare_replicas, idioms, replicas, workers
from tfparity.compat import TrainConfig


def run_compare(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main(["compare", *argv])
    return status, out.getvalue(), err.getvalue()


def gone(pid: int) -> bool:
    """True when no process and no process group of that id is left (the cluster reaps and kills both); a
    zombie whose parent has not reaped it yet (init, after SIGKILL took the launcher) runs nothing."""
    try:
        if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return True
    except OSError:
        pass
    for probe in (os.kill, os.killpg):
        try:
            probe(pid, 0)
            return False
        except ProcessLookupError:
            pass
    return True


def python_task(name: str, code: str, must_finish: bool = True) -> cluster.Task:
    return cluster.Task(name, [sys.executable, "-c", code], must_finish=must_finish)


def test_every_multi_process_variant_equals_its_single_device_run_for_both_models(mnist):
    status, text, err = run_compare("--workers", "2", "--model", "all", "--steps", "20", "-q", "--format", "json")
    assert status == 0, err
    rows = json.loads(text)
    assert [(r["model"], r["style"]) for r in rows] == [
        (m, s) for m in workers.MODELS for s in (idioms.REFERENCE, *workers.VARIANTS)
    ]
    for row in rows:
        assert row["same_batches"] and row["finite"], row
        if row["style"] != idioms.REFERENCE:
            assert row["workers"] == 2 and row["verdict"] == "parity", row
            assert max(row["max_abs_dw"], row["max_abs_db"]) <= 1e-5, row
            reference = next(r for r in rows if r["model"] == row["model"] and r["style"] == idioms.REFERENCE)
            assert row["test_accuracy"] == pytest.approx(reference["test_accuracy"])
            assert row["final_loss"] == pytest.approx(reference["final_loss"], rel=1e-5)  # the global batch's loss


@pytest.mark.parametrize("variant", list(workers.VARIANTS))
def test_a_killed_worker_fails_the_run_in_time_naming_it_and_leaves_no_process(mnist, variant):
    config = TrainConfig.for_model("softmax", steps=100_000)  # far longer than the test waits
    started: dict[str, int] = {}

    def kill_worker_1(pids: dict[str, int]) -> None:
        started.update(pids)
        threading.Timer(6.0, os.kill, (pids["worker 1"], signal.SIGKILL)).start()

    begin = time.monotonic()
    with pytest.raises(cluster.ClusterFailed, match=r"^worker 1 \(pid \d+\) was killed by SIGKILL after"):
        workers.run_workers(variant, config, 2, timeout_s=120, on_started=kill_worker_1)
    assert time.monotonic() - begin < 60, "the survivors should be stopped as soon as worker 1 dies"
    assert set(started) == {"worker 0", "worker 1"} | ({"ps 0"} if variant == "between_graph" else set())
    assert all(gone(pid) for pid in started.values()), started


def test_a_task_that_never_starts_is_named_with_its_exit_and_last_line():
    tasks = [
        python_task("worker 0", "import time; time.sleep(60)"),
        python_task("worker 1", "import sys; print('cannot bind localhost:1234'); sys.exit(3)"),
    ]
    pids: dict[str, int] = {}
    with pytest.raises(cluster.ClusterFailed) as failure:
        cluster.launch(tasks, timeout_s=30, on_started=pids.update)
    message = str(failure.value)
    assert message.startswith("worker 1 (pid") and "exited with status 3" in message, message
    assert "cannot bind localhost:1234" in message and len(message.splitlines()) == 1
    assert all(gone(pid) for pid in pids.values())


def test_a_parameter_server_that_stops_early_fails_the_run():
    tasks = [python_task("worker 0", "import time; time.sleep(60)"), python_task("ps 0", "pass", must_finish=False)]
    with pytest.raises(cluster.ClusterFailed, match=r"^ps 0 \(pid \d+\) exited with status 0"):
        cluster.launch(tasks, timeout_s=30)


def test_a_cluster_past_its_timeout_names_the_tasks_still_running_and_stops_them():
    tasks = [python_task("worker 0", "pass"), python_task("worker 1", "import time; time.sleep(60)")]
    pids: dict[str, int] = {}
    begin = time.monotonic()
    with pytest.raises(cluster.ClusterFailed, match="no result within the 1 s timeout: worker 1 still running"):
        cluster.launch(tasks, timeout_s=1, on_started=pids.update)
    assert time.monotonic() - begin < 10
    assert all(gone(pid) for pid in pids.values())


def test_a_finished_cluster_returns_and_its_servers_are_stopped():
    tasks = [python_task("worker 0", "pass"), python_task("ps 0", "import time; time.sleep(60)", must_finish=False)]
    pids: dict[str, int] = {}
    assert cluster.launch(tasks, timeout_s=30, on_started=pids.update) < 30
    assert gone(pids["ps 0"])


BIND = "import socket, sys; s = socket.socket(); s.bind(('localhost', int(sys.argv[1].split(':')[1])))"


def binding_tasks(drawn: list[dict]):
    """make_tasks for launch_on_localhost: each worker binds its cluster address, as a TensorFlow server does."""

    def make(spec: dict[str, list[str]]) -> list[cluster.Task]:
        drawn.append(spec)
        return [cluster.Task(f"worker {i}", [sys.executable, "-c", BIND, a]) for i, a in enumerate(spec["worker"])]

    return make


def test_a_port_taken_before_its_task_binds_it_is_drawn_again(monkeypatch):
    taken = socket.socket()
    taken.bind(("localhost", 0))
    taken.listen()
    real_free_ports = cluster.free_ports
    draws = iter([[taken.getsockname()[1], real_free_ports(1)[0]]])  # the first draw loses worker 0's port
    monkeypatch.setattr(cluster, "free_ports", lambda count: next(draws, None) or real_free_ports(count))
    drawn: list[dict] = []
    with taken:
        assert cluster.launch_on_localhost({"worker": 2}, binding_tasks(drawn), timeout_s=30) < 30
    assert len(drawn) == 2 and drawn[0] != drawn[1]


def test_a_port_that_stays_taken_fails_after_the_attempts_and_other_failures_at_once(monkeypatch):
    taken = socket.socket()
    taken.bind(("localhost", 0))
    taken.listen()
    port = taken.getsockname()[1]
    monkeypatch.setattr(cluster, "free_ports", lambda count: [port] * count)
    drawn: list[dict] = []
    with taken, pytest.raises(cluster.ClusterFailed, match="Address already in use"):
        cluster.launch_on_localhost({"worker": 1}, binding_tasks(drawn), timeout_s=30)
    assert len(drawn) == cluster.PORT_ATTEMPTS
    failing = [python_task("worker 0", "import sys; print('cannot open the data'); sys.exit(3)")]
    calls: list[dict] = []
    with pytest.raises(cluster.ClusterFailed, match="cannot open the data"):
        cluster.launch_on_localhost({"worker": 1}, lambda spec: calls.append(spec) or failing, timeout_s=30)
    assert len(calls) == 1  # not a port: no second attempt


def test_free_ports_are_distinct_and_bindable():
    ports = cluster.free_ports(8)
    assert len(set(ports)) == 8 and all(1024 <= p < 65536 for p in ports)
    spec = cluster.localhost_cluster({"worker": 2, "ps": 1})
    assert [len(spec["worker"]), len(spec["ps"])] == [2, 1]
    assert len({*spec["worker"], *spec["ps"]}) == 3


def test_compare_times_out_with_the_tasks_named_and_exit_1(mnist):
    status, _, err = run_compare("--workers", "2", "--steps", "3000", "--timeout", "3", "-q")
    assert status == 1  # each cluster takes longer than 3 s to start; the one-device reference does not
    assert "between_graph: ClusterFailed: no result within the 3 s timeout: worker 0, worker 1" in err, err
    assert "multi_worker: ClusterFailed: no result within the 3 s timeout" in err, err


def test_the_weights_verdict_calls_a_difference_and_disagreeing_workers_out():
    row = {"style": "multi_worker", "max_abs_dw": 2e-5, "max_abs_db": 0.0}
    assert compare_replicas.judge_weights(row)["verdict"] == "differs"
    assert compare_replicas.judge_weights({**row, "max_abs_dw": 1e-5})["verdict"] == "parity"

    class Run:
        extra = {"workers_agree": False}

    judged = compare_replicas.judged(dict(row, max_abs_dw=0.0), Run(), 2, 2)
    assert judged["verdict"] == "bug" and "different variables" in judged["verdict_detail"]
    assert compare_replicas.problems([judged]) == 1


def test_every_data_parallel_variant_has_one_module_for_sidebyside():
    assert set(idioms.REPLICA_MODULES) == set(replicas.VARIANTS) | set(workers.VARIANTS)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--workers", "1"], "--workers 1: data parallelism needs at least 2 workers"),
        (["--workers", "64"], "--workers 64: at most 8 processes on one machine"),
        (["--workers", "2", "--replicas", "2"], "give one"),
        (["--workers", "3"], "does not split into 3 equal slices"),
        (["--workers", "2", "--model", "cnn"], "covers the models"),
        (["--workers", "2", "--timeout", "0"], "--timeout 0: give a positive, finite number"),
        (["--timeout", "30"], "--timeout bounds a --workers run"),
        (["--workers", "2", "--timeout", "nan"], "--timeout nan: give a positive, finite number"),
        (["--workers", "2", "--device", "gpu"], "logical CPU devices or CPU processes only"),
        (["--replicas", "2", "--dataset", "fashion_mnist"], "--dataset fashion_mnist: --replicas trains MNIST only"),
        (["--workers", "2", "--loss", "sum"], "--loss sum: the data-parallel variants train the mean"),
        (["--replicas", "2", "--tutorial"], "the data-parallel variants train the mean"),
    ],
)
def test_bad_worker_input_is_one_line_exit_2_before_any_training(argv, message):
    status, out, err = run_compare(*argv, "-q")
    assert status == 2 and out == "" and message in err and len(err.strip().splitlines()) == 1, err


def test_beyond_1e5_a_run_bit_identical_to_its_in_process_twin_takes_the_twin_s_verdict(monkeypatch):
    """A float32-sensitive run parts from TF1 beyond 1e-5; its twin's envelope, not 1e-5, decides then."""
    import argparse

    import numpy as np

    from tfparity.compat import RunResult

    config = TrainConfig.for_model("softmax", steps=2)
    weights = {"W": np.ones((784, 10), np.float32), "b": np.zeros(10, np.float32)}
    timing = {"test_accuracy": 0.9, "steps": 2, "seconds": 1.0, "ms_per_step": 1.0}
    reference = RunResult(
        style="tf1_graph", config=config, weights={k: v * 0 for k, v in weights.items()}, losses=np.zeros(2), **timing
    )
    run = RunResult(
        style="between_graph",
        config=config,
        weights=dict(weights),
        losses=np.zeros(2),
        extra={"workers_agree": True},
        **timing,
    )
    sensitive = {"verdict": "sensitive", "verdict_detail": "sensitive, no bug (0.04x envelope)", "margin": None}
    twins: list = []

    def fake_twin(variant, config, replicas, data_dir=None, *, verdict=False, **_):
        twins.append((variant, replicas, verdict))
        twin = RunResult(style="towers", config=config, weights=dict(weights), losses=np.zeros(2), **timing)
        twin.extra["verdict"] = sensitive
        return twin

    monkeypatch.setattr(replicas, "run_variant", fake_twin)
    args = argparse.Namespace(workers=2, data_dir=None, quiet=True, no_verify=False, timeout=None)
    found = compare_replicas.twin_verdicts({idioms.REFERENCE: reference, "between_graph": run}, config, args)
    assert twins == [("towers", 2, True)]
    row = compare_replicas.judged({"style": "between_graph", "max_abs_dw": 1.0, "max_abs_db": 0.0}, run, 2, 2,
                                  found["between_graph"])  # fmt: skip
    assert row["verdict"] == "sensitive" and row["verdict_detail"].startswith("as towers, bit-identical")

    run.weights["W"] = run.weights["W"] + np.float32(1e-3)  # no longer the twin's arithmetic: it differs
    found = compare_replicas.twin_verdicts({idioms.REFERENCE: reference, "between_graph": run}, config, args)
    assert found == {"between_graph": None}
    row = compare_replicas.judged({"style": "between_graph", "max_abs_dw": 1.0, "max_abs_db": 0.0}, run, 2, 2, None)
    assert row["verdict"] == "differs" and compare_replicas.problems([row]) == 1


def test_a_task_s_own_error_is_named_not_tensorflow_s_start_up_lines(tmp_path):
    log = tmp_path / "worker-1.log"
    log.write_text(
        "E0000 00:00:17 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error\n"
        'Traceback (most recent call last):\n  File "x.py", line 1, in <module>\n'
        "ValueError: the between-graph style trains the mean cross-entropy\n"
        "WARNING:tensorflow:From x.py:18: SyncReplicasOptimizer.__init__ is deprecated\n"
        "To construct input pipelines, use the `tf.data` module.\n"
    )
    assert cluster._last_line(log) == "ValueError: the between-graph style trains the mean cross-entropy"
    log.write_text("I0000 00:00:17 cpu_feature_guard.cc:210] This TensorFlow binary is optimized\nbound port 5\n")
    assert cluster._last_line(log) == "bound port 5"


def children_of(pid: int) -> set[int]:
    """Every process whose parent is `pid` (from /proc: no psutil here)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_stopping_the_command_stops_its_cluster(mnist, stop):
    """SIGTERM unwinds like Ctrl-C (exit 130); even SIGKILL, which runs no code, takes the tasks with it."""
    # 3,000 steps: the one-device reference trains in seconds, the cluster far longer than the test waits
    argv = [sys.executable, "-m", "tfparity", "compare", "--workers", "2", "--steps", "3000", "-q"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline, tasks = time.monotonic() + 120, set()
        while len(tasks) < 3 and time.monotonic() < deadline:  # the one-device run, then a ps and 2 workers
            time.sleep(0.5)
            tasks = children_of(proc.pid)
        assert len(tasks) >= 3, "the cluster never started"
        proc.send_signal(stop)
        _, err = proc.communicate(timeout=60)
        if stop == signal.SIGTERM:
            assert proc.returncode == 130 and "interrupted" in err, err
        deadline = time.monotonic() + 30
        while not all(gone(pid) for pid in tasks) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert all(gone(pid) for pid in tasks), f"left behind: {tasks}"
    finally:
        proc.kill()
        proc.wait()
