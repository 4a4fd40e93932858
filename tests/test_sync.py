"""The history sync engine (`engine.sync`) with fake history adapters: pages and cursors
into the store, incremental runs, a failure part-way that keeps what was stored and resumes
without counting twice, `unsupported` (declared, or an adapter that cannot list history),
skipped connections, the per-page timeout, bounded concurrency and secrets kept out."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from conftest import write
from nija_balances.adapters.interface import (
    AdapterError,
    AdapterSpec,
    HistoryPage,
    HistoryRequest,
    HistoryUnsupported,
)
from nija_balances.config.loader import load_toml
from nija_balances.domain.history import Fill, Flow, SyncState
from nija_balances.domain.models import Config, ConnectionConfig, Status
from nija_balances.domain.secrets import Credentials
from nija_balances.engine.history import account_hashes
from nija_balances.engine.sync import SyncProgress, SyncReport, sync_history
from nija_balances.store.sqlite import SqliteStore

T0 = datetime(2026, 1, 20, 16, 0, tzinfo=UTC)
SECRET = "s3cr3t-alice-key-0123456789"
ENV = {
    "KRAKEN_USER_ALICE_API_KEY": SECRET,
    "KRAKEN_USER_ALICE_API_SECRET": "alice-secret-value-abcdef",
    "KRAKEN_USER_BOB_API_KEY": "bob-key-0123456789",
    "KRAKEN_USER_BOB_API_SECRET": "bob-secret-value-abcdef",
}
CONFIG = """\
[settings]
timeout = 0.5
max_in_flight = 2
[users.alice.kraken]
[users.bob.kraken]
"""


def fill(n: int) -> Fill:
    return Fill(f"t{n}", f"o{n}", T0 + timedelta(minutes=n), "BTC/USD", "buy",
                Decimal("0.01"), Decimal(50000 + n), Decimal(500) + Decimal(n) / 100)  # fmt: skip


def flow(n: int) -> Flow:
    return Flow(f"d{n}", "deposit", T0 + timedelta(hours=n), "USD", Decimal(100 + n))


class FakeHistory:
    """Serves `fills[user]` / `flows[user]` two a page, the cursor being the count served.

    `fail_after[user] = n`: the page after the n-th of this call raises (the message holds
    the API key, which must never reach the store or the report); `unsupported` kinds raise
    HistoryUnsupported; `hang_after[user] = n`: the page after the n-th never comes."""

    def __init__(self) -> None:
        self.fills: dict[str, list[Fill]] = {}
        self.flows: dict[str, list[Flow]] = {}
        self.fail_after: dict[str, int] = {}
        self.hang_after: dict[str, int] = {}
        self.unsupported: set[str] = set()
        self.calls: list[tuple[str, str, str | None, frozenset[str]]] = []
        self.active = self.most_active = 0
        self.closed = 0

    async def fetch_holdings(self, connection: ConnectionConfig, credentials: Credentials) -> Any:
        raise AssertionError("a sync fetches no balance")

    async def fetch_prices(self, currencies: Any, quote: str) -> Any:
        return {}

    async def aclose(self) -> None:
        self.closed += 1

    async def history_pages(
        self, connection: ConnectionConfig, credentials: Credentials, request: HistoryRequest
    ) -> AsyncIterator[HistoryPage]:
        user = connection.account
        self.calls.append((user, request.kind, request.cursor, request.currencies))
        if request.kind in self.unsupported:
            raise HistoryUnsupported(f"{request.kind} cannot be listed here")
        items: list[Any] = (self.fills if request.kind == "trades" else self.flows).get(user, [])
        served = 0
        self.active += 1
        self.most_active = max(self.most_active, self.active)
        try:
            for start in range(int(request.cursor or 0), len(items), 2):
                await asyncio.sleep(0)  # let the others run: concurrency is observable
                if served == self.fail_after.get(user, -1):
                    raise AdapterError(
                        Status.UNREACHABLE, f"HTTP 503 for key {credentials.api_key}"
                    )
                if served == self.hang_after.get(user, -1):
                    await asyncio.Event().wait()
                page = items[start : start + 2]
                served += 1
                cursor = str(start + len(page))
                if request.kind == "trades":
                    yield HistoryPage(fills=tuple(page), cursor=cursor)
                else:
                    yield HistoryPage(flows=tuple(page), cursor=cursor)
        finally:
            self.active -= 1


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now.timestamp()


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Config, SqliteStore, FakeHistory, Clock]:
    config = load_toml(write(tmp_path / "c.toml", CONFIG))
    clock = Clock()
    return config, SqliteStore(tmp_path / "store.sqlite3", clock=clock), FakeHistory(), clock


def run(config: Config, store: SqliteStore, fake: Any, clock: Clock, **kw: Any) -> SyncReport:
    spec = AdapterSpec(name="fake", factory=lambda exchange, settings, markets: fake)
    return sync_history(config, store, environ=ENV, adapters=lambda e: spec, clock=clock, **kw)


def stored(config: Config, store: SqliteStore) -> dict[str, list[str]]:
    keys = ["alice/kraken", "bob/kraken"]
    owners = account_hashes(config, [c for a in config.accounts for c in a.connections], ENV)
    fills = store.get_fills(config.namespace, keys, accounts=owners)
    flows = store.get_flows(config.namespace, keys, accounts=owners)
    return {k: [f.id for f in fills.get(k, [])] + [f.id for f in flows.get(k, [])] for k in keys}


def states(config: Config, store: SqliteStore) -> dict[str, dict[str, SyncState]]:
    return store.get_sync_states(config.namespace, ["alice/kraken", "bob/kraken"])


def test_a_first_sync_stores_every_page_and_marks_each_kind_complete(setup: Any) -> None:
    config, store, fake, clock = setup
    fake.fills = {"alice": [fill(i) for i in range(5)], "bob": [fill(9)]}
    fake.flows = {"alice": [flow(1)]}
    seen: list[SyncProgress] = []
    report = run(config, store, fake, clock, observer=seen.append)
    assert report.ok
    alice, bob = report.connections
    assert (alice.key, alice.status, alice.new_fills, alice.new_flows) == (
        "alice/kraken",
        "complete",
        5,
        1,
    )
    assert [k.pages for k in alice.kinds] == [3, 1]
    assert (bob.new_fills, bob.new_flows) == (1, 0)
    assert stored(config, store) == {"alice/kraken": ["t0", "t1", "t2", "t3", "t4", "d1"],
                                     "bob/kraken": ["t9"]}  # fmt: skip
    done = SyncState(cursor="5", finished_at=T0, complete=True)
    assert states(config, store)["alice/kraken"]["trades"] == done
    assert seen[-1] == SyncProgress(done=2, total=2, pages=5, items=7)
    assert fake.closed == 1


def test_a_second_sync_resumes_from_the_stored_cursor_and_adds_only_what_is_new(
    setup: Any,
) -> None:
    config, store, fake, clock = setup
    fake.fills = {"alice": [fill(i) for i in range(3)]}
    run(config, store, fake, clock)
    fake.fills["alice"].append(fill(3))
    fake.calls.clear()
    clock.now = T0 + timedelta(hours=1)
    report = run(config, store, fake, clock)
    assert ("alice", "trades", "3", frozenset({"BTC", "USD"})) in fake.calls
    assert report.connections[0].new_fills == 1
    assert stored(config, store)["alice/kraken"] == ["t0", "t1", "t2", "t3"]
    assert states(config, store)["alice/kraken"]["trades"].finished_at == clock.now


def test_a_failure_part_way_keeps_the_pages_stored_and_the_others_go_on(setup: Any) -> None:
    config, store, fake, clock = setup
    fake.fills = {"alice": [fill(i) for i in range(7)], "bob": [fill(20), fill(21)]}
    fake.fail_after = {"alice": 2}
    report = run(config, store, fake, clock)
    assert not report.ok
    alice, bob = report.connections
    trades = alice.kinds[0]
    assert (alice.status, trades.status, trades.pages, trades.new_fills) == (
        "failed",
        "failed",
        2,
        4,
    )
    assert trades.problem == "unreachable: HTTP 503 for key ***"  # the key never shows
    assert bob.status == "complete" and bob.new_fills == 2
    assert stored(config, store)["alice/kraken"] == ["t0", "t1", "t2", "t3"]
    state = states(config, store)["alice/kraken"]["trades"]
    assert (state.cursor, state.complete, state.problem) == ("4", False, trades.problem)
    assert SECRET not in repr(store.get_sync_states(config.namespace, ["alice/kraken"]))

    fake.fail_after = {}
    again = run(config, store, fake, clock)  # resumes after page 2: nothing counted twice
    assert ("alice", "trades", "4", frozenset({"BTC", "USD"})) in fake.calls
    assert again.ok and again.connections[0].new_fills == 3
    assert stored(config, store)["alice/kraken"] == [f"t{i}" for i in range(7)]
    assert states(config, store)["alice/kraken"]["trades"].whole


def test_an_exchange_that_cannot_list_a_kind_is_unsupported_with_its_reason(setup: Any) -> None:
    config, store, fake, clock = setup
    fake.fills = {"alice": [fill(1)]}
    fake.unsupported = {"flows"}
    report = run(config, store, fake, clock)
    assert report.ok  # unsupported is no failure
    alice = report.connections[0]
    assert alice.status == "unsupported"
    assert [(k.kind, k.status, k.problem) for k in alice.kinds] == [
        ("trades", "complete", None),
        ("flows", "unsupported", "flows cannot be listed here"),
    ]
    state = states(config, store)["alice/kraken"]["flows"]
    assert state.unsupported and state.problem == "flows cannot be listed here"
    assert not state.whole


def test_an_adapter_that_is_no_history_adapter_is_unsupported(setup: Any) -> None:
    config, store, _, clock = setup

    class BalancesOnly:
        async def aclose(self) -> None:
            return None

    report = run(config, store, BalancesOnly(), clock)
    assert report.ok
    assert {k.problem for c in report.connections for k in c.kinds} == {
        "the fake adapter cannot list trades or flows"
    }
    assert states(config, store)["bob/kraken"]["trades"].unsupported


def test_a_page_that_never_comes_times_out_and_keeps_the_earlier_pages(setup: Any) -> None:
    config, store, fake, clock = setup
    fake.fills = {"alice": [fill(i) for i in range(6)], "bob": [fill(20)]}
    fake.hang_after = {"alice": 1}
    report = run(config, store, fake, clock, kinds=("trades",))
    alice, bob = report.connections
    assert [(k.status, k.pages, k.problem) for k in alice.kinds] == [
        ("failed", 1, "timeout: no answer within 0.5 s")
    ]
    assert bob.status == "complete"
    assert stored(config, store)["alice/kraken"] == ["t0", "t1"]


def test_connections_run_at_most_max_in_flight_at_once(tmp_path: Path) -> None:
    users = "".join(f"[users.u{i}.kraken]\n" for i in range(6))
    config = load_toml(write(tmp_path / "c.toml", "[settings]\nmax_in_flight = 2\n" + users))
    fake = FakeHistory()
    fake.fills = {f"u{i}": [fill(j) for j in range(6)] for i in range(6)}
    env = {f"KRAKEN_USER_U{i}_{p}": f"key-{i}-{p}-0123456789" for i in range(6)
           for p in ("API_KEY", "API_SECRET")}  # fmt: skip
    spec = AdapterSpec(name="fake", factory=lambda exchange, settings, markets: fake)
    store = SqliteStore(tmp_path / "s.sqlite3")
    report = sync_history(config, store, environ=env, adapters=lambda e: spec)
    assert report.ok and sum(c.new_fills for c in report.connections) == 36
    assert fake.most_active == 2


def test_connections_that_cannot_be_synced_are_skipped_with_why(tmp_path: Path) -> None:
    text = (
        "[users.alice.kraken]\n[users.carol.kraken]\n"
        "[users.dave]\nenabled = false\n[users.dave.kraken]\n"
        '[users.erin.kraken]\napi_key_env = "KRAKEN_USER_ALICE_API_KEY"\n'
        'api_secret_env = "KRAKEN_USER_ALICE_API_SECRET"\n'
    )
    config = load_toml(write(tmp_path / "c.toml", text))
    fake = FakeHistory()
    spec = AdapterSpec(name="fake", factory=lambda exchange, settings, markets: fake)
    store = SqliteStore(tmp_path / "s.sqlite3")
    report = sync_history(config, store, environ=ENV, adapters=lambda e: spec)
    assert report.ok
    assert [(c.key, c.status, c.skipped) for c in report.connections] == [
        ("alice/kraken", "complete", None),
        ("carol/kraken", "skipped", "no credentials"),
        ("dave/kraken", "skipped", "user is disabled"),
        ("erin/kraken", "skipped", "same exchange account as alice/kraken"),
    ]
    assert [c[0] for c in fake.calls] == ["alice", "alice"]


def test_a_connection_without_an_adapter_is_recorded_unsupported(setup: Any) -> None:
    config, store, _, clock = setup
    report = sync_history(config, store, environ=ENV, adapters=lambda e: None, clock=clock)
    assert report.ok
    assert {k.problem for c in report.connections for k in c.kinds} == {"no adapter for 'kraken'"}
    assert states(config, store)["alice/kraken"]["flows"].unsupported
