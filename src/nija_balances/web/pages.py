"""The HTML pages: a Jinja2 environment with autoescaping everywhere, and its filters.

Every value from the config or an exchange (user ids, names, errors, symbols) is escaped by
Jinja; names and ids also go through `safe_text` (bidi and zero-width characters written as
`\\u202e`) and sit in `<bdi>`, so none can reorder or hide what follows. Money is formatted
once, here, as the terminal reports do (`render.markers.money`); an unknown figure is `—`.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from nija_balances.domain.models import Status
from nija_balances.domain.text import safe_text
from nija_balances.render.markers import MARKERS, money, status_text
from nija_balances.render.plain import age

HERE = Path(__file__).resolve().parent
NONE = "—"
#: The CSS class of each marker colour of the terminal reports.
TONES = {"green": "good", "cyan": "info", "yellow": "warn", "dim": "muted", "red": "bad",
         "magenta": "odd"}  # fmt: skip


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        text=safe_text,
        segment=lambda s: quote(str(s), safe=""),
        anchor=anchor,
        age=age,
        amount=amount,
        percent=percent,
    )
    env.globals.update(
        money=show_money,
        signed=signed_money,
        marker=marker,
        tone=tone,
        status_text=status_text,
        win_rate=win_rate,
    )
    return env


def render(name: str, **context: Any) -> bytes:
    return environment().get_template(name).render(**context).encode("utf-8")


def anchor(user_id: str) -> str:
    """An id attribute for a user's card: ASCII, stable, whatever the user id holds."""
    return "u-" + hashlib.sha256(user_id.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def show_money(value: float | Decimal | None, quote: str = "USD") -> str:
    """`$1,234.56`; `—` when unknown."""
    return NONE if value is None else money(Decimal(str(value)), quote)


def signed_money(value: float | Decimal | None, quote: str = "USD") -> str:
    """`+$12.50`, `-$3.00`, `$0.00`; `—` when unknown."""
    if value is None:
        return NONE
    text = money(Decimal(str(value)), quote)
    return "+" + text if value > 0 else text


def percent(value: float | None) -> str:
    return NONE if value is None else f"{value * 100:.0f}%"


def win_rate(card: dict[str, Any]) -> str:
    """`62% (31/50)`: the rate with its counts (draws apart); `—` without a closing order."""
    wins, losses = card.get("wins"), card.get("losses")
    if wins is None or losses is None or card.get("win_rate") is None:
        return NONE
    return f"{percent(card['win_rate'])} ({wins}/{wins + losses})"


def amount(value: Decimal | float | None) -> str:
    """An asset amount or price as exact as it came, without an exponent."""
    if value is None:
        return NONE
    number = Decimal(str(value))
    if not number.is_finite():
        return NONE
    text = f"{number.normalize():f}"
    return "0" if text in ("-0", "0") else text


def marker(status: str) -> str:
    return MARKERS[Status(status)][0]


def tone(status: str) -> str:
    return TONES[MARKERS[Status(status)][1]]
