"""The JSON document of DESIGN.md §6, and those of `nija status --json` and `nija user --json`."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

from nija_balances.domain.models import (
    AccountReport,
    AssetValue,
    ConnectionReport,
    Portfolio,
    Status,
    to_cents,
)


def cents(amount: Decimal) -> float:
    """Money as a JSON number rounded to cents."""
    return float(to_cents(amount))


def _amount(amount: Decimal) -> float | None:
    """An asset amount or price; null when no JSON number can hold it (NaN, beyond float)."""
    number = float(amount)
    return number if math.isfinite(number) else None


def asset_dict(asset: AssetValue) -> dict[str, Any]:
    return {
        "currency": asset.currency,
        "free": _amount(asset.free),
        "used": _amount(asset.used),
        "total": _amount(asset.total),
        "price": None if asset.price is None else _amount(asset.price),  # null: unpriced
        "value": None if asset.value is None else cents(asset.value),
    }


def connection_dict(report: ConnectionReport) -> dict[str, Any]:
    return {
        "account": report.account,
        "connection": report.connection,
        "exchange": report.exchange,
        "status": report.status.value,
        "balance": cents(report.balance) if report.counted else 0.0,
        "cash": cents(report.cash) if report.counted else 0.0,
        "equity": cents(report.equity) if report.counted else 0.0,
        "fetched_at": None
        if report.fetched_at is None
        else report.fetched_at.isoformat(timespec="seconds"),
        "age_s": None if report.age_s is None else round(report.age_s, 1),
        "error": report.error,
        "assets": [asset_dict(a) for a in report.assets],
        "unpriced": list(report.unpriced),
    }


def document(portfolio: Portfolio) -> dict[str, Any]:
    """The `nija show --json` document: the seeds' keys plus coverage and connections."""
    s = portfolio.summary

    def balances(connections: tuple[ConnectionReport, ...]) -> dict[str, float]:
        return {c.connection: cents(c.balance) if c.counted else 0.0 for c in connections}

    return {
        "timestamp": portfolio.generated_at.isoformat(timespec="microseconds"),
        "balances": {
            "platform": balances(portfolio.platform.connections),
            "users": {u.id: balances(u.connections) for u in portfolio.users},
        },
        "summary": {
            "platform_total": cents(s.platform_total),
            "user_totals": {user: cents(total) for user, total in s.user_totals.items()},
            "total_user_capital": cents(s.total_user_capital),
            "user_count": s.user_count,
            "average_per_user": cents(s.average_per_user),
            "connections_total": s.connections_total,
            "connections_counted": s.connections_counted,
            "complete": s.complete,
        },
        "basis": portfolio.basis,
        "quote": portfolio.quote,
        "connections": [connection_dict(c) for c in portfolio.connections],
    }


def all_healthy(portfolio: Portfolio) -> bool:
    """Every connection `ok` or `cached` (disabled users are intentional, not a failure)."""
    return all(c.status.healthy for c in portfolio.connections if c.status is not Status.DISABLED)


def status_document(portfolio: Portfolio) -> dict[str, Any]:
    """The `nija status --json` document: every connection with status, age and latency."""
    connections = []
    for report in portfolio.connections:
        connections.append(
            {
                "account": report.account,
                "connection": report.connection,
                "exchange": report.exchange,
                "status": report.status.value,
                "healthy": report.status.healthy,
                "counted": report.counted,
                "age_s": None if report.age_s is None else round(report.age_s, 1),
                "latency_s": None if report.latency_s is None else round(report.latency_s, 3),
                "error": report.error,
            }
        )
    return {
        "timestamp": portfolio.generated_at.isoformat(timespec="microseconds"),
        "healthy": all_healthy(portfolio),
        "connections_total": portfolio.summary.connections_total,
        "connections_counted": portfolio.summary.connections_counted,
        "connections": connections,
    }


def user_document(account: AccountReport, portfolio: Portfolio) -> dict[str, Any]:
    """The `nija user ID --json` document: one account of `portfolio` with its connections."""
    return {
        "user_id": account.id,
        "name": account.name,
        "enabled": account.enabled,
        "total": cents(account.total),
        "connections_total": len(account.connections),
        "connections_counted": sum(1 for c in account.connections if c.counted),
        "complete": account.complete,
        "basis": portfolio.basis,
        "quote": portfolio.quote,
        "connections": [connection_dict(c) for c in account.connections],
    }


def dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)
