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
    from collections.abc import Collection

    from nija_balances.adapters.interface import HistoryKind
    from nija_balances.domain.models import Config, Portfolio
    from nija_balances.engine.figures import Figures
    from nija_balances.engine.ports import Observer, Store
    from nija_balances.engine.sync import SyncObserver, SyncReport


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

    def figures(self, config: Config | None = None, *, trades: bool = True) -> Figures:
        """The P&L figures of `config` (default: the session's) from the store; nothing is
        fetched. `trades=False`: no trades listed (the store may then read fewer fills)."""
        from nija_balances.engine.figures import load_figures

        chosen = config or self.config
        self.prepare_history(chosen)
        return load_figures(chosen, self.store, now=self.clock(), trades=trades)

    def prepare_history(self, config: Config | None = None) -> None:
        """Call before reading history from the store: the built-in demo gets its simulated
        past (30 days of snapshots, trades and flows ending this hour; a no-op once written,
        and for any other config)."""
        chosen = config or self.config
        if not chosen.demo:  # nothing to seed: not even the demo module is imported
            return
        from nija_balances.engine.demo import seed_demo_history

        seed_demo_history(chosen, self.store, self.clock())

    def sync(
        self,
        config: Config | None = None,
        *,
        kinds: Collection[HistoryKind] = ("trades", "flows"),
        observer: SyncObserver | None = None,
    ) -> SyncReport:
        """Sync the trades and flows of `config` (default: the session's) into the store,
        page by page (see `engine.sync`); starts its own event loop."""
        import asyncio

        return asyncio.run(self.sync_async(config, kinds=kinds, observer=observer))

    async def sync_async(
        self,
        config: Config | None = None,
        *,
        kinds: Collection[HistoryKind] = ("trades", "flows"),
        observer: SyncObserver | None = None,
    ) -> SyncReport:
        """`sync` inside a running event loop (`monitor`, `serve`)."""
        from nija_balances.engine.sync import plan_sync, run_sync

        chosen = config or self.config
        self.prepare_history(chosen)
        plan = plan_sync(chosen, self.store, kinds=kinds)
        report = await run_sync(plan, self.store, observer=observer, clock=self.clock)
        import asyncio

        # off the event loop (the dashboard serves pages meanwhile), as its views are built
        await asyncio.to_thread(self.keep_replays, chosen, report)
        return report

    def keep_replays(self, config: Config, report: SyncReport) -> None:
        """The P&L replays of the connections a sync stored something for, kept in the
        store, so that the next `nija pnl` reads no fills (the sync pays for it, not the
        operator waiting for the figures). A failure here is logged, never the sync's."""
        changed = [
            c.key for c in report.connections if any(k.new_fills or k.new_flows for k in c.kinds)
        ]
        if not changed:
            return
        from nija_balances.engine.figures import keep_replays

        try:
            keep_replays(config, self.store, changed, now=self.clock())
        except Exception as exc:  # the history is stored; the figures are computed later
            import logging

            logging.getLogger("nija_balances.app").warning(
                "keeping the P&L replays after the sync failed: %s", type(exc).__name__
            )

    def close(self) -> None:
        self.store.close()
