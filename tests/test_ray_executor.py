"""The Ray executor against a real two-node Ray cluster on 127.0.0.1.

The cluster's nodes are real Ray processes started by `bench.ray_local`; the
grids run through the `aebench` command in a separate process, as a user
would run them. Without Ray installed, only the tests of the error messages run.
"""

import ipaddress
import json
import os
import pathlib
import socket
import subprocess
import sys
import time
from importlib import metadata

import pytest

from bench import cli, records
from bench.ray_executor import backend_resource
from tests import helpers

try:
    import ray  # noqa: F401

    RAY_INSTALLED = True
except ImportError:
    RAY_INSTALLED = False

needs_ray = pytest.mark.skipif(not RAY_INSTALLED, reason="Ray is not installed: pip install 'aebench[ray]'")
BACKENDS = [name for name in ("tensorflow", "torch") if name in helpers.INSTALLED_BACKENDS]
GRID_SECONDS = 900


def run_aebench(*arguments: str, timeout: float = GRID_SECONDS) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bench", *arguments],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def model_records(folder: pathlib.Path) -> dict[str, dict]:
    return {record["run_id"]: record for record in records.load_records(folder) if record["kind"] == "model"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_ray_options_need_the_ray_executor(capsys):
    with pytest.raises(SystemExit) as stopped:
        cli.main(["--ray-address", "127.0.0.1:6379", "--profile", "smoke"])
    assert stopped.value.code == 2
    assert "--ray-address can only be used with --executor ray" in capsys.readouterr().err


def test_jobs_is_rejected_with_the_ray_executor(capsys):
    with pytest.raises(SystemExit) as stopped:
        cli.main(["--executor", "ray", "--jobs", "2", "--profile", "smoke"])
    assert stopped.value.code == 2
    assert "leave --jobs out" in capsys.readouterr().err


def test_missing_ray_names_the_install_command(tmp_path, monkeypatch, capsys):
    # A None entry in sys.modules makes `import ray` fail as if it were not installed.
    monkeypatch.setitem(sys.modules, "ray", None)
    output = tmp_path / "grid"
    with pytest.raises(SystemExit) as stopped:
        cli.main(["--executor", "ray", "--profile", "smoke", "--output", str(output)])
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert "--executor ray needs the Python package ray" in error
    assert "pip install 'aebench[ray]'" in error
    assert not output.exists()


@needs_ray
def test_unreachable_cluster_is_named_before_anything_is_written(tmp_path):
    address = f"127.0.0.1:{free_port()}"
    output = tmp_path / "grid"
    completed = run_aebench("--executor", "ray", "--ray-address", address, "--profile", "smoke", "--output", str(output), timeout=120)
    assert completed.returncode == 2
    assert f"cannot reach the Ray cluster at {address}" in completed.stderr
    assert not output.exists()


def test_ray_resources_lists_the_installed_backends():
    completed = run_aebench("ray-resources", timeout=60)
    assert completed.returncode == 0, completed.stderr
    offered = json.loads(completed.stdout)
    assert set(offered) == {backend_resource(name) for name in helpers.INSTALLED_BACKENDS}
    assert all(units >= 1 for units in offered.values())


def start_cluster():
    from bench.ray_local import LoopbackCluster

    return LoopbackCluster(nodes=2, cpus_per_node=1).start()


@pytest.fixture(scope="module")
def cluster():
    if not RAY_INSTALLED:
        pytest.skip("Ray is not installed: pip install 'aebench[ray]'")
    started = start_cluster()
    yield started
    started.stop()


def _socket_inodes(pids: set[int]) -> set[str]:
    inodes = set()
    for pid in pids:
        try:
            descriptors = list(pathlib.Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for descriptor in descriptors:
            try:
                target = os.readlink(descriptor)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    return inodes


def _decode_address(hex_address: str) -> str:
    """Return the IP address of a /proc/net/tcp entry (little-endian 32-bit words)."""
    raw = bytes.fromhex(hex_address)
    words = b"".join(raw[index : index + 4][::-1] for index in range(0, len(raw), 4))
    address = ipaddress.ip_address(words)
    # An IPv4 socket opened as IPv6 shows the IPv4-mapped form of its address.
    mapped = getattr(address, "ipv4_mapped", None)
    return str(mapped or address)


def listening_addresses(pids: set[int]) -> set[str]:
    """Return the local IP addresses on which any of `pids` listens for TCP connections, from /proc."""
    inodes = _socket_inodes(pids)
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in pathlib.Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            # State 0A is LISTEN.
            if state == "0A" and inode in inodes:
                found.add(_decode_address(local.split(":")[0]))
    return found


def process_tree(root: int) -> set[int]:
    """Return `root` and all its descendants, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # The parent id is the 4th field, after the command name in parentheses.
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    tree, queue = set(), [root]
    while queue:
        pid = queue.pop()
        tree.add(pid)
        queue.extend(children.get(pid, []))
    return tree


def worker_run_id(pid: int) -> str | None:
    """Return the run a `bench.worker` process trains, read from its command line, else None."""
    try:
        arguments = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    if b"bench.worker" not in arguments:
        return None
    # The Ray task's scratch folder is named aebench-<run id>-<random>.
    folder = pathlib.Path(arguments[-2].decode()).name
    return folder.removeprefix("aebench-").rsplit("-", 1)[0]


@pytest.mark.slow
def test_cluster_listens_on_loopback_only(cluster):
    # Every process of every node (GCS, raylets, agents) and their children.
    roots = [
        info.process.pid
        for node in (cluster.head, *cluster.workers)
        for infos in node.all_processes.values()
        for info in infos
    ]
    addresses = listening_addresses(set().union(*(process_tree(pid) for pid in roots)))
    assert addresses, "found no listening socket of the cluster"
    assert addresses == {"127.0.0.1"}


@pytest.mark.slow
def test_smoke_grid_on_ray_equals_local(cluster, tmp_path, real_data_dir):
    if not BACKENDS:
        pytest.skip("neither TensorFlow nor PyTorch is installed")
    common = ["--profile", "smoke", "--backends", *BACKENDS, "--data-dir", str(real_data_dir), "--no-download"]
    # One thread per run on both sides: the local executor gives each of
    # cpu_count jobs one thread, the Ray executor one per reserved CPU.
    local = run_aebench(*common, "--jobs", str(os.cpu_count()), "--output", str(tmp_path / "local"))
    assert local.returncode == 0, local.stderr[-3000:]
    on_ray = run_aebench(*common, "--executor", "ray", "--ray-address", cluster.address, "--output", str(tmp_path / "ray"))
    assert on_ray.returncode == 0, on_ray.stderr[-3000:]

    local_records, ray_records = model_records(tmp_path / "local"), model_records(tmp_path / "ray")
    assert set(local_records) == set(ray_records)
    assert len(ray_records) == 6 * len(BACKENDS)
    for run_id, record in ray_records.items():
        assert record["status"] == "ok", (run_id, record.get("reason"))
        assert record["executor"]["name"] == "ray"
        assert record["executor"]["ray_version"] == metadata.version("ray")
        assert "scikit-learn" in record["provenance"]["versions"]
        # Same machine, same thread count, same seed: the scores are bit-identical.
        assert record["metrics"] == local_records[run_id]["metrics"], run_id
        assert record["fingerprint"] == local_records[run_id]["fingerprint"]
        for name in (records.RECORD_NAME, records.SAMPLES_NAME, records.LOG_NAME, records.SPEC_NAME):
            assert (records.run_folder(tmp_path / "ray", run_id) / name).is_file(), (run_id, name)
    nodes_used = {record["executor"]["node_id"] for record in ray_records.values()}
    assert len(nodes_used) == 2, "every run went to one node"
    assert (tmp_path / "ray" / "summary.md").read_text().count("| stacked |") >= 2
    assert not list((tmp_path / "ray").rglob(".*.json.*")), "a temporary file was left behind"


@pytest.mark.slow
def test_unknown_backend_resource_skips_with_the_fix(cluster, tmp_path, real_data_dir):
    if "jax" in helpers.INSTALLED_BACKENDS:
        pytest.skip("JAX is installed here, so the cluster offers it")
    completed = run_aebench(
        "--executor", "ray", "--ray-address", cluster.address, "--profile", "smoke", "--datasets", "mnist",
        "--architectures", "stacked", "--backends", "jax", "--data-dir", str(real_data_dir), "--output", str(tmp_path / "grid"),
    )
    assert completed.returncode == 1
    [record] = model_records(tmp_path / "grid").values()
    assert record["status"] == "skipped"
    assert backend_resource("jax") in record["reason"]
    assert "aebench ray-resources" in record["reason"]


def kill_node_while_it_trains(cluster, grid: subprocess.Popen, deadline: float) -> str:
    """Wait until the second node runs a worker, kill that node, and return the run it held."""
    [node] = cluster.workers
    raylet = cluster.raylet_pid(node)
    while time.monotonic() < deadline:
        assert grid.poll() is None, "the grid ended before a run reached the second node"
        for pid in process_tree(raylet):
            run_id = worker_run_id(pid)
            if run_id is not None:
                cluster.kill(node)
                return run_id
        time.sleep(0.2)
    raise AssertionError("no run started on the second node in time")


def start_grid(cluster, output: pathlib.Path, data_dir: pathlib.Path, retries: int) -> subprocess.Popen:
    arguments = [
        "--executor", "ray", "--ray-address", cluster.address, "--ray-max-retries", str(retries),
        "--profile", "smoke", "--datasets", "mnist", "--architectures", "stacked",
        "--backends", *BACKENDS, "--seeds", "0", "1", "--data-dir", str(data_dir), "--output", str(output),
    ]
    return subprocess.Popen(
        [sys.executable, "-m", "bench", *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )


@pytest.fixture
def own_cluster():
    # These tests kill a node, so each gets a cluster of its own.
    if not RAY_INSTALLED:
        pytest.skip("Ray is not installed: pip install 'aebench[ray]'")
    started = start_cluster()
    yield started
    started.stop()


@pytest.mark.slow
def test_killed_node_costs_only_its_run(own_cluster, tmp_path, real_data_dir):
    if not BACKENDS:
        pytest.skip("neither TensorFlow nor PyTorch is installed")
    grid = start_grid(own_cluster, tmp_path / "grid", real_data_dir, retries=2)
    lost = kill_node_while_it_trains(own_cluster, grid, time.monotonic() + GRID_SECONDS)
    output, _ = grid.communicate(timeout=GRID_SECONDS)
    assert grid.returncode == 0, output[-3000:]

    found = model_records(tmp_path / "grid")
    assert len(found) == 2 * len(BACKENDS)
    assert all(record["status"] == "ok" for record in found.values()), output[-3000:]
    # Ray ran the lost run again on the node that was left.
    assert found[lost]["executor"]["node_id"] == own_cluster.head.node_id


@pytest.mark.slow
def test_lost_run_failed_then_resumed(own_cluster, tmp_path, real_data_dir):
    if not BACKENDS:
        pytest.skip("neither TensorFlow nor PyTorch is installed")
    grid = start_grid(own_cluster, tmp_path / "grid", real_data_dir, retries=0)
    lost = kill_node_while_it_trains(own_cluster, grid, time.monotonic() + GRID_SECONDS)
    output, _ = grid.communicate(timeout=GRID_SECONDS)
    assert grid.returncode == 1, output[-3000:]

    found = model_records(tmp_path / "grid")
    assert found[lost]["status"] == "failed"
    assert "Ray gave up after 0 retries" in found[lost]["reason"]
    assert all(record["status"] == "ok" for run_id, record in found.items() if run_id != lost)

    # --resume runs only the lost run, on the node that is left.
    resumed = run_aebench(
        "--executor", "ray", "--ray-address", own_cluster.address, "--profile", "smoke", "--datasets", "mnist",
        "--architectures", "stacked", "--backends", *BACKENDS, "--seeds", "0", "1", "--data-dir", str(real_data_dir),
        "--output", str(tmp_path / "grid"), "--resume",
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "running 1 model(s)" in resumed.stderr
    assert model_records(tmp_path / "grid")[lost]["status"] == "ok"
