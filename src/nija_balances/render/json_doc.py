"""The JSON documents: `nija show --json`, and those of `nija status --json` and `nija user --json`.

Every document starts with `schema_version` (1: these keys; a key removed or changed in
meaning raises it, a key added does not). Every time is UTC, ISO 8601 with its offset:
`timestamp` (when the report was made) and each connection's `fetched_at` (when its value
was fetched) come from the same clock.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
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

SCHEMA_VERSION = 1


def utc_iso(moment: datetime, timespec: str = "seconds") -> str:
    """`2026-01-21T16:00:00+00:00`: UTC with its offset (a naive time is taken as local)."""
    return moment.astimezone(UTC).isoformat(timespec=timespec)


def cents(amount: Decimal) -> float:
    """Money as a JSON number rounded to cents (never `-0.0`)."""
    return float(to_cents(amount)) + 0.0


def amount_number(amount: Decimal) -> float | None:
    """An asset amount or price; null when no JSON number can hold it (NaN, beyond float)."""
    number = float(amount)
    return number if math.isfinite(number) else None


def asset_dict(asset: AssetValue, *, held: bool = False) -> dict[str, Any]:
    """One asset; with `held`, the amount in orders is also under the table's word `held`
    (before `used`, the seeds' and ccxt's word, kept as an alias)."""
    return {
        "currency": asset.currency,
        "free": amount_number(asset.free),
        **({"held": amount_number(asset.used)} if held else {}),
        "used": amount_number(asset.used),
        "total": amount_number(asset.total),
        "price": None if asset.price is None else amount_number(asset.price),  # null: unpriced
        "value": None if asset.value is None else cents(asset.value),
    }


def connection_dict(report: ConnectionReport, *, held: bool = False) -> dict[str, Any]:
    return {
        "account": report.account,
        "connection": report.connection,
        "exchange": report.exchange,
        "status": report.status.value,
        "balance": cents(report.balance) if report.counted else 0.0,
        "cash": cents(report.cash) if report.counted else 0.0,
        "equity": cents(report.equity) if report.counted else 0.0,
        "fetched_at": None if report.fetched_at is None else utc_iso(report.fetched_at),
        "age_s": None if report.age_s is None else round(report.age_s, 1),
        "error": report.error,
        "assets": [asset_dict(a, held=held) for a in report.assets],
        "unpriced": list(report.unpriced),
    }


def document(portfolio: Portfolio) -> dict[str, Any]:
    """The `nija show --json` document: the seeds' keys plus coverage and connections."""
    s = portfolio.summary

    def balances(connections: tuple[ConnectionReport, ...]) -> dict[str, float]:
        return {c.connection: cents(c.balance) if c.counted else 0.0 for c in connections}

    return {
        "schema_version": SCHEMA_VERSION,
        "timestamp": utc_iso(portfolio.generated_at, "microseconds"),
        "demo": portfolio.demo,  # true: the built-in demo's simulated accounts, not real data
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
        "schema_version": SCHEMA_VERSION,
        "timestamp": utc_iso(portfolio.generated_at, "microseconds"),
        "demo": portfolio.demo,  # true: the built-in demo's simulated accounts, not real data
        "healthy": all_healthy(portfolio),
        "connections_total": portfolio.summary.connections_total,
        "connections_counted": portfolio.summary.connections_counted,
        "connections": connections,
    }


def user_document(account: AccountReport, portfolio: Portfolio) -> dict[str, Any]:
    """The `nija user ID --json` document: one account of `portfolio` with its connections."""
    return {
        "schema_version": SCHEMA_VERSION,
        "timestamp": utc_iso(portfolio.generated_at, "microseconds"),
        "demo": portfolio.demo,  # true: the built-in demo's simulated accounts, not real data
        "user_id": account.id,
        "name": account.name,
        "enabled": account.enabled,
        "total": cents(account.total),
        "connections_total": len(account.connections),
        "connections_counted": sum(1 for c in account.connections if c.counted),
        "complete": account.complete,
        "basis": portfolio.basis,
        "quote": portfolio.quote,
        "connections": [connection_dict(c, held=True) for c in account.connections],
    }


def dumps(data: dict[str, Any], *, ascii_only: bool = False) -> str:
    """The document as JSON text; `ascii_only` escapes what is not ASCII (`\\u00eb`), for
    output that cannot encode it (see `stdout_ascii_only`)."""
    return json.dumps(data, indent=2, ensure_ascii=ascii_only)


def stdout_ascii_only() -> bool:
    """Whether stdout cannot carry Unicode (`PYTHONIOENCODING=ascii`, a C locale without
    Python's UTF-8 mode)."""
    import sys

    encoding = (getattr(sys.stdout, "encoding", None) or "utf-8").lower()
    return not encoding.startswith("utf")
