"""Secrets never leave: not in stdout, stderr, `-v` logs, JSON, or the on-disk store.

One config holds credentials from all three places at once — the environment, a `.env` file
beside the config, and inline in the config — plus the failure paths: a key the exchange
rejects, a Kraken secret that is not base64, a Coinbase secret that is not a PEM key. Every
command is run against it (in a subprocess with `-v`, and in-process without), and every
byte it wrote is searched for every secret and for pieces of them.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from mockex.harness import new_credentials
from reliability.harness import MockThread, Run, Setup, env_names, nija, nija_process

pytestmark = pytest.mark.network_mock

COMMANDS: tuple[tuple[str, ...], ...] = (
    ("show", "--refresh"),
    ("show",),
    ("show", "--json", "--refresh"),
    ("user", "alice", "--refresh"),
    ("user", "bob", "--json", "--refresh"),
    ("status", "--refresh"),
    ("status", "--json", "--refresh"),
    ("config", "show"),
    ("config", "show", "--json"),
    ("config", "check"),
    ("config", "check", "--connect"),
    ("cache", "info"),
    ("cache", "info", "--json"),
)
#: Commands also run as subprocesses: the ones that fetch, so ccxt and its logs are real.
AS_PROCESS = (
    ("show", "--refresh"),
    ("status", "--json", "--refresh"),
    ("config", "check", "--connect"),
)
# 21 base64 characters once the others are dropped: no padding makes that decodable
BAD_KRAKEN_SECRET = "not*base64*s3cr3t*VALUE*x"
BAD_COINBASE_SECRET = "not-a-pem-but-a-long-s3cr3t-value-0123456789"
PLANTED = (BAD_KRAKEN_SECRET, BAD_COINBASE_SECRET)


def pieces(secret: str) -> Iterator[str]:
    """The secret, each line of it (a PEM's base64 lines), and 16-character slices of long ones."""
    yield secret
    for line in secret.splitlines():
        line = line.strip()
        if len(line) >= 12 and not line.startswith("-----"):
            yield line
    if len(secret) >= 32:
        for start in range(0, len(secret) - 16, 8):
            piece = secret[start : start + 16]
            if "-----" not in piece and "\n" not in piece:
                yield piece


class Secrets:
    """Every secret value of the test config, and where they must never be found."""

    def __init__(self) -> None:
        self.values: list[str] = []

    def add(self, *values: str | None) -> None:
        self.values += [v for v in values if v]

    def leaks(self, text: str) -> list[str]:
        found = []
        for secret in self.values:
            for piece in pieces(secret):
                if piece in text:
                    found.append(piece)
                    break
        return found

    def assert_absent(self, where: str, text: str) -> None:
        leaked = self.leaks(text)
        assert not leaked, f"secret found in {where}: {leaked[:3]}"


def build(setup: Setup, mocks: MockThread) -> Secrets:
    """The config with every kind of credential source and failure."""
    secrets = Secrets()
    setup.settings["timeout"] = 5
    kraken, coinbase = mocks.start("kraken"), mocks.start("coinbase")
    # environment (by convention)
    platform = setup.add("platform", kraken, {"USD": ("100", "0"), "BTC": ("1", "0")})
    # `.env` beside the config (a multi-line PEM, quoted)
    alice = setup.add("alice", coinbase, {"USD": ("50", "0"), "BTC": ("0.5", "0")}, env=False)
    key_var, secret_var, _ = env_names("coinbase", "alice")
    pem = (alice.creds.api_secret or "").strip()
    dotenv = f'{key_var}="{alice.api_key}"\n{secret_var}="{pem}"\n'
    (setup.path.parent / ".env").write_text(dotenv, encoding="utf-8")
    # inline in the config
    bob = setup.add("bob", kraken, {"USD": ("10", "0")}, env=False)
    # a key the exchange rejects: the right key, a well-formed but wrong secret
    carol = setup.add("carol", kraken, {"USD": ("1", "0")})
    wrong = new_credentials("kraken").api_secret or ""
    setup.monkeypatch.setenv(env_names("kraken", "carol")[1], wrong)
    # malformed secrets: not base64 (Kraken), not a PEM key (Coinbase)
    dave = setup.add("dave", kraken, {"USD": ("2", "0")})
    setup.monkeypatch.setenv(env_names("kraken", "dave")[1], BAD_KRAKEN_SECRET)
    erin = setup.add("erin", coinbase, {"USD": ("3", "0")})
    setup.monkeypatch.setenv(env_names("coinbase", "erin")[1], BAD_COINBASE_SECRET)

    doc = setup.document()
    doc["users"]["bob"]["kraken"] |= {"api_key": bob.api_key, "api_secret": bob.creds.api_secret}
    import tomli_w

    setup.path.write_text(tomli_w.dumps(doc), encoding="utf-8")
    setup.path.chmod(0o600)
    for conn in (platform, alice, bob, carol, dave, erin):
        secrets.add(conn.creds.api_key, conn.creds.api_secret, conn.creds.api_passphrase)
    secrets.add(wrong, *PLANTED)
    return secrets


def store_bytes(home: Path) -> dict[str, bytes]:
    """Every file nija wrote under its home (the store, its -wal and -shm, locks)."""
    return {str(p): p.read_bytes() for p in home.rglob("*") if p.is_file()}


def check_expected_failures(doc: dict[str, object]) -> None:
    conns = {f"{c['account']}/{c['connection']}": c for c in doc["connections"]}  # type: ignore[attr-defined,index]
    got = {k: (c["status"], c["error"]) for k, c in conns.items()}
    assert got["platform/kraken"] == ("ok", None)
    assert got["alice/coinbase"] == ("ok", None)  # from the .env file
    assert got["bob/kraken"] == ("ok", None)  # inline
    assert got["carol/kraken"] == (
        "auth_failed",
        'key rejected: kraken {"error": ["EAPI:Invalid key"]}',
    )
    assert got["dave/kraken"] == ("auth_failed", "API secret is not valid base64")
    assert got["erin/coinbase"] == (
        "auth_failed",
        "API secret is not a valid private key (expected the key's PEM block)",
    )


@pytest.mark.slow
def test_no_command_shows_a_secret_anywhere(
    setup: Setup, mocks: MockThread, isolated_home: Path
) -> None:
    secrets = build(setup, mocks)
    config = str(setup.path)

    first = nija("show", "--json", "--refresh", "--config", config)
    check_expected_failures(first.json())
    runs: list[Run] = [first]
    # every command in-process, without and with -v (its logs on stderr) ...
    runs += [nija(*args, "--config", config) for args in COMMANDS]
    runs += [nija("-v", *args, "--config", config) for args in COMMANDS]
    # ... and the fetching ones as real processes with -v too, two at a time
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs += list(pool.map(lambda a: nija_process("-v", *a, "--config", config), AS_PROCESS))
    for run in runs:
        assert "Traceback" not in run.stdout + run.stderr, run
        assert run.code in (0, 1), run
        secrets.assert_absent(f"stdout of nija {' '.join(run.args)}", run.stdout)
        secrets.assert_absent(f"stderr of nija {' '.join(run.args)}", run.stderr)
    verbose = [r for r in runs if r.args[:1] == ("-v",) and "--refresh" in r.args]
    assert any("INFO nija_balances.engine.collect" in r.stderr for r in verbose)  # logs were on

    files = store_bytes(isolated_home)
    assert any(name.endswith("balances.sqlite3") for name in files)
    for name, data in files.items():
        text = data.decode("latin-1")
        secrets.assert_absent(name, text)
        secrets.assert_absent(f"{name} (utf-16)", data.decode("utf-16-le", errors="ignore"))


def test_error_paths_show_no_secret(setup: Setup, mocks: MockThread, tmp_path: Path) -> None:
    """A config that does not load never quotes the secret near the error."""
    secret = "inline-s3cr3t-VALUE-must-not-leak-42"
    broken = {
        "unterminated string": f'[users.a.kraken]\napi_secret = "{secret}\n',
        "bare value": f"[users.a.kraken]\napi_secret = {secret}\n",
        "typo in the key": f'[users.a.kraken]\napi_secrt = "{secret}"\n',
        "number secret": "[users.a.kraken]\napi_secret = 12345678901234567890123\n",
        "secret at account level": f'[users.a]\napi_secret = "{secret}"\n',
        "secret as a table": f'[users.a.kraken]\napi_secret = {{ value = "{secret}" }}\n',
        "secret in an array": f'[users.a.kraken]\napi_secret = ["{secret}"]\n',
    }
    for what, text in broken.items():
        path = tmp_path / f"{what.replace(' ', '_')}.toml"
        path.write_text(text, encoding="utf-8")
        for args in (("show",), ("config", "check"), ("config", "show", "--json")):
            run = nija(*args, "--config", str(path))
            assert run.code == 2, (what, run)
            assert str(path) in run.stderr, (what, run)
            output = run.stdout + run.stderr
            assert secret not in output and "12345678901234567890123" not in output, (what, run)


# ---------------------------------------------------------------------------- file modes


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.slow
def test_config_and_store_are_private_whatever_the_umask(
    setup: Setup, mocks: MockThread, isolated_home: Path, tmp_path: Path
) -> None:
    kraken = mocks.start("kraken")
    setup.add("platform", kraken, {"USD": ("100", "0")})
    setup.add("alice", kraken, {"USD": ("5", "0")})
    config = setup.write()
    env = dict(os.environ)
    old = os.umask(0o022)  # the common default: new files 0644 unless the code says otherwise
    try:
        init_path = tmp_path / "fresh" / "config.toml"
        run = nija_process("init", "--path", str(init_path), env=env)
        assert run.code == 0, run
        assert mode(init_path) == 0o600
        run = nija_process("config", "add-user", "zed", "--config", str(init_path), env=env)
        assert run.code == 0, run
        assert mode(init_path) == 0o600  # rewritten, still private
        run = nija_process("show", "--refresh", "--config", str(config), env=env)
        assert run.code == 0, run
    finally:
        os.umask(old)
    store = next(isolated_home.rglob("balances.sqlite3"))
    assert mode(store) == 0o600
    for side in ("-wal", "-shm"):
        side_file = store.with_name(store.name + side)
        if side_file.exists():
            assert mode(side_file) == 0o600, side_file
    assert mode(store.parent) == 0o700


def test_inline_secrets_in_a_file_others_can_read_are_warned_about(
    setup: Setup, mocks: MockThread
) -> None:
    kraken = mocks.start("kraken")
    setup.add("platform", kraken, {"USD": ("100", "0")})
    bob = setup.add("bob", kraken, {"USD": ("10", "0")}, env=False)
    doc = setup.document()
    doc["users"]["bob"]["kraken"] |= {"api_key": bob.api_key, "api_secret": bob.creds.api_secret}
    import tomli_w

    setup.path.write_text(tomli_w.dumps(doc), encoding="utf-8")
    path = str(setup.path)
    warning = (
        f"warning: {path} holds API secrets and is readable by other users (mode 644); "
        f"run: chmod 600 {path}"
    )
    setup.path.chmod(0o644)
    for args in (("show", "--json"), ("status",), ("config", "check"), ("config", "show")):
        run = nija(*args, "--config", path)
        assert warning in " ".join(run.stderr.split()), run
        assert run.stdout.count("holds API secrets") == 0  # data stays clean
    setup.path.chmod(0o600)
    run = nija("show", "--json", "--config", path)
    assert "holds API secrets" not in run.stderr, run
    # a file with no inline secret may be readable by anyone
    setup.write()
    setup.path.chmod(0o644)
    setup.set_env(bob)
    run = nija("show", "--json", "--config", path)
    assert "holds API secrets" not in run.stderr and run.code == 0, run


def test_the_leak_detector_finds_whole_secrets_and_pieces() -> None:
    """The search above would catch a secret shown whole, one PEM line, or a slice."""
    secrets = Secrets()
    pem = new_credentials("coinbase").api_secret or ""
    kraken = new_credentials("kraken").api_secret or ""
    secrets.add(pem, kraken)
    assert secrets.leaks("nothing here") == []
    assert secrets.leaks(f"error: {kraken}")
    assert secrets.leaks(f"error: {pem.splitlines()[2]}")  # one base64 line of the PEM
    assert secrets.leaks(f"...{kraken[20:40]}...")  # a 20-character slice
    assert secrets.leaks(pem.replace("\n", "\\n"))  # a PEM written on one line


def test_redact_covers_every_form_of_a_pem_secret() -> None:
    """An error quoting the key as ccxt saw it (lines, or one line with `\\n`) is redacted."""
    from nija_balances.domain.secrets import redact

    pem = new_credentials("coinbase").api_secret or ""
    one_line = pem.strip().replace("\n", "\\n")
    body = pem.splitlines()[1]
    for secret in (pem, one_line):  # as configured: multi-line (.env) or pasted on one line
        for shown in (pem, pem.strip(), one_line, body):
            shown_after = " ".join(redact(f"error: {shown} end", [secret]).split())
            assert shown_after == "error: *** end", (secret, shown)
    assert redact("-----BEGIN EC PRIVATE KEY----- expected", [pem]).startswith("-----BEGIN")
