"""The alert monitor (DESIGN.md §11): each observed portfolio against the `[alerts]` rules and
the alert state kept in the store; what changes is claimed in the store, then sent.

`Monitor.observe(portfolio)` is the whole evaluation, used by `nija monitor`, the Python API
(`get_monitoring_system()`), `nija watch` and anything else that refreshes: because every
change is written only over the state it was computed from (`AlertStore.put_alert`), several
processes observing at once never send one alert twice. Never raises for a sink, a handler
or a busy store: a change the store could not take is tried again at the next observation.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Protocol

from nija_balances.domain.alerts import (
    Alert,
    Finding,
    Notification,
    Point,
    SinkReport,
    account_equity,
    advance,
    drop_finding,
    failing_finding,
    low_finding,
)
from nija_balances.domain.history import Flow, SnapshotPrices
from nija_balances.domain.models import AlertRules, Config, Portfolio
from nija_balances.engine.ports import AlertStore, EquityStore, Store
from nija_balances.monitoring.memory import MemoryAlertStore
from nija_balances.monitoring.sinks.files import CommandSink, JsonLinesSink, LogSink
from nija_balances.monitoring.sinks.interface import Sink, deliver

log = logging.getLogger("nija_balances.monitoring")

AlertHandler = Callable[[Alert], None]


class Session(Protocol):
    """What the monitor works with (`app.Session` is one): the config, its store, the clock."""

    @property
    def config(self) -> Config: ...

    @property
    def store(self) -> Store: ...

    @property
    def clock(self) -> Callable[[], float]: ...


class Monitor:
    """Alerts over one config and its store. `session` is a Session or a function making one
    on first use (the API's monitor loads the config only when it is first fed).

    `sleep` paces the retries of a failing sink (tests pass one that does not wait).
    """

    def __init__(
        self,
        session: Session | Callable[[], Session],
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._session = session
        self._sleep = sleep
        self._handlers: list[AlertHandler] = []
        self._rules: dict[str, Decimal | None] = {}
        self._memory: MemoryAlertStore | None = None

    @property
    def session(self) -> Session:
        if callable(self._session):
            self._session = self._session()
        return self._session

    # ------------------------------------------------------------------ the API

    def configure(
        self, *, low_balance: float | Decimal | None = None, drop_percent: float | None = None
    ) -> None:
        """Override the `[alerts]` rules in this process (accounts with their own
        `[users.ID.alerts]` keep theirs)."""
        if low_balance is not None:
            self._rules["low_balance"] = Decimal(str(low_balance))
        if drop_percent is not None:
            self._rules["drop_percent"] = Decimal(str(drop_percent))

    def add_handler(self, handler: AlertHandler) -> None:
        """Call `handler(alert)` for every alert this process sends (fired, repeated or
        resolved: `alert.state` says which). An exception in it is logged, never raised."""
        self._handlers.append(handler)

    def active_alerts(self) -> list[Alert]:
        """The firing alerts, oldest first."""
        return [a for a in self._alerts() if a.state == "firing"]

    def recent_alerts(self) -> list[Alert]:
        """The resolved alerts still kept (30 days), newest first."""
        resolved = [a for a in self._alerts() if a.state == "resolved"]
        return sorted(resolved, key=lambda a: a.since, reverse=True)

    def sink_reports(self) -> list[SinkReport]:
        """How deliveries to each sink went (failures are reported here and in the log)."""
        return self._store().get_sink_reports(self.session.config.namespace)

    def observe(self, portfolio: Portfolio) -> list[Alert]:
        """Evaluate `portfolio`; send what fired, repeated or resolved; return those alerts
        (only the ones this process claimed and sent)."""
        session = self.session
        config, store = session.config, self._store()
        now = datetime.fromtimestamp(session.clock(), UTC)
        previous = {a.key: a for a in store.get_alerts(config.namespace)}
        sent: list[Alert] = []
        for finding in self._findings(config, portfolio, now):
            rules = self._rules_for(config, finding.account)
            step = advance(previous.get(finding.key), finding, now, rules.repeat_after)
            if step is None:
                continue
            if store.put_alert(config.namespace, step.before, step.after) is not True:
                continue  # another process made this change (and sends it), or the store is busy
            if step.event is not None:
                claimed = replace(step.after, version=step.after.version + 1)
                self._send(Notification(step.event, claimed, portfolio.quote), rules)
                sent.append(claimed)
        return sent

    # ------------------------------------------------------------------ internals

    def _alerts(self) -> list[Alert]:
        return self._store().get_alerts(self.session.config.namespace)

    def _store(self) -> AlertStore:
        store = self.session.store
        if isinstance(store, AlertStore) and getattr(store, "available", True):
            return store
        if self._memory is None:
            log.warning("the store keeps no alert state here: alerts are kept in memory")
            self._memory = MemoryAlertStore(self.session.clock)
        return self._memory

    def _rules_for(self, config: Config, account: str) -> AlertRules:
        if any(a == account for a, _ in config.alerts.overrides):
            return config.alerts.for_account(account)
        return replace(config.alerts.rules, **self._rules)  # type: ignore[arg-type]

    def _findings(self, config: Config, portfolio: Portfolio, now: datetime) -> list[Finding]:
        accounts = [a for a in portfolio.accounts if a.enabled]
        rules = {a.id: self._rules_for(config, a.id) for a in accounts}
        windows = [r.drop_window for r in rules.values() if r.drop_percent is not None]
        keys = [c.key for a in accounts for c in a.connections]
        history: Mapping[str, list[Point]] = {}
        flows: Mapping[str, Sequence[Flow]] = {}
        prices = SnapshotPrices(())
        if windows and keys:
            since, store = now - max(windows), self.session.store
            owners = _owners(config, keys)
            history = _equity(store, config.namespace, keys, since, owners, max(windows))
            flows = _stored_flows(store, config.namespace, keys, since, owners)
            if any(flows.values()):  # a flow not in cash is valued at its snapshots' prices
                with_flows = [k for k in keys if flows.get(k)]
                snaps = store.get_snapshots(config.namespace, with_flows, since, owners)
                prices = SnapshotPrices(s for found in snaps.values() for s in found)
        cash = {config.settings.quote, *config.settings.stablecoins}
        found: list[Finding] = []
        for account in accounts:
            rule = rules[account.id]
            found += [f for f in (low_finding(account, rule, portfolio.quote),) if f]
            if rule.drop_percent is not None:
                drop = drop_finding(
                    account,
                    rule,
                    portfolio.quote,
                    history=account_equity([history.get(c.key, []) for c in account.connections]),
                    flows=[f for c in account.connections for f in flows.get(c.key, ())],
                    prices=prices,
                    cash=cash,
                    now=now,
                )
                found += [drop] if drop is not None else []
            found += [f for c in account.connections if (f := failing_finding(c, rule))]
        return found

    def _send(self, notification: Notification, rules: AlertRules) -> None:
        namespace = self.session.config.namespace
        store = self._store()
        for sink in self._sinks(rules):
            error = deliver(sink, notification, sleep=self._sleep)
            if sink.name != "log":
                store.put_sink_report(namespace, sink.name, error)
            if error is not None:
                log.warning("alert not delivered to %s: %s", sink.name, error)
        for handler in self._handlers:
            try:
                handler(notification.alert)
            except Exception as exc:
                log.warning("alert handler %r failed: %s", handler, exc)

    def _sinks(self, rules: AlertRules) -> list[Sink]:
        settings = self.session.config.alerts
        sinks: list[Sink] = [LogSink()]
        if settings.json_file is not None:
            sinks.append(JsonLinesSink(settings.json_file))
        if settings.command:
            sinks.append(CommandSink(settings.command))
        if rules.notify:
            from nija_balances.monitoring.sinks.apprise import AppriseSink

            env = _environment(self.session.config)
            for variable in rules.notify:
                sinks.append(AppriseSink(variable, env.get(variable, "")))
        return sinks


def _environment(config: Config) -> dict[str, str]:
    """The process environment over the config's `.env` files (as credentials are read)."""
    from nija_balances.config.credentials import load_dotenv_files

    return {**load_dotenv_files(config.env_files), **os.environ}


POINTS_PER_WINDOW = 120  # the drop history is read at window / 120 resolution at most


def _equity(
    store: Store,
    namespace: str,
    keys: list[str],
    since: datetime,
    owners: dict[str, str],
    window: timedelta,
) -> Mapping[str, list[Point]]:
    """Each connection's equity points in the window (a store without `get_equity`: from its
    snapshots). A monitor checking every few seconds holds at most 120 points per connection
    (the last of each window / 120): memory and time stay flat as the window fills."""
    if isinstance(store, EquityStore):
        step = window.total_seconds() / POINTS_PER_WINDOW
        return store.get_equity(namespace, keys, since, owners, step)
    snaps = store.get_snapshots(namespace, keys, since, owners)
    return {k: [(s.time, s.equity) for s in found] for k, found in snaps.items()}


def _owners(config: Config, keys: list[str]) -> dict[str, str]:
    """The exchange account each connection reads now (its history is that account's only)."""
    from nija_balances.engine.history import account_hashes

    wanted = set(keys)
    connections = [c for a in config.accounts for c in a.connections if c.key in wanted]
    return account_hashes(config, connections, None)


def _stored_flows(
    store: Store, namespace: str, keys: list[str], since: datetime, owners: dict[str, str]
) -> Mapping[str, Sequence[Flow]]:
    """Deposits and withdrawals per connection key since `since`, from the store (what
    `nija sync` stored); a drop is measured net of them."""
    try:
        return store.get_flows(namespace, keys, since=since, accounts=owners)
    except Exception as exc:  # the store's problem must not stop the alerts
        log.warning("flows could not be read: %s", exc)
        return {}
