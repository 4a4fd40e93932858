"""Third-party adapters come through the same registry as the built-ins (entry points)."""

from __future__ import annotations

import importlib.metadata
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import write
from nija_balances.adapters import registry
from nija_balances.cli.root import app


@pytest.fixture
def brokerx_installed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    point = importlib.metadata.EntryPoint(
        name="brokerx", value="plugin_adapter:SPEC", group=registry.ENTRY_POINT_GROUP
    )
    real = importlib.metadata.entry_points

    def entry_points(**selection: str) -> object:
        if selection.get("group") == registry.ENTRY_POINT_GROUP:
            return importlib.metadata.EntryPoints([point])
        return real(**selection)

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    registry.plugin_specs.cache_clear()
    yield
    registry.plugin_specs.cache_clear()


def test_a_plugin_adapter_serves_its_exchange(brokerx_installed: None, tmp_path: Path) -> None:
    cfg = write(tmp_path / "c.toml", "[users.alice.brokerx]\n")
    result = CliRunner().invoke(app, ["show", "--json", "--config", str(cfg)])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["balances"]["users"] == {"alice": {"brokerx": 42.10}}
    assert doc["connections"][0]["status"] == "ok"


def test_without_the_plugin_the_exchange_is_unknown(tmp_path: Path) -> None:
    registry.plugin_specs.cache_clear()
    cfg = write(tmp_path / "c.toml", "[users.alice.brokerx]\n")
    result = CliRunner().invoke(app, ["show", "--config", str(cfg)])
    assert result.exit_code == 2
    assert "users.alice.brokerx: unknown exchange 'brokerx'" in result.stderr
