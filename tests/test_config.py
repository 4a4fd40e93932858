"""Config loading: the TOML format, defaults, credentials, adapter options, and every bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import EXAMPLES, write
from nija_balances.cli.root import app
from nija_balances.config.credentials import candidate_env_names, resolve
from nija_balances.config.loader import load_toml
from nija_balances.config.sources import load_config, load_demo
from nija_balances.domain.models import ConnectionConfig, Settings
from nija_balances.domain.secrets import Credentials, CredentialSource, redact
from nija_balances.domain.syntax import ConfigError

FULL = """\
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

[master.kraken]

[users.alice]
name = "Alice A."

[users.alice.kraken]
api_key_env = "ALICE_K"
api_secret_env = "ALICE_S"

[users.alice.kraken-sub]
exchange = "kraken"

[users.bob.binance]
ccxt = { options = { defaultType = "spot" } }

[users.carol]
enabled = false

[users.carol.paper]
exchange = "paper"
balances = { USD = 250.0, BTC = 0.01 }
prices = { BTC = 60000.0 }
"""


def test_full_config_loads_with_master_alias_and_defaults(tmp_path: Path) -> None:
    cfg = load_toml(write(tmp_path / "c.toml", FULL))
    assert cfg.settings == Settings(30.0, 5.0, 8, "USD", "cash", ("USDT", "USDC"))
    assert cfg.platform.name == "Desk"
    assert [(c.name, c.exchange) for c in cfg.platform.connections] == [
        ("coinbase", "coinbase"),
        ("kraken", "kraken"),
    ]
    alice, bob, carol = cfg.users
    assert (alice.name, bob.name, carol.enabled) == ("Alice A.", "bob", False)
    assert alice.connections[0].api_key_env == "ALICE_K"
    assert alice.connections[1].exchange == "kraken"
    assert bob.connections[0].ccxt == {"options": {"defaultType": "spot"}}
    assert carol.connections[0].options["balances"] == {
        "USD": Decimal("250.0"),
        "BTC": Decimal("0.01"),
    }


def test_demo_config_is_the_example_file() -> None:
    shipped = Path(__file__).parent.parent / "src" / "nija_balances" / "config" / "demo.toml"
    assert shipped.read_text() == (EXAMPLES / "demo.toml").read_text()
    assert load_toml(EXAMPLES / "demo.toml").users == load_demo().users


def test_default_path_follows_nija_config_and_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = write(tmp_path / "elsewhere.toml", "[users.a.p]\nexchange='paper'\n")
    monkeypatch.setenv("NIJA_CONFIG", str(cfg))
    assert load_config().source == cfg
    monkeypatch.delenv("NIJA_CONFIG")
    with pytest.raises(ConfigError) as err:
        load_config()
    assert err.value.file == Path(os.environ["NIJA_BALANCES_HOME"]) / "config.toml"


# ------------------------------------------------------------------ credentials


def conn(account: str, exchange: str = "kraken", **kw: str) -> ConnectionConfig:
    return ConnectionConfig(account=account, name=exchange, exchange=exchange, **kw)  # type: ignore[arg-type]


def test_user_credentials_use_the_whole_user_id() -> None:
    assert candidate_env_names(conn("daivon_frazier"), "API_KEY") == (
        "KRAKEN_USER_DAIVON_FRAZIER_API_KEY",
    )
    assert candidate_env_names(conn("tania.gilbert-2"), "API_SECRET") == (
        "KRAKEN_USER_TANIA_GILBERT_2_API_SECRET",
    )


def test_platform_falls_back_from_platform_to_master_to_bare() -> None:
    c = conn("platform")
    assert resolve(c, {"KRAKEN_API_KEY": "k3", "KRAKEN_MASTER_API_KEY": "k2"}).api_key == "k2"
    assert str(resolve(c, {"KRAKEN_API_KEY": "k3"}).key_source) == "env KRAKEN_API_KEY"
    env = {"KRAKEN_PLATFORM_API_KEY": "k1", "KRAKEN_MASTER_API_KEY": "k2"}
    assert resolve(c, env).api_key == "k1"


def test_whitespace_counts_as_missing_and_env_beats_dotenv_beats_inline() -> None:
    c = conn("alice", api_key="inline-k", api_secret="inline-s")
    env = {"KRAKEN_USER_ALICE_API_KEY": "   ", "KRAKEN_USER_ALICE_API_SECRET": "env-s"}
    got = resolve(c, env, {"KRAKEN_USER_ALICE_API_KEY": "dot-k"})
    assert (got.api_key, str(got.key_source)) == ("dot-k", ".env KRAKEN_USER_ALICE_API_KEY")
    assert (got.api_secret, str(got.secret_source)) == (
        "env-s",
        "env KRAKEN_USER_ALICE_API_SECRET",
    )
    assert str(resolve(c, {}).key_source) == "config file (inline)"
    assert got.key_source == CredentialSource("dotenv", "KRAKEN_USER_ALICE_API_KEY")
    assert got.secret_source == CredentialSource("env", "KRAKEN_USER_ALICE_API_SECRET")
    assert resolve(c, {}).key_source == CredentialSource("inline", None)
    assert got.passphrase_source is None
    assert not resolve(conn("bob"), {"KRAKEN_USER_BOB_API_KEY": "k"}).present


def test_credential_sources_render_as_they_always_read() -> None:
    assert str(CredentialSource("env", "KRAKEN_API_KEY")) == "env KRAKEN_API_KEY"
    assert str(CredentialSource("dotenv", "OKX_API_SECRET")) == ".env OKX_API_SECRET"
    assert str(CredentialSource("inline")) == "config file (inline)"
    assert CredentialSource("inline").variable is None
    with pytest.raises(AttributeError):
        CredentialSource("env", "A").variable = "B"  # type: ignore[misc]


def test_credentials_never_show_in_repr_and_are_redacted() -> None:
    creds = Credentials(api_key="AKIA-visible", api_secret="very-secret")
    assert "very-secret" not in repr(creds) and "AKIA-visible" not in repr(creds)
    assert redact("bad key AKIA-visible / very-secret", creds.secrets()) == "bad key *** / ***"
    assert "inline-s" not in repr(conn("a", api_secret="inline-s"))


def test_dotenv_beside_the_config_is_read(tmp_path: Path) -> None:
    cfg = write(tmp_path / "c.toml", "[users.alice.kraken]\n")
    write(
        tmp_path / ".env", "KRAKEN_USER_ALICE_API_KEY=from-dotenv\nKRAKEN_USER_ALICE_API_SECRET=x\n"
    )
    result = CliRunner().invoke(app, ["status", "--config", str(cfg), "--json"])
    assert "no_credentials" not in result.stdout  # found, so it tried to fetch
    assert "from-dotenv" not in result.stdout + result.stderr


def test_inline_secrets_in_a_shared_file_warn(tmp_path: Path) -> None:
    cfg = write(tmp_path / "c.toml", '[users.a.kraken]\napi_key = "k"\napi_secret = "s"\n')
    cfg.chmod(0o644)
    assert load_toml(cfg).warnings == (
        f"{cfg} holds API secrets and is readable by other users (mode 644); run: chmod 600 {cfg}",
    )
    cfg.chmod(0o600)
    assert load_toml(cfg).warnings == ()


# ------------------------------------------------------------------ bad input

BAD = [
    ("", "c.toml: users: nothing is configured: no users and no platform connections"),
    ("[users]\n", "c.toml:1: users: nothing is configured: no users and no platform connections"),
    ("[users.a.kraken]\nexchange = \"krakn\"\n",
     "c.toml:2: users.a.kraken.exchange: unknown exchange 'krakn' (did you mean 'kraken'?)"),
    ("[users.a.coinbse]\n", "c.toml:1: users.a.coinbse: unknown exchange 'coinbse' (did you mean 'coinbase'?)"),
    ("[users.a]\nenabeld = true\n", "c.toml:2: users.a.enabeld: unknown key 'enabeld' (did you mean 'enabled'?)"),
    ("[users.a]\nenabled = \"yes\"\n", "c.toml:2: users.a.enabled: expected true or false, got 'yes'"),
    ("[users.a.p]\nexchange = \"paper\"\nbalances = { USD = \"lots\" }\n",
     "c.toml:3: users.a.p.balances.USD: expected a non-negative number, got 'lots'"),
    ("[users.a.p]\nexchange = \"paper\"\nbalances = { USD = -5 }\n",
     "c.toml:3: users.a.p.balances.USD: expected a non-negative number, got -5"),
    ("[users.a.kraken]\nbalances = { USD = 5 }\n",
     "c.toml:2: users.a.kraken.balances: 'balances' is only for exchange = \"paper\" connections"),
    ("[users.a.kraken]\napi_key_envv = \"X\"\n",
     "c.toml:2: users.a.kraken.api_key_envv: unknown key 'api_key_envv' (did you mean 'api_key_env'?)"),
    ("[setings]\n[users.a.p]\nexchange='paper'\n", "c.toml:1: setings: unknown key 'setings' (did you mean 'settings'?)"),
    ("[settings]\nbasis = \"gross\"\n[users.a.p]\nexchange='paper'\n",
     "c.toml:2: settings.basis: expected \"equity\" or \"cash\", got 'gross'"),
    ("[settings]\ntimeout = \"fast\"\n[users.a.p]\nexchange='paper'\n",
     "c.toml:2: settings.timeout: expected a number >= 0.1, got 'fast'"),
    ("[settings]\nmax_in_flight = 0\n[users.a.p]\nexchange='paper'\n",
     "c.toml:2: settings.max_in_flight: expected a whole number >= 1, got 0"),
    ("[platform]\n[master]\n[users.a.p]\nexchange='paper'\n", "c.toml:2: master: both [platform] and [master] are present"),
    ("[users.a.p]\nexchange='paper'\n[users.a.p]\n", "c.toml:3: users.a.p: invalid TOML: the table [users.a.p] is declared twice"),
    ("[users.a.p\n", "c.toml:1: invalid TOML: Expected ']' at the end of a table declaration"),
    ("users = 5\n", "c.toml:1: users: expected a table ([users.ID] tables), got int 5"),
    ("[users.platform.p]\nexchange='paper'\n", "c.toml:1: users.platform: 'platform' is reserved"),
    ("[users.a.p]\nexchange = 7\n", "c.toml:2: users.a.p.exchange: expected a non-empty string, got 7"),
    ("[users.a.kraken]\nccxt = 5\n", "c.toml:2: users.a.kraken.ccxt: expected a table (ccxt constructor options), got int 5"),
    # options an adapter declares and checks itself
    ("[users.a.binance]\ntrade_symbols = \"BTC/USD\"\n",
     "c.toml:2: users.a.binance.trade_symbols: expected a list of \"BASE/QUOTE\" symbols, got str 'BTC/USD'"),
    ("[users.a.p]\nexchange = 'paper'\ntrade_symbols = []\n",
     "c.toml:3: users.a.p.trade_symbols: 'trade_symbols' is only for connections served by the ccxt adapter"),
    ("[users.a.tradier]\nprices = { BTC = 1 }\n",
     "c.toml:2: users.a.tradier.prices: 'prices' is only for exchange = \"paper\" connections"),
    ("[users.a.kraken]\ntrade_symbol = []\n",
     "c.toml:2: users.a.kraken.trade_symbol: unknown key 'trade_symbol' (did you mean 'trade_symbols'?)"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), BAD)
def test_bad_config_gets_one_clear_message_and_exit_2(
    tmp_path: Path, text: str, expected: str
) -> None:
    cfg = write(tmp_path / "c.toml", text)
    with pytest.raises(ConfigError) as err:
        load_toml(cfg)
    assert str(err.value).startswith(str(tmp_path / expected)), str(err.value)
    result = CliRunner().invoke(app, ["show", "--config", str(cfg)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {tmp_path / expected}")
    assert "Traceback" not in result.stderr and result.stdout == ""


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("'BTC/USD'", "expected a list of \"BASE/QUOTE\" symbols, got str 'BTC/USD'"),
        ("{ BTC = 'USD' }", "expected a list of \"BASE/QUOTE\" symbols, got dict {'BTC': 'USD'}"),
        ("['BTCUSD']", "expected \"BASE/QUOTE\" symbols, got 'BTCUSD'"),
        ("['BTC/USD/EUR']", "expected \"BASE/QUOTE\" symbols, got 'BTC/USD/EUR'"),
        ("['BTC/']", "expected \"BASE/QUOTE\" symbols, got 'BTC/'"),
        ("['BTC / USD']", "expected \"BASE/QUOTE\" symbols, got 'BTC / USD'"),
        ("['']", "expected \"BASE/QUOTE\" symbols, got ''"),
        ("[5]", 'expected "BASE/QUOTE" symbols, got 5'),
        ('["BTC/USD\\u0007"]', "expected \"BASE/QUOTE\" symbols, got 'BTC/USD\\x07'"),
        ("['BTC/USD', ' BTC/USD ']", "BTC/USD is given twice"),
    ],
)
def test_trade_symbols_are_checked_by_the_ccxt_adapter(
    tmp_path: Path, value: str, problem: str
) -> None:
    cfg = write(tmp_path / "c.toml", f"[users.a.binance]\n\ntrade_symbols = {value}\n")
    with pytest.raises(ConfigError) as err:
        load_toml(cfg)
    error = err.value
    assert (error.file, error.line, error.key_path) == (cfg, 3, "users.a.binance.trade_symbols")
    assert error.problem == problem


def test_adapter_options_are_kept_read_only_in_connection_options(tmp_path: Path) -> None:
    cfg = write(
        tmp_path / "c.toml",
        "[users.a.binance]\ntrade_symbols = [' BTC/USDT ', 'ETH/BTC', 'BTC/USD:BTC']\n"
        "[users.a.kraken]\n[users.a.p]\nexchange = 'paper'\nbalances = { usd = 5 }\n",
    )
    binance, kraken, paper = load_toml(cfg).users[0].connections
    assert binance.options == {"trade_symbols": ("BTC/USDT", "ETH/BTC", "BTC/USD:BTC")}
    assert kraken.options == {}
    assert paper.options == {"balances": {"USD": Decimal(5)}}
    with pytest.raises(TypeError):
        paper.options["balances"]["BTC"] = Decimal(1)  # type: ignore[index]
    given = ConnectionConfig("a", "p", "paper", options={"balances": {"USD": Decimal(1)}})
    with pytest.raises(TypeError):
        given.options["balances"]["USD"] = Decimal(2)  # frozen whatever the caller passed


def test_loading_a_config_with_adapter_options_imports_no_ccxt(tmp_path: Path) -> None:
    cfg = write(
        tmp_path / "c.toml",
        "[users.a.binance]\ntrade_symbols = ['BTC/USDT']\n"
        "[users.a.p]\nexchange = 'paper'\nbalances = { USD = 5 }\n",
    )
    code = (
        "import sys; from pathlib import Path; "
        "from nija_balances.config.loader import load_toml; "
        f"load_toml(Path({str(cfg)!r})); "
        "heavy = [m for m in ('ccxt', 'asyncio', 'aiohttp') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_config_points_to_init_and_demo() -> None:
    result = CliRunner().invoke(app, ["show"])
    assert result.exit_code == 2
    assert "config file not found" in result.stderr
    assert (
        "hint: create one with `nija init`, or try the built-in demo: `nija show --demo`"
        in result.stderr
    )


def test_non_utf8_and_directory_without_json(tmp_path: Path) -> None:
    bad = tmp_path / "bin.toml"
    bad.write_bytes(b"\xff\xfe[users]")
    result = CliRunner().invoke(app, ["show", "--config", str(bad)])
    assert result.exit_code == 2 and "not UTF-8 text" in result.stderr


def test_one_key_twice_is_refused_unless_the_wallet_settings_differ(tmp_path: Path) -> None:
    same = write(
        tmp_path / "same.toml", '[users.a.kraken]\n[users.a.kraken-sub]\nexchange = "kraken"\n'
    )
    with pytest.raises(ConfigError, match=r"reads the same API key variable as users.a.kraken"):
        load_toml(same)
    wallets = write(
        tmp_path / "wallets.toml",
        "[users.a.binance]\n[users.a.futures]\nexchange = 'binance'\n"
        "ccxt = { options = { defaultType = 'future' } }\n",
    )
    assert [c.name for c in load_toml(wallets).users[0].connections] == ["binance", "futures"]
