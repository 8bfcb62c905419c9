"""PyTorch backend plug-in."""

import backends

NAME = "torch"
PACKAGES = ("keras", "torch")
# Keras requires steps_per_execution=1 with PyTorch, and jit_compile=True
# (torch.compile) changes the trained weights, so Model.compile gets no extras.
COMPILE_OPTIONS: dict = {}


def unavailable_reason() -> str | None:
    return backends.missing_packages_reason(NAME, ("torch",), "torch")


def worker_environment(threads: int) -> dict[str, str]:
    return backends.base_environment(NAME, threads)


def configure_worker(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    # warn_only: an operation without a deterministic kernel logs a warning
    # instead of stopping the run.
    torch.use_deterministic_algorithms(True, warn_only=True)
