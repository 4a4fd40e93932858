"""Names in a config: environment variable names, user ids that would be confused, key paths.

- `api_key_env = "MY KEY"` names no variable a shell can set: refused (the value is not
  echoed: it may be a pasted key).
- Two user ids that read the same variables (`a-b` and `a_b` are both `*_USER_A_B_*`) or
  differ only by case (`Alice`, `alice`) are refused, in a TOML config and in a NIJA
  directory, by one rule (`user_id_clash`, for `config add-user` too).
- A table declared twice is named by its key path (`users.alice`), not a Python tuple.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import write
from nija_balances.config.loader import load_toml
from nija_balances.domain.syntax import ConfigError
from robustness.conftest import nija, write_json

ENV_HINT = (
    'the variable holds the key and the config names it: api_key_env = "ALICE_KRAKEN_KEY" '
    "(letters, digits and '_', not starting with a digit)"
)
RENAME = (
    "rename one of the users (in variable names a user id is upper-cased and every character "
    "other than A-Z and 0-9 becomes '_')"
)
CASE = "user ids are told apart without regard to case: rename one of the users"


@pytest.fixture
def users_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "users"
    directory.mkdir()
    return directory


def problem_of(cfg: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_toml(cfg)
    return info.value


@pytest.mark.parametrize(
    ("key", "value", "why"),
    [
        ("api_key_env", "MY KEY", "it contains a space"),
        ("api_secret_env", "1KEY", "it starts with a digit"),
        ("api_passphrase_env", "KEY-1", "it contains '-'"),
        ("api_key_env", "", "it is empty"),
        ("api_key_env", "sk+live/abcdefgh==", "it contains '+'"),
    ],
)
def test_an_env_name_that_is_no_variable_name_is_refused(
    tmp_path: Path, key: str, value: str, why: str
) -> None:
    cfg = write(tmp_path / "c.toml", f'[users.a.kraken]\n{key} = "{value}"\n')
    error = problem_of(cfg)
    assert (error.line, error.key_path, error.hint) == (2, f"users.a.kraken.{key}", ENV_HINT)
    assert error.problem == f"expected the name of an environment variable; {why}"
    if value:
        assert value not in str(error)  # it may be a pasted key


@pytest.mark.parametrize(
    ("text", "line", "key_path", "problem", "hint"),
    [
        ("[users.a-b.kraken]\n[users.a_b.okx]\n", 2, "users.a_b",
         "user 'a_b' reads the same environment variables as user 'a-b' (*_USER_A_B_*)", RENAME),
        ("[users.Alice]\n[users.alice]\n", 2, "users.alice",
         "user 'alice' differs from user 'Alice' only by case", CASE),
        ('[users."zoë".paper]\nexchange="paper"\n[users."zoé"]\n', 3, 'users."zoé"',
         "user 'zoé' reads the same environment variables as user 'zoë' (*_USER_ZO__*)", RENAME),
    ],
)  # fmt: skip
def test_user_ids_that_would_be_confused_are_refused(
    tmp_path: Path, text: str, line: int, key_path: str, problem: str, hint: str
) -> None:
    error = problem_of(write(tmp_path / "c.toml", text))
    assert (error.line, error.key_path, error.problem, error.hint) == (
        line,
        key_path,
        problem,
        hint,
    )
    assert len(error.problems) == 1  # not once more as two connections reading one key


def test_the_rule_add_user_calls() -> None:
    from nija_balances.domain.syntax import user_id_clash

    assert user_id_clash("a_b", ["x", "a-b"]) == (
        "user 'a_b' reads the same environment variables as user 'a-b' (*_USER_A_B_*)",
        RENAME,
    )
    assert user_id_clash("ALICE", ["alice"]) == (
        "user 'ALICE' differs from user 'alice' only by case",
        CASE,
    )
    assert user_id_clash("bob", ["alice", "bobby"]) is None
    assert user_id_clash("alice", ["alice"]) is None  # the same user, not a clash


def test_nija_ids_that_would_be_confused_are_refused_by_the_same_rule(users_dir: Path) -> None:
    array = write_json(
        users_dir,
        "retail_kraken.json",
        [{"user_id": "a-b"}, {"user_id": "Ann"}, {"user_id": "a_b"}, {"user_id": "ann"}],
    )
    write_json(users_dir, "retail_okx.json", [{"user_id": "a_b"}])
    run = nija("show", "--config", users_dir)
    assert (run.code, run.out) == (2, "")
    assert run.err == (
        f"error: {users_dir}: 3 problems:\n"
        f"  {array}:9: [2].user_id: user 'a_b' reads the same environment variables as user "
        "'a-b' in retail_kraken.json[0] (*_USER_A_B_*)\n"
        f"    hint: {RENAME}\n"
        f"  {array}:12: [3].user_id: user 'ann' differs from user 'Ann' in "
        "retail_kraken.json[1] only by case\n"
        f"    hint: {CASE}\n"
        f"  {users_dir / 'retail_okx.json'}:3: [0].user_id: user 'a_b' reads the same "
        "environment variables as user 'a-b' in retail_kraken.json[0] (*_USER_A_B_*)\n"
        f"    hint: {RENAME}\n"
    )


@pytest.mark.parametrize(
    ("text", "line", "key_path"),
    [
        ("[users.alice]\nname = 'A'\n[users.alice]\n", 3, "users.alice"),
        ('[users.a.p]\nexchange = "paper"\n[users."a".p]\n', 3, "users.a.p"),
        ('[users."x y"]\n[users."x y"]\n', 2, 'users."x y"'),
    ],
)
def test_a_table_declared_twice_is_named_by_its_key_path(
    tmp_path: Path, text: str, line: int, key_path: str
) -> None:
    error = problem_of(write(tmp_path / "c.toml", text))
    assert (error.line, error.key_path, error.problem, error.hint) == (
        line,
        key_path,
        f"invalid TOML: the table [{key_path}] is declared twice",
        f"merge the two [{key_path}] tables into one",
    )
    assert "(" not in str(error).split("\n")[0]
