"""The dashboard's in-memory week of snapshots gives exactly `nija history`'s points, while
reading only what was written since its last update."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import write
from nija_balances.config.credentials import resolve
from nija_balances.config.loader import load_toml
from nija_balances.domain.history import Snapshot
from nija_balances.engine.history import load_history
from nija_balances.engine.planning import account_hash
from nija_balances.store.sqlite import SqliteStore
from nija_balances.web.recent import RecentSnapshots

CONFIG = """\
[platform.desk]
exchange = "paper"
[users.alice.a]
exchange = "paper"
[users.alice.b]
exchange = "paper"
[users.bob.c]
exchange = "paper"
"""


class CountingStore(SqliteStore):
    """Counts the snapshot rows handed out."""

    rows = 0

    def get_snapshots(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        found = super().get_snapshots(*args, **kwargs)
        self.rows += sum(len(v) for v in found.values())
        return found


def put(store: SqliteStore, config, times: dict[str, list[datetime]], rng: random.Random) -> None:  # type: ignore[no-untyped-def]
    conns = {c.key: c for a in config.accounts for c in a.connections}
    items = []
    for key, moments in times.items():
        owner = account_hash(conns[key], resolve(conns[key]))
        for moment in moments:
            equity = Decimal(rng.randrange(1000, 5000)) / 10
            items.append((key, owner, Snapshot(moment, equity, equity)))
    store.put_snapshots(config.namespace, items)


@pytest.mark.parametrize("seed", range(4))
def test_the_recent_week_is_load_history_exactly(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    config = load_toml(write(tmp_path / "c.toml", CONFIG))
    store = CountingStore(tmp_path / "s.sqlite3")
    now = datetime.now(UTC).replace(microsecond=0)
    first = now - timedelta(days=1)

    def moments(lo: datetime, hi: datetime, n: int) -> list[datetime]:
        span = (hi - lo).total_seconds()
        return [lo + timedelta(seconds=rng.uniform(0, span)) for _ in range(n)]

    keys = ["platform/desk", "alice/a", "alice/b", "bob/c"]
    put(store, config, {k: moments(now - timedelta(days=9), first, 150) for k in keys[:3]}, rng)
    recent = RecentSnapshots()
    recent.update(config, store, first)
    put(store, config, {k: moments(first - timedelta(minutes=5), now, 60) for k in keys}, rng)
    store.rows = 0
    recent.update(config, store, now)
    assert store.rows <= 4 * 60 + 20  # what was written since (and the overlap), not a week
    for every in (timedelta(hours=1), timedelta(days=1)):
        for since in (timedelta(days=7), timedelta(hours=30)):
            mine = recent.history(config, now=now, since=since, every=every)
            theirs = load_history(config, store, now=now, since=since, every=every)
            assert mine.platform == theirs.platform and mine.users == theirs.users, (every, since)
            assert any(p.equity is not None for pts in mine.users.values() for p in pts)
    store.close()


def test_a_connection_reading_another_account_starts_again(tmp_path: Path) -> None:
    config = load_toml(write(tmp_path / "c.toml", CONFIG))
    store = SqliteStore(tmp_path / "s.sqlite3")
    now = datetime.now(UTC)
    hourly = {"now": now, "since": timedelta(days=1), "every": timedelta(hours=1)}
    put(store, config, {"bob/c": [now - timedelta(hours=2)]}, random.Random(1))
    recent = RecentSnapshots()
    recent.update(config, store, now)
    assert recent.history(config, **hourly).users["bob"]  # type: ignore[arg-type]
    other = CONFIG.replace(
        '[users.bob.c]\nexchange = "paper"\n',
        '[users.bob.c]\nexchange = "paper"\nccxt = { options = { x = 1 } }\n',
    )
    moved = load_toml(write(tmp_path / "c.toml", other))
    recent.update(moved, store, now)  # other settings: another account, none of its history
    assert recent.history(moved, **hourly).users["bob"] == ()  # type: ignore[arg-type]
    assert load_history(moved, store, **hourly).users["bob"] == ()  # type: ignore[arg-type]
    store.close()
