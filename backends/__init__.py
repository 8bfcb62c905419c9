"""Backend plug-ins: one module per Keras backend.

Keras fixes its backend when it is first imported, so every run happens in a
worker process whose environment the plug-in prepares. Each plug-in module
provides:

- `NAME`: the value of `KERAS_BACKEND`.
- `PACKAGES`: the distributions whose versions are recorded with each result.
- `unavailable_reason() -> str | None`: None when the backend can be used,
  else why not and how to install it. It must not import the framework.
- `worker_environment(threads) -> dict[str, str]`: variables for the worker.
- `configure_worker(threads) -> None`: called inside the worker after
  `import keras`, for settings that have no environment variable.

Nothing outside this package names a backend framework.
"""

import importlib
import importlib.util
import types

BACKENDS = ("tensorflow", "torch", "jax")


def get_backend(name: str) -> types.ModuleType:
    """Return the plug-in module for backend `name`.

    Raises:
        ValueError: if no plug-in has that name.
    """
    if name not in BACKENDS:
        raise ValueError(f"Unknown backend {name!r}: expected one of {', '.join(BACKENDS)}.")
    return importlib.import_module(f"backends.{name}")


def missing_packages_reason(name: str, modules: tuple[str, ...], install: str) -> str | None:
    """Return why backend `name` cannot run when a module is not installed, else None.

    `install` is the pip requirement that adds the backend, for the message.
    """
    missing = [module for module in ("keras", *modules) if importlib.util.find_spec(module) is None]
    if not missing:
        return None
    return (
        f"the Python package(s) {', '.join(missing)} needed by the {name} backend "
        f"are not installed; install them into the environment that runs aebench: pip install {install}"
    )


def base_environment(name: str, threads: int) -> dict[str, str]:
    """Return the variables every worker needs, whatever its backend."""
    return {
        "KERAS_BACKEND": name,
        # A fixed hash seed keeps any set or dict iteration order stable.
        "PYTHONHASHSEED": "0",
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
    }
