"""The background refresh: single-flight, requests answered from the last View while a
refresh runs or hangs, a failed refresh keeps the last View, the config is picked up again
when its file changes, and the loop refreshes every interval (cache first, then fetching)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from web.conftest import client, ready


async def until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    """Wait for `condition` (checked every 10 ms), failing after `timeout` seconds."""

    async def check() -> None:
        while not condition():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(check(), timeout)


def held(dashboard: Any) -> tuple[asyncio.Event, list[bool]]:
    """Make the dashboard's fetches wait for an event; returns it and the `refresh` flags
    the fetches were asked with."""
    release, calls = asyncio.Event(), []
    real = dashboard.session.collect_async

    async def collect(config: Any, *, refresh: bool = False, **kwargs: Any) -> Any:
        calls.append(refresh)
        await release.wait()
        return await real(config, refresh=refresh, **kwargs)

    dashboard.session.collect_async = collect
    return release, calls


async def test_one_refresh_at_a_time_and_requests_answer_meanwhile(paper_app: Any) -> None:
    dashboard, app = paper_app
    before = dashboard.view
    release, calls = held(dashboard)
    first = asyncio.create_task(dashboard.refresh())
    second = asyncio.create_task(dashboard.refresh())
    await until(lambda: dashboard.refreshing)
    async with client(app) as http:  # the fetch hangs: every route answers from the last View
        for path in ("/api/users", "/users", "/", "/metrics", "/api/pnl"):
            assert (await http.get(path)).status_code == 200, path
        assert (await http.get("/api/users")).json() == before.documents["users"]
    assert not first.done() and not second.done()
    release.set()
    one, two = await first, await second
    assert one is two and one is dashboard.view and calls == [True]  # one fetch for both
    assert one.generation == before.generation + 1
    assert not dashboard.refreshing


async def test_a_failed_refresh_keeps_the_last_view(paper_app: Any) -> None:
    dashboard, app = paper_app
    before = dashboard.view

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the store went away")

    dashboard.session.collect_async = broken
    assert await dashboard.refresh() is None
    assert dashboard.view is before and dashboard.stats.failures == 1
    async with client(app) as http:
        assert (await http.get("/api/users")).json() == before.documents["users"]
        assert "nija_refresh_failures_total 1.0" in (await http.get("/metrics")).text


async def test_users_added_to_the_config_file_appear_at_the_next_refresh(paper: Path) -> None:
    dashboard, app, _ = await ready(paper)
    try:
        paper.write_text(
            paper.read_text() + '\n[users.erin.paper]\nexchange = "paper"\nbalances = { USD = 9 }\n'
        )
        stat = paper.stat()
        os.utime(paper, (stat.st_atime, stat.st_mtime + 5))  # a later mtime, whatever the clock
        await dashboard.refresh()
        async with client(app) as http:
            ids = [c["user_id"] for c in (await http.get("/api/users")).json()["users"]]
            assert "erin" in ids
            paper.write_text("[users.broken\n")  # half-edited: the last config stays
            os.utime(paper, (stat.st_atime, stat.st_mtime + 10))
            await dashboard.refresh()
            assert (
                dashboard.config_note is not None and "config not reloaded" in dashboard.config_note
            )
            page = (await http.get("/users")).text
            assert "config not reloaded" in page and "erin" in page
    finally:
        dashboard.session.close()


async def test_the_loop_serves_the_cache_first_then_fetches_every_interval(paper_app: Any) -> None:
    dashboard, _ = paper_app
    release, calls = held(dashboard)
    release.set()
    dashboard.interval = 0.01
    start = dashboard.stats.refreshes
    task = asyncio.create_task(dashboard.run())
    try:
        await until(lambda: dashboard.stats.refreshes >= start + 3)
    finally:
        task.cancel()
    assert calls[0] is False and all(calls[1:3])


async def test_the_app_starts_its_refresh_loop_with_the_server(paper: Path) -> None:
    from nija_balances.app import Session
    from nija_balances.web.app import create_app
    from nija_balances.web.state import Dashboard

    session = Session.open(paper)
    dashboard = Dashboard(session, interval=3600)
    app = create_app(dashboard)
    try:
        async with app.router.lifespan_context(app), client(app) as http:
            await until(lambda: dashboard.view is not None)
            assert (await http.get("/healthz")).json()["ready"] is True
            assert (await http.get("/api/users")).status_code == 200
        assert dashboard.stats.refreshes == 1
    finally:
        session.close()
