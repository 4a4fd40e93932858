"""The `nija` command: the root group, its global options and the map of its commands.

`app` is the whole application (the console script runs it through `cli.main`; tests invoke
it with typer's CliRunner). Each command lives in its own module, imported only when it
runs; the map below names it, gives its one-line help and the global options its `--help`
shows.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperOption
from typer.exceptions import TyperException

from nija_balances.cli import EXIT_SOFTWARE, failure
from nija_balances.cli.context import Terminal
from nija_balances.cli.lazy import Lazy, LazyGroup
from nija_balances.cli.options import EDITS, FETCHES, GLOBAL_OPTIONS, READS

if TYPE_CHECKING:
    from typer._click import Context, Parameter

COMMANDS = {
    "init": Lazy(
        "nija_balances.cli.config.edit:init",
        "Write a commented starter config (mode 600) that works right away.",
        EDITS,
    ),
    "show": Lazy(
        "nija_balances.cli.show:show",
        "Platform and user balances with subtotals and a summary.",
        FETCHES,
    ),
    "status": Lazy(
        "nija_balances.cli.status:status",
        "Every connection with its status, age, latency and error.",
        FETCHES,
    ),
    "user": Lazy(
        "nija_balances.cli.user:user",
        "One user: every connection with its assets (amount, price, USD value) and the subtotal.",
        FETCHES,
    ),
    "watch": Lazy(
        "nija_balances.cli.watch:watch",
        "A live view of every balance that refreshes in place.",
        FETCHES,
    ),
    "history": Lazy(
        "nija_balances.cli.history:history",
        "Equity over time per user, with a sparkline and today's P&L.",
        READS,
    ),
    "pnl": Lazy(
        "nija_balances.cli.pnl:pnl",
        "Profit and loss per user: today, total, realized, unrealized, fees, win rate.",
        READS,
    ),
    "trades": Lazy(
        "nija_balances.cli.trades:trades",
        "Recent fills with the realized P&L of what each one closed.",
        READS,
    ),
    "sync": Lazy(
        "nija_balances.cli.sync:sync",
        "Fetch every connection's trades and deposits/withdrawals into the store.",
        FETCHES,
    ),
    "serve": Lazy(
        "nija_balances.cli.serve:serve",
        "The web dashboard: user cards, the report, a JSON API and Prometheus metrics.",
        FETCHES,
    ),
    "monitor": Lazy(
        "nija_balances.cli.monitor:monitor",
        "Watch every balance and send alerts: BALANCE_LOW, BALANCE_DROP, CONNECTION_FAILING.",
        FETCHES,
    ),
    "alerts": Lazy(
        "nija_balances.cli.monitor:alerts",
        "Active and recent alerts, and sinks that failed to deliver.",
        READS,
    ),
    "cache": Lazy(
        "nija_balances.cli.cache:cache",
        "Describe or clear the on-disk cache (last good balances and exchange market lists).",
    ),
    "config": Lazy(
        "nija_balances.cli.config:config",
        "Write, edit, import and inspect the config file.",
    ),
}


def _print_version(ctx: Context, param: Parameter, value: object) -> None:
    if not value or ctx.resilient_parsing:
        return
    from importlib.metadata import PackageNotFoundError, version

    from nija_balances import __version__

    try:
        installed = version("nija-balances")
    except PackageNotFoundError:  # run from a source tree that is not installed
        installed = __version__
    sys.stdout.write(f"nija-balances {installed}\n")
    ctx.exit()


VERSION = TyperOption(
    param_decls=["--version"],
    is_flag=True,
    is_eager=True,  # before the other options: reads no config, runs no command
    expose_value=False,
    callback=_print_version,
    help="Print the version and exit.",
)


class Root(LazyGroup):
    """The `nija` group: the commands above, and the global options before the command.

    An exception escaping a command that is not one of click's (usage errors, exits) goes to
    `Terminal.unexpected`: exit 2 for a user error, else one line and exit 70.
    """

    def __init__(self, **attrs: Any) -> None:  # Typer builds it from the class
        super().__init__(lazy=COMMANDS, **attrs)
        self.params.extend((*GLOBAL_OPTIONS, VERSION))

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """The whole run (the console script's and CliRunner's) with `sys.stdout` guarded:
        stdout that cannot be written ends it with one line (exit 74), or silently when
        the reader went away (exit 141); an exception while the options are parsed is an
        internal error (exit 70)."""
        with failure.guarded_stdout() as guard:
            try:
                try:
                    return super().main(*args, **kwargs)
                finally:
                    guard.flush()  # what is still buffered fails here, not at exit
            except failure.OutputError as exc:
                sys.exit(failure.output_failed(exc, guard))
            except (TyperException, typer.Exit, typer.Abort):
                raise
            except Exception as exc:  # before any command ran: no terminal, no config
                text = failure.internal_error_text(
                    exc, verbose=False, secrets=failure.env_secrets()
                )
                failure.write_stderr(text)
                sys.exit(EXIT_SOFTWARE)

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except (TyperException, typer.Exit, typer.Abort, failure.OutputError):
            raise
        except Exception as exc:
            ctx.ensure_object(Terminal).unexpected(exc)


def _root() -> None:
    """Nothing to do: the global options went to the run's Terminal as they were parsed."""


app = typer.Typer(
    name="nija",
    cls=Root,
    callback=_root,
    help="Every balance you run — platform and user accounts across exchanges — in one report.\n\n"
    "Start with `nija show --demo`, then `nija init` to write your own config.",
    epilog="Exit codes: 0 ok · 1 incomplete: a connection failed or needs attention "
    "(`status`, `show --strict`, `config check`), or `config import` skipped an entry · "
    "2 usage or config error · 70 internal error (a bug; `-v` shows the traceback) · "
    "74 stdout could not be written (full or closed) · 130 interrupted (Ctrl-C) · "
    "141 the reader of stdout went away (`| head`), silently · 143 `watch` ended by SIGTERM",
    no_args_is_help=True,
    add_completion=True,  # --install-completion, --show-completion (Typer's)
    rich_markup_mode="markdown",
    context_settings={"help_option_names": ["-h", "--help"]},
)
