"""`.env` files: secrets are read literally, and one readable by others is warned about.

A `.env` beside the config (or in the working directory) holds the API keys. Like a config
file with inline secrets, one that group or others may read gets a warning naming the file,
its mode and the `chmod` that fixes it — when it holds a variable a connection reads.
python-dotenv expands `${VAR}` in values by default: a secret `ab${HOME}cd` became
`ab/rootcd`, so they are read with `interpolate=False`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import write
from nija_balances.config.credentials import load_dotenv_files
from nija_balances.config.loader import load_toml
from nija_balances.config.nija.reader import load_nija_directory
from robustness.conftest import nija


def test_secrets_in_a_dotenv_are_read_literally(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", "/home/op")
    env = write(
        tmp_path / ".env",
        "A=ab${HOME}cd\nB=\"ab${HOME}cd\"\nC='ab${HOME}cd'\nD=x$HOME\nE=${UNSET:-dflt}\n",
    )
    assert load_dotenv_files([env]) == {
        "A": "ab${HOME}cd",
        "B": "ab${HOME}cd",
        "C": "ab${HOME}cd",
        "D": "x$HOME",
        "E": "${UNSET:-dflt}",
    }


def warning(env: Path, mode: str) -> str:
    return f"{env} holds API secrets and is readable by other users (mode {mode}); run: chmod 600 {env}"


def test_a_dotenv_with_secrets_readable_by_others_warns(tmp_path: Path) -> None:
    cfg = write(
        tmp_path / "c.toml",
        '[users.alice.kraken]\n[users.bob.okx]\napi_key_env = "BOB_KEY"\n'
        '[platform.coinbase]\n[users.p.paper]\nexchange = "paper"\n',
    )
    env = write(tmp_path / ".env", "KRAKEN_USER_ALICE_API_KEY=k\n")
    for mode in (0o644, 0o640, 0o604):
        env.chmod(mode)
        assert load_toml(cfg).warnings == (warning(env, f"{mode:o}"),)
    env.chmod(0o600)
    assert load_toml(cfg).warnings == ()
    env.chmod(0o644)
    for held in ("BOB_KEY=k", "COINBASE_API_SECRET=s", "export OKX_USER_BOB_API_PASSPHRASE=p"):
        env.write_text(f"LOG_LEVEL=debug\n{held}\n")
        assert load_toml(cfg).warnings == (warning(env, "644"),), held
    for harmless in ("LOG_LEVEL=debug", "KRAKEN_USER_ALICE_API_KEY=", "OTHER_API_KEY=x"):
        env.write_text(f"{harmless}\n")
        assert load_toml(cfg).warnings == (), harmless


def test_the_warning_is_shown_for_a_nija_directory_and_by_the_cli(tmp_path: Path) -> None:
    users = tmp_path / "users"
    users.mkdir()
    (users / "retail_kraken.json").write_text('[{"user_id": "ann"}]')
    env = write(users / ".env", "KRAKEN_USER_ANN_API_SECRET=s\n")
    env.chmod(0o644)
    assert load_nija_directory(users).warnings == (warning(env, "644"),)
    run = nija("config", "check", "--config", users)
    assert f"warning: {warning(env, '644')}\n" in run.err
