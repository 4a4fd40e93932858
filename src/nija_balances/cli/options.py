"""Command-line options: the global ones, declared once, and the shared option types.

The global options (`--config`, `--demo`, `--no-color`, `-v`, `-q`) are click options declared
here once. The root group takes them before the command name, and every command group
(`cli/lazy.py`) attaches them to each command, so they are also accepted after it: `nija
--demo show` and `nija show --demo` are the same run. Each one is shown in the `--help` of
the commands it applies to and hidden (but still accepted) on the others. Their values go
to the run's `Terminal`, never to the command's parameters.
"""

from __future__ import annotations

import copy
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from typer.core import TyperOption

from nija_balances.cli.context import Terminal

if TYPE_CHECKING:
    # Typer 0.28 carries its own click (typer._click); only annotations come from it, the
    # running code uses typer.core classes alone
    from typer._click import Command, Context, Parameter


def _to_terminal(ctx: Context, param: Parameter, value: object) -> None:
    """Hand a global option's value to the terminal; what came from the command line wins
    over the environment and the defaults, wherever it was given."""
    assert param.name is not None
    source = ctx.get_parameter_source(param.name)
    if param.name == "config" and value is not None:
        value = Path(str(value))
    given = source is not None and source.name == "COMMANDLINE"
    ctx.ensure_object(Terminal).set_option(param.name, value, given=given)


CONFIG = TyperOption(
    param_decls=["--config", "config"],
    metavar="<path>",  # as Typer shows a Path option
    envvar="NIJA_CONFIG",
    show_envvar=True,
    help="Config file (TOML) or a NIJA config/users/ directory. [default: see `nija config path`]",
    expose_value=False,
    callback=_to_terminal,
)
DEMO = TyperOption(
    param_decls=["--demo", "demo"],
    is_flag=True,
    default=False,
    help="Use the built-in demo config (no account needed).",
    expose_value=False,
    callback=_to_terminal,
)
NO_COLOR = TyperOption(
    param_decls=["--no-color", "no_color"],
    is_flag=True,
    default=False,
    help="No colour (also when NO_COLOR is set).",
    expose_value=False,
    callback=_to_terminal,
)
VERBOSE = TyperOption(
    param_decls=["--verbose", "-v", "verbose"],
    count=True,
    default=0,
    metavar="",  # a counted flag: no "<int range>" in the help
    help="Log what is fetched to stderr (-vv: in detail). Only nija-balances' own log.",
    expose_value=False,
    callback=_to_terminal,
)
QUIET = TyperOption(
    param_decls=["--quiet", "-q", "quiet"],
    is_flag=True,
    default=False,
    help="Only errors on stderr: no warnings, notes or progress.",
    expose_value=False,
    callback=_to_terminal,
)
GLOBAL_OPTIONS = (CONFIG, DEMO, NO_COLOR, VERBOSE, QUIET)

# Which global options a command shows in its --help (all are accepted everywhere):
PRINTS = frozenset({"no_color", "quiet"})  # prints in colour, reads no config
READS = PRINTS | {"config", "demo"}  # reads the config
FETCHES = READS | {"verbose"}  # and fetches balances (-v logs what is fetched)
EDITS = PRINTS | {"config"}  # writes the config file (the demo cannot be written)


def with_global_options(command: Command, shown: Collection[str]) -> Command:
    """Attach the global options to `command` (after its own): those named in `shown` as
    they are, the others hidden from its --help."""
    for option in GLOBAL_OPTIONS:
        if option.name in shown:
            command.params.append(option)
        else:
            hidden = copy.copy(option)
            hidden.hidden = True
            command.params.append(hidden)
    return command


# ------------------------------------------------------------------ shared by several commands

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
ForceOption = Annotated[
    bool, typer.Option("--force", help="Replace an existing file (its content is lost).")
]

MIN_INTERVAL = 5.0


def finite_interval(value: float) -> float:
    """`nan` passes any minimum (every comparison with it is false) and would refresh
    without pause; `inf` would never refresh: both are refused."""
    import math

    if not math.isfinite(value):
        raise typer.BadParameter(
            f"{value} is not a finite number of seconds (at least {MIN_INTERVAL:g})"
        )
    return value


IntervalOption = Annotated[
    float,
    typer.Option(
        "--interval",
        min=MIN_INTERVAL,
        callback=finite_interval,
        metavar="SECONDS",
        help=f"Seconds between refreshes (at least {MIN_INTERVAL:g}).",
    ),
]
