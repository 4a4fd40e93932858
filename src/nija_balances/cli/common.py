"""What every command shares: global options, the two consoles, config loading, exit codes."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, NoReturn

import typer

if TYPE_CHECKING:
    import logging

    from rich.console import Console

    from nija_balances.domain.models import Config

EXIT_OK = 0
EXIT_INCOMPLETE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        envvar="NIJA_CONFIG",
        help="Config file (TOML) or a NIJA config/users/ directory. "
        "[default: see `nija config path`]",
        show_default=False,
    ),
]
DemoOption = Annotated[
    bool, typer.Option("--demo", help="Use the built-in demo config (no account needed).")
]
NoColorOption = Annotated[
    bool, typer.Option("--no-color", help="No colour (also when NO_COLOR is set).")
]
VerboseOption = Annotated[
    bool, typer.Option("--verbose", "-v", help="Log what is fetched to stderr.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the JSON document on stdout.")]
RefreshOption = Annotated[
    bool, typer.Option("--refresh", help="Fetch now; ignore cached balances.")
]
MaxAgeOption = Annotated[
    float | None,
    typer.Option(
        "--max-age",
        min=0,
        metavar="SECONDS",
        help="Serve cached balances younger than this (overrides settings.cache_ttl once).",
        show_default=False,
    ),
]
UserOption = Annotated[
    str | None, typer.Option("--user", metavar="ID", help="Only this user.", show_default=False)
]
BrokerOption = Annotated[
    str | None,
    typer.Option(
        "--broker",
        metavar="NAME",
        help="Only connections with this name or exchange id.",
        show_default=False,
    ),
]
BasisOption = Annotated[
    Literal["equity", "cash"] | None,
    typer.Option(
        "--basis",
        help="equity: every asset valued; cash: quote currency + stablecoins. "
        "[default: settings.basis]",
        show_default=False,
    ),
]


@dataclass
class GlobalOptions:
    """Options given before the command (`nija --demo show`) or after it (`nija show --demo`)."""

    config: Path | None = None
    demo: bool = False
    no_color: bool = False
    verbose: bool = False


_globals = GlobalOptions()


def set_globals(config: Path | None, demo: bool, no_color: bool, verbose: bool) -> None:
    """Called by the app callback with the options given before the command."""
    _globals.config, _globals.demo = config, demo
    _globals.no_color, _globals.verbose = no_color, verbose


def merge(
    config: Path | None = None, demo: bool = False, no_color: bool = False, verbose: bool = False
) -> GlobalOptions:
    """Combine a command's own copies of the global options with the app-level ones."""
    opts = GlobalOptions(
        config=config or _globals.config,
        demo=demo or _globals.demo,
        no_color=no_color or _globals.no_color or bool(os.environ.get("NO_COLOR")),
        verbose=verbose or _globals.verbose,
    )
    if opts.verbose:
        import logging

        # Only our own logger: third-party libraries may log requests in detail.
        logger = logging.getLogger("nija_balances")
        if not any(h.get_name() == _VERBOSE_HANDLER for h in logger.handlers):
            logger.addHandler(_stderr_handler())
        logger.setLevel(logging.INFO)
    elif "logging" in sys.modules:  # an earlier `-v` in this process (tests, API users)
        import logging

        logging.getLogger("nija_balances").setLevel(logging.NOTSET)
    return opts


_VERBOSE_HANDLER = "nija-balances-verbose"


def _stderr_handler() -> logging.Handler:
    """A handler writing to whatever `sys.stderr` is at the time (not the one of the first
    `-v`: in one process, e.g. tests, that stream may be closed by the next command)."""
    import logging

    class CurrentStderr(logging.StreamHandler):  # type: ignore[type-arg]
        def emit(self, record: logging.LogRecord) -> None:
            self.stream = sys.stderr
            super().emit(record)

    handler = CurrentStderr()
    handler.set_name(_VERBOSE_HANDLER)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    return handler


_consoles: dict[str, Console] = {}


def out(opts: GlobalOptions) -> Console:
    """The stdout console: data only. No colour when asked or when stdout is not a terminal."""
    return _console("out", opts, sys.stdout)


def err(opts: GlobalOptions) -> Console:
    """The stderr console: messages, warnings and progress."""
    return _console("err", opts, sys.stderr)


def _console(kind: str, opts: GlobalOptions, stream: object) -> Console:
    key = f"{kind}:{opts.no_color}:{id(stream)}"
    if key not in _consoles:
        from rich.console import Console

        _consoles[key] = Console(
            file=stream,  # type: ignore[arg-type]
            no_color=opts.no_color,
            highlight=False,
            soft_wrap=kind == "err",  # messages are never broken mid-word
            emoji=False,
        )
    return _consoles[key]


def write_data(text: str) -> None:
    """Machine-readable output (JSON) straight to stdout, untouched by Rich."""
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()


def fail(opts: GlobalOptions, message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print `error: message` on stderr and exit with `code` (2: usage or config error)."""
    from rich.markup import escape

    err(opts).print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code)


def load_config(opts: GlobalOptions) -> Config:
    """Load the config the options name; a `ConfigError` exits 2 with its message."""
    from nija_balances.config.sources import load_config as load
    from nija_balances.config.syntax import ConfigError

    try:
        config = load(opts.config, demo=opts.demo)
    except ConfigError as exc:
        fail(opts, str(exc))
    for warning in config.warnings:
        from rich.markup import escape

        err(opts).print(f"[yellow]warning:[/] {escape(warning)}")
    return config
