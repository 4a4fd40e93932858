"""The P&L's replay cache: a connection's FIFO replay of its tracked span, kept in the store
(`ports.ReplayCache`) with what it was computed from, so that `nija pnl` reads no fills
while nothing it depends on changed.

A kept replay of the span (first, upto] is the replay of a later span (first, last] when
its inputs are the same (the first snapshot, whose holdings open the lots; the cash
currencies; the numbers of fills and flows stored, which only ever grow; `FORMAT` and
`lots.REPLAY_VERSION`), upto <= last, and no stored fill or flow lies in (upto, last] (the
first one after upto, `next`, was noted with the replay). A replay that consulted snapshot
prices (`Realization.priced`) depends on which snapshots it was given and is never kept.

The document is JSON: money and amounts as exact decimal strings, unknown kept as null,
times as ISO 8601. One that cannot be read is ignored (with one warning) and replaced.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from nija_balances.domain.history import Fill, Flow, Snapshot
from nija_balances.domain.lots import REPLAY_VERSION
from nija_balances.domain.pnl import ReplaySummary

log = logging.getLogger("nija_balances.engine.replay_cache")
#: What the documents look like; another one is replayed again.
FORMAT = 1
_UNREADABLE = (ValueError, TypeError, KeyError, IndexError, ArithmeticError, OverflowError)


@dataclass(frozen=True)
class Inputs:
    """What a connection's replay is computed from, but the end of its span: the first
    snapshot's holdings and prices (its opening lots), the cash currencies and the numbers
    of fills and flows stored."""

    first: Snapshot
    cash: frozenset[str]
    fills: int  # stored for the exchange account, whatever their time
    flows: int

    def marks(self) -> list[Any]:
        """These inputs as JSON values, compared as they are."""
        return [
            FORMAT,
            REPLAY_VERSION,
            self.first.time.isoformat(),
            [[a.currency, str(a.amount), _opt(a.price)] for a in self.first.assets],
            sorted(self.cash),
            self.fills,
            self.flows,
        ]


def next_event(fills: Iterable[Fill], flows: Iterable[Flow], after: datetime) -> datetime | None:
    """The time of the first fill or flow after `after` (None: there is none)."""
    later = [f.time for f in fills if f.time > after] + [f.time for f in flows if f.time > after]
    return min(later, default=None)


def encode(
    replay: ReplaySummary, inputs: Inputs, *, upto: datetime, following: datetime | None
) -> str:
    """The document of `replay`, the replay of (inputs.first, upto] with `following` the
    time of the first stored fill or flow after `upto`."""
    doc = {
        "inputs": inputs.marks(),
        "upto": upto.isoformat(),
        "next": None if following is None else following.isoformat(),
        "realized": str(replay.realized),
        "fees": str(replay.fees),
        "held": [list(replay.held), list(map(_opt, replay.held.values()))],
        "counts": [replay.wins, replay.losses, replay.draws, replay.orders, replay.fills],
        "reasons": list(replay.reasons),
        # two columns: read back with one call per column, not one per fill
        "fill_realized": [
            list(replay.fill_realized),
            list(map(_opt, replay.fill_realized.values())),
        ],
    }
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


def kept_replay(
    text: str, inputs: Inputs, last: datetime, *, name: str = ""
) -> ReplaySummary | None:
    """The replay in `text` when it is that of (inputs.first, last]; None when it is not.
    A document that cannot be read raises `Unreadable`."""
    try:
        doc = json.loads(text)
        if doc["inputs"] != inputs.marks():
            return None
        upto, following = _time(doc["upto"]), doc["next"]
        if upto > last or (following is not None and _time(following) <= last):
            return None
        return _summary(doc)
    except _UNREADABLE as exc:
        raise Unreadable(f"{name or 'a connection'}: {exc}") from None


class Unreadable(ValueError):
    """A kept replay that cannot be read (what, and why)."""


def _summary(doc: Mapping[str, Any]) -> ReplaySummary:
    currencies, costs = doc["held"]
    wins, losses, draws, orders, fills = _ints(doc["counts"])
    ids, results = doc["fill_realized"]
    return ReplaySummary(
        realized=_dec(doc["realized"]),
        fees=_dec(doc["fees"]),
        held=dict(zip(_strs(currencies), _maybes(costs), strict=True)),
        wins=wins,
        losses=losses,
        draws=draws,
        orders=orders,
        fills=fills,
        reasons=tuple(_strs(doc["reasons"])),
        fill_realized=dict(zip(_strs(ids), _maybes(results), strict=True)),
    )


def _opt(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _str(value: object) -> str:
    if type(value) is not str:
        raise TypeError(f"expected a string, not {value!r}")
    return value


def _dec(value: object) -> Decimal:
    return Decimal(_str(value))


def _column(values: object, *kinds: type) -> list[Any]:
    """`values` when it is a list of items of `kinds`."""
    if type(values) is not list or not set(map(type, values)) <= set(kinds):
        raise TypeError(f"expected a list of {' or '.join(k.__name__ for k in kinds)}")
    return values


def _strs(values: object) -> list[str]:
    return _column(values, str)


def _ints(values: object) -> list[int]:
    return _column(values, int)


def _maybes(values: object) -> list[Decimal | None]:
    return [None if v is None else Decimal(v) for v in _column(values, str, type(None))]


def _time(value: object) -> datetime:
    moment = datetime.fromisoformat(_str(value))
    if moment.tzinfo is None:
        raise ValueError(f"time without a zone: {value!r}")
    return moment
