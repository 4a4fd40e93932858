"""`nija status`: every connection's health; exit 1 when one is not `ok` or `cached`."""

from __future__ import annotations

import typer

from nija_balances.cli import common, runtime
from nija_balances.cli.base import app
from nija_balances.cli.common import MaxAgeOption, RefreshOption


@app.command()
def status(
    json: common.JsonOption = False,
    refresh: RefreshOption = False,
    max_age: MaxAgeOption = None,
    config: common.ConfigOption = None,
    demo: common.DemoOption = False,
    no_color: common.NoColorOption = False,
    verbose: common.VerboseOption = False,
) -> None:
    """Every connection with its status, age, latency and error.

    Exits 1 when any connection is not `ok` or `cached` (disabled users excepted), so it
    can guard a cron job: `nija status || notify-operator`.
    """
    from nija_balances.render.json_doc import all_healthy, dumps, status_document

    opts = common.merge(config, demo, no_color, verbose)
    cfg = common.load_config(opts)
    portfolio = runtime.refresh(opts, cfg, refresh=refresh, max_age=max_age)
    if json:
        common.write_data(dumps(status_document(portfolio)))
    else:
        from nija_balances.render.detail import status_table

        common.out(opts).print(status_table(portfolio))
    if not all_healthy(portfolio):
        raise typer.Exit(common.EXIT_INCOMPLETE)
