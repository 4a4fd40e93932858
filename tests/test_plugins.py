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
from nija_balances.config.loader import load_toml
from nija_balances.domain.syntax import ConfigError


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
    registry.forget_plugins()
    yield
    registry.forget_plugins()


def test_a_plugin_adapter_serves_its_exchange(brokerx_installed: None, tmp_path: Path) -> None:
    cfg = write(tmp_path / "c.toml", "[users.alice.brokerx]\n")
    result = CliRunner().invoke(app, ["show", "--json", "--config", str(cfg)])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["balances"]["users"] == {"alice": {"brokerx": 42.10}}
    assert doc["connections"][0]["status"] == "ok"


def test_without_the_plugin_the_exchange_is_unknown(tmp_path: Path) -> None:
    registry.forget_plugins()
    cfg = write(tmp_path / "c.toml", "[users.alice.brokerx]\n")
    result = CliRunner().invoke(app, ["show", "--config", str(cfg)])
    assert result.exit_code == 2
    assert "users.alice.brokerx: unknown exchange 'brokerx'" in result.stderr


def test_a_plugin_adapter_declares_and_checks_its_own_options(
    brokerx_installed: None, tmp_path: Path
) -> None:
    cfg = write(tmp_path / "c.toml", '[users.alice.brokerx]\nregion = "eu"\n')
    assert load_toml(cfg).users[0].connections[0].options == {"region": "eu"}
    bad = write(tmp_path / "bad.toml", '[users.alice.brokerx]\n\nregion = "asia"\n')
    with pytest.raises(ConfigError) as err:
        load_toml(bad)
    assert (
        str(err.value)
        == f'{bad}:3: users.alice.brokerx.region: expected "eu" or "us", got \'asia\''
    )
    elsewhere = write(tmp_path / "k.toml", '[users.alice.kraken]\nregion = "eu"\n')
    with pytest.raises(ConfigError, match=r"users\.alice\.kraken\.region: unknown key 'region'"):
        load_toml(elsewhere)


def test_a_plugin_that_fails_to_load_is_reported_not_raised(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    broken = importlib.metadata.EntryPoint(
        name="brokeny", value="no_such_module_anywhere:SPEC", group=registry.ENTRY_POINT_GROUP
    )
    good = importlib.metadata.EntryPoint(
        name="brokerx", value="plugin_adapter:SPEC", group=registry.ENTRY_POINT_GROUP
    )
    real = importlib.metadata.entry_points

    def entry_points(**selection: str) -> object:
        if selection.get("group") == registry.ENTRY_POINT_GROUP:
            return importlib.metadata.EntryPoints([broken, good])
        return real(**selection)

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    registry.forget_plugins()
    try:
        assert registry.find_adapter("brokeny") is None
        assert registry.find_adapter("brokerx") is not None  # its neighbour still serves
        assert [(p.name, p.error is None) for p in registry.plugin_infos()] == [
            ("brokeny", False),
            ("brokerx", True),
        ]
        (problem,) = registry.plugin_problems()
        assert problem.startswith("adapter plugin 'brokeny' (no_such_module_anywhere:SPEC)")
        assert "ModuleNotFoundError: No module named 'no_such_module_anywhere'" in problem
        assert "\n" not in problem
    finally:
        registry.forget_plugins()
