"""The engine's ports: what it needs from a store, from adapter lookup and from observers.

Stores (`store/`) and adapters (`adapters/`) implement these protocols; the engine, the CLI
and the API depend only on them, so a second store can slot in beside SQLite.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
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
