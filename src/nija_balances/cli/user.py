"""`nija user ID`: one user's connections and assets, or its JSON document."""

from __future__ import annotations

from typing import Annotated

import typer

from nija_balances.cli.context import Terminal
from nija_balances.cli.options import BrokerOption, JsonOption, MaxAgeOption, RefreshOption


def user(
    ctx: typer.Context,
    user_id: Annotated[str, typer.Argument(metavar="ID", help="The user id, as in the config.")],
    broker: BrokerOption = None,
    json: JsonOption = False,
    refresh: RefreshOption = False,
    max_age: MaxAgeOption = None,
) -> None:
    """One user: every connection with its assets (amount, price, USD value) and the subtotal.

    Example: `nija user alice --demo`
    """
    term = Terminal.of(ctx)
    config = term.narrow(term.load_config(), user_id, broker)
    portfolio = term.refresh(config, refresh=refresh, max_age=max_age)
    account = portfolio.user(user_id)
    assert account is not None  # narrow() rejected unknown ids
    if json:
        from nija_balances.render.json_doc import dumps, stdout_ascii_only, user_document

        doc = user_document(account, portfolio)
        term.write_data(dumps(doc, ascii_only=stdout_ascii_only()))
        return
    from nija_balances.render.detail import user_detail
    from nija_balances.render.frame import print_report

    print_report(term.out, user_detail(account, portfolio))
