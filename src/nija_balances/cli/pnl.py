"""`nija pnl`: profit and loss per user and connection, from stored history."""

from __future__ import annotations

import typer

from nija_balances.cli.context import Terminal
from nija_balances.cli.options import BrokerOption, JsonOption, UserOption


def pnl(
    ctx: typer.Context,
    user: UserOption = None,
    broker: BrokerOption = None,
    json: JsonOption = False,
) -> None:
    """Profit and loss per user: today, total, realized, unrealized, fees, win rate.

    Per user and connection, with deposits net of withdrawals and the number of trades.

    Figures cover each connection's tracked span: from its first snapshot (its first good
    fetch) to its last. A deposit is not profit and a withdrawal is not a loss. A figure
    that cannot be known (no `nija sync` yet, an exchange that cannot list trades, a failed
    sync) is shown as `—` (`null` in JSON) with the reason, never as zero. Nothing is
    fetched: run `nija sync` (or `nija monitor`) to bring trades and flows up to date.

    Examples: `nija pnl` · `nija pnl --user alice` · `nija pnl --json`
    """
    term = Terminal.of(ctx)
    config = term.narrow(term.load_config(), user, broker)
    figures = term.figures(config, trades=False)
    if json:
        from nija_balances.render.json_doc import dumps, stdout_ascii_only
        from nija_balances.render.pnl import pnl_document

        term.write_data(dumps(pnl_document(figures), ascii_only=stdout_ascii_only()))
    else:
        from nija_balances.render.frame import print_report
        from nija_balances.render.pnl import PnLTable

        print_report(term.out, PnLTable(figures))
