"""The built-in sinks that need no extra: the log (always on), a JSON-lines file, a command."""

from __future__ import annotations

import json
import logging
import os
import subprocess
from pathlib import Path

from nija_balances.domain.alerts import Notification
from nija_balances.monitoring.sinks.interface import SinkError

log = logging.getLogger("nija_balances.alerts")
COMMAND_TIMEOUT = 30.0  # seconds a command may take


class LogSink:
    """A line on the `nija_balances.alerts` logger: WARNING when an alert fires or repeats,
    INFO when it resolves."""

    name = "log"

    def send(self, notification: Notification) -> None:
        level = logging.INFO if notification.event == "resolved" else logging.WARNING
        log.log(level, "%s: %s", notification.alert.kind.value, notification.alert.message)


class JsonLinesSink:
    """Appends each notification's document as one JSON line to a file (made 0600)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = f"file:{path}"

    def send(self, notification: Notification) -> None:
        line = json.dumps(notification.document(), ensure_ascii=False) + "\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as out:
                out.write(line)
        except OSError as exc:
            raise SinkError(f"cannot write {self.path}: {exc.strerror or exc}") from None


class CommandSink:
    """Runs a command (no shell) per notification: the document as JSON on stdin, and
    NIJA_ALERT_KIND, NIJA_ALERT_ACCOUNT, NIJA_ALERT_EVENT and NIJA_ALERT_MESSAGE set."""

    def __init__(self, argv: tuple[str, ...]) -> None:
        self.argv = argv
        self.name = f"command:{argv[0]}"

    def send(self, notification: Notification) -> None:
        alert = notification.alert
        env = {
            **os.environ,
            "NIJA_ALERT_KIND": alert.kind.value,
            "NIJA_ALERT_ACCOUNT": alert.account,
            "NIJA_ALERT_EVENT": notification.event,
            "NIJA_ALERT_MESSAGE": alert.message,
        }
        try:
            done = subprocess.run(
                self.argv,
                input=json.dumps(notification.document()),
                capture_output=True,
                text=True,
                timeout=COMMAND_TIMEOUT,
                env=env,
                check=False,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise SinkError(f"{self.argv[0]}: {exc}".splitlines()[0]) from None
        if done.returncode != 0:
            tail = (done.stderr or "").strip().splitlines()[-1:] or [""]
            raise SinkError(f"{self.argv[0]} exited {done.returncode} {tail[0][:200]}".strip())
