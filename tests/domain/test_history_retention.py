"""Snapshot retention: every snapshot for 48 h, then the last of each hour up to 90 days old,
then the last of each day; and the history records' own rules (times in UTC, prices near a
time, flow values)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from nija_balances.domain.history import (
    AssetPosition,
    Flow,
    Snapshot,
    SnapshotPrices,
    flow_value,
    snapshots_to_keep,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def ago(**delta: float) -> datetime:
    return NOW - timedelta(**delta)


def test_everything_younger_than_48_hours_is_kept() -> None:
    times = [ago(minutes=m) for m in range(0, 48 * 60 + 1, 7)]
    assert snapshots_to_keep(times, NOW) == frozenset(times)


def test_future_snapshots_are_kept() -> None:
    later = NOW + timedelta(minutes=5)
    assert snapshots_to_keep([later], NOW) == {later}


def test_between_48_hours_and_90_days_the_last_of_each_hour_is_kept() -> None:
    # Three snapshots in the hour 09:00-10:00 UTC three days ago: only 09:50 stays.
    hour = datetime(2026, 5, 29, 9, 0, tzinfo=UTC)
    times = [hour + timedelta(minutes=m) for m in (5, 30, 50)]
    next_hour = hour + timedelta(hours=1, minutes=1)
    assert snapshots_to_keep([*times, next_hour], NOW) == {times[-1], next_hour}


def test_older_than_90_days_the_last_of_each_day_is_kept() -> None:
    day = datetime(2026, 1, 10, tzinfo=UTC)
    times = [day + timedelta(hours=h) for h in (1, 5, 23)] + [day + timedelta(days=1, hours=2)]
    assert snapshots_to_keep(times, NOW) == {times[2], times[3]}


def test_the_boundaries_are_inclusive() -> None:
    # Exactly 48 h old: kept although not the last of its hour; exactly 90 days old: kept
    # as the last of its hour although not the last of its day.
    at_48h, later_same_hour = ago(hours=48), ago(hours=48) + timedelta(minutes=1)
    at_90d, later_same_day = ago(days=90), ago(days=90) + timedelta(hours=2)
    kept = snapshots_to_keep([at_48h, later_same_hour, at_90d, later_same_day], NOW)
    assert kept == {at_48h, later_same_hour, at_90d, later_same_day}
    just_older = ago(days=90, seconds=1)
    assert just_older not in snapshots_to_keep([just_older, later_same_day], NOW)


def test_days_are_those_of_the_timezone() -> None:
    # 2026-01-10 03:00 UTC is still 9 January in New York (UTC-5): two different local days,
    # so both are the last of their day there, while in UTC only the later one is.
    ny = ZoneInfo("America/New_York")
    early, late = datetime(2026, 1, 10, 3, tzinfo=UTC), datetime(2026, 1, 10, 20, tzinfo=UTC)
    assert snapshots_to_keep([early, late], NOW) == {late}
    assert snapshots_to_keep([early, late], NOW, ny) == {early, late}


def test_naive_times_are_taken_as_utc_and_returned_as_given() -> None:
    naive = datetime(2026, 5, 31, 12, 0)
    assert snapshots_to_keep([naive], NOW) == {naive}


times_strategy = st.lists(
    st.datetimes(
        min_value=datetime(2025, 1, 1), max_value=datetime(2026, 6, 2), timezones=st.just(UTC)
    ),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(times=times_strategy, later=st.timedeltas(timedelta(0), timedelta(days=200)))
def test_pruning_again_later_keeps_what_pruning_once_would(
    times: list[datetime], later: timedelta
) -> None:
    kept_now = snapshots_to_keep(times, NOW)
    assert kept_now <= set(times)
    assert snapshots_to_keep(kept_now, NOW) == kept_now
    assert snapshots_to_keep(kept_now, NOW + later) == snapshots_to_keep(times, NOW + later)
    assert snapshots_to_keep(times, NOW + later) <= kept_now


@settings(max_examples=100, deadline=None)
@given(times=times_strategy)
def test_the_newest_snapshot_of_every_day_is_always_kept(times: list[datetime]) -> None:
    kept = snapshots_to_keep(times, NOW)
    for day in {t.date() for t in times}:
        assert max(t for t in times if t.date() == day) in kept


def test_times_are_aware_utc() -> None:
    naive = Snapshot(datetime(2026, 1, 1, 12), D(0), D(0))
    paris = Snapshot(datetime(2026, 1, 1, 13, tzinfo=ZoneInfo("Europe/Paris")), D(0), D(0))
    assert naive.time == paris.time == datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert naive.time.tzinfo is UTC and paris.time.tzinfo is UTC


def test_position_value_is_rounded_to_the_cent_and_unpriced_has_none() -> None:
    # 0.123 × 101.01 = 12.42423 -> 12.42
    assert AssetPosition("BTC", D("0.123"), D("101.01")).value == D("12.42")
    assert AssetPosition("XYZ", D(5), None).value is None
    assert AssetPosition("XYZ", D("NaN"), D(1)).value is None


def test_prices_come_from_the_nearest_snapshot() -> None:
    day = datetime(2026, 1, 1, tzinfo=UTC)
    snaps = [
        Snapshot(day + timedelta(hours=h), D(0), D(0), (AssetPosition("BTC", D(1), D(p)),))
        for h, p in ((0, 100), (10, 200))
    ]
    prices = SnapshotPrices(snaps)
    assert prices.near("BTC", day + timedelta(hours=4)) == D(100)
    assert prices.near("BTC", day + timedelta(hours=5)) == D(100)  # a tie: the earlier one
    assert prices.near("BTC", day + timedelta(hours=6)) == D(200)
    assert prices.near("BTC", day + timedelta(days=9)) == D(200)
    assert prices.near("ETH", day) is None


def test_flow_values() -> None:
    day = datetime(2026, 1, 1, tzinfo=UTC)
    prices = SnapshotPrices([Snapshot(day, D(0), D(0), (AssetPosition("BTC", D(1), D(30000)),))])
    cash = {"USD", "USDT"}
    # Cash at par, whatever value was recorded; others at their own value, else near price.
    assert flow_value(Flow("a", "deposit", day, "USDT", D(100), value=D(99)), prices, cash) == D(
        100
    )
    assert flow_value(Flow("b", "deposit", day, "BTC", D("0.1"), value=D(3100)), prices, cash) == D(
        3100
    )
    assert flow_value(Flow("c", "deposit", day, "BTC", D("0.1")), prices, cash) == D(3000)
    assert flow_value(Flow("d", "deposit", day, "ETH", D(1)), prices, cash) is None
    assert flow_value(Flow("e", "deposit", day, "BTC", D("-1")), prices, cash) is None
