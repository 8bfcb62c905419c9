"""Set up one Keras backend for the whole benchmark session.

Keras reads KERAS_BACKEND when it is first imported, so each backend needs its
own pytest process: `pytest benchmarks --keras-backend torch`. The process gets
the same environment and thread settings as a harness worker.
"""

import os

import pytest

import backends
from bench import data
from bench.splits import to_unit_range


def pytest_addoption(parser):
    group = parser.getgroup("aebench")
    group.addoption(
        "--keras-backend",
        choices=("tensorflow", "torch"),
        default="tensorflow",
        help="Keras backend to measure, with its native loop; default: tensorflow",
    )
    group.addoption(
        "--threads",
        type=int,
        default=1,
        help="threads per process, as each harness worker gets with --jobs equal to the core count; default: 1",
    )


def pytest_configure(config):
    name = config.getoption("--keras-backend")
    threads = config.getoption("--threads")
    plugin = backends.get_backend(name)
    reason = plugin.unavailable_reason()
    if reason is not None:
        raise pytest.UsageError(f"--keras-backend {name}: {reason}")
    # Before anything imports Keras.
    os.environ.update(plugin.worker_environment(threads))
    plugin.configure_worker(threads)


@pytest.fixture(scope="session")
def backend_name(pytestconfig) -> str:
    return pytestconfig.getoption("--keras-backend")


@pytest.fixture(scope="session")
def threads(pytestconfig) -> int:
    return pytestconfig.getoption("--threads")


@pytest.fixture(scope="session")
def mnist():
    """The real MNIST files, from AEBENCH_DATA_DIR or the other sources the harness uses."""
    dataset = data.load_dataset("mnist", data.default_data_dir())
    return dataset, to_unit_range(dataset.x_train), to_unit_range(dataset.x_test)


def pytest_benchmark_update_machine_info(config, machine_info):
    """Store the package versions and thread count next to pytest-benchmark's machine description."""
    from bench import provenance

    name = config.getoption("--keras-backend")
    machine_info["aebench"] = {
        "backend": name,
        "threads": config.getoption("--threads"),
        "versions": provenance.versions(("keras", *backends.get_backend(name).PACKAGES[1:], "numpy")),
    }
