"""`nija config show` and `nija config check`: credential sources, never their values."""

from __future__ import annotations

import json
import os
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from nija_balances.cli.root import app
from nija_balances.domain.models import Config, ConnectionReport, Portfolio, Status

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
runner = CliRunner()

KEY, SECRET = "k3y-VALUE-abc123", "s3cr3t-VALUE-xyz789"
DOTENV_SECRET, INLINE_SECRET, CCXT_SECRET = "d0tenv-SECRET-555", "inline-SECRET-999", "ccxt-PW-777"
ALL_SECRETS = (KEY, SECRET, DOTENV_SECRET, INLINE_SECRET, CCXT_SECRET)

CONFIG = f"""\
[platform]
name = "Nija System"

[platform.kraken]

[users.alice]
name = "Alice"

[users.alice.kraken]

[users.alice.tradier]

[users.alice.okx]
api_key = "{INLINE_SECRET}"
api_secret_env = "ALICE_OKX_SECRET"
ccxt = {{ password = "{CCXT_SECRET}", options = {{ defaultType = "spot" }} }}

[users.bob]
enabled = false

[users.bob.binance]

[users.pat.paper]
exchange = "paper"
balances = {{ USD = 5.0 }}
"""


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("NIJA_BALANCES_HOME", str(home))
    monkeypatch.delenv("NIJA_CONFIG", raising=False)
    for name in list(os.environ):
        if name.endswith(("_API_KEY", "_API_SECRET", "_API_PASSPHRASE")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return home


@pytest.fixture
def cfg(home: Path) -> Path:
    path = home / "config.toml"
    path.write_text(CONFIG, "utf-8")
    path.chmod(0o600)
    (home / ".env").write_text(f"KRAKEN_USER_ALICE_API_SECRET={DOTENV_SECRET}\n", "utf-8")
    (home / ".env").chmod(0o600)  # readable by others, it would be warned about
    return path


ENV = {
    "KRAKEN_PLATFORM_API_KEY": KEY,
    "KRAKEN_PLATFORM_API_SECRET": SECRET,
    "KRAKEN_USER_ALICE_API_KEY": KEY + "2",
    "ALICE_OKX_SECRET": SECRET + "2",
}


def nija(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    result = runner.invoke(
        app, [str(a) for a in args], env={"NO_COLOR": "1", "COLUMNS": "100", **(env or {})}
    )
    for secret in ALL_SECRETS:
        assert secret not in result.stdout and secret not in result.stderr, secret
    return result


def columns(rows: list[tuple[str, str, str, str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return [
        f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:<{widths[2]}}  {d}".rstrip() for a, b, c, d in rows
    ]


# --------------------------------------------------------------------- show


def test_show_text_gives_sources_and_no_values(cfg: Path) -> None:
    result = nija("config", "show", env=ENV)
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert text.startswith(
        f"# effective config of {cfg} (defaults filled in)\n"
        "# credentials: where each one comes from; values are never shown\n\n"
        "[settings]\ncache_ttl = 120.0\ntimeout = 15.0\nmax_in_flight = 64\n"
        'quote = "USD"\nbasis = "equity"\n'
    )
    assert (
        '[platform.kraken]\nexchange = "kraken"\n# adapter: ccxt\n'
        "# api_key: env KRAKEN_PLATFORM_API_KEY\n# api_secret: env KRAKEN_PLATFORM_API_SECRET\n"
    ) in text
    assert (
        f"# api_key: env KRAKEN_USER_ALICE_API_KEY\n"
        f"# api_secret: .env KRAKEN_USER_ALICE_API_SECRET ({cfg.parent / '.env'})\n"
    ) in text
    assert (
        '[users.alice.okx]\nexchange = "okx"\napi_secret_env = "ALICE_OKX_SECRET"\n'
        'ccxt = { password = "***", options = { defaultType = "spot" } }\n# adapter: ccxt\n'
        "# api_key: config file (inline)\n# api_secret: env ALICE_OKX_SECRET\n"
        "# api_passphrase: missing (looked for OKX_USER_ALICE_API_PASSPHRASE)\n"
    ) in text
    assert (
        '[users.alice.tradier]\nexchange = "tradier"\n# adapter: none (listed as `unsupported`)\n'
        in text
    )
    assert '[users.bob]\nname = "bob"\nenabled = false\n' in text
    assert (
        '[users.pat.paper]\nexchange = "paper"\nbalances = { USD = 5.0 }\n# adapter: paper\n'
        in text
    )


def test_show_json(cfg: Path) -> None:
    result = nija("config", "show", "--json", env=ENV)
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert doc["source"] == str(cfg)
    assert doc["settings"]["stablecoins"][:2] == ["USDT", "USDC"]
    assert doc["platform"]["connections"][0]["credentials"]["api_key"] == {
        "source": "env",
        "variable": "KRAKEN_PLATFORM_API_KEY",
        "file": None,
        "looked_for": ["KRAKEN_PLATFORM_API_KEY", "KRAKEN_MASTER_API_KEY", "KRAKEN_API_KEY"],
    }
    alice = {c["name"]: c for c in doc["users"][0]["connections"]}
    assert alice["kraken"]["credentials"]["api_secret"]["file"] == str(cfg.parent / ".env")
    assert alice["okx"]["credentials"]["api_key"]["source"] == "inline"
    assert alice["okx"]["ccxt"] == {"password": "***", "options": {"defaultType": "spot"}}
    assert alice["tradier"]["adapter"] is None
    pat = doc["users"][2]["connections"][0]
    assert (pat["adapter"], pat["credentials"], pat["balances"]) == ("paper", None, {"USD": 5.0})
    missing = nija("config", "show", "--json")
    cred = json.loads(missing.stdout)["platform"]["connections"][0]["credentials"]["api_secret"]
    assert (cred["source"], cred["variable"]) == ("missing", None)


def test_show_works_on_the_demo_and_on_a_nija_directory(home: Path) -> None:
    demo = nija("config", "show", "--demo")
    assert demo.stdout.startswith("# effective config of the built-in demo (defaults filled in)")
    nija_dir = nija("config", "show", "--config", EXAMPLES / "nija-users")
    assert nija_dir.exit_code == 0
    assert "[users.daivon_smith.kraken]" in nija_dir.stdout
    assert "# api_key: missing (looked for KRAKEN_USER_DAIVON_SMITH_API_KEY)" in nija_dir.stdout


def test_show_exits_2_on_a_broken_config(home: Path) -> None:
    result = nija("config", "show", "--config", EXAMPLES / "nija-users-broken")
    assert result.exit_code == 2
    assert "retail_coinbase.json:13: [1].broker_type: unknown broker 'coinbse'" in result.stderr


# --------------------------------------------------------------------- check


def test_check_reports_every_connection(cfg: Path) -> None:
    result = nija("config", "check", env=ENV)
    assert result.exit_code == 1
    dotenv = cfg.parent / ".env"
    assert result.stdout.splitlines() == columns(
        [
            (
                "ready",
                "platform/kraken",
                "kraken",
                "credentials: key from env KRAKEN_PLATFORM_API_KEY, "
                "secret from env KRAKEN_PLATFORM_API_SECRET",
            ),
            (
                "ready",
                "alice/kraken",
                "kraken",
                "credentials: key from env KRAKEN_USER_ALICE_API_KEY, "
                f"secret from .env KRAKEN_USER_ALICE_API_SECRET ({dotenv})",
            ),
            (
                "unsupported",
                "alice/tradier",
                "tradier",
                "no adapter for 'tradier' (ccxt does not support it)",
            ),
            (
                "no_credentials",
                "alice/okx",
                "okx",
                "missing passphrase (looked for OKX_USER_ALICE_API_PASSPHRASE)",
            ),
            ("disabled", "bob/binance", "binance", "user is disabled: not fetched"),
            ("ready", "pat/paper", "paper", "no credentials needed"),
        ]
    )
    assert result.stderr == f"warning: 2 of 6 connections need attention ({cfg})\n"


def test_check_passes_when_everything_is_ready(home: Path) -> None:
    path = home / "config.toml"
    path.write_text('[users.a.kraken]\n\n[users.b.paper]\nexchange = "paper"\n', "utf-8")
    env = {"KRAKEN_USER_A_API_KEY": KEY, "KRAKEN_USER_A_API_SECRET": " "}
    missing = nija("config", "check", env=env)  # whitespace-only counts as missing
    assert missing.exit_code == 1
    assert "missing secret (looked for KRAKEN_USER_A_API_SECRET)" in missing.stdout
    ok = nija("config", "check", env={**env, "KRAKEN_USER_A_API_SECRET": SECRET})
    assert ok.exit_code == 0
    assert ok.stderr == f"config OK: 2 connections ready ({path})\n"


def test_check_exits_2_when_the_config_does_not_load(home: Path) -> None:
    result = nija("config", "check")
    assert result.exit_code == 2
    assert f"error: {home / 'config.toml'}: config file not found" in result.stderr


def test_check_connect_on_paper_accounts(home: Path) -> None:
    path = home / "config.toml"
    path.write_text(
        '[users.a.paper]\nexchange = "paper"\nbalances = { USD = 1.0 }\n\n'
        "[users.b]\nenabled = false\n\n[users.b.kraken]\n",
        "utf-8",
    )
    result = nija("config", "check", "--connect")
    assert result.exit_code == 0, result.output
    static, live = result.stdout.split("\n\n")
    assert static.splitlines() == columns(
        [
            ("ready", "a/paper", "paper", "no credentials needed"),
            ("disabled", "b/kraken", "kraken", "user is disabled: not fetched"),
        ]
    )
    assert re.fullmatch(
        r"ok        a/paper   \d\.\d\ds\ndisabled  b/kraken  -      user is disabled\n", live
    )
    assert result.stderr.splitlines() == [
        f"config OK: 1 connections ready ({path})",
        "connecting to every connection once (the cache is not used)...",
        "every connection answered",
    ]


def test_check_connect_reports_failures_without_secrets(
    cfg: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nija_balances.engine import collect
    from nija_balances.engine.planning import plan_refresh

    def fake(config: Config, **kwargs: Any) -> Portfolio:
        assert kwargs["refresh"] is True
        plan = plan_refresh(config, refresh=True)
        reports = dict(plan.decided)
        for job in plan.jobs:
            conn = job.connection
            reports[conn.key] = ConnectionReport(
                account=conn.account,
                account_kind="platform" if job.kind == "platform" else "user",
                connection=conn.name,
                exchange=conn.exchange,
                status=Status.AUTH_FAILED,
                error=f"invalid key {job.credentials.api_key}",
            )
        return collect.build_portfolio(config, reports, datetime(2026, 1, 21, 16, 0))

    monkeypatch.setattr(collect, "collect_sync", fake)
    result = nija("config", "check", "--connect", env=ENV)
    assert result.exit_code == 1
    live = result.stdout.split("\n\n")[1].splitlines()
    assert live[0].split() == ["auth_failed", "platform/kraken", "-", "invalid", "key", "***"]
    assert result.stderr.splitlines()[-1] == "warning: 5 of 6 connections are not `ok`"


# --------------------------------------------------------------------- the whole way


def test_round_trip_init_add_show_check(home: Path) -> None:
    assert nija("init").exit_code == 0
    assert nija("config", "add-user", "daivon_frazier", "--name", "Daivon F.").exit_code == 0
    assert nija("config", "add-connection", "daivon_frazier", "kraken").exit_code == 0
    assert nija("config", "add-connection", "platform", "coinbase").exit_code == 0
    env = {
        "KRAKEN_USER_DAIVON_FRAZIER_API_KEY": KEY,
        "KRAKEN_USER_DAIVON_FRAZIER_API_SECRET": SECRET,
        "COINBASE_API_KEY": KEY + "3",
        "COINBASE_API_SECRET": SECRET + "3",
    }
    show = nija("config", "show", env=env)
    assert "# api_key: env KRAKEN_USER_DAIVON_FRAZIER_API_KEY" in show.stdout
    assert "# api_secret: env COINBASE_API_SECRET" in show.stdout
    check = nija("config", "check", env=env)
    assert check.exit_code == 0, check.output
    assert [line.split()[:2] for line in check.stdout.splitlines()] == [
        ["ready", "platform/coinbase"],
        ["ready", "example/paper"],
        ["ready", "daivon_frazier/kraken"],
    ]
    without = nija("config", "check")
    assert without.exit_code == 1
    assert "missing key (looked for KRAKEN_USER_DAIVON_FRAZIER_API_KEY)" in without.stdout


def test_the_example_config_checks(home: Path) -> None:
    result = nija("config", "check", "--config", EXAMPLES / "config.example.toml")
    assert result.exit_code == 1
    words = {line.split()[1]: line.split()[0] for line in result.stdout.splitlines()}
    assert words["paper_pat/paper"] == "ready"
    assert words["dan/alpaca"] == "disabled"
    assert words["bob/binance"] == "no_credentials"


def test_help_texts_teach(home: Path) -> None:
    result = nija("config", "--help")
    assert result.exit_code == 0
    for command in ("path", "add-user", "add-connection", "import", "show", "check"):
        assert command in result.stdout
    assert "Examples: nija init" in flat(nija("init", "--help").stdout)


def flat(text: str) -> str:
    return " ".join(text.split())


# --------------------------------------------------------------------- secret-looking options

SEED, TOTP, OTP_SEED, BEARER, PRIVATE = (
    "JBSWY3DPEHPK3PXP",
    "T0TP-seed-4242",
    "otp-seed-9191",
    "Bearer abc-123-token",
    "-----BEGIN PRIVATE KEY-----MIIEv",
)
TWOFA = f"""\
[users.alice.kraken]
ccxt = {{ twofa = "{SEED}", timeout = 30000, options = {{ totp = "{TOTP}", otpSeed = "{OTP_SEED}", \
defaultType = "spot" }}, headers = {{ Authorization = "{BEARER}" }}, \
privateKey = "{PRIVATE}", seeds = ["{SEED}"] }}
"""
HIDDEN = (
    "ccxt.twofa",
    "ccxt.options.totp",
    "ccxt.options.otpSeed",
    "ccxt.headers.Authorization",
    "ccxt.privateKey",
    "ccxt.seeds",
)


@pytest.fixture
def twofa(home: Path) -> Path:
    home.mkdir(exist_ok=True)
    path = home / "config.toml"
    path.write_text(TWOFA, "utf-8")
    path.chmod(0o600)
    return path


def test_show_never_prints_a_twofa_seed_or_any_secret_looking_value(twofa: Path) -> None:
    for args in (("config", "show"), ("config", "show", "--json")):
        result = nija(*args)
        assert result.exit_code == 0, result.output
        for secret in (SEED, TOTP, OTP_SEED, BEARER, PRIVATE, "abc-123"):
            assert secret not in result.stdout + result.stderr, (args, secret)


def test_show_text_says_where_each_hidden_value_comes_from(twofa: Path) -> None:
    text = nija("config", "show").stdout
    assert (
        'ccxt = { twofa = "***", timeout = 30000, options = { totp = "***", otpSeed = "***", '
        'defaultType = "spot" }, headers = { Authorization = "***" }, privateKey = "***", '
        'seeds = "***" }\n'
    ) in text
    for key in HIDDEN:
        assert f"# {key}: config file (inline), not shown\n" in text


def test_show_json_marks_hidden_values_and_their_source(twofa: Path) -> None:
    doc = json.loads(nija("config", "show", "--json").stdout)
    conn = doc["users"][0]["connections"][0]
    assert conn["ccxt"] == {
        "twofa": "***",
        "timeout": 30000,
        "options": {"totp": "***", "otpSeed": "***", "defaultType": "spot"},
        "headers": {"Authorization": "***"},
        "privateKey": "***",
        "seeds": "***",
    }
    assert conn["hidden"] == {key: {"source": "inline"} for key in HIDDEN}
