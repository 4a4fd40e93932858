"""The values of the cache: `StoredResult` as JSON (`encode`/`decode`), and the records
`SqliteStore.info()` returns (`StoreInfo`, `MarketInfo`). Stdlib only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from nija_balances.domain.history import AssetPosition, Snapshot
from nija_balances.domain.models import AssetValue, Status, StoredResult, Valuation


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
    kind: str = "sqlite"  # which store: "sqlite" or "redis"
    location: str = ""  # where, as `Store.location` says it (a URL never holds a password)
    health: str | None = None  # a shared store's state: "ok (...)" or why it is not used


def encode(result: StoredResult) -> str:
    """JSON for one result. Decimals are strings, so the round trip is exact (exponent too);
    an asset is `[currency, free, used, total, price, value]`. A result without a good value
    has no `cash`/`equity`/`assets`."""
    doc: dict[str, Any] = {"exchange": result.exchange, "fetched_at": result.fetched_at}
    doc["latency_s"] = result.latency_s
    if (v := result.valuation) is not None:
        assets = [
            [a.currency, str(a.free), str(a.used), str(a.total), _str(a.price), _str(a.value)]
            for a in v.assets
        ]
        doc |= {"cash": str(v.cash), "equity": str(v.equity)}
        doc |= {"assets": assets, "unpriced": list(v.unpriced)}
    if result.failure is not None:
        doc |= {"failure": result.failure, "failed_at": result.failed_at}
        if result.failure_status is not None:
            doc["failure_status"] = result.failure_status.value
    if result.account is not None:
        doc["account"] = result.account
    return json.dumps(doc, separators=(",", ":"))


def decode(data: str) -> StoredResult:
    """The inverse of `encode`; raises ValueError/KeyError/TypeError on a malformed entry."""
    doc = json.loads(data)
    valuation = None
    if "cash" in doc:
        assets = tuple(
            AssetValue(c, Decimal(free), Decimal(used), Decimal(total), _dec(price), _dec(value))
            for c, free, used, total, price, value in doc["assets"]
        )
        valuation = Valuation(
            Decimal(doc["cash"]), Decimal(doc["equity"]), assets, tuple(doc["unpriced"])
        )
    latency, failed_at, fetched_at = doc["latency_s"], doc.get("failed_at"), doc["fetched_at"]
    status = doc.get("failure_status")
    account = doc.get("account")
    return StoredResult(
        exchange=doc["exchange"],
        valuation=valuation,
        fetched_at=None if fetched_at is None else float(fetched_at),
        latency_s=None if latency is None else float(latency),
        failure=None if doc.get("failure") is None else str(doc["failure"]),
        failed_at=None if failed_at is None else float(failed_at),
        failure_status=None if status is None else Status(status),
        account=None if account is None else str(account),
    )


def _str(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _dec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def encode_assets(assets: tuple[AssetPosition, ...]) -> str:
    """A snapshot's positions as JSON `[[currency, amount, price or null], ...]`, exact."""
    return json.dumps([[a.currency, str(a.amount), _str(a.price)] for a in assets])


def decode_snapshot(moment: float, cash: str, equity: str, assets: str) -> Snapshot:
    """A stored snapshot row as a `Snapshot`; raises ValueError/TypeError/ArithmeticError on
    a malformed row."""
    positions = tuple(
        AssetPosition(str(c), Decimal(amount), _dec(price))
        for c, amount, price in json.loads(assets)
    )
    return Snapshot(datetime.fromtimestamp(moment, UTC), Decimal(cash), Decimal(equity), positions)
