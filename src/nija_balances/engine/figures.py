"""The P&L model (`nija pnl`, `nija trades`, the dashboard's cards, `get_user_pnl`): every
figure of DESIGN §10 per account and connection, from what the store holds.

Nothing is fetched here: snapshots come from earlier good fetches, fills and flows from
`nija sync`. The figures themselves are `domain.pnl`'s; this module only gathers their
inputs per connection and sums connections into accounts.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import cast

from nija_balances.domain.history import Fill, Flow, Snapshot, SyncState, as_utc
from nija_balances.domain.models import AccountConfig, Config, ConnectionConfig
from nija_balances.domain.pnl import (
    PnL,
    ReplaySummary,
    combine,
    connection_pnl,
    summarize,
    tracked_realization,
)
from nija_balances.domain.valuation import cash_currencies
from nija_balances.engine.ports import HistoryStore, ReplayCache, SnapshotStore, Store

log = logging.getLogger("nija_balances.engine.figures")


@dataclass(frozen=True)
class ConnectionHistory:
    """What the store holds for one connection: the inputs of its figures.

    `trades_complete`/`flows_complete`: whether that history is whole up to its last sync;
    `reasons` say what is missing when not (never synced, unsupported, a failed sync).
    `replay`: what the FIFO replay of the tracked span gave, when known already (`summarize`
    of `tracked_realization` of these snapshots, fills and flows); then `fills` serve only
    as trades to list."""

    snapshots: Sequence[Snapshot] = ()
    fills: Sequence[Fill] = ()
    flows: Sequence[Flow] = ()
    trades_complete: bool = False
    flows_complete: bool = False
    reasons: tuple[str, ...] = ()
    replay: ReplaySummary | None = None


@dataclass(frozen=True)
class TradeRow:
    """One fill as `nija trades` lists it, with the realized P&L of the lots it closed
    (None: it closed none, or their cost is unknown)."""

    account: str
    connection: str
    exchange: str
    fill: Fill
    realized: Decimal | None


@dataclass(frozen=True)
class ConnectionFigures:
    """One connection's figures, its fills and its flows (both newest first)."""

    connection: ConnectionConfig
    pnl: PnL
    trades: tuple[TradeRow, ...] = ()
    flows: tuple[Flow, ...] = ()


@dataclass(frozen=True)
class AccountFigures:
    """An account's figures (its connections' summed) and each connection's."""

    account: AccountConfig
    pnl: PnL
    connections: tuple[ConnectionFigures, ...]

    @property
    def trades(self) -> list[TradeRow]:
        """Every fill of the account, newest first."""
        return newest_first(t for c in self.connections for t in c.trades)


@dataclass(frozen=True)
class Figures:
    """The figures of the platform and of each enabled user (config order)."""

    generated_at: datetime  # aware UTC
    quote: str
    timezone: str
    platform: AccountFigures | None
    users: dict[str, AccountFigures] = field(default_factory=dict)

    @property
    def accounts(self) -> list[AccountFigures]:
        return [*([self.platform] if self.platform else []), *self.users.values()]


def newest_first(rows: Iterable[TradeRow]) -> list[TradeRow]:
    return sorted(rows, key=lambda t: (t.fill.time, t.fill.id), reverse=True)


def connection_figures(
    connection: ConnectionConfig,
    history: ConnectionHistory,
    *,
    now: datetime,
    tz: tzinfo,
    cash: frozenset[str],
) -> ConnectionFigures:
    """One connection's P&L over its tracked span and its fills with their realized P&L."""
    replay = history.replay
    if replay is None:
        done = tracked_realization(
            history.snapshots, history.fills, history.flows, now=now, cash=cash
        )
        replay = None if done is None else summarize(done)
    pnl = connection_pnl(
        history.snapshots,
        history.fills,
        history.flows,
        now=now,
        tz=tz,
        cash=cash,
        trades_complete=history.trades_complete,
        flows_complete=history.flows_complete,
        reasons=history.reasons,
        replay=replay,
    )
    realized = replay.fill_realized if replay is not None else {}
    trades = tuple(
        TradeRow(
            connection.account,
            connection.name,
            connection.exchange,
            fill,
            realized.get(fill.id),
        )
        for fill in history.fills
    )
    flows = sorted(history.flows, key=lambda f: (f.time, f.id), reverse=True)
    return ConnectionFigures(connection, pnl, tuple(newest_first(trades)), tuple(flows))


def account_figures(
    account: AccountConfig,
    histories: Mapping[str, ConnectionHistory],
    *,
    now: datetime,
    tz: tzinfo,
    cash: frozenset[str],
) -> AccountFigures:
    """An account's figures from its connections' histories (by connection key); a
    connection with nothing stored has no snapshot yet, so the account is incomplete."""
    parts = tuple(
        connection_figures(c, histories.get(c.key, ConnectionHistory()), now=now, tz=tz, cash=cash)
        for c in account.connections
    )
    return AccountFigures(account, combine({p.connection.name: p.pnl for p in parts}), parts)


def zone(name: str) -> tzinfo:
    """The `settings.timezone` as a tzinfo (checked when the config was loaded)."""
    if name == "UTC":
        return UTC
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def figures_from(
    config: Config, histories: Mapping[str, ConnectionHistory], *, now: datetime
) -> Figures:
    """The figures of `config`'s enabled accounts from their connections' histories."""
    now = as_utc(now)
    settings = config.settings
    tz, cash = zone(settings.timezone), cash_currencies(settings)

    def figures(account: AccountConfig) -> AccountFigures:
        return account_figures(account, histories, now=now, tz=tz, cash=cash)

    platform = config.platform
    return Figures(
        generated_at=now,
        quote=settings.quote,
        timezone=settings.timezone,
        platform=figures(platform) if platform.enabled and platform.connections else None,
        users={u.id: figures(u) for u in config.users if u.enabled},
    )


def load_figures(
    config: Config,
    store: SnapshotStore,
    *,
    now: float | datetime,
    environ: Mapping[str, str] | None = None,
    trades: bool = True,
) -> Figures:
    """The figures of `config`'s enabled accounts from the store's snapshots, fills, flows
    and sync states (only those of the exchange account each connection reads now).

    With `trades=False` the connections list no trades: a store that keeps replays
    (`ports.ReplayCache`) then reads the fills only of connections whose kept replay no
    longer holds, and keeps their new one."""
    from nija_balances.engine.history import account_hashes

    moment = datetime.fromtimestamp(now, UTC) if isinstance(now, float | int) else as_utc(now)
    accounts = [config.platform, *(u for u in config.users if u.enabled)]
    connections = [c for a in accounts for c in a.connections]
    keys = [c.key for c in connections]
    if not keys:
        return figures_from(config, {}, now=moment)
    owners = account_hashes(config, connections, environ)
    ns = config.namespace
    histories: dict[str, ConnectionHistory] = {}
    if not isinstance(store, HistoryStore):
        snapshots = store.get_snapshots(ns, keys, accounts=owners)
        for key in keys:
            histories[key] = ConnectionHistory(
                snapshots=snapshots.get(key, ()),
                reasons=("this store keeps no trade history",),
            )
        return figures_from(config, histories, now=moment)
    cache = store if isinstance(store, ReplayCache) else None
    # the counts of fills and flows first: what is read after them is at least as new
    kept = cache.get_replays(ns, keys, owners) if cache is not None else {}
    flows = store.get_flows(ns, keys, accounts=owners)
    states = store.get_sync_states(ns, keys, accounts=owners)
    needed = _snapshots_needed(config, cast("Store", store), keys, owners, flows, moment)
    cash = cash_currencies(config.settings)
    replays = Replays(kept, cash, moment)
    for key in kept:
        replays.reuse(key, needed.get(key, ()))
    unknown = [k for k in keys if k not in replays.found and needed.get(k)]
    wanted = keys if trades else unknown
    fills = store.get_fills(ns, wanted, accounts=owners) if wanted else {}
    for key in unknown:
        replays.compute(key, needed.get(key, ()), fills.get(key, ()), flows.get(key, ()))
    # a replay that consulted prices was given only the boundary snapshots: it takes them
    # from every snapshot, as the figures of all snapshots would
    whole = set(_valued_at_snapshots(unknown, flows, cash))
    again = [k for k in unknown if k not in whole and replays.priced(k)]
    if again:
        needed.update(cast("Store", store).get_snapshots(ns, again, accounts=owners))
        for key in again:
            replays.compute(key, needed.get(key, ()), fills.get(key, ()), flows.get(key, ()))
    if replays.unreadable:
        log.warning(
            "ignoring %d unreadable kept replays (computed again): %s",
            len(replays.unreadable),
            "; ".join(replays.unreadable[:3]),
        )
    if cache is not None and replays.new:
        cache.put_replays(ns, ((k, owners[k], doc) for k, doc in replays.new.items()))
    for key in keys:
        state = states.get(key, {})
        trades_ok, trades_why = _whole(state.get("trades"), "trade history")
        flows_ok, flows_why = _whole(state.get("flows"), FLOWS_WORDS)
        histories[key] = ConnectionHistory(
            snapshots=needed.get(key, ()),
            fills=fills.get(key, ()) if trades else (),
            flows=flows.get(key, ()),
            trades_complete=trades_ok,
            flows_complete=flows_ok,
            reasons=(*trades_why, *flows_why),
            replay=replays.found.get(key),
        )
    return figures_from(config, histories, now=moment)


def keep_replays(
    config: Config,
    store: SnapshotStore,
    keys: Iterable[str],
    *,
    now: float | datetime,
    environ: Mapping[str, str] | None = None,
) -> None:
    """Replay the tracked spans of the connections `keys` and keep them in the store (a
    `ReplayCache`; other stores keep none): called after a sync stored new fills or flows,
    so that the next `nija pnl` reads none."""
    wanted = set(keys)
    if not wanted or not isinstance(store, ReplayCache):
        return

    def only(account: AccountConfig) -> AccountConfig:
        kept = tuple(c for c in account.connections if c.key in wanted)
        return replace(account, connections=kept)

    narrowed = replace(
        config, platform=only(config.platform), users=tuple(only(u) for u in config.users)
    )
    load_figures(narrowed, store, now=now, environ=environ, trades=False)


class Replays:
    """The connections' replays of their tracked spans: kept ones that still hold, and new
    ones with the documents to keep (`engine.replay_cache`)."""

    def __init__(
        self,
        kept: Mapping[str, tuple[int, int, str | None]],
        cash: frozenset[str],
        now: datetime,
    ) -> None:
        self.kept, self.cash, self.now = kept, cash, now
        self.found: dict[str, ReplaySummary] = {}
        self.new: dict[str, str] = {}
        self.unreadable: list[str] = []

    def priced(self, key: str) -> bool:
        """Whether `key`'s replay consulted snapshot prices."""
        found = self.found.get(key)
        return found is not None and found.priced

    def _span(self, snapshots: Iterable[Snapshot]) -> list[Snapshot]:
        return sorted((s for s in snapshots if s.time <= self.now), key=lambda s: s.time)

    def reuse(self, key: str, snapshots: Sequence[Snapshot]) -> None:
        """Take `key`'s kept replay if it still holds for these snapshots."""
        from nija_balances.engine.replay_cache import Inputs, Unreadable, kept_replay

        fills, flows, doc = self.kept[key]
        span = self._span(snapshots)
        if doc is None or not span:
            return
        inputs = Inputs(span[0], self.cash, fills, flows)
        try:
            replay = kept_replay(doc, inputs, span[-1].time, name=key)
        except Unreadable as exc:
            self.unreadable.append(str(exc))
            return
        if replay is not None:
            self.found[key] = replay

    def compute(
        self,
        key: str,
        snapshots: Sequence[Snapshot],
        fills: Sequence[Fill],
        flows: Sequence[Flow],
    ) -> None:
        """Replay `key`'s span, and keep the replay unless it consulted snapshot prices."""
        from nija_balances.engine.replay_cache import Inputs, encode, next_event

        span = self._span(snapshots)
        realization = tracked_realization(span, fills, flows, now=self.now, cash=self.cash)
        if realization is None:
            return
        self.found[key] = replay = summarize(realization)
        if replay.priced or key not in self.kept:
            return
        counts = self.kept[key]
        inputs = Inputs(span[0], self.cash, counts[0], counts[1])
        upto = span[-1].time
        self.new[key] = encode(replay, inputs, upto=upto, following=next_event(fills, flows, upto))


FLOWS_WORDS = "deposit and withdrawal history"
JUST_AFTER = timedelta(microseconds=1)


def _snapshots_needed(
    config: Config,
    store: Store,
    keys: list[str],
    owners: Mapping[str, str],
    flows: Mapping[str, Sequence[Flow]],
    now: datetime,
) -> dict[str, list[Snapshot]]:
    """Per key, the snapshots its figures read: the first, the last up to `now` and the last
    up to today's midnight (the daily P&L's boundary). A connection with a flow of a
    currency not at par values it at the snapshots around it, so it gets all of its own.
    The figures are those all snapshots give; a year of 5-minute snapshots is not read
    (a replay that turns out to need prices gets the rest: `load_figures`)."""
    ns = config.namespace
    cash = cash_currencies(config.settings)
    tz = zone(config.settings.timezone)
    midnight = as_utc(datetime.combine(now.astimezone(tz).date(), time(), tzinfo=tz))
    priced = _valued_at_snapshots(keys, flows, cash)
    full = store.get_snapshots(ns, priced, accounts=owners) if priced else {}
    rest = [k for k in keys if k not in full]
    first = store.first_snapshots(ns, rest, accounts=owners)
    last = store.last_snapshots(ns, rest, before=now + JUST_AFTER, accounts=owners)
    boundary = store.last_snapshots(ns, rest, before=midnight + JUST_AFTER, accounts=owners)
    needed: dict[str, list[Snapshot]] = dict(full)
    for key in rest:
        found = {s.time: s for part in (first, boundary, last) if (s := part.get(key))}
        if found:
            needed[key] = sorted(found.values(), key=lambda s: s.time)
    return needed


def _valued_at_snapshots(
    keys: Iterable[str], flows: Mapping[str, Sequence[Flow]], cash: frozenset[str]
) -> list[str]:
    """The keys with a flow of a currency not at par (valued at the snapshots around it)."""
    return [k for k in keys if any(f.currency not in cash for f in flows.get(k, ()))]


def _whole(state: SyncState | None, what: str) -> tuple[bool, tuple[str, ...]]:
    """Whether a kind of history is whole, and if not why (never synced, unsupported,
    failed)."""
    if state is None:
        return False, (f"{what} never synced (run `nija sync`)",)
    if state.whole:
        return True, ()
    if state.unsupported:
        return False, (f"{what} unsupported: {state.problem}",)
    return False, (f"{what}: {state.problem or 'sync not finished'}",)
