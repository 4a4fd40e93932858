"""Fixtures for tests that run mock exchanges in a background thread (the reliability suite,
the dashboard's browser tests): loaded for every test by the root conftest."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reliability.harness import MockThread, Setup


@pytest.fixture
def mocks() -> Iterator[MockThread]:
    """Mock exchanges served from a background thread, closed after the test."""
    server = MockThread()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mocks: MockThread) -> Setup:
    """A config file in its own directory (where a `.env` may go too) whose connections point
    at the mocks, credentials in the environment."""
    directory = tmp_path / "cfg"
    directory.mkdir()
    return Setup(directory / "config.toml", monkeypatch, mocks)
