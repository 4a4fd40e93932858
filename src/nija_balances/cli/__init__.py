"""The `nija` command line (Typer). Commands live in one module each and stay thin.

`main()` imports only the module of the command being run: Typer builds every registered
command on each call, and a warm `nija show` should cost little more than starting Python.
`nija_balances.cli.app` is the full application (help, tests).
"""

from __future__ import annotations

import sys
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import typer

# command name -> the module that defines it
COMMAND_MODULES: dict[str, str] = {
    "show": "show",
    "status": "status",
    "user": "user",
    "watch": "watch",
    "init": "config.edit",
    "config": "config.edit",
    "cache": "cache",
}
_VALUE_OPTIONS = frozenset({"--config"})  # global options that take a value


def _load(modules: set[str]) -> typer.Typer:
    for module in sorted(modules):
        import_module(f"nija_balances.cli.{module}")
    from nija_balances.cli.base import app

    return app


def full_app() -> typer.Typer:
    """The application with every command registered."""
    return _load(set(COMMAND_MODULES.values()))


def command_in(argv: list[str]) -> str | None:
    """The command named on a command line (`nija --config x show` -> `show`)."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in _VALUE_OPTIONS:
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


EXIT_INTERRUPTED = 130  # as common.EXIT_INTERRUPTED (not imported: Ctrl-C may come first)


def main() -> None:
    """Console-script entry point. Ctrl-C anywhere exits 130 with one line, no traceback."""
    try:
        module = COMMAND_MODULES.get(command_in(sys.argv[1:]) or "")
        app = _load({module}) if module else full_app()
        app()  # Typer turns a KeyboardInterrupt inside a command into exit 130, silently
    except KeyboardInterrupt:  # while importing, or outside Typer's handling
        _interrupted()
        raise SystemExit(EXIT_INTERRUPTED) from None
    except SystemExit as exc:
        if exc.code == EXIT_INTERRUPTED:
            _interrupted()
        raise


def _interrupted() -> None:
    import contextlib

    with contextlib.suppress(OSError, ValueError):  # stderr gone: the exit code says it
        sys.stderr.write("Interrupted\n")
        sys.stderr.flush()


def __getattr__(name: str) -> Any:
    if name == "app":
        return full_app()
    raise AttributeError(f"module 'nija_balances.cli' has no attribute {name!r}")
