"""The last week of each connection's snapshots, kept in memory between refreshes.

`nija history` reads every snapshot of its span from the store. The dashboard refreshes
every minute: at 300 connections, snapshots kept for 48 hours make ~860,000 rows to decode
per refresh. Here each connection keeps only the last snapshot of each hour of the last 7
days, and each refresh reads only the snapshots written since the one before, so a refresh
costs a few hundred rows whatever the fleet's age.

The points made from it are exactly `engine.history.load_history`'s for hourly or daily
buckets: a bucket's value is the last snapshot in it, and the last of a day is the last of
its last hour (a test holds them equal).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from nija_balances.domain.history import Snapshot, as_utc
from nija_balances.domain.models import AccountConfig, Config
from nija_balances.domain.series import Point, bucket_start, equity_series
from nija_balances.engine.history import History, account_hashes
from nija_balances.engine.ports import SnapshotStore

HOUR = timedelta(hours=1)
#: How far back the window reaches (the sparklines' and `/api/history`'s default span).
WINDOW = timedelta(days=7)
#: Re-read this far before the last read: a snapshot written by another process with an
#: earlier time than ours (its clock, or a slow write) is still picked up.
OVERLAP = timedelta(minutes=10)


class RecentSnapshots:
    """Per connection key: the last snapshot of each hour within `WINDOW` of the last
    update, read incrementally from the store."""

    def __init__(self) -> None:
        self._hours: dict[str, dict[datetime, Snapshot]] = {}
        self._owner: dict[str, str] = {}  # key -> the exchange account its snapshots are of
        self._read_to: dict[str, datetime] = {}

    def update(self, config: Config, store: SnapshotStore, now: datetime) -> None:
        """Read what the store holds of `config`'s connections since the last update."""
        now = as_utc(now)
        accounts = [config.platform, *(u for u in config.users if u.enabled)]
        connections = [c for a in accounts for c in a.connections]
        owners = account_hashes(config, connections, None)
        for key in [k for k in self._hours if self._owner.get(k) != owners.get(k)]:
            self._forget(key)  # gone from the config, or now another exchange account
        fresh = [k for k in owners if k not in self._hours]
        known = [k for k in owners if k in self._hours]
        reads: list[tuple[list[str], datetime]] = []
        if fresh:
            reads.append((fresh, now - WINDOW))
        if known:
            reads.append((known, min(self._read_to[k] for k in known) - OVERLAP))
        for keys, since in reads:
            found = store.get_snapshots(config.namespace, keys, since=since, accounts=owners)
            for key in keys:
                self._keep(key, found.get(key, ()))
                self._owner[key], self._read_to[key] = owners[key], now
        oldest = bucket_start(now - WINDOW, HOUR)
        for hours in self._hours.values():
            for hour in [h for h in hours if h < oldest]:
                del hours[hour]

    def history(
        self, config: Config, *, now: datetime, since: timedelta, every: timedelta
    ) -> History:
        """`load_history(config, store, now=now, since=since, every=every)` from memory;
        `since` at most `WINDOW`, `every` whole hours."""
        if since > WINDOW or every % HOUR:
            raise ValueError("the recent snapshots hold 7 days in whole hours")
        now = as_utc(now)
        start = now - since

        def points(account: AccountConfig) -> tuple[Point, ...]:
            series = [
                [s for s in self._hours.get(c.key, {}).values() if s.time >= start]
                for c in account.connections
            ]
            return equity_series(series, start=start, end=now, every=every)

        platform = points(config.platform) if config.platform.enabled else ()
        users = {u.id: points(u) for u in config.users if u.enabled}
        return History(now, config.settings.quote, start, every, platform, users)

    def snapshots(self, key: str) -> list[Snapshot]:
        """The connection's kept snapshots (the last of each hour), oldest first."""
        return sorted(self._hours.get(key, {}).values(), key=lambda s: s.time)

    def _keep(self, key: str, snapshots: Iterable[Snapshot]) -> None:
        hours = self._hours.setdefault(key, {})
        for snap in snapshots:
            hour = bucket_start(snap.time, HOUR)
            if hour not in hours or hours[hour].time <= snap.time:
                hours[hour] = snap

    def _forget(self, key: str) -> None:
        self._hours.pop(key, None)
        self._owner.pop(key, None)
        self._read_to.pop(key, None)
