"""`nija monitor`'s loop: refresh (through the cache; every good fetch is a snapshot), sync
history, evaluate the alerts, notify; and the balance report in the log every `log_every`.

Made to run for weeks: nothing accumulates between cycles (each portfolio replaces the last,
the store's warnings are logged and dropped), a cycle that fails (an exchange down, the
store briefly locked) is logged and the next one runs, and a stop request (SIGTERM) ends the
loop between two cycles.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from nija_balances.domain.alerts import Alert
from nija_balances.domain.models import Portfolio
from nija_balances.engine.ports import AlertStore
from nija_balances.monitoring.monitor import Monitor, Session

if TYPE_CHECKING:
    from nija_balances.engine.sync import SyncReport

log = logging.getLogger("nija_balances.monitoring")

LOG_NAME = "monitor.log"
LOG_BYTES = 1_000_000  # one file's size before it is rotated ...
LOG_BACKUPS = 5  # ... and how many rotated files are kept: ~6 MB at most
REPORT_MARK = "monitor-report"


def log_path() -> Path:
    from nija_balances import paths

    return paths.data_dir() / LOG_NAME


def file_handler(path: Path) -> logging.Handler:
    """A rotating handler for our logger's records, in a private directory."""
    from nija_balances.store.sqlite_schema import make_dirs

    make_dirs(path.parent)
    handler = RotatingFileHandler(
        path, maxBytes=LOG_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8", delay=True
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.INFO)
    handler.addFilter(_ours)
    return handler


def _ours(record: logging.LogRecord) -> bool:
    """The monitor's and the alerts' INFO lines, everyone's warnings: the fetch of each
    connection (INFO) would fill the file with a line per connection per cycle."""
    return record.levelno >= logging.WARNING or record.name.startswith(
        ("nija_balances.monitoring", "nija_balances.alerts")
    )


class RunnerSession(Session, Protocol):
    """A monitor's session that can also refresh (`app.Session` is one)."""

    def sync(self) -> SyncReport: ...

    def collect(self) -> Portfolio:
        """The portfolio through the store's cache (every good fetch kept as a snapshot)."""
        ...


@dataclass(frozen=True)
class Cycle:
    """What one cycle did."""

    portfolio: Portfolio | None
    sent: tuple[Alert, ...]
    error: str | None = None


class Runner:
    """The cycles of one `nija monitor` over one session."""

    def __init__(
        self,
        session: RunnerSession,
        report: Callable[[Portfolio], str],
        monitor: Monitor | None = None,
    ) -> None:
        self.session = session
        self.report = report  # the balance report as text (the CLI gives render's)
        self.monitor = monitor or Monitor(session)
        self.stop = threading.Event()

    def cycle(self) -> Cycle:
        """One refresh, sync, evaluation and notification; never raises but to stop."""
        session = self.session
        try:
            portfolio = session.collect()
            self._sync()
            sent = tuple(self.monitor.observe(portfolio))
            self._report(portfolio)
        except Exception as exc:  # an outage or a bug: logged, and the next cycle runs
            log.exception("monitor cycle failed: %s", exc)
            return Cycle(None, (), str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        finally:
            for warning in session.store.warnings:
                log.warning("%s", warning)
            session.store.warnings.clear()
        s = portfolio.summary
        log.info(
            "cycle: %d of %d connections counted, %d alert(s) sent",
            s.connections_counted,
            s.connections_total,
            len(sent),
        )
        return Cycle(portfolio, sent)

    def run(self, interval: float, *, once: bool = False) -> None:
        """Cycles `interval` seconds apart (start to start) until `stop` is set."""
        import time

        while not self.stop.is_set():
            started = time.monotonic()
            self.cycle()
            if once:
                return
            self.stop.wait(max(0.0, interval - (time.monotonic() - started)))

    def _sync(self) -> None:
        """History sync (trades and flows, as `nija sync`): a failure is logged and the
        cycle goes on (its figures say what is missing; the next cycle retries)."""
        try:
            report = self.session.sync()
        except Exception as exc:
            log.warning("history sync failed: %s", type(exc).__name__)
            return
        for conn in report.connections:
            if conn.status == "failed":
                problems = [k.problem for k in conn.kinds if k.problem]
                log.warning("history sync of %s failed: %s", conn.key, "; ".join(problems))

    def _report(self, portfolio: Portfolio) -> None:
        """The balance report in the log, once per `log_every` across every process."""
        config, store = self.session.config, self.session.store
        every = config.alerts.log_every.total_seconds()
        if isinstance(store, AlertStore) and store.claim_mark(config.namespace, REPORT_MARK, every):
            log.info("balance report\n%s", self.report(portfolio).rstrip())
