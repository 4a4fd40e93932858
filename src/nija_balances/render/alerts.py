"""`nija alerts`: the JSON document (DESIGN.md §11) and the plain-text listing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from nija_balances.domain.alerts import Alert, SinkReport, alert_document
from nija_balances.domain.text import safe_text


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def sink_document(report: SinkReport) -> dict[str, Any]:
    return {
        "sink": report.sink,
        "ok": report.failures == 0,
        "failures": report.failures,
        "last_ok": _iso(report.last_ok),
        "last_failed": _iso(report.last_failed),
        "error": report.error,
    }


def alerts_document(
    active: Sequence[Alert], recent: Sequence[Alert], sinks: Sequence[SinkReport]
) -> dict[str, Any]:
    """`{"active": [alert...], "recent": [alert...], "sinks": [sink...]}`."""
    return {
        "active": [alert_document(a) for a in active],
        "recent": [alert_document(a) for a in recent],
        "sinks": [sink_document(s) for s in sinks],
    }


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


def _line(alert: Alert) -> str:
    sent = f"sent {alert.sent_count}x, last {_when(alert.last_sent)}"
    where = f"  {alert.kind.value:<19} since {_when(alert.since)}  {sent}"
    return f"{where}\n    {safe_text(alert.message)}"


def alerts_text(
    active: Sequence[Alert], recent: Sequence[Alert], sinks: Sequence[SinkReport], log: Path
) -> str:
    """Active alerts, then recently resolved ones, then sinks that are failing."""
    lines = [f"Active alerts: {len(active) or 'none'}"]
    lines += [_line(a) for a in active]
    if recent:
        lines += ["", f"Resolved in the last 30 days: {len(recent)}"]
        lines += [_line(a) for a in recent]
    failing = [s for s in sinks if s.failures]
    if failing:
        lines += ["", "Sinks failing:"]
        lines += [
            f"  {safe_text(s.sink)}: {s.failures} failure(s), last {_when(s.last_failed)}: "
            f"{safe_text(s.error or '')}"
            for s in failing
        ]
    lines += ["", f"Monitor log: {log}"]
    return "\n".join(lines) + "\n"
