"""The Python API: `MultiAccountBrokerManager` and `BrokerType`, as NIJA code calls them.

Every method reads the same `Portfolio` as the CLI, through the same on-disk cache, so a
call within `cache_ttl` of the last fetch costs no request. Nothing happens at import.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from datetime import timedelta
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nija_balances.domain.models import ZERO, Config, ConnectionReport, Portfolio, to_cents

if TYPE_CHECKING:
    from nija_balances.app import Session
    from nija_balances.engine.figures import Figures
    from nija_balances.engine.ports import Store
    from nija_balances.monitoring.monitor import Monitor

log = logging.getLogger("nija_balances")


class BrokerType(Enum):
    """Brokers the seeds name (value = exchange id). Any ccxt id also works as a plain string."""

    COINBASE = "coinbase"
    KRAKEN = "kraken"
    BINANCE = "binance"
    OKX = "okx"
    ALPACA = "alpaca"
    INTERACTIVE_BROKERS = "interactive_brokers"
    TD_AMERITRADE = "td_ameritrade"
    TRADIER = "tradier"
    PAPER = "paper"


def _money(amount: Any) -> float:
    return float(to_cents(amount))


def _value(report: ConnectionReport) -> float:
    return _money(report.balance) if report.counted else 0.0


class MultiAccountBrokerManager:
    """Balances of the platform account and every user account, as the seeds promised.

    `config`: a path to a TOML file or NIJA users directory, a loaded `Config`, or None for
    the default config; `demo=True` uses the built-in demo.
    """

    def __init__(
        self,
        config: str | Path | Config | None = None,
        demo: bool = False,
        *,
        store: Store | None = None,
    ) -> None:
        self._config_arg = config
        self._demo = demo
        self._store = store
        self._session: Session | None = None
        self._monitor: Monitor | None = None
        self.last_portfolio: Portfolio | None = None

    # ------------------------------------------------------------------ plumbing

    @property
    def session(self) -> Session:
        """The config and store this manager works with (loaded on first use; `ConfigError`
        if the config is invalid)."""
        if self._session is None:
            from nija_balances.app import Session

            arg = self._config_arg
            source = arg if isinstance(arg, Config) else (Path(arg) if arg else None)
            self._session = Session.open(source, demo=self._demo, store=self._store)
        return self._session

    @property
    def monitor(self) -> Monitor:
        """The alert monitor over this manager's config and store, fed by every refresh."""
        if self._monitor is None:
            from nija_balances.monitoring.monitor import Monitor

            self._monitor = Monitor(lambda: self.session)
        return self._monitor

    @property
    def config(self) -> Config:
        """The loaded config (read on first use; `ConfigError` if it is invalid)."""
        return self.session.config

    def refresh(self, force: bool = False) -> Portfolio:
        """Collect balances (cached ones within `cache_ttl` unless `force`) and run the alerts."""
        session = self.session
        portfolio = _outside_event_loop(lambda: session.collect(refresh=force))
        self.last_portfolio = portfolio
        self.monitor.observe(portfolio)
        return portfolio

    async def refresh_async(self, force: bool = False) -> Portfolio:
        """`refresh` for code already running an event loop (a trading bot)."""
        portfolio = await self.session.collect_async(refresh=force)
        self.last_portfolio = portfolio
        self.monitor.observe(portfolio)
        return portfolio

    # ------------------------------------------------------------------ the NIJA methods

    def get_all_balances(self) -> dict[str, Any]:
        """`{'platform': {conn: usd}, 'master': <same dict>, 'users': {user: {conn: usd}}}`.

        A connection that is not counted (failed, no credentials, disabled) shows 0.0; use
        `get_all_balances_with_status()` to see why.
        """
        p = self.refresh()
        platform = {c.connection: _value(c) for c in p.platform.connections}
        users = {u.id: {c.connection: _value(c) for c in u.connections} for u in p.users}
        return {"platform": platform, "master": platform, "users": users}

    def get_all_balances_with_status(self) -> dict[str, Any]:
        """Like `get_all_balances`, with status, error, exchange and age per connection."""
        p = self.refresh()

        def detail(c: ConnectionReport) -> dict[str, Any]:
            return {
                "balance": _value(c),
                "status": c.status.value,
                "counted": c.counted,
                "exchange": c.exchange,
                "error": c.error,
                "age_s": None if c.age_s is None else round(c.age_s, 1),
            }

        platform = {c.connection: detail(c) for c in p.platform.connections}
        users = {
            u.id: {
                "enabled": u.enabled,
                "connections": {c.connection: detail(c) for c in u.connections},
            }
            for u in p.users
        }
        s = p.summary
        return {
            "platform": platform,
            "master": platform,
            "users": users,
            "complete": s.complete,
            "connections_total": s.connections_total,
            "connections_counted": s.connections_counted,
        }

    def get_user_balance_summary(self) -> dict[str, Any]:
        """`user_count`, `total_capital`, `average_balance`, and `users` (highest total first)."""
        p = self.refresh()
        s = p.summary
        enabled = [u for u in p.users if u.enabled]
        ranked = sorted(enabled, key=lambda u: (-u.total, u.id))
        return {
            "user_count": s.user_count,
            "total_capital": _money(s.total_user_capital),
            "average_balance": _money(s.average_per_user),
            "users": [
                {
                    "user_id": u.id,
                    "total": _money(u.total),
                    "brokers": {c.connection: _value(c) for c in u.connections},
                }
                for u in ranked
            ],
        }

    def get_user_balance(self, user_id: str, broker: BrokerType | str) -> float:
        """One user's balance on one broker: the sum of its connections of that exchange id or
        connection name (0.0 when the user has none there). Unknown user -> KeyError."""
        wanted = (broker.value if isinstance(broker, BrokerType) else str(broker)).lower()
        if self.config.user(user_id) is None:
            known = ", ".join(u.id for u in self.config.users)
            raise KeyError(f"unknown user {user_id!r} (known users: {known})")
        account = self.refresh().user(user_id)
        assert account is not None
        matching = [c for c in account.connections if wanted in (c.exchange, c.connection.lower())]
        return _money(sum((c.balance for c in matching if c.counted), ZERO))

    def get_status_report(self) -> str:
        """The balance report as plain text (the same report `nija show` prints)."""
        from nija_balances.render.table import report_text

        return report_text(self.refresh())

    def log_all_balances(self) -> None:
        """Log the report at INFO on the `nija_balances` logger (stderr without logging set up)."""
        text = self.get_status_report()
        if logging.getLogger().hasHandlers() or log.handlers:
            for line in text.splitlines():
                log.info("%s", line)
        else:
            sys.stderr.write(text)

    def get_history(
        self, user_id: str, since: str | timedelta | None = None
    ) -> list[dict[str, Any]]:
        """The user's equity over time: the points of `nija history --json` for that user
        (`{"time", "equity", "complete"}`, oldest first), over `since` (`"7d"`, `"24h"`,
        `"30m"` or a timedelta; default 7 days) in the same buckets (hourly up to 2 days,
        else daily). Reads the store only. Unknown user -> KeyError; bad span -> ValueError."""
        from datetime import UTC, datetime

        from nija_balances.domain.series import default_every, parse_span
        from nija_balances.engine.history import load_history
        from nija_balances.engine.planning import select
        from nija_balances.render.history import point_dict

        span = parse_span(since or "7d") if not isinstance(since, timedelta) else since
        if span <= timedelta(0):
            raise ValueError(f"since must be positive, not {since!r}")
        if self.config.user(user_id) is None:
            known = ", ".join(u.id for u in self.config.users)
            raise KeyError(f"unknown user {user_id!r} (known users: {known})")
        session = self.session
        now = datetime.fromtimestamp(session.clock(), UTC)
        model = load_history(
            select(self.config, user=user_id),
            session.store,
            now=now,
            since=span,
            every=default_every(span),
        )
        return [point_dict(p) for p in model.users.get(user_id, ())]

    def get_user_pnl(self, user_id: str) -> dict[str, Any]:
        """The user's P&L: the user's entry of `nija pnl --json` (balance, daily and total
        P&L, realized, unrealized, fees, net flow, unexplained, trades, wins, losses, draws,
        win rate, completeness, and the same per connection). Reads the store only; money
        rounded to cents, None where unknown. Unknown user -> KeyError."""
        from nija_balances.render.pnl import account_dict

        figures = self._user_figures(user_id, trades=False)
        return account_dict(figures.users[user_id])

    def get_trades(self, user_id: str, limit: int | None = 50) -> list[dict[str, Any]]:
        """The user's latest fills, newest first, as `nija trades --json` lists them (with
        the realized P&L of the lots each closed); `limit=None` for all. Reads the store
        only. Unknown user -> KeyError."""
        from nija_balances.render.trades import trade_dict

        figures = self._user_figures(user_id)
        rows = figures.users[user_id].trades
        return [trade_dict(r, figures.quote) for r in (rows if limit is None else rows[:limit])]

    def _user_figures(self, user_id: str, *, trades: bool = True) -> Figures:
        from nija_balances.engine.planning import select

        if self.config.user(user_id) is None:
            known = ", ".join(u.id for u in self.config.users)
            raise KeyError(f"unknown user {user_id!r} (known users: {known})")
        user = self.config.user(user_id)
        if user is not None and not user.enabled:
            raise KeyError(f"user {user_id!r} is disabled")
        return self.session.figures(select(self.config, user=user_id), trades=trades)

    def clear_balance_cache(self) -> int:
        """Forget every cached balance; the next call fetches. Returns entries removed."""
        return self.session.store.clear()


def _outside_event_loop(run: Callable[[], Portfolio]) -> Portfolio:
    """Call `run()`; inside a running event loop, in a worker thread (asyncio.run cannot nest)."""
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return run()
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


_manager: MultiAccountBrokerManager | None = None


def get_manager() -> MultiAccountBrokerManager:
    """The module-level manager over the default config, created on first use."""
    global _manager
    if _manager is None:
        _manager = MultiAccountBrokerManager()
    return _manager


def get_monitoring_system() -> Monitor:
    """The alert monitor of the module-level manager (the default config), which every
    refresh of that manager feeds: `observe(portfolio)`, `add_handler(fn)`, `active_alerts()`.
    Created on first use; the config is read when it is first fed or asked."""
    return get_manager().monitor
