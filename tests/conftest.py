"""Shared fixtures: every test runs with its own NIJA_BALANCES_HOME and no colour."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"


pytest_plugins = ["reliability.fixtures"]  # `mocks` and `setup`: mock exchanges in a thread


@pytest.fixture(autouse=True)
def isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """No test reads or writes the real user's config or cache, or sees their credentials."""
    home = tmp_path_factory.mktemp("nija-home")
    monkeypatch.setenv("NIJA_BALANCES_HOME", str(home))
    monkeypatch.delenv("NIJA_CONFIG", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.setenv("TERM", "dumb")
    import os

    for name in list(os.environ):
        if name.endswith(("_API_KEY", "_API_SECRET", "_API_PASSPHRASE")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(home)  # a stray .env in the working tree must not leak in
    yield home


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def install_plugins(monkeypatch: pytest.MonkeyPatch, **plugins: str) -> None:
    """Make the adapter plugins `name="module:SPEC"` look installed (their entry points, in
    the registry's group, and no other), from a clean registry. Call
    `registry.forget_plugins()` after the test."""
    import importlib.metadata

    from nija_balances.adapters import registry

    group = registry.ENTRY_POINT_GROUP
    points = [importlib.metadata.EntryPoint(name, value, group) for name, value in plugins.items()]
    real = importlib.metadata.entry_points

    def entry_points(**selection: str) -> object:
        if selection.get("group") == group:
            return importlib.metadata.EntryPoints(points)
        return real(**selection)

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    registry.forget_plugins()
