"""Shared pytest fixtures."""

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """Return the folder with the real MNIST and Fashion-MNIST IDX files.

    Uses AEBENCH_DATA_DIR, else ../shared/datasets next to the repository, and
    skips the test when neither exists. Session scope makes it read the
    environment before function fixtures patch it.
    """
    candidates = []
    env_dir = os.environ.get("AEBENCH_DATA_DIR")
    if env_dir:
        candidates.append(Path(env_dir).expanduser())
    candidates.append(REPO_ROOT.parent / "shared" / "datasets")

    for candidate in candidates:
        if candidate.is_dir():
            return candidate.resolve()
    tried = ", ".join(str(candidate) for candidate in candidates)
    pytest.skip(f"real MNIST/Fashion-MNIST data not found (looked in: {tried})")
