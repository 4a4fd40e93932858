r"""User-provided text made safe to print: nothing in it can reorder, hide or drive the screen.

A RIGHT-TO-LEFT OVERRIDE (U+202E) in `Al<U+202E>ecila` shows it as `Alalice`, a ZERO WIDTH
SPACE makes `alice<U+200B>` look like `alice`, and an escape sequence (ESC `[2J`) clears the
terminal. `safe_text` writes each such character as `\u202e`; `hidden_character` names the
first bidi or zero-width one, for refusing it in an id.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

BIDI = frozenset(
    "\u061c\u200e\u200f"  # ARABIC LETTER MARK, LEFT-TO-RIGHT MARK, RIGHT-TO-LEFT MARK
    "\u202a\u202b\u202c\u202d\u202e"  # embeddings, POP DIRECTIONAL FORMATTING, overrides
    "\u2066\u2067\u2068\u2069"  # isolates, POP DIRECTIONAL ISOLATE
)
ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff")
LINE_BREAKS = frozenset("\u2028\u2029")  # LINE SEPARATOR, PARAGRAPH SEPARATOR


def _unsafe(ch: str) -> bool:
    if ch in BIDI or ch in ZERO_WIDTH or ch in LINE_BREAKS:
        return True
    return unicodedata.category(ch) in ("Cc", "Cs")  # C0, DEL, C1; lone surrogates


def safe_text(text: str) -> str:
    """`text` with control, bidi and zero-width characters written as `\\u202e`.

    Letters of every script, accents and emoji are kept as they are."""
    if text.isascii() and text.isprintable():
        return text
    return "".join(f"\\u{ord(ch):04x}" if _unsafe(ch) else ch for ch in text)


def hidden_character(text: str) -> str | None:
    """The first bidi or zero-width character of `text`, named (`U+202E RIGHT-TO-LEFT
    OVERRIDE`), or None."""
    for ch in text:
        if ch in BIDI or ch in ZERO_WIDTH:
            return f"U+{ord(ch):04X} {unicodedata.name(ch, 'FORMAT CHARACTER')}"
    return None


@lru_cache(maxsize=8192)  # a config of N users compares each id with every other one
def env_token(text: str) -> str:
    """`alice.smith-2` -> `ALICE_SMITH_2`: how ids appear in environment variable names."""
    return re.sub(r"[^A-Za-z0-9]", "_", text).upper()
