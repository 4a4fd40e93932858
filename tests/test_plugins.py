"""Third-party adapters come through the same registry as the built-ins (entry points)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import install_plugins, write
from nija_balances.adapters import registry
from nija_balances.cli.root import app
from nija_balances.config.loader import load_toml
from nija_balances.domain.syntax import ConfigError


@pytest.fixture
def brokerx_installed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    install_plugins(monkeypatch, brokerx="plugin_adapter:SPEC")
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
    install_plugins(
        monkeypatch, brokeny="no_such_module_anywhere:SPEC", brokerx="plugin_adapter:SPEC"
    )
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


# ------------------------------------------------------------------ a plugin whose import raises


@pytest.fixture
def broken_plugin_installed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Two plugins: `brokerx` (works) and `brokenx`, whose module raises when imported."""
    plugins = tmp_path / "plugins"
    write(plugins / "brokenx_adapter.py", 'raise RuntimeError("brokenx needs libfoo\\nline two")\n')
    monkeypatch.syspath_prepend(str(plugins))
    install_plugins(monkeypatch, brokenx="brokenx_adapter:SPEC", brokerx="plugin_adapter:SPEC")
    yield
    registry.forget_plugins()


BROKEN_WARNING = (
    "warning: adapter plugin 'brokenx' (brokenx_adapter:SPEC) could not be loaded: "
    "RuntimeError: brokenx needs libfoo"
)


def test_a_broken_plugin_is_one_warning_line_beside_a_typo(
    broken_plugin_installed: None, tmp_path: Path
) -> None:
    """A config naming a non-ccxt exchange (here the typo `krakn`) consults the plugins: the
    broken one is one warning line, the typo the usual did-you-mean error, no traceback."""
    cfg = write(tmp_path / "c.toml", "[users.alice.krakn]\n")
    result = CliRunner().invoke(app, ["show", "--config", str(cfg)])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines.count(BROKEN_WARNING) == 1, result.stderr
    assert [line for line in lines if "brokenx" in line] == [BROKEN_WARNING]
    assert "unknown exchange 'krakn' (did you mean 'kraken'?)" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_broken_plugin_leaves_the_other_connections_alone(
    broken_plugin_installed: None, tmp_path: Path
) -> None:
    cfg = write(
        tmp_path / "c.toml",
        "[users.alice.brokerx]\n\n[users.pat.paper]\nexchange = 'paper'\nbalances = { USD = 5 }\n",
    )
    result = CliRunner().invoke(app, ["show", "--json", "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert {c["connection"]: c["status"] for c in doc["connections"]} == {
        "brokerx": "ok",
        "paper": "ok",
    }
    assert [line for line in result.stderr.splitlines() if "plugin" in line] == [BROKEN_WARNING]


def test_no_plugin_lookup_no_plugin_warning(broken_plugin_installed: None, tmp_path: Path) -> None:
    """Built-in exchanges only: the plugins are not looked up, so nothing is said about them."""
    cfg = write(tmp_path / "c.toml", "[users.pat.paper]\nexchange = 'paper'\n")
    result = CliRunner().invoke(app, ["show", "--json", "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    assert "plugin" not in result.stderr


def test_config_check_lists_the_plugins(broken_plugin_installed: None, tmp_path: Path) -> None:
    cfg = write(tmp_path / "c.toml", "[users.pat.paper]\nexchange = 'paper'\n")
    result = CliRunner().invoke(app, ["config", "check", "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    rows, plugins = result.stdout.split("\n\n")
    assert rows.split() == ["ready", "pat/paper", "paper", "no", "credentials", "needed"]
    assert plugins.splitlines() == [
        "plugin  brokenx  brokenx_adapter:SPEC  error: RuntimeError: brokenx needs libfoo",
        "plugin  brokerx  plugin_adapter:SPEC   ok",
    ]
    assert result.stderr.splitlines() == [
        BROKEN_WARNING,
        f"config OK: 1 connections ready ({cfg})",
    ]


def test_config_check_without_plugins_lists_none(tmp_path: Path) -> None:
    registry.forget_plugins()
    cfg = write(tmp_path / "c.toml", "[users.pat.paper]\nexchange = 'paper'\n")
    result = CliRunner().invoke(app, ["config", "check", "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    assert "plugin" not in result.stdout


def test_add_connection_with_a_typo_names_the_broken_plugin(
    broken_plugin_installed: None, tmp_path: Path
) -> None:
    cfg = write(tmp_path / "c.toml", "[users.alice]\n")
    result = CliRunner().invoke(
        app, ["config", "add-connection", "alice", "krakn", "--config", str(cfg)]
    )
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines()[0] == BROKEN_WARNING
    assert "unknown exchange 'krakn' (did you mean 'kraken'?)" in result.stderr
    assert cfg.read_text() == "[users.alice]\n"
