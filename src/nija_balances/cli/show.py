"""`nija show`: the balance report (the seeds' tables), or the JSON document."""

from __future__ import annotations

from typing import Annotated

import typer

from nija_balances.cli import EXIT_INCOMPLETE
from nija_balances.cli.context import Terminal
from nija_balances.cli.options import (
    BasisOption,
    BrokerOption,
    JsonOption,
    MaxAgeOption,
    RefreshOption,
    UserOption,
)


def show(
    ctx: typer.Context,
    json: JsonOption = False,
    refresh: RefreshOption = False,
    max_age: MaxAgeOption = None,
    user: UserOption = None,
    broker: BrokerOption = None,
    basis: BasisOption = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 when the totals leave out a connection.")
    ] = False,
) -> None:
    """Platform and user balances with subtotals and a summary.

    Every configured user and connection is listed, including the ones that failed or have
    no credentials, with the reason. Totals say how many connections they cover.

    Examples: `nija show --demo` · `nija show --json` · `nija show --user alice --refresh`
    """
    term = Terminal.of(ctx)
    full = term.load_config()
    config = term.narrow(full, user, broker, basis)
    portfolio = term.refresh(config, refresh=refresh, max_age=max_age)
    if json:
        from nija_balances.render.json_doc import document, dumps, stdout_ascii_only

        term.write_data(dumps(document(portfolio), ascii_only=stdout_ascii_only()))
    else:
        from nija_balances.render.frame import print_report
        from nija_balances.render.table import platform_absence, report

        note = platform_absence(full, config, user, broker)
        print_report(term.out, report(portfolio, show_platform=user is None, platform_note=note))
    if strict and not portfolio.summary.complete:
        raise typer.Exit(EXIT_INCOMPLETE)
