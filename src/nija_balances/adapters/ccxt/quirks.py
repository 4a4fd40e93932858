"""What differs between exchanges, as data: one `Quirks` entry per exchange id.

An exchange without an entry gets `DEFAULT_QUIRKS` (every field at its default); an entry
names only the fields that differ, so each is the defaults with that exchange's changes.
`quirks_for` is the one lookup; no code of the ccxt adapter or the config tests an
exchange id for a ccxt exchange's behaviour. (Tests of `exchange == "paper"` elsewhere are
about the paper adapter, which needs no credentials, not about ccxt.)

Pure data: imports nothing heavy (no ccxt, no asyncio), so the config loader and
`nija config` may read it.

`UNSUPPORTED_BROKERS` is not here: it stays in `adapters/registry.py` because it names
brokers that no adapter serves (which ids a config may name); it says nothing about how to
talk to a ccxt exchange.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from nija_balances.domain.models import freeze

HoldingsSource = Literal["balance", "alpaca_positions"]
#: ms since the epoch of 2017-07-01, before Binance opened: where its first flow window starts
BINANCE_START_MS = 1_498_867_200_000
DAY_MS = 86_400_000


def _thawed(value: Any) -> Any:
    """A fresh mutable copy of a `freeze`d value (ccxt writes into its options)."""
    if isinstance(value, Mapping):
        return {k: _thawed(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_thawed(v) for v in value]
    return value


@dataclass(frozen=True)
class HistoryPaging:
    """How an exchange's trades and flows are listed (the pagers of `history_paging`).

    `trades` / `flows` name a pager; None means it cannot be listed and `unsupported` says
    why. `limits` are the page sizes asked for, per ccxt call (the exchange's maximum);
    `window_ms` bounds a time window an exchange insists on, `start_ms` where the first
    window of a first sync starts.
    """

    trades: str | None = "since"
    flows: str | None = "since"
    unsupported: Mapping[str, str] = field(default_factory=lambda: freeze({}), hash=False)
    limits: Mapping[str, int] = field(default_factory=lambda: freeze({}), hash=False)
    window_ms: int | None = None
    start_ms: int | None = None


@dataclass(frozen=True)
class Quirks:
    """How one exchange is read through ccxt. The defaults fit most exchanges."""

    # ccxt constructor options deep-merged under the connection's `ccxt` table
    ccxt_defaults: Mapping[str, Any] = field(default_factory=lambda: freeze({}), hash=False)
    # ccxt parses its balance from strings, so `number = str` keeps amounts exact
    exact_balances: bool = False
    # `fetch_markets` does not read the currencies `load_markets` fetches first: fetch both at once
    parallel_currencies: bool = False
    # where holdings come from: ccxt's unified balance, or Alpaca's account and positions
    holdings: HoldingsSource = "balance"
    # prices come from tickers; False when the holdings carry their prices (Alpaca positions)
    ticker_prices: bool = True
    # API keys come with a passphrase (ccxt's `password`)
    passphrase: bool = False
    # raw answers checked before ccxt parses them: URL path -> a check in `amounts.ANSWER_CHECKS`
    # (ccxt reads a balance answer without a balance as an empty balance: $0)
    answer_checks: Mapping[str, str] = field(default_factory=lambda: freeze({}), hash=False)
    # what ccxt's balance leaves out, said on the connection: a note in `amounts.BALANCE_NOTES`
    balance_notes: str | None = None
    # how trades and flows are listed (`history_paging`)
    history: HistoryPaging = HistoryPaging()
    # requests in flight to the exchange across all accounts while `[settings] max_in_flight`
    # is left at its default (None: that default). From the exchange's documented limits: where
    # the private limits are per API key (each key here sends one or two requests), the cap
    # only bounds this process's connections from one address
    max_in_flight: int | None = None

    def ccxt_config(self) -> dict[str, Any]:
        """`ccxt_defaults` as a fresh dict, to build a ccxt constructor's config from."""
        config: dict[str, Any] = _thawed(self.ccxt_defaults)
        return config


DEFAULT_QUIRKS = Quirks()
#: The cap where an exchange limits private requests per API key, not per address: wide
#: enough that 1,000 accounts take two or three rounds, few enough sockets for one process.
PER_KEY = 256

QUIRKS: Mapping[str, Quirks] = MappingProxyType(
    {
        # no nonces: account and positions are asked at once; positions carry their prices
        # limits per account (200 requests a minute each)
        # fills (with their CFEE fees) and cash transfers are account activities paged with
        # `page_token`; crypto transfers come from the wallet API, which has no paging
        "alpaca": Quirks(
            holdings="alpaca_positions",
            ticker_prices=False,
            max_in_flight=PER_KEY,
            history=HistoryPaging(
                trades="alpaca_activities",
                flows="alpaca_flows",
                limits=freeze({"activities": 100}),
            ),
        ),
        # spot only: no futures exchangeInfo, no sapi margin calls
        "binance": Quirks(
            ccxt_defaults=freeze(
                {
                    "options": {
                        "defaultType": "spot",
                        "fetchMarkets": {"types": ["spot"]},
                        "fetchMargins": False,
                    }
                }
            ),
            exact_balances=True,
            # limits per IP address: 6,000 request weight a minute, a balance weighs 20
            max_in_flight=64,
            # myTrades wants a symbol per call and pages with `fromId`; deposits and
            # withdrawals are listed newest first in 90-day windows, paged with `offset`
            history=HistoryPaging(
                trades="binance_trades",
                flows="binance_flows",
                limits=freeze({"trades": 1000, "flows": 1000}),
                window_ms=90 * DAY_MS,
                start_ms=BINANCE_START_MS,
            ),
        ),
        "bitget": Quirks(passphrase=True),
        # Advanced Trade brokerage accounts (available + hold) instead of the v2 wallet API;
        # vaults are the owner's money too (ccxt reads only crypto and fiat wallets), and
        # money in any other type of account is named on the connection;
        # currencies, then spot and futures products, would be three round trips in a row
        "coinbase": Quirks(
            ccxt_defaults=freeze(
                {
                    "options": {
                        "fetchBalance": "v3PrivateGetBrokerageAccounts",
                        "v3Accounts": [
                            "ACCOUNT_TYPE_CRYPTO",
                            "ACCOUNT_TYPE_FIAT",
                            "ACCOUNT_TYPE_VAULT",
                        ],
                    }
                }
            ),
            exact_balances=True,
            parallel_currencies=True,
            answer_checks=freeze({"/api/v3/brokerage/accounts": "coinbase_accounts"}),
            balance_notes="coinbase_uncounted",
            # private limits per key (30 requests a second); public 10 a second per IP, and
            # public requests here are the markets and one ticker call
            max_in_flight=PER_KEY,
            # Advanced Trade fills with `cursor`; flows from each wallet's v2 transactions
            # (`order=asc`, `starting_after`): its deposits resource lists bank transfers only
            # and ccxt reads every crypto send as a deposit
            history=HistoryPaging(
                trades="coinbase_fills",
                flows="coinbase_transactions",
                limits=freeze({"fills": 1000, "transactions": 100}),
            ),
        ),
        "coinbaseexchange": Quirks(passphrase=True),
        "kraken": Quirks(
            exact_balances=True,
            answer_checks=freeze({"/0/private/BalanceEx": "kraken_balance_ex"}),
            # private limits per key (a call counter that decays); public ~1 call a second
            max_in_flight=PER_KEY,
            # TradesHistory and Ledgers: newest first, 50 per page, `ofs`; DepositStatus and
            # WithdrawStatus cannot be paged back in time, so flows come from the ledger
            history=HistoryPaging(trades="kraken_trades", flows="kraken_ledger"),
        ),
        "kucoin": Quirks(passphrase=True),
        "kucoinfutures": Quirks(passphrase=True),
        "okx": Quirks(
            ccxt_defaults=freeze(
                {"options": {"defaultType": "spot", "fetchMarkets": {"types": ["spot"]}}}
            ),
            exact_balances=True,
            passphrase=True,
            # limits per endpoint and key (balance: 10 requests per 2 s)
            max_in_flight=PER_KEY,
            # fills-history by `billId`, deposit/withdrawal history by time, both with `before`
            history=HistoryPaging(
                trades="okx_fills", flows="okx_flows", limits=freeze({"fills": 100, "flows": 100})
            ),
        ),
    }
)


def quirks_for(exchange: str) -> Quirks:
    """The quirks of `exchange` (a ccxt id), or the defaults when it has none."""
    return QUIRKS.get(exchange, DEFAULT_QUIRKS)
