"""Every route of the dashboard, in-process (httpx's ASGI transport): the documents are the
CLI's, the cards are exactly DESIGN §12's, the pages show the same numbers."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from nija_balances.cli.root import app as cli
from web.conftest import client, ready, seed_snapshots

CARD_KEYS = [
    "user_id", "name", "enabled", "balance", "total_trades", "win_rate", "wins", "losses",
    "draws", "daily_pnl", "total_pnl", "complete", "connections_counted", "connections_total",
    "connections", "recent_trades",
]  # fmt: skip
VOLATILE = {"timestamp", "fetched_at", "age_s", "latency_s"}


def steady(doc: Any) -> Any:
    """A document without the keys that differ between two runs (times, ages)."""
    if isinstance(doc, dict):
        return {k: steady(v) for k, v in doc.items() if k not in VOLATILE}
    if isinstance(doc, list):
        return [steady(v) for v in doc]
    return doc


async def cli_json(*args: str) -> Any:
    """`nija ARGS --json`, in a thread (the command starts an event loop of its own)."""
    result = await asyncio.to_thread(CliRunner().invoke, cli, [*args, "--json"])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


async def test_api_users_is_the_cards_of_design_12(paper_app: Any) -> None:
    _, app = paper_app
    async with client(app) as http:
        response = await http.get("/api/users")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    doc = response.json()
    assert {"timestamp", "quote", "users"} <= set(doc) and doc["quote"] == "USD"
    cards = doc["users"]
    for card in cards:
        assert list(card) == CARD_KEYS
        for conn in card["connections"]:
            assert list(conn) == ["connection", "exchange", "status", "balance"]
    # sorted by balance, highest first; every configured user, disabled and failing too
    assert [c["user_id"] for c in cards] == ["alice", "bob", "carol", "dave"]
    alice, _, carol, dave = cards
    assert alice["balance"] == 1800.5 and alice["name"] == "Alice A."
    assert alice["connections"] == [
        {"connection": "paper", "exchange": "paper", "status": "ok", "balance": 1800.5}
    ]
    assert carol["connections"][0]["status"] == "no_credentials"
    assert carol["connections"][0]["balance"] is None  # not counted: unknown, not 0
    assert (carol["complete"], carol["connections_counted"], carol["connections_total"]) == (
        False, 0, 1,
    )  # fmt: skip
    assert dave["enabled"] is False
    # no history in the store: every P&L figure is unknown, never zero
    for card in cards:
        for key in ("total_trades", "win_rate", "wins", "losses", "draws", "daily_pnl",
                    "total_pnl"):  # fmt: skip
            assert card[key] is None, (card["user_id"], key)
        assert card["recent_trades"] == []


async def test_cards_carry_the_numbers_of_api_pnl(paper: Path) -> None:
    """Snapshots in the store: the cards' figures are the P&L document's, entry by entry."""
    from nija_balances.config.sources import load_config

    config = load_config(paper)
    now = datetime.now(UTC)
    seed_snapshots(config, "bob/paper", ["200", "240", "250"], end=now, every=timedelta(hours=6))
    dashboard, app, _ = await ready(paper)
    try:
        async with client(app) as http:
            cards = (await http.get("/api/users")).json()["users"]
            pnl = (await http.get("/api/pnl")).json()
        bob = next(c for c in cards if c["user_id"] == "bob")
        entry = pnl["users"]["bob"]
        for key in ("total_trades", "win_rate", "wins", "losses", "draws", "daily_pnl",
                    "total_pnl"):  # fmt: skip
            assert bob[key] == entry[key], key
        assert entry["balance"] == 250.0  # the last snapshot's equity
        # the refresh synced the paper connections' (empty) trades and flows: 250 − 200
        assert entry["total_pnl"] == 50.0
        assert entry["net_flow"] == 0.0 and entry["total_trades"] == 0
        assert set(pnl["users"]) == {"alice", "bob", "carol"}  # enabled users
        assert pnl["platform"]["connections"]["desk"]["balance"] is None  # no snapshot
        # the sparkline has bob's points; alice has none yet
        page = (await client(app).get("/users")).text
        bob_card = page[page.index('data-user-id="bob"') :][:4000]
        assert '<svg class="spark"' in bob_card and "<polyline" in bob_card
        alice_card = page[page.index('data-user-id="alice"') :][:4000]
        assert "no history yet" in alice_card
    finally:
        dashboard.session.close()


async def test_documents_are_the_cli_json_documents(paper: Path) -> None:
    dashboard, app, _ = await ready(paper)
    try:
        async with client(app) as http:
            got = {n: (await http.get(f"/api/{n}")).json() for n in ("portfolio", "status")}
            history = (await http.get("/api/history")).json()
    finally:
        dashboard.session.close()
    assert steady(got["portfolio"]) == steady(await cli_json("show", "--config", str(paper)))
    assert steady(got["status"]) == steady(await cli_json("status", "--config", str(paper)))
    expected = await cli_json("history", "--config", str(paper))
    assert steady(history) == steady(expected) | {"since": history["since"]}
    assert history["every_s"] == 86400 and set(history["users"]) == {"alice", "bob", "carol"}


async def test_the_demo_cards_and_api_pnl_are_nija_pnl_and_trades(tmp_path: Path) -> None:
    """The demo's 30 days of history: the dashboard's P&L is the CLI's, field by field."""
    dashboard, app, _ = await ready(demo=True)
    try:
        async with client(app) as http:
            pnl = (await http.get("/api/pnl")).json()
            cards = (await http.get("/api/users")).json()["users"]
            page = (await http.get("/users/alice")).text
    finally:
        dashboard.session.close()
    expected = await cli_json("pnl", "--demo")
    assert steady(pnl) == steady(expected)
    trades = (await cli_json("trades", "--demo"))["trades"]
    for card in cards:
        entry = expected["users"][card["user_id"]]
        assert entry["total_trades"] and entry["complete"], card["user_id"]
        for key in ("total_trades", "win_rate", "daily_pnl", "total_pnl", "wins", "losses"):
            assert card[key] == entry[key], (card["user_id"], key)
        mine = [t for t in trades if t["account"] == card["user_id"]][:10]
        fields = ("time", "connection", "symbol", "side", "amount", "price", "realized_pnl")
        assert [tuple(t[f] for f in fields) for t in card["recent_trades"]] == [
            tuple(t[f] for f in fields) for t in mine
        ]
    assert "Deposits and withdrawals" in page and "deposit" in page


async def test_api_history_takes_the_cli_spans(paper_app: Any) -> None:
    _, app = paper_app
    async with client(app) as http:
        hourly = await http.get("/api/history", params={"since": "24h", "every": "1h"})
        one = await http.get("/api/history", params={"user": "bob"})
        bad = await http.get("/api/history", params={"since": "soon"})
        unknown = await http.get("/api/history", params={"user": "nobody"})
    assert hourly.status_code == 200 and hourly.json()["every_s"] == 3600
    assert list(one.json()["users"]) == ["bob"]
    assert bad.status_code == 400 and "not a time span" in bad.json()["error"]
    assert unknown.status_code == 400 and "nobody" in unknown.json()["error"]


async def test_api_alerts_is_nija_alerts_and_pnl_says_what_it_cannot_know(
    paper_app: Any, paper: Path
) -> None:
    _, app = paper_app
    async with client(app) as http:
        alerts = (await http.get("/api/alerts")).json()
        pnl = (await http.get("/api/pnl")).json()
    assert alerts == await cli_json("alerts", "--config", str(paper))
    assert set(alerts) == {"active", "recent", "sinks"}
    alice = pnl["users"]["alice"]
    assert pnl["quote"] == "USD" and alice["complete"] is False
    assert alice["total_pnl"] is None and "paper: no snapshot yet" in alice["incomplete_reasons"]


async def test_pages_show_the_report_the_cards_and_one_user(paper_app: Any) -> None:
    _, app = paper_app
    async with client(app) as http:
        report = await http.get("/")
        users = await http.get("/users")
        alice = await http.get("/users/alice")
        missing = await http.get("/users/nobody")
    for page in (report, users, alice):
        assert page.status_code == 200
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert page.headers["etag"]
    r = report.text
    assert "$5,000.00" in r and "$1,800.50" in r and "$2,050.50" in r  # platform, alice, capital
    assert "KRAKEN" in r and "no_credentials" in r
    assert "KRAKEN_USER_CAROL_API_KEY" in r  # the reason, under carol's table
    assert "3 of 4 counted" in r  # platform, alice, bob; not carol (dave is disabled)
    u = users.text
    assert u.count('<article class="card') == 4
    assert re.search(r'data-field="balance" value="1800.5"[^>]*>\$1,800.50<', u)
    assert "1 of 1 connections counted" in u and "0 of 1 connections counted" in u
    assert "disabled — not in totals" in u
    a = alice.text
    assert "Alice A." in a and "BTC" in a and "60000" in a and "$600.00" in a
    assert missing.status_code == 404 and "No such user" in missing.text


async def test_a_page_not_changed_since_is_a_304(paper_app: Any) -> None:
    dashboard, app = paper_app
    async with client(app) as http:
        first = await http.get("/users")
        again = await http.get("/users", headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
        await dashboard.refresh()
        after = await http.get("/users", headers={"If-None-Match": first.headers["etag"]})
    assert after.status_code == 200 and after.headers["etag"] != first.headers["etag"]


async def test_metrics_and_healthz(paper_app: Any) -> None:
    _, app = paper_app
    async with client(app) as http:
        metrics = await http.get("/metrics")
        health = await http.get("/healthz")
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
    text = metrics.text
    assert (
        'nija_connection_equity{account="alice",connection="paper",exchange="paper"} 1800.5' in text
    )
    assert 'nija_account_equity{account="platform",complete="true",kind="platform"} 5000.0' in text
    assert (
        'nija_connection_status{account="carol",connection="kraken",exchange="kraken",status="no_credentials"} 1.0'
        in text
    )
    assert 'nija_connection_up{account="carol",connection="kraken",exchange="kraken"} 0.0' in text
    assert (
        'nija_connection_fetch_errors_total{account="carol",connection="kraken",exchange="kraken"} 1.0'
        in text
    )
    assert "carol" not in "".join(  # not counted: no equity sample (never a zero)
        line for line in text.splitlines() if line.startswith("nija_connection_equity{")
    )
    assert re.search(r"^nija_refresh_duration_seconds [0-9.e-]+$", text, re.M)
    assert re.search(
        r"^nija_connection_last_success_timestamp_seconds\{account=\"bob\"", text, re.M
    )
    assert "nija_users 3.0" in text and "nija_connections_counted 3.0" in text
    assert health.json() == {"status": "ok", "ready": True}


async def test_before_the_first_refresh_the_api_says_so(paper: Path) -> None:
    from nija_balances.app import Session
    from nija_balances.web.app import create_app
    from nija_balances.web.state import Dashboard

    session = Session.open(paper)
    app = create_app(Dashboard(session), refresh_in_background=False)
    try:
        async with client(app) as http:
            api = await http.get("/api/users")
            page = await http.get("/users")
            health = await http.get("/healthz")
    finally:
        session.close()
    assert api.status_code == 503 and api.headers["retry-after"] == "2"
    assert page.status_code == 200 and "first refresh is running" in page.text
    assert health.json() == {"status": "ok", "ready": False}


@pytest.mark.parametrize("path", ["/static/dashboard.js", "/static/dashboard.css"])
async def test_the_page_script_and_style_are_served_from_the_package(
    paper_app: Any, path: str
) -> None:
    _, app = paper_app
    async with client(app) as http:
        response = await http.get(path)
    assert response.status_code == 200 and len(response.content) > 500
    assert "http" not in response.text.replace("http-equiv", "")  # nothing from elsewhere
