"""`nija sync`'s summary: per connection, what each kind (trades, flows) stored and how it
ended, as a report (the shared heading, one line per connection) or a JSON document."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.text import Text

from nija_balances.domain.text import safe_text
from nija_balances.engine.sync import ConnectionSync, KindResult, SyncReport
from nija_balances.render.frame import HEAVY, heading, rule, when
from nija_balances.render.json_doc import SCHEMA_VERSION, utc_iso
from nija_balances.render.markers import UNICODE, Glyphs, glyphs

_STYLE = {"complete": "green", "unsupported": "yellow", "failed": "red", "skipped": "dim"}


def kind_text(result: KindResult) -> str:
    """`trades: 7 new (2 pages)`, `flows: unsupported (why)`, `trades: failed (why), kept
    3 pages (12 new)`."""
    new = result.new_fills + result.new_flows
    pages = f"{result.pages} page{'s' if result.pages != 1 else ''}"
    if result.status == "complete":
        return f"{result.kind}: {new} new ({pages})"
    if result.status == "unsupported":
        return f"{result.kind}: unsupported ({result.problem})"
    return f"{result.kind}: failed ({result.problem}), kept {pages} ({new} new)"


def connection_text(conn: ConnectionSync) -> str:
    """What happened to one connection, on one line."""
    if conn.skipped is not None:
        return conn.skipped
    return " · ".join(kind_text(k) for k in conn.kinds)


def counts(report: SyncReport) -> str:
    """`5 connections: 4 complete, 1 failed` (only the statuses that occur)."""
    tally: dict[str, int] = {}
    for conn in report.connections:
        tally[conn.status] = tally.get(conn.status, 0) + 1
    order = ("complete", "unsupported", "failed", "skipped")
    parts = ", ".join(f"{tally[s]} {s}" for s in order if s in tally)
    n = len(report.connections)
    return f"{n} connection{'s' if n != 1 else ''}" + (f": {parts}" if parts else "")


@dataclass(frozen=True)
class SyncSummary:
    """The report: heading, one line per connection, a closing rule."""

    report: SyncReport
    demo: bool = False

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield Group(*self.parts(options.max_width, glyphs(options)))

    def parts(self, width: int, g: Glyphs = UNICODE) -> list[RenderableType]:
        detail = f"{when(self.report.finished_at.astimezone())}    {counts(self.report)}"
        parts: list[RenderableType] = [*heading("NIJA SYNC", detail, width, demo=self.demo, g=g)]
        names = [safe_text(c.key) for c in self.report.connections]
        wide = max((len(n) for n in names), default=0)
        for conn, name in zip(self.report.connections, names, strict=True):
            line = Text(f"{name:<{wide}}  ")
            line.append(f"{conn.status:<11}", style=_STYLE[conn.status])
            whole = safe_text(connection_text(conn))
            if conn.skipped is None and wide + 14 + len(whole) > width:
                pieces = [safe_text(kind_text(k)) for k in conn.kinds]  # one kind a line
                line.append(" " + f"\n{' ' * (wide + 14)}".join(pieces))
            else:
                line.append(f" {whole}")
            parts.append(line)
        if not self.report.connections:
            parts.append(Text("no connection to sync"))
        parts.append(rule(HEAVY, width))
        return parts


def sync_document(report: SyncReport, *, demo: bool = False) -> dict[str, Any]:
    """`nija sync --json`: the outcome per connection and kind."""

    def kind(result: KindResult) -> dict[str, Any]:
        return {
            "status": result.status,
            "new_fills": result.new_fills,
            "new_flows": result.new_flows,
            "pages": result.pages,
            "problem": result.problem,
        }

    return {
        "schema_version": SCHEMA_VERSION,
        "timestamp": utc_iso(report.finished_at),
        "started_at": utc_iso(report.started_at),
        "demo": demo,
        "ok": report.ok,
        "connections": [
            {
                "account": c.owner,
                "connection": c.connection,
                "exchange": c.exchange,
                "status": c.status,
                "skipped": c.skipped,
                "new_fills": c.new_fills,
                "new_flows": c.new_flows,
                "kinds": {k.kind: kind(k) for k in c.kinds},
            }
            for c in report.connections
        ],
    }
