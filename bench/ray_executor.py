"""Ray executor: send each run of a grid to a Ray cluster as a task.

A task runs the same worker process as the local executor, in a scratch
folder on whichever node Ray picks, and returns the record, the sample images
and the log. This process then writes them into the output folder, atomically,
so a grid run on Ray leaves the same files as a local one and `aebench report`,
`--resume` and the quality gate read them unchanged.

Each task asks Ray for `cpus_per_run` CPUs and one unit of the resource
`aebench_backend_<name>`, which a node advertises only if that backend is
installed there (`aebench ray-resources` prints the value for `ray start
--resources`). Ray retries a task whose node or worker process dies, up to
`max_retries` times; a run that fails in the worker itself is not retried, as
with the local executor.

Ray is an optional dependency (`pip install 'aebench[ray]'`); nothing here
imports it until a grid asks for this executor.
"""

import dataclasses
import json
import logging
import os
import pathlib
import socket
import sys
import tempfile
from typing import Any

import backends
from bench import records
from bench.config import RunSpec
from bench.executor import (
    BACKEND_PROBE_SECONDS,
    WORKER_LOG_LINE,
    WorkerOutcome,
    finish_record,
    probe_backend,
    run_worker,
    unfinished_record,
)

logger = logging.getLogger(__name__)

RESOURCE_PREFIX = "aebench_backend_"
# Units a node advertises per installed backend; each run takes one, so only
# the CPUs limit how many runs share a node.
NODE_RESOURCE_UNITS = 1000
DEFAULT_CPUS_PER_RUN = 1
DEFAULT_MAX_RETRIES = 2
CONNECT_TIMEOUT_SECONDS = 10
INSTALL_HINT = "pip install 'aebench[ray]' (or: pip install ray==2.60.0)"
# Ray reads these when it is imported. Usage reports never leave the machine.
QUIET_ENVIRONMENT = {"RAY_USAGE_STATS_ENABLED": "0"}
# Unless the user chose otherwise, Ray should not fold the epoch lines of
# different runs into one "[repeated N times]" line.
DEFAULT_ENVIRONMENT = {"RAY_DEDUP_LOGS": "0"}
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


class RayExecutorError(RuntimeError):
    """Ray is missing or the cluster cannot be reached; the message gives the fix."""


def backend_resource(backend: str) -> str:
    """Return the name of the Ray resource that marks nodes able to run `backend`."""
    return f"{RESOURCE_PREFIX}{backend}"


def node_resources() -> dict[str, int]:
    """Return the custom resources this machine offers as a Ray node: one per installed backend."""
    return {
        backend_resource(name): NODE_RESOURCE_UNITS
        for name in backends.BACKENDS
        if backends.get_backend(name).unavailable_reason() is None
    }


def import_ray():
    """Import Ray with usage statistics off, or raise RayExecutorError saying how to install it."""
    os.environ.update(QUIET_ENVIRONMENT)
    for name, value in DEFAULT_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    try:
        import ray
    except ImportError as error:
        raise RayExecutorError(
            f"--executor ray needs the Python package ray, which cannot be imported ({error}); "
            f"install it with: {INSTALL_HINT}"
        ) from error
    return ray


def _host(address: str) -> str:
    return address.removeprefix("ray://").rpartition(":")[0].strip("[]")


def check_reachable(address: str) -> None:
    """Raise RayExecutorError unless something accepts connections at HOST:PORT.

    Ray 2.60 itself keeps retrying an unreachable address for minutes, but
    this check fails within seconds and names the address.
    """
    host, port = _host(address), address.rpartition(":")[2]
    if not host or not port.isdigit():
        raise RayExecutorError(
            f"--ray-address {address!r} is not HOST:PORT; give the address that `ray start --head` printed, "
            f"for example 10.0.0.5:6379"
        )
    try:
        with socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_SECONDS):
            pass
    except OSError as error:
        raise RayExecutorError(
            f"cannot reach the Ray cluster at {address} ({error.strerror or error}); check that "
            f"`ray start --head --port {port}` runs on {host} and that this machine can reach it"
        ) from error


@dataclasses.dataclass
class TaskResult:
    """Result of one Ray task: the worker's outcome and the files it wrote."""

    outcome: WorkerOutcome
    record: dict[str, Any] | None
    samples: bytes | None
    log: str
    node: dict[str, str]


def print_worker_line(run_id: str, text: str) -> None:
    # Ray forwards a task's standard output to the driver, which shows the
    # worker's own log lines as the run goes, after the task's name (the run).
    if WORKER_LOG_LINE.match(text):
        print(text, flush=True)


def run_task(spec_values: dict[str, Any]) -> TaskResult:
    """Body of one Ray task: run a worker for the specification on this node."""
    import ray

    spec = RunSpec.from_dict(spec_values)
    context = ray.get_runtime_context()
    node = {"node_id": context.get_node_id(), "hostname": socket.gethostname(), "ray_version": ray.__version__}
    with tempfile.TemporaryDirectory(prefix=f"aebench-{spec.run_id}-") as scratch:
        folder = pathlib.Path(scratch)
        outcome = run_worker(spec, folder, sys.executable, print_worker_line)
        record_path = folder / records.RECORD_NAME
        samples_path = folder / records.SAMPLES_NAME
        return TaskResult(
            outcome=outcome,
            record=records.read_json(record_path) if record_path.exists() else None,
            samples=samples_path.read_bytes() if samples_path.exists() else None,
            log=(folder / records.LOG_NAME).read_text(errors="replace"),
            node=node,
        )


def probe_task(backend: str) -> str | None:
    """Body of a Ray task that checks Keras starts on `backend` on its node."""
    return probe_backend(sys.executable, backend)


class RayExecutor:
    """Run each specification as a Ray task and write the results into `output_dir`.

    Args:
        output_dir: the grid's output folder on this machine.
        address: a running cluster's HOST:PORT (or "auto"); None starts a
            private Ray instance on this machine, bound to 127.0.0.1.
        cpus_per_run: CPUs Ray reserves for each run; also the worker's threads.
        max_retries: times Ray reruns a task whose node or process died.
    """

    def __init__(
        self,
        output_dir: pathlib.Path,
        address: str | None = None,
        cpus_per_run: int = DEFAULT_CPUS_PER_RUN,
        max_retries: int = DEFAULT_MAX_RETRIES,
    ):
        if cpus_per_run < 1:
            raise ValueError(f"cpus_per_run must be at least 1, received {cpus_per_run}.")
        if max_retries < 0:
            raise ValueError(f"max_retries must not be negative, received {max_retries}.")
        self.output_dir = output_dir
        self.address = address
        self.cpus_per_run = cpus_per_run
        self.max_retries = max_retries
        self._ray = None

    def connect(self) -> None:
        """Connect to the cluster, or start the private instance; raise RayExecutorError if that fails."""
        if self._ray is not None:
            return
        if self.address is None or _host(self.address) in LOOPBACK_HOSTS:
            # Without this, Ray swaps a loopback address for the machine's
            # network address, where a private instance or a loopback cluster
            # (bench.ray_local) does not listen. Ray reads it at import.
            os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
        ray = import_ray()
        options: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": True}
        if self.address is None:
            options.update(
                address="local",
                num_cpus=os.cpu_count() or 1,
                resources=node_resources(),
                include_dashboard=False,
            )
            where = "a private Ray instance on this machine"
        else:
            if self.address != "auto":
                check_reachable(self.address)
            options["address"] = self.address
            where = f"the Ray cluster at {self.address}"
        try:
            ray.init(**options)
        except (ConnectionError, RuntimeError, ValueError) as error:
            raise RayExecutorError(f"cannot connect to {where}: {error}") from error
        self._ray = ray
        logger.info(
            "connected to %s: %s CPUs on %d node(s); %d CPU(s) per run, up to %d retries",
            where,
            int(ray.cluster_resources().get("CPU", 0)),
            len([node for node in ray.nodes() if node["Alive"]]),
            self.cpus_per_run,
            self.max_retries,
        )

    def close(self) -> None:
        """Disconnect from the cluster (and stop the private instance)."""
        if self._ray is not None:
            self._ray.shutdown()
            self._ray = None

    def check_backend(self, name: str) -> str | None:
        """Return None if some node of the cluster runs Keras on backend `name`, else why not."""
        self.connect()
        ray = self._ray
        resource = backend_resource(name)
        if ray.cluster_resources().get(resource, 0) < 1:
            return (
                f"no node of the Ray cluster offers the resource {resource}, which marks nodes with the "
                f"{name} backend installed; start each node with: ray start ... --resources "
                f"'{json.dumps(node_resources())}' (the output of `aebench ray-resources` on that node)"
            )
        probe = ray.remote(probe_task).options(num_cpus=1, resources={resource: 1}, max_retries=self.max_retries)
        try:
            return ray.get(probe.remote(name), timeout=BACKEND_PROBE_SECONDS + 60)
        except ray.exceptions.GetTimeoutError:
            return (
                f"checking the {name} backend on the Ray cluster did not finish within "
                f"{BACKEND_PROBE_SECONDS + 60} s; check that its nodes have free CPUs (ray status)"
            )
        except ray.exceptions.RayError as error:
            return f"checking the {name} backend on the Ray cluster failed: {_first_line(error)}"

    def run(self, specs: list[RunSpec]) -> list[dict[str, Any]]:
        """Run every specification on the cluster and return their records in the same order."""
        self.connect()
        ray = self._ray
        task = ray.remote(run_task)
        pending = {}
        for spec in specs:
            spec = dataclasses.replace(spec, threads=self.cpus_per_run)
            reference = task.options(
                num_cpus=self.cpus_per_run,
                resources={backend_resource(spec.backend): 1},
                max_retries=self.max_retries,
                retry_exceptions=False,
                name=spec.run_id,
            ).remote(spec.to_dict())
            pending[reference] = spec
        logger.info("sent %d run(s) to Ray", len(pending))

        found: dict[str, dict[str, Any]] = {}
        try:
            while pending:
                [reference], _ = ray.wait(list(pending), num_returns=1)
                spec = pending.pop(reference)
                record = self._collect(spec, reference)
                found[spec.run_id] = record
                node = record.get("executor", {})
                logger.info(
                    "%s: %s on %s (node %s) [%d/%d runs done]",
                    spec.run_id,
                    record["status"],
                    node.get("hostname", "an unknown host"),
                    node.get("node_id", "unknown")[:8],
                    len(found),
                    len(specs),
                )
        except KeyboardInterrupt:
            for reference, spec in pending.items():
                ray.cancel(reference, force=True)
                reason = "the grid was interrupted before this run finished on the Ray cluster; continue it with --resume"
                record = unfinished_record(spec, "interrupted", reason)
                records.write_json(records.run_folder(self.output_dir, spec.run_id) / records.RECORD_NAME, record)
            raise
        return [found[spec.run_id] for spec in specs]

    def _collect(self, spec: RunSpec, reference) -> dict[str, Any]:
        """Write the files of a finished task into the run's folder; return its record."""
        ray = self._ray
        folder = records.run_folder(self.output_dir, spec.run_id)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / records.RECORD_NAME).unlink(missing_ok=True)
        records.write_json(folder / records.SPEC_NAME, spec.to_dict())
        try:
            result: TaskResult = ray.get(reference)
        except ray.exceptions.RayError as error:
            # The node or the process that held the task died more often than Ray may retry.
            reason = (
                f"the Ray task was lost and Ray gave up after {self.max_retries} retries: "
                f"{type(error).__name__}: {_first_line(error)}"
            )
            logger.error("%s: %s", spec.run_id, reason)
            record = unfinished_record(spec, "failed", reason)
            record["executor"] = {"name": "ray", "max_retries": self.max_retries}
            records.write_json(folder / records.RECORD_NAME, record)
            return record

        records.write_atomically(folder / records.LOG_NAME, result.log.encode())
        if result.samples is not None:
            records.write_atomically(folder / records.SAMPLES_NAME, result.samples)
        if result.record is not None:
            records.write_json(folder / records.RECORD_NAME, result.record)
        executor = {"name": "ray", "cpus_per_run": self.cpus_per_run, **result.node}
        return finish_record(spec, folder, result.outcome, interrupted=False, extra={"executor": executor})


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__
