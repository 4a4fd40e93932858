"""The root's own options and the global ones: `--version`, shell completion, `-q`,
`-v`/`-vv`, and what a bare `nija` does."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

from typer.testing import CliRunner, Result

from nija_balances.cli.root import app


def nija(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args], env=env)


# ------------------------------------------------------------------ --version


def test_version() -> None:
    version = importlib.metadata.version("nija-balances")
    result = nija("--version")
    assert (result.exit_code, result.stdout, result.stderr) == (
        0,
        f"nija-balances {version}\n",
        "",
    )


def test_version_wins_over_a_command_and_reads_no_config(tmp_path: Path) -> None:
    result = nija("--version", "--config", tmp_path / "missing.toml", "show")
    assert result.exit_code == 0
    assert result.stdout.startswith("nija-balances ")
