"""Display names may hold bidirectional overrides or zero-width characters (ids may not):
every report prints them escaped, so a name cannot reorder or hide what follows it."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from conftest import write
from nija_balances.cli.root import app

CONFIG = """\
[platform]
name = "Desk\\u200b"

[platform.paper]
exchange = "paper"
balances = { USD = 1.0 }

[users.alice]
name = "Alice \\u202eevil"

[users.alice.paper]
exchange = "paper"
balances = { USD = 5.0 }
"""


def test_names_are_printed_escaped(tmp_path: Path) -> None:
    cfg = write(tmp_path / "c.toml", CONFIG)
    shown = CliRunner().invoke(app, ["show", "--config", str(cfg)])
    assert shown.exit_code == 0, shown.output
    assert "User: alice (Alice \\u202eevil)" in shown.stdout
    assert "PLATFORM ACCOUNT (Desk\\u200b)" in shown.stdout
    user = CliRunner().invoke(app, ["user", "alice", "--config", str(cfg)])
    assert "NIJA USER: alice (Alice \\u202eevil)" in user.stdout
    for text in (shown.stdout, user.stdout):
        assert "\u202e" not in text and "\u200b" not in text
