"""A stored value belongs to the exchange account it was read from, and to a sane clock.

Through ccxt to the mock exchanges, Kraken and Coinbase:
- key switch: alice's connection is moved from key A (a rich account) to key B; the old
  account's money is never shown as hers, neither `cached` nor `stale`;
- skewed clock: a value stored while the clock was a day ahead is not served as fresh, and a
  fetch made now replaces it;
- a connection that never worked is not asked again within the TTL, and a rejected key is
  left alone longer than the TTL (until `--refresh`).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from nija_balances.config.loader import load_toml
from nija_balances.domain.models import StoredResult
from nija_balances.store.sqlite import SqliteStore
from reliability.harness import Conn, MockThread, Setup, env_names, nija

pytestmark = pytest.mark.network_mock

EXCHANGES = ("kraken", "coinbase")
RICH = {"USD": ("100000", "0")}
POOR = {"USD": ("5", "0")}


def alice(doc: dict[str, Any]) -> dict[str, Any]:
    found = [c for c in doc["connections"] if c["account"] == "alice"]
    assert len(found) == 1
    return found[0]


def switch_key(setup: Setup, conn: Conn, to: Conn) -> None:
    """Point `conn`'s environment variables at the credentials of `to`."""
    key_var, secret_var, pass_var = env_names(conn.exchange, conn.account)
    setup.monkeypatch.setenv(key_var, to.api_key)
    setup.monkeypatch.setenv(secret_var, to.creds.api_secret or "")
    if to.creds.api_passphrase:
        setup.monkeypatch.setenv(pass_var, to.creds.api_passphrase)


@pytest.mark.parametrize("exchange", EXCHANGES)
def test_a_changed_key_never_serves_the_old_accounts_money(
    setup: Setup, mocks: MockThread, exchange: str
) -> None:
    mock = mocks.start(exchange)
    old = setup.add("alice", mock, RICH)
    new = setup.add("carol", mock, POOR, env=False)  # another account on the same exchange
    setup.conns.remove(new)
    config = str(setup.write())

    first = nija("show", "--json", "--config", config)
    assert (alice(first.json())["status"], alice(first.json())["balance"]) == ("ok", 100000.0)

    switch_key(setup, old, new)
    served = alice(nija("show", "--json", "--config", config).json())
    assert (served["status"], served["balance"]) == ("ok", 5.0)  # fetched, not `cached 100000`

    # and when the new key is rejected, the old account's money is not her `stale` value
    switch_key(setup, old, old)
    nija("show", "--json", "--config", config)  # the rich account is stored again
    switch_key(setup, old, new)
    new.inject("auth")
    failed = nija("show", "--json", "--refresh", "--config", config).json()
    assert alice(failed)["status"] == "auth_failed"
    assert alice(failed)["balance"] == 0.0 and failed["summary"]["complete"] is False
    assert failed["summary"]["total_user_capital"] == 0.0
    assert "100000" not in str(alice(failed))


@pytest.mark.parametrize("exchange", EXCHANGES)
def test_a_value_stored_with_the_clock_ahead_is_not_fresh_and_is_replaced(
    setup: Setup, mocks: MockThread, exchange: str, isolated_home: Path
) -> None:
    conn = setup.add("alice", mocks.start(exchange), POOR)
    config = setup.write()
    nija("show", "--json", "--config", str(config))
    ahead = time.time() + 86_400  # the clock was a day ahead when this was stored
    store = SqliteStore()
    namespace = load_toml(config).namespace
    stored = store.get(namespace, conn.key)
    assert stored is not None and stored.valuation is not None
    poisoned = StoredResult(
        stored.exchange,
        stored.valuation.__class__(
            stored.valuation.cash * 1000,
            stored.valuation.equity * 1000,
            stored.valuation.assets,
            stored.valuation.unpriced,
        ),
        ahead,
        account=stored.account,
    )
    store.put(namespace, conn.key, poisoned)
    store.close()

    shown = alice(nija("show", "--json", "--config", str(config)).json())
    assert (shown["status"], shown["balance"]) == ("ok", 5.0)  # fetched again, not `cached`
    assert shown["age_s"] == 0.0

    again = alice(nija("show", "--json", "--config", str(config)).json())
    assert (again["status"], again["balance"]) == ("cached", 5.0)  # the new value was kept
    assert again["age_s"] >= 0.0


def test_a_rejected_key_is_left_alone_longer_than_the_ttl(setup: Setup, mocks: MockThread) -> None:
    setup.settings["cache_ttl"] = 1
    mock = mocks.start("kraken")
    conn = setup.add("alice", mock, POOR)
    conn.inject("auth")
    config = str(setup.write())
    first = alice(nija("status", "--json", "--config", config).json())
    assert first["status"] == "auth_failed"
    asked = mock.count("/0/private/")
    store = SqliteStore()
    namespace = load_toml(Path(config)).namespace
    failure = store.get(namespace, conn.key)
    assert failure is not None and failure.valuation is None
    # the failure as if it were 10 minutes old: past the TTL, within the rejected-key back-off
    store.put(namespace, conn.key, _aged(failure, 600))
    store.close()
    later = alice(nija("status", "--json", "--config", config).json())
    assert later["status"] == "auth_failed" and mock.count("/0/private/") == asked
    retried = alice(nija("status", "--json", "--refresh", "--config", config).json())
    assert retried["status"] == "auth_failed" and mock.count("/0/private/") == asked + 1


def test_another_failure_is_tried_again_after_the_ttl(setup: Setup, mocks: MockThread) -> None:
    setup.settings["cache_ttl"] = 60
    mock = mocks.start("kraken")
    conn = setup.add("alice", mock, POOR)
    conn.inject("http503")
    config = str(setup.write())
    assert alice(nija("status", "--json", "--config", config).json())["status"] == "unreachable"
    asked = mock.count("/0/private/")
    assert alice(nija("status", "--json", "--config", config).json())["status"] == "unreachable"
    assert mock.count("/0/private/") == asked  # within the TTL: remembered
    store = SqliteStore()
    namespace = load_toml(Path(config)).namespace
    failure = store.get(namespace, conn.key)
    assert failure is not None
    store.put(namespace, conn.key, _aged(failure, 120))  # past the TTL
    store.close()
    conn.clear()
    healed = alice(nija("status", "--json", "--config", config).json())
    assert healed["status"] == "ok" and mock.count("/0/private/") == asked + 1


def _aged(result: StoredResult, seconds: float) -> StoredResult:
    from dataclasses import replace

    assert result.failed_at is not None
    return replace(result, failed_at=result.failed_at - seconds)
