"""Connection reports: a blank one for a connection, and one built from a stored result."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from nija_balances.domain.models import (
    Basis,
    Config,
    ConnectionConfig,
    ConnectionReport,
    Status,
    StoredResult,
    Valuation,
)


def blank_report(conn: ConnectionConfig, kind: str) -> ConnectionReport:
    return ConnectionReport(
        account=conn.account,
        account_kind="platform" if kind == "platform" else "user",
        connection=conn.name,
        exchange=conn.exchange,
        status=Status.ERROR,
    )


def from_stored(
    blank: ConnectionReport,
    stored: StoredResult,
    status: Status,
    now: float,
    config: Config,
    error: str | None = None,
) -> ConnectionReport:
    """The report of a connection served from its stored good value."""
    valuation, fetched_at = stored.valuation, stored.fetched_at
    assert valuation is not None and fetched_at is not None, "only good values are shown"
    return replace(
        blank,
        status=status,
        balance=pick_basis(valuation, config.settings.basis),
        cash=valuation.cash,
        equity=valuation.equity,
        fetched_at=datetime.fromtimestamp(fetched_at, UTC),
        age_s=max(0.0, now - fetched_at),
        latency_s=stored.latency_s,
        error=error,
        assets=valuation.assets,
        unpriced=valuation.unpriced,
    )


def remembered_failure(
    blank: ConnectionReport, stored: StoredResult, now: float
) -> ConnectionReport:
    """The report of a connection that has no good value and whose last attempt failed: that
    failure, with its age in `age_s`, until the connection is tried again."""
    return replace(
        blank,
        status=stored.failure_status or Status.ERROR,
        age_s=max(0.0, now - (stored.failed_at or now)),
        error=f"{stored.failure} (from the last try; --refresh tries again now)",
    )


def pick_basis(valuation: Valuation, basis: Basis) -> Any:
    return valuation.cash if basis == "cash" else valuation.equity
