"""The engine's ports: what it needs from a store, from adapter lookup and from observers.

Stores (`store/`) and adapters (`adapters/`) implement these protocols; the engine, the CLI
and the API depend only on them, so a second store can slot in beside SQLite.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from nija_balances.domain.models import StoredResult


class MarketStore(Protocol):
    """Where adapters keep per-exchange market lists between runs (the on-disk cache)."""

    def load_markets(self, exchange: str, max_age: float) -> dict[str, Any] | None:
        """The markets saved for `exchange` if younger than `max_age` seconds, else None."""
        ...

    def save_markets(self, exchange: str, markets: dict[str, Any]) -> None: ...


Observer = Callable[[int, int], None]
"""Called as each connection's fetch finishes, ok or not: (done, total to fetch)."""


class ResultStore(MarketStore, Protocol):
    """What a refresh reads and writes: results per namespace and key, and markets."""

    def get_many(self, namespace: str, keys: Iterable[str]) -> dict[str, StoredResult]: ...

    def put_many(self, namespace: str, items: Mapping[str, StoredResult]) -> None: ...


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


class Store(ResultStore, Protocol):
    """The whole store interface: what the engine, the CLI and the API use.

    A store never raises for a problem with its backing file or server: reads miss, writes
    are dropped, and each problem is said once in `warnings`.
    """

    warnings: list[str]

    @property
    def location(self) -> str:
        """Where the store keeps its data (a file path or a URL without its password)."""
        ...

    @property
    def available(self) -> bool:
        """False once the store gave up (cannot open its file, newer schema)."""
        ...

    def info(self) -> StoreInfo:
        """What the store holds: entries, markets, age range, size."""
        ...

    def clear(self) -> int:
        """Remove every entry; return how many were removed."""
        ...

    def close(self) -> None:
        """Release the file or connection; the store may be used again afterwards."""
        ...
