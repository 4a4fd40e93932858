"""Alert state in the SQLite store: a write only over the state it was read at (the claim
before a send), across processes; a schema-2 store upgraded to 4 keeping what it holds."""

from __future__ import annotations

import multiprocessing
import sqlite3
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from nija_balances.domain.alerts import Alert, AlertKind
from nija_balances.domain.history import Snapshot
from nija_balances.domain.models import StoredResult, Valuation
from nija_balances.engine.ports import AlertStore
from nija_balances.store.sqlite import SqliteStore

T0 = datetime(2026, 1, 21, 12, 0, tzinfo=UTC)
LOW = Alert(AlertKind.BALANCE_LOW, "alice", None, "firing", T0, T0, 1, Decimal(5), Decimal(100),
            "alice: low")  # fmt: skip


def test_a_change_is_written_only_over_the_version_it_was_computed_from(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    one, two = SqliteStore(path), SqliteStore(path)
    assert isinstance(one, AlertStore)
    assert one.put_alert("ns", None, LOW) is True
    assert two.put_alert("ns", None, LOW) is False  # the same change, computed from nothing
    (stored,) = two.get_alerts("ns")
    assert stored == Alert(**{**LOW.__dict__, "version": 1})
    now = datetime.now(UTC)  # resolved alerts older than 30 days are dropped as they are written
    resolved = Alert(**{**stored.__dict__, "state": "resolved", "since": now, "message": "ok"})
    assert two.put_alert("ns", stored, resolved) is True
    assert one.put_alert("ns", stored, resolved) is False  # version 1 is gone
    assert [a.state for a in one.get_alerts("ns")] == ["resolved"]
    assert one.get_alerts("other") == []


def _claim(path: str, start: object, results: object) -> None:
    store = SqliteStore(Path(path))
    start.wait()  # type: ignore[attr-defined]
    results.put(store.put_alert("ns", None, LOW))  # type: ignore[attr-defined]


def test_of_processes_claiming_together_exactly_one_wins(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    SqliteStore(path).get_alerts("ns")  # the file exists before the race
    SqliteStore(path).put_sink_report("ns", "x", None)
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_claim, args=(str(path), start, results)) for _ in range(6)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(60)
    assert sorted(results.get(timeout=5) for _ in procs) == [False] * 5 + [True]


def test_sink_reports_and_marks(tmp_path: Path) -> None:
    now = [1000.0]
    store = SqliteStore(tmp_path / "s.sqlite3", clock=lambda: now[0])
    store.put_sink_report("ns", "apprise:X", "boom")
    store.put_sink_report("ns", "apprise:X", "boom again")
    (report,) = store.get_sink_reports("ns")
    assert (report.failures, report.error, report.last_ok) == (2, "boom again", None)
    store.put_sink_report("ns", "apprise:X", None)
    assert store.get_sink_reports("ns")[0].failures == 0
    assert store.claim_mark("ns", "report", 3600) is True
    assert store.claim_mark("ns", "report", 3600) is False
    now[0] += 3600
    assert store.claim_mark("ns", "report", 3600) is True


def test_a_schema_2_store_is_upgraded_keeping_balances_and_snapshots(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    store = SqliteStore(path)
    result = StoredResult("kraken", Valuation(Decimal(5), Decimal(5), ()), T0.timestamp())
    snapshot = Snapshot(T0, Decimal(5), Decimal(5))
    store.put_many("ns", {"a/k": result}, snapshots=[("a/k", "h", snapshot)])
    store.close()
    with sqlite3.connect(path) as db:
        for table in ("fills", "flows", "sync_state", "alerts", "alert_sinks", "marks"):
            db.execute(f"DROP TABLE {table}")  # what schemas 3 and 4 added
        db.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    db.close()
    again = SqliteStore(path)
    assert again.get("ns", "a/k") == result
    assert again.get_snapshots("ns", ["a/k"]) == {"a/k": [snapshot]}
    assert again.put_alert("ns", None, LOW) is True
    assert again.warnings == []


def test_deliver_retries_with_doubling_pauses_and_never_raises() -> None:
    from nija_balances.domain.alerts import Notification
    from nija_balances.monitoring.sinks.interface import SinkError, deliver

    class Flaky:
        name = "flaky"

        def __init__(self, failures: int, error: Exception) -> None:
            self.failures, self.error, self.calls = failures, error, 0

        def send(self, notification: Notification) -> None:
            self.calls += 1
            if self.calls <= self.failures:
                raise self.error

    note = Notification("fired", LOW, "USD")
    waits: list[float] = []
    assert deliver(Flaky(2, SinkError("down")), note, sleep=waits.append) is None
    assert waits == [1.0, 2.0]
    waits.clear()
    sink = Flaky(9, RuntimeError("bug\nin a plugin"))
    assert deliver(sink, note, sleep=waits.append, backoff=0.5) == "RuntimeError: bug"
    assert (sink.calls, waits) == (3, [0.5, 1.0])
    unset = Flaky(9, SinkError("$NIJA_ALERT_URLS holds no URL", retry=False))
    assert deliver(unset, note, sleep=waits.append) == "$NIJA_ALERT_URLS holds no URL"
    assert unset.calls == 1  # set-up problems are not retried


def test_equity_is_read_thinned_to_the_last_of_each_step(tmp_path: Path) -> None:
    from datetime import timedelta

    store = SqliteStore(tmp_path / "s.sqlite3")
    points = [(T0 + timedelta(seconds=5 * i), Decimal(100 + i)) for i in range(24)]  # 2 min
    items = [("a/k", "h", Snapshot(t, e, e)) for t, e in points]
    items.append(("a/k", "other", Snapshot(T0 + timedelta(seconds=1), Decimal(9), Decimal(9))))
    store.put_snapshots("ns", items)
    every = store.get_equity("ns", ["a/k"], T0, {"a/k": "h"})
    assert every == {"a/k": points}
    thinned = store.get_equity("ns", ["a/k"], T0, {"a/k": "h"}, step=60.0)
    assert thinned == {"a/k": [points[11], points[23]]}  # the last of each minute
    assert store.get_equity("ns", ["a/k"], T0 + timedelta(minutes=5)) == {}
