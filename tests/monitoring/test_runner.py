"""The monitor loop's cycle survives a store that is briefly locked by another process: the
alert is not sent while its claim cannot be written, and is sent once when the lock is gone."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from conftest import write
from nija_balances.app import Session
from nija_balances.config.loader import load_toml
from nija_balances.monitoring.runner import Runner
from nija_balances.store.sqlite import SqliteStore


def test_a_locked_store_delays_the_alert_and_never_stops_the_cycle(tmp_path: Path) -> None:
    config = load_toml(write(tmp_path / "c.toml", """
[alerts]
low_balance = 100
log_every = "1h"

[users.alice.p]
exchange = "paper"
balances = { USD = 40 }
"""))  # fmt: skip
    path = tmp_path / "store.sqlite3"
    store = SqliteStore(path, busy_timeout=0.2)
    store.get_alerts("x")
    store.put_sink_report("x", "warm-up", None)  # the file exists, with its schema
    reports: list[str] = []
    runner = Runner(Session(config, store), lambda p: reports.append("report") or "report")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        locked = runner.cycle()
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert locked.error is None and locked.portfolio is not None
    assert locked.sent == () and reports == []
    again = runner.cycle()
    assert [a.kind.value for a in again.sent] == ["BALANCE_LOW"]
    assert reports == ["report"]
    assert runner.cycle().sent == () and reports == ["report"]  # once per log_every
    assert store.warnings == []  # logged and dropped by each cycle: nothing accumulates
