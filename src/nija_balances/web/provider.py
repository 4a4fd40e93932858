"""The one place the dashboard gets its P&L, trades, flows and alerts: `provide`.

It returns the documents of `nija pnl --json`, `nija trades --json` and `nija alerts --json`
(DESIGN §10, §11), built by the same code as the CLI's from the same store; the cards,
`/api/users`, `/api/pnl` and `/api/alerts` read nothing else, so their numbers are the
CLI's by construction. It runs once per refresh, in a worker thread, never per request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from nija_balances.domain.models import Config, Portfolio
from nija_balances.engine.figures import load_figures, newest_first
from nija_balances.render.pnl import pnl_document
from nija_balances.render.trades import flows_document, trades_document
from nija_balances.web.recent import RecentSnapshots

if TYPE_CHECKING:
    from nija_balances.app import Session


@dataclass(frozen=True)
class Provided:
    """The documents, in the shapes of the CLI's `--json`."""

    pnl: dict[str, Any]  # `nija pnl --json`
    trades: dict[str, Any]  # `nija trades --json`: fills newest first
    flows: dict[str, Any]  # the same for deposits and withdrawals: `{"flows": [flow...]}`
    alerts: dict[str, Any]  # `nija alerts --json`


def provide(
    session: Session,
    config: Config,
    portfolio: Portfolio,
    now: datetime,
    recent: RecentSnapshots,
) -> Provided:
    """The P&L, trades, flows and alerts documents of `config`'s accounts at `now`."""
    session.prepare_history(config)
    figures = load_figures(config, session.store, now=now)
    rows = newest_first(t for a in figures.accounts for t in a.trades)
    trades = trades_document(rows, quote=figures.quote, now=now)
    alerts = _alerts(session, portfolio)
    return Provided(pnl_document(figures), trades, flows_document(figures), alerts)


def _alerts(session: Session, portfolio: Portfolio) -> dict[str, Any]:
    """Evaluate the alert rules on this refresh's portfolio, as `nija monitor` does (state in
    the store: several monitors and the dashboard never send one alert twice), and the
    `nija alerts --json` document."""
    from nija_balances.monitoring.monitor import Monitor
    from nija_balances.render.alerts import alerts_document

    monitor = Monitor(session)
    monitor.observe(portfolio)
    return alerts_document(monitor.active_alerts(), monitor.recent_alerts(), monitor.sink_reports())
