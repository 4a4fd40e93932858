"""What one refresh shows: the `View`, every document the dashboard serves, made once.

A View is built after each refresh, in a worker thread, from the Portfolio, the store's
history and the provider's documents (`web.provider`); requests only read the latest one, so
they cost a lookup and a copy of bytes already encoded. Nothing here is computed twice: the
documents are the CLI's (`render.json_doc`, `render.history`), the cards are made from them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from nija_balances.domain.models import AccountReport, Config, ConnectionReport, Portfolio
from nija_balances.domain.series import Point, default_every
from nija_balances.render.history import history_document
from nija_balances.render.json_doc import SCHEMA_VERSION, cents, document, status_document, utc_iso
from nija_balances.web.provider import Provided, provide
from nija_balances.web.recent import RecentSnapshots

if TYPE_CHECKING:
    from nija_balances.app import Session

#: The span of the cards' sparklines and the user page's chart, in hourly buckets.
SPARK_SPAN = timedelta(days=7)
SPARK_EVERY = timedelta(hours=1)
#: `/api/history` by default: `nija history --json`'s defaults.
HISTORY_SPAN = timedelta(days=7)
RECENT_TRADES = 10
TRADE_FIELDS = ("time", "connection", "symbol", "side", "amount", "price", "cost", "fee",
                "realized_pnl")  # fmt: skip
#: The names of the documents, as served under `/api/<name>`.
DOCUMENTS = ("users", "portfolio", "status", "history", "pnl", "alerts")


@dataclass(frozen=True)
class View:
    """Everything the pages and the API show after one refresh."""

    generation: int  # 1, 2, ...: changes with each refresh (the pages' ETag)
    config: Config
    portfolio: Portfolio
    documents: Mapping[str, dict[str, Any]]
    series: Mapping[str, tuple[Point, ...]]  # account id ("platform" too) -> equity points
    trades: Mapping[str, list[dict[str, Any]]]  # account id -> its fills, newest first
    flows: Mapping[str, list[dict[str, Any]]]  # account id -> its deposits and withdrawals
    alerts: Mapping[str, list[dict[str, Any]]]  # account id -> its active and recent alerts
    encoded: Mapping[str, bytes] = field(default_factory=dict)

    @property
    def cards(self) -> list[dict[str, Any]]:
        cards: list[dict[str, Any]] = self.documents["users"]["users"]
        return cards

    def card(self, user_id: str) -> dict[str, Any] | None:
        return next((c for c in self.cards if c["user_id"] == user_id), None)

    def reports(self, account_id: str) -> tuple[ConnectionReport, ...]:
        p = self.portfolio
        account = p.platform if account_id == p.platform.id else p.user(account_id)
        return () if account is None else account.connections


def build_view(
    session: Session,
    config: Config,
    portfolio: Portfolio,
    *,
    now: datetime,
    generation: int,
    recent: RecentSnapshots,
) -> View:
    """The View of `portfolio` (refreshed from `config`) at `now` (aware UTC); `recent`
    is brought up to date with the store and gives the equity series."""
    recent.update(config, session.store, now)
    provided = provide(session, config, portfolio, now, recent)
    spark = recent.history(config, now=now, since=SPARK_SPAN, every=SPARK_EVERY)
    history = recent.history(config, now=now, since=HISTORY_SPAN, every=default_every(HISTORY_SPAN))
    trades = by_account(provided.trades.get("trades", []))
    flows = by_account(provided.flows.get("flows", []))
    alerts = by_account([*provided.alerts.get("active", []), *provided.alerts.get("recent", [])])
    documents = {
        "users": users_document(portfolio, provided, trades),
        "portfolio": document(portfolio),
        "status": status_document(portfolio),
        "history": history_document(history),
        "pnl": provided.pnl,
        "alerts": provided.alerts,
    }
    encoded = {name: encode(doc) for name, doc in documents.items()}
    series = {"platform": spark.platform, **spark.users}
    return View(generation, config, portfolio, documents, series, trades, flows, alerts, encoded)


def by_account(items: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Records (fills, flows, alerts) per their `account`, in their order."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        grouped.setdefault(str(item.get("account")), []).append(item)
    return grouped


def encode(doc: Mapping[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


def users_document(
    portfolio: Portfolio, provided: Provided, trades: Mapping[str, list[dict[str, Any]]]
) -> dict[str, Any]:
    """`/api/users`: a card per user, highest balance first (config order on a tie)."""
    entries: dict[str, Any] = provided.pnl.get("users") or {}
    cards = [card(u, entries.get(u.id), trades.get(u.id, [])) for u in portfolio.users]
    cards.sort(key=lambda c: -c["balance"])
    return {
        "schema_version": SCHEMA_VERSION,
        "timestamp": utc_iso(portfolio.generated_at, "microseconds"),
        "demo": portfolio.demo,
        "quote": portfolio.quote,
        "users": cards,
    }


def card(
    account: AccountReport, pnl: Mapping[str, Any] | None, trades: list[dict[str, Any]]
) -> dict[str, Any]:
    """One user's card (DESIGN §12): the balance of `nija show`, the figures of `nija pnl`
    (null where unknown, never zero), the newest fills of `nija trades`."""
    figures = pnl or {}
    return {
        "user_id": account.id,
        "name": account.name,
        "enabled": account.enabled,
        "balance": cents(account.total),
        "total_trades": figures.get("total_trades"),
        "win_rate": figures.get("win_rate"),
        "wins": figures.get("wins"),
        "losses": figures.get("losses"),
        "draws": figures.get("draws"),
        "daily_pnl": figures.get("daily_pnl"),
        "total_pnl": figures.get("total_pnl"),
        "complete": account.complete,
        "connections_counted": sum(1 for c in account.connections if c.counted),
        "connections_total": len(account.connections),
        "connections": [
            {
                "connection": c.connection,
                "exchange": c.exchange,
                "status": c.status.value,
                "balance": cents(c.balance) if c.counted else None,
            }
            for c in account.connections
        ],
        "recent_trades": [
            {name: t.get(name) for name in TRADE_FIELDS} for t in trades[:RECENT_TRADES]
        ],
    }
