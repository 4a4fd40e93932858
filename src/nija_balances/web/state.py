"""The dashboard's state: the latest View and the refresh loop that replaces it.

One refresh at a time (single-flight: asking while one runs waits for that one), on the
server's event loop: the fetches are the engine's (`Session.collect_async`, which keeps the
snapshots of good fetches in the store), then the View is built in a worker thread. Requests
read `Dashboard.view`, swapped in whole when ready, so they answer at once while a refresh
runs or an exchange hangs (each connection is bounded by `settings.timeout` anyway).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from nija_balances.domain.models import Config, Status
from nija_balances.web.recent import RecentSnapshots
from nija_balances.web.view import View, build_view

#: Trades and flows are synced with a refresh at most this often (seconds).
SYNC_EVERY = 300.0

if TYPE_CHECKING:
    from nija_balances.app import Session

log = logging.getLogger("nija_balances.web")


@dataclass
class RefreshStats:
    """Counters since the server started, for `/metrics`."""

    refreshes: int = 0
    failures: int = 0  # refreshes that raised (the previous View stays)
    last_duration_s: float | None = None
    last_finished: float | None = None  # epoch seconds
    last_error: str | None = None
    fetch_errors: Counter[tuple[str, str, str]] = field(default_factory=Counter)


class Dashboard:
    """The latest View of `session`'s config, refreshed every `interval` seconds by `run`.

    `reload` returns the config again (called when its file changed; a config that no longer
    loads keeps the previous one, with the problem in `config_note`).
    """

    def __init__(
        self,
        session: Session,
        *,
        interval: float = 60.0,
        reload: Callable[[], Config] | None = None,
    ) -> None:
        self.session = session
        self.config = session.config
        self.interval = interval
        self.reload = reload
        self.view: View | None = None
        self.refreshing = False
        self.next_at: float | None = None  # epoch seconds of the next scheduled refresh
        self.config_note: str | None = None
        self.stats = RefreshStats()
        self._running: asyncio.Task[View | None] | None = None
        self._recent = RecentSnapshots()  # used by one refresh at a time (single-flight)
        self._mtime = self._config_mtime()
        self._synced_at = -SYNC_EVERY

    async def refresh(self, *, force: bool = True) -> View | None:
        """Refresh now, or wait for the refresh already running; the View it made (None if
        it failed: the previous View stays)."""
        if self._running is None or self._running.done():
            self._running = asyncio.create_task(self._refresh(force))
        return await asyncio.shield(self._running)

    async def run(self) -> None:
        """Refresh forever: first from the cache where it is fresh (a fast first page),
        then fetching for real every `interval` seconds. Cancel to stop."""
        force, due = False, time.monotonic()
        while True:
            await self.refresh(force=force)
            force = True
            # every `interval` from the start of the last refresh; one that overran its
            # slot is followed by the next at once, never by a burst of missed ones
            due = max(due + self.interval, time.monotonic())
            self.next_at = time.time() + (due - time.monotonic())
            await asyncio.sleep(due - time.monotonic())

    async def _refresh(self, force: bool) -> View | None:
        started = time.perf_counter()
        self.refreshing = True
        try:
            self._maybe_reload()
            config = self.config
            portfolio = await self.session.collect_async(config, refresh=force)
            await self._sync(config)
            generation = (self.view.generation if self.view else 0) + 1
            now = datetime.fromtimestamp(self.session.clock(), UTC)
            view = await asyncio.to_thread(
                build_view,
                self.session,
                config,
                portfolio,
                now=now,
                generation=generation,
                recent=self._recent,
            )
        except Exception as exc:  # a broken refresh keeps the last View; the next one retries
            # the type only: an exception's text could quote a request, and logs hold no secret
            log.error("refresh failed (%s); the previous figures stay", type(exc).__name__)
            self.stats.failures += 1
            self.stats.last_error = type(exc).__name__
            return None
        finally:
            self.refreshing = False
            self.stats.last_duration_s = time.perf_counter() - started
        for report in portfolio.connections:
            if not report.status.healthy and report.status is not Status.DISABLED:
                self.stats.fetch_errors[(report.account, report.connection, report.exchange)] += 1
        self.stats.refreshes += 1
        self.stats.last_finished = time.time()
        for warning in self.session.store.warnings:
            log.warning("%s", warning)
        self.session.store.warnings.clear()
        self.view = view
        return view

    async def _sync(self, config: Config) -> None:
        """Bring trades and flows up to date (as `nija sync`), at most every `SYNC_EVERY`:
        incremental, so it costs a request per kind and connection even when nothing is
        new. A failed sync is the next one's to retry; the figures say what is missing."""
        if time.monotonic() - self._synced_at < SYNC_EVERY:
            return
        self._synced_at = time.monotonic()
        try:
            report = await self.session.sync_async(config)
        except Exception as exc:
            log.error("history sync failed (%s)", type(exc).__name__)
            return
        failed = [c for c in report.connections if c.status == "failed"]
        if failed:
            log.warning("history sync: %d connection(s) failed", len(failed))

    def _config_mtime(self) -> float | None:
        source = self.config.source
        try:
            return source.stat().st_mtime if source is not None and source.is_file() else None
        except OSError:
            return None

    def _maybe_reload(self) -> None:
        """Pick up users and connections added to the config file since the last refresh."""
        mtime = self._config_mtime()
        if self.reload is None or mtime == self._mtime:
            return
        self._mtime = mtime
        try:
            self.config, self.config_note = self.reload(), None
        except Exception as exc:  # a half-edited file: keep showing the config that loaded
            self.config_note = f"config not reloaded: {str(exc).splitlines()[0]}"
            log.warning("%s", self.config_note)
