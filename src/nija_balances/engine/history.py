"""The history model (`nija history`, `get_history`): per account, its equity over time from
the snapshots in the store."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from nija_balances.domain.history import as_utc
from nija_balances.domain.models import AccountConfig, Config, ConnectionConfig
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
    environ: Mapping[str, str] | None = None,
) -> History:
    """The points of `config`'s accounts over the last `since`, in buckets of `every`.

    Disabled users are left out, as from the totals; a connection with no snapshot (no
    credentials, failing, the paper adapter) leaves its account's buckets incomplete."""
    now = as_utc(now)
    start = now - since
    accounts = [config.platform, *(u for u in config.users if u.enabled)]
    connections = [c for a in accounts for c in a.connections]
    keys = [c.key for c in connections]
    owners = account_hashes(config, connections, environ)
    snapshots = (
        store.get_snapshots(config.namespace, keys, since=start, accounts=owners) if keys else {}
    )

    def points(account: AccountConfig) -> tuple[Point, ...]:
        series = [snapshots.get(c.key, []) for c in account.connections]
        return equity_series(series, start=start, end=now, every=every)

    platform = points(config.platform) if config.platform.enabled else ()
    users = {u.id: points(u) for u in config.users if u.enabled}
    return History(now, config.settings.quote, start, every, platform, users)


def account_hashes(
    config: Config, connections: list[ConnectionConfig], environ: Mapping[str, str] | None
) -> dict[str, str]:
    """The exchange account each connection reads now: its history is that account's only."""
    from nija_balances.config.credentials import load_dotenv_files, resolve
    from nija_balances.engine.planning import account_hash

    dotenv = load_dotenv_files(config.env_files)
    return {c.key: account_hash(c, resolve(c, environ, dotenv)) for c in connections}
