"""A lock file that keeps two grids from writing into the same output folder.

The lock file stores the process id and host name of its owner. A lock whose
owner is no longer running on this host is stale (left by a crash or a kill)
and is taken over with a warning.
"""

import json
import logging
import os
import pathlib
import socket

logger = logging.getLogger(__name__)

LOCK_NAME = "aebench.lock"


class OutputLocked(RuntimeError):
    """Another running aebench process owns the output folder."""


def _process_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, but belongs to another user
    return True


class OutputLock:
    """Exclusive use of an output folder, as a context manager."""

    def __init__(self, folder: pathlib.Path):
        self.path = folder / LOCK_NAME
        self.owner = {"pid": os.getpid(), "host": socket.gethostname()}
        # True when this process already held the lock; the outer holder releases it.
        self.nested = False

    def acquire(self) -> None:
        """Create the lock file, taking over a stale one.

        Raises:
            OutputLocked: if a live process on this host, or any process on
                another host, holds the lock.
        """
        # The owner is written to a temporary file that is then linked to the
        # lock's name: the link fails if the lock exists, and a reader never
        # sees a lock file without its owner.
        temporary = self.path.with_name(f".{LOCK_NAME}.{os.getpid()}")
        temporary.write_text(json.dumps(self.owner))
        try:
            for _ in range(2):
                try:
                    os.link(temporary, self.path)
                except FileExistsError:
                    if self._held_by_this_process():
                        self.nested = True
                        return
                    self._remove_if_stale()
                    continue
                return
        finally:
            temporary.unlink(missing_ok=True)
        raise OutputLocked(f"could not create the lock file {self.path}; remove it if no aebench process is running")

    def _held_by_this_process(self) -> bool:
        try:
            return json.loads(self.path.read_text()) == self.owner
        except (OSError, ValueError):
            return False

    def _remove_if_stale(self) -> None:
        try:
            holder = json.loads(self.path.read_text())
            pid, host = int(holder["pid"]), str(holder["host"])
        except (OSError, ValueError, KeyError, TypeError):
            logger.warning("lock file %s is unreadable; taking it over", self.path)
            self.path.unlink(missing_ok=True)
            return
        if host != self.owner["host"]:
            raise OutputLocked(
                f"{self.path.parent} is in use by aebench process {pid} on host {host}; "
                f"wait for it to finish, choose another --output, or delete {self.path} if that run is gone"
            )
        if _process_running(pid):
            raise OutputLocked(
                f"{self.path.parent} is in use by aebench process {pid}; "
                f"wait for it to finish or choose another --output"
            )
        logger.warning("lock file %s was left by process %d, which is no longer running; taking it over", self.path, pid)
        self.path.unlink(missing_ok=True)

    def release(self) -> None:
        """Delete the lock file if this process still owns it and took it first."""
        if self.nested:
            return
        try:
            holder = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return
        if holder == self.owner:
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> "OutputLock":
        self.acquire()
        return self

    def __exit__(self, *exception) -> None:
        self.release()
