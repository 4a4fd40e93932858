"""A real terminal for tests: a private tmux server running one command in one pane."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path


class Tmux:
    """One pane (session `w`) on a tmux server of its own, so tests never share a server.

    After the command ends the pane shows `EXIT=<status>` (and whatever `after` prints), so a
    test can read how the program ended and what it left on the screen.
    """

    def __init__(self, home: Path, width: int = 80, height: int = 24) -> None:
        self.socket = f"nija-test-{uuid.uuid4().hex[:8]}"
        self.home, self.width, self.height = home, width, height

    def tmux(self, *args: str) -> str:
        run = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=10
        )
        return run.stdout

    def start(self, command: str, after: str = "") -> None:
        # A real terminal's environment, not the test runner's (COLUMNS, TERM=dumb, NO_COLOR).
        env = "env -u COLUMNS -u LINES -u NO_COLOR TERM=xterm-256color"
        shell = f"{env} NIJA_BALANCES_HOME={self.home} {command}; echo EXIT=$?; {after}sleep 60"
        size = ["-x", str(self.width), "-y", str(self.height)]
        self.tmux("new-session", "-d", "-s", "w", *size, shell)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "w")

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "w", *keys)

    def wait_for(self, found: Callable[[str], bool], timeout: float = 20.0) -> str:
        """Poll the screen until `found` says yes (a condition, not a fixed sleep)."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen()
            if found(text):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"screen never matched; last screen:\n{text}")
            time.sleep(0.05)

    def close(self) -> None:
        path = self.tmux("display-message", "-p", "#{socket_path}").strip()
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=10)
        if path.endswith(self.socket):  # the server leaves its socket file behind
            Path(path).unlink(missing_ok=True)
