"""The built-in demo's simulated past: 30 days of hourly snapshots, and the trades and flows
of its paper connections, written to the store's demo namespace.

Paper fetches record no snapshot (their data is local, never cached), so the demo's past is
derived instead: each hour's holdings are today's balances with the later trades and flows
undone, valued at the paper price path (`paper_history.paper_price`) exactly as a fetch
values holdings. The last snapshot is at the start of the current hour and holds exactly
the config's balances and prices. The series is relative to now: it is rewritten, with the
trades and flows, once the hour it ends at has passed (`seed_demo_history` is a no-op
otherwise: one read). Nothing is fetched, nothing is random.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from nija_balances.adapters.paper import PaperAdapter
from nija_balances.adapters.paper_history import paper_price
from nija_balances.domain import valuation
from nija_balances.domain.history import AssetPosition, Fill, Flow, Snapshot, SyncState
from nija_balances.domain.models import ZERO, AssetAmount, Config, ConnectionConfig, Holdings
from nija_balances.engine.history import account_hashes
from nija_balances.engine.ports import Store

DEMO_DAYS = 30
STEP = timedelta(hours=1)


def seed_demo_history(config: Config, store: Store, now: float) -> bool:
    """Write the demo's past into `store` unless it already ends at this hour; True when it
    wrote. Only for the demo config (any other config: False, nothing read)."""
    if not config.demo:
        return False
    connections = [
        c for a in config.accounts if a.enabled for c in a.connections if c.exchange == "paper"
    ]
    if not connections:
        return False
    anchor = datetime.fromtimestamp(now - now % 3600, UTC)
    owners = account_hashes(config, connections, {})
    ns, first = config.namespace, connections[0].key
    latest = store.get_snapshots(ns, [first], since=anchor, accounts=owners).get(first, [])
    if latest and latest[-1].time == anchor:
        return False
    store.drop_history(ns, [c.key for c in connections])
    paper = PaperAdapter(clock=lambda: anchor.timestamp())
    snapshots: list[tuple[str, str | None, Snapshot]] = []
    for conn in connections:
        fills, flows = paper.history(conn)
        account = owners[conn.key]
        for kind, page in (("trades", (fills, ())), ("flows", ((), flows))):
            count = len(page[0]) + len(page[1])
            store.put_history_page(
                ns, conn.key, account, kind, fills=page[0], flows=page[1], cursor=str(count)
            )
            state = SyncState(cursor=str(count), finished_at=anchor, complete=True)
            store.set_sync_state(ns, conn.key, account, kind, state)
        snapshots += [(conn.key, account, s) for s in past(config, conn, fills, flows, anchor)]
    store.put_snapshots(ns, snapshots)  # last: the marker that the seeding is whole
    return True


def past(
    config: Config,
    conn: ConnectionConfig,
    fills: Iterable[Fill],
    flows: Iterable[Flow],
    anchor: datetime,
) -> list[Snapshot]:
    """Hourly snapshots of a paper connection from DEMO_DAYS before `anchor` to `anchor`."""
    balances: Mapping[str, Decimal] = conn.options.get("balances", {})
    prices_now: Mapping[str, Decimal] = conn.options.get("prices", {})
    changes = sorted(_changes(fills, flows, config.settings.quote), key=lambda c: c[0])
    held = defaultdict(lambda: ZERO, balances)
    for _, currency, delta in changes:  # undo everything back to the first snapshot
        held[currency] -= delta
    start = anchor - timedelta(days=DEMO_DAYS)
    series: list[Snapshot] = []
    i = 0
    moment = start
    while moment <= anchor:
        while i < len(changes) and changes[i][0] <= moment:
            _, currency, delta = changes[i]
            held[currency] += delta
            i += 1
        series.append(_snapshot(config, dict(held), prices_now, anchor - moment, moment))
        moment += STEP
    return series


def _changes(
    fills: Iterable[Fill], flows: Iterable[Flow], quote: str
) -> list[tuple[datetime, str, Decimal]]:
    """Each item's effect on the holdings: (time, currency, +/- amount)."""
    out: list[tuple[datetime, str, Decimal]] = []
    for f in fills:
        sign = 1 if f.side == "buy" else -1
        out += [(f.time, f.base, sign * f.amount), (f.time, f.quote or quote, -sign * f.cost)]
        if f.fee:
            out.append((f.time, f.fee_currency or f.quote or quote, -f.fee))
    for flow in flows:
        out.append((flow.time, flow.currency, flow.sign * flow.amount))
        if flow.fee:
            out.append((flow.time, flow.fee_currency or flow.currency, -flow.fee))
    return out


def _snapshot(
    config: Config,
    held: Mapping[str, Decimal],
    prices_now: Mapping[str, Decimal],
    age: timedelta,
    moment: datetime,
) -> Snapshot:
    assets = tuple(
        AssetAmount(currency=c, free=a, used=ZERO, total=a) for c, a in held.items() if a
    )
    prices = {c: paper_price(p, c, age) for c, p in prices_now.items()}
    valued = valuation.value(Holdings(assets=assets, prices=prices), {}, config.settings)
    positions = tuple(AssetPosition(a.currency, a.total, a.price) for a in valued.assets)
    return Snapshot(moment, valued.cash, valued.equity, positions)
