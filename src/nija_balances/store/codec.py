"""The values of the cache: `StoredResult` as JSON (`encode`/`decode`), and the records
`SqliteStore.info()` returns (`StoreInfo`, `MarketInfo`). Stdlib only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from nija_balances.domain.models import AssetValue, StoredResult, Valuation


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
    if result.failure is not None:
        doc |= {"failure": result.failure, "failed_at": result.failed_at}
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
    latency, failed_at = doc["latency_s"], doc.get("failed_at")
    return StoredResult(
        exchange=doc["exchange"],
        valuation=valuation,
        fetched_at=float(doc["fetched_at"]),
        latency_s=None if latency is None else float(latency),
        failure=None if doc.get("failure") is None else str(doc["failure"]),
        failed_at=None if failed_at is None else float(failed_at),
    )


def _str(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _dec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)
