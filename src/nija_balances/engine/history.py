"""The history model (`nija history`, `get_history`): per account, its equity over time from
the snapshots in the store (DESIGN.md §10)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from nija_balances.domain.history import as_utc
from nija_balances.domain.models import AccountConfig, Config
from nija_balances.domain.series import Point, equity_series
from nija_balances.engine.ports import SnapshotStore


@dataclass(frozen=True)
class History:
    """Equity points of the platform and of each enabled user (config order)."""

    generated_at: datetime  # aware UTC
    quote: str
    since: datetime
    every: timedelta
    platform: tuple[Point, ...]
    users: dict[str, tuple[Point, ...]]


def load_history(
    config: Config,
    store: SnapshotStore,
    *,
    now: datetime,
    since: timedelta,
    every: timedelta,
) -> History:
    """The points of `config`'s accounts over the last `since`, in buckets of `every`.

    Disabled users are left out, as from the totals; a connection with no snapshot (no
    credentials, failing, the paper adapter) leaves its account's buckets incomplete."""
    now = as_utc(now)
    start = now - since
    accounts = [config.platform, *(u for u in config.users if u.enabled)]
    keys = [c.key for a in accounts for c in a.connections]
    snapshots = store.get_snapshots(config.namespace, keys, since=start) if keys else {}

    def points(account: AccountConfig) -> tuple[Point, ...]:
        series = [snapshots.get(c.key, []) for c in account.connections]
        return equity_series(series, start=start, end=now, every=every)

    platform = points(config.platform) if config.platform.enabled else ()
    users = {u.id: points(u) for u in config.users if u.enabled}
    return History(now, config.settings.quote, start, every, platform, users)
