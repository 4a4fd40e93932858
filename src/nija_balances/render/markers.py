"""Status markers and money/age formatting shared by every text renderer."""

from __future__ import annotations

from decimal import Decimal

from nija_balances.domain.models import ConnectionReport, Status

# (marker, style). Markers are plain characters so they read without colour too.
MARKERS: dict[Status, tuple[str, str]] = {
    Status.OK: ("✔", "green"),
    Status.CACHED: ("●", "cyan"),
    Status.STALE: ("⚠", "yellow"),
    Status.NO_CREDENTIALS: ("○", "dim"),
    Status.DISABLED: ("–", "dim"),
    Status.AUTH_FAILED: ("✖", "red"),
    Status.RATE_LIMITED: ("✖", "red"),
    Status.TIMEOUT: ("✖", "red"),
    Status.UNREACHABLE: ("✖", "red"),
    Status.UNSUPPORTED: ("?", "magenta"),
    Status.ERROR: ("✖", "red"),
}


def marker(status: Status) -> str:
    return MARKERS[status][0]


def style(status: Status) -> str:
    return MARKERS[status][1]


def money(amount: Decimal, quote: str = "USD") -> str:
    """`$1,234.56` (or `1,234.56 EUR` for other quotes)."""
    sign = "-" if amount < 0 else ""
    text = f"{abs(amount):,.2f}"
    return f"{sign}${text}" if quote == "USD" else f"{sign}{text} {quote}"


def age(seconds: float | None) -> str:
    """`8s`, `3m`, `2h05m`, `3d` — short, for narrow tables."""
    if seconds is None:
        return ""
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h{(s % 3600) // 60:02d}m"
    return f"{s // 86400}d"


def status_text(report: ConnectionReport) -> str:
    """The status word with the age when the value is not fresh: `cached 42s`, `stale 5m`."""
    if report.status in (Status.CACHED, Status.STALE):
        return f"{report.status.value} {age(report.age_s)}"
    return report.status.value


def shown_balance(report: ConnectionReport, quote: str) -> str:
    """The balance, or `—` for a connection that is not counted (never a misleading $0.00)."""
    return money(report.balance, quote) if report.counted else "—"
