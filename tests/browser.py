"""Open a local HTML file in headless Chromium and inspect the loaded page.

Chromium is driven over the DevTools protocol on a pair of pipes
(`--remote-debugging-pipe`: commands on file descriptor 3, replies on 4, each
message JSON ended by a NUL byte), so no port is opened. Host names resolve to
nothing and requests go to a proxy address where nothing listens, so the page
cannot reach any network.
"""

import json
import os
import pathlib
import shutil
import signal
import subprocess
import tempfile
import time

BROWSER_NAMES = ("chromium", "chromium-browser")
LOAD_SECONDS = 60
CLEANUP_ATTEMPTS = 10
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--remote-debugging-pipe",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=127.0.0.1:9",
)


def find_chromium() -> str | None:
    """Return the path of a Chromium executable on PATH, else None."""
    for name in BROWSER_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


class HeadlessChromium:
    """A headless Chromium process driven over the DevTools pipe."""

    def __init__(self, executable: str):
        self.executable = executable
        self._profile = tempfile.TemporaryDirectory(prefix="aebench-chromium-")
        self._next_id = 0
        self._buffer = b""
        self.events: list[dict] = []

    def __enter__(self) -> "HeadlessChromium":
        commands_read, self._commands = os.pipe()
        self._replies, replies_write = os.pipe()

        def wire_pipes():
            # A session of its own, so that __exit__ can stop the renderer and
            # utility processes too: they write to the profile folder.
            os.setsid()
            # Chromium reads commands on descriptor 3 and writes replies on 4.
            os.dup2(commands_read, 3)
            os.dup2(replies_write, 4)

        self._process = subprocess.Popen(
            [self.executable, *FLAGS, f"--user-data-dir={self._profile.name}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=wire_pipes,
            close_fds=False,
        )
        os.close(commands_read)
        os.close(replies_write)
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            os.killpg(self._process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._process.wait(timeout=30)
        os.close(self._commands)
        os.close(self._replies)
        # SIGKILL is delivered asynchronously: a child may still write to the
        # profile for a moment after the main process has been reaped.
        for attempt in range(CLEANUP_ATTEMPTS):
            try:
                self._profile.cleanup()
                return
            except OSError:
                if attempt == CLEANUP_ATTEMPTS - 1:
                    raise
                time.sleep(0.5)

    def _read_message(self) -> dict:
        while b"\0" not in self._buffer:
            chunk = os.read(self._replies, 1 << 16)
            if not chunk:
                raise RuntimeError(f"Chromium closed the DevTools pipe (exit status {self._process.poll()})")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        """Send one DevTools command and return its result; events that arrive meanwhile go to `events`."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read_message()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"DevTools command {method} failed: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def open(self, path: pathlib.Path, expression: str) -> tuple[object, list[str]]:
        """Load the file at `path`, wait for its load event, and evaluate `expression` in the page.

        Returns:
            The expression's value, and the URL of every request the page made.
        """
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.send("Network.enable", session=session)
        self.send("Page.enable", session=session)
        self.send("Page.navigate", {"url": path.resolve().as_uri()}, session=session)

        deadline = time.monotonic() + LOAD_SECONDS
        while not any(event.get("method") == "Page.loadEventFired" for event in self.events):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{path} did not finish loading within {LOAD_SECONDS} s")
            self.events.append(self._read_message())
        value = self.send(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=session
        )["result"].get("value")
        requests = [
            event["params"]["request"]["url"]
            for event in self.events
            if event.get("method") == "Network.requestWillBeSent"
        ]
        return value, requests
