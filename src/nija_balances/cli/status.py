"""`nija status`: every connection's health; exit 1 when one is not `ok` or `cached`."""

from __future__ import annotations

import typer

from nija_balances.cli import EXIT_INCOMPLETE
from nija_balances.cli.context import Terminal
from nija_balances.cli.options import JsonOption, MaxAgeOption, RefreshOption


def status(
    ctx: typer.Context,
    json: JsonOption = False,
    refresh: RefreshOption = False,
    max_age: MaxAgeOption = None,
) -> None:
    """Every connection with its status, age, latency and error.

    Exits 1 when any connection is not `ok` or `cached` (disabled users excepted), so it
    can guard a cron job: `nija status || notify-operator`.
    """
    from nija_balances.render.json_doc import (
        all_healthy,
        dumps,
        status_document,
        stdout_ascii_only,
    )

    term = Terminal.of(ctx)
    portfolio = term.refresh(term.load_config(), refresh=refresh, max_age=max_age)
    if json:
        term.write_data(dumps(status_document(portfolio), ascii_only=stdout_ascii_only()))
    else:
        from nija_balances.render.detail import status_table
        from nija_balances.render.frame import print_report

        print_report(term.out, status_table(portfolio))
    if not all_healthy(portfolio):
        raise typer.Exit(EXIT_INCOMPLETE)
