"""Executors: they take run specifications and return records.

An executor needs only `run(tasks) -> list of records`, so a grid can be
sent somewhere else (a cluster, a queue) by adding another class here. The
local executor starts one worker process per run, because Keras fixes its
backend at import, and a run that crashes then takes nothing else with it.
"""

import collections
import concurrent.futures
import dataclasses
import logging
import os
import pathlib
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import backends
from bench import provenance, records
from bench.config import RunSpec

logger = logging.getLogger(__name__)

LOG_TAIL_LINES = 20
BACKEND_PROBE_SECONDS = 300
# Lines that the worker's own logger printed; everything else (framework
# start-up notices) goes to worker.log only.
WORKER_LOG_LINE = re.compile(r"^\d\d:\d\d:\d\d (INFO|WARNING|ERROR|CRITICAL) ")


def model_record(spec: RunSpec) -> dict[str, Any]:
    """Return a new record for the model run `spec`, with its settings and provenance."""
    record = records.new_record(spec.run_id, "model", spec.dataset, spec.architecture, spec.backend)
    record.update(
        {
            "seed": spec.seed,
            "profile": spec.profile.name,
            "fingerprint": spec.fingerprint(),
            "spec": spec.to_dict(),
            "provenance": provenance.collect(backends.get_backend(spec.backend).PACKAGES),
        }
    )
    return record


def unfinished_record(spec: RunSpec, status: str, reason: str) -> dict[str, Any]:
    """Return the record of a run that was skipped, or that ended without writing its own."""
    record = model_record(spec)
    record["status"] = status
    record["reason"] = reason
    return record


class LocalProcessExecutor:
    """Run each specification in its own Python process on this machine.

    Args:
        output_dir: the output folder; each run gets `runs/<run_id>/` in it.
        jobs: number of runs at the same time.
        python: the interpreter that runs the workers.
    """

    def __init__(self, output_dir: pathlib.Path, jobs: int = 1, python: str = sys.executable):
        if jobs < 1:
            raise ValueError(f"jobs must be at least 1, received {jobs}.")
        self.output_dir = output_dir
        self.jobs = jobs
        self.python = python
        self._lock = threading.Lock()
        self._finished = 0
        self._processes: set[subprocess.Popen] = set()
        self._stopping = False

    def run(self, specs: list[RunSpec]) -> list[dict[str, Any]]:
        """Run every specification and return their records in the same order."""
        self._finished = 0
        logger.info("%d job(s) at a time on this machine", self.jobs)
        with concurrent.futures.ThreadPoolExecutor(max_workers=self.jobs) as pool:
            futures = [pool.submit(self._run_one, spec, len(specs)) for spec in specs]
            try:
                return [future.result() for future in futures]
            except KeyboardInterrupt:
                for future in futures:
                    future.cancel()
                self._stop_workers()
                raise

    def check_backend(self, name: str) -> str | None:
        """Return None if Keras starts on backend `name` here, else the reason it does not."""
        return backends.get_backend(name).unavailable_reason() or probe_backend(self.python, name)

    def _stop_workers(self) -> None:
        with self._lock:
            self._stopping = True
            running = list(self._processes)
        for process in running:
            process.terminate()

    def _run_one(self, spec: RunSpec, total: int) -> dict[str, Any]:
        folder = records.run_folder(self.output_dir, spec.run_id)
        # Share the cores between the runs that go on at the same time.
        threads = spec.threads or max(1, (os.cpu_count() or 1) // self.jobs)
        spec = dataclasses.replace(spec, threads=threads)
        logger.info("%s: started", spec.run_id)
        outcome = run_worker(spec, folder, self.python, forward_worker_line, self._processes, self._lock)
        executor = {"name": "local", "hostname": socket.gethostname()}
        record = finish_record(spec, folder, outcome, interrupted=self._stopping, extra={"executor": executor})
        with self._lock:
            self._finished += 1
            finished = self._finished
        logger.info("%s: %s [%d/%d runs done]", spec.run_id, record["status"], finished, total)
        return record


def probe_backend(python: str, name: str) -> str | None:
    """Import Keras with backend `name` in a worker's environment.

    Returns:
        None if Keras starts on that backend, else the reason it does not.
    """
    environment = dict(os.environ)
    environment.update(backends.get_backend(name).worker_environment(1))
    probe = "import keras; print(keras.backend.backend())"
    try:
        completed = subprocess.run(
            [python, "-c", probe],
            capture_output=True,
            text=True,
            env=environment,
            stdin=subprocess.DEVNULL,
            timeout=BACKEND_PROBE_SECONDS,
        )
    except subprocess.TimeoutExpired:
        return f"importing Keras with the {name} backend timed out after {BACKEND_PROBE_SECONDS} s"
    if completed.returncode != 0:
        last_line = (completed.stderr.strip().splitlines() or ["no error output"])[-1]
        return f"importing Keras with the {name} backend failed (exit status {completed.returncode}): {last_line}"
    reported = completed.stdout.strip().splitlines()[-1] if completed.stdout.strip() else ""
    if reported != name:
        return f"Keras started on backend {reported!r} instead of {name!r}"
    return None


def forward_worker_line(run_id: str, text: str) -> None:
    """Pass one line of a worker's output to this process's log."""
    match = WORKER_LOG_LINE.match(text)
    if match:
        # Keep the worker's level but drop its clock time; the runner's log adds its own.
        level = logging.getLevelName(match.group(1))
        logger.log(level, "%s: %s", run_id, text[match.end() :])
    else:
        logger.debug("%s: %s", run_id, text)


@dataclasses.dataclass
class WorkerOutcome:
    """Outcome of a worker process: its exit status, last lines of output and run time in seconds."""

    status: int
    tail: list[str]
    seconds: float


def run_worker(
    spec: RunSpec,
    folder: pathlib.Path,
    python: str,
    on_line: Callable[[str, str], None],
    processes: set[subprocess.Popen] | None = None,
    lock: "threading.Lock | None" = None,
) -> WorkerOutcome:
    """Train and score `spec` in a new worker process with its output in `folder`.

    Writes `spec.json` and `worker.log` in the folder; the worker adds its
    record and samples. `on_line(run_id, line)` is called with each line of output. The
    process is kept in `processes` (guarded by `lock`) while it runs, so the
    caller can stop it.
    """
    folder.mkdir(parents=True, exist_ok=True)
    (folder / records.RECORD_NAME).unlink(missing_ok=True)
    records.write_json(folder / records.SPEC_NAME, spec.to_dict())
    environment = dict(os.environ)
    environment.update(backends.get_backend(spec.backend).worker_environment(spec.threads or 1))
    command = [python, "-m", "bench.worker", str(folder)]
    processes = set() if processes is None else processes
    lock = lock or threading.Lock()

    tail: collections.deque[str] = collections.deque(maxlen=LOG_TAIL_LINES)
    started = time.perf_counter()
    with open(folder / records.LOG_NAME, "w") as log_file:
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=environment,
            text=True,
            bufsize=1,
        )
        with lock:
            processes.add(process)
        try:
            for line in process.stdout:
                log_file.write(line)
                text = line.rstrip()
                tail.append(text)
                on_line(spec.run_id, text)
            status = process.wait()
        finally:
            with lock:
                processes.discard(process)
    return WorkerOutcome(status, list(tail), time.perf_counter() - started)


def finish_record(
    spec: RunSpec,
    folder: pathlib.Path,
    outcome: WorkerOutcome,
    interrupted: bool,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Complete the record of a run whose worker has ended, write it, and return it.

    A worker that wrote no record failed, or was stopped when `interrupted`.
    `extra` contains fields to add, such as where the run took place.
    """
    record_path = folder / records.RECORD_NAME
    if record_path.exists():
        record = records.read_json(record_path)
        # The whole process: start-up, data loading, training and scoring.
        record["worker_seconds"] = outcome.seconds
    elif interrupted:
        reason = "the grid was interrupted while this run was in progress; continue it with --resume"
        record = unfinished_record(spec, "interrupted", reason)
    else:
        reason = (
            f"the worker exited with status {outcome.status} without writing a record; "
            f"the last lines of {folder / records.LOG_NAME} are in log_tail"
        )
        record = unfinished_record(spec, "failed", reason)
        record["log_tail"] = outcome.tail
    record.update(extra or {})
    records.write_json(record_path, record)
    return record
