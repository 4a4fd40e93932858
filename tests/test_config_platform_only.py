"""A config with a platform and no users is a config: the operator's own accounts alone.

Only a config with nothing in it (no user and no platform connection) is refused. A NIJA
directory holds users only (the platform's keys are environment variables, not files), so
one without users is still "no users found".
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import write
from nija_balances.config.loader import load_toml
from nija_balances.domain.syntax import ConfigError
from robustness.conftest import nija

PLATFORM_ONLY = '[platform.p]\nexchange = "paper"\nbalances = { USD = 125.5 }\n'


def test_a_platform_only_config_loads(tmp_path: Path) -> None:
    config = load_toml(write(tmp_path / "c.toml", PLATFORM_ONLY))
    assert config.users == ()
    assert [c.key for c in config.platform.connections] == ["platform/p"]
    master = load_toml(write(tmp_path / "m.toml", PLATFORM_ONLY.replace("platform", "master")))
    assert [c.key for c in master.platform.connections] == ["platform/p"]
    empty_users = load_toml(write(tmp_path / "e.toml", f"[users]\n{PLATFORM_ONLY}"))
    assert empty_users.users == ()


def test_a_platform_only_config_is_shown_and_checked(tmp_path: Path) -> None:
    cfg = write(tmp_path / "c.toml", PLATFORM_ONLY)
    run = nija("show", "--json", "--config", cfg)
    assert (run.code, run.err) == (0, "")
    doc = json.loads(run.out)
    assert doc["summary"]["platform_total"] == 125.5
    assert doc["summary"]["user_count"] == 0
    assert nija("show", "--config", cfg).code == 0
    check = nija("config", "check", "--config", cfg)
    assert check.code == 0, check.err


@pytest.mark.parametrize("text", ["", "# nothing\n", "[users]\n", "[platform]\nname = 'Desk'\n"])
def test_a_config_with_nothing_in_it_is_refused(tmp_path: Path, text: str) -> None:
    cfg = write(tmp_path / "c.toml", text)
    with pytest.raises(ConfigError) as info:
        load_toml(cfg)
    assert info.value.problem == "nothing is configured: no users and no platform connections"
    assert info.value.hint == (
        "add a user with `nija config add-user ID` (or a [users.ID] table), or a platform "
        "connection such as [platform.coinbase]"
    )
