"""Alerts (DESIGN.md §11): the rules that find BALANCE_LOW, BALANCE_DROP and
CONNECTION_FAILING, and the state machine that fires each once, repeats it after
`repeat_after` and resolves it with a message.

Pure: no I/O, no clock (`now` is given), exact Decimals. A total that is incomplete, or a
drop that cannot be measured (an unvalued flow, no history), is `None` — "cannot tell" —
which neither raises nor resolves an alert.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from nija_balances.domain.history import Flow, SnapshotPrices, flow_value
from nija_balances.domain.models import (
    ZERO,
    AccountReport,
    AlertRules,
    ConnectionReport,
    Status,
    to_cents,
)
from nija_balances.domain.text import safe_text

HUNDRED = Decimal(100)


class AlertKind(StrEnum):
    BALANCE_LOW = "BALANCE_LOW"
    BALANCE_DROP = "BALANCE_DROP"
    CONNECTION_FAILING = "CONNECTION_FAILING"


Phase = Literal["pending", "firing", "resolved", "clear"]
"""`pending`: the condition holds but not yet long enough (`failing_after`); `clear`: a
pending condition that ended before it fired (never shown)."""
Event = Literal["fired", "repeated", "resolved"]


@dataclass(frozen=True)
class Alert:
    """The state of one (account, kind, connection) as the store keeps it. `version` grows by
    one with every write: a write is made only over the version it was computed from."""

    kind: AlertKind
    account: str
    connection: str | None
    state: Phase
    since: datetime
    last_sent: datetime | None = None
    sent_count: int = 0
    balance: Decimal | None = None
    threshold: Decimal | None = None
    message: str = ""
    version: int = 0

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind.value, self.account, self.connection or "")


@dataclass(frozen=True)
class Finding:
    """What a rule sees now for one key. `on`: True the condition holds, False it has
    cleared (past the hysteresis), None cannot tell or inside the hysteresis band."""

    kind: AlertKind
    account: str
    connection: str | None
    on: bool | None
    balance: Decimal | None
    threshold: Decimal | None
    message: str  # said when it fires or repeats
    resolved: str  # said when it resolves
    hold: timedelta = timedelta(0)  # how long it must hold before it fires

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind.value, self.account, self.connection or "")


@dataclass(frozen=True)
class Step:
    """A change of one alert: write `after` over `before` (None: no row yet); send `event`."""

    before: Alert | None
    after: Alert
    event: Event | None


@dataclass(frozen=True)
class SinkReport:
    """How deliveries to one sink went: the last success, the last failure and its error,
    and the failures since the last success."""

    sink: str
    last_ok: datetime | None
    last_failed: datetime | None
    failures: int
    error: str | None


def alert_document(alert: Alert) -> dict[str, Any]:
    """The §11 fields of an alert (`nija alerts --json`, every notification)."""

    def money(value: Decimal | None) -> float | None:
        return None if value is None else float(to_cents(value))

    return {
        "kind": alert.kind.value,
        "account": alert.account,
        "connection": alert.connection,
        "state": alert.state,
        "since": alert.since.isoformat(),
        "last_sent": None if alert.last_sent is None else alert.last_sent.isoformat(),
        "sent_count": alert.sent_count,
        "balance": money(alert.balance),
        "threshold": money(alert.threshold),
        "message": alert.message,
    }


@dataclass(frozen=True)
class Notification:
    """What every sink is given: an alert that fired, repeated or resolved (no secret)."""

    event: Event
    alert: Alert
    quote: str

    @property
    def title(self) -> str:
        where = self.alert.account + (f"/{self.alert.connection}" if self.alert.connection else "")
        end = " resolved" if self.event == "resolved" else ""
        return f"{self.alert.kind.value} {safe_text(where)}{end}"

    def document(self) -> dict[str, Any]:
        """The alert's §11 fields, the event and the quote currency."""
        return {**alert_document(self.alert), "event": self.event, "quote": self.quote}


# ---------------------------------------------------------------------------- the state machine


def advance(
    previous: Alert | None, finding: Finding, now: datetime, repeat_after: timedelta
) -> Step | None:
    """The change `finding` makes to `previous` at `now` (None: nothing to write)."""
    state = previous.state if previous is not None else "clear"
    if finding.on is True:
        if state in ("clear", "resolved"):
            if finding.hold > timedelta(0):
                after = _new(finding, "pending", now, previous)
                return Step(previous, after, None)
            return Step(previous, _fire(_new(finding, "firing", now, previous), now), "fired")
        assert previous is not None
        if state == "pending":
            if now - previous.since < finding.hold:
                return None
            fired = replace(previous, state="firing", message=finding.message, sent_count=0)
            return Step(previous, _fire(_seen(fired, finding), now), "fired")
        if previous.last_sent is None or now - previous.last_sent >= repeat_after:
            again = replace(previous, message=finding.message)
            return Step(previous, _fire(_seen(again, finding), now), "repeated")
        return None
    if finding.on is False and previous is not None:
        if state == "pending":
            return Step(previous, replace(previous, state="clear", since=now), None)
        if state == "firing":
            after = replace(
                previous, state="resolved", since=now, last_sent=now, message=finding.resolved
            )
            return Step(previous, _seen(after, finding), "resolved")
    return None


def _new(finding: Finding, state: Phase, now: datetime, previous: Alert | None) -> Alert:
    return Alert(
        finding.kind,
        finding.account,
        finding.connection,
        state,
        since=now,
        balance=finding.balance,
        threshold=finding.threshold,
        message=finding.message,
        version=previous.version if previous is not None else 0,
    )


def _seen(alert: Alert, finding: Finding) -> Alert:
    return replace(alert, balance=finding.balance, threshold=finding.threshold)


def _fire(alert: Alert, now: datetime) -> Alert:
    return replace(alert, state="firing", last_sent=now, sent_count=alert.sent_count + 1)


# ---------------------------------------------------------------------------- the rules


def _money(amount: Decimal, quote: str) -> str:
    return f"{to_cents(amount):,} {quote}"


def _span(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def low_finding(account: AccountReport, rules: AlertRules, quote: str) -> Finding | None:
    """BALANCE_LOW: the account's total below `low_balance`; cleared once it is back above
    the threshold plus the hysteresis. An incomplete total cannot tell."""
    low = rules.low_balance
    if low is None:
        return None
    name = safe_text(account.id)
    total = account.total if _measurable(account) else None
    on: bool | None = None
    if total is not None:
        on = True if total < low else False if total >= low * (1 + rules.hysteresis / 100) else None
    shown = "unknown" if total is None else _money(total, quote)
    return Finding(
        AlertKind.BALANCE_LOW,
        account.id,
        None,
        on,
        total,
        low,
        f"{name}: balance {shown} is below {_money(low, quote)}",
        f"{name}: balance {shown} is back above {_money(low, quote)}",
    )


def _measurable(account: AccountReport) -> bool:
    """Enabled, with connections, every one of them counted (a complete total)."""
    return account.enabled and bool(account.connections) and account.complete


Point = tuple[datetime, Decimal]
"""A connection's (or an account's) equity at a time."""


def account_equity(connections: Sequence[Sequence[Point]]) -> list[Point]:
    """The account's equity at each point time where every connection has a point at or
    before it (the sum of each one's latest), oldest first; [] without such a time. Each
    connection's points must be oldest first. Linear in the points (one merge)."""
    if not connections or any(not points for points in connections):
        return []
    merged = sorted(
        (moment, i, equity) for i, points in enumerate(connections) for moment, equity in points
    )
    latest: dict[int, Decimal] = {}
    total = ZERO
    found: list[Point] = []
    for moment, i, equity in merged:
        total += equity - latest.get(i, ZERO)
        latest[i] = equity
        if len(latest) == len(connections):
            if found and found[-1][0] == moment:
                found[-1] = (moment, total)
            else:
                found.append((moment, total))
    return found


def drop_finding(
    account: AccountReport,
    rules: AlertRules,
    quote: str,
    *,
    history: Sequence[Point],
    flows: Iterable[Flow],
    prices: SnapshotPrices,
    cash: Collection[str],
    now: datetime,
) -> Finding | None:
    """BALANCE_DROP: equity now is `drop_percent` or more below its highest point of
    `history` within `drop_window`, net of the flows since that point (a withdrawal is not
    a loss, a deposit does not hide one). A flow without a known value, an incomplete total
    or no history in the window cannot tell."""
    limit = rules.drop_percent
    if limit is None:
        return None
    name, window = safe_text(account.id), _span(rules.drop_window)
    equity = sum((c.equity for c in account.connections), ZERO) if _measurable(account) else None
    start = now - rules.drop_window
    points = [(t, e) for t, e in history if start <= t <= now and e > 0]
    signed: list[tuple[datetime, Decimal | None]] = []
    for flow in flows:
        if flow.sign and start < flow.time <= now:
            value = flow_value(flow, prices, cash)
            signed.append((flow.time, None if value is None else flow.sign * value))
    worst: Decimal | None = None
    peak: Decimal | None = None
    if equity is not None and points and all(v is not None for _, v in signed):
        for moment, value in points:
            after = sum((v for t, v in signed if t > moment and v is not None), ZERO)
            fall = (value + after - equity) / value * HUNDRED
            if worst is None or fall > worst:
                worst, peak = fall, value
    on: bool | None = None
    if worst is not None:
        on = (
            True
            if worst >= limit
            else False
            if worst < limit * (1 - rules.hysteresis / 100)
            else None
        )
    shown = "unknown" if equity is None else _money(equity, quote)
    fell = (
        f"fell {worst:.1f}% within {window} (from {_money(peak, quote)} to {shown}, net of flows)"
        if worst is not None and peak is not None
        else f"fell {limit}% within {window}"
    )
    return Finding(
        AlertKind.BALANCE_DROP,
        account.id,
        None,
        on,
        equity,
        limit,
        f"{name}: equity {fell}",
        f"{name}: equity {shown} is no longer {limit}% below its {window} high",
    )


def failing_finding(connection: ConnectionReport, rules: AlertRules) -> Finding | None:
    """CONNECTION_FAILING: not `ok`/`cached` (a disabled user's connection is never failing)
    for `failing_after`; cleared as soon as it is `ok` or `cached` again."""
    if connection.status is Status.DISABLED:
        return None
    where = f"{safe_text(connection.account)}/{safe_text(connection.connection)}"
    error = (connection.error or "").splitlines()[0][:200] if connection.error else ""
    status = connection.status.value
    balance = connection.balance if connection.counted else None
    return Finding(
        AlertKind.CONNECTION_FAILING,
        connection.account,
        connection.connection,
        not connection.status.healthy,
        balance,
        None,
        f"{where} ({connection.exchange}) is {status}" + (f": {error}" if error else ""),
        f"{where} ({connection.exchange}) is {status} again",
        hold=rules.failing_after,
    )
