"""The Redis store's history and alert state beyond the contract
(tests/test_store_contract.py): claims raced by several hosts, a page stored whole
or not at all, and Redis down or killed (the local store serves, claims included)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from nija_balances.domain.alerts import Alert
from nija_balances.domain.history import Snapshot, SyncState
from nija_balances.store.redis_keys import history_keys
from nija_balances.store.redis_store import RedisStore
from nija_balances.store.sqlite import SqliteStore
from redisserver import RedisServer, free_port, redis_server
from test_cache import Clock
from test_history_store import fill, flow
from test_store_contract import LOW, NS, SNAP_T0

HOSTS = 8


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    (tmp_path / "redis-data").mkdir()
    with redis_server(tmp_path / "redis-data") as running:
        yield running


def host(url: str, home: Path, clock: Clock | None = None) -> RedisStore:
    """A host's store: its own local SQLite store under `home`, the shared Redis."""
    clock = clock or Clock()
    local = SqliteStore(home / "cache" / "balances.sqlite3", clock=clock)
    return RedisStore(url, namespace=NS, fallback=local, clock=clock)


def race(n: int, fn: object) -> list[object]:
    """`fn(i)` in `n` threads released together; their answers in order."""
    start, answers = threading.Barrier(n), [None] * n

    def run(i: int) -> None:
        start.wait()
        answers[i] = fn(i)  # type: ignore[operator]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return answers


# ---------------------------------------------------------------------------- several hosts


def test_of_hosts_claiming_together_exactly_one_wins(server: RedisServer, tmp_path: Path) -> None:
    stores = [host(server.url, tmp_path / f"host-{i}") for i in range(HOSTS)]
    for store in stores:
        store.get_alerts(NS)  # connected before the race
    claims = race(HOSTS, lambda i: stores[i].put_alert(NS, None, LOW))
    assert sorted(claims, key=str) == [False] * (HOSTS - 1) + [True]
    (stored,) = stores[0].get_alerts(NS)
    resolved = Alert(**{**stored.__dict__, "state": "resolved", "message": "ok"})
    claims = race(HOSTS, lambda i: stores[i].put_alert(NS, stored, resolved))
    assert sorted(claims, key=str) == [False] * (HOSTS - 1) + [True]
    marks = race(HOSTS, lambda i: stores[i].claim_mark(NS, "report", 3600))
    assert sorted(marks, key=str) == [False] * (HOSTS - 1) + [True]
    assert all(store.warnings == [] for store in stores)


def test_hosts_share_history_and_count_each_item_once(server: RedisServer, tmp_path: Path) -> None:
    one, two = host(server.url, tmp_path / "host-1"), host(server.url, tmp_path / "host-2")
    page = [fill(i) for i in range(20)]
    counts = race(2, lambda i: (one, two)[i].put_history_page(
        NS, "a/k", "h", "trades", fills=page, cursor="end"))  # fmt: skip
    assert sum(c[0] for c in counts) == 20  # type: ignore[index]  # each counted by one host
    assert two.get_fills(NS, ["a/k"]) == {"a/k": page}  # what host 1 synced, host 2 reads
    assert two.get_sync_states(NS, ["a/k"]) == {"a/k": {"trades": SyncState("end")}}


# ---------------------------------------------------------------------------- all or nothing


def test_a_page_and_its_cursor_are_stored_whole_or_not_at_all(
    server: RedisServer, tmp_path: Path
) -> None:
    store = host(server.url, tmp_path)
    store.put_history_page(NS, "a/k", "h", "trades", fills=[fill(1)], cursor="1")
    client = server.client()
    keys = history_keys(NS, "a/k")
    client.delete(keys["sync"])
    client.set(keys["sync"], "not a hash")  # the cursor cannot be written
    stored = store.put_history_page(NS, "a/k", "h", "trades", fills=[fill(2)], cursor="2")
    assert stored == (1, 0)  # the local store took the page ...
    assert [f.decode() for f in client.hkeys(keys["fills"])] == ["h:f1"]  # ... Redis none of it
    assert client.zcard(keys["fills-t"]) == 1
    assert len(store.warnings) == 1 and "WRONGTYPE" in store.warnings[0]


# ---------------------------------------------------------------------------- Redis down


def test_redis_down_history_and_claims_use_the_local_store(tmp_path: Path) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens
    clock = Clock()
    store, other = host(url, tmp_path, clock), host(url, tmp_path, clock)  # one host
    assert store.put_history_page(NS, "a/k", "h", "trades", fills=[fill(1)], cursor="1") == (1, 0)
    assert store.put_history_page(NS, "a/k", "h", "flows", flows=[flow(1)], cursor="f") == (0, 1)
    assert store.set_sync_state(NS, "a/k", "h", "flows", SyncState(complete=True))
    snaps = [Snapshot(SNAP_T0 + timedelta(hours=h), Decimal(h), Decimal(h)) for h in range(3)]
    store.put_snapshots(NS, [("a/k", "h", s) for s in snaps])
    assert other.get_fills(NS, ["a/k"]) == {"a/k": [fill(1)]}
    assert other.get_flows(NS, ["a/k"], accounts={"a/k": "h"}) == {"a/k": [flow(1)]}
    assert other.get_sync_states(NS, ["a/k"]) == {
        "a/k": {"trades": SyncState("1"), "flows": SyncState(complete=True)}
    }
    assert other.first_snapshots(NS, ["a/k"]) == {"a/k": snaps[0]}
    assert other.last_snapshots(NS, ["a/k"], snaps[2].time) == {"a/k": snaps[1]}
    assert other.currencies_seen(NS, ["a/k"]) == {"a/k": frozenset({"BTC", "USD", "ETH"})}
    assert other.get_equity(NS, ["a/k"], SNAP_T0, step=7200) == {
        "a/k": [(snaps[1].time, Decimal(1)), (snaps[2].time, Decimal(2))]
    }
    assert store.put_alert(NS, None, LOW) is True
    assert other.put_alert(NS, None, LOW) is False  # one host's processes: still once
    assert store.claim_mark(NS, "report", 60) is True
    assert other.claim_mark(NS, "report", 60) is False
    store.put_sink_report(NS, "log", "boom")
    assert [r.failures for r in other.get_sink_reports(NS)] == [1]
    store.drop_history(NS, ["a/k"])
    assert other.get_fills(NS, ["a/k"]) == {} and other.first_snapshots(NS, ["a/k"]) == {}
    for s in (store, other):
        assert len(s.warnings) == 1 and "cannot be used (unreachable" in s.warnings[0]


def test_redis_killed_mid_run_loses_no_history_and_keeps_alerts(
    server: RedisServer, tmp_path: Path
) -> None:
    store = host(server.url, tmp_path)
    store.put_history_page(NS, "a/k", "h", "trades", fills=[fill(1), fill(2)], cursor="2")
    store.set_sync_state(NS, "a/k", "h", "trades", SyncState(cursor="2", complete=True))
    assert store.put_alert(NS, None, LOW) is True
    store.put_sink_report(NS, "log", None)
    server.stop()
    # written through: the local store has what this host wrote to Redis
    assert store.get_fills(NS, ["a/k"]) == {"a/k": [fill(1), fill(2)]}
    assert store.get_sync_states(NS, ["a/k"])["a/k"]["trades"] == SyncState("2", complete=True)
    (firing,) = store.get_alerts(NS)  # the claim won in Redis was copied: no second send
    assert (firing.state, firing.sent_count, firing.message) == ("firing", 1, "alice: low")
    resolved = Alert(**{**firing.__dict__, "state": "resolved", "message": "ok"})
    assert store.put_alert(NS, firing, resolved) is True
    assert [a.state for a in store.get_alerts(NS)] == ["resolved"]
    assert [r.sink for r in store.get_sink_reports(NS)] == ["log"]
    assert len(store.warnings) == 1 and "cannot be used" in store.warnings[0]


# ---------------------------------------------------------------------------- nija monitor


def test_monitors_on_two_hosts_send_each_alert_and_report_once(
    server: RedisServer, tmp_path: Path
) -> None:
    from conftest import write
    from nija_balances.app import Session
    from nija_balances.config.loader import load_toml
    from nija_balances.monitoring.runner import Runner

    config = load_toml(write(tmp_path / "c.toml", """
[alerts]
low_balance = 100
log_every = "1h"

[users.alice.p]
exchange = "paper"
balances = { USD = 40 }
"""))  # fmt: skip
    reports: list[int] = []
    runners = [
        Runner(Session(config, host(server.url, tmp_path / f"host-{i}")),
               lambda p, i=i: reports.append(i) or "report")  # type: ignore[misc]
        for i in range(2)
    ]  # fmt: skip
    cycles = [runner.cycle() for runner in runners] + [runner.cycle() for runner in runners]
    sent = [a.kind.value for cycle in cycles for a in cycle.sent]
    assert sent == ["BALANCE_LOW"]  # the first host claimed it; the other found it firing
    assert reports == [0]  # the report mark: once per `log_every`, whichever host
