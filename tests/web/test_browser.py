"""The dashboard in a real headless Chromium (Debian's chromium and chromium-driver, through
Selenium), served by uvicorn on 127.0.0.1 against a Kraken mock exchange over HTTP.

`/users` shows every card with the numbers of `/api/users`; after a balance changes at the
mock and a connection starts failing, the next refresh updates the page in place (no
reload) and shows that connection as stale. Screenshots go to `artifacts/` (gitignored)."""

from __future__ import annotations

import base64
import json
import math
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from nija_balances.app import Session
from nija_balances.config.sources import load_config
from nija_balances.web.app import create_app
from nija_balances.web.state import Dashboard
from reliability.harness import MockThread, Setup
from web.conftest import ARTIFACTS, ServerThread, seed_snapshots

pytestmark = pytest.mark.slow

#: What each card shows, read from the page as a person sees it.
READ_CARDS = """
return Array.from(document.querySelectorAll('article.card')).map(card => {
  const text = sel => { const e = card.querySelector(sel); return e ? e.textContent.trim() : null; };
  return {
    user_id: card.dataset.userId,
    balance: text('[data-field=balance]'),
    daily_pnl: text('[data-field=daily_pnl]'),
    total_pnl: text('[data-field=total_pnl]'),
    win_rate: text('[data-field=win_rate]'),
    total_trades: text('[data-field=total_trades]'),
    coverage: text('[data-field=coverage]'),
    spark: !!card.querySelector('svg.spark polyline'),
    connections: Array.from(card.querySelectorAll('li.conn')).map(li => ({
      connection: li.dataset.connection,
      marker: li.querySelector('.marker').textContent.trim(),
      status: li.querySelector('[data-field=status]').textContent.trim(),
      balance: li.querySelector('.cbal').textContent.trim(),
    })),
    trades: card.querySelectorAll('details.recent tbody tr').length,
  };
});
"""


def money(value: float | None) -> str:
    if value is None:
        return "—"
    return f"-${-value:,.2f}" if value < 0 else f"${value:,.2f}"


def api(url: str, path: str) -> Any:
    with urllib.request.urlopen(url.rstrip("/") + path, timeout=20) as response:
        return json.loads(response.read())


def assert_page_matches_api(cards: list[dict[str, Any]], doc: dict[str, Any]) -> None:
    assert [c["user_id"] for c in cards] == [c["user_id"] for c in doc["users"]]
    for shown, card in zip(cards, doc["users"], strict=True):
        who = card["user_id"]
        balance = card["balance"] if card["connections_counted"] else None
        assert shown["balance"] == money(balance), who
        for field in ("daily_pnl", "total_pnl", "total_trades"):
            value = card[field]
            assert shown[field].startswith("—" if value is None else ""), (who, field)
            if value is not None:
                assert shown[field].lstrip("+") == (money(value) if "pnl" in field else str(value))
        assert shown["win_rate"] == ("—" if card["win_rate"] is None else shown["win_rate"])
        assert shown["coverage"].endswith(
            f"{card['connections_counted']} of {card['connections_total']} connections counted"
        ), who
        assert shown["trades"] == len(card["recent_trades"])
        assert len(shown["connections"]) == len(card["connections"])
        for row, conn in zip(shown["connections"], card["connections"], strict=True):
            assert row["connection"] == conn["connection"]
            assert row["status"].split()[0] == conn["status"], (who, row)
            assert row["balance"] == money(conn["balance"]), (who, row)


def wave(now: float, end: float, n: int, swing: float) -> list[str]:
    """`n` equities rising from `now` to `end`, with a wobble: a week's history."""
    return [
        f"{now + (end - now) * i / (n - 1) + swing * math.sin(i / 3.1) * (1 - i / n):.2f}"
        for i in range(n)
    ]


@pytest.fixture
def market(setup: Setup, mocks: MockThread) -> Iterator[tuple[Setup, dict[str, Any]]]:
    kraken = mocks.start("kraken")
    conns = {
        "platform": setup.add("platform", kraken, {"USD": ("48250.75", "0"), "BTC": ("0.5", "0")}),
        "alice": setup.add("alice", kraken, {"USD": ("12000", "0"), "BTC": ("0.25", "0")}),
        "bob": setup.add("bob", kraken, {"USD": ("4200.50", "0"), "ETH": ("1.5", "0.5")}),
        "carol": setup.add("carol", kraken, {"USD": ("900", "0")}),
        "dave": setup.add("dave", kraken, {"USD": ("10", "0")}, env=False),  # no key
    }
    names = {"alice": "Alice Anders", "bob": "Bob Brown", "carol": "Carol Chen",
             "dave": "Dave (no API key)"}  # fmt: skip
    users = setup.document()["users"]
    setup.extra = {"users": {u: {"name": names[u], **users[u]} for u in users}}
    path = setup.write()
    config = load_config(path)
    end = datetime.now(UTC) - timedelta(minutes=5)
    for key, (start, stop, swing) in {
        "platform/kraken": (71000, 78000, 900),
        "alice/kraken": (24500, 27000, 600),
        "bob/kraken": (11800, 10200, 300),
        "carol/kraken": (860, 900, 25),
    }.items():
        seed_snapshots(config, key, wave(start, stop, 56, swing), end=end, every=timedelta(hours=3))
    yield setup, conns


def test_users_page_in_chromium_matches_the_api_and_updates_in_place(
    market: tuple[Setup, dict[str, Any]], browser: Any
) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    setup, conns = market
    session = Session.open(setup.path)
    dashboard = Dashboard(session, interval=3600)
    server = ServerThread(create_app(dashboard, poll=0.5))
    try:
        server.run(until_ready(dashboard))
        first = api(server.url, "/api/users")
        assert [c["user_id"] for c in first["users"]] == ["alice", "bob", "carol", "dave"]
        driver = browser(1280, 900)
        driver.get(server.url + "users")
        cards = driver.execute_script(READ_CARDS)
        assert_page_matches_api(cards, first)
        assert cards[0]["balance"] == "$27,000.00" and cards[0]["spark"]
        assert cards[3]["connections"][0]["status"] == "no_credentials"
        assert cards[3]["connections"][0]["marker"] == "○"
        ARTIFACTS.mkdir(exist_ok=True)
        full_page(driver, ARTIFACTS / "users.png")
        driver.execute_script("window.__sameDocument = 42;")

        # A balance changes at the exchange; carol's exchange starts failing.
        alice, carol = conns["alice"], conns["carol"]
        setup.mocks.call(lambda: setup_balance(setup, alice, "USD", "15000"))
        carol.inject("http503")
        server.run(dashboard.refresh(force=True))
        after = api(server.url, "/api/users")
        assert after["users"][0]["balance"] == 30000.0

        def updated(d: Any) -> bool:
            return bool(d.execute_script(READ_CARDS)[0]["balance"] == "$30,000.00")

        WebDriverWait(driver, 20, poll_frequency=0.1).until(updated)
        assert driver.execute_script("return window.__sameDocument") == 42  # not reloaded
        cards = driver.execute_script(READ_CARDS)
        assert_page_matches_api(cards, after)
        stale = next(c for c in cards if c["user_id"] == "carol")["connections"][0]
        assert stale["status"].startswith("stale") and stale["marker"] == "⚠"
        assert stale["balance"] == "$900.00"  # the last good value, still counted
        full_page(driver, ARTIFACTS / "users-after.png")
        driver.get(server.url + "users/alice")
        assert "$30,000.00" in driver.find_element("css selector", "main").text
        full_page(driver, ARTIFACTS / "user-alice.png")

        # The other pages load without a script or policy error, and fit a phone.
        phone = browser(390, 844)
        for path in ("users", "", "users/alice", "users/carol"):
            phone.get(server.url + path)
            width = phone.execute_script("return document.documentElement.scrollWidth")
            assert width <= 390, (path, width)
        phone.get(server.url + "users")
        full_page(phone, ARTIFACTS / "users-phone.png")
        for d in (driver, phone):
            errors = [e for e in d.get_log("browser") if e["level"] == "SEVERE"]
            assert errors == [], errors
    finally:
        server.stop()
        session.close()


async def until_ready(dashboard: Dashboard) -> None:
    """The server's first refresh (the lifespan starts it), awaited on its loop."""
    await dashboard.refresh(force=False)


def setup_balance(setup: Setup, conn: Any, currency: str, amount: str) -> None:
    assert conn.mock is not None
    conn.mock.accounts[conn.api_key].balances[currency] = (amount, "0")


def full_page(driver: Any, path: Path) -> None:
    """A screenshot of the whole page, beyond the window (Chromium's DevTools protocol)."""
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
    )
    path.write_bytes(base64.b64decode(shot["data"]))
