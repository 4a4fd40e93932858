"""Running a refresh from the command line: the store, progress on stderr, selections."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nija_balances.cli import common

if TYPE_CHECKING:
    from nija_balances.domain.models import Basis, Config, Portfolio
    from nija_balances.engine.ports import Store


def open_store(opts: common.GlobalOptions, config: Config) -> Store:
    from nija_balances.store import open_store

    return open_store(config.settings)


def narrow(
    opts: common.GlobalOptions,
    config: Config,
    user: str | None = None,
    broker: str | None = None,
    basis: Basis | None = None,
) -> Config:
    """Apply `--user`, `--broker` and `--basis`; an unknown name exits 2 with the known ones."""
    from nija_balances.engine.planning import SelectionError, select, with_basis

    try:
        return with_basis(select(config, user=user, broker=broker), basis)
    except SelectionError as exc:
        common.fail(opts, str(exc))


def refresh(
    opts: common.GlobalOptions,
    config: Config,
    *,
    refresh: bool = False,
    max_age: float | None = None,
) -> Portfolio:
    """Collect the portfolio through the on-disk cache, with a progress bar on a terminal."""
    from nija_balances.engine.collect import collect_sync

    store = open_store(opts, config)
    console = common.err(opts)
    try:
        if console.is_terminal and not console.is_dumb_terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            with Progress(
                TextColumn("Fetching"),
                MofNCompleteColumn(),
                TextColumn("connections"),
                BarColumn(),
                console=console,
                transient=True,
            ) as progress:
                task = progress.add_task("fetch", total=None)

                def observe(done: int, total: int) -> None:
                    progress.update(task, completed=done, total=total)

                portfolio = collect_sync(
                    config, refresh=refresh, max_age=max_age, store=store, observer=observe
                )
        else:
            portfolio = collect_sync(config, refresh=refresh, max_age=max_age, store=store)
    finally:
        store.close()
    from rich.markup import escape

    for warning in store.warnings:
        console.print(f"[yellow]warning:[/] {escape(warning)}")
    return portfolio
