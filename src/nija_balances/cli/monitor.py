"""`nija monitor` (the alert loop, or one cycle for cron) and `nija alerts` (what is active)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated

import typer

from nija_balances.cli import EXIT_INTERRUPTED
from nija_balances.cli.context import Terminal
from nija_balances.cli.options import JsonOption

if TYPE_CHECKING:
    from nija_balances.app import Session

_clock = time.time  # replaced by tests: one clock for the fetches, snapshots and alerts
MIN_INTERVAL = 5.0


def _interval(value: float) -> float:
    import math

    if not math.isfinite(value):
        raise typer.BadParameter(f"{value} is not a finite number of seconds")
    return value


def _session(term: Terminal) -> Session:
    from nija_balances.app import Session

    return Session.open(term.load_config(), clock=_clock)


def monitor(
    ctx: typer.Context,
    interval: Annotated[
        float,
        typer.Option(
            "--interval",
            min=MIN_INTERVAL,
            callback=_interval,
            metavar="SECONDS",
            help=f"Seconds between cycles (at least {MIN_INTERVAL:g}).",
        ),
    ] = 300.0,
    once: Annotated[
        bool, typer.Option("--once", help="One cycle, then exit (for cron and systemd timers).")
    ] = False,
) -> None:
    """Watch every balance and send alerts: BALANCE_LOW, BALANCE_DROP, CONNECTION_FAILING.

    Each cycle refreshes (through the cache), keeps a snapshot of every good fetch, syncs
    history, evaluates the `[alerts]` rules and notifies the sinks (the log, a JSON-lines
    file, apprise URLs, a command). Alert state is kept in the store, so an alert is sent
    once however many monitors run, and again only after `repeat_after`. The balance report
    goes to a rotating log file (`nija alerts` prints its path) every `log_every`.
    SIGTERM or Ctrl-C stops it between two cycles.

    Examples: `nija monitor` · `nija monitor --interval 60` · cron: `nija monitor --once`
    """
    import logging
    import signal

    from nija_balances.monitoring.runner import Runner, file_handler, log_path

    term = Terminal.of(ctx)
    session = _session(term)
    logger = logging.getLogger("nija_balances")
    handlers = [file_handler(log_path())]
    if not term.quiet and not term.verbose:  # -v has its own stderr handler
        stderr = logging.StreamHandler()
        stderr.setLevel(logging.WARNING)
        stderr.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
        handlers.append(stderr)
    level = logger.level
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    for handler in handlers:
        logger.addHandler(handler)
    from nija_balances.render.table import report_text

    runner = Runner(session, report_text)

    def stop(signum: int, frame: object) -> None:
        logging.getLogger("nija_balances.monitoring").info(
            "stopping (signal %d) after this cycle", signum
        )
        runner.stop.set()

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        runner.run(interval, once=once)
    except KeyboardInterrupt:
        raise typer.Exit(EXIT_INTERRUPTED) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
        for handler in handlers:
            logger.removeHandler(handler)
            handler.close()
        logger.setLevel(level)
        session.close()


def alerts(ctx: typer.Context, json: JsonOption = False) -> None:
    """Active and recent alerts, and sinks that failed to deliver.

    Reads the store only; nothing is fetched. `--json` prints `{"active": [...], "recent":
    [...], "sinks": [...]}`, each alert with kind, account, connection, state, since,
    last_sent, sent_count, balance, threshold and message.
    """
    from nija_balances.monitoring.monitor import Monitor
    from nija_balances.render.alerts import alerts_document, alerts_text

    term = Terminal.of(ctx)
    session = _session(term)
    try:
        monitor = Monitor(session)
        active, recent = monitor.active_alerts(), monitor.recent_alerts()
        sinks = monitor.sink_reports()
    finally:
        session.close()
    if json:
        from nija_balances.render.json_doc import dumps, stdout_ascii_only

        document = alerts_document(active, recent, sinks)
        term.write_data(dumps(document, ascii_only=stdout_ascii_only()))
    else:
        from nija_balances.monitoring.runner import log_path

        term.write_data(alerts_text(active, recent, sinks, log_path()))
