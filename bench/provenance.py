"""Provenance of a result: commit, time, machine and package versions."""

import datetime
import importlib.metadata
import os
import pathlib
import platform
import subprocess
import sys
from typing import Any

# The packages whose versions change the numbers, whatever the backend.
CORE_PACKAGES = ("keras", "numpy", "scikit-image", "scikit-learn")


def _git(folder: pathlib.Path, *arguments: str) -> str | None:
    try:
        completed = subprocess.run(
            ["git", "-C", str(folder), *arguments],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return completed.stdout.strip()


def _is_harness_checkout(folder: pathlib.Path) -> bool:
    return (folder / "bench" / "__init__.py").is_file() and (folder / "backends" / "__init__.py").is_file()


def _checkout() -> pathlib.Path | None:
    """Return the root of the aebench checkout that this code comes from, if any.

    Run from a source tree, that is the package's own folder. tox installs a
    copy into a virtual environment outside the repository, so the working
    directory is tried next. Either counts only if it is an aebench checkout.
    """
    for folder in (pathlib.Path(__file__).resolve().parents[1], pathlib.Path.cwd()):
        root = _git(folder, "rev-parse", "--show-toplevel")
        if root is not None and _is_harness_checkout(pathlib.Path(root)):
            return pathlib.Path(root)
    return None


def git_state() -> dict[str, Any]:
    """Return the commit of the aebench checkout and whether its code had local changes."""
    root = _checkout()
    commit = _git(root, "rev-parse", "HEAD") if root is not None else None
    if commit is None:
        return {"commit": None, "dirty": None}
    # Results are outputs, not code: refreshing a committed baseline in place
    # must not mark its own records as made from a modified tree.
    status = _git(root, "status", "--porcelain", "--untracked-files=no", "--", ":(top)", ":(top,exclude)results")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def utc_now() -> str:
    """Return the current UTC time in ISO 8601 with a Z suffix."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%SZ")


def cpu_model() -> str:
    """Return the CPU's model name from /proc/cpuinfo, or the processor type where that is missing."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    """Return a description of this machine and Python."""
    return {
        "hostname": platform.node(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        # Float rounding, and so a seed's exact numbers, can differ between CPU models.
        "cpu_model": cpu_model(),
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
