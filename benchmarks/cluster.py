"""A cluster of task processes on localhost, supervised: free ports, a stated timeout, nothing left behind.

`launch(tasks, timeout_s)` starts one process per task (each in its own process group, its
output in a file), then watches them: the run succeeds when every task that must finish (the
workers) has exited 0; it fails as soon as one of them exits otherwise (a crash, a kill, a task
that never started), or when the timeout passes, with the task named, its exit and the last line
it wrote. Whatever happens, every task's process group is killed and reaped before `launch`
returns or raises: parameter servers, which serve until stopped, included; and each task is
started with `PR_SET_PDEATHSIG`, so that it dies with the launcher even when no `finally` runs.
"""

from __future__ import annotations

import ctypes
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

POLL_S = 0.1
PR_SET_PDEATHSIG = 1  # prctl(2)


class ClusterFailed(RuntimeError):
    """A task died, never started, or the run outlived its timeout; the message names the task."""


@dataclass
class Task:
    """One process of the cluster: `name` ('worker 0', 'ps 0'), its command line, its environment."""

    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    must_finish: bool = True  # False for a ps: it serves until stopped


def free_ports(count: int) -> list[int]:
    """Ports the kernel says are free now, all bound at once so that no two are the same."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("localhost", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def localhost_cluster(jobs: dict[str, int]) -> dict[str, list[str]]:
    """{'worker': 2, 'ps': 1} -> {'worker': ['localhost:P1', 'localhost:P2'], 'ps': ['localhost:P3']}."""
    ports = iter(free_ports(sum(jobs.values())))
    return {job: [f"localhost:{next(ports)}" for _ in range(n)] for job, n in jobs.items() if n}


# A task that could not bind its port: another process took it between `free_ports` and the task's own bind
# (the ports are free when drawn, not reserved). Python's words, and gRPC's as TensorFlow's server reports them.
PORT_TAKEN = re.compile(r"address already in use|could not start (?:the )?(?:grpc )?server", re.IGNORECASE)
PORT_ATTEMPTS = 3


def launch_on_localhost(
    jobs: dict[str, int], make_tasks: Callable[[dict[str, list[str]]], Sequence[Task]], timeout_s: float, *,
    on_started: Callable[[dict[str, int]], None] | None = None, attempts: int = PORT_ATTEMPTS,
) -> float:  # fmt: skip
    """`launch(make_tasks(cluster), ...)` on a fresh localhost cluster for `jobs`; on fresh ports again, up
    to `attempts` times in all, when a task failed because its port was taken. Any other failure raises."""
    for attempt in range(1, attempts + 1):
        try:
            return launch(make_tasks(localhost_cluster(jobs)), timeout_s, on_started=on_started)
        except ClusterFailed as failure:
            if attempt == attempts or not PORT_TAKEN.search(str(failure)):
                raise
    raise AssertionError("unreachable")


def _exit_words(code: int) -> str:
    if code < 0:
        return f"was killed by {signal.Signals(-code).name}"
    return f"exited with status {code}"


# TensorFlow's start-up and deprecation chatter: never the line that says why a task ended
NOISE = re.compile(
    r"^(?:[EWI]\d{4} |WARNING|Instructions for updating|To construct input pipelines|To enable the following|"
    r"This TensorFlow binary|Traceback|\s)"
)
PYTHON_ERROR = re.compile(r"^[\w.]+(?:Error|Exception|Exit)\b")


def _last_line(path: Path) -> str:
    """The task's own last word: its Python error if it raised one, else its last line that is not noise."""
    lines = [line.rstrip() for line in path.read_text(errors="replace").splitlines() if line.strip()]
    errors = [line for line in lines if PYTHON_ERROR.match(line)]
    said = [line for line in lines if not NOISE.match(line)]
    chosen = errors[-1] if errors else said[-1] if said else "(nothing but TensorFlow's start-up messages)"
    return chosen[:300]


def _die_with_launcher() -> None:
    """In the task, before exec: Linux sends it SIGKILL when the launching process dies, however it dies."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the launcher's `finally` is all there is
        pass


def _stop(procs: dict[str, subprocess.Popen]) -> None:
    """Kill every task's process group and reap it: no process outlives the run."""
    for proc in procs.values():
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    for proc in procs.values():
        proc.wait()


def launch(
    tasks: Sequence[Task], timeout_s: float, *, on_started: Callable[[dict[str, int]], None] | None = None
) -> float:
    """Run the tasks to completion; returns the seconds it took. `on_started` gets {task name: pid}."""
    procs: dict[str, subprocess.Popen] = {}
    logs: dict[str, Path] = {}
    with tempfile.TemporaryDirectory(prefix="tfparity-cluster-") as folder:
        start = time.monotonic()
        try:
            for task in tasks:
                logs[task.name] = Path(folder) / f"{task.name.replace(' ', '-')}.log"
                with open(logs[task.name], "wb") as log:
                    procs[task.name] = subprocess.Popen(
                        task.argv, env={**os.environ, **task.env}, stdout=log, stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=_die_with_launcher,
                    )  # fmt: skip
            if on_started:
                on_started({name: proc.pid for name, proc in procs.items()})
            _watch(tasks, procs, logs, start, timeout_s)
            return time.monotonic() - start
        finally:
            _stop(procs)


def _watch(tasks: Sequence[Task], procs: dict, logs: dict, start: float, timeout_s: float) -> None:
    waiting = {t.name for t in tasks if t.must_finish}
    while waiting:
        for task in tasks:
            code = procs[task.name].poll()
            if code is None:
                continue
            if code != 0 or not task.must_finish:
                elapsed = time.monotonic() - start
                raise ClusterFailed(
                    f"{task.name} (pid {procs[task.name].pid}) {_exit_words(code)} after {elapsed:.1f} s: "
                    f"{_last_line(logs[task.name])}; the other tasks were stopped"
                )
            waiting.discard(task.name)
        if waiting and time.monotonic() - start > timeout_s:
            names = ", ".join(sorted(waiting))
            raise ClusterFailed(
                f"no result within the {timeout_s:.0f} s timeout: {names} still running; every task was stopped "
                "(raise the timeout for a longer run)"
            )
        time.sleep(POLL_S)
