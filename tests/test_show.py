"""`nija show`: the seeds' report, exactly, and the JSON document of DESIGN.md §6."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import write
from nija_balances.cli.root import app

runner = CliRunner()
ENV = {"NO_COLOR": "1", "COLUMNS": "100"}

SEED_JSON = {  # the v2 seed's JSON example, verbatim in values
    "balances": {
        "platform": {"coinbase": 1234.56, "kraken": 5678.90},
        "users": {"alice": {"coinbase": 250.00, "kraken": 750.00}, "bob": {"kraken": 2500.00}},
    },
    "summary": {
        "platform_total": 6913.46,
        "user_totals": {"alice": 1000.00, "bob": 2500.00},
        "total_user_capital": 3500.00,
        "user_count": 2,
        "average_per_user": 1750.00,
    },
}

DEMO_REPORT = """\
====================================================================================================
NIJA USER ACCOUNT BALANCES — DEMO (simulated accounts)
====================================================================================================
Generated: <time>    Basis: equity (USD)
====================================================================================================

🔷 PLATFORM ACCOUNT (Nija System)
----------------------------------------------------------------------------------------------------
   ✔   COINBASE           paper            $1,234.56   ok
   ✔   KRAKEN             paper            $5,678.90   ok
   ──────────────────────────────────────────────────────
       TOTAL                               $6,913.46

🔷 USER ACCOUNTS
----------------------------------------------------------------------------------------------------

   👤 User: alice (Alice)
   -------------------------------------------------------------------------------------------------
      ✔   COINBASE           paper              $250.00   ok
      ✔   KRAKEN             paper              $750.00   ok
      ──────────────────────────────────────────────────────
          SUBTOTAL                            $1,000.00

   👤 User: bob (Bob)
   -------------------------------------------------------------------------------------------------
      ✔   KRAKEN             paper            $2,500.00   ok
      ──────────────────────────────────────────────────────
          SUBTOTAL                            $2,500.00

====================================================================================================
SUMMARY
====================================================================================================
   Total Users:          2
   Total User Capital:   $3,500.00
   Average per User:     $1,750.00
   Platform Total:       $6,913.46
   Connections:          5 of 5 counted
====================================================================================================
"""


def normalise(text: str) -> str:
    text = re.sub(r"Generated: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d", "Generated: <time>", text)
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=ENV)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_demo_report_is_the_seeds_report_exactly() -> None:
    code, out, err = invoke("show", "--demo")
    assert code == 0, err
    assert normalise(out) == DEMO_REPORT
    assert err == ""


def test_global_options_work_before_the_command_too() -> None:
    code, out, _ = invoke("--demo", "show")
    assert code == 0
    assert normalise(out) == DEMO_REPORT


def test_demo_json_equals_the_seeds_json_for_every_seed_key() -> None:
    code, out, _ = invoke("show", "--demo", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["balances"] == SEED_JSON["balances"]
    for key, value in SEED_JSON["summary"].items():
        assert doc["summary"][key] == value, key
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00", doc["timestamp"])


def test_json_document_has_exactly_the_contract_keys() -> None:
    doc = json.loads(invoke("show", "--demo", "--json")[1])
    assert list(doc) == [
        "schema_version", "timestamp", "demo", "balances", "summary", "basis", "quote",
        "connections",
    ]  # fmt: skip
    assert doc["demo"] is True
    assert set(doc["summary"]) == {
        "platform_total", "user_totals", "total_user_capital", "user_count",
        "average_per_user", "connections_total", "connections_counted", "complete",
    }  # fmt: skip
    assert doc["summary"]["complete"] is True
    assert (doc["basis"], doc["quote"]) == ("equity", "USD")
    first = doc["connections"][0]
    assert list(first) == [
        "account", "connection", "exchange", "status", "balance", "cash", "equity",
        "fetched_at", "age_s", "error", "assets", "unpriced",
    ]  # fmt: skip
    assert first["assets"] == [
        {"currency": "USD", "free": 1234.56, "used": 0.0, "total": 1234.56, "price": 1.0,
         "value": 1234.56}
    ]  # fmt: skip
    kraken = doc["connections"][1]
    assert (kraken["cash"], kraken["equity"], kraken["balance"]) == (4178.90, 5678.90, 5678.90)


def test_cash_basis_counts_only_quote_and_stablecoins() -> None:
    doc = json.loads(invoke("show", "--demo", "--json", "--basis", "cash")[1])
    assert doc["basis"] == "cash"
    assert doc["balances"]["platform"] == {"coinbase": 1234.56, "kraken": 4178.90}
    assert doc["balances"]["users"]["alice"] == {"coinbase": 250.0, "kraken": 750.0}  # USDC at par
    assert doc["summary"]["total_user_capital"] == 2900.0
    assert doc["summary"]["average_per_user"] == 1450.0


def test_user_and_broker_filters() -> None:
    code, out, _ = invoke("show", "--demo", "--user", "bob")
    assert code == 0
    assert "PLATFORM ACCOUNT" not in out and "User: bob" in out and "alice" not in out
    doc = json.loads(invoke("show", "--demo", "--json", "--broker", "coinbase")[1])
    assert doc["balances"] == {
        "platform": {"coinbase": 1234.56},
        "users": {"alice": {"coinbase": 250.0}, "bob": {}},
    }
    assert doc["summary"]["user_totals"] == {"alice": 250.0, "bob": 0.0}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--user", "carol"), "unknown user 'carol' (known users: alice, bob)"),
        (("--broker", "krakn"), "no connection or exchange named 'krakn'"),
        (("--basis", "gross"), "gross"),
    ],
)
def test_bad_selection_is_a_usage_error(args: tuple[str, ...], message: str) -> None:
    code, out, err = invoke("show", "--demo", *args)
    assert code == 2
    assert message in err
    assert "Traceback" not in err + out


CENTS_CONFIG = """\
[platform.desk]
exchange = "paper"
balances = { USD = 0.005, BTC = 0.333333 }
prices = { BTC = 30000.015 }

[users.u1.a]
exchange = "paper"
balances = { USD = 10.004, ETH = 0.1234567 }
prices = { ETH = 2999.99 }

[users.u1.b]
exchange = "paper"
balances = { USDT = 0.015 }

[users.u2.a]
exchange = "paper"
balances = { USD = 1.005 }

[users.u3.a]
exchange = "paper"
balances = { USD = 1.00 }
"""


def test_totals_add_up_to_the_cent(tmp_path: Path) -> None:
    cfg = write(tmp_path / "cents.toml", CENTS_CONFIG)
    doc = json.loads(invoke("show", "--config", str(cfg), "--json")[1])
    # USD 0.005 -> 0.01; BTC 0.333333 * 30000.015 = 9999.994999995 -> 9999.99
    assert doc["balances"]["platform"] == {"desk": 10000.00}
    # 10.004 -> 10.00; 0.1234567 * 2999.99 = 370.3688... -> 370.37; USDT 0.015 -> 0.02
    assert doc["balances"]["users"]["u1"] == {"a": 380.37, "b": 0.02}
    assert doc["summary"]["user_totals"] == {"u1": 380.39, "u2": 1.01, "u3": 1.0}
    assert doc["summary"]["total_user_capital"] == 382.40
    assert doc["summary"]["average_per_user"] == 127.47  # 382.40 / 3 = 127.4666...
    for conn in doc["connections"]:
        assert round(sum(a["value"] for a in conn["assets"]), 2) == conn["equity"]


def test_strict_exits_1_when_a_connection_is_left_out(tmp_path: Path) -> None:
    cfg = write(
        tmp_path / "c.toml",
        '[users.a.kraken]\n[users.b.desk]\nexchange = "paper"\nbalances = { USD = 5 }\n',
    )
    code, out, _ = invoke("show", "--config", str(cfg), "--strict")
    assert code == 1
    assert "Totals cover 1 of 2 connections; not counted: a/kraken (no_credentials)" in out
    # the reason is a full-width note under the user's table, the row keeps the status word
    lines = [line.rstrip() for line in out.splitlines()]
    assert "      ○   KRAKEN             kraken                   —   no_credentials" in lines
    assert "      ○ KRAKEN: set KRAKEN_USER_A_API_KEY and KRAKEN_USER_A_API_SECRET" in lines
    assert invoke("show", "--config", str(cfg))[0] == 0
