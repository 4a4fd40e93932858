"""The values of the cache: `StoredResult` as JSON (`encode`/`decode`), and the records
`BalanceStore.info()` returns (`StoreInfo`, `MarketInfo`). Stdlib only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from nija_balances.models import AssetValue, StoredResult, Valuation


@dataclass(frozen=True)
class MarketInfo:
    """One saved market list."""

    exchange: str
    saved_at: float
    count: int
    size_bytes: int


@dataclass(frozen=True)
class StoreInfo:
    """What `nija cache info` shows. `oldest`/`newest` are `fetched_at`s of balance entries."""

    path: Path
    size_bytes: int
    entries: int
    markets: tuple[MarketInfo, ...]
    oldest: float | None
    newest: float | None


def encode(result: StoredResult) -> str:
    """JSON for one result. Decimals are strings, so the round trip is exact (exponent too);
    an asset is `[currency, free, used, total, price, value]`."""
    v = result.valuation
    assets = [
        [a.currency, str(a.free), str(a.used), str(a.total), _str(a.price), _str(a.value)]
        for a in v.assets
    ]
    doc = {"exchange": result.exchange, "fetched_at": result.fetched_at}
    doc |= {"latency_s": result.latency_s, "cash": str(v.cash), "equity": str(v.equity)}
    doc |= {"assets": assets, "unpriced": list(v.unpriced)}
    return json.dumps(doc, separators=(",", ":"))


def decode(data: str) -> StoredResult:
    """The inverse of `encode`; raises ValueError/KeyError/TypeError on a malformed entry."""
    doc = json.loads(data)
    assets = tuple(
        AssetValue(c, Decimal(free), Decimal(used), Decimal(total), _dec(price), _dec(value))
        for c, free, used, total, price, value in doc["assets"]
    )
    valuation = Valuation(
        Decimal(doc["cash"]), Decimal(doc["equity"]), assets, tuple(doc["unpriced"])
    )
    latency = doc["latency_s"]
    return StoredResult(
        exchange=doc["exchange"],
        valuation=valuation,
        fetched_at=float(doc["fetched_at"]),
        latency_s=None if latency is None else float(latency),
    )


def _str(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _dec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)
