"""Equity over time: buckets, coverage (never a made-up zero), spans."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from nija_balances.domain.history import Snapshot
from nija_balances.domain.series import (
    Point,
    bucket_start,
    default_every,
    equity_series,
    parse_span,
)

T0 = datetime(2026, 1, 20, 16, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def snap(moment: datetime, equity: str) -> Snapshot:
    return Snapshot(moment, Decimal(0), Decimal(equity))


@pytest.mark.parametrize(
    ("text", "span"),
    [("7d", timedelta(days=7)), ("24h", timedelta(hours=24)), ("30m", timedelta(minutes=30)),
     (" 2D ", timedelta(days=2))],
)  # fmt: skip
def test_spans(text: str, span: timedelta) -> None:
    assert parse_span(text) == span


@pytest.mark.parametrize("text", ["", "7", "d", "7w", "-1d", "0h", "1.5d", "7d2h"])
def test_bad_spans_say_what_is_accepted(text: str) -> None:
    with pytest.raises(ValueError, match="7d, 24h, 30m"):
        parse_span(text)


def test_default_every() -> None:
    assert default_every(timedelta(hours=24)) == HOUR
    assert default_every(timedelta(days=7)) == timedelta(days=1)


def test_buckets_sum_the_last_snapshot_of_each_connection_exactly() -> None:
    a = [snap(T0 + timedelta(minutes=5), "0.10"), snap(T0 + timedelta(minutes=50), "0.20"),
         snap(T0 + HOUR, "1.05")]  # fmt: skip
    b = [snap(T0 + timedelta(minutes=10), "100.01"), snap(T0 + HOUR + HOUR / 2, "99.99")]
    points = equity_series([a, b], start=T0 - 5 * HOUR, end=T0 + HOUR * 2.5, every=HOUR)
    assert points == (
        Point(T0, Decimal("100.21"), True),  # starts at the first bucket with data
        Point(T0 + HOUR, Decimal("101.04"), True),
        Point(T0 + 2 * HOUR, None, False),  # nothing yet: unknown, not zero
    )


def test_a_connection_without_a_snapshot_makes_the_bucket_incomplete_not_zero() -> None:
    a = [snap(T0, "10"), snap(T0 + HOUR, "11")]
    b = [snap(T0, "5")]
    points = equity_series([a, b], start=T0, end=T0 + HOUR, every=HOUR)
    assert points == (Point(T0, Decimal(15), True), Point(T0 + HOUR, Decimal(11), False))


def test_nothing_known_is_no_points_and_days_are_utc_days() -> None:
    assert equity_series([[], []], start=T0, end=T0, every=HOUR) == ()
    day = timedelta(days=1)
    assert bucket_start(T0, day) == datetime(2026, 1, 20, tzinfo=UTC)
    points = equity_series([[snap(T0, "1")]], start=T0 - 3 * day, end=T0, every=day)
    assert points == (Point(datetime(2026, 1, 20, tzinfo=UTC), Decimal(1), True),)
