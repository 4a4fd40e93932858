"""Property-based checks of the money: valuation and the service's totals add up to the cent.

- `valuation.value` on random holdings and prices (Decimals of any size and exponent, NaN,
  infinities, negative zero) never raises, values each asset exactly to the cent, and its
  cash and equity are the sums of those values.
- `service.collect_sync` on generated paper configs: every subtotal and total is the sum of
  its parts, and `nija show --json`'s document (`render.json_doc.document`) says the same.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Collection, Mapping
from datetime import datetime
from decimal import MAX_EMAX, MIN_EMIN, ROUND_HALF_UP, Context, Decimal, localcontext
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nija_balances.adapters import registry
from nija_balances.adapters.interface import AdapterSpec
from nija_balances.config.loader import parse_document
from nija_balances.domain.models import (
    ZERO,
    AssetAmount,
    Config,
    ConnectionConfig,
    Holdings,
    Portfolio,
    Settings,
)
from nija_balances.domain.secrets import Credentials
from nija_balances.domain.valuation import MAX_VALUE, value
from nija_balances.engine.collect import collect_sync
from nija_balances.render.json_doc import document

FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
CENT = Decimal("0.01")
SETTINGS = Settings()
CASH = {SETTINGS.quote, *SETTINGS.stablecoins}
CURRENCIES = ["USD", "USDT", "USDC", "DAI", "BTC", "ETH", "SOL", "DOGE", "XYZ"]


def decimals(min_exp: int = -30, max_exp: int = 30, signed: bool = True) -> Any:
    """Decimals of 1 to 30 digits with an exponent in [min_exp, max_exp]."""
    return st.builds(
        lambda sign, digits, exp: Decimal((sign, tuple(digits), exp)),
        st.sampled_from([0, 1]) if signed else st.just(0),
        st.lists(st.integers(0, 9), min_size=1, max_size=30),
        st.integers(min_exp, max_exp),
    )


ODD = st.sampled_from(
    [
        Decimal("NaN"), Decimal("-NaN"), Decimal("sNaN"), Decimal("Infinity"),
        Decimal("-Infinity"), Decimal("-0"), Decimal("-0.00"), Decimal("1E+999999"),
        Decimal("1E-999999"), Decimal("9" * 60), Decimal("0.5E-2"), Decimal("0.005"),
    ]
)  # fmt: skip
ANY_DECIMAL = st.one_of(decimals(), decimals(-999_999, 999_999), ODD)


def exact_cents(amount: Decimal, price: Decimal) -> Decimal | None:
    """The reference: the exact product rounded half-up to the cent, None if it is not money."""
    if not (amount.is_finite() and price.is_finite()):
        return None
    with localcontext(Context(prec=200, Emax=MAX_EMAX, Emin=MIN_EMIN)):
        product = amount * price
        if abs(product) >= MAX_VALUE:
            return None
        cents = product.quantize(CENT, rounding=ROUND_HALF_UP)
    return cents.copy_abs() if cents.is_zero() else cents


def holdings(amounts: Any, prices: Any) -> Any:
    return st.builds(
        lambda assets, own: Holdings(
            tuple(AssetAmount(c, free, used, total) for c, (free, used, total) in assets.items()),
            prices=own,
        ),
        st.dictionaries(st.sampled_from(CURRENCIES), st.tuples(amounts, amounts, amounts)),
        st.dictionaries(st.sampled_from(CURRENCIES), prices, max_size=3),
    )


@FUZZ
@given(
    held=holdings(ANY_DECIMAL, ANY_DECIMAL),
    prices=st.dictionaries(st.sampled_from(CURRENCIES), ANY_DECIMAL),
)
def test_valuation_never_raises_and_sums_exactly(
    held: Holdings, prices: dict[str, Decimal]
) -> None:
    valued = value(held, prices, SETTINGS)
    by_currency = {a.currency: a for a in held.assets}
    assert sorted(a.currency for a in valued.assets) == sorted(by_currency)
    for asset in valued.assets:
        reported = by_currency[asset.currency]
        price = (
            Decimal(1)
            if asset.currency in CASH
            else held.prices.get(asset.currency, prices.get(asset.currency))
        )
        expected = None if price is None else exact_cents(reported.total, price)
        assert asset.value == expected
        if expected is None:
            assert asset.price is None
            garbage = price is not None or not reported.total.is_finite()
            held_some = garbage or not reported.total.is_zero()
            assert (asset.currency in valued.unpriced) == held_some
        else:
            assert asset.price == price
            assert asset.value is not None and not (
                asset.value.is_zero() and asset.value.is_signed()
            )
    values = [a.value for a in valued.assets if a.value is not None]
    cash_values = [a.value for a in valued.assets if a.value is not None and a.currency in CASH]
    assert valued.equity == sum(values, ZERO)
    assert valued.cash == sum(cash_values, ZERO)
    assert all(v == v.quantize(CENT) for v in (valued.cash, valued.equity, *values))


@FUZZ
@given(
    held=holdings(decimals(signed=False), decimals(signed=False)),
    prices=st.dictionaries(st.sampled_from(CURRENCIES), decimals(signed=False)),
)
def test_cash_is_at_most_equity_when_nothing_is_negative(
    held: Holdings, prices: dict[str, Decimal]
) -> None:
    valued = value(held, prices, SETTINGS)
    assert ZERO <= valued.cash <= valued.equity


def test_absurd_values_are_unpriced_not_raised() -> None:
    """Found by the property: 1e30 USD raised InvalidOperation, which failed the exchange."""
    held = Holdings(
        (
            AssetAmount("USD", Decimal("1e30"), ZERO, Decimal("1e30")),
            AssetAmount("BTC", Decimal(1), ZERO, Decimal(1)),
            AssetAmount("ETH", Decimal("-0"), ZERO, Decimal("-0")),
            AssetAmount("SOL", Decimal(2), ZERO, Decimal(2)),
        ),
        prices={"BTC": Decimal("NaN"), "ETH": Decimal(3000), "SOL": Decimal("150.005")},
    )
    valued = value(held, {}, SETTINGS)
    assert valued.unpriced == ("USD", "BTC")
    assert [(a.currency, a.value) for a in valued.assets] == [
        ("USD", None),
        ("BTC", None),
        ("ETH", Decimal("0.00")),
        ("SOL", Decimal("300.01")),
    ]
    assert str(valued.assets[2].total) == "0" and str(valued.assets[2].value) == "0.00"
    assert (valued.cash, valued.equity) == (ZERO, Decimal("300.01"))


# ------------------------------------------------------------------ the service's totals

AMOUNTS = st.one_of(
    decimals(-8, 4, signed=False),  # up to 30 digits: 1e-8 .. ~1e33 before the cap
    st.decimals(min_value=0, max_value=10**9, places=8),
    st.just(Decimal(0)),
)
PRICES = st.one_of(decimals(-10, 2, signed=False), st.decimals(0, 10**5, places=6))
CONNECTION = st.fixed_dictionaries(
    {
        "balances": st.dictionaries(st.sampled_from(CURRENCIES), AMOUNTS, max_size=5),
        "prices": st.dictionaries(st.sampled_from(CURRENCIES), PRICES, max_size=4),
    }
)
ACCOUNT = st.dictionaries(st.sampled_from(["kraken", "coinbase", "okx", "p1"]), CONNECTION)
USERS = st.dictionaries(
    st.sampled_from(["alice", "bob", "carol", "dave.d", "zoë"]),
    st.tuples(st.booleans(), ACCOUNT),
    min_size=1,
)


def paper_config(
    platform: dict[str, Any], users: dict[str, tuple[bool, Any]], basis: str
) -> Config:
    """A TOML config of paper connections (amounts as strings: exact), loaded as a user would."""

    def connections(raw: dict[str, Any]) -> dict[str, Any]:
        return {
            name: {
                "exchange": "paper",
                "balances": {c: str(a) for c, a in conn["balances"].items()},
                "prices": {c: str(p) for c, p in conn["prices"].items()},
            }
            for name, conn in raw.items()
        }

    doc = {
        "settings": {"basis": basis},
        "platform": connections(platform),
        "users": {
            uid: {"enabled": enabled, **connections(conns)}
            for uid, (enabled, conns) in users.items()
        },
    }
    text = tomli_w.dumps(doc)
    return parse_document(tomllib.loads(text), None, text)


def check_portfolio(portfolio: Portfolio, config: Config) -> None:
    """Every figure of `portfolio` is the sum of its parts, and the JSON document agrees."""
    basis = config.settings.basis
    for account in portfolio.accounts:
        for conn in account.connections:
            values = [a.value for a in conn.assets if a.value is not None]
            assert conn.equity == sum(values, ZERO)
            assert conn.cash == sum(
                (a.value for a in conn.assets if a.value is not None and a.currency in CASH), ZERO
            )
            assert ZERO <= conn.cash <= conn.equity
            assert conn.balance == (conn.cash if basis == "cash" else conn.equity)
        assert account.total == sum((c.balance for c in account.connections if c.counted), ZERO)
    summary = portfolio.summary
    enabled = [u for u in portfolio.users if u.enabled]
    assert summary.platform_total == sum(
        (c.balance for c in portfolio.platform.connections if c.counted), ZERO
    )
    assert dict(summary.user_totals) == {
        u.id: sum((c.balance for c in u.connections if c.counted), ZERO) for u in enabled
    }
    assert summary.total_user_capital == sum(summary.user_totals.values(), ZERO)
    assert summary.user_count == len(enabled)
    assert summary.connections_total == len(portfolio.platform.connections) + sum(
        len(u.connections) for u in enabled
    )
    assert summary.connections_counted == summary.connections_total  # paper: always ok

    doc = json.loads(json.dumps(document(portfolio), allow_nan=False))  # strict JSON
    s = doc["summary"]
    assert s["platform_total"] == float(summary.platform_total)
    assert s["user_totals"] == {k: float(v) for k, v in summary.user_totals.items()}
    assert s["total_user_capital"] == float(summary.total_user_capital)
    assert (s["user_count"], s["complete"]) == (len(enabled), True)
    platform = doc["balances"]["platform"]
    assert platform == {c.connection: float(c.balance) for c in portfolio.platform.connections}
    # JSON money is a float: exact to the cent below ~1e13, to 15 digits beyond
    assert sum(platform.values()) == money(s["platform_total"])
    for user in enabled:
        parts = doc["balances"]["users"][user.id]
        assert sum(parts.values()) == money(s["user_totals"][user.id])
    assert sum(s["user_totals"].values()) == money(s["total_user_capital"])
    for conn, data in zip(portfolio.connections, doc["connections"], strict=True):
        assert (data["balance"], data["cash"], data["equity"]) == (
            float(conn.balance),
            float(conn.cash),
            float(conn.equity),
        )
        assert sum(a["value"] for a in data["assets"] if a["value"] is not None) == money(
            data["equity"]
        )


def money(total: float) -> Any:
    """A JSON total that a sum of JSON parts must equal: to the cent, or to float precision."""
    return pytest.approx(total, rel=1e-12, abs=0.005)


@FUZZ
@given(platform=ACCOUNT, users=USERS, basis=st.sampled_from(["equity", "cash"]))
def test_service_totals_are_the_sums_of_their_parts(
    platform: dict[str, Any], users: dict[str, tuple[bool, Any]], basis: str
) -> None:
    config = paper_config(platform, users, basis)
    portfolio = collect_sync(config, store=None)
    check_portfolio(portfolio, config)
    for account in portfolio.accounts:  # and each connection is what its paper table says
        for conn in account.connections if account.enabled else ():
            raw = (platform if account.kind == "platform" else users[account.id][1])[
                conn.connection
            ]
            expected = []
            for currency, amount in raw["balances"].items():
                price = Decimal(1) if currency in CASH else raw["prices"].get(currency)
                cents = None if price is None else exact_cents(amount, price)
                if cents is not None:
                    expected.append(cents)
            assert conn.equity == sum(expected, ZERO)


# ------------------------------------------------------------------ an adapter reporting garbage


class GarbageAdapter:
    """A plugin adapter that reports whatever the test gives it for each connection."""

    def __init__(self, reports: Mapping[str, Holdings]) -> None:
        self.reports = reports

    async def fetch_holdings(self, connection: ConnectionConfig, credentials: Credentials) -> Any:
        return self.reports[connection.key]

    async def fetch_prices(self, currencies: Collection[str], quote: str) -> dict[str, Decimal]:
        return {}

    async def aclose(self) -> None:
        return None


def garbage_config(reports: Mapping[str, Holdings]) -> tuple[Config, Any]:
    spec = AdapterSpec(
        name="garbage",
        factory=lambda exchange, settings, store: GarbageAdapter(reports),
        requires_credentials=False,
        exchanges=frozenset({"garbage"}),
        cacheable=False,
    )
    text = "".join(f"[users.{key.split('/')[0]}.{key.split('/')[1]}]\n" for key in reports)
    text = text.replace("]\n", ']\nexchange = "paper"\n')
    config = parse_document(tomllib.loads(text), None, text)
    users = tuple(
        type(u)(
            u.id,
            u.kind,
            u.name,
            u.enabled,
            tuple(ConnectionConfig(c.account, c.name, "garbage") for c in u.connections),
        )
        for u in config.users
    )
    config = type(config)(config.settings, config.platform, users)

    def lookup(exchange: str) -> AdapterSpec | None:
        return spec if exchange == "garbage" else registry.find_adapter(exchange)

    return config, lookup


@FUZZ
@given(
    held=st.lists(holdings(ANY_DECIMAL.filter(lambda d: d.is_finite()), ANY_DECIMAL), min_size=2)
)
def test_one_accounts_garbage_never_fails_another(held: list[Holdings]) -> None:
    """Before the valuation fix, one absurd value raised and failed every account of it."""
    reports = {f"u{i}/g": h for i, h in enumerate(held)}
    reports["good/g"] = Holdings((AssetAmount("USD", Decimal(5), ZERO, Decimal(5)),))
    config, lookup = garbage_config(reports)
    portfolio = collect_sync(config, store=None, adapters=lookup)
    assert {c.status.value for c in portfolio.connections} == {"ok"}
    good = portfolio.user("good")
    assert good is not None and good.total == Decimal("5.00")
    assert portfolio.summary.total_user_capital == sum((u.total for u in portfolio.users), ZERO)


def test_json_document_is_valid_json_whatever_an_exchange_reports() -> None:
    reports = {
        "a/g": Holdings(
            (
                AssetAmount("USD", Decimal("1E+400"), ZERO, Decimal("1E+400")),
                AssetAmount("XYZ", Decimal("NaN"), ZERO, Decimal("NaN")),
            )
        )
    }
    config, lookup = garbage_config(reports)
    portfolio = collect_sync(config, store=None, adapters=lookup)
    doc = json.loads(json.dumps(document(portfolio), allow_nan=False))
    (conn,) = doc["connections"]
    assert conn["status"] == "ok" and sorted(conn["unpriced"]) == ["USD", "XYZ"]
    assert [(a["total"], a["value"]) for a in conn["assets"]] == [(None, None), (None, None)]


def test_portfolio_checker_sees_a_wrong_total() -> None:
    """The checker itself: a total off by one cent is caught."""
    config = paper_config(
        {"p": {"balances": {"USD": Decimal(1)}, "prices": {}}}, {"a": (True, {})}, "equity"
    )
    portfolio = collect_sync(config, store=None)
    from dataclasses import replace

    wrong = replace(portfolio, summary=replace(portfolio.summary, platform_total=Decimal("1.01")))
    check_portfolio(portfolio, config)
    with pytest.raises(AssertionError):
        check_portfolio(wrong, config)
    assert isinstance(portfolio.generated_at, datetime)
