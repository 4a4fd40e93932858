"""Balance alerts: BALANCE_LOW and BALANCE_DROP over each refreshed portfolio.

The monitor is fed every portfolio the API collects (and can be fed by hand with
`observe`). It compares each account's total with the previous one and with a floor, and
calls its handlers with an `Alert`; the default handler logs a warning.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from nija_balances.domain.models import AccountReport, Portfolio, to_cents

log = logging.getLogger("nija_balances.monitoring.monitor")


class AlertType(StrEnum):
    BALANCE_LOW = "BALANCE_LOW"
    BALANCE_DROP = "BALANCE_DROP"


@dataclass(frozen=True)
class Alert:
    """One alert about one account (`platform` or a user id)."""

    type: AlertType
    account: str
    balance: Decimal
    previous: Decimal | None
    message: str


AlertHandler = Callable[[Alert], None]


def _log_alert(alert: Alert) -> None:
    log.warning("%s %s: %s", alert.type.value, alert.account, alert.message)


class BalanceMonitor:
    """Tracks each account's total between observations and raises alerts.

    `low_balance`: alert when an account's total is below this (None: off).
    `drop_percent`: alert when a total fell by at least this percent since the last
    observation. An account whose total is incomplete (a connection not counted) is not
    compared, so a failed fetch never looks like a loss.
    """

    def __init__(self, low_balance: Decimal | float | None = None, drop_percent: float = 10.0):
        self.low_balance = None if low_balance is None else Decimal(str(low_balance))
        self.drop_percent = Decimal(str(drop_percent))
        self._previous: dict[str, Decimal] = {}
        self._handlers: list[AlertHandler] = [_log_alert]
        self.history: list[Alert] = []

    def configure(
        self, *, low_balance: Decimal | float | None = None, drop_percent: float | None = None
    ) -> None:
        if low_balance is not None:
            self.low_balance = Decimal(str(low_balance))
        if drop_percent is not None:
            self.drop_percent = Decimal(str(drop_percent))

    def add_handler(self, handler: AlertHandler) -> None:
        """Call `handler(alert)` for every alert (e.g. post to a chat)."""
        self._handlers.append(handler)

    def observe(self, portfolio: Portfolio) -> list[Alert]:
        """Compare this portfolio with the last one; return (and dispatch) the alerts."""
        alerts: list[Alert] = []
        for account in portfolio.accounts:
            if not account.enabled or not account.connections or not account.complete:
                continue
            alerts += self._check(account, portfolio.quote)
            self._previous[account.id] = account.total
        for alert in alerts:
            self.history.append(alert)
            for handler in self._handlers:
                handler(alert)
        return alerts

    def _check(self, account: AccountReport, quote: str) -> list[Alert]:
        found: list[Alert] = []
        total, previous = account.total, self._previous.get(account.id)
        if self.low_balance is not None and total < self.low_balance:
            found.append(
                Alert(
                    AlertType.BALANCE_LOW,
                    account.id,
                    total,
                    previous,
                    f"balance {to_cents(total):,} {quote} is below {self.low_balance:,} {quote}",
                )
            )
        if previous is not None and previous > 0:
            drop = (previous - total) / previous * 100
            if drop >= self.drop_percent:
                found.append(
                    Alert(
                        AlertType.BALANCE_DROP,
                        account.id,
                        total,
                        previous,
                        f"balance fell {drop:.1f}% from {to_cents(previous):,} "
                        f"to {to_cents(total):,} {quote}",
                    )
                )
        return found


_monitor: BalanceMonitor | None = None


def get_monitoring_system() -> BalanceMonitor:
    """The process-wide monitor, created on first use."""
    global _monitor
    if _monitor is None:
        _monitor = BalanceMonitor()
    return _monitor
