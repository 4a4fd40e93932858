"""The Python API of DESIGN.md §7: every method the seeds name, with their return shapes."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import write


def test_import_does_nothing_heavy() -> None:
    code = (
        "import sys, nija_balances\n"
        "from nija_balances import MultiAccountBrokerManager, BrokerType\n"
        "assert 'ccxt' not in sys.modules, 'ccxt imported'\n"
        "assert 'nija_balances.engine.collect' not in sys.modules\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


def test_get_all_balances_has_platform_and_master_alias() -> None:
    from nija_balances import MultiAccountBrokerManager

    balances = MultiAccountBrokerManager(demo=True).get_all_balances()
    assert balances["platform"] == {"coinbase": 1234.56, "kraken": 5678.90}
    assert balances["master"] is balances["platform"]
    assert balances["users"] == {
        "alice": {"coinbase": 250.00, "kraken": 750.00},
        "bob": {"kraken": 2500.00},
    }


def test_user_balance_summary_sorted_highest_first() -> None:
    from nija_balances import MultiAccountBrokerManager

    summary = MultiAccountBrokerManager(demo=True).get_user_balance_summary()
    assert summary == {
        "user_count": 2,
        "total_capital": 3500.00,
        "average_balance": 1750.00,
        "users": [
            {"user_id": "bob", "total": 2500.00, "brokers": {"kraken": 2500.00}},
            {
                "user_id": "alice",
                "total": 1000.00,
                "brokers": {"coinbase": 250.00, "kraken": 750.00},
            },
        ],
    }


def test_get_user_balance_by_broker_type_and_string() -> None:
    from nija_balances import BrokerType, MultiAccountBrokerManager

    manager = MultiAccountBrokerManager(demo=True)
    assert manager.get_user_balance("alice", BrokerType.COINBASE) == 250.00
    assert manager.get_user_balance("alice", "kraken") == 750.00
    assert manager.get_user_balance("bob", BrokerType.COINBASE) == 0.0
    with pytest.raises(KeyError, match="known users: alice, bob"):
        manager.get_user_balance("carol", BrokerType.KRAKEN)


def test_broker_type_has_the_seeds_brokers() -> None:
    from nija_balances import BrokerType

    for name in ("COINBASE", "KRAKEN", "BINANCE", "OKX", "ALPACA", "INTERACTIVE_BROKERS",
                 "TD_AMERITRADE", "TRADIER"):  # fmt: skip
        assert BrokerType[name].value == name.lower()


def test_status_report_is_the_show_report() -> None:
    from nija_balances import MultiAccountBrokerManager

    report = MultiAccountBrokerManager(demo=True).get_status_report()
    assert "🔷 PLATFORM ACCOUNT (Nija System)" in report
    assert "   Total User Capital:   $3,500.00" in report
    assert "   Average per User:     $1,750.00" in report


def test_log_all_balances_logs_the_report(caplog: pytest.LogCaptureFixture) -> None:
    from nija_balances import MultiAccountBrokerManager

    with caplog.at_level(logging.INFO, logger="nija_balances"):
        MultiAccountBrokerManager(demo=True).log_all_balances()
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "SUBTOTAL                            $1,000.00" in text


def test_with_status_shows_why_a_balance_is_zero(tmp_path: Path) -> None:
    from nija_balances import MultiAccountBrokerManager

    cfg = write(
        tmp_path / "c.toml",
        "[users.alice.kraken]\n[users.bob]\nenabled = false\n[users.bob.x]\nexchange='paper'\n",
    )
    data = MultiAccountBrokerManager(cfg).get_all_balances_with_status()
    kraken = data["users"]["alice"]["connections"]["kraken"]
    assert kraken["status"] == "no_credentials" and kraken["balance"] == 0.0
    assert "KRAKEN_USER_ALICE_API_KEY" in kraken["error"]
    assert data["users"]["bob"]["enabled"] is False
    assert data["users"]["bob"]["connections"]["x"]["status"] == "disabled"
    assert (data["complete"], data["connections_total"], data["connections_counted"]) == (
        False,
        1,
        0,
    )


def test_module_level_manager_is_created_on_first_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nija_balances
    from nija_balances import api

    monkeypatch.setattr(api, "_manager", None)
    cfg = write(tmp_path / "c.toml", "[users.a.p]\nexchange='paper'\nbalances={USD=7}\n")
    monkeypatch.setenv("NIJA_CONFIG", str(cfg))
    manager = nija_balances.multi_account_broker_manager
    assert manager is nija_balances.multi_account_broker_manager
    assert manager.get_all_balances()["users"] == {"a": {"p": 7.0}}


async def test_sync_api_works_inside_a_running_event_loop() -> None:
    from nija_balances import MultiAccountBrokerManager

    manager = MultiAccountBrokerManager(demo=True)
    assert manager.get_user_balance_summary()["total_capital"] == 3500.0
    portfolio = await manager.refresh_async()
    assert portfolio.summary.user_count == 2


def test_clear_balance_cache_forgets_cached_balances() -> None:
    from decimal import Decimal

    from nija_balances import MultiAccountBrokerManager
    from nija_balances.domain.models import StoredResult, Valuation
    from nija_balances.store.sqlite import SqliteStore

    store = SqliteStore()
    result = StoredResult("kraken", Valuation(Decimal("1.00"), Decimal("1.00"), ()), 1.0)
    store.put("ns", "alice/kraken", result)
    store.put("ns", "bob/kraken", result)
    assert MultiAccountBrokerManager(demo=True).clear_balance_cache() == 2
    assert store.get("ns", "alice/kraken") is None


def test_the_managers_monitor_alerts_once_over_the_store_and_never_for_incomplete_totals(
    tmp_path: Path,
) -> None:
    from nija_balances import MultiAccountBrokerManager
    from nija_balances.domain.alerts import AlertKind

    def manager(usd: str, extra: str = "") -> MultiAccountBrokerManager:
        cfg = write(
            tmp_path / "m.toml",
            "[alerts]\nlow_balance = 50\n"
            f"[users.a.p]\nexchange='paper'\nbalances={{USD={usd}}}\n{extra}",
        )
        return MultiAccountBrokerManager(cfg)

    # a connection without credentials makes the total incomplete: no alert, however low
    incomplete = manager("1", "[users.a.kraken]\n")
    incomplete.get_all_balances()
    assert incomplete.monitor.active_alerts() == []
    seen: list[str] = []
    low = manager("40")
    low.monitor.add_handler(
        lambda alert: seen.append(f"{alert.kind} {alert.account} {alert.state}")
    )
    low.get_all_balances()
    low.get_all_balances()  # still low: not sent again (until repeat_after)
    assert seen == ["BALANCE_LOW a firing"]
    again = manager("40")  # another process, the same store: it knows the alert is active
    again.monitor.add_handler(lambda alert: seen.append("again"))
    again.get_all_balances()
    assert seen == ["BALANCE_LOW a firing"]
    (alert,) = again.monitor.active_alerts()
    assert (alert.kind, alert.account, alert.sent_count) == (AlertKind.BALANCE_LOW, "a", 1)
    assert alert.message == "a: balance 40.00 USD is below 50.00 USD"
    assert manager("52").monitor.observe(manager("52").refresh()) == []  # inside the hysteresis
    resolved = manager("60")
    resolved.get_all_balances()
    assert resolved.monitor.active_alerts() == []
    (done,) = resolved.monitor.recent_alerts()
    assert done.message == "a: balance 60.00 USD is back above 50.00 USD"


def test_get_monitoring_system_is_a_singleton() -> None:
    from nija_balances import get_monitoring_system

    assert get_monitoring_system() is get_monitoring_system()
