"""Property-based fuzzing of the config loaders: a `Config` or a `ConfigError`, nothing else.

The TOML loader gets generated documents, random mutations of a valid file and random
bytes; the NIJA loader gets generated directories of JSON (and non-JSON) files. Every
`ConfigError` must name the file (or directory) it is about. The lenient NIJA scan and the
converter never crash, and the TOML they write loads back with the same users.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nija_balances.config.loader import load_toml, parse_document
from nija_balances.config.nija.convert import convert
from nija_balances.config.nija.reader import load_nija_directory, scan_directory
from nija_balances.domain.models import Config
from nija_balances.domain.syntax import ConfigError

FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

VALID = """\
[settings]
cache_ttl = 30
timeout = 5
max_in_flight = 8
quote = "usd"
basis = "cash"
stablecoins = ["USDT", "usdc"]

[master]
name = "Desk"

[master.coinbase]

[users.alice]
name = "Alice A."

[users.alice.kraken]
api_key_env = "ALICE_K"
api_secret_env = "ALICE_S"

[users.alice.kraken-sub]
exchange = "kraken"

[users."bob.b".binance]
ccxt = { options = { defaultType = "spot" } }

[users.carol]
enabled = false

[users.carol.paper]
exchange = "paper"
balances = { USD = 250.0, BTC = 0.01 }
prices = { BTC = 60000.0 }
"""

# Pieces a mutation inserts: TOML syntax, the config's own words, and the numbers and
# characters that broke loaders before (1e400, nan, -0.0, a BOM, NUL, an escape).
PIECES = [
    *'[]."\'=#\n\\ {},-_0123456789',
    "\ufeff", "\x00", "\x1b", "\u2028", "é", "1e400", "nan", "inf", "-0.0", "true", "1979-05-27",
    "[users.x]\n", "[[users]]\n", "exchange", "paper", "kraken", "balances", "prices", "enabled",
    "name", "ccxt", "api_key", '"a.b"', '"a/b"', "settings", "platform", "master", "users",
]  # fmt: skip

KEYS = st.one_of(
    st.sampled_from(
        [
            "settings", "platform", "master", "users", "alice", "Alice", "a.b", "a b", "a/b", "",
            " ", "platform ", "kraken", "kraken-sub", "paper", "exchange", "balances", "prices",
            "name", "enabled", "ccxt", "cache_ttl", "timeout", "max_in_flight", "quote",
            "basis", "stablecoins", "api_key", "api_key_env", "api_secret", "USD", "usd", "BTC",
        ]
    ),
    st.text(max_size=6),
)  # fmt: skip
SCALARS = st.one_of(
    st.booleans(),
    st.integers(),
    st.floats(),  # includes nan, inf and -0.0
    st.text(max_size=8),
    st.sampled_from(["paper", "kraken", "krakn", "equity", "cash", "USD", "", " "]),
    st.decimals(allow_nan=False).map(str),
    st.dates(),
)
TOML_VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(KEYS, children, max_size=4)
    ),
    max_leaves=30,
)


def outcome(load: Any, where: Path) -> Config | ConfigError:
    """`load()`: a Config, or a ConfigError whose text names `where`; anything else fails."""
    try:
        config = load()
    except ConfigError as error:
        assert str(where) in str(error), str(error)
        assert error.problem.strip()
        return error
    assert isinstance(config, Config)
    return config


# ------------------------------------------------------------------ TOML


@FUZZ
@given(document=st.dictionaries(KEYS, TOML_VALUES, max_size=5))
def test_generated_documents(document: dict[str, Any]) -> None:
    where = Path("/configs/c.toml")
    outcome(lambda: parse_document(document, where, ""), where)


@FUZZ
@given(
    document=st.fixed_dictionaries(
        {"users": st.dictionaries(KEYS, st.dictionaries(KEYS, TOML_VALUES, max_size=3))},
        optional={"settings": st.dictionaries(KEYS, SCALARS), "platform": TOML_VALUES},
    )
)
def test_generated_documents_with_users(document: dict[str, Any]) -> None:
    """Shaped like a config, so that the checks deep inside the loader are reached."""
    where = Path("/configs/c.toml")
    outcome(lambda: parse_document(document, where, ""), where)


@FUZZ
@given(data=st.data())
def test_mutations_of_a_valid_file(tmp_path: Path, data: st.DataObject) -> None:
    text = VALID
    for _ in range(data.draw(st.integers(1, 4), label="edits")):
        at = data.draw(st.integers(0, len(text)), label="at")
        edit = data.draw(st.sampled_from(["delete", "insert", "repeat"]), label="edit")
        if edit == "delete":
            text = text[:at] + text[at + data.draw(st.integers(1, 12), label="n") :]
        elif edit == "insert":
            piece = "".join(data.draw(st.lists(st.sampled_from(PIECES), max_size=4)))
            text = text[:at] + piece + text[at:]
        else:
            other = data.draw(st.integers(0, len(text)), label="other")
            text = text[:at] + text[min(at, other) : max(at, other)] + text[at:]
    config = tmp_path / "c.toml"
    config.write_bytes(text.encode("utf-8", "surrogatepass"))
    outcome(lambda: load_toml(config), config)


@FUZZ
@given(raw=st.binary(max_size=300))
def test_random_bytes(tmp_path: Path, raw: bytes) -> None:
    config = tmp_path / "c.toml"
    config.write_bytes(raw)
    outcome(lambda: load_toml(config), config)


def test_the_valid_file_is_valid(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(VALID)
    assert [u.id for u in load_toml(config).users] == ["alice", "bob.b", "carol"]


# ------------------------------------------------------------------ NIJA directories

TEXT = st.one_of(
    st.sampled_from(
        [
            "ann", "Ann", "ann.lee", "ann lee", "zoë", "zoé", "a/b", "platform", "", " ",
            "kraken", "Coinbase", "BrokerType.KRAKEN", "okx", "alpaca", "tradier", "paper",
            "krakn", "retail", "investor",
        ]
    ),
    st.text(max_size=8),
)  # fmt: skip
JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**30), 10**30), st.floats(), TEXT
)
ENTRY = st.fixed_dictionaries(
    {},
    optional={
        "user_id": st.one_of(TEXT, JSON_SCALARS),
        "name": st.one_of(TEXT, JSON_SCALARS),
        "account_type": st.one_of(TEXT, JSON_SCALARS),
        "broker_type": st.one_of(TEXT, JSON_SCALARS, st.lists(TEXT, max_size=2)),
        "broker": st.one_of(TEXT, JSON_SCALARS, st.lists(TEXT, max_size=3)),
        "enabled": st.one_of(st.booleans(), JSON_SCALARS),
        "api_key": TEXT,
    },
)
ANY_JSON = st.recursive(
    JSON_SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(TEXT, children, max_size=3)
    ),
    max_leaves=10,
)
CONTENT = st.one_of(
    st.lists(st.one_of(ENTRY, ENTRY, ANY_JSON), max_size=4),
    ENTRY,
    st.fixed_dictionaries({"users": st.one_of(st.lists(ENTRY, max_size=3), ANY_JSON)}),
    ANY_JSON,
)
FILE_NAMES = st.one_of(
    st.sampled_from(
        [
            "retail_kraken.json", "investor_alpaca.json", "retail_coinbase.json", "ann.json",
            "Ann.json", "zoë.json", "platform.json", "a.b.json", "people.json", ".hidden.json",
            "notes.txt",
        ]
    ),
    st.text(st.characters(exclude_characters="/\x00"), min_size=1, max_size=8).map(
        lambda s: s + ".json"
    ),
)  # fmt: skip
FILES = st.dictionaries(
    FILE_NAMES,
    st.one_of(
        CONTENT.map(lambda c: json.dumps(c, indent=2)),
        CONTENT.map(lambda c: json.dumps(c)),
        st.binary(max_size=40),
    ),
    min_size=1,
    max_size=4,
)

_dirs = itertools.count()


def users_dir(base: Path, files: dict[str, str | bytes]) -> Path | None:
    """A fresh directory holding `files`; None when the file system refuses a name."""
    directory = base / f"users-{next(_dirs)}"
    directory.mkdir()
    for name, content in files.items():
        data = content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass")
        try:
            (directory / name).write_bytes(data)
        except (OSError, UnicodeEncodeError):
            return None
    return directory


@FUZZ
@given(files=FILES)
def test_nija_directories(tmp_path: Path, files: dict[str, str | bytes]) -> None:
    directory = users_dir(tmp_path, files)
    if directory is None:
        return
    strict = outcome(lambda: load_nija_directory(directory), directory)
    try:
        scan = scan_directory(directory, strict=False)
    except ConfigError as error:  # only about the directory itself: nothing to scan
        assert isinstance(strict, ConfigError) and str(error) == str(strict)
        return
    for problem in scan.problems:
        assert str(directory) in str(problem)
    try:
        result = convert(scan)
    except ConfigError as error:
        assert str(error).startswith(f"{directory}: no user could be imported")
        assert isinstance(strict, ConfigError)
        return
    "\n".join(result.report()).encode("utf-8", "backslashreplace")
    toml = tmp_path / f"{directory.name}.toml"
    toml.write_text(result.text, "utf-8")  # a lone surrogate here would raise
    loaded = load_toml(toml)
    shape = [(u.id, u.name, u.enabled, [c.exchange for c in u.connections]) for u in loaded.users]
    assert shape == [
        (u.id, u.name, u.enabled, [c.exchange for c in u.connections]) for u in result.config.users
    ]
    if isinstance(strict, Config):  # what loads strictly converts without a skip, alike
        assert scan.problems == []
        assert shape == [
            (u.id, u.name, u.enabled, [c.exchange for c in u.connections]) for u in strict.users
        ]


@pytest.mark.parametrize(
    ("folder", "name"),
    [
        ("users", "\x1b[31m_kraken.json"),
        ("users", "retail\n[users.x]_kraken.json"),
        ("users\n[users.evil]", "retail_kraken.json"),
    ],
    ids=["escape-in-file-name", "newline-in-file-name", "newline-in-directory-name"],
)
def test_converted_comments_survive_odd_file_names(tmp_path: Path, folder: str, name: str) -> None:
    """Found by the property above: a file name went raw into a TOML comment."""
    directory = tmp_path / folder
    directory.mkdir()
    (directory / name).write_text('[{"user_id": "ann", "broker_type": "kraken"}]')
    result = convert(scan_directory(directory, strict=False))
    toml = tmp_path / "out.toml"
    toml.write_text(result.text, "utf-8")
    assert [u.id for u in load_toml(toml).users] == ["ann"]
    assert "[users.evil]" not in load_toml(toml).users[0].name
