"""`nija monitor --once` run again and again, as cron would, against the Kraken mock, with
notifications posted by apprise's `json://` to a local HTTP server: each alert is sent once,
resolved once, never for a withdrawal or while a connection fails, and never twice by two
monitors started together. Time is the CLI's injectable clock, never a sleep."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from nija_balances.app import Session
from nija_balances.domain.history import Flow
from nija_balances.engine.history import account_hashes
from reliability.harness import NIJA, Conn, MockThread, Setup, nija, nija_process, wait_until

pytestmark = pytest.mark.network_mock

FIELDS = {"kind", "account", "connection", "state", "since", "last_sent", "sent_count",
          "balance", "threshold", "message"}  # fmt: skip


class Receiver:
    """A local HTTP server that keeps every JSON body posted to it (apprise's `json://`)."""

    def __init__(self, mocks: MockThread, fail: bool = False) -> None:
        self.posts: list[dict[str, Any]] = []
        self.hits = 0
        self.fail = fail
        self.mocks = mocks
        app = web.Application()
        app.router.add_post("/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app)
        mocks.run(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        mocks.run(site.start())
        self.port = self.runner.addresses[0][1]

    async def handle(self, request: web.Request) -> web.Response:
        self.hits += 1
        if self.fail:
            return web.Response(status=500)
        self.posts.append(await request.json())
        return web.json_response({})

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.port}/hook"

    def alerts(self) -> list[dict[str, Any]]:
        """The notifications: the document apprise carried as its message."""
        return [json.loads(post["message"]) for post in self.posts]

    def events(self) -> list[tuple[str, str, str]]:
        return [(a["kind"], a["account"], a["event"]) for a in self.alerts()]

    def close(self) -> None:
        self.mocks.run(self.runner.cleanup())


@pytest.fixture
def receiver(mocks: MockThread) -> Iterator[Receiver]:
    server = Receiver(mocks)
    yield server
    server.close()


def set_usd(conn: Conn, usd: str) -> None:
    assert conn.mock is not None and conn.server is not None
    account = conn.mock.accounts[conn.api_key]
    conn.server.call(lambda: setattr(account, "balances", {"USD": (usd, "0")}))


class Clock:
    def __init__(self) -> None:
        self.start = time.time()
        self.now = self.start

    def at(self, minutes: float) -> None:
        self.now = self.start + minutes * 60

    def __call__(self) -> float:
        return self.now


def test_cron_runs_send_each_alert_once(
    setup: Setup,
    mocks: MockThread,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from nija_balances.cli import monitor as monitor_cli

    kraken = mocks.start("kraken")
    alice = setup.add("alice", kraken, {"USD": ("1000", "0")})
    bob = setup.add("bob", kraken, {"USD": ("1000", "0")})
    carol = setup.add("carol", kraken, {"USD": ("1000", "0")})
    setup.extra["alerts"] = {
        "low_balance": 100, "drop_percent": 10, "drop_window": "1h", "failing_after": "15m",
        "notify": ["env:NIJA_ALERT_URLS"],
    }  # fmt: skip
    users = setup.document()["users"]
    users["alice"]["alerts"] = {"drop_percent": 0}  # alice's path is the low balance alone
    users["bob"]["alerts"] = {"low_balance": 0}  # bob's the drop alone
    setup.extra["users"] = users
    config = str(setup.write())
    monkeypatch.setenv("NIJA_ALERT_URLS", receiver.url)
    clock = Clock()
    monkeypatch.setattr(monitor_cli, "_clock", clock)
    # The withdrawal bob makes at minute 4, in the store's flows as `nija sync` leaves it
    # (the mock's own ledger is the sync tests' business).
    out = Flow("w1", "withdrawal", datetime.fromtimestamp(clock.start, UTC)
               + timedelta(minutes=4), "USD", Decimal(500))  # fmt: skip
    session = Session.open(Path(config))
    try:
        conn = next(c for c in session.config.accounts for c in c.connections if c.key == bob.key)
        owner = account_hashes(session.config, [conn], None)[conn.key]
        stored = session.store.put_history_page(
            session.config.namespace, conn.key, owner, "flows", flows=[out], cursor=None
        )
        assert stored == (0, 1)
    finally:
        session.close()

    def cycle(minutes: float) -> list[tuple[str, str, str]]:
        clock.at(minutes)
        before = len(receiver.posts)
        run = nija("monitor", "--once", "--config", config)
        assert run.code == 0, run
        return receiver.events()[before:]

    assert cycle(0) == []
    set_usd(alice, "50")
    set_usd(bob, "500")  # after the withdrawal of 500: no loss
    carol.inject("http503")
    assert cycle(5) == [("BALANCE_LOW", "alice", "fired")]
    set_usd(alice, "60")
    set_usd(bob, "400")  # a real fall: 100 of 500
    assert cycle(10) == [("BALANCE_DROP", "bob", "fired")]
    set_usd(alice, "99")
    assert cycle(21) == [("CONNECTION_FAILING", "carol", "fired")]  # failing since minute 5
    set_usd(alice, "200")
    assert cycle(26) == [("BALANCE_LOW", "alice", "resolved")]
    carol.clear()
    assert cycle(31) == [("CONNECTION_FAILING", "carol", "resolved")]
    assert cycle(36) == []

    first = receiver.alerts()[0]
    assert set(first) == FIELDS | {"event", "quote"}
    assert first["message"] == "alice: balance 50.00 USD is below 100.00 USD"
    assert (first["balance"], first["threshold"], first["sent_count"]) == (50.0, 100.0, 1)
    assert receiver.posts[0]["title"] == "BALANCE_LOW alice"
    drop = receiver.alerts()[1]["message"]
    assert drop == "bob: equity fell 20.0% within 1h (from 500.00 USD to 400.00 USD, net of flows)"
    failing = receiver.alerts()[2]
    assert failing["connection"] == "kraken" and failing["message"].startswith(
        "carol/kraken (kraken) is stale"
    )
    for alert in receiver.alerts():
        assert "\n" not in alert["message"]
        assert not any(c.api_key in json.dumps(alert) for c in setup.conns)

    doc = nija("alerts", "--json", "--config", config).json()
    assert [(a["kind"], a["account"]) for a in doc["active"]] == [("BALANCE_DROP", "bob")]
    assert {(a["kind"], a["account"]) for a in doc["recent"]} == {
        ("BALANCE_LOW", "alice"), ("CONNECTION_FAILING", "carol"),
    }  # fmt: skip
    assert all(set(a) == FIELDS for a in doc["active"] + doc["recent"])
    assert doc["sinks"][0]["sink"] == "apprise:NIJA_ALERT_URLS" and doc["sinks"][0]["ok"]
    assert receiver.url not in json.dumps(doc)


def test_two_monitors_started_together_send_once(
    setup: Setup, mocks: MockThread, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    kraken = mocks.start("kraken")
    for user in ("alice", "bob", "carol"):
        setup.add(user, kraken, {"USD": ("5", "0")})
    setup.extra["alerts"] = {"low_balance": 100, "notify": ["env:NIJA_ALERT_URLS"]}
    config = str(setup.write())
    monkeypatch.setenv("NIJA_ALERT_URLS", receiver.url)
    import os
    import sys

    env = dict(os.environ)
    procs = [
        subprocess.Popen([*NIJA, "monitor", "--once", "--config", config], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]  # fmt: skip
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    assert sys.executable
    assert sorted(receiver.events()) == [
        ("BALANCE_LOW", user, "fired") for user in ("alice", "bob", "carol")
    ]


def test_a_failing_sink_is_retried_reported_and_never_stops_the_monitor(
    setup: Setup, mocks: MockThread, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    broken = Receiver(mocks, fail=True)
    try:
        kraken = mocks.start("kraken")
        setup.add("alice", kraken, {"USD": ("5", "0")})
        jsonl = tmp_path / "alerts.jsonl"
        setup.extra["alerts"] = {
            "low_balance": 100, "notify": ["env:NIJA_ALERT_URLS"], "json_file": str(jsonl),
            "command": ["false"],
        }  # fmt: skip
        config = str(setup.write())
        monkeypatch.setenv("NIJA_ALERT_URLS", broken.url)
        from nija_balances.monitoring.sinks import interface

        monkeypatch.setattr(interface, "BACKOFF", 0.0)  # the pauses themselves: unit-tested
        run = nija("monitor", "--once", "--config", config)
        assert run.code == 0, run
        assert broken.hits == 3  # three attempts
        assert "alert not delivered to apprise:NIJA_ALERT_URLS" in run.stderr
        (line,) = jsonl.read_text().splitlines()  # the other sinks still got it
        assert json.loads(line)["kind"] == "BALANCE_LOW"
        doc = nija("alerts", "--json", "--config", config).json()
        sinks = {s["sink"]: s for s in doc["sinks"]}
        assert sinks["apprise:NIJA_ALERT_URLS"]["failures"] == 1
        assert sinks["command:false"]["error"] == "false exited 1"
        assert sinks[f"file:{jsonl}"]["ok"] is True
        assert broken.url not in json.dumps(doc)
        text = nija("alerts", "--config", config).stdout
        assert "Sinks failing:" in text and "command:false: 1 failure(s)" in text
    finally:
        broken.close()


def test_the_loop_stops_cleanly_on_sigterm(setup: Setup, mocks: MockThread) -> None:
    kraken = mocks.start("kraken")
    setup.add("alice", kraken, {"USD": ("5", "0")})
    config = str(setup.write())
    proc = subprocess.Popen([*NIJA, "monitor", "--interval", "5", "--config", config],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        from nija_balances.monitoring.runner import log_path

        wait_until(lambda: log_path().exists() and "cycle:" in log_path().read_text(), 60,
                   "the first cycle")  # fmt: skip
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert "stopping (signal 15)" in log_path().read_text()


def test_nija_alerts_without_any(setup: Setup, mocks: MockThread) -> None:
    setup.add("alice", mocks.start("kraken"), {"USD": ("500", "0")})
    config = str(setup.write())
    assert nija_process("monitor", "--once", "--config", config).code == 0
    text = nija("alerts", "--config", config).stdout
    assert text.startswith("Active alerts: none\n")
    assert nija("alerts", "--json", "--config", config).json() == {
        "active": [], "recent": [], "sinks": [],
    }  # fmt: skip
