"""Simulated accounts whose balances, prices and history come from the config: no network.

A paper connection's table may hold `balances` and `prices` (currency = amount), and
`trades` and `flows` (arrays of tables, see `paper_history`); `OPTIONS` declares and checks
them for the config loader. Its history is served in pages like an exchange's.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Collection, Mapping
from datetime import UTC, datetime
from decimal import Decimal

from nija_balances.adapters.interface import HistoryPage, HistoryRequest, OptionSpec
from nija_balances.adapters.paper_history import (
    PaperItem,
    flows_option,
    paper_fill,
    paper_flow,
    trades_option,
)
from nija_balances.domain.history import Fill, Flow
from nija_balances.domain.models import ZERO, AssetAmount, ConnectionConfig, Holdings
from nija_balances.domain.secrets import Credentials
from nija_balances.domain.syntax import amounts_table

OPTIONS: Mapping[str, OptionSpec] = {
    "balances": OptionSpec(amounts_table, "what the account holds: currency = amount"),
    "prices": OptionSpec(amounts_table, "prices in the quote currency: currency = price"),
    "trades": OptionSpec(
        trades_option, 'fills: [{ id, time or ago = "3d", symbol, side, amount, price?, fee? }]'
    ),
    "flows": OptionSpec(
        flows_option, "deposits/withdrawals: [{ id, time or ago, kind, currency, amount, fee? }]"
    ),
}

PAGE_SIZE = 50  # items per history page


class PaperAdapter:
    """Serves `exchange = "paper"` connections from their options. `clock` is the now that
    `ago` times count back from; `page_size` the items per history page."""

    def __init__(
        self, *, clock: Callable[[], float] = time.time, page_size: int = PAGE_SIZE
    ) -> None:
        self._clock = clock
        self._page_size = max(1, page_size)

    async def fetch_holdings(
        self, connection: ConnectionConfig, credentials: Credentials
    ) -> Holdings:
        balances: Mapping[str, Decimal] = connection.options.get("balances", {})
        prices: Mapping[str, Decimal] = connection.options.get("prices", {})
        assets = tuple(
            AssetAmount(currency=currency, free=amount, used=ZERO, total=amount)
            for currency, amount in balances.items()
        )
        return Holdings(assets=assets, prices=dict(prices))

    async def fetch_prices(self, currencies: Collection[str], quote: str) -> Mapping[str, Decimal]:
        return {}

    def history(self, connection: ConnectionConfig) -> tuple[list[Fill], list[Flow]]:
        """The connection's fills and flows at this adapter's now, oldest first (ties by id);
        a trade whose price cannot be known is left out."""
        now = datetime.fromtimestamp(self._clock(), UTC)
        prices: Mapping[str, Decimal] = connection.options.get("prices", {})
        trades: tuple[PaperItem, ...] = connection.options.get("trades", ())
        flows: tuple[PaperItem, ...] = connection.options.get("flows", ())
        fills = [f for item in trades if (f := paper_fill(item, now, prices)) is not None]
        moved = [paper_flow(item, now) for item in flows]
        fills.sort(key=lambda f: (f.time, f.id))
        moved.sort(key=lambda f: (f.time, f.id))
        return fills, moved

    async def history_pages(
        self, connection: ConnectionConfig, credentials: Credentials, request: HistoryRequest
    ) -> AsyncIterator[HistoryPage]:
        """The items after `request.cursor` (the count already served, in time order),
        `page_size` a page: an item added later must be newer than those synced, or it is
        only picked up once the store's sync state of the connection is dropped."""
        fills, flows = self.history(connection)
        items: list[Fill] | list[Flow] = fills if request.kind == "trades" else flows
        try:
            start = max(0, int(request.cursor or 0))
        except ValueError:
            start = 0
        for i in range(start, len(items), self._page_size):
            page = items[i : i + self._page_size]
            cursor = str(i + len(page))
            if request.kind == "trades":
                yield HistoryPage(fills=tuple(page), cursor=cursor)  # type: ignore[arg-type]
            else:
                yield HistoryPage(flows=tuple(page), cursor=cursor)  # type: ignore[arg-type]

    async def aclose(self) -> None:
        return None
