"""The root's own options and the global ones: `--version`, shell completion, `-q`,
`-v`/`-vv`, and what a bare `nija` does."""

from __future__ import annotations

import importlib.metadata
import io
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from conftest import write
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
    assert done.stdout.split() == ["show", "status", "sync", "serve"]
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


# ------------------------------------------------------------------ -q / --quiet

WARNED = '[users.pat.paper]\nexchange = "paper"\nbalances = { USD = 5 }\napi_key = "abcd1234"\n'


@pytest.fixture
def warned(tmp_path: Path) -> Path:
    """A config whose loading warns (inline secret in a file others can read)."""
    path = write(tmp_path / "c.toml", WARNED)
    path.chmod(0o644)
    return path


@pytest.mark.parametrize(
    "args",
    [("-q", "show"), ("--quiet", "show"), ("show", "-q"), ("-q", "show", "--json")],
)
def test_quiet_silences_the_warnings_not_the_data(warned: Path, args: tuple[str, ...]) -> None:
    loud = nija(*[a for a in args if a not in ("-q", "--quiet")], "--config", warned)
    assert loud.stderr.startswith("warning: ")
    quiet = nija(*args, "--config", warned)
    assert (quiet.exit_code, quiet.stderr) == (0, "")
    assert quiet.stdout.splitlines()[0] == loud.stdout.splitlines()[0]
    assert len(quiet.stdout.splitlines()) == len(loud.stdout.splitlines())


def test_quiet_still_shows_errors(tmp_path: Path) -> None:
    result = nija("-q", "show", "--config", tmp_path / "missing.toml")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")


def test_quiet_silences_notes_and_the_progress_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    """Progress is drawn only on a terminal: here stderr is made one."""
    monkeypatch.setenv("TERM", "xterm")
    from rich.console import Console

    from nija_balances.cli.context import Terminal
    from nija_balances.config.sources import load_config

    for quiet in (False, True):
        term = Terminal()
        term.set_option("quiet", quiet, given=True)
        seen = io.StringIO()
        term.err = Console(file=seen, force_terminal=True, width=80)  # type: ignore[misc]
        term.refresh(load_config(None, demo=True))
        term.say("a note")
        term.warn("a warning")
        assert ("Fetching" in seen.getvalue()) is not quiet
        assert ("a note" in seen.getvalue()) is not quiet
        assert ("a warning" in seen.getvalue()) is not quiet


# ------------------------------------------------------------------ -v / -vv


@pytest.fixture
def logging_store(monkeypatch: pytest.MonkeyPatch) -> None:
    """`nija cache info` logs one record at each level from us and from third parties."""
    from nija_balances.cli import cache

    real = cache._open_store

    def logged() -> object:
        ours = logging.getLogger("nija_balances.store.sqlite")
        ours.debug("ours at debug")
        ours.info("ours at info")
        for name in ("ccxt.base.exchange", "urllib3.connectionpool", "aiohttp.client"):
            logging.getLogger(name).debug("%s request at debug", name)
            logging.getLogger(name).info("%s request at info", name)
        return real()

    monkeypatch.setattr(cache, "_open_store", logged)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), []),
        (("-v",), ["INFO nija_balances.store.sqlite: ours at info"]),
        (("-vv",), ["DEBUG nija_balances.store.sqlite: ours at debug",
                    "INFO nija_balances.store.sqlite: ours at info"]),
        (("-v", "cache", "info", "-v"), ["DEBUG nija_balances.store.sqlite: ours at debug",
                                         "INFO nija_balances.store.sqlite: ours at info"]),
        (("--verbose", "--verbose"), ["DEBUG nija_balances.store.sqlite: ours at debug",
                                      "INFO nija_balances.store.sqlite: ours at info"]),
    ],
)  # fmt: skip
def test_verbose_levels_log_ours_only(
    logging_store: None, args: tuple[str, ...], expected: list[str]
) -> None:
    command = () if "cache" in args else ("cache", "info")
    result = nija(*args, *command)
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == expected
    assert "request" not in result.stderr  # never a third party's records


THIRD_PARTY = """
import logging, sys
from nija_balances.cli import cache, main

real = cache._open_store

def logged():
    logging.getLogger("asyncio").warning("a third-party warning")
    logging.getLogger("asyncio").error("a third-party error")
    return real()

cache._open_store = logged
sys.argv = ["nija", *sys.argv[1:]]
main()
"""


def test_quiet_drops_third_party_warnings_not_errors(tmp_path: Path) -> None:
    """In a real process (pytest gives the root logger a handler of its own)."""

    def run(*args: str) -> str:
        env = {**os.environ, "NIJA_BALANCES_HOME": str(tmp_path)}
        done = subprocess.run(
            [sys.executable, "-c", THIRD_PARTY, *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return done.stderr

    assert run("cache", "info").splitlines() == ["a third-party warning", "a third-party error"]
    assert run("-q", "cache", "info").splitlines() == ["a third-party error"]


# ------------------------------------------------------------------ bare `nija`


@pytest.mark.parametrize("args", [(), ("config",), ("cache",)], ids=["nija", "config", "cache"])
def test_a_bare_group_prints_its_help_and_exits_0(args: tuple[str, ...]) -> None:
    result = nija(*args)
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout.lstrip(" \n").startswith("Usage: nija ")
    assert result.stdout == nija(*args, "--help").stdout
    assert "Commands" in result.stdout


def test_a_bare_nija_in_a_real_process(tmp_path: Path) -> None:
    env = {**os.environ, "NIJA_BALANCES_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "nija_balances"], capture_output=True, text=True, env=env, timeout=60
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert "Usage: " in done.stdout and "Commands" in done.stdout
