"""What a notification sink is (`Sink`), its error (`SinkError`), and `deliver`: retries
with backoff, never raising. Every sink is given a `domain.alerts.Notification`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from nija_balances.domain.alerts import Notification


class SinkError(Exception):
    """A delivery failed; the message is one line and holds no secret. `retry=False`: trying
    again cannot help (the sink is not set up), so `deliver` does not."""

    def __init__(self, message: str, *, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry


class Sink(Protocol):
    """Sends notifications somewhere. `name` says where without any secret
    (`apprise:NIJA_ALERT_URLS`, `file:/var/log/nija-alerts.jsonl`)."""

    name: str

    def send(self, notification: Notification) -> None:
        """Deliver once, or raise `SinkError`."""
        ...


ATTEMPTS = 3
BACKOFF = 1.0  # seconds before the second attempt, doubled before each next one


def deliver(
    sink: Sink,
    notification: Notification,
    *,
    attempts: int = ATTEMPTS,
    backoff: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> str | None:
    """Send through `sink`, trying `attempts` times with doubling pauses (from `backoff`,
    default BACKOFF); the last error's message if every attempt failed, else None. Never
    raises (a sink is someone else's code: any exception counts as a failed attempt)."""
    error = "not attempted"
    first = BACKOFF if backoff is None else backoff
    for attempt in range(attempts):
        if attempt:
            sleep(first * 2 ** (attempt - 1))
        try:
            sink.send(notification)
            return None
        except SinkError as exc:
            error = str(exc)
            if not exc.retry:
                break
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}".splitlines()[0]
    return error
