"""`nija status` and `nija user`: connection health, and one user's assets."""

from __future__ import annotations

from typing import Annotated

import typer

from nija_balances.cli import common, runtime
from nija_balances.cli.base import app
from nija_balances.cli.common import BrokerOption, MaxAgeOption, RefreshOption


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


@app.command()
def user(
    user_id: Annotated[str, typer.Argument(metavar="ID", help="The user id, as in the config.")],
    broker: BrokerOption = None,
    json: common.JsonOption = False,
    refresh: RefreshOption = False,
    max_age: MaxAgeOption = None,
    config: common.ConfigOption = None,
    demo: common.DemoOption = False,
    no_color: common.NoColorOption = False,
    verbose: common.VerboseOption = False,
) -> None:
    """One user: every connection with its assets (amount, price, USD value) and the subtotal.

    Example: `nija user alice --demo`
    """
    opts = common.merge(config, demo, no_color, verbose)
    cfg = runtime.narrow(opts, common.load_config(opts), user_id, broker)
    portfolio = runtime.refresh(opts, cfg, refresh=refresh, max_age=max_age)
    account = portfolio.user(user_id)
    assert account is not None  # narrow() rejected unknown ids
    if json:
        from nija_balances.render.json_doc import dumps, user_document

        common.write_data(dumps(user_document(account, portfolio)))
        return
    from nija_balances.render.detail import user_detail

    common.out(opts).print(user_detail(account, portfolio.quote))
