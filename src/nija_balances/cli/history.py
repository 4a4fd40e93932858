"""`nija history`: equity over time per user, from the snapshots of earlier good fetches."""

from __future__ import annotations

from typing import Annotated

import typer

from nija_balances.cli.context import Terminal
from nija_balances.cli.options import BrokerOption, JsonOption, UserOption

SinceOption = Annotated[
    str, typer.Option("--since", metavar="SPAN", help="How far back: 7d, 24h, 30m.")
]
EveryOption = Annotated[
    str | None,
    typer.Option(
        "--every",
        metavar="SPAN",
        help="Bucket size: 1h or 1d (any span works). [default: 1h up to 2d, else 1d]",
        show_default=False,
    ),
]
CsvOption = Annotated[bool, typer.Option("--csv", help="Print the points as CSV on stdout.")]
ChartOption = Annotated[
    bool, typer.Option("--chart", help="Draw each account's equity as a line chart.")
]


def history(
    ctx: typer.Context,
    user: UserOption = None,
    broker: BrokerOption = None,
    since: SinceOption = "7d",
    every: EveryOption = None,
    json: JsonOption = False,
    csv: CsvOption = False,
    chart: ChartOption = False,
) -> None:
    """Equity over time per user, with a sparkline and today's P&L.

    Every good fetch is kept as a snapshot; this sums each user's connections per time
    bucket. A bucket where a connection has no snapshot is incomplete (never counted as
    zero). `Today` is the daily P&L of `nija pnl`: equity now minus at the end of yesterday
    (days in `settings.timezone`), net of deposits and withdrawals. Nothing is fetched.

    Examples: `nija history` · `nija history --user alice --since 24h --every 1h` ·
    `nija history --chart` · `nija history --json`
    """
    from datetime import UTC, datetime

    from nija_balances.domain.series import default_every, parse_span

    term = Terminal.of(ctx)
    if sum((json, csv, chart)) > 1:
        term.fail("choose one of --json, --csv and --chart")
    try:
        span = parse_span(since)
    except ValueError as exc:
        term.fail(f"--since: {exc}")
    try:
        bucket = default_every(span) if every is None else parse_span(every)
    except ValueError as exc:
        term.fail(f"--every: {exc}")
    config = term.narrow(term.load_config(), user, broker)
    session = term.open_session(config)
    try:
        from nija_balances.engine.history import load_history

        session.prepare_history(config)
        now = datetime.fromtimestamp(session.clock(), UTC)
        model = load_history(config, session.store, now=now, since=span, every=bucket)
        figures = session.figures(trades=False) if not (json or csv) else None
    finally:
        session.close()
    for warning in session.store.warnings:
        term.warn(warning)
    if json:
        from nija_balances.render.history import history_document
        from nija_balances.render.json_doc import dumps, stdout_ascii_only

        term.write_data(dumps(history_document(model), ascii_only=stdout_ascii_only()))
    elif csv:
        from nija_balances.render.history import history_csv

        term.write_data(history_csv(model))
    elif chart:
        from rich.console import Group

        from nija_balances.render.chart import EquityChart
        from nija_balances.render.frame import print_report

        accounts = [("platform", model.platform)] if model.platform else []
        accounts += list(model.users.items())
        charts = [EquityChart(name, points, model.quote) for name, points in accounts]
        print_report(term.out, Group(*charts))
    else:
        from nija_balances.render.frame import print_report
        from nija_balances.render.history import HistoryTable

        daily = {}
        if figures is not None:
            daily = {
                ("platform" if a.account.kind == "platform" else a.account.id): a.pnl.daily_pnl
                for a in figures.accounts
            }
        print_report(term.out, HistoryTable(model, daily=daily))
