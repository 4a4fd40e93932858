"""Stores behind `engine.ports.Store`: `open_store(settings)` picks and opens one.

Today the embedded SQLite store; a shared store slots in here, chosen by the settings.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nija_balances.domain.models import Settings
    from nija_balances.store.sqlite import SqliteStore


def open_store(
    settings: Settings | None = None, *, clock: Callable[[], float] = time.time
) -> SqliteStore:
    """The store the settings name (the SQLite file under the cache directory by default).

    Opening is lazy: no file is touched until the first read or write.
    """
    from nija_balances.store.sqlite import SqliteStore

    return SqliteStore(clock=clock)
