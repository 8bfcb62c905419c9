"""JAX backend plug-in.

NOTE: JAX is not in the default grid because its convolutions were reported
to be much slower than TensorFlow's and PyTorch's on a small CPU; ask for it
by name with `--backends jax`.
"""

import backends

NAME = "jax"
PACKAGES = ("keras", "jax", "jaxlib")
# Not measured on JAX yet, so Model.compile gets no extras.
COMPILE_OPTIONS: dict = {}


def unavailable_reason() -> str | None:
    return backends.missing_packages_reason(NAME, ("jax", "jaxlib"), "'jax[cpu]'")


def worker_environment(threads: int) -> dict[str, str]:
    environment = backends.base_environment(NAME, threads)
    environment["JAX_PLATFORMS"] = "cpu"
    if threads == 1:
        environment["XLA_FLAGS"] = (
            "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        )
    return environment


def configure_worker(threads: int) -> None:
    """JAX takes all of its settings from the environment."""
