"""`nija trades`: recent fills with the realized P&L of what they closed."""

from __future__ import annotations

from typing import Annotated

import typer

from nija_balances.cli.context import Terminal
from nija_balances.cli.options import BrokerOption, JsonOption

UserArgument = Annotated[
    str | None,
    typer.Argument(metavar="[USER]", help="Only this user's fills."),
]
SinceOption = Annotated[
    str | None,
    typer.Option("--since", metavar="SPAN", help="Only fills this recent: 7d, 24h, 30m."),
]
LimitOption = Annotated[
    int | None,
    typer.Option(
        "--limit",
        min=0,
        help="At most this many fills, 0 for all. [default: 50; all with --json/--csv]",
        show_default=False,
    ),
]
TABLE_LIMIT = 50
CsvOption = Annotated[bool, typer.Option("--csv", help="Print the fills as CSV on stdout.")]


def trades(
    ctx: typer.Context,
    user: UserArgument = None,
    broker: BrokerOption = None,
    since: SinceOption = None,
    limit: LimitOption = None,
    json: JsonOption = False,
    csv: CsvOption = False,
) -> None:
    """Recent fills with the realized P&L of what each one closed.

    Newest first; the realized P&L is that of the FIFO lots each fill closed, fees included.

    Fills are those stored by `nija sync`; nothing is fetched. A fill from before the
    connection's first snapshot, or one that closed lots of unknown cost, has no realized
    P&L (empty, `null` in JSON). The table shows the latest 50 by default; `--json` and
    `--csv` give every fill that matches unless `--limit` says otherwise.

    Examples: `nija trades` · `nija trades alice --since 7d` · `nija trades --json`
    """

    term = Terminal.of(ctx)
    if json and csv:
        term.fail("--json and --csv cannot be combined")
    span = None
    if since is not None:
        from nija_balances.domain.series import parse_span

        try:
            span = parse_span(since)
        except ValueError as exc:
            term.fail(f"--since: {exc}")
    config = term.narrow(term.load_config(), user, broker)
    figures = term.figures(config)
    from nija_balances.engine.figures import newest_first

    rows = newest_first(t for a in figures.accounts for t in a.trades)
    if span is not None:
        start = figures.generated_at - span
        rows = [r for r in rows if r.fill.time >= start]
    everything = len(rows)
    if limit is None:
        limit = 0 if json or csv else TABLE_LIMIT
    if limit:
        rows = rows[:limit]
    if json:
        from nija_balances.render.json_doc import dumps, stdout_ascii_only
        from nija_balances.render.trades import trades_document

        doc = trades_document(rows, quote=figures.quote, now=figures.generated_at)
        term.write_data(dumps(doc, ascii_only=stdout_ascii_only()))
    elif csv:
        from nija_balances.render.trades import trades_csv

        term.write_data(trades_csv(rows, quote=figures.quote))
    else:
        from nija_balances.render.frame import print_report
        from nija_balances.render.trades import TradesTable

        print_report(term.out, TradesTable(rows, quote=figures.quote, total=everything))
