"""The warm path: every connection served from the cache imports no ccxt and starts no loop."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import write
from warm_store import CONFIG, CREDS, fill

PROBE = """
import sys
from nija_balances.cli import main
sys.argv = ["nija", *sys.argv[1:]]
try:
    main()
except SystemExit as exit:
    code = exit.code or 0
else:
    code = 0
print("RICH:" + ("yes" if "rich" in sys.modules else "no"), file=sys.stderr)
watched = ("ccxt", "asyncio", "aiohttp")
heavy = sorted(m for m in watched if m in sys.modules)
print("IMPORTED:" + ",".join(heavy), file=sys.stderr)
commands = ("show", "status", "user", "watch", "history", "serve", "cache", "config")  # a module (or package) each
loaded = [c for c in commands if f"nija_balances.cli.{c}" in sys.modules]
print("COMMANDS:" + ",".join(loaded), file=sys.stderr)
sys.exit(code)
"""


def warm(tmp_path: Path) -> Path:
    cfg = write(tmp_path / "config.toml", CONFIG)
    fill(cfg)
    return cfg


def run(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    outer = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    env = {**outer, **CREDS, **extra}
    return subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_warm_show_imports_no_ccxt_and_no_event_loop(tmp_path: Path) -> None:
    cfg = warm(tmp_path)
    result = run("show", "--json", "--config", str(cfg))
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert {c["status"] for c in doc["connections"]} == {"cached"}
    assert doc["summary"]["total_user_capital"] == 200.0
    assert "IMPORTED:\n" in result.stderr  # none of ccxt, asyncio, aiohttp
    assert "RICH:no\n" in result.stderr
    assert result.stderr.endswith("COMMANDS:show\n"), result.stderr  # and no other command


def test_a_piped_show_prints_its_tables_without_importing_rich(tmp_path: Path) -> None:
    cfg = warm(tmp_path)
    piped = run("show", "--config", str(cfg))
    assert piped.returncode == 0, piped.stderr
    assert "User: alice" in piped.stdout and "$200.00" in piped.stdout
    assert "\x1b[" not in piped.stdout
    assert "RICH:no\n" in piped.stderr, piped.stderr
    # the same pipe taken for a terminal (FORCE_COLOR): Rich draws it, in colour
    forced = run("show", "--config", str(cfg), FORCE_COLOR="1", TERM="xterm-256color")
    assert forced.returncode == 0, forced.stderr
    assert "\x1b[" in forced.stdout and "RICH:yes\n" in forced.stderr


def test_a_cold_connection_does_import_ccxt(tmp_path: Path) -> None:
    cfg = warm(tmp_path)
    refused = "http://127.0.0.1:9"  # nothing listens on the discard port: connection refused
    api = f"{{ public = '{refused}', private = '{refused}' }}"
    cfg.write_text(CONFIG + f"[users.carol.binance]\nccxt = {{ urls = {{ api = {api} }} }}\n")
    env_extra = ("BINANCE_USER_CAROL_API_KEY", "BINANCE_USER_CAROL_API_SECRET")
    CREDS.update(dict.fromkeys(env_extra, "x"))
    try:
        result = run("status", "--json", "--config", str(cfg), "--max-age", "600")
    finally:
        for name in env_extra:
            CREDS.pop(name)
    assert "ccxt" in result.stderr.split("IMPORTED:")[1]  # the probe itself is honest
    statuses = {c["connection"]: c["status"] for c in json.loads(result.stdout)["connections"]}
    assert statuses["binance"] == "unreachable" and statuses["kraken"] == "cached"


def test_only_the_command_run_is_imported_wherever_the_global_options_are(
    tmp_path: Path,
) -> None:
    cfg = warm(tmp_path)
    for args in (
        ("--config", str(cfg), "show", "--json"),
        ("-v", "--no-color", "--config", str(cfg), "show", "--json", "--no-color"),
    ):
        result = run(*args)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["summary"]["connections_total"] >= 3
        assert "IMPORTED:\n" in result.stderr
        assert result.stderr.endswith("COMMANDS:show\n"), result.stderr


def test_help_lists_every_command_without_importing_one() -> None:
    result = run("--help")
    assert result.returncode == 0, result.stderr
    assert result.stderr.endswith("IMPORTED:\nCOMMANDS:\n"), result.stderr
    for command in ("init", "show", "status", "user", "watch", "cache", "config"):
        assert f"│ {command} " in result.stdout


def test_the_listed_summaries_are_the_commands_own() -> None:
    """`--help` lists each command from its summary in the lazy map, so keep them the same."""
    import typer
    from typer.main import get_command

    from nija_balances.cli.lazy import LazyGroup
    from nija_balances.cli.root import app

    def check(group: LazyGroup) -> int:
        checked = 0
        for name, entry in group.lazy.items():
            command = group.get_command(typer.Context(group), name)
            assert command is not None and command.help is not None, name
            assert " ".join(command.help.split("\n\n")[0].split()) == entry.summary, name
            if isinstance(command, LazyGroup):
                checked += check(command)
            checked += 1
        return checked

    root = get_command(app)
    assert isinstance(root, LazyGroup)
    assert check(root) == 14 + 6 + 2  # commands, config's, cache's
