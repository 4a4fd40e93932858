"""`nija init`, `nija config path|add-user|add-connection|import` on real files.

Every refusal must exit 2 with a clear message and leave the file byte for byte as it was.
"""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from nija_balances.cli.root import app
from nija_balances.config.loader import load_toml
from nija_balances.config.nija.convert import convert
from nija_balances.config.nija.reader import scan_directory

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh NIJA_BALANCES_HOME, no NIJA_CONFIG, no credentials, cwd outside the repo."""
    home = tmp_path / "home"
    monkeypatch.setenv("NIJA_BALANCES_HOME", str(home))
    monkeypatch.delenv("NIJA_CONFIG", raising=False)
    for name in list(os.environ):
        if name.endswith(("_API_KEY", "_API_SECRET", "_API_PASSPHRASE")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return home


def nija(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return runner.invoke(
        app, [str(a) for a in args], env={"NO_COLOR": "1", "COLUMNS": "100", **(env or {})}
    )


def flat(text: str) -> str:
    """Messages may wrap at the terminal width; compare them with single spaces."""
    return " ".join(text.split())


def refused(result: Result, message: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert flat(message) in flat(result.stderr), result.stderr


@pytest.fixture
def cfg(home: Path) -> Path:
    """A config written by `nija init`."""
    assert nija("init").exit_code == 0
    return home / "config.toml"


USERS = """\
# the team
[platform]
name = "Nija System"

[users.alice]
name = "A"

[users.alice.coinbase]
exchange = "coinbase"

# bob is our second user
[users.bob]
"""


@pytest.fixture
def team(home: Path) -> Path:
    home.mkdir()
    path = home / "config.toml"
    path.write_text(USERS, "utf-8")
    path.chmod(0o640)
    return path


# --------------------------------------------------------------------- init


def test_init_writes_a_private_commented_config_that_works(home: Path) -> None:
    result = nija("init")
    path = home / "config.toml"
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"wrote a starter config to {path} (mode 600)",
        "try it:      nija show      (one paper account, no keys needed)",
        'add a user:  nija config add-user alice --name "Alice A."',
        "connect it:  nija config add-connection alice kraken --exchange kraken",
        "then:        nija config check      (which API keys are found)",
    ]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    config = load_toml(path)
    assert [(u.id, [c.exchange for c in u.connections]) for u in config.users] == [
        ("example", ["paper"])
    ]
    text = path.read_text("utf-8")
    assert "# [users.bob.binance]" in text and "API keys do NOT belong in this file" in text
    show = nija("show")
    assert show.exit_code == 0, show.output
    assert "$1,600.00" in show.stdout


def test_init_creates_parent_directories_and_names_the_file_in_hints(
    tmp_path: Path, home: Path
) -> None:
    target = tmp_path / "a" / "b" / "nija.toml"
    result = nija("init", "--path", target)
    assert result.exit_code == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert f"try it:      nija show --config {target}" in result.stderr
    assert load_toml(target).users[0].id == "example"


def test_init_refuses_to_overwrite_without_force(cfg: Path) -> None:
    cfg.write_text("# mine\n", "utf-8")
    refused(
        nija("init"),
        f"error: {cfg} already exists; nothing was written. Use --force to replace it, or edit "
        "it with `nija config add-user` / `nija config add-connection`",
    )
    assert cfg.read_bytes() == b"# mine\n"
    cfg.chmod(0o644)
    assert nija("init", "--force").exit_code == 0
    assert load_toml(cfg).users[0].id == "example"
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o600


def test_init_refuses_a_directory(tmp_path: Path, home: Path) -> None:
    refused(nija("init", "--path", tmp_path), f"error: {tmp_path} is a directory")


def test_init_follows_the_config_option(tmp_path: Path, home: Path) -> None:
    target = tmp_path / "elsewhere.toml"
    assert nija("init", "--config", target).exit_code == 0
    assert target.is_file() and not (home / "config.toml").exists()


# --------------------------------------------------------------------- path


def test_config_path(tmp_path: Path, home: Path) -> None:
    result = nija("config", "path")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        f"config: {home / 'config.toml'}",
        f"cache: {home / 'cache'}",
    ]
    assert result.stderr == "no file there yet: create it with `nija init`\n"
    other = tmp_path / "x.toml"
    by_env = nija("config", "path", env={"NIJA_CONFIG": str(other)})
    assert by_env.stdout.splitlines()[0] == f"config: {other}"
    assert (
        by_env.stderr == "no file there yet: create it with `nija init`\n"
    )  # it reads NIJA_CONFIG
    assert nija("config", "path", "--demo").stdout.splitlines()[0] == "config: (built-in demo)"
    nija_dir = nija("config", "path", "--config", EXAMPLES / "nija-users")
    assert (
        nija_dir.stderr
        == f"{EXAMPLES / 'nija-users'} is a NIJA users directory (read as a config)\n"
    )


# --------------------------------------------------------------------- add-user


def test_add_user_appends_and_keeps_everything_else(cfg: Path) -> None:
    before = cfg.read_text("utf-8")
    result = nija("config", "add-user", "alice", "--name", "Alice A.")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        f"added user 'alice' to {cfg}",
        "next: nija config add-connection alice kraken --exchange kraken   "
        "(reads KRAKEN_USER_ALICE_API_KEY and _API_SECRET)",
    ]
    assert cfg.read_text("utf-8") == before.rstrip("\n") + '\n\n[users.alice]\nname = "Alice A."\n'
    assert nija("config", "add-user", "bob smith", "--disabled").exit_code == 0
    assert cfg.read_text("utf-8").endswith('\n\n[users."bob smith"]\nenabled = false\n')
    users = {u.id: (u.name, u.enabled) for u in load_toml(cfg).users}
    assert users == {
        "example": ("Example user (paper account)", True),
        "alice": ("Alice A.", True),
        "bob smith": ("bob smith", False),
    }
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o600


def test_add_user_keeps_the_file_mode_and_follows_symlinks(team: Path, tmp_path: Path) -> None:
    link = tmp_path / "link.toml"
    link.symlink_to(team)
    assert nija("config", "add-user", "carol", "--config", link).exit_code == 0
    assert link.is_symlink()
    assert team.read_text("utf-8") == USERS + "\n[users.carol]\n"
    assert stat.S_IMODE(team.stat().st_mode) == 0o640


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["alice"], "error: user 'alice' already exists in {path}; nothing was changed"),
        (["platform"], "error: 'platform' is reserved for the platform account; pick another id"),
        ([" "], "error: a user id may not be empty"),
        (["carol", "--name", " "], "error: --name may not be empty"),
    ],
)
def test_add_user_refusals_leave_the_file_untouched(
    team: Path, args: list[str], message: str
) -> None:
    refused(nija("config", "add-user", *args), message.format(path=team))
    assert team.read_text("utf-8") == USERS


@pytest.mark.parametrize("user_id", ["Alice", "ALICE", "alicE"])
def test_add_user_refuses_an_id_that_differs_only_in_case(team: Path, user_id: str) -> None:
    refused(
        nija("config", "add-user", user_id),
        f"error: user '{user_id}' differs from user 'alice' only by case in {team}; "
        "nothing was changed",
    )
    assert team.read_text("utf-8") == USERS


@pytest.mark.parametrize(
    ("existing", "new"), [("a-b", "a_b"), ("a_b", "a-b"), ("a.b", "A B"), ("zoë", "zoé")]
)
def test_add_user_refuses_ids_that_collide_in_variable_names(
    home: Path, existing: str, new: str
) -> None:
    home.mkdir()
    path = home / "config.toml"
    text = f'[users."{existing}"]\n'
    path.write_text(text, "utf-8")
    result = nija("config", "add-user", new)
    assert result.exit_code == 2, result.output
    assert f"reads the same environment variables as user '{existing}'" in flat(result.stderr)
    assert path.read_text("utf-8") == text


def test_edits_need_an_existing_valid_writable_file(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = home / "config.toml"
    refused(
        nija("config", "add-user", "x"),
        f"error: no config file at {missing}; create one with `nija init` first",
    )
    refused(nija("config", "add-user", "x", "--demo"), "error: the built-in demo cannot be edited")
    refused(
        nija("config", "add-user", "x", "--config", EXAMPLES / "nija-users"),
        "is a NIJA users directory, which is not edited here; convert it first: nija config import",
    )
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b'[users.alice\nname = "A"\n')
    refused(nija("config", "add-user", "x", "--config", bad), f"error: {bad} is not valid TOML (")
    assert bad.read_bytes() == b'[users.alice\nname = "A"\n'
    latin = tmp_path / "latin.toml"
    latin.write_bytes(b"# caf\xe9\n")
    refused(nija("config", "add-user", "x", "--config", latin), f"error: {latin} is not UTF-8 text")
    good = tmp_path / "good.toml"
    good.write_text(USERS, "utf-8")
    access = os.access
    monkeypatch.setattr(os, "access", lambda p, m, *a, **k: m != os.W_OK and access(p, m, *a, **k))
    refused(
        nija("config", "add-user", "x", "--config", good),
        f"error: cannot write {good} (permission denied); nothing was changed",
    )
    assert good.read_text("utf-8") == USERS


def test_a_failed_write_leaves_the_file_and_no_temp_file(
    team: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(src: str, dst: str) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", broken)
    refused(
        nija("config", "add-user", "carol"),
        f"error: cannot write {team}: Permission denied; nothing was changed",
    )
    assert team.read_text("utf-8") == USERS
    assert sorted(p.name for p in team.parent.iterdir()) == ["config.toml"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_a_read_only_directory_is_refused(team: Path) -> None:
    team.parent.chmod(0o500)
    try:
        refused(nija("config", "add-user", "carol"), "(permission denied); nothing was changed")
    finally:
        team.parent.chmod(0o700)
    assert team.read_text("utf-8") == USERS


def test_an_invalid_existing_config_is_not_made_worse(team: Path) -> None:
    broken = USERS.replace('exchange = "coinbase"', 'exchange = "coinbse"')
    team.write_text(broken, "utf-8")
    refused(
        nija("config", "add-user", "carol"),
        f"error: nothing was changed: the result would not load: {team}:9: "
        "users.alice.coinbase.exchange: unknown exchange 'coinbse' (did you mean 'coinbase'?)",
    )
    assert team.read_text("utf-8") == broken


# --------------------------------------------------------------------- add-connection


def test_add_connection_goes_after_the_accounts_last_table(team: Path) -> None:
    result = nija("config", "add-connection", "alice", "kraken", "--exchange", "kraken")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        f"added connection alice/kraken (kraken) to {team}",
        "reads the key from KRAKEN_USER_ALICE_API_KEY, secret from KRAKEN_USER_ALICE_API_SECRET",
    ]
    assert team.read_text("utf-8") == USERS.replace(
        "\n# bob", '\n[users.alice.kraken]\nexchange = "kraken"\n\n# bob'
    )
    assert stat.S_IMODE(team.stat().st_mode) == 0o640


def test_add_connection_to_the_platform_and_with_variable_names(team: Path) -> None:
    assert nija("config", "add-connection", "platform", "coinbase").exit_code == 0
    result = nija(
        "config", "add-connection", "bob", "kraken-sub", "--exchange", "Kraken",
        "--key-env", "BOB_SUB_KEY", "--secret-env", "BOB_SUB_SECRET", "--passphrase-env", "BOB_PW",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (
        result.stderr.splitlines()[1]
        == "reads the key from BOB_SUB_KEY, secret from BOB_SUB_SECRET"
    )
    text = team.read_text("utf-8")
    assert text.startswith('# the team\n[platform]\nname = "Nija System"\n\n[platform.coinbase]\n')
    assert text.endswith(
        '[users.bob]\n\n[users.bob.kraken-sub]\nexchange = "kraken"\napi_key_env = "BOB_SUB_KEY"\n'
        'api_secret_env = "BOB_SUB_SECRET"\napi_passphrase_env = "BOB_PW"\n'
    )
    config = load_toml(team)
    assert [c.key for a in config.accounts for c in a.connections] == [
        "platform/coinbase",
        "alice/coinbase",
        "bob/kraken-sub",
    ]


def test_add_connection_uses_master_when_the_file_does(home: Path) -> None:
    home.mkdir()
    path = home / "config.toml"
    path.write_text('[master]\nname = "M"\n\n[users.a]\n', "utf-8")
    assert nija("config", "add-connection", "platform", "kraken").exit_code == 0
    assert (
        path.read_text("utf-8")
        == '[master]\nname = "M"\n\n[master.kraken]\nexchange = "kraken"\n\n[users.a]\n'
    )


def test_add_connection_to_a_file_without_platform_table(home: Path) -> None:
    home.mkdir()
    path = home / "config.toml"
    path.write_text("[users.a]\n", "utf-8")
    assert nija("config", "add-connection", "platform", "kraken").exit_code == 0
    assert path.read_text("utf-8") == '[users.a]\n\n[platform.kraken]\nexchange = "kraken"\n'
    assert [c.key for c in load_toml(path).platform.connections] == ["platform/kraken"]


def test_add_connection_paper_and_unsupported(team: Path) -> None:
    paper = nija("config", "add-connection", "bob", "paper")
    assert paper.stderr.splitlines()[1] == (
        "paper account: add balances = { USD = 100.0 } to its table to simulate holdings"
    )
    tradier = nija("config", "add-connection", "bob", "tradier")
    assert tradier.exit_code == 0
    assert tradier.stderr.splitlines()[1] == (
        "warning: no adapter can reach tradier: it will be listed as `unsupported`"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["alice", "krakn"],
            "error: unknown exchange 'krakn' (did you mean 'kraken'?); use a ccxt exchange id",
        ),
        (
            ["alice", "k", "--exchange", "binanse"],
            "error: unknown exchange 'binanse' (did you mean 'binance'?)",
        ),
        (
            ["alcie", "kraken"],
            "error: no user 'alcie' in {path} (did you mean 'alice'?); "
            "add it first: nija config add-user alcie",
        ),
        (
            ["alice", "coinbase"],
            "error: alice already has a connection 'coinbase'; nothing was changed",
        ),
        (["alice", "name"], "error: 'name' cannot be a connection name"),
        (
            ["alice", "kraken", "--key-env", "sk-live/AbC+123="],
            "error: --key-env takes the NAME of an environment variable",
        ),
    ],
)
def test_add_connection_refusals_leave_the_file_untouched(
    team: Path, args: list[str], message: str
) -> None:
    result = nija("config", "add-connection", *args)
    refused(result, message.format(path=team))
    assert "sk-live/AbC+123=" not in result.output
    assert team.read_text("utf-8") == USERS


@pytest.mark.parametrize("value", ["PKZ8QW2E4R6T8Y0U1I3O", "aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI"])
def test_a_pasted_key_is_refused_and_never_echoed(team: Path, value: str) -> None:
    for option in ("--key-env", "--secret-env", "--passphrase-env"):
        result = nija("config", "add-connection", "alice", "kraken", option, value)
        refused(result, f"error: {option} takes the NAME of an environment variable")
        assert value not in result.output
    assert team.read_text("utf-8") == USERS
    ok = nija("config", "add-connection", "alice", "kraken", "--key-env", "ALPACA_KEY_2")
    assert ok.exit_code == 0


def test_an_inline_account_cannot_be_extended(home: Path) -> None:
    home.mkdir()
    path = home / "config.toml"
    text = '[users]\nalice = { name = "A" }\n'
    path.write_text(text, "utf-8")
    refused(
        nija("config", "add-connection", "alice", "kraken"),
        "the edited file would not be valid TOML",
    )
    assert path.read_text("utf-8") == text


# --------------------------------------------------------------------- import


def test_import_prints_toml_and_reports_renames(home: Path) -> None:
    source = EXAMPLES / "nija-users"
    result = nija("config", "import", source)
    assert result.exit_code == 0, result.output
    assert result.stdout == convert(scan_directory(source, strict=False)).text
    lines = result.stderr.splitlines()
    assert lines[0] == f"imported 7 users, 9 connections from 5 files in {source}"
    assert "  KRAKEN_USER_DAIVON_API_KEY      -> KRAKEN_USER_DAIVON_FRAZIER_API_KEY" in lines
    assert "  KRAKEN_USER_DAIVON_API_KEY      -> KRAKEN_USER_DAIVON_SMITH_API_KEY" in lines
    assert lines[-1] == (
        "warning: KRAKEN_USER_DAIVON_API_SECRET was shared by daivon_frazier and daivon_smith "
        "in NIJA; give each user their own key"
    )
    data = tomllib.loads(result.stdout)
    assert sorted(data["users"]["daivon_frazier"]) == ["coinbase", "enabled", "kraken", "name"]
    assert data["users"]["tom_baker"]["enabled"] is False


SKIPPED_2 = (
    "warning: 2 entries or files were skipped (listed above); the converted config leaves them out"
)


def test_import_of_a_broken_directory_converts_the_rest(home: Path, tmp_path: Path) -> None:
    """Exit 1 when anything was skipped: the file is written, but it is not the whole."""
    source, out = EXAMPLES / "nija-users-broken", tmp_path / "out" / "config.toml"
    result = nija("config", "import", source, "--output", out)
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert result.stderr.splitlines()[:6] == [
        f"imported 2 users, 3 connections from 3 files in {source}; skipped 2 (see below): "
        "the import is incomplete",
        "skipped 2 entries or files (the rest was converted):",
        f"  {source}/retail_coinbase.json:13: [1].broker_type: unknown broker 'coinbse' "
        "(did you mean 'coinbase'?)",
        "    hint: use a ccxt exchange id (coinbase, kraken, binance, okx, alpaca, ...)",
        f"  {source}/retail_kraken.json:10: [1]: invalid JSON: Expecting ',' delimiter (column 5)",
        "    hint: check commas, quotes and brackets on that line",
    ]
    assert result.stderr.splitlines()[-2:] == [
        f"wrote {out} (mode 600); next: nija config check --config {out}",
        SKIPPED_2,
    ]
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert [u.id for u in load_toml(out).users] == ["dana_reed", "alice_wong"]
    before = out.read_bytes()
    refused(
        nija("config", "import", source, "-o", out),
        f"error: {out} already exists; nothing was written",
    )
    assert out.read_bytes() == before
    assert nija("config", "import", source, "-o", out, "--force").exit_code == 1


def test_import_to_stdout_that_skipped_something_exits_1(home: Path) -> None:
    source = EXAMPLES / "nija-users-broken"
    result = nija("config", "import", source)
    assert result.exit_code == 1
    assert result.stdout == convert(scan_directory(source, strict=False)).text  # still printed
    assert result.stderr.splitlines()[-1] == SKIPPED_2
    quiet = nija("config", "import", source, "-q")
    assert (quiet.exit_code, quiet.stderr) == (1, "")


def test_import_that_skipped_one_says_it_in_the_singular(home: Path, tmp_path: Path) -> None:
    source = tmp_path / "users"
    source.mkdir()
    (source / "retail_kraken.json").write_text(
        '[{"user_id": "ann", "broker_type": "kraken"}, {"name": "no id"}]', "utf-8"
    )
    result = nija("config", "import", source)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "warning: 1 entry or file was skipped (listed above); the converted config leaves it out"
    )


def test_import_errors(home: Path, tmp_path: Path) -> None:
    refused(nija("config", "import", tmp_path / "nope"), "not a directory of NIJA user files")
    refused(
        nija("config", "import", EXAMPLES / "nija-users", "-o", tmp_path, "--force"),
        f"error: {tmp_path} is a directory; give a file path",
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    refused(nija("config", "import", empty), "no NIJA user files (*.json) in this directory")
    (empty / "retail_kraken.json").write_text('[{"name": "x"}]', "utf-8")
    result = nija("config", "import", empty)
    refused(result, "error: " + str(empty) + ": no user could be imported")
    assert (
        "skipped: " + str(empty / "retail_kraken.json") + ":1: [0].user_id: missing user_id"
        in result.stderr
    )
