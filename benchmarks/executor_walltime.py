"""Wall time of one grid with the local executor and with Ray on a two-node loopback cluster.

    python -m benchmarks.executor_walltime --output results/runs/executors -- --profile quick

runs the grid twice, one after the other on this machine: first with the
local executor (one job per core), then with `--executor ray` on a cluster
from `bench.ray_local` whose nodes together offer as many CPUs as there are
cores. Options after `--` go to both grids. It writes `walltime.json` in the
output folder: both wall times, their ratio, and whether every run's metrics
are identical.
"""

import argparse
import json
import logging
import os
import pathlib
import subprocess
import sys
import time

from bench import records
from bench.ray_local import LoopbackCluster

logger = logging.getLogger("benchmarks.executor_walltime")


def timed_grid(arguments: list[str]) -> float:
    started = time.perf_counter()
    completed = subprocess.run([sys.executable, "-m", "bench", *arguments], stdin=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"the grid {' '.join(arguments)} exited with status {completed.returncode}")
    return seconds


def metrics_by_run(folder: pathlib.Path) -> dict[str, dict]:
    return {
        record["run_id"]: record.get("metrics")
        for record in records.load_records(folder)
        if record["kind"] == "model"
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.executor_walltime", description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=pathlib.Path, required=True, help="folder for both grids and walltime.json")
    parser.add_argument("--nodes", type=int, default=2, help="Ray nodes on this machine; default: 2")
    parser.add_argument("grid", nargs=argparse.REMAINDER, help="options for both grids, after --")
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    grid = [option for option in arguments.grid if option != "--"]
    cores = os.cpu_count() or 1
    cpus_per_node = max(1, cores // arguments.nodes)

    local_folder, ray_folder = arguments.output / "local", arguments.output / "ray"
    local_seconds = timed_grid([*grid, "--jobs", str(cores), "--output", str(local_folder)])
    logger.info("local executor: %.0f s", local_seconds)
    with LoopbackCluster(arguments.nodes, cpus_per_node) as cluster:
        ray_seconds = timed_grid([*grid, "--executor", "ray", "--ray-address", cluster.address, "--output", str(ray_folder)])
    logger.info("Ray executor on %d nodes: %.0f s", arguments.nodes, ray_seconds)

    local_metrics, ray_metrics = metrics_by_run(local_folder), metrics_by_run(ray_folder)
    differing = sorted(run for run in local_metrics if ray_metrics.get(run) != local_metrics[run])
    result = {
        "grid": grid,
        "cores": cores,
        "ray_nodes": arguments.nodes,
        "ray_cpus_per_node": cpus_per_node,
        "local_seconds": round(local_seconds, 1),
        "ray_seconds": round(ray_seconds, 1),
        "ray_over_local": round(ray_seconds / local_seconds, 3),
        "runs": len(local_metrics),
        "runs_with_different_metrics": differing,
    }
    records.write_json(arguments.output / "walltime.json", result)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
