"""`nija sync`: every connection's trades and flows into the store, with a summary."""

from __future__ import annotations

import typer

from nija_balances.cli import EXIT_INCOMPLETE
from nija_balances.cli.context import Terminal
from nija_balances.cli.options import BrokerOption, JsonOption, UserOption


def sync(
    ctx: typer.Context,
    user: UserOption = None,
    broker: BrokerOption = None,
    json: JsonOption = False,
) -> None:
    """Fetch every connection's trades and deposits/withdrawals into the store.

    Incremental: each connection resumes after the last page stored, and what is stored
    twice counts once. A connection that fails keeps the pages it stored and never stops
    the others. An exchange that cannot list trades or flows is reported `unsupported`
    (its figures are then incomplete, never zero). Connections without credentials and
    disabled users are skipped. Exits 1 when a connection failed.

    Examples: `nija sync --demo` · `nija sync --user alice` · `nija sync --json`
    """
    term = Terminal.of(ctx)
    config = term.narrow(term.load_config(), user, broker)
    session = term.open_session(config)
    try:
        console = term.err
        if term.quiet or not console.is_terminal or console.is_dumb_terminal:
            report = session.sync(config)
        else:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            from nija_balances.engine.sync import SyncProgress

            with Progress(
                TextColumn("Syncing"),
                MofNCompleteColumn(),
                TextColumn("connections"),
                BarColumn(),
                TextColumn("{task.fields[items]} new in {task.fields[pages]} pages"),
                console=console,
                transient=True,
            ) as progress:
                task = progress.add_task("sync", total=None, items=0, pages=0)

                def observe(p: SyncProgress) -> None:
                    progress.update(
                        task, completed=p.done, total=p.total, items=p.items, pages=p.pages
                    )

                report = session.sync(config, observer=observe)
    finally:
        session.close()
    for warning in session.store.warnings:
        term.warn(warning)
    if json:
        from nija_balances.render.json_doc import dumps, stdout_ascii_only
        from nija_balances.render.sync import sync_document

        document = sync_document(report, demo=config.demo)
        term.write_data(dumps(document, ascii_only=stdout_ascii_only()))
    else:
        from nija_balances.render.frame import print_report
        from nija_balances.render.sync import SyncSummary

        print_report(term.out, SyncSummary(report, demo=config.demo))
    if not report.ok:
        raise typer.Exit(EXIT_INCOMPLETE)
