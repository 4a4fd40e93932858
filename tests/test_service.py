"""The service with fake adapters: statuses, isolation of failures, cache and stale fallback."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterable, Mapping
from decimal import Decimal
from typing import Any

import pytest

from nija_balances.adapters.interface import AdapterError, AdapterSpec
from nija_balances.config.loader import parse_document
from nija_balances.domain.models import (
    AssetAmount,
    ConnectionConfig,
    Holdings,
    Settings,
    Status,
    StoredResult,
)
from nija_balances.domain.secrets import Credentials
from nija_balances.engine.collect import collect, collect_sync

SECRET = "s3cr3t-VALUE-never-shown"


class MemoryStore:
    def __init__(self) -> None:
        self.data: dict[tuple[str, str], StoredResult] = {}
        self.markets: dict[str, dict[str, Any]] = {}

    def get_many(self, namespace: str, keys: Iterable[str]) -> dict[str, StoredResult]:
        return {k: self.data[(namespace, k)] for k in keys if (namespace, k) in self.data}

    def put_many(self, namespace: str, items: Mapping[str, StoredResult]) -> None:
        for k, v in items.items():
            self.data[(namespace, k)] = v

    def load_markets(self, exchange: str, max_age: float) -> dict[str, Any] | None:
        return self.markets.get(exchange)

    def save_markets(self, exchange: str, markets: dict[str, Any]) -> None:
        self.markets[exchange] = markets


class FakeExchange:
    """Behaviour per account: a USD amount, an exception to raise, or 'hang'."""

    def __init__(self, behaviour: dict[str, Any], prices: dict[str, Decimal] | None = None):
        self.behaviour = behaviour
        self.prices = prices or {}
        self.price_calls = 0
        self.closed = 0
        self.built = 0

    def spec(self) -> AdapterSpec:
        def factory(exchange: str, settings: Settings, markets: Any) -> FakeExchange:
            self.built += 1
            return self

        return AdapterSpec(name="fake", factory=factory)

    async def fetch_holdings(
        self, connection: ConnectionConfig, credentials: Credentials
    ) -> Holdings:
        what = self.behaviour[connection.account]
        if what == "hang":
            await asyncio.Event().wait()
        if isinstance(what, BaseException):
            raise what
        assets = [AssetAmount("USD", Decimal(what), Decimal(0), Decimal(what))]
        if self.prices:
            assets.append(AssetAmount("BTC", Decimal("0.5"), Decimal("0.5"), Decimal(1)))
        return Holdings(assets=tuple(assets))

    async def fetch_prices(self, currencies: Collection[str], quote: str) -> Mapping[str, Decimal]:
        self.price_calls += 1
        if isinstance(self.prices, BaseException):
            raise self.prices
        return {c: self.prices[c] for c in currencies if c in self.prices}

    async def aclose(self) -> None:
        self.closed += 1


def config(users: Iterable[str], timeout: float = 0.2, extra: str = "") -> Any:
    text = f"[settings]\ntimeout = {timeout}\n" + extra
    text += "".join(f"[users.{u}.kraken]\n" for u in users)
    import tomllib

    return parse_document(tomllib.loads(text), None, text)


# Each user its own key (one shared key would be one account), all with the known secret.
ENV = {f"KRAKEN_USER_{u}_API_KEY": f"key-{u}" for u in "ABCD"}
ENV |= {f"KRAKEN_USER_{u}_API_SECRET": SECRET for u in "ABCD"}


def run(cfg: Any, fake: FakeExchange, **kw: Any) -> Any:
    return collect_sync(cfg, environ=ENV, adapters=lambda exchange: fake.spec(), **kw)


def test_each_failure_gets_its_status_and_never_hides_the_others() -> None:
    fake = FakeExchange(
        {
            "a": "100.10",
            "b": AdapterError(Status.AUTH_FAILED, "key rejected"),
            "c": "hang",
            "d": RuntimeError(f"boom with {SECRET} inside"),
        }
    )
    p = run(config("abcd"), fake)
    by = {c.account: c for c in p.connections}
    assert by["a"].status is Status.OK and by["a"].balance == Decimal("100.10")
    assert (by["b"].status, by["b"].error) == (Status.AUTH_FAILED, "key rejected")
    assert (by["c"].status, by["c"].error) == (Status.TIMEOUT, "no answer within 0.2 s")
    assert by["d"].status is Status.ERROR
    assert SECRET not in by["d"].error and "***" in by["d"].error
    assert p.summary.total_user_capital == Decimal("100.10")
    assert (p.summary.connections_counted, p.summary.connections_total) == (1, 4)
    assert p.summary.user_count == 4
    assert fake.built == 1 and fake.closed == 1  # one adapter per exchange, always closed


def test_credentials_missing_unsupported_and_disabled_are_decided_without_fetching() -> None:
    fake = FakeExchange({})
    cfg = config("a", extra="[users.b]\nenabled = false\n[users.b.x]\nexchange='paper'\n"
                 "[users.c.tradier]\n")  # fmt: skip
    p = collect_sync(cfg, environ={}, adapters=lambda e: None if e == "tradier" else fake.spec())
    by = {c.account: c for c in p.connections}
    assert by["a"].status is Status.NO_CREDENTIALS
    assert by["a"].error == "set KRAKEN_USER_A_API_KEY and KRAKEN_USER_A_API_SECRET"
    assert by["b"].status is Status.DISABLED
    assert by["c"].status is Status.UNSUPPORTED
    assert fake.built == 0
    assert p.summary.user_count == 2  # the disabled user is not counted


def test_cache_hit_miss_expiry_and_refresh() -> None:
    store, now = MemoryStore(), [1000.0]
    fake = FakeExchange({"a": "5"})
    cfg = config("a")
    assert run(cfg, fake, store=store, clock=lambda: now[0]).connections[0].status is Status.OK
    now[0] += 119
    fake.behaviour["a"] = "6"
    cached = run(cfg, fake, store=store, clock=lambda: now[0]).connections[0]
    assert (cached.status, cached.balance, cached.age_s) == (Status.CACHED, Decimal("5.00"), 119)
    assert (
        run(cfg, fake, store=store, clock=lambda: now[0], refresh=True).connections[0].balance == 6
    )
    now[0] += 121
    fake.behaviour["a"] = "7"
    assert run(cfg, fake, store=store, clock=lambda: now[0]).connections[0].balance == 7
    now[0] += 30
    fake.behaviour["a"] = "8"
    short = run(cfg, fake, store=store, clock=lambda: now[0], max_age=10).connections[0]
    assert (short.status, short.balance) == (Status.OK, Decimal("8.00"))


def test_failure_after_a_good_fetch_shows_the_last_good_value_as_stale() -> None:
    store, now = MemoryStore(), [1000.0]
    fake = FakeExchange({"a": "250.00", "b": "1"})
    cfg = config("ab")
    run(cfg, fake, store=store, clock=lambda: now[0])
    now[0] += 600
    fake.behaviour["a"] = AdapterError(Status.RATE_LIMITED, "slow down")
    p = run(cfg, fake, store=store, clock=lambda: now[0])
    stale = p.connections[0]
    assert stale.status is Status.STALE
    assert (stale.balance, stale.age_s, stale.error) == (
        Decimal("250.00"),
        600,
        "rate_limited: slow down",
    )
    assert p.summary.total_user_capital == Decimal("251.00")  # stale counts, flagged
    assert p.summary.complete
    # a stale value is never written back as if it were fresh
    assert store.data[(cfg.namespace, "a/kraken")].fetched_at == 1000.0


def test_one_price_call_per_exchange_and_unpriced_assets_listed() -> None:
    fake = FakeExchange({"a": "10", "b": "20"}, prices={"BTC": Decimal("100.5")})
    p = run(config("ab"), fake)
    assert fake.price_calls == 1
    assert [c.equity for c in p.connections] == [Decimal("110.50"), Decimal("120.50")]
    assert [c.cash for c in p.connections] == [Decimal("10.00"), Decimal("20.00")]
    fake = FakeExchange({"a": "10"}, prices={})
    fake.prices = {"ETH": Decimal(1)}
    c = run(config("a"), fake).connections[0]
    assert c.unpriced == ("BTC",) and c.equity == Decimal("10.00")


def test_a_price_failure_keeps_the_balances() -> None:
    fake = FakeExchange({"a": "10"}, prices={"BTC": Decimal(1)})
    fake.prices = RuntimeError("ticker down")  # type: ignore[assignment]
    c = run(config("a"), fake).connections[0]
    assert c.status is Status.OK and c.unpriced == ("BTC",)
    assert c.error == "could not price BTC: ticker down"


def test_an_adapter_that_cannot_be_built_fails_its_connections_only() -> None:
    def broken(exchange: str, settings: Settings, markets: Any) -> Any:
        raise AdapterError(Status.ERROR, "cannot build")

    good = FakeExchange({"b": "3"})
    cfg = config("a", extra='[users.b.desk]\nexchange = "binance"\n')
    env = {**ENV, "BINANCE_USER_B_API_KEY": "k", "BINANCE_USER_B_API_SECRET": "s"}
    p = collect_sync(
        cfg,
        environ=env,
        adapters=lambda e: AdapterSpec("x", broken) if e == "kraken" else good.spec(),
    )
    assert {c.account: c.status for c in p.connections} == {"a": Status.ERROR, "b": Status.OK}
    assert next(c for c in p.connections if c.account == "a").error == "cannot build"


async def test_progress_observer_counts_every_fetch() -> None:
    seen: list[tuple[int, int]] = []
    fake = FakeExchange({"a": "1", "b": AdapterError(Status.UNREACHABLE, "down"), "c": "2"})
    await collect(config("abc"), environ=ENV, adapters=lambda e: fake.spec(),
                  observer=lambda d, t: seen.append((d, t)))  # fmt: skip
    assert sorted(seen) == [(0, 3), (1, 3), (2, 3), (3, 3)]


@pytest.mark.parametrize("basis", ["equity", "cash"])
def test_balance_follows_the_basis(basis: str) -> None:
    fake = FakeExchange({"a": "10"}, prices={"BTC": Decimal(5)})
    cfg = config("a", extra=f'basis = "{basis}"\n')
    c = run(cfg, fake).connections[0]
    assert c.balance == (Decimal("15.00") if basis == "equity" else Decimal("10.00"))


def test_two_connections_on_one_account_are_counted_once() -> None:
    """alice/kraken names its key variable; kraken-sub reads the same one by convention."""
    fake = FakeExchange({"a": "100"})
    extra = (
        '[users.a.kraken-sub]\nexchange = "kraken"\n'
        '[users.a.futures]\nexchange = "kraken"\nccxt = { options = { defaultType = "future" } }\n'
    )
    cfg = config("", extra=extra + '[users.a.kraken]\napi_key_env = "KRAKEN_USER_A_API_KEY"\n')
    p = run(cfg, fake)
    by = {c.connection: c for c in p.connections}
    assert by["kraken-sub"].status is Status.OK  # the first one met is fetched
    assert by["futures"].status is Status.OK  # same key, other wallet settings: another account
    assert by["kraken"].status is Status.ERROR and not by["kraken"].counted
    assert by["kraken"].error.startswith("uses the same API key and settings as a/kraken-sub")
    assert SECRET not in by["kraken"].error
    assert p.summary.total_user_capital == Decimal("200.00")


def test_a_failure_is_remembered_so_a_cached_read_still_says_stale() -> None:
    store, now = MemoryStore(), [1000.0]
    fake = FakeExchange({"a": "250.00"})
    cfg = config("a")
    run(cfg, fake, store=store, clock=lambda: now[0])
    now[0] += 30
    fake.behaviour["a"] = AdapterError(Status.AUTH_FAILED, "key rejected")
    assert (
        run(cfg, fake, store=store, clock=lambda: now[0], refresh=True).connections[0].status
        is Status.STALE
    )
    now[0] += 10  # a plain read within the TTL of the failed attempt: no fetch, still stale
    fake.behaviour["a"] = "999"
    later = run(cfg, fake, store=store, clock=lambda: now[0]).connections[0]
    assert (later.status, later.balance, later.age_s) == (Status.STALE, Decimal("250.00"), 40)
    assert later.error == "auth_failed: key rejected"
    now[0] += 120  # past the TTL of the last attempt: fetched again, and the failure is gone
    again = run(cfg, fake, store=store, clock=lambda: now[0]).connections[0]
    assert (again.status, again.balance, again.error) == (Status.OK, Decimal("999.00"), None)
    assert run(cfg, fake, store=store, clock=lambda: now[0]).connections[0].status is Status.CACHED
