"""Stores behind `engine.ports.Store`: `open_store(settings)` picks and opens one.

The embedded SQLite store by default (or `[store] url = "sqlite:///path"`); the shared Redis
store for `redis://`/`rediss://` URLs, with the local SQLite store behind it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nija_balances.domain.models import Settings
    from nija_balances.store.redis_store import RedisStore
    from nija_balances.store.sqlite import SqliteStore


def open_store(
    settings: Settings | None = None, *, clock: Callable[[], float] = time.time
) -> SqliteStore | RedisStore:
    """The store the settings name (the SQLite file under the cache directory by default).

    Opening is lazy: no file is touched and no server reached until the first read or write.
    """
    from pathlib import Path
    from urllib.parse import urlsplit

    from nija_balances.store.sqlite import SqliteStore

    store = None if settings is None else settings.store
    if store is None or store.url is None:
        return SqliteStore(clock=clock)
    if store.scheme == "sqlite":
        return SqliteStore(Path(urlsplit(store.url).path).expanduser(), clock=clock)
    from nija_balances.store.redis_store import RedisStore

    return RedisStore(
        store.url,
        namespace=store.shared_namespace or "default",
        fallback=SqliteStore(clock=clock),
        password_env=store.password_env,
        clock=clock,
    )
