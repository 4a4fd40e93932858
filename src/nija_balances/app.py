"""The composition root: a `Session` is one config, one store and one clock.

The CLI, the Python API (and later the web dashboard) build their work from a Session, so
every front end reads the same config through the same store. Cheap to import.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nija_balances.domain.models import Config, Portfolio
    from nija_balances.engine.figures import Figures
    from nija_balances.engine.ports import Observer, Store


@dataclass
class Session:
    """What one run works with. `close()` releases the store (it can be used again)."""

    config: Config
    store: Store
    clock: Callable[[], float] = time.time

    @classmethod
    def open(
        cls,
        config: Path | Config | None = None,
        *,
        demo: bool = False,
        store: Store | None = None,
        clock: Callable[[], float] = time.time,
    ) -> Session:
        """Load the config (a path, a loaded `Config`, None: the default path) and open the
        store its settings name. Raises `ConfigError` for an invalid config."""
        from nija_balances.domain.models import Config

        if isinstance(config, Config):
            loaded = config
        else:
            from nija_balances.config.sources import load_config

            loaded = load_config(config, demo=demo)
        if store is None:
            from nija_balances.store import open_store

            store = open_store(loaded.settings, clock=clock)
        return cls(loaded, store, clock)

    def collect(
        self,
        config: Config | None = None,
        *,
        refresh: bool = False,
        max_age: float | None = None,
        observer: Observer | None = None,
    ) -> Portfolio:
        """The portfolio of `config` (default: the session's) through the store."""
        from nija_balances.engine.collect import collect_sync

        return collect_sync(
            config or self.config,
            refresh=refresh,
            max_age=max_age,
            store=self.store,
            observer=observer,
            clock=self.clock,
        )

    async def collect_async(
        self,
        config: Config | None = None,
        *,
        refresh: bool = False,
        max_age: float | None = None,
        observer: Observer | None = None,
    ) -> Portfolio:
        """`collect` inside a running event loop."""
        from nija_balances.engine.collect import collect

        return await collect(
            config or self.config,
            refresh=refresh,
            max_age=max_age,
            store=self.store,
            observer=observer,
            clock=self.clock,
        )

    def figures(self, config: Config | None = None) -> Figures:
        """The P&L figures of `config` (default: the session's) from the store; nothing is
        fetched."""
        from nija_balances.engine.figures import load_figures

        return load_figures(config or self.config, self.store, now=self.clock())

    def close(self) -> None:
        self.store.close()
