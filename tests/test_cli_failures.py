"""How a run ends when something goes wrong outside a command's own checks: an internal
error (a bug) is one line and exit 70, its traceback only with `-v`; no secret in either."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from conftest import write
from nija_balances.cli.root import app

SECRET = "sup3r-s3cret-VALUE-42"
INLINE = "inline-s3cret-VALUE-77"
ONE_LINE = (
    "error: internal error: RuntimeError: the store broke here (run with -v for the traceback)\n"
)


def nija(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args], env=env)


@pytest.fixture
def broken_store(monkeypatch: pytest.MonkeyPatch) -> None:
    from nija_balances.cli import cache

    def broken() -> object:
        raise RuntimeError(f"the store\nbroke here{os.environ.get('KRAKEN_USER_A_API_SECRET', '')}")

    monkeypatch.setattr(cache, "_open_store", broken)


def test_an_internal_error_is_one_line_and_exit_70(broken_store: None) -> None:
    result = nija("cache", "info")
    assert result.exit_code == 70, result.output
    assert isinstance(result.exception, SystemExit)
    assert (result.stdout, result.stderr) == ("", ONE_LINE)


def test_with_v_the_traceback_is_printed(broken_store: None) -> None:
    result = nija("-v", "cache", "info")
    assert result.exit_code == 70
    assert result.stderr.startswith("Traceback (most recent call last):\n")
    assert 'raise RuntimeError(f"the store' in result.stderr  # the source line, plain text
    assert result.stderr.endswith("error: internal error: RuntimeError: the store broke here\n")


def test_no_secret_in_the_message_or_the_traceback(broken_store: None) -> None:
    env = {"KRAKEN_USER_A_API_SECRET": SECRET}
    for args in (("cache", "info"), ("cache", "info", "-v")):
        result = nija(*args, env=env)
        assert result.exit_code == 70
        assert SECRET not in result.stderr
        assert "broke here***" in result.stderr


def test_no_inline_secret_of_the_loaded_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from nija_balances.cli.config import show

    cfg = write(
        tmp_path / "c.toml", f'[users.a.kraken]\napi_key = "{INLINE}"\napi_secret = "{INLINE}x"\n'
    )
    cfg.chmod(0o600)

    def broken(self: object, config: object) -> None:
        raise ValueError(f"cannot inspect {INLINE}x")

    monkeypatch.setattr(show.Inspector, "__init__", broken)
    result = nija("config", "show", "-v", "--config", cfg)
    assert result.exit_code == 70
    assert INLINE not in result.stderr
    assert result.stderr.endswith("error: internal error: ValueError: cannot inspect ***\n")


def test_a_user_error_escaping_a_command_is_still_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    from nija_balances.cli import cache
    from nija_balances.domain.syntax import ConfigError

    def refused() -> object:
        raise ConfigError("settings.cache_dir: not a directory")

    monkeypatch.setattr(cache, "_open_store", refused)
    result = nija("cache", "info")
    assert (result.exit_code, result.stderr) == (
        2,
        "error: settings.cache_dir: not a directory\n",
    )


PROBE = """
import sys
from nija_balances.cli import cache, main

def broken():
    raise RuntimeError("the store\\nbroke here")

cache._open_store = broken
sys.argv = ["nija", *sys.argv[1:]]
main()
"""


def test_the_real_process_prints_no_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "NIJA_BALANCES_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, "cache", "info"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert (done.returncode, done.stdout, done.stderr) == (70, "", ONE_LINE)


def test_the_exit_codes_are_in_the_help() -> None:
    text = " ".join(nija("--help").stdout.split())
    for code in ("0 ", "1 ", "2 ", "70 ", "130 "):
        assert f"{code}" in text
    assert "70 internal error" in text


# ------------------------------------------------------------------ stdout that cannot be written

NIJA = [sys.executable, "-m", "nija_balances"]
FULL = "error: cannot write to stdout: No space left on device\n"
CLOSED = "error: cannot write to stdout: it is closed\n"
COMMANDS = [
    pytest.param(("show", "--demo"), id="show"),
    pytest.param(("show", "--demo", "--json"), id="show-json"),
    pytest.param(("config", "show", "--demo"), id="config-show"),
    pytest.param(("cache", "info"), id="cache-info"),
    pytest.param(("--help",), id="help"),
]


def run_with_stdout(args: tuple[str, ...], redirect: str, home: Path) -> tuple[int, str]:
    """`nija ARGS` with stdout redirected by the shell (`> /dev/full`, `>&-`); its exit
    code and stderr."""
    env = {**os.environ, "NIJA_BALANCES_HOME": str(home)}
    done = subprocess.run(
        ["sh", "-c", f'exec "$@" {redirect}', "sh", *NIJA, *args],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        timeout=60,
    )
    return done.returncode, done.stderr


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("args", COMMANDS)
def test_a_full_stdout_is_one_line_and_exit_74(args: tuple[str, ...], tmp_path: Path) -> None:
    assert run_with_stdout(args, "> /dev/full", tmp_path) == (74, FULL)


@pytest.mark.parametrize("args", COMMANDS)
def test_a_closed_stdout_is_one_line_and_exit_74(args: tuple[str, ...], tmp_path: Path) -> None:
    assert run_with_stdout(args, ">&-", tmp_path) == (74, CLOSED)


def test_a_command_that_writes_nothing_to_stdout_does_not_mind_it_closed(tmp_path: Path) -> None:
    code, err = run_with_stdout(("config", "path", "--demo"), ">&-", tmp_path)
    assert (code, err) == (74, CLOSED)  # it does write (the path): refused
    code, err = run_with_stdout(("init",), ">&-", tmp_path)
    assert code == 0, err  # its messages go to stderr
    assert "wrote a starter config" in err


@pytest.mark.parametrize("args", COMMANDS[:3])
def test_a_reader_that_went_away_ends_the_run_silently_with_141(
    args: tuple[str, ...], tmp_path: Path
) -> None:
    """`nija show | head -1`: once the reader has gone, exit 141 (128 + SIGPIPE, what the
    shell reports for ls or cat) and not a word on stderr."""
    env = {**os.environ, "NIJA_BALANCES_HOME": str(tmp_path)}
    process = subprocess.Popen(
        [*NIJA, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # before the first write: the write fails with EPIPE
    err = process.stderr.read().decode()
    assert (process.wait(timeout=60), err) == (141, "")


def test_the_shell_pipe_into_head_exits_quietly(tmp_path: Path) -> None:
    env = {**os.environ, "NIJA_BALANCES_HOME": str(tmp_path)}
    command = " ".join(NIJA) + " show --demo | head -1; echo status=${PIPESTATUS[0]} >&2"
    done = subprocess.run(
        ["bash", "-c", command], capture_output=True, text=True, env=env, timeout=60
    )
    assert len(done.stdout.splitlines()) == 1
    assert done.stderr in ("status=0\n", "status=141\n")


def test_an_internal_error_while_the_options_are_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    from nija_balances.cli.context import Terminal

    def broken(self: Terminal, name: str, value: object, *, given: bool) -> None:
        raise KeyError(name)

    monkeypatch.setattr(Terminal, "set_option", broken)
    result = nija("--demo", "show")
    assert (result.exit_code, result.stdout) == (70, "")
    assert result.stderr == (
        "error: internal error: KeyError: 'demo' (run with -v for the traceback)\n"
    )
