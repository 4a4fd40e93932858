"""Single-flight through the store: one fetch per exchange account however many refreshes
want it at once, the others using the result it stored; locks across real processes,
and a crashed holder never blocks for long. Over the SQLite store (one host) and the Redis
store (two "hosts": two local directories sharing one redis-server)."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Collection, Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from nija_balances.adapters.interface import AdapterError, AdapterSpec
from nija_balances.domain.models import (
    AssetAmount,
    ConnectionConfig,
    Holdings,
    Settings,
    Status,
)
from nija_balances.domain.secrets import Credentials
from nija_balances.engine.collect import collect
from nija_balances.engine.ports import Store
from nija_balances.store.local_flight import LocalFlights
from nija_balances.store.redis_store import RedisStore
from nija_balances.store.sqlite import SqliteStore
from redisserver import RedisServer, redis_server
from reliability.harness import wait_until
from test_service import ENV, config


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with redis_server(tmp_path_factory.mktemp("redis")) as running:
        yield running


@pytest.fixture(params=["sqlite", "redis"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """`stores(host)`: a store as a process on `host` opens it."""

    def make(host: str = "one") -> Store:
        local = SqliteStore(tmp_path / host / "balances.sqlite3")
        if request.param == "sqlite":
            return SqliteStore(tmp_path / "one" / "balances.sqlite3")  # one host only
        server = request.getfixturevalue("server")
        return RedisStore(server.url, namespace="default", fallback=local)

    if request.param == "redis":
        request.getfixturevalue("server").client().flushall()
    return make


class Gated:
    """A fake exchange whose fetches wait for `gate`, counting them; `fail` makes them fail."""

    def __init__(self, fail: bool = False) -> None:
        self.fetches = 0
        self.gate = asyncio.Event()
        self.fail = fail

    def spec(self) -> AdapterSpec:
        return AdapterSpec(name="gated", factory=lambda exchange, settings, markets: self)

    async def fetch_holdings(self, connection: ConnectionConfig, credentials: Credentials) -> Any:
        self.fetches += 1
        await self.gate.wait()
        if self.fail:
            raise AdapterError(Status.AUTH_FAILED, "key rejected")
        usd = AssetAmount("USD", Decimal("42.5"), Decimal(0), Decimal("42.5"))
        return Holdings(assets=(usd,))

    async def fetch_prices(self, currencies: Collection[str], quote: str) -> Mapping[str, Any]:
        return {}

    async def aclose(self) -> None:
        pass


async def _refresh(store: Store, fake: Gated, timeout: float = 5.0) -> Any:
    return await collect(
        config("a", timeout=timeout), refresh=True, store=store, environ=ENV,
        adapters=lambda e: fake.spec(),
    )  # fmt: skip


async def _both(stores: Any, fake: Gated, timeout: float = 5.0) -> tuple[Any, Any]:
    first = asyncio.create_task(_refresh(stores("one"), fake, timeout))
    while fake.fetches == 0:  # the first one is fetching ...
        await asyncio.sleep(0.01)
    second = asyncio.create_task(_refresh(stores("two"), fake, timeout))  # ... another wants it
    await asyncio.sleep(0.2)  # lets the second reach the lock; it passes either way (waiting,
    # or finding the result stored), only a second fetch fails it
    fake.gate.set()
    return await first, await second


async def test_two_refreshes_at_once_make_one_fetch(stores: Any) -> None:
    fake = Gated()
    one, two = await _both(stores, fake)
    assert fake.fetches == 1
    a, b = one.connections[0], two.connections[0]
    assert a.status is b.status is Status.OK
    assert a.balance == b.balance == Decimal("42.50") and a.fetched_at == b.fetched_at


async def test_a_failure_is_shared_too_not_fetched_again(stores: Any) -> None:
    fake = Gated(fail=True)
    one, two = await _both(stores, fake)
    assert fake.fetches == 1
    assert [p.connections[0].status for p in (one, two)] == [Status.AUTH_FAILED] * 2
    assert two.connections[0].error == "key rejected"


async def test_a_lock_held_too_long_is_waited_for_at_most_the_timeout(stores: Any) -> None:
    from nija_balances.engine.planning import account_hash

    cfg = config("a")
    conn = cfg.users[0].connections[0]
    creds = Credentials(ENV["KRAKEN_USER_A_API_KEY"], ENV["KRAKEN_USER_A_API_SECRET"])
    stuck = stores("one").flights()  # a live holder that hangs
    held = stuck.try_acquire(account_hash(conn, creds), 60.0)
    assert held is not None
    fake = Gated()
    fake.gate.set()
    started = asyncio.get_running_loop().time()
    p = await _refresh(stores("two"), fake, timeout=0.3)
    assert fake.fetches == 1 and p.connections[0].status is Status.OK  # fetched itself
    assert asyncio.get_running_loop().time() - started >= 0.3
    stuck.release(held)


# ---------------------------------------------------------------------------- processes


def _contend(kind: str, where: str, barrier: Any, wins: Any) -> None:
    flights = _flights(kind, where)
    barrier.wait()
    if flights.try_acquire("acct", 30.0) is not None:
        with wins.get_lock():
            wins.value += 1
    barrier.wait()  # hold it until everyone has tried


def _flights(kind: str, where: str) -> Any:
    if kind == "local":
        return LocalFlights(Path(where))
    url, directory = where.split("|")
    local = SqliteStore(Path(directory) / str(os.getpid()) / "balances.sqlite3")  # own host
    return RedisStore(url, namespace="default", fallback=local).flights()


@pytest.mark.parametrize("kind", ["local", "redis"])
def test_one_process_of_many_gets_the_lock(kind: str, tmp_path: Path, request: Any) -> None:
    where = str(tmp_path)
    if kind == "redis":
        server = request.getfixturevalue("server")
        server.client().flushall()
        where = f"{server.url}|{tmp_path}"
    ctx = multiprocessing.get_context("fork")
    n = 8
    barrier, wins = ctx.Barrier(n), ctx.Value("i", 0)
    procs = [ctx.Process(target=_contend, args=(kind, where, barrier, wins)) for _ in range(n)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    assert [p.exitcode for p in procs] == [0] * n
    assert wins.value == 1


def _crash_holding(kind: str, where: str, lease: float) -> None:
    held = _flights(kind, where).try_acquire("acct", lease)
    assert held is not None
    os._exit(0)  # dies without letting go


@pytest.mark.parametrize("kind", ["local", "redis"])
def test_a_crashed_holder_never_blocks_for_long(kind: str, tmp_path: Path, request: Any) -> None:
    where = str(tmp_path)
    if kind == "redis":
        server = request.getfixturevalue("server")
        server.client().flushall()
        where = f"{server.url}|{tmp_path}"
    ctx = multiprocessing.get_context("fork")
    proc = ctx.Process(target=_crash_holding, args=(kind, where, 0.5))
    proc.start()
    proc.join(30)
    assert proc.exitcode == 0
    flights = _flights(kind, where)
    if kind == "local":  # the kernel let it go with the process
        assert flights.try_acquire("acct", 30.0) is not None
    else:  # Redis: held until its lease runs out, then free
        assert flights.try_acquire("acct", 30.0) is None
        wait_until(lambda: flights.try_acquire("acct", 30.0) is not None, 10, "lease expiry")


def test_settings_default_has_a_local_store() -> None:
    assert Settings().store.url is None
