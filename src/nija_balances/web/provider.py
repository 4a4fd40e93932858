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
from nija_balances.render.json_doc import SCHEMA_VERSION, cents, utc_iso
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
    stamp = utc_iso(now)
    return Provided(
        pnl_document(figures), trades, flows_document(figures), _alerts(portfolio, stamp)
    )


def _alerts(portfolio: Portfolio, stamp: str) -> dict[str, Any]:
    """What the process's monitor raised for this portfolio, in §11's alert shape."""
    from nija_balances.monitoring.monitor import AlertType, get_monitoring_system

    monitor = get_monitoring_system()
    raised = monitor.observe(portfolio)
    low = monitor.low_balance
    active = [
        {
            "kind": a.type.value,
            "account": a.account,
            "connection": None,
            "state": "firing",
            "since": stamp,
            "last_sent": None,
            "sent_count": 0,
            "balance": cents(a.balance),
            "threshold": None if a.type is not AlertType.BALANCE_LOW or low is None else cents(low),
            "message": a.message,
        }
        for a in raised
    ]
    return {
        "schema_version": SCHEMA_VERSION,
        "timestamp": stamp,
        "active": active,
        "recent": [],
        "complete": False,
        "incomplete_reasons": ["alert state is not stored yet: active lists what the last "
                               "refresh raised"],
    }  # fmt: skip
