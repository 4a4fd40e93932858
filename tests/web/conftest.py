"""Fixtures of the dashboard tests: a Dashboard over a config, an in-process HTTP client, a
uvicorn server in a thread, and headless Chromium (skipped, loudly, when it is missing)."""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from conftest import REPO, write
from nija_balances.app import Session
from nija_balances.domain.history import AssetPosition, Snapshot
from nija_balances.domain.models import Config
from nija_balances.web.app import create_app
from nija_balances.web.security import Gate
from nija_balances.web.state import Dashboard

T = TypeVar("T")
LOCAL = "http://127.0.0.1"
ARTIFACTS = REPO / "artifacts"

PAPER = """\
[platform]
name = "Desk"

[platform.desk]
exchange = "paper"
balances = { USD = 5000 }

[users.alice]
name = "Alice A."

[users.alice.paper]
exchange = "paper"
balances = { USD = 1200.5, BTC = 0.01 }
prices = { BTC = 60000 }

[users.bob.paper]
exchange = "paper"
balances = { USD = 250 }

[users.carol.kraken]

[users.dave]
enabled = false

[users.dave.paper]
exchange = "paper"
balances = { USD = 99 }
"""


def client(app: Any, **headers: str) -> httpx.AsyncClient:
    """An in-process client (no socket) speaking to `app` as 127.0.0.1."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=LOCAL, headers=headers
    )


async def ready(path: Path | None = None, *, demo: bool = False, token: str | None = None,
                interval: float = 60.0) -> tuple[Dashboard, Any, Gate]:  # fmt: skip
    """A Dashboard over the config at `path` (or the demo) after its first refresh, and its
    app (no background refresh: the tests refresh by hand)."""
    from nija_balances.config.sources import load_config

    session = Session.open(path, demo=demo)
    dashboard = Dashboard(session, interval=interval, reload=lambda: load_config(path, demo=demo))
    await dashboard.refresh(force=False)
    gate = Gate(token)
    app = create_app(dashboard, gate=gate, refresh_in_background=False)
    return dashboard, app, gate


@pytest.fixture
def paper(tmp_path: Path) -> Path:
    return write(tmp_path / "config.toml", PAPER)


@pytest.fixture
async def paper_app(paper: Path) -> AsyncIterator[tuple[Dashboard, Any]]:
    dashboard, app, _ = await ready(paper)
    yield dashboard, app
    dashboard.session.close()


def seed_snapshots(
    config: Config, key: str, equities: list[str], *, end: datetime, every: timedelta
) -> None:
    """Snapshots of connection `key` (one per `every`, the last at `end`), as good fetches
    of the exchange account it reads now would have left them."""
    from nija_balances.config.credentials import resolve
    from nija_balances.engine.planning import account_hash
    from nija_balances.store import open_store

    conn = next(c for a in config.accounts for c in a.connections if c.key == key)
    owner = account_hash(conn, resolve(conn))
    n = len(equities)
    items = [
        (
            key,
            owner,
            Snapshot(
                end - (n - 1 - i) * every,
                Decimal(e),
                Decimal(e),
                (AssetPosition("USD", Decimal(e), Decimal(1)),),
            ),
        )
        for i, e in enumerate(equities)
    ]
    store = open_store(config.settings)
    try:
        store.put_snapshots(config.namespace, items)
    finally:
        store.close()


# ------------------------------------------------------------------ a real server


class ServerThread:
    """The dashboard's app under uvicorn on 127.0.0.1 (random port), in a thread with its
    own event loop, as `nija serve` runs it."""

    def __init__(self, app: Any) -> None:
        from nija_balances.web.server import bind, server_for, url_of

        self.sock = bind("127.0.0.1", 0)
        self.url = url_of(self.sock, "127.0.0.1")
        self.server = server_for(app)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.started = threading.Event()
        self.thread = threading.Thread(target=asyncio.run, args=(self._main(),), daemon=True)
        self.thread.start()
        if not self.started.wait(30):
            raise RuntimeError("the dashboard server did not start within 30 s")

    async def _main(self) -> None:
        self.loop = asyncio.get_running_loop()
        serving = asyncio.create_task(self.server.serve(sockets=[self.sock]))
        while not self.server.started and not serving.done():
            await asyncio.sleep(0.01)
        self.started.set()
        await serving

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        """Run `coro` on the server's loop (as its own background task would) and wait."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)
        self.sock.close()


# ------------------------------------------------------------------ a real browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture
def browser() -> Iterator[Callable[[int, int], Any]]:
    """Headless Chromium (Debian's `chromium` and `chromium-driver`) through Selenium, at a
    given window size. Never downloads a browser: skipped, saying what is missing."""
    missing = [name for name, path in (("chromium", CHROMIUM), ("chromedriver", CHROMEDRIVER))
               if path is None]  # fmt: skip
    if missing:
        pytest.skip(
            f"SKIPPED BROWSER TESTS: {' and '.join(missing)} not installed "
            "(run `bash scripts/system-deps`, or apt-get install chromium chromium-driver)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    drivers: list[Any] = []

    def open_browser(width: int, height: int) -> Any:
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM or ""
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--hide-scrollbars", "--no-first-run", "--disable-extensions",
                    f"--window-size={width},{height}"):  # fmt: skip
            options.add_argument(arg)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        drivers.append(driver)
        if width < 500:  # below a desktop window's minimum width: emulate a phone
            driver.execute_cdp_cmd(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": height, "deviceScaleFactor": 2, "mobile": True},
            )
        return driver

    yield open_browser
    for driver in drivers:
        driver.quit()
