"""The root's own options and the global ones: `--version`, shell completion, `-q`,
`-v`/`-vv`, and what a bare `nija` does."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

import pytest
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


# ------------------------------------------------------------------ shell completion

PROBE = """
import sys
from nija_balances.cli import main
sys.argv = ["nija", *sys.argv[1:]]
try:
    main()
finally:
    commands = ("show", "status", "user", "watch", "cache", "config")
    loaded = [c for c in commands if f"nija_balances.cli.{c}" in sys.modules]
    print("COMMANDS:" + ",".join(loaded), file=sys.stderr)
"""


def complete(words: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """What bash completion asks of `nija` for the command line `words` (cursor at the end)."""
    env = {
        **os.environ,
        "NIJA_BALANCES_HOME": str(tmp_path),
        "_NIJA_COMPLETE": "complete_bash",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1)),
    }
    return subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=60
    )


def test_show_completion_prints_the_script(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION", "1")
    result = nija("--show-completion", "bash")
    assert result.exit_code == 0, result.output
    assert "_NIJA_COMPLETE=complete_bash" in result.stdout
    assert "--install-completion" in nija("--help").stdout


def test_completing_a_command_name_imports_no_command(tmp_path: Path) -> None:
    done = complete("nija s", tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["show", "status"]
    assert done.stderr == "COMMANDS:\n"


def test_completing_a_subcommand_and_options(tmp_path: Path) -> None:
    assert complete("nija config ", tmp_path).stdout.split() == [
        "path",
        "add-user",
        "add-connection",
        "import",
        "show",
        "check",
    ]
    options = complete("nija show --j", tmp_path)
    assert options.stdout.split() == ["--json"]
    assert options.stderr == "COMMANDS:show\n"  # the command completed is the one imported
