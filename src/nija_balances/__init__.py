"""nija-balances: every balance a copy-trading operator runs, in one report.

    from nija_balances import MultiAccountBrokerManager, BrokerType
    manager = MultiAccountBrokerManager(demo=True)
    print(manager.get_user_balance_summary())

Names are imported lazily: importing the package costs nothing and fetches nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = [
    "BrokerType",
    "MultiAccountBrokerManager",
    "get_monitoring_system",
    "multi_account_broker_manager",
]

if TYPE_CHECKING:
    from nija_balances.api import BrokerType, MultiAccountBrokerManager, get_monitoring_system

    multi_account_broker_manager: MultiAccountBrokerManager


def __getattr__(name: str) -> Any:
    if name in ("MultiAccountBrokerManager", "BrokerType", "get_monitoring_system"):
        from nija_balances import api

        return getattr(api, name)
    if name == "multi_account_broker_manager":
        from nija_balances.api import get_manager

        return get_manager()  # created on first use, never at import
    raise AttributeError(f"module 'nija_balances' has no attribute {name!r}")
