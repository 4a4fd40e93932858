"""`MemoryAlertStore`: alert state in this process only, for a store that keeps none (one
that gave up on its file, or a store kind without alert tables). Alerts still fire once
and resolve within the process; another process does not see them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from nija_balances.domain.alerts import Alert, SinkReport


class MemoryAlertStore:
    """An `engine.ports.AlertStore` in a few dicts."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._alerts: dict[tuple[str, tuple[str, str, str]], Alert] = {}
        self._sinks: dict[tuple[str, str], SinkReport] = {}
        self._marks: dict[tuple[str, str], float] = {}

    def get_alerts(self, namespace: str) -> list[Alert]:
        found = [a for (ns, _), a in self._alerts.items() if ns == namespace]
        return sorted(found, key=lambda a: a.since)

    def put_alert(self, namespace: str, before: Alert | None, after: Alert) -> bool | None:
        key = (namespace, after.key)
        stored = self._alerts.get(key)
        if (stored.version if stored else None) != (before.version if before else None):
            return False
        self._alerts[key] = replace(after, version=(stored.version if stored else 0) + 1)
        return True

    def get_sink_reports(self, namespace: str) -> list[SinkReport]:
        return [r for (ns, _), r in sorted(self._sinks.items()) if ns == namespace]

    def put_sink_report(self, namespace: str, sink: str, error: str | None) -> None:
        now = datetime.fromtimestamp(self._clock(), UTC)
        old = self._sinks.get((namespace, sink)) or SinkReport(sink, None, None, 0, None)
        if error is None:
            new = replace(old, last_ok=now, failures=0)
        else:
            new = replace(old, last_failed=now, failures=old.failures + 1, error=error)
        self._sinks[(namespace, sink)] = new

    def claim_mark(self, namespace: str, name: str, every: float) -> bool | None:
        now = self._clock()
        if now - self._marks.get((namespace, name), -every) < every:
            return False
        self._marks[(namespace, name)] = now
        return True
