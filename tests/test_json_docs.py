"""The JSON documents of `show`, `user` and `status`: versioned, one clock, honest words."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from typer.testing import CliRunner

from nija_balances.cli.root import app

runner = CliRunner()
ENV = {"NO_COLOR": "1", "COLUMNS": "100"}


def doc(*args: str) -> dict[str, Any]:
    result = runner.invoke(app, list(args), env=ENV)
    assert result.exit_code in (0, 1), result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def aware_utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    assert moment.tzinfo is not None, f"{text!r} says no offset"
    assert moment.utcoffset() == timedelta(0), f"{text!r} is not UTC"
    return moment


def test_every_document_has_schema_version_1() -> None:
    for args in (("show", "--json"), ("user", "alice", "--json"), ("status", "--json")):
        data = doc(*args, "--demo")
        assert data["schema_version"] == 1, args
        assert next(iter(data)) == "schema_version", args  # first, where a reader looks


@pytest.fixture
def far_from_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time 5 h 30 min from UTC (a POSIX TZ string: no tz database needed), so a local
    time passed off as UTC is caught."""
    monkeypatch.setenv("TZ", "IST-5:30")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("far_from_utc")
def test_timestamp_and_fetched_at_are_utc_with_their_offset_from_one_clock() -> None:
    before = datetime.now(UTC)
    for args in (("show", "--json"), ("user", "alice", "--json"), ("status", "--json")):
        data = doc(*args, "--demo", "--refresh")
        stamp = aware_utc(data["timestamp"])
        assert before - timedelta(seconds=1) <= stamp <= datetime.now(UTC), args
        for conn in data["connections"]:
            if "fetched_at" in conn:  # show and user; status says age_s
                fetched = aware_utc(conn["fetched_at"])
                # fetched in this run, on the same clock: never after the document, never
                # more than the run's length before it (a local-vs-UTC mix-up is hours)
                assert stamp - timedelta(seconds=30) <= fetched <= stamp, (args, conn)


def test_user_json_says_held_like_the_table_and_keeps_used() -> None:
    data = doc("user", "bob", "--json", "--demo")
    eth = next(a for a in data["connections"][0]["assets"] if a["currency"] == "ETH")
    assert eth["held"] == eth["used"] == 0.0
    assert list(eth) == ["currency", "free", "held", "used", "total", "price", "value"]
