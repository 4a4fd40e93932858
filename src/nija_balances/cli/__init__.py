"""The `nija` command line (Typer). Commands live in one module each and stay thin.

- `root.py`: the `nija` group (`app`) and the map of its commands, imported lazily
- `lazy.py`: `LazyGroup`, which imports a command's module only when the command runs
- `options.py`: the global options (declared once) and the option types commands share
- `context.py`: `Terminal`, the one object every command works through
- a module per command (`show`, `status`, `user`, `watch`, `cache`), `config/` for
  `nija init` and `nija config ...`

This module holds the exit codes and `main()`, and imports nothing at load, so that Ctrl-C
while the rest is imported still ends with one line.
"""

from __future__ import annotations

import sys

EXIT_OK = 0
EXIT_INCOMPLETE = 1  # some connection failed where the command promises it (status, --strict)
EXIT_USAGE = 2  # usage or config error
EXIT_SOFTWARE = 70  # internal error: a bug (EX_SOFTWARE); the traceback with -v
EXIT_IOERR = 74  # stdout could not be written: full or closed (EX_IOERR)
EXIT_INTERRUPTED = 130  # Ctrl-C
EXIT_PIPE = 141  # the reader of stdout went away (`| head -1`): 128 + SIGPIPE, silently


def main() -> None:
    """Console-script entry point. Ctrl-C anywhere exits 130 with one line, no traceback."""
    try:
        from nija_balances.cli.replay import replay

        code = replay(sys.argv[1:])  # a warm `show` printed again, if nothing changed
        if code is not None:
            raise SystemExit(code)
        from nija_balances.cli.root import app

        app()  # Typer turns a KeyboardInterrupt inside a command into exit 130, silently
    except KeyboardInterrupt:  # while importing, or outside Typer's handling
        _interrupted()
        raise SystemExit(EXIT_INTERRUPTED) from None
    except SystemExit as exc:
        if exc.code == EXIT_INTERRUPTED:
            _interrupted()
        raise
    finally:
        if (kept := sys.modules.get("nija_balances.cli.replay")) is not None:
            kept.forget()  # the inputs key of this run is not the next one's


def run() -> None:
    """The `nija` console script: `main()`, then the process ends without tearing down what
    it built (freeing ccxt's objects one by one took ~0.4 s after a refresh). Output is
    flushed first; nothing of ours waits for exit (no `atexit` work: the store is closed
    by the command)."""
    import contextlib
    import os

    try:
        main()
        code: int = 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:  # what Python does with `sys.exit("message")`
            _write_stderr(f"{exc.code}\n")
            code = 1
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:  # None: started with that stream closed
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
    os._exit(code)


def _write_stderr(text: str) -> None:
    import contextlib

    with contextlib.suppress(OSError, ValueError):
        sys.stderr.write(text)


def _interrupted() -> None:
    import contextlib

    with contextlib.suppress(OSError, ValueError):  # stderr gone: the exit code says it
        sys.stderr.write("Interrupted\n")
        sys.stderr.flush()
