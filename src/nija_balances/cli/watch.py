"""`nija watch`: the live view. Refreshes in place on a timer; `q` or Ctrl-C quits."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any

import typer

from nija_balances.cli import EXIT_INTERRUPTED
from nija_balances.cli.context import Terminal
from nija_balances.cli.options import BrokerOption, IntervalOption, UserOption

if TYPE_CHECKING:
    from collections.abc import Callable
    from decimal import Decimal

    from rich.console import Console
    from rich.live import Live

    from nija_balances.app import Session
    from nija_balances.domain.models import Config, Portfolio
    from nija_balances.monitoring.monitor import Monitor


def watch(
    ctx: typer.Context,
    interval: IntervalOption = 60.0,
    user: UserOption = None,
    broker: BrokerOption = None,
) -> None:
    """A live view of every balance that refreshes in place.

    Shows the change of each connection since the previous refresh, the time to the next
    one, and how many connections answered. Each refresh fetches for real and updates the
    cache, so `nija show` in another terminal stays warm. Press `q` (or Ctrl-C) to quit.
    """
    term = Terminal.of(ctx)
    full = term.load_config()
    config = term.narrow(full, user, broker)
    if not term.out.is_terminal:
        term.fail("watch needs a terminal; in scripts use `nija show --json` instead")
    import asyncio

    from nija_balances.render.report import platform_absence

    note = platform_absence(full, config, user, broker)
    session = term.open_session(config)

    def reload() -> Config:
        """The config again, as the operator may have edited it (ConfigError if now invalid)."""
        from nija_balances.config.sources import load_config
        from nija_balances.engine.planning import select

        return select(load_config(term.config, demo=term.demo), user=user, broker=broker)

    import signal

    def terminated(signum: int, frame: object) -> None:
        # like Ctrl-C, unwind through the live view and the tty settings instead of dying
        # with the terminal in cbreak mode, no echo, on the alternate screen
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, terminated)
    try:
        with _keys_unbuffered():
            asyncio.run(_run(term.out, session, config, reload, interval, user is None, note))
    except KeyboardInterrupt:
        raise typer.Exit(EXIT_INTERRUPTED) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
        session.close()


class _Watcher:
    """The refresh loop's state, and the one place that redraws the screen."""

    def __init__(
        self,
        live: Live,
        cfg: Config,
        interval: float,
        show_platform: bool,
        platform_note: str | None,
    ) -> None:
        self.live, self.cfg, self.interval = live, cfg, interval
        self.show_platform, self.platform_note = show_platform, platform_note
        self.portfolio: Portfolio | None = None
        self.previous: Portfolio | None = None
        self.changes: dict[str, Decimal] = {}
        self.last_refresh: datetime | None = None
        self.next_at = 0.0
        self.refreshing = False
        self.answered = self.attempted = 0
        self.message: str | None = None  # alerts of the last refresh
        self.config_note: str | None = None  # why an edited config was not reloaded
        self.monitor: Monitor | None = None  # the alerts, over the watched session's store

    def redraw(self, now: float) -> None:
        from nija_balances.render.live import WatchState, WatchView

        state = WatchState(
            interval=self.interval,
            last_refresh=self.last_refresh,
            seconds_to_next=self.next_at - now,
            refreshing=self.refreshing,
            answered=self.answered,
            attempted=self.attempted,
            message="; ".join(m for m in (self.config_note, self.message) if m) or None,
        )
        view = WatchView(
            self.portfolio, self.changes, state, self.show_platform, self.platform_note
        )
        self.live.update(view, refresh=True)

    def accept(self, portfolio: Portfolio) -> None:
        from nija_balances.domain.models import Status
        from nija_balances.render.live import changes_between

        self.previous, self.portfolio = self.portfolio, portfolio
        if self.previous is not None:
            self.changes = changes_between(self.previous, portfolio)
        self.last_refresh = portfolio.generated_at
        active = [c for c in portfolio.connections if c.status is not Status.DISABLED]
        self.attempted = len(active)
        self.answered = sum(1 for c in active if c.status in (Status.OK, Status.CACHED))
        alerts = self.monitor.observe(portfolio) if self.monitor is not None else []
        self.message = "; ".join(f"{a.kind.value}: {a.message}" for a in alerts) or None


async def _run(
    console: Console,
    session: Session,
    cfg: Config,
    reload: Callable[[], Config],
    interval: float,
    show_platform: bool,
    platform_note: str | None,
) -> None:
    import asyncio
    import contextlib
    import time

    from rich.live import Live

    from nija_balances.domain.models import Status

    quit_event = asyncio.Event()
    loop = asyncio.get_running_loop()
    if sys.stdin.isatty():
        loop.add_reader(sys.stdin.fileno(), _on_key, quit_event)
    with Live(console=console, screen=True, auto_refresh=False, transient=True) as live:
        watcher = _Watcher(live, cfg, interval, show_platform, platform_note)
        from nija_balances.monitoring.monitor import Monitor

        watcher.monitor = Monitor(session)

        def config_changed() -> bool:
            source = watcher.cfg.source
            return source is not None and source.is_file() and source.stat().st_mtime != mtime[0]

        mtime = [cfg.source.stat().st_mtime if cfg.source and cfg.source.is_file() else 0.0]

        async def run_refresh(force: bool) -> Portfolio | None:
            """Fetch in a task while the screen keeps ticking; None if the user quit."""
            if config_changed():  # pick up users/connections added while watching
                assert watcher.cfg.source is not None
                mtime[0] = watcher.cfg.source.stat().st_mtime
                try:
                    watcher.cfg, watcher.config_note = reload(), None
                except Exception as exc:  # a half-edited file: keep watching the old one
                    watcher.config_note = f"config not reloaded: {str(exc).splitlines()[0]}"
            watcher.refreshing = True
            task = asyncio.create_task(session.collect_async(watcher.cfg, refresh=force))
            while not task.done() and not quit_event.is_set():
                watcher.redraw(time.time())
                await asyncio.wait({task}, timeout=1.0)
            watcher.refreshing = False
            if not task.done():
                task.cancel()
                return None
            return task.result()

        async def wait_for_next() -> None:
            watcher.next_at = time.time() + interval
            while time.time() < watcher.next_at and not quit_event.is_set():
                watcher.redraw(time.time())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(quit_event.wait(), timeout=1.0)

        # First paint from the cache when it is warm (instant), then fetch for real at once.
        first = await run_refresh(force=False)
        if first is not None:
            watcher.accept(first)
            if any(c.status is Status.CACHED for c in first.connections):
                watcher.next_at = time.time()
            else:
                await wait_for_next()
        while not quit_event.is_set():
            try:
                portfolio = await run_refresh(force=True)
            except Exception as exc:  # a broken refresh keeps the last screen
                watcher.message = f"refresh failed: {exc}"
                portfolio = None
            if portfolio is not None:
                watcher.accept(portfolio)
            await wait_for_next()
    if sys.stdin.isatty():
        loop.remove_reader(sys.stdin.fileno())


def _on_key(quit_event: object) -> None:
    import asyncio

    assert isinstance(quit_event, asyncio.Event)
    key = sys.stdin.read(1)
    if key in ("q", "Q", "\x1b"):
        quit_event.set()


class _keys_unbuffered:
    """Read single key presses (cbreak: Ctrl-C still interrupts); restore the tty after."""

    def __enter__(self) -> None:
        self.saved: Any = None
        if sys.stdin.isatty():
            import termios
            import tty

            fd = sys.stdin.fileno()
            self.saved = termios.tcgetattr(fd)
            tty.setcbreak(fd)

    def __exit__(self, *exc: object) -> None:
        if self.saved is not None:
            import termios

            termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, self.saved)
