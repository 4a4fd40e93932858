"""`nija show`: the balance report (the seeds' tables), or the JSON document."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from nija_balances.cli import EXIT_INCOMPLETE
from nija_balances.cli.context import Terminal
from nija_balances.cli.options import (
    BasisOption,
    BrokerOption,
    JsonOption,
    MaxAgeOption,
    RefreshOption,
    UserOption,
)
from nija_balances.cli.show_kept import keep, keep_json, kept_inputs, table_statuses

#: On a terminal (styled output), the users after this many connections are folded into
#: one line saying how to list them all: Rich lays a row out in ~1.5 ms, and thousands of
#: rows scroll past anyway. Piped output (`nija show | less`) always lists every one.
FOLD_AFTER = 200


def show(
    ctx: typer.Context,
    json: JsonOption = False,
    refresh: RefreshOption = False,
    max_age: MaxAgeOption = None,
    user: UserOption = None,
    broker: BrokerOption = None,
    basis: BasisOption = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 1 when the totals leave out a connection.")
    ] = False,
) -> None:
    """Platform and user balances with subtotals and a summary.

    Every configured user and connection is listed, including the ones that failed or have
    no credentials, with the reason. Totals say how many connections they cover.

    Examples: `nija show --demo` · `nija show --json` · `nija show --user alice --refresh`
    """
    term = Terminal.of(ctx)
    inputs = kept_inputs(term)
    full = term.load_config()
    config = term.narrow(full, user, broker, basis)
    portfolio = term.refresh(config, refresh=refresh, max_age=max_age)
    code = EXIT_INCOMPLETE if strict and not portfolio.summary.complete else 0
    if json:
        from nija_balances.render.json_doc import document, dumps, stdout_ascii_only

        if inputs is None or (kept := keep_json(portfolio, stdout_ascii_only())) is None:
            term.write_data(dumps(document(portfolio), ascii_only=stdout_ascii_only()))
        else:
            term.write_data(kept["text"])
            keep(term, inputs, full, portfolio, max_age, {**kept, "code": code})
    else:
        from functools import cache

        from nija_balances.render.frame import (
            pipe_width,
            piped_plain,
            plain_console,
            print_report,
            write_plain,
        )
        from nija_balances.render.plain_report import plain
        from nija_balances.render.report import balance_report, platform_absence

        piped = piped_plain(sys.stdout)  # then printed without Rich
        note = platform_absence(full, config, user, broker)
        fold = None if piped or plain_console(term.out) else FOLD_AFTER  # see FOLD_AFTER
        rendered = balance_report(
            portfolio, show_platform=user is None, platform_note=note, fold_after=fold
        )
        form = plain(rendered)
        form = cache(form) if form is not None else None  # laid out once, kept as laid out
        printed, width = None, pipe_width()
        if piped and form is not None:
            printed = write_plain(sys.stdout, form, width)
        if printed is None:
            from nija_balances.render.table import drawn

            printed = print_report(term.out, drawn(rendered), form)
            width = term.out.width
        if inputs is not None and printed is not None:
            assert form is not None  # printed plain: it has a plain form
            blocks = form()[0]
            at = portfolio.generated_at.timestamp()
            kept = {"kind": "text", "width": width, "lines": printed, "code": code}
            kept["blocks"] = [table_statuses(block, at) for block in blocks]
            keep(term, inputs, full, portfolio, max_age, kept)
    if code:
        raise typer.Exit(code)
