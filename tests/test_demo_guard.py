"""The demo never passes for real data: `--demo` with `--config` is refused, and every output
of the demo says it is one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import write
from nija_balances.cli.root import app

runner = CliRunner()
ENV = {"NO_COLOR": "1", "COLUMNS": "100"}
REAL = '[users.alice.desk]\nexchange = "paper"\nbalances = { USD = 42 }\n'


@pytest.mark.parametrize(
    "args",
    [
        ("show", "--demo", "--config", "{cfg}"),
        ("show", "--config", "{cfg}", "--demo"),
        ("--demo", "show", "--config", "{cfg}"),
        ("--config", "{cfg}", "show", "--demo"),
        ("--config", "{cfg}", "--demo", "status", "--json"),
        ("user", "alice", "--demo", "--config", "{cfg}"),
        ("watch", "--demo", "--config", "{cfg}"),
    ],
)
def test_demo_with_config_is_a_usage_error(tmp_path: Path, args: tuple[str, ...]) -> None:
    cfg = write(tmp_path / "real.toml", REAL)
    result = runner.invoke(app, [a.format(cfg=cfg) for a in args], env=ENV)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: --demo and --config cannot be combined (--demo reads the built-in demo, "
        "not your config)"
    ]


def test_demo_wins_over_nija_config_in_the_environment(tmp_path: Path) -> None:
    cfg = write(tmp_path / "real.toml", REAL)
    result = runner.invoke(app, ["show", "--demo", "--json"], env={**ENV, "NIJA_CONFIG": str(cfg)})
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["demo"] is True and "bob" in doc["balances"]["users"]  # the demo's users
    # and without --demo, NIJA_CONFIG is read
    result = runner.invoke(app, ["show", "--json"], env={**ENV, "NIJA_CONFIG": str(cfg)})
    assert json.loads(result.stdout)["balances"]["users"] == {"alice": {"desk": 42.0}}


def test_demo_report_header_says_demo(tmp_path: Path) -> None:
    out = runner.invoke(app, ["show", "--demo"], env=ENV).stdout
    assert out.splitlines()[1] == "NIJA USER ACCOUNT BALANCES — DEMO (simulated accounts)"
    cfg = write(tmp_path / "real.toml", REAL)
    real = runner.invoke(app, ["show", "--config", str(cfg)], env=ENV).stdout
    assert real.splitlines()[1] == "NIJA USER ACCOUNT BALANCES"
    assert "DEMO" not in real


@pytest.mark.parametrize(
    "args", [("show", "--json"), ("user", "alice", "--json"), ("status", "--json")]
)
def test_every_json_document_says_whether_it_is_the_demo(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    demo = json.loads(runner.invoke(app, [*args, "--demo"], env=ENV).stdout)
    assert demo["demo"] is True
    cfg = write(tmp_path / "real.toml", REAL)
    real = json.loads(runner.invoke(app, [*args, "--config", str(cfg)], env=ENV).stdout)
    assert real["demo"] is False
