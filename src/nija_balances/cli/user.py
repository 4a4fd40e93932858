"""`nija user ID`: one user's connections and assets, or its JSON document."""

from __future__ import annotations

from typing import Annotated

import typer

from nija_balances.cli import common, runtime
from nija_balances.cli.base import app
from nija_balances.cli.common import BrokerOption, MaxAgeOption, RefreshOption


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
