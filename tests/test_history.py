"""`nija history` and `get_history`: equity per user over time from stored snapshots."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from conftest import write
from nija_balances import MultiAccountBrokerManager
from nija_balances.cli.root import app
from nija_balances.config.credentials import resolve
from nija_balances.config.loader import load_toml
from nija_balances.domain.history import Snapshot
from nija_balances.domain.series import bucket_start
from nija_balances.engine.planning import account_hash
from nija_balances.render.sparkline import BLOCKS
from nija_balances.store.sqlite import SqliteStore

CONFIG = "[platform.kraken]\n[users.alice.kraken]\n[users.alice.coinbase]\n[users.bob.kraken]\n"
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


def snap(moment: datetime, equity: str) -> Snapshot:
    return Snapshot(moment, Decimal(equity), Decimal(equity))


@pytest.fixture
def config(tmp_path: Path) -> tuple[Path, datetime]:
    """alice: kraken in three hours, coinbase in the first and last (the middle incomplete)."""
    path = write(tmp_path / "config.toml", CONFIG)
    h = bucket_start(datetime.fromtimestamp(time.time(), UTC), HOUR)
    a, b = owner(path, "alice/kraken"), owner(path, "alice/coinbase")
    with SqliteStore() as store:
        store.put_snapshots(
            load_toml(path).namespace,
            [
                ("alice/kraken", a, snap(h - 2 * HOUR + timedelta(minutes=1), "10.004")),
                ("alice/kraken", a, snap(h - HOUR + timedelta(minutes=1), "11")),
                ("alice/kraken", a, snap(h, "12.50")),
                ("alice/coinbase", b, snap(h - 2 * HOUR + timedelta(minutes=2), "5")),
                ("alice/coinbase", b, snap(h, "6.25")),
                ("alice/kraken", a, snap(h - 30 * HOUR, "99")),  # before --since 24h
                # the same connection read with another key: another account's history
                ("alice/kraken", "another-account", snap(h - HOUR + 30 * MINUTE, "1000000")),
            ],
        )
    return path, h


def owner(path: Path, key: str) -> str:
    """The account hash the connection `key` of the config at `path` reads now."""
    config = load_toml(path)
    conn = next(c for a in config.accounts for c in a.connections if c.key == key)
    return account_hash(conn, resolve(conn))


def run(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def test_json_sums_each_users_connections_per_bucket(config: tuple[Path, datetime]) -> None:
    path, h = config
    result = run("history", "--json", "--since", "24h", "--every", "1h", "--config", str(path))
    assert result.exit_code == 0, result.output

    doc = json.loads(result.stdout)
    assert doc["schema_version"] == 1 and doc["quote"] == "USD" and "timestamp" in doc
    assert doc["users"] == {
        "alice": [
            {"time": iso(h - 2 * HOUR), "equity": 15.0, "complete": True},
            {"time": iso(h - HOUR), "equity": 11.0, "complete": False},  # coinbase missing
            {"time": iso(h), "equity": 18.75, "complete": True},
        ],
        "bob": [],  # no snapshot at all: no points, never zeros
    }
    assert doc["platform"] == []


def test_user_and_broker_narrow_it(config: tuple[Path, datetime]) -> None:
    path, _ = config
    args = ("--json", "--since", "24h", "--every", "1h", "--config", str(path))

    only = json.loads(run("history", "--user", "alice", "--broker", "kraken", *args).stdout)
    assert list(only["users"]) == ["alice"]
    assert [p["equity"] for p in only["users"]["alice"]] == [10.0, 11.0, 12.5]
    assert all(p["complete"] for p in only["users"]["alice"])


def test_csv_has_a_header_and_exact_cents(config: tuple[Path, datetime]) -> None:
    path, h = config
    result = run("history", "--csv", "--since", "24h", "--every", "1h", "--config", str(path))
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["account", "time", "equity", "complete"]
    assert rows[1:] == [
        ["alice", iso(h - 2 * HOUR), "15.00", "true"],
        ["alice", iso(h - HOUR), "11.00", "false"],
        ["alice", iso(h), "18.75", "true"],
    ]


def test_the_table_has_a_sparkline_and_the_coverage(config: tuple[Path, datetime]) -> None:
    path, _ = config
    result = run("history", "--since", "24h", "--every", "1h", "--config", str(path))
    assert result.exit_code == 0, result.output
    alice = next(line for line in result.stdout.splitlines() if line.startswith("alice"))
    assert "$15.00" in alice and "$18.75" in alice and "2/3" in alice
    assert BLOCKS[0] in alice and BLOCKS[-1] in alice
    bob = next(line for line in result.stdout.splitlines() if line.startswith("bob"))
    assert "no snapshots" in bob and "$0.00" not in bob


@pytest.mark.parametrize("bad", ["7", "7w", "0d", "-1h", "soon"])
def test_a_bad_span_exits_2_with_a_clear_message(config: tuple[Path, datetime], bad: str) -> None:
    path, _ = config
    result = run("history", "--since", bad, "--config", str(path))
    assert result.exit_code == 2
    assert "--since" in result.stderr and "7d, 24h, 30m" in result.stderr
    result = run("history", "--every", bad, "--config", str(path))
    assert result.exit_code == 2 and "--every" in result.stderr


def test_get_history_returns_the_points_of_history_json(config: tuple[Path, datetime]) -> None:
    path, _ = config

    doc = json.loads(run("history", "--json", "--since", "24h", "--config", str(path)).stdout)
    manager = MultiAccountBrokerManager(path)
    assert manager.get_history("alice", since="24h") == doc["users"]["alice"]
    assert manager.get_history("alice", since=timedelta(hours=24)) == doc["users"]["alice"]
    assert manager.get_history("bob") == []
    with pytest.raises(KeyError):
        manager.get_history("nobody")
    with pytest.raises(ValueError):
        manager.get_history("alice", since="1 week")
