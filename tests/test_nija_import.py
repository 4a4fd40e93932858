"""Reading NIJA `config/users/` directories: strict loading, lenient scans, TOML conversion."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nija_balances.config.loader import load_toml, parse_document
from nija_balances.config.nija.convert import convert
from nija_balances.config.nija.entries import normalise_broker
from nija_balances.config.nija.reader import load_nija_directory, nija_first_name, scan_directory
from nija_balances.config.sources import load_config
from nija_balances.domain.models import PLATFORM_ID, Settings
from nija_balances.domain.syntax import ConfigError, user_id_problem
from nija_balances.domain.text import env_token

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
GOOD = EXAMPLES / "nija-users"
BROKEN = EXAMPLES / "nija-users-broken"


@pytest.fixture
def users_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "users"
    directory.mkdir()
    return directory


def put(directory: Path, name: str, data: object) -> Path:
    path = directory / name
    path.write_text(data if isinstance(data, str) else json.dumps(data, indent=2), "utf-8")
    return path


def entry(user_id: str, broker: str | None = "kraken", **extra: object) -> dict[str, object]:
    item: dict[str, object] = {"user_id": user_id, "name": user_id.title(), **extra}
    if broker is not None:
        item["broker_type"] = broker
    return item


def load_error(directory: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_nija_directory(directory)
    return info.value


# --------------------------------------------------------------------- the examples


def test_example_directory_loads_every_user_with_merged_brokers() -> None:
    config = load_nija_directory(GOOD)
    found = {u.id: (u.name, u.enabled, [c.exchange for c in u.connections]) for u in config.users}
    assert found == {
        "rachel_ng": ("Rachel Ng", True, ["alpaca"]),
        "lisa_chen": ("Lisa Chen", True, ["binance", "okx"]),
        "marcus_lee": ("Marcus Lee", True, ["tradier"]),
        "daivon_frazier": ("Daivon Frazier", True, ["coinbase", "kraken"]),
        "tom_baker": ("Tom Baker", False, ["coinbase"]),
        "daivon_smith": ("Daivon Smith", True, ["kraken"]),
        "tania_gilbert": ("Tania Gilbert", True, ["kraken"]),
    }
    conn = config.user("daivon_frazier").connections[1]  # type: ignore[union-attr]
    assert (conn.account, conn.name, conn.exchange, conn.key) == (
        "daivon_frazier",
        "kraken",
        "kraken",
        "daivon_frazier/kraken",
    )
    assert config.settings == Settings()
    assert (config.platform.id, config.platform.name, config.platform.connections) == (
        PLATFORM_ID,
        "Nija System",
        (),
    )
    assert config.source == GOOD
    assert config.env_files[0] == GOOD / ".env"
    assert config.warnings == ()


def test_load_config_reads_a_directory_through_the_nija_loader() -> None:
    assert [u.id for u in load_config(GOOD).users] == [
        u.id for u in load_nija_directory(GOOD).users
    ]
    assert load_config(GOOD).namespace == load_nija_directory(GOOD).namespace != "default"


def test_broken_example_fails_with_every_problem_first_one_first() -> None:
    error = load_error(BROKEN)
    assert (error.file, error.line, error.key_path) == (
        BROKEN / "retail_coinbase.json",
        13,
        "[1].broker_type",
    )
    assert error.problem == "unknown broker 'coinbse' (did you mean 'coinbase'?)"
    assert [(p.file, p.line, p.key_path) for p in error.problems] == [
        (BROKEN / "retail_coinbase.json", 13, "[1].broker_type"),
        (BROKEN / "retail_kraken.json", 10, "[1]"),
    ]
    assert str(error).startswith(
        f"{BROKEN}: 2 problems:\n  {BROKEN}/retail_coinbase.json:13: [1].broker_type: unknown"
    )


def test_lenient_scan_reports_every_skip_and_keeps_the_rest() -> None:
    scan = scan_directory(BROKEN, strict=False)
    assert {u.id: [c.exchange for c in u.connections] for u in scan.users.values()} == {
        "dana_reed": ["kraken"],
        "alice_wong": ["coinbase", "kraken"],  # retail_kraken.json[0]: its neighbour is broken
    }
    assert [(p.file.name if p.file else None, p.line, p.key_path) for p in scan.problems] == [
        ("retail_coinbase.json", 13, "[1].broker_type"),
        ("retail_kraken.json", 10, "[1]"),
    ]
    assert scan.problems[1].problem == "invalid JSON: Expecting ',' delimiter (column 5)"


def test_one_bad_entry_costs_only_that_entry_never_its_neighbours(users_dir: Path) -> None:
    put(users_dir, "retail_kraken.json",
        '[\n  {"user_id": "ann"},\n  {"user_id": "bob"\n   "name": "Bob"},\n'
        '  {"user_id": "cy", "name": "Cy"}\n]\n')  # fmt: skip
    put(users_dir, "retail_okx.json", '[\n  {"user_id": "dee"},\n  {"user_id": "eve", ')
    put(users_dir, "retail_coinbase.json",
        '[{"user_id": "fay"},\n {"user_id": "gus", "n": ' + "9" * 5000 + "}]")  # fmt: skip
    put(users_dir, "retail_alpaca.json", '[{"user_id": "hal"}\n {"user_id": "ivy"}]')
    scan = scan_directory(users_dir, strict=False)
    assert {u.id: [c.exchange for c in u.connections] for u in scan.users.values()} == {
        "hal": ["alpaca"],
        "ivy": ["alpaca"],
        "fay": ["coinbase"],
        "ann": ["kraken"],
        "cy": ["kraken"],
        "dee": ["okx"],
    }
    assert [str(s) for s in scan.skipped] == [
        f"{users_dir}/retail_alpaca.json:2: invalid JSON: Expecting ',' delimiter (column 2)",
        f"{users_dir}/retail_coinbase.json:2: [1]: invalid JSON: Exceeds the limit (4300 "
        "digits) for integer string conversion: value has 5000 digits",
        f"{users_dir}/retail_kraken.json:4: [1]: invalid JSON: Expecting ',' delimiter (column 4)",
        f"{users_dir}/retail_okx.json:3: [1]: invalid JSON: Expecting property name enclosed "
        "in double quotes (column 22)",
    ]
    skip = scan.skipped[2]
    assert (skip.file, skip.line, skip.key_path, skip.reason, skip.hint) == (
        users_dir / "retail_kraken.json",
        4,
        "[1]",
        "invalid JSON: Expecting ',' delimiter (column 4)",
        "check commas, quotes and brackets on that line",
    )


def test_an_import_that_skipped_anything_says_so_and_exits_1(users_dir: Path) -> None:
    put(users_dir, "retail_kraken.json", [entry("ann"), entry("bob", broker="krakn")])
    result = convert(scan_directory(users_dir, strict=False))
    assert [u.id for u in result.config.users] == ["ann"]
    assert result.exit_code == 1
    assert [str(s) for s in result.skipped] == [
        f"{users_dir}/retail_kraken.json:10: [1].broker_type: unknown broker 'krakn' "
        "(did you mean 'kraken'?)"
    ]
    assert result.report()[:2] == [
        f"imported 1 users, 1 connections from 1 files in {users_dir}; "
        "skipped 1 (see below): the import is incomplete",
        "skipped 1 entries or files (the rest was converted):",
    ]
    put(users_dir, "retail_kraken.json", [entry("ann")])
    result = convert(scan_directory(users_dir, strict=False))
    assert (result.exit_code, result.skipped) == (0, ())
    assert result.report()[0] == f"imported 1 users, 1 connections from 1 files in {users_dir}"


# --------------------------------------------------------------------- strict errors


def test_malformed_json_names_file_and_line(users_dir: Path) -> None:
    put(users_dir, "retail_kraken.json", '[\n  {"user_id": "a",\n   "name": }\n]\n')
    error = load_error(users_dir)
    assert (error.file, error.line, error.key_path) == (users_dir / "retail_kraken.json", 3, "[0]")
    assert error.problem.startswith("invalid JSON: Expecting value")
    assert error.hint == "check commas, quotes and brackets on that line"


@pytest.mark.parametrize(
    ("item", "key_path", "problem", "line"),
    [
        ({"name": "A", "broker_type": "kraken"}, "[1].user_id", "missing user_id", 8),
        (
            {"user_id": 7, "broker_type": "kraken"},
            "[1].user_id",
            "expected a non-empty string, got 7",
            9,
        ),
        ({"user_id": " "}, "[1].user_id", "expected a non-empty string, got ' '", 9),
        (
            {"user_id": "platform"},
            "[1].user_id",
            "'platform' is reserved for the platform account",
            9,
        ),
        (
            {"user_id": "b", "enabled": "yes"},
            "[1].enabled",
            "expected true or false, got 'yes'",
            10,
        ),
        ({"user_id": "b", "name": 5}, "[1].name", "expected a non-empty string, got 5", 10),
        ({"user_id": "b", "account_type": 1}, "[1].account_type", "expected a string, got 1", 10),
        (
            {"user_id": "b", "broker_type": ["x"]},
            "[1].broker_type",
            "expected a broker name, got ['x']",
            10,
        ),
        (
            {"user_id": "b", "broker_type": "krakn"},
            "[1].broker_type",
            "unknown broker 'krakn' (did you mean 'kraken'?)",
            10,
        ),
        (["b"], "[1]", "expected an object, got an array", 8),
    ],
)
def test_invalid_entries(
    users_dir: Path, item: object, key_path: str, problem: str, line: int
) -> None:
    first = entry("a", broker=None, account_type="retail", enabled=True)
    put(users_dir, "retail_kraken.json", [first, item])
    error = load_error(users_dir)
    assert (error.key_path, error.problem, error.line) == (key_path, problem, line)
    assert error.file == users_dir / "retail_kraken.json"


def test_broker_comes_from_the_file_name_or_must_be_given(users_dir: Path) -> None:
    put(users_dir, "investor_alpaca.json", [entry("a", broker=None)])
    put(users_dir, "people.json", [entry("b", broker="Coinbase")])
    assert [
        (u.id, [c.exchange for c in u.connections]) for u in load_nija_directory(users_dir).users
    ] == [
        ("a", ["alpaca"]),
        ("b", ["coinbase"]),
    ]
    put(users_dir, "people.json", [entry("b", broker=None)])
    error = load_error(users_dir)
    assert (error.key_path, error.problem) == ("[0].broker_type", "missing broker_type")
    assert "retail_kraken.json" in (error.hint or "")


def test_same_user_and_broker_twice_names_both_files(users_dir: Path) -> None:
    put(users_dir, "retail_kraken.json", [entry("daivon_frazier")])
    put(users_dir, "zz_extra.json", [entry("other"), entry("daivon_frazier", broker="KRAKEN")])
    error = load_error(users_dir)
    assert (error.file, error.line, error.key_path) == (users_dir / "zz_extra.json", 7, "[1]")
    assert error.problem == (
        "user 'daivon_frazier' is connected to kraken twice: here and in "
        "retail_kraken.json[0] (line 2)"
    )


def test_a_key_twice_in_one_object_keeps_the_last_value_and_warns(users_dir: Path) -> None:
    array = put(
        users_dir,
        "retail_kraken.json",
        '[\n  {\n    "user_id": "ann",\n    "copy_from_platform": false,\n'
        '    "copy_from_platform": true\n  },\n'
        '  {"user_id": "bob", "enabled": false,\n   "enabled": true,\n'
        '   "extra": {"a": 1, "a": 2}}\n]\n',
    )
    put(users_dir, "cy.json", '{"broker": "okx",\n "broker": "kraken"}')
    warnings = (
        f"{users_dir / 'cy.json'}:2: broker: the key 'broker' appears twice in one object; "
        "the last value is used, as NIJA does",
        f"{array}:5: [0].copy_from_platform: the key 'copy_from_platform' appears twice in "
        "one object; the last value is used, as NIJA does",
        f"{array}:8: [1].enabled: the key 'enabled' appears twice in one object; the last "
        "value is used, as NIJA does",
        f"{array}:9: [1].extra.a: the key 'a' appears twice in one object; the last value is "
        "used, as NIJA does",
    )
    config = load_nija_directory(users_dir)
    assert [(u.id, u.enabled, [c.exchange for c in u.connections]) for u in config.users] == [
        ("cy", True, ["kraken"]),
        ("ann", True, ["kraken"]),
        ("bob", True, ["kraken"]),
    ]
    assert config.warnings == warnings
    result = convert(scan_directory(users_dir, strict=False))
    assert result.scan.problems == []
    assert [u.id for u in result.config.users] == ["cy", "ann", "bob"]
    assert [f"warning: {w}" for w in warnings] == [
        line for line in result.report() if line.startswith("warning: ")
    ]


def test_an_array_entry_and_a_per_user_file_of_one_user_and_broker_are_one_connection(
    users_dir: Path,
) -> None:
    """NIJA's own layout: `retail_kraken.json` lists the user, `daivon_frazier.json` too.
    `--config DIR` and `config import` read it alike: one connection, nothing skipped."""
    put(users_dir, "retail_kraken.json", [entry("daivon_frazier", account_type="retail")])
    put(users_dir, "daivon_frazier.json", {"name": "Daivon F.", "broker": "kraken"})
    put(users_dir, "ann.json", {"broker": ["okx", "Kraken"], "enabled": False})
    put(users_dir, "retail_okx.json", [entry("ann", broker=None, enabled=True)])
    config = load_nija_directory(users_dir)
    shape = [(u.id, u.name, u.enabled, [c.exchange for c in u.connections]) for u in config.users]
    assert shape == [
        ("ann", "Ann", True, ["okx"]),
        ("daivon_frazier", "Daivon F.", True, ["kraken"]),
    ]
    assert config.warnings == (
        "user 'daivon_frazier': name 'Daivon_Frazier' differs from 'Daivon F.'; kept the first",
        "user 'ann': the okx entry in ann.json is disabled and the one in retail_okx.json[0] "
        "is enabled; the connection is shown",
        "user 'ann': the kraken entry in ann.json is disabled while the user is enabled "
        "elsewhere; that connection is left out",
    )
    scan = scan_directory(users_dir, strict=False)
    assert scan.problems == []
    result = convert(scan)
    assert [
        (u.id, u.name, u.enabled, [c.exchange for c in u.connections]) for u in result.config.users
    ] == shape
    assert "# from daivon_frazier.json, retail_kraken.json[0] (account_type retail)" in result.text


def test_twice_in_array_files_stays_a_problem_beside_a_per_user_file(users_dir: Path) -> None:
    put(users_dir, "ann.json", {"broker": "kraken"})
    put(users_dir, "retail_kraken.json", [entry("ann"), entry("ann")])
    error = load_error(users_dir)
    assert (error.line, error.key_path, error.problem) == (
        7,
        "[1]",
        "user 'ann' is connected to kraken twice: here and in retail_kraken.json[0] (line 2)",
    )
    assert len(error.problems) == 1


def test_a_user_in_two_files_gets_both_brokers(users_dir: Path) -> None:
    put(users_dir, "retail_kraken.json", [entry("ann")])
    put(users_dir, "ann.json", {"name": "Ann A.", "broker": ["coinbase", "okx"], "enabled": True})
    (user,) = load_nija_directory(users_dir).users
    assert (user.name, [c.name for c in user.connections]) == (
        "Ann A.",
        ["coinbase", "okx", "kraken"],
    )


@pytest.mark.parametrize(
    ("data", "key_path", "problem"),
    [
        ({"name": "A"}, "broker", "missing broker"),
        ({"broker": 3}, "broker", "expected a broker name, got 3"),
        (
            {"broker": ["kraken", "binanse"]},
            "broker[1]",
            "unknown broker 'binanse' (did you mean 'binance'?)",
        ),
        (
            {"user_id": "other", "broker": "kraken"},
            "user_id",
            "user_id 'other' differs from the file name 'ann.json'",
        ),
        ({"broker": "kraken", "enabled": 1}, "enabled", "expected true or false, got 1"),
    ],
)
def test_invalid_per_user_files(
    users_dir: Path, data: object, key_path: str | None, problem: str
) -> None:
    put(users_dir, "ann.json", data)
    error = load_error(users_dir)
    assert (error.file, error.key_path, error.problem) == (
        users_dir / "ann.json",
        key_path,
        problem,
    )
    assert error.line is not None


def test_other_json_shapes(users_dir: Path) -> None:
    put(users_dir, "retail_kraken.json", {"users": [entry("a", broker=None)]})
    put(users_dir, "notes.txt", "not json at all")
    assert [u.id for u in load_nija_directory(users_dir).users] == ["a"]
    put(users_dir, "weird.json", "42")
    assert (
        load_error(users_dir).problem
        == "expected a JSON array of users or one user object, got a number (42)"
    )


def test_empty_or_missing_directories(users_dir: Path) -> None:
    assert load_error(users_dir).problem == "no NIJA user files (*.json) in this directory"
    put(users_dir, "retail_kraken.json", [])
    assert load_error(users_dir).problem == "no users found in the NIJA user files"
    assert load_error(users_dir).hint == (  # it read "add entries like each entry looks like"
        'add entries such as {"user_id": "alice", "name": "Alice", "broker_type": "kraken"}'
    )
    assert load_error(users_dir / "nope").problem == "not a directory of NIJA user files"


def test_mixed_enabled_flags_keep_the_user_and_drop_the_disabled_entry(users_dir: Path) -> None:
    put(users_dir, "retail_kraken.json", [entry("ann", enabled=True)])
    put(users_dir, "retail_coinbase.json", [entry("ann", broker=None, enabled=False)])
    config = load_nija_directory(users_dir)
    (user,) = config.users
    assert (user.enabled, [c.name for c in user.connections]) == (True, ["kraken"])
    assert config.warnings == (
        "user 'ann': the coinbase entry in retail_coinbase.json[0] is disabled while the "
        "user is enabled elsewhere; that connection is left out",
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Kraken", "kraken"),
        (" BrokerType.COINBASE ", "coinbase"),
        ("interactive brokers", "interactive_brokers"),
        ("IBKR", "interactive_brokers"),
        ("td-ameritrade", "td_ameritrade"),
        ("coinbase_advanced", "coinbase"),
    ],
)
def test_broker_names_are_normalised(raw: str, expected: str) -> None:
    assert normalise_broker(raw) == expected


def test_first_name_is_what_nija_used() -> None:
    assert [nija_first_name(u) for u in ("daivon_frazier", "alice", "jo-ann.lee")] == [
        "daivon",
        "alice",
        "jo",
    ]


# --------------------------------------------------------------------- conversion


def test_conversion_keeps_users_and_lists_renames(tmp_path: Path) -> None:
    result = convert(scan_directory(GOOD, strict=False))
    out = tmp_path / "config.toml"
    out.write_text(result.text, "utf-8")
    config = load_toml(out)
    original = load_nija_directory(GOOD)
    assert [
        (u.id, u.name, u.enabled, [c.exchange for c in u.connections]) for u in config.users
    ] == [(u.id, u.name, u.enabled, [c.exchange for c in u.connections]) for u in original.users]
    block = result.text.split("[users.daivon_frazier]\n", 1)[1].split("\n\n[users.tom_baker]")[0]
    assert block.splitlines() == [
        'name = "Daivon Frazier"',
        "enabled = true",
        "# from retail_coinbase.json[0], retail_kraken.json[0] (account_type retail)",
        "",
        "[users.daivon_frazier.coinbase]",
        "# reads COINBASE_USER_DAIVON_FRAZIER_API_KEY, COINBASE_USER_DAIVON_FRAZIER_API_SECRET",
        "# NIJA read COINBASE_USER_DAIVON_API_KEY, COINBASE_USER_DAIVON_API_SECRET",
        "",
        "[users.daivon_frazier.kraken]",
        "# reads KRAKEN_USER_DAIVON_FRAZIER_API_KEY, KRAKEN_USER_DAIVON_FRAZIER_API_SECRET",
        "# NIJA read KRAKEN_USER_DAIVON_API_KEY, KRAKEN_USER_DAIVON_API_SECRET",
    ]
    renames = {(r.nija, r.ours) for r in result.renames}
    assert ("KRAKEN_USER_DAIVON_API_KEY", "KRAKEN_USER_DAIVON_FRAZIER_API_KEY") in renames
    assert ("KRAKEN_USER_DAIVON_API_KEY", "KRAKEN_USER_DAIVON_SMITH_API_KEY") in renames
    assert ("OKX_USER_LISA_API_PASSPHRASE", "OKX_USER_LISA_CHEN_API_PASSPHRASE") in renames
    assert result.shared == {
        "KRAKEN_USER_DAIVON_API_KEY": ["daivon_frazier", "daivon_smith"],
        "KRAKEN_USER_DAIVON_API_SECRET": ["daivon_frazier", "daivon_smith"],
    }
    assert "# no adapter can reach tradier: listed as `unsupported`" in result.text
    assert result.report()[0] == f"imported 7 users, 9 connections from 5 files in {GOOD}"
    assert (
        "warning: KRAKEN_USER_DAIVON_API_KEY was shared by daivon_frazier and daivon_smith in "
        "NIJA; give each user their own key"
    ) in result.report()


def test_shared_first_name_is_found_when_one_id_is_the_first_name(users_dir: Path) -> None:
    put(users_dir, "retail_kraken.json", [entry("daivon"), entry("daivon_smith")])
    result = convert(scan_directory(users_dir, strict=False))
    assert result.shared == {
        "KRAKEN_USER_DAIVON_API_KEY": ["daivon", "daivon_smith"],
        "KRAKEN_USER_DAIVON_API_SECRET": ["daivon", "daivon_smith"],
    }
    assert [r.account for r in result.renames] == ["daivon_smith", "daivon_smith"]


def test_conversion_never_copies_credentials(users_dir: Path) -> None:
    put(
        users_dir,
        "ann.json",
        {"broker": "kraken", "api_key": "SUPERSECRET-123", "secret": "S3CR3T"},
    )
    result = convert(scan_directory(users_dir, strict=False))
    assert "SUPERSECRET" not in result.text and "S3CR3T" not in result.text
    report = "\n".join(result.report())
    assert "SUPERSECRET" not in report and "S3CR3T" not in report
    assert (
        "note: ann.json: credentials in the file are not imported (api_key, secret); "
        "put them in environment variables"
    ) in result.report()


def test_nothing_to_convert(users_dir: Path) -> None:
    put(users_dir, "retail_kraken.json", [{"name": "no id"}])
    scan = scan_directory(users_dir, strict=False)
    with pytest.raises(ConfigError, match="no user could be imported"):
        convert(scan)
    assert scan.problems[0].key_path == "[0].user_id"


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    ids=st.lists(
        st.text(
            st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12
        )
        .map(str.strip)
        # any id a config accepts (bidi and zero-width characters, '/', 'platform' are not)
        .filter(lambda s: user_id_problem(s) is None),
        min_size=1,
        max_size=5,
        # ids that read the same variables or differ only by case are refused
        unique_by=(env_token, str.casefold),
    ),
    broker=st.sampled_from(["kraken", "Coinbase", "okx", "tradier", "paper"]),
)
def test_any_user_id_survives_the_round_trip(tmp_path: Path, ids: list[str], broker: str) -> None:
    directory = tmp_path / "round"
    directory.mkdir(exist_ok=True)
    for old in directory.iterdir():
        old.unlink()
    put(directory, "retail_x.json", [entry(i, broker=broker) for i in ids])
    result = convert(scan_directory(directory, strict=False))
    config = parse_document(tomllib.loads(result.text), None, result.text)
    assert [u.id for u in config.users] == ids
    assert {c.exchange for u in config.users for c in u.connections} == {normalise_broker(broker)}
