"""A plugin adapter whose history fails after one page (loaded through an entry point)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from nija_balances.adapters.interface import (
    AdapterError,
    AdapterSpec,
    HistoryPage,
    HistoryRequest,
)
from nija_balances.domain.history import Fill
from nija_balances.domain.models import ConnectionConfig, Holdings, Settings, Status
from nija_balances.domain.secrets import Credentials


class FlakyAdapter:
    async def fetch_holdings(
        self, connection: ConnectionConfig, credentials: Credentials
    ) -> Holdings:
        return Holdings(())

    async def fetch_prices(self, currencies: Collection[str], quote: str) -> Mapping[str, Decimal]:
        return {}

    async def history_pages(
        self, connection: ConnectionConfig, credentials: Credentials, request: HistoryRequest
    ) -> AsyncIterator[HistoryPage]:
        if request.kind == "flows":
            return
        moment = datetime(2026, 1, 2, tzinfo=UTC)
        one = Fill("f1", "o1", moment, "BTC/USD", "buy", Decimal(1), Decimal(2), Decimal(2))
        yield HistoryPage(fills=(one,), cursor="1")
        raise AdapterError(Status.RATE_LIMITED, "slow down")

    async def aclose(self) -> None:
        return None


def _factory(exchange: str, settings: Settings, markets: Any) -> FlakyAdapter:
    return FlakyAdapter()


SPEC = AdapterSpec(name="flaky", factory=_factory, requires_credentials=False, cacheable=False)
