"""Equity over time (`nija history`): an account's connections' snapshots
summed per time bucket. Pure: no I/O, exact Decimals.

A bucket is `[t, t + every)` with `t` a whole multiple of `every` since the epoch (UTC: whole
hours, whole UTC days). A connection's value in a bucket is the equity of its last snapshot
in it; a bucket where a connection has none is `complete=False`, and its equity the sum of
the connections that have one (None when none has): a missing value is never taken as zero.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from nija_balances.domain.history import Snapshot, as_utc

_SPAN = re.compile(r"\s*(\d{1,6})\s*([dhm])\s*", re.IGNORECASE)
_UNITS = {"d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Point:
    """One bucket of an account's equity: its start (aware UTC), the sum, its coverage."""

    time: datetime
    equity: Decimal | None
    complete: bool


def parse_span(text: str) -> timedelta:
    """`7d`, `24h`, `30m` as a timedelta; ValueError (with what is accepted) otherwise."""
    match = _SPAN.fullmatch(text)
    if match is None or int(match.group(1)) == 0:
        raise ValueError(
            f"not a time span: {text!r} (a positive whole number and a unit: 7d, 24h, 30m)"
        )
    return int(match.group(1)) * _UNITS[match.group(2).lower()]


def default_every(since: timedelta) -> timedelta:
    """Hourly buckets over two days or less, daily ones beyond."""
    return timedelta(hours=1) if since <= timedelta(days=2) else timedelta(days=1)


def bucket_start(moment: datetime, every: timedelta) -> datetime:
    """The start of the bucket of `every` that holds `moment`."""
    return _EPOCH + ((as_utc(moment) - _EPOCH) // every) * every


def equity_series(
    connections: Sequence[Sequence[Snapshot]],
    *,
    start: datetime,
    end: datetime,
    every: timedelta,
) -> tuple[Point, ...]:
    """The account's points from the first bucket (at or after `start`'s) where one of its
    `connections` (each its snapshots) has a snapshot, to `end`'s bucket; () without any."""
    if every <= timedelta(0):
        raise ValueError("every must be positive")
    first, last = bucket_start(start, every), bucket_start(end, every)
    per_connection: list[dict[datetime, Snapshot]] = []
    for snapshots in connections:
        latest: dict[datetime, Snapshot] = {}
        for snap in snapshots:
            bucket = bucket_start(snap.time, every)
            if first <= bucket <= last and (
                bucket not in latest or latest[bucket].time <= snap.time
            ):
                latest[bucket] = snap
        per_connection.append(latest)
    seen = [b for latest in per_connection for b in latest]
    if not seen:
        return ()
    points: list[Point] = []
    bucket = min(seen)
    while bucket <= last:
        values = [latest[bucket].equity for latest in per_connection if bucket in latest]
        total = sum(values, Decimal(0)) if values else None
        points.append(Point(bucket, total, len(values) == len(per_connection)))
        bucket += every
    return tuple(points)
