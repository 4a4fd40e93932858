"""Bad input through the CLI: every malformed config is one exact message and exit 2.

`tests/test_config.py` and `tests/test_nija_import.py` hold the first cases; these are the
ones beyond them: wrong types everywhere, duplicate and colliding user ids, byte-order
marks, empty files, JSON documents that are a number/string/null, deep nesting, 1e400,
NaN, negative zero, unicode ids, ids with dots and spaces, missing and empty directories,
unreadable files. Each runs `nija show --config X` in-process and compares the whole of
stderr: `error: FILE[:LINE]: KEY: PROBLEM` and its hint. Never a traceback.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from robustness.conftest import IS_ROOT, nija, nija_process, write_json

PAPER = "exchange = 'paper'\nbalances = { USD = 5 }\n"
HINT_TOML = "  hint: check quotes, brackets and `key = value` syntax on that line\n"
HINT_NUMBER = "  hint: write it as USD = 250.0\n"
HINT_INF = "  hint: inf and nan are not usable here: write a plain number of seconds\n"
HINT_SLASH = "  hint: '/' separates the user from the connection in cache keys; use '_' or '-'\n"
HINT_ARRAY = (
    '  hint: each entry looks like {"user_id": "alice", "name": "Alice", "broker_type": "kraken"}\n'
)
HINT_CASE = "  hint: user ids are told apart without regard to case: rename one of the users\n"
HINT_JSON = "  hint: check commas, quotes and brackets on that line\n"
HINT_RENAME = (
    "  hint: rename one of the users (in variable names a user id is upper-cased and every "
    "character other than A-Z and 0-9 becomes '_')\n"
)


def refused(config: Path, expected: str) -> None:
    """`nija show --config CONFIG` exits 2 with exactly `expected` on stderr, nothing on stdout."""
    run = nija("show", "--config", config)
    assert (run.code, run.out) == (2, ""), run
    assert run.err == expected
    assert "Traceback" not in run.err


# ------------------------------------------------------------------ TOML

TOML_CASES = [
    # -- encodings and empty files
    ("utf16_bom", "\ufeff[users.a.p]\n".encode("utf-16-le"),
     ": not UTF-8 text (invalid start byte at byte 0)\n  hint: save the file as UTF-8\n"),
    ("bom_then_mistake", b"\xef\xbb\xbf[users.a]\nenabled = 'yes'\n",
     ":2: users.a.enabled: expected true or false, got 'yes'\n"),
    ("comments_only", "# a config with nothing in it\n\n   \n",
     ": users: nothing is configured: no users and no platform connections\n"
     "  hint: add a user with `nija config add-user ID` (or a [users.ID] table), or a "
     "platform connection such as [platform.coinbase]\n"),
    # -- huge numbers, NaN, inf
    ("balance_1e400", f"[users.a.p]\n{PAPER}".replace("5", "1e400"),
     f":3: users.a.p.balances.USD: expected a non-negative number, got inf\n{HINT_NUMBER}"),
    ("balance_nan", f"[users.a.p]\n{PAPER}".replace("5", "nan"),
     f":3: users.a.p.balances.USD: expected a non-negative number, got nan\n{HINT_NUMBER}"),
    ("balance_minus_inf_string", f"[users.a.p]\n{PAPER}".replace("5", "'-Infinity'"),
     f":3: users.a.p.balances.USD: expected a non-negative number, got '-Infinity'\n{HINT_NUMBER}"),
    ("cache_ttl_inf", f"[settings]\ncache_ttl = inf\n[users.a.p]\n{PAPER}",
     f":2: settings.cache_ttl: expected a number >= 0, got inf\n{HINT_INF}"),
    ("timeout_nan", f"[settings]\ntimeout = nan\n[users.a.p]\n{PAPER}",
     f":2: settings.timeout: expected a number >= 0.1, got nan\n{HINT_INF}"),
    ("timeout_1e400", f"[settings]\ntimeout = -1e400\n[users.a.p]\n{PAPER}",
     f":2: settings.timeout: expected a number >= 0.1, got -inf\n{HINT_INF}"),
    # -- wrong types everywhere
    ("settings_array", f"settings = [1, 2]\n[users.a.p]\n{PAPER}",
     ":1: settings: expected a table ([settings]), got list [1, 2]\n"),
    ("cache_ttl_string", f"[settings]\ncache_ttl = '120'\n[users.a.p]\n{PAPER}",
     ":2: settings.cache_ttl: expected a number >= 0, got '120'\n"),
    ("max_in_flight_float", f"[settings]\nmax_in_flight = 1.5\n[users.a.p]\n{PAPER}",
     ":2: settings.max_in_flight: expected a whole number >= 1, got 1.5\n"),
    ("quote_array", f"[settings]\nquote = ['USD']\n[users.a.p]\n{PAPER}",
     ":2: settings.quote: expected a non-empty string, got ['USD']\n"),
    ("stablecoins_numbers", f"[settings]\nstablecoins = [1, 2]\n[users.a.p]\n{PAPER}",
     ":2: settings.stablecoins: expected a list of currency codes, got [1, 2]\n"),
    ("basis_bool", f"[settings]\nbasis = true\n[users.a.p]\n{PAPER}",
     ":2: settings.basis: expected \"equity\" or \"cash\", got True\n"
     '  hint: "equity" values every asset; "cash" counts the quote currency and stablecoins\n'),
    ("platform_string", f"platform = 'Nija'\n[users.a.p]\n{PAPER}",
     ":1: platform: expected a table (an account), got str 'Nija'\n"),
    ("user_array", "[users]\na = [1, 2]\n",
     ":2: users.a: expected a table (an account), got list [1, 2]\n"),
    ("name_number", f"[users.a]\nname = 7\n[users.a.p]\n{PAPER}",
     ":2: users.a.name: expected a non-empty string, got 7\n"),
    ("enabled_number", f"[users.a]\nenabled = 1\n[users.a.p]\n{PAPER}",
     ":2: users.a.enabled: expected true or false, got 1\n"),
    ("connection_as_bool", "[users.a]\nkraken = true\n",
     ":2: users.a.kraken: unknown key 'kraken'\n"
     "  hint: allowed here: name, enabled; a connection is a table: [users.a.kraken]\n"),
    ("api_key_env_number", "[users.a.kraken]\napi_key_env = 5\n",
     ":2: users.a.kraken.api_key_env: expected a string, got int\n"),
    ("prices_string", f"[users.a.p]\n{PAPER}prices = 'BTC=1'\n",
     ":4: users.a.p.prices: expected a table (currency = amount), got str 'BTC=1'\n"),
    ("balances_array", "[users.a.p]\nexchange = 'paper'\nbalances = [5]\n",
     ":3: users.a.p.balances: expected a table (currency = amount), got list [5]\n"),
    # -- currency codes
    ("currency_empty", "[users.a.p]\nexchange = 'paper'\nbalances = { '' = 5 }\n",
     ':3: users.a.p.balances."": a currency code may not be empty\n'),
    ("currency_twice", "[users.a.p]\nexchange = 'paper'\nbalances = { usd = 5, USD = 6 }\n",
     ":3: users.a.p.balances.USD: USD is given twice (as 'usd' and 'USD')\n"
     "  hint: currency codes are not case-sensitive: keep one\n"),
    # -- deep nesting
    ("deep_array", "x = " + "[" * 3000 + "]" * 3000 + "\n",
     ": invalid TOML: arrays or inline tables nested too deeply\n"
     "  hint: a config needs no more than a few levels of nesting\n"),
    ("deep_inline_table", "[users.a.kraken]\nccxt = " + "{a=" * 3000 + "1" + "}" * 3000 + "\n",
     ": invalid TOML: arrays or inline tables nested too deeply\n"
     "  hint: a config needs no more than a few levels of nesting\n"),
    # -- duplicate and colliding user ids
    ("user_twice", f"[users.a]\nname = 'A'\n[users.b.p]\n{PAPER}[users.a]\n",
     ":6: users.a: invalid TOML: the table [users.a] is declared twice\n"
     "  hint: merge the two [users.a] tables into one\n"),
    ("user_twice_quoted", f"[users.a]\n[users.\"a\"]\n[users.a.p]\n{PAPER}",
     ":2: users.a: invalid TOML: the table [users.a] is declared twice\n"
     "  hint: merge the two [users.a] tables into one\n"),
    ("ids_differ_in_case", "[users.Alice.kraken]\n[users.alice.kraken]\n",
     ":2: users.alice: user 'alice' differs from user 'Alice' only by case\n" + HINT_CASE),
    ("ids_with_dot_space_underscore", '[users."a.b".okx]\n[users."a b".okx]\n',
     ':2: users."a b": user \'a b\' reads the same environment variables as user \'a.b\' '
     "(*_USER_A_B_*)\n" + HINT_RENAME),
    ("unicode_ids_collide", '[users."zoë".kraken]\n[users."zoé".kraken]\n',
     ':2: users."zoé": user \'zoé\' reads the same environment variables as user \'zoë\' '
     "(*_USER_ZO__*)\n" + HINT_RENAME),
    ("one_user_two_connections_one_key", "[users.a.kraken]\n[users.a.kraken-sub]\nexchange = 'kraken'\n",
     ":2: users.a.kraken-sub: reads the same API key variable as users.a.kraken "
     "(KRAKEN_USER_A_API_KEY), so both would show the same account and it would be counted "
     'twice\n  hint: give one of them api_key_env = "..." and api_secret_env = "..."\n'),
    ("id_with_slash", f'[users."desk/alice".p]\n{PAPER}',
     f':1: users."desk/alice": a user id may not contain \'/\'\n{HINT_SLASH}'),
    ("id_with_escape_sequence", f'[users.a.p]\n{PAPER}[users."\\u001b[31mred".p]\n{PAPER}',
     ':4: users."\\u001b[31mred": a user id may not contain the control character U+001B\n'),
    ("id_reserved_with_spaces", f'[users.a.p]\n{PAPER}[users." platform ".p]\n{PAPER}',
     ":4: users.\" platform \": 'platform' is reserved for the platform account\n"),
    ("name_with_newline", f'[users.a]\nname = "A\\nB"\n[users.a.p]\n{PAPER}',
     ":2: users.a.name: expected plain text, got 'A\\nB' (it contains the control "
     "character U+000A)\n"),
    ("line_after_a_line_separator_in_a_value", '[users.a]\nname = "A\u2028B"\nenabled = 1\n',
     ":3: users.a.enabled: expected true or false, got 1\n"),
    ("hash_and_bracket_in_a_quoted_id", f'[users.b.p]\n{PAPER}[users."a#]b"] # note\nenabled = 1\n',
     ':5: users."a#]b".enabled: expected true or false, got 1\n'),
    ("connection_name_with_tab", f'[users.a."p\\t1"]\n{PAPER}',
     ':1: users.a."p\\t1": a connection name may not contain the control character U+0009\n'),
]  # fmt: skip


@pytest.mark.parametrize(
    ("content", "expected"),
    [pytest.param(content, expected, id=name) for name, content, expected in TOML_CASES],
)
def test_bad_toml(tmp_path: Path, content: str | bytes, expected: str) -> None:
    config = tmp_path / "c.toml"
    if isinstance(content, bytes):
        config.write_bytes(content)
    else:
        config.write_text(content, "utf-8")
    refused(config, f"error: {config}{expected}")


def test_there_are_at_least_twenty_toml_cases() -> None:
    assert len(TOML_CASES) >= 20


@pytest.mark.parametrize(
    "ids",
    [
        pytest.param(("alice.smith", "alice smith2"), id="dots-and-spaces"),
        pytest.param(("zoë", "Ærøskøbing", "李"), id="unicode"),
        pytest.param(("a", "b"), id="plain"),
    ],
)
def test_odd_but_valid_user_ids_load(tmp_path: Path, ids: tuple[str, ...]) -> None:
    text = "".join(f"[users.{json.dumps(i)}.kraken]\n" for i in ids)
    config = tmp_path / "c.toml"
    config.write_text(text, "utf-8")
    run = nija("show", "--json", "--config", config)
    assert run.code == 0, run.err
    doc = json.loads(run.out)
    assert list(doc["balances"]["users"]) == list(ids)
    assert [c["status"] for c in doc["connections"]] == ["no_credentials"] * len(ids)


def test_byte_order_mark_and_negative_zero_are_read_as_meant(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    text = "[users.a.p]\nexchange = 'paper'\nbalances = { USD = -0.0, BTC = -0.0 }\n"
    config.write_bytes(b"\xef\xbb\xbf" + text.encode())
    run = nija("show", "--json", "--config", config)
    assert (run.code, run.err) == (0, "")
    doc = json.loads(run.out)
    assets = doc["connections"][0]["assets"]
    assert [(a["currency"], a["total"], a["value"]) for a in assets] == [
        ("USD", 0.0, 0.0),
        ("BTC", 0.0, None),
    ]
    assert "-0" not in run.out  # never "-0.0" in JSON nor "$-0.00" in a table
    assert "-0" not in nija("show", "--config", config).out


def test_config_path_in_a_directory_that_does_not_exist(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir" / "config.toml"
    refused(
        missing,
        f"error: {missing}: config file not found\n"
        "  hint: create one with `nija init`, or try the built-in demo: `nija show --demo`\n",
    )
    refused(
        tmp_path / "no-such-dir",
        f"error: {tmp_path / 'no-such-dir'}: config file not found\n"
        "  hint: create one with `nija init`, or try the built-in demo: `nija show --demo`\n",
    )


def test_config_path_is_a_directory_without_json_files(tmp_path: Path) -> None:
    directory = tmp_path / "users"
    directory.mkdir()
    (directory / "README.txt").write_text("not a user file")
    (directory / ".hidden.json").write_text("[]")
    refused(
        directory,
        f"error: {directory}: no NIJA user files (*.json) in this directory\n"
        "  hint: expected array files (retail_kraken.json) or per-user files (alice.json)\n",
    )


def test_config_paths_that_cannot_be_read(tmp_path: Path) -> None:
    """Each was a traceback (NotADirectoryError, OSError) before."""
    (tmp_path / "a-file").write_text("")
    through_a_file = tmp_path / "a-file" / "config.toml"
    refused(through_a_file, f"error: {through_a_file}: cannot read the file (Not a directory)\n")
    loop = tmp_path / "loop"
    loop.symlink_to(tmp_path / "loop-2")
    (tmp_path / "loop-2").symlink_to(loop)
    refused(loop, f"error: {loop}: cannot read the file (Too many levels of symbolic links)\n")
    long_name = tmp_path / ("x" * 300)
    refused(long_name, f"error: {long_name}: cannot read the file (File name too long)\n")


def test_config_that_is_a_named_pipe(tmp_path: Path) -> None:
    """Reading a FIFO waited forever; run as a process, so the test cannot hang."""
    fifo = tmp_path / "config.toml"
    os.mkfifo(fifo)
    proc = nija_process("show", "--config", fifo)
    try:
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert (proc.returncode, out) == (2, "")
    assert err == (
        f"error: {fifo}: not a regular file (a pipe, socket or device)\n"
        "  hint: point --config at a TOML file or a NIJA users directory\n"
    )


@pytest.mark.skipif(IS_ROOT, reason="root reads files whatever their mode")
def test_unreadable_files(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f"[users.a.p]\n{PAPER}")
    users = tmp_path / "users"
    array = write_json(users, "retail_kraken.json", [{"user_id": "a"}])
    config.chmod(0)
    array.chmod(0)
    try:
        refused(config, f"error: {config}: cannot read the file (permission denied)\n")
        refused(users, f"error: {array}: cannot read the file (Permission denied)\n")
    finally:
        config.chmod(0o600)
        array.chmod(0o600)


def test_unreadable_file_messages_without_chmod(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same two messages, for root too: reading raises PermissionError as for a user."""
    config = tmp_path / "c.toml"
    config.write_text(f"[users.a.p]\n{PAPER}")
    users = tmp_path / "users"
    array = write_json(users, "retail_kraken.json", [{"user_id": "a"}])
    real = os.open

    def denied(path: str | Path, flags: int, *args: int, **kwargs: int) -> int:
        if Path(path) in (config, array):
            raise PermissionError(13, os.strerror(13), str(path))
        return real(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", denied)
    refused(config, f"error: {config}: cannot read the file (permission denied)\n")
    refused(users, f"error: {array}: cannot read the file (Permission denied)\n")


# ------------------------------------------------------------------ NIJA JSON directories


def entry(user_id: object = "ann", **extra: object) -> dict[str, object]:
    """An array-file entry with every field NIJA writes."""
    return {
        "user_id": user_id,
        "name": "Ann",
        "account_type": "retail",
        "broker_type": "kraken",
        "enabled": True,
        **extra,
    }


NIJA_CASES: list[tuple[str, dict[str, object], str]] = [
    # -- what the file is
    ("empty_file", {"retail_kraken.json": b""},
     "retail_kraken.json:1: invalid JSON: Expecting value (column 1)\n" + HINT_JSON),
    ("whitespace_only", {"retail_kraken.json": "\n\n  \n"},
     "retail_kraken.json:4: invalid JSON: Expecting value (column 1)\n" + HINT_JSON),
    ("bom_then_bad_json", {"retail_kraken.json": b"\xef\xbb\xbf[\n{]\n"},
     "retail_kraken.json:2: [0]: invalid JSON: Expecting property name enclosed in double quotes "
     "(column 2)\n" + HINT_JSON),
    ("a_number", {"retail_kraken.json": "42"},
     "retail_kraken.json:1: expected a JSON array of users or one user object, "
     "got a number (42)\n" + HINT_ARRAY),
    ("a_string", {"retail_kraken.json": '"ann"'},
     "retail_kraken.json:1: expected a JSON array of users or one user object, "
     "got a string ('ann')\n" + HINT_ARRAY),
    ("null", {"retail_kraken.json": "null"},
     "retail_kraken.json:1: expected a JSON array of users or one user object, got null\n"
     + HINT_ARRAY),
    ("users_not_a_list", {"retail_kraken.json": {"users": {"ann": {}}}},
     "retail_kraken.json:2: users: expected a list of user entries, got an object\n" + HINT_ARRAY),
    ("deep_arrays", {"retail_kraken.json": "[" * 100_000 + "]" * 100_000},
     "retail_kraken.json: invalid JSON: arrays or objects nested too deeply\n"),
    ("deep_objects", {"retail_kraken.json": '{"a":' * 100_000 + "1" + "}" * 100_000},
     "retail_kraken.json: invalid JSON: arrays or objects nested too deeply\n"),
    ("integer_of_5000_digits", {"retail_kraken.json": '[{"user_id": ' + "9" * 5000 + "}]"},
     "retail_kraken.json:1: [0]: invalid JSON: Exceeds the limit (4300 digits) for integer string "
     "conversion: value has 5000 digits\n"),
    ("not_utf8", {"retail_kraken.json": b'[{"user_id": "\xe9"}]'},
     "retail_kraken.json: not UTF-8 text (invalid continuation byte at byte 14)\n"),
    # -- numbers where text or true/false belong
    ("enabled_1e400", {"retail_kraken.json": '[{"user_id": "ann", "enabled": 1e400}]'},
     "retail_kraken.json:1: [0].enabled: expected true or false, got inf\n"),
    ("user_id_nan", {"retail_kraken.json": '[{"user_id": NaN}]'},
     "retail_kraken.json:1: [0].user_id: expected a non-empty string, got nan\n"),
    ("user_id_negative_zero", {"retail_kraken.json": '[{"user_id": -0.0}]'},
     "retail_kraken.json:1: [0].user_id: expected a non-empty string, got -0.0\n"),
    ("name_infinity", {"retail_kraken.json": '[{"user_id": "ann", "name": -Infinity}]'},
     "retail_kraken.json:1: [0].name: expected a non-empty string, got -inf\n"),
    # -- wrong types everywhere
    ("entry_is_a_number", {"retail_kraken.json": [entry(), 3]},
     "retail_kraken.json:9: [1]: expected an object, got a number (3)\n" + HINT_ARRAY),
    ("broker_type_object", {"people.json": [entry(broker_type={"id": "kraken"})]},
     "people.json:6: [0].broker_type: expected a broker name, got {'id': 'kraken'}\n"),
    ("account_type_list", {"retail_kraken.json": [entry(account_type=["retail"])]},
     "retail_kraken.json:5: [0].account_type: expected a string, got ['retail']\n"),
    ("enabled_string", {"retail_kraken.json": [entry(enabled="false")]},
     "retail_kraken.json:7: [0].enabled: expected true or false, got 'false'\n"),
    ("per_user_file_is_a_list", {"ann.json": [1]},
     "ann.json:2: [0]: expected an object, got a number (1)\n" + HINT_ARRAY),
    ("per_user_broker_object", {"ann.json": {"name": "Ann", "broker": {"kraken": True}}},
     "ann.json:3: broker: expected a broker name, got {'kraken': True}\n"),
    ("per_user_enabled_null", {"ann.json": {"broker": "kraken", "enabled": None}},
     "ann.json:3: enabled: expected true or false, got None\n"),
    ("per_user_platform", {"platform.json": {"broker": "kraken"}},
     "platform.json:1: user_id: 'platform' is reserved for the platform account\n"),
    # -- duplicate user ids across files, and ids that collide
    ("same_user_two_array_files", {
        "retail_kraken.json": [entry()], "investor_kraken.json": [entry()]},
     "retail_kraken.json:2: [0]: user 'ann' is connected to kraken twice: here and in "
     "investor_kraken.json[0] (line 2)\n  hint: remove one of the two entries\n"),
    ("same_user_twice_in_one_array_file", {"retail_kraken.json": [entry(), entry()]},
     "retail_kraken.json:9: [1]: user 'ann' is connected to kraken twice: here and in "
     "retail_kraken.json[0] (line 2)\n  hint: remove one of the two entries\n"),
    ("ids_differ_in_case", {"retail_kraken.json": [entry("Ann"), entry("ann")]},
     "retail_kraken.json:10: [1].user_id: user 'ann' differs from user 'Ann' in "
     "retail_kraken.json[0] only by case\n" + HINT_CASE),
    ("ids_with_dot_and_space", {"retail_okx.json": [entry("ann.lee"), entry("ann lee")]},
     "retail_okx.json:10: [1].user_id: user 'ann lee' reads the same environment variables "
     "as user 'ann.lee' in retail_okx.json[0] (*_USER_ANN_LEE_*)\n" + HINT_RENAME),
    ("unicode_ids_collide", {"retail_kraken.json": [entry("zoë"), entry("zoé")]},
     "retail_kraken.json:10: [1].user_id: user 'zoé' reads the same environment variables as "
     "user 'zoë' in retail_kraken.json[0] (*_USER_ZO__*)\n" + HINT_RENAME),
    ("id_with_slash", {"retail_kraken.json": [entry("desk/ann")]},
     "retail_kraken.json:3: [0].user_id: a user id may not contain '/'\n" + HINT_SLASH),
    ("id_with_nul", {"retail_kraken.json": [entry("ann\u0000")]},
     "retail_kraken.json:3: [0].user_id: a user id may not contain the control character "
     "U+0000\n"),
    ("id_lone_surrogate", {"retail_kraken.json": '[{"user_id": "\\ud800", "broker_type": "kraken"}]'},
     "retail_kraken.json:1: [0].user_id: a user id may not contain U+D800 (a lone surrogate, "
     "not valid Unicode text)\n"),
    ("name_with_escape_sequence", {"retail_kraken.json": [entry(name="\u001b[2J")]},
     "retail_kraken.json:4: [0].name: expected plain text, got '\\x1b[2J' (it contains the "
     "control character U+001B)\n"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("files", "expected"),
    [pytest.param(files, expected, id=name) for name, files, expected in NIJA_CASES],
)
def test_bad_nija_directory(users_dir: Path, files: dict[str, object], expected: str) -> None:
    for name, data in files.items():
        write_json(users_dir, name, data)
    refused(users_dir, f"error: {users_dir}/{expected}")


def test_two_problems_in_one_nija_file_are_both_listed(users_dir: Path) -> None:
    ann = write_json(users_dir, "ann.json", [1, 2])
    refused(
        users_dir,
        f"error: {users_dir}: 2 problems:\n"
        f"  {ann}:2: [0]: expected an object, got a number (1)\n  {HINT_ARRAY}"
        f"  {ann}:3: [1]: expected an object, got a number (2)\n  {HINT_ARRAY}",
    )


def test_there_are_at_least_twenty_nija_cases() -> None:
    assert len(NIJA_CASES) >= 20


def test_nija_bom_unicode_and_dotted_ids_load(users_dir: Path) -> None:
    text = json.dumps([entry("zoë"), entry("ann.lee", broker_type="okx"), entry("ann lee 2")])
    write_json(users_dir, "retail_kraken.json", b"\xef\xbb\xbf" + text.encode())
    write_json(users_dir, "李.json", {"name": "Li", "broker": ["coinbase"], "enabled": True})
    run = nija("show", "--json", "--config", users_dir)
    assert run.code == 0, run.err
    doc = json.loads(run.out)
    assert doc["balances"]["users"] == {
        "zoë": {"kraken": 0.0},
        "ann.lee": {"okx": 0.0},
        "ann lee 2": {"kraken": 0.0},
        "李": {"coinbase": 0.0},
    }


def test_a_key_twice_in_one_object_keeps_the_last_value_with_a_warning(users_dir: Path) -> None:
    """A real NIJA file repeats `copy_from_platform`; JSON allows it and NIJA keeps the last."""
    array = write_json(
        users_dir,
        "retail_kraken.json",
        '[\n  {"user_id": "ann",\n   "copy_from_platform": false,\n'
        '   "copy_from_platform": true},\n  {"user_id": "bob"}\n]\n',
    )
    warning = (
        f"warning: {array}:4: [0].copy_from_platform: the key 'copy_from_platform' appears "
        "twice in one object; the last value is used, as NIJA does\n"
    )
    for command in (("show", "--json"), ("config", "check")):
        run = nija(*command, "--config", users_dir)
        assert run.code == 1 if command[0] == "config" else run.code == 0, run
        assert run.err.startswith(warning), run.err
    run = nija("show", "--json", "--config", users_dir)
    assert list(json.loads(run.out)["balances"]["users"]) == ["ann", "bob"]
