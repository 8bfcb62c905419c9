"""Helpers shared by the tests."""

import itertools
import json
import os
import subprocess
import sys

import pandas as pd
import pytest

import backends

INSTALLED_BACKENDS = tuple(
    name for name in backends.BACKENDS if backends.get_backend(name).unavailable_reason() is None
)


def backend_params():
    """Parametrize over every backend plug-in, skipping the ones not installed here."""
    return [
        pytest.param(
            name,
            marks=pytest.mark.skipif(
                name not in INSTALLED_BACKENDS,
                reason=f"{name}: {backends.get_backend(name).unavailable_reason()}",
            ),
        )
        for name in backends.BACKENDS
    ]


def run_python(code: str, backend: str, timeout: float = 300) -> dict:
    """Run `code` in a fresh interpreter prepared like a worker for `backend`.

    The code must print one JSON object as its last line of output; that
    object is returned.
    """
    environment = dict(os.environ)
    environment.update(backends.get_backend(backend).worker_environment(threads=1))
    completed = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=environment,
        timeout=timeout,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


def make_scores(mse: dict[tuple[str, str], float], epochs: dict[str, int]) -> pd.DataFrame:
    """Return one score row per run for two backends and three seeds. Each run's MSE is its model's value plus a small wobble."""
    rows = []
    for (dataset, architecture), value in mse.items():
        for (index, backend), seed in itertools.product(enumerate(("tensorflow", "torch")), (0, 1, 2)):
            # Differs per architecture too, so paired differences vary and the t-test has a spread.
            wobble = 1e-4 * ((seed * 3 + index * 5 + len(architecture)) % 4 - 1.5)
            rows.append(
                {
                    "dataset": dataset,
                    "architecture": architecture,
                    "backend": backend,
                    "seed": seed,
                    "mse": value + wobble,
                    "val_mse": value + wobble + 2e-4,
                    "epochs_run": epochs[architecture],
                    "collapsed": False,
                }
            )
    return pd.DataFrame(rows)
