"""Where and with what a result was produced: commit, time, machine, versions."""

import datetime
import importlib.metadata
import os
import platform
import subprocess
import sys
from typing import Any

# The packages whose versions change the numbers, whatever the backend.
CORE_PACKAGES = ("keras", "numpy", "scikit-image")


def _git(*arguments: str) -> str | None:
    try:
        completed = subprocess.run(
            ["git", *arguments],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return completed.stdout.strip()


def git_state() -> dict[str, Any]:
    """Return the commit of the working directory and whether its code had local changes.

    The working directory, not the installed package, is asked: tox installs
    the package into a virtual environment outside the repository.
    """
    commit = _git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None}
    # Results are outputs, not code: refreshing a committed baseline in place
    # must not mark its own records as made from a modified tree.
    status = _git("status", "--porcelain", "--untracked-files=no", "--", ":(top)", ":(top,exclude)results")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def utc_now() -> str:
    """Return the current UTC time in ISO 8601 with a Z suffix."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%SZ")


def machine() -> dict[str, Any]:
    """Return a description of this machine and Python."""
    return {
        "hostname": platform.node(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
    }


def versions(packages: tuple[str, ...]) -> dict[str, str]:
    """Return the installed version of each distribution, or "not installed"."""
    found = {}
    for package in packages:
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


def collect(extra_packages: tuple[str, ...] = ()) -> dict[str, Any]:
    """Return the provenance block stored with every record."""
    return {
        **git_state(),
        "utc_time": utc_now(),
        "machine": machine(),
        "versions": versions(tuple(dict.fromkeys(CORE_PACKAGES + extra_packages))),
    }
