"""Refreshing many connections: the ticker in flight with the balances, per-exchange request
caps, and per-key ccxt clones that share nothing a key writes."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from nija_balances.adapters.ccxt.adapter import max_in_flight
from nija_balances.adapters.ccxt.quirks import PER_KEY
from nija_balances.adapters.ccxt.transport import clone_instance
from nija_balances.domain.models import Settings, Status
from nija_balances.engine.collect import collect_sync
from test_service import ENV, FakeExchange, MemoryStore, config


class OrderedFake(FakeExchange):
    """Notes whether each price call started before every balance was fetched."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fetched = 0
        self.asked: list[tuple[frozenset[str], bool]] = []

    async def fetch_holdings(self, connection: Any, credentials: Any) -> Any:
        await asyncio.sleep(0.01)
        held = await super().fetch_holdings(connection, credentials)
        self.fetched += 1
        return held

    async def fetch_prices(self, currencies: Any, quote: str) -> Any:
        self.asked.append((frozenset(currencies), self.fetched < len(self.behaviour)))
        return await super().fetch_prices(currencies, quote)


def refresh(fake: FakeExchange, store: MemoryStore) -> Any:
    return collect_sync(
        config("ab"), environ=ENV, adapters=lambda e: fake.spec(), store=store, refresh=True
    )


def test_currencies_held_last_time_are_priced_while_the_balances_are_fetched() -> None:
    store = MemoryStore()
    fake = OrderedFake({"a": "10", "b": "20"}, prices={"BTC": Decimal(100)})
    first = refresh(fake, store)
    assert fake.asked == [(frozenset({"BTC"}), False)]  # nothing known before: after them
    fake.asked.clear()
    fake.fetched = 0
    second = refresh(fake, store)
    assert fake.asked == [(frozenset({"BTC"}), True)]  # one call, alongside the balances
    for portfolio in (first, second):
        assert {c.status for c in portfolio.connections} == {Status.OK}
        assert portfolio.summary.total_user_capital == Decimal("230.00")  # 10 + 20 + 2 x 1 BTC


def test_a_currency_nobody_held_before_is_priced_after_the_balances() -> None:
    store = MemoryStore()
    refresh(OrderedFake({"a": "10", "b": "20"}), store)  # USD only: nothing to price
    fake = OrderedFake({"a": "10", "b": "20"}, prices={"BTC": Decimal(100)})
    portfolio = refresh(fake, store)
    assert fake.asked == [(frozenset({"BTC"}), False)]
    assert portfolio.summary.total_user_capital == Decimal("230.00")


def test_an_early_price_failure_is_reported_only_where_a_price_is_missing() -> None:
    store = MemoryStore()
    refresh(OrderedFake({"a": "10", "b": "20"}, prices={"BTC": Decimal(100)}), store)
    fake = OrderedFake({"a": "10", "b": "20"})
    fake.prices = RuntimeError("ticker down")  # type: ignore[assignment]
    portfolio = refresh(fake, store)
    assert all(c.error == "could not price BTC: ticker down" for c in portfolio.connections)


def test_each_exchange_has_its_documented_cap_unless_the_setting_is_changed() -> None:
    default = Settings()
    assert max_in_flight("kraken", default) == PER_KEY
    assert max_in_flight("binance", default) == 64  # weight per IP address
    assert max_in_flight("someexchange", default) == default.max_in_flight
    assert max_in_flight("kraken", Settings(max_in_flight=8)) == 8
    assert max_in_flight("binance", Settings(max_in_flight=500)) == 500


def test_clones_share_no_option_a_key_writes() -> None:
    import ccxt.async_support as ccxt_async

    template = ccxt_async.kraken({"enableRateLimit": True})
    one, two = clone_instance(template), clone_instance(template)
    one.options["lastNonce"] = 5  # ccxt's per-key state lives in `options`
    nested = next(k for k, v in template.options.items() if isinstance(v, dict))
    one.options[nested]["written"] = True
    assert "lastNonce" not in two.options and "lastNonce" not in template.options
    assert "written" not in two.options[nested] and "written" not in template.options[nested]
    assert one.throttler is not two.throttler
    asyncio.run(template.close())


async def test_prices_asked_before_any_balance_go_to_the_connections_exchange() -> None:
    """The early ticker call (with the balances) uses the connections' `ccxt` table: the
    mock here, never the exchange's own address."""
    from mockex import MOCKS
    from mockex.harness import add_account, connection
    from nija_balances.adapters.ccxt.adapter import CcxtAdapter

    async with MOCKS["kraken"]() as mock:
        creds = add_account(mock, {"USD": ("1", "0"), "BTC": ("1", "0")})
        adapter = CcxtAdapter("kraken", Settings(timeout=5.0), None)
        try:
            await adapter.prepare([(connection(mock, "alice"), creds)])
            prices = await adapter.fetch_prices({"BTC"}, "USD")
        finally:
            await adapter.aclose()
        assert set(prices) == {"BTC"}
        assert mock.unexpected == []
