"""The one place the dashboard gets its P&L, trades and alerts: `provide`.

It returns the documents of `nija pnl --json`, `nija trades --json` and `nija alerts --json`
(DESIGN §10, §11); the cards, `/api/users`, `/api/pnl` and `/api/alerts` read nothing else,
so their numbers are the CLI's by construction. It runs once per refresh, in a worker
thread (the store is thread-safe), never per request.

What it can know today: the store holds snapshots but no trades or flows yet, so the P&L is
`domain.pnl.connection_pnl` over each connection's recent snapshots with both histories
marked incomplete: every figure that needs them is None (never zero) and says why. The alerts are
those the process's monitor (the seeds' `get_monitoring_system()`) raised at this refresh;
the monitor keeps no state in the store yet, so the document says it is incomplete.

To wire the P&L and alerts engines, replace the body of `provide` (nothing else changes;
`recent` may then go unused):
    figures = <the P&L model of config's accounts from session.store, at now>
    pnl, trades = <nija pnl --json document>(figures), <nija trades --json document>(figures)
    flows = {"flows": [each stored flow, newest first: "time", "account", "connection",
             "exchange", "id", "kind", "currency", "amount", "fee", "value"], ...}
    alerts = <nija alerts --json document>(<the monitor over session.store>)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, Any

from nija_balances.domain.models import AccountConfig, Config, Portfolio
from nija_balances.domain.pnl import PnL, combine, connection_pnl
from nija_balances.domain.valuation import cash_currencies
from nija_balances.render.json_doc import SCHEMA_VERSION, cents, utc_iso
from nija_balances.web.recent import RecentSnapshots

if TYPE_CHECKING:
    from nija_balances.app import Session

MONEY = ("balance", "daily_pnl", "total_pnl", "realized", "unrealized", "fees", "net_flow",
         "unexplained")  # fmt: skip
COUNTS = ("total_trades", "fills", "wins", "losses", "draws")


@dataclass(frozen=True)
class Provided:
    """The three documents, in the shapes of the CLI's `--json`."""

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
    """The P&L, trades and alerts documents of `config`'s accounts at `now` (the seam).

    `recent` holds, up to date, the last snapshot of each hour of the last week per
    connection (what the dashboard keeps in memory); `session.store` holds everything."""
    quote = config.settings.quote
    accounts = [a for a in (config.platform, *config.users) if a.enabled and a.connections]
    # Until trades and flows are stored, every figure but the balance is None whatever the
    # span, so the week in memory is enough (the last snapshot, yesterday's close) and a
    # refresh of a large fleet reads nothing more. The engine reads the tracked span.
    snapshots = {c.key: recent.snapshots(c.key) for a in accounts for c in a.connections}
    cash = cash_currencies(config.settings)

    def figures(account: AccountConfig) -> dict[str, Any]:
        parts = {
            c.name: connection_pnl(
                snapshots.get(c.key, ()),
                (),
                (),
                now=now,
                tz=UTC,
                cash=cash,
                trades_complete=False,  # no trade history in the store yet (`nija sync`)
                flows_complete=False,
            )
            for c in account.connections
        }
        return {
            **pnl_fields(combine(parts)),
            "connections": {name: pnl_fields(p) for name, p in parts.items()},
        }

    stamp = utc_iso(now)
    pnl = {
        "schema_version": SCHEMA_VERSION,
        "timestamp": stamp,
        "quote": quote,
        "timezone": "UTC",
        "users": {u.id: figures(u) for u in config.users if u.enabled},
        "platform": figures(config.platform)
        if accounts and accounts[0] is config.platform
        else None,
    }
    head = {"schema_version": SCHEMA_VERSION, "timestamp": stamp, "quote": quote}
    trades = {
        **head,
        "trades": [],
        "complete": False,
        "incomplete_reasons": ["no trade history in the store yet (nija sync)"],
    }
    flows = {
        **head,
        "flows": [],
        "complete": False,
        "incomplete_reasons": ["no deposit or withdrawal history in the store yet"],
    }
    return Provided(pnl, trades, flows, _alerts(portfolio, stamp))


def pnl_fields(pnl: PnL) -> dict[str, Any]:
    """One account's or connection's figures as in `nija pnl --json` (null where unknown)."""
    doc: dict[str, Any] = {}
    for name in MONEY:
        amount: Decimal | None = getattr(pnl, name)
        doc[name] = None if amount is None else cents(amount)
    for name in COUNTS:
        doc[name] = getattr(pnl, name)
    rate = pnl.win_rate
    doc["win_rate"] = (
        None if rate is None else float(rate.quantize(Decimal("0.0001"), ROUND_HALF_EVEN))
    )
    doc["complete"] = pnl.complete
    doc["incomplete_reasons"] = list(pnl.incomplete_reasons)
    return doc


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
