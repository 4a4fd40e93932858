"""`/metrics`: Prometheus text from the latest View and the refresh counters.

A collector on the app's own `CollectorRegistry` (never the process-global one) reads the
dashboard at scrape time, so a user or connection removed from the config disappears from
the metrics with the next refresh. Amounts are in the quote currency; a connection that is
not counted has no equity sample (its status says why), never a zero.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from nija_balances.web.state import Dashboard

CONNECTION = ["account", "connection", "exchange"]


class DashboardCollector(Collector):
    """The samples of one dashboard."""

    def __init__(self, dashboard: Dashboard) -> None:
        self.dashboard = dashboard

    def collect(self) -> Iterator[Metric]:
        d, stats = self.dashboard, self.dashboard.stats
        refreshes = CounterMetricFamily("nija_refreshes", "Refreshes finished since start.")
        refreshes.add_metric([], stats.refreshes)
        failed = CounterMetricFamily("nija_refresh_failures", "Refreshes that failed whole.")
        failed.add_metric([], stats.failures)
        yield from (refreshes, failed)
        if stats.last_duration_s is not None:
            yield GaugeMetricFamily(
                "nija_refresh_duration_seconds",
                "Wall time of the last refresh (fetches and the view).",
                value=stats.last_duration_s,
            )
        if stats.last_finished is not None:
            yield GaugeMetricFamily(
                "nija_last_refresh_timestamp_seconds",
                "When the last refresh finished (Unix time).",
                value=stats.last_finished,
            )
        errors = CounterMetricFamily(
            "nija_connection_fetch_errors",
            "Refreshes in which the connection was not ok or cached.",
            labels=CONNECTION,
        )
        for key, count in sorted(stats.fetch_errors.items()):
            errors.add_metric(list(key), count)
        yield errors
        view = d.view
        if view is None:
            return
        p = view.portfolio
        account_equity = GaugeMetricFamily(
            "nija_account_equity",
            f"An account's counted equity ({p.quote}).",
            labels=["account", "kind", "complete"],
        )
        equity = GaugeMetricFamily(
            "nija_connection_equity",
            f"A counted connection's equity ({p.quote}).",
            labels=CONNECTION,
        )
        up = GaugeMetricFamily(
            "nija_connection_up",
            "1 when the connection is ok or cached, else 0.",
            labels=CONNECTION,
        )
        status = GaugeMetricFamily(
            "nija_connection_status",
            "1 for the connection's current status word.",
            labels=[*CONNECTION, "status"],
        )
        seconds = GaugeMetricFamily(
            "nija_connection_fetch_duration_seconds",
            "How long the connection's last good fetch took.",
            labels=CONNECTION,
        )
        success = GaugeMetricFamily(
            "nija_connection_last_success_timestamp_seconds",
            "When the value shown was fetched (Unix time).",
            labels=CONNECTION,
        )
        for account in p.accounts:
            if account.enabled and account.connections:
                counted = [c for c in account.connections if c.counted]
                total = sum((c.equity for c in counted), start=0)
                account_equity.add_metric(
                    [account.id, account.kind, str(account.complete).lower()], float(total)
                )
            for c in account.connections:
                labels = [c.account, c.connection, c.exchange]
                status.add_metric([*labels, c.status.value], 1)
                up.add_metric(labels, 1 if c.status.healthy else 0)
                if c.counted:
                    equity.add_metric(labels, float(c.equity))
                if c.latency_s is not None:
                    seconds.add_metric(labels, c.latency_s)
                if c.fetched_at is not None:
                    success.add_metric(labels, c.fetched_at.timestamp())
        yield from (account_equity, equity, up, status, seconds, success)
        s = p.summary
        yield GaugeMetricFamily("nija_users", "Enabled users.", value=s.user_count)
        yield GaugeMetricFamily(
            "nija_connections", "Connections of enabled accounts.", value=s.connections_total
        )
        yield GaugeMetricFamily(
            "nija_connections_counted", "Of those, in the totals.", value=s.connections_counted
        )


def registry_for(dashboard: Dashboard) -> CollectorRegistry:
    """A registry of its own holding the dashboard's collector."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DashboardCollector(dashboard))
    return registry
