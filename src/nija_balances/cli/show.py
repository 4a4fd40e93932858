"""`nija show`: the balance report (the seeds' tables), or the JSON document."""

from __future__ import annotations

from typing import Annotated

import typer

from nija_balances.cli import common, runtime
from nija_balances.cli.base import app
from nija_balances.cli.common import (
    BasisOption,
    BrokerOption,
    MaxAgeOption,
    RefreshOption,
    UserOption,
)


@app.command()
def show(
    json: common.JsonOption = False,
    refresh: RefreshOption = False,
    max_age: MaxAgeOption = None,
    user: UserOption = None,
    broker: BrokerOption = None,
    basis: BasisOption = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 when the totals leave out a connection.")
    ] = False,
    config: common.ConfigOption = None,
    demo: common.DemoOption = False,
    no_color: common.NoColorOption = False,
    verbose: common.VerboseOption = False,
) -> None:
    """Platform and user balances with subtotals and a summary.

    Every configured user and connection is listed, including the ones that failed or have
    no credentials, with the reason. Totals say how many connections they cover.

    Examples: `nija show --demo` · `nija show --json` · `nija show --user alice --refresh`
    """
    opts = common.merge(config, demo, no_color, verbose)
    cfg = runtime.narrow(opts, common.load_config(opts), user, broker, basis)
    portfolio = runtime.refresh(opts, cfg, refresh=refresh, max_age=max_age)
    if json:
        from nija_balances.render.json_doc import document, dumps

        common.write_data(dumps(document(portfolio)))
    else:
        from nija_balances.render.table import report

        common.out(opts).print(report(portfolio, show_platform=user is None))
    if strict and not portfolio.summary.complete:
        raise typer.Exit(common.EXIT_INCOMPLETE)
