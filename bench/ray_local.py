"""A Ray cluster of several nodes on this machine, on 127.0.0.1 only.

    python -m bench.ray_local --nodes 2 --cpus-per-node 1

starts a head node and the other nodes joined to it, prints the address to
give `aebench --executor ray --ray-address`, and stops every node on Ctrl-C.
The nodes are real Ray nodes (one GCS, one raylet and its workers per node)
that share this machine's cores, which makes this the way to try the Ray
executor, and to test it, without a second machine. The tests use
`LoopbackCluster` from here.

NOTE: `ray start --node-ip-address 127.0.0.1` does not keep Ray 2.60 on
loopback: Ray swaps 127.0.0.1 for the machine's network address and its
servers then listen on every interface. Ray's `cluster_utils`, used here,
passes the address to the nodes unchanged, and every server listens on
127.0.0.1.
"""

import argparse
import logging
import os
import signal
import sys

from bench.arguments import positive_int
from bench.ray_executor import QUIET_ENVIRONMENT, node_resources

logger = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
# Ray reads these when it is imported. The second keeps a driver that
# connects to 127.0.0.1 from swapping it for the network address too.
LOOPBACK_ENVIRONMENT = {**QUIET_ENVIRONMENT, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
NODE_OBJECT_STORE_BYTES = 200 * 1024 * 1024
NODE_START_SECONDS = 60


class LoopbackCluster:
    """Start `nodes` Ray nodes with `cpus_per_node` CPUs each, all on 127.0.0.1.

    Every node offers the backend resources of the Keras backends installed
    here. Use as a context manager, or call `start()` and `stop()`.
    """

    def __init__(self, nodes: int = 2, cpus_per_node: int = 1):
        if nodes < 1 or cpus_per_node < 1:
            raise ValueError(f"nodes and cpus_per_node must be at least 1, received {nodes} and {cpus_per_node}.")
        self.nodes = nodes
        self.cpus_per_node = cpus_per_node
        self._cluster = None

    def start(self) -> "LoopbackCluster":
        os.environ.update(LOOPBACK_ENVIRONMENT)
        from ray.cluster_utils import Cluster

        node_arguments = {
            "node_ip_address": LOOPBACK,
            "num_cpus": self.cpus_per_node,
            "resources": node_resources(),
            "object_store_memory": NODE_OBJECT_STORE_BYTES,
        }
        self._cluster = Cluster(
            initialize_head=True,
            head_node_args={**node_arguments, "include_dashboard": False},
        )
        for _ in range(self.nodes - 1):
            self._cluster.add_node(**node_arguments)
        self._cluster.wait_for_nodes(timeout=NODE_START_SECONDS)
        return self

    def stop(self) -> None:
        if self._cluster is not None:
            self._cluster.shutdown()
            self._cluster = None

    def __enter__(self) -> "LoopbackCluster":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def address(self) -> str:
        """HOST:PORT of the head node's GCS, for `--ray-address`."""
        return self._cluster.address

    @property
    def head(self):
        return self._cluster.head_node

    @property
    def workers(self) -> list:
        """The nodes other than the head, in no particular order."""
        return list(self._cluster.worker_nodes)

    @staticmethod
    def raylet_pid(node) -> int:
        """Return the process id of a node's raylet; its workers are its child processes."""
        return node.all_processes["raylet"][0].process.pid

    def kill(self, node) -> None:
        """Kill every process of `node` at once, as if its machine had died."""
        self._cluster.remove_node(node, allow_graceful=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.ray_local",
        description="Start a Ray cluster of several nodes on this machine (127.0.0.1 only) for aebench --executor ray; Ctrl-C stops it.",
    )
    parser.add_argument("--nodes", type=positive_int, default=2, help="number of nodes, the head included; default: 2")
    parser.add_argument("--cpus-per-node", type=positive_int, default=1, help="CPUs each node offers; default: 1")
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S")

    with LoopbackCluster(arguments.nodes, arguments.cpus_per_node) as cluster:
        logger.info(
            "%d node(s) with %d CPU(s) each at %s; run: aebench --executor ray --ray-address %s; Ctrl-C stops them",
            arguments.nodes,
            arguments.cpus_per_node,
            cluster.address,
            cluster.address,
        )
        # The address is the only line on standard output, for scripts.
        print(cluster.address, flush=True)
        # Blocked only now, so the nodes' processes do not inherit the block.
        stop_signals = {signal.SIGINT, signal.SIGTERM}
        signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
        signal.sigwait(stop_signals)
        logger.info("stopping the nodes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
