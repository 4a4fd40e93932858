r"""Text that reorders or hides itself on a terminal: bidi overrides and zero-width characters.

`Alice` and `Al<U+202E>ecila` (a RIGHT-TO-LEFT OVERRIDE) or `alice<U+200B>` (a ZERO WIDTH
SPACE) look alike on screen. They are refused in ids (user ids, connection names,
currency codes), naming the code point; display names may hold them, and every place
that prints user-provided text escapes them with `domain.text.safe_text` (`\u202e`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import write
from nija_balances.config.loader import load_toml
from nija_balances.config.nija.reader import load_nija_directory
from nija_balances.domain.syntax import ConfigError

HIDDEN = [
    ("\u202e", "U+202E RIGHT-TO-LEFT OVERRIDE"),
    ("\u202a", "U+202A LEFT-TO-RIGHT EMBEDDING"),
    ("\u2066", "U+2066 LEFT-TO-RIGHT ISOLATE"),
    ("\u200f", "U+200F RIGHT-TO-LEFT MARK"),
    ("\u200b", "U+200B ZERO WIDTH SPACE"),
    ("\u200c", "U+200C ZERO WIDTH NON-JOINER"),
    ("\u200d", "U+200D ZERO WIDTH JOINER"),
    ("\u2060", "U+2060 WORD JOINER"),
    ("\ufeff", "U+FEFF ZERO WIDTH NO-BREAK SPACE"),
]


def test_safe_text_escapes_bidi_zero_width_and_control_characters() -> None:
    from nija_balances.domain.text import safe_text

    assert safe_text("Alice A.") == "Alice A."
    assert safe_text("zoë 李 ñ") == "zoë 李 ñ"
    assert safe_text("Al\u202eecila") == "Al\\u202eecila"
    assert safe_text("a\u200bb\u2060c\ufeffd") == "a\\u200bb\\u2060c\\ufeffd"
    assert safe_text("\x1b[2Jx\ny\x7f\x85") == "\\u001b[2Jx\\u000ay\\u007f\\u0085"
    assert safe_text("\ud800") == "\\ud800"
    for char, _ in HIDDEN:
        assert safe_text(char) == f"\\u{ord(char):04x}"


@pytest.mark.parametrize(("char", "named"), HIDDEN)
def test_a_user_id_with_a_hidden_character_is_refused(
    tmp_path: Path, char: str, named: str
) -> None:
    user = f"ali{char}ce"
    cfg = write(
        tmp_path / "c.toml", f"[users.a.paper]\nexchange = 'paper'\n[users.{json.dumps(user)}]\n"
    )
    with pytest.raises(ConfigError) as info:
        load_toml(cfg)
    error = info.value
    assert (error.line, error.key_path) == (3, f'users."ali\\u{ord(char):04x}ce"')
    assert error.problem == f"a user id may not contain {named}"
    assert error.hint == (
        "bidirectional and zero-width characters make one text look like another: type the id again"
    )
    assert char not in str(error)


def test_connection_names_and_currency_codes_are_ids_too(tmp_path: Path) -> None:
    cfg = write(
        tmp_path / "c.toml",
        '[users.a."pa\u200bper"]\nexchange = "paper"\n'
        '[users.a.p]\nexchange = "paper"\nbalances = { "US\u202eD" = 1 }\n',
    )
    with pytest.raises(ConfigError) as info:
        load_toml(cfg)
    assert [(e.line, e.key_path, e.problem) for e in info.value.problems] == [
        (1, 'users.a."pa\\u200bper"',
         "a connection name may not contain U+200B ZERO WIDTH SPACE"),
        (5, 'users.a.p.balances."US\\u202eD"',
         "a currency code may not contain U+202E RIGHT-TO-LEFT OVERRIDE"),
    ]  # fmt: skip
    assert "\u200b" not in str(info.value) and "\u202e" not in str(info.value)


def test_a_nija_user_id_with_a_hidden_character_is_refused(tmp_path: Path) -> None:
    users = tmp_path / "users"
    users.mkdir()
    (users / "retail_kraken.json").write_text(json.dumps([{"user_id": "ann\u202e"}]))
    with pytest.raises(ConfigError) as info:
        load_nija_directory(users)
    assert (info.value.line, info.value.key_path, info.value.problem) == (
        1,
        "[0].user_id",
        "a user id may not contain U+202E RIGHT-TO-LEFT OVERRIDE",
    )


def test_display_names_may_hold_them_and_are_kept_as_written(tmp_path: Path) -> None:
    cfg = write(
        tmp_path / "c.toml",
        '[users.a]\nname = "Eve \u202eevil\u200b"\n[users.a.p]\nexchange = "paper"\n',
    )
    assert load_toml(cfg).users[0].name == "Eve \u202eevil\u200b"


def test_errors_and_warnings_quoting_user_text_escape_them(tmp_path: Path) -> None:
    cfg = write(tmp_path / "c.toml", '[users.a]\n"enab\u202eled" = true\n')
    with pytest.raises(ConfigError) as info:
        load_toml(cfg)
    assert info.value.problem == "unknown key 'enab\\u202eled' (did you mean 'enabled'?)"
    assert "\u202e" not in str(info.value)
    users = tmp_path / "users\u202e"
    users.mkdir()
    (users / "retail_kraken.json").write_text(
        json.dumps([{"user_id": "ann", "name": "A\u202eB"}, {"user_id": "ann", "name": "C"}])
    )
    (users / "ann.json").write_text(json.dumps({"broker": "kraken", "name": "Ann\u200b"}))
    with pytest.raises(ConfigError) as info:
        load_nija_directory(users)
    assert "\u202e" not in str(info.value) and "\\u202e" in str(info.value)
    (users / "retail_kraken.json").write_text(json.dumps([{"user_id": "ann", "name": "A\u202eB"}]))
    warnings = load_nija_directory(users).warnings
    assert warnings == ("user 'ann': name 'A\\u202eB' differs from 'Ann\\u200b'; kept the first",)


def test_toml_written_by_nija_escapes_them_and_reads_back_the_same(tmp_path: Path) -> None:
    """`config import` prints the converted TOML; `config add-user --name` writes it."""
    import tomllib

    from nija_balances.config.edit import assignment, table_header
    from nija_balances.config.nija.convert import convert
    from nija_balances.config.nija.reader import scan_directory

    name = "Eve \u202eevil\u200b"
    line = assignment("name", name)
    assert line == 'name = "Eve \\u202eevil\\u200b"'
    assert tomllib.loads(line) == {"name": name}
    header = table_header(("users", "a", "p\u2066"))
    assert header == '[users.a."p\\u2066"]'
    assert tomllib.loads(header) == {"users": {"a": {"p\u2066": {}}}}
    users = tmp_path / "users"
    users.mkdir()
    (users / "retail_kraken.json").write_text(json.dumps([{"user_id": "ann", "name": name}]))
    result = convert(scan_directory(users, strict=False))
    assert "\u202e" not in result.text and "\u200b" not in result.text
    assert result.config.users[0].name == name
