"""Hostile answers: an exchange (or whatever answers in its place) that sends what it should not.

Through ccxt over HTTP to the mock exchanges, Kraken and Coinbase:

- an HTTP 200 without a balance in it is a failure (`error`, saying what was wrong), never
  $0: after a good fetch the last good value stays, `stale`; a well-formed empty balance is
  still `ok $0`;
- a redirect (302, 307) to another host is never followed: the place it points at receives
  nothing (no key, no signature, no signed body to replay), and the connection fails;
- an answer larger than the cap is not read (streamed up to the cap, then dropped): `error`;
- an error body that echoes the key or secret JSON-escaped (`\\/`) or URL-encoded (`%2F`,
  `%2B`, `%3D`), or a URL with a password in it, never reaches the output or the store;
- Coinbase money in an account of a type ccxt does not count: a vault is counted; any other
  type holding money is named in the connection's note, never dropped without a word;
- `settings.timeout` measures the exchange, not our start-up: importing ccxt made slower
  than the timeout still gives `ok`;
- with every logger at DEBUG (the Python API under `logging.basicConfig(level=DEBUG)`), no
  record holds a key, secret, signature, token or nonce; `ccxt = { verbose = true }`, which
  made ccxt print every request with its key, is refused with file:line:key (and forced off
  on every instance the adapter builds).
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from mockex.harness import MARKETS_PATH
from mockex.recorder import Recorder
from reliability.harness import MockThread, Setup, nija, nija_process

pytestmark = pytest.mark.network_mock

ALICE_BALANCES = {"USD": ("40", "10"), "BTC": ("0.25", "0.25")}  # 50 + 0.5 × 60,000
ALICE_VALUE = 30050.0


#: The balance request each exchange's message quotes (ccxt: "<id> <METHOD> <url>").
REQUEST = {
    "kraken": "kraken POST {url}/0/private/BalanceEx",
    "coinbase": "coinbase GET {url}/api/v3/brokerage/accounts",
}


@pytest.fixture
def recorder(mocks: MockThread) -> Iterator[Recorder]:
    """A server on the mocks' loop that writes down every request reaching it."""
    rec = Recorder()
    mocks.run(rec.__aenter__())
    try:
        yield rec
    finally:
        mocks.run(rec.__aexit__(None, None, None))


def alice(doc: dict[str, Any]) -> dict[str, Any]:
    found = [c for c in doc["connections"] if c["account"] == "alice"]
    assert len(found) == 1
    return found[0]


# ---------------------------------------------------------------------------- no balance in it

_KRAKEN_ACCOUNT = {"balance": "1.5", "hold_trade": "0"}
_COINBASE_ACCOUNT = {
    "uuid": "8bfc20d7-f7c6-4422-bf07-8243ca4169fe",
    "name": "BTC Wallet",
    "currency": "BTC",
    "available_balance": {"value": "1.5", "currency": "BTC"},
    "type": "ACCOUNT_TYPE_CRYPTO",
    "hold": {"value": "0", "currency": "BTC"},
}

NO_BALANCE = [
    # Kraken BalanceEx: {"error": [], "result": {"XXBT": {"balance": ..., "hold_trade": ...}}}
    ("kraken", "error only", {"error": []}, 'no "result"'),
    ("kraken", "empty object", {}, 'no "result"'),
    ("kraken", "array", [], "the answer is an array, not an object"),
    ("kraken", "result null", {"error": [], "result": None}, '"result" is null, not an object'),
    ("kraken", "result array", {"error": [], "result": []}, '"result" is an array, not an object'),
    ("kraken", "result ok", {"error": [], "result": "ok"}, '"result" is a string, not an object'),
    (
        "kraken",
        "amount true",
        {"error": [], "result": {"XXBT": {"balance": True, "hold_trade": "0"}}},
        '"result.XXBT.balance" is true, not an amount',
    ),
    (
        "kraken",
        "entry without balance",
        {"error": [], "result": {"XXBT": {"hold_trade": "0"}}},
        'no "result.XXBT.balance"',
    ),
    # Coinbase brokerage accounts: {"accounts": [{..., "available_balance": {...}, "hold": {...}}]}
    ("coinbase", "empty object", {}, 'no "accounts"'),
    ("coinbase", "array", [], "the answer is an array, not an object"),
    ("coinbase", "accounts null", {"accounts": None}, '"accounts" is null, not an array'),
    ("coinbase", "accounts object", {"accounts": {}}, '"accounts" is an object, not an array'),
    (
        "coinbase",
        "account a string",
        {"accounts": ["BTC"]},
        '"accounts[0]" is a string, not an object',
    ),
    (
        "coinbase",
        "no available_balance",
        {"accounts": [{k: v for k, v in _COINBASE_ACCOUNT.items() if k != "available_balance"}]},
        'no "accounts[0].available_balance"',
    ),
    (
        "coinbase",
        "no hold",
        {"accounts": [{k: v for k, v in _COINBASE_ACCOUNT.items() if k != "hold"}]},
        'no "accounts[0].hold"',
    ),
    (
        "coinbase",
        "amount true",
        {
            "accounts": [
                {**_COINBASE_ACCOUNT, "available_balance": {"value": True, "currency": "BTC"}}
            ]
        },
        '"accounts[0].available_balance.value" is true, not an amount',
    ),
]


@pytest.mark.parametrize(
    ("exchange", "payload", "why"),
    [pytest.param(ex, payload, why, id=f"{ex}-{name}") for ex, name, payload, why in NO_BALANCE],
)
def test_an_answer_without_a_balance_fails_and_keeps_the_last_good_value(
    setup: Setup, mocks: MockThread, exchange: str, payload: Any, why: str
) -> None:
    conn = setup.add("alice", mocks.start(exchange), ALICE_BALANCES)
    config = str(setup.write())
    good = alice(nija("show", "--json", "--config", config).json())
    assert (good["status"], good["balance"]) == ("ok", ALICE_VALUE)

    conn.inject("body", payload=payload)
    shown = nija("show", "--json", "--refresh", "--config", config)
    doc = shown.json()
    failed = alice(doc)
    message = f"{exchange} sent an answer that is not a balance: {why}"
    assert (failed["status"], failed["error"]) == ("stale", f"error: {message}"), failed
    assert failed["balance"] == ALICE_VALUE and failed["assets"] == good["assets"]
    assert failed["fetched_at"] == good["fetched_at"]

    # the next read within the TTL still has the good value and the failure
    again = alice(nija("show", "--json", "--config", config).json())
    assert (again["status"], again["balance"]) == ("stale", ALICE_VALUE), again


@pytest.mark.parametrize(
    ("exchange", "payload"),
    [
        pytest.param("kraken", {"error": [], "result": {}}, id="kraken"),
        pytest.param(
            "coinbase", {"accounts": [], "has_next": False, "cursor": "", "size": 0}, id="coinbase"
        ),
    ],
)
def test_a_well_formed_empty_balance_is_zero(
    setup: Setup, mocks: MockThread, exchange: str, payload: Any
) -> None:
    """A truly empty account: `ok $0`, counted."""
    conn = setup.add("alice", mocks.start(exchange), ALICE_BALANCES)
    config = str(setup.write())
    conn.inject("body", payload=payload)
    doc = nija("show", "--json", "--config", config).json()
    shown = alice(doc)
    assert (shown["status"], shown["balance"], shown["error"]) == ("ok", 0.0, None), shown
    assert shown["assets"] == [] and doc["summary"]["complete"] is True


# ---------------------------------------------------------------------------- redirects


@pytest.mark.parametrize("status", [302, 307])
@pytest.mark.parametrize("exchange", ["kraken", "coinbase"])
def test_a_redirect_of_a_private_request_is_never_followed(
    setup: Setup, mocks: MockThread, recorder: Recorder, exchange: str, status: int
) -> None:
    """The balance request answered with a redirect to another port: nothing is sent there."""
    mock = mocks.start(exchange)
    conn = setup.add("alice", mock, ALICE_BALANCES)
    config = str(setup.write())
    nija("show", "--json", "--config", config)  # markets cached: only the balance is redirected
    conn.inject("redirect", status=status, location=f"{recorder.url}/steal?token=t0k3n")

    shown = alice(nija("show", "--json", "--refresh", "--config", config).json())
    assert recorder.requests == []  # no API-Key, no API-Sign, no JWT, no signed body
    request = REQUEST[exchange].format(url=mock.url)
    message = f"exchange unreachable: {request} {status} redirect to {recorder.url}, not followed"
    assert (shown["status"], shown["error"]) == ("stale", f"unreachable: {message}"), shown
    assert shown["balance"] == ALICE_VALUE
    assert "t0k3n" not in str(shown) and "/steal" not in str(shown)


def test_a_redirect_is_not_followed_on_a_connection_with_its_own_tls_settings(
    setup: Setup, mocks: MockThread, recorder: Recorder
) -> None:
    """`verify = false` in the `ccxt` table gives the instance its own session: guarded too."""
    mock = mocks.start("kraken")
    conn = setup.add("alice", mock, ALICE_BALANCES)
    conn.ccxt["verify"] = False
    config = str(setup.write())
    conn.inject("redirect", status=307, location=f"{recorder.url}/steal")
    shown = alice(nija("show", "--json", "--config", config).json())
    assert recorder.requests == []
    assert shown["status"] == "unreachable", shown
    assert shown["error"].endswith(f" 307 redirect to {recorder.url}, not followed")


@pytest.mark.parametrize("exchange", ["kraken", "coinbase"])
def test_a_redirect_of_a_public_request_is_never_followed(
    setup: Setup, mocks: MockThread, recorder: Recorder, exchange: str
) -> None:
    mock = mocks.start(exchange)
    setup.add("alice", mock, ALICE_BALANCES)
    config = str(setup.write())
    mocks.call(
        lambda: mock.inject("redirect", path=MARKETS_PATH[exchange], location=f"{recorder.url}/m")
    )
    shown = alice(nija("show", "--json", "--config", config).json())
    assert recorder.requests == []
    assert shown["status"] == "unreachable", shown
    assert shown["error"].startswith(
        f"loading markets failed: exchange unreachable: {exchange} GET "
    )
    assert shown["error"].endswith(f" 302 redirect to {recorder.url}, not followed")


# ---------------------------------------------------------------------------- huge answers

#: A good balance answer of each exchange (5 USD), which the `huge` fault pads.
GOOD_ANSWER = {
    "kraken": {"error": [], "result": {"ZUSD": {"balance": "5", "hold_trade": "0"}}},
    "coinbase": {
        "accounts": [
            {
                **_COINBASE_ACCOUNT,
                "currency": "USD",
                "available_balance": {"value": "5", "currency": "USD"},
                "hold": {"value": "0", "currency": "USD"},
                "type": "ACCOUNT_TYPE_FIAT",
            }
        ],
        "has_next": False,
        "cursor": "",
    },
}


@pytest.mark.parametrize("declare_length", [False, True], ids=["chunked", "content-length"])
@pytest.mark.parametrize("exchange", ["kraken", "coinbase"])
def test_an_answer_larger_than_the_cap_is_not_read(
    setup: Setup,
    mocks: MockThread,
    monkeypatch: pytest.MonkeyPatch,
    exchange: str,
    declare_length: bool,
) -> None:
    from nija_balances.adapters.ccxt import transport

    monkeypatch.setattr(transport, "MAX_BODY", 256 * 1024, raising=False)  # real: 32 MiB
    mock = mocks.start(exchange)
    conn = setup.add("alice", mock, ALICE_BALANCES)
    config = str(setup.write())
    size = 64 * 2**20
    fault = mocks.call(
        lambda: mock.inject(
            "huge",
            key=conn.api_key,
            path=conn.private_path,
            size=size,
            payload=GOOD_ANSWER[exchange],
            declare_length=declare_length,
        )
    )
    shown = alice(nija("show", "--json", "--config", config).json())
    request = REQUEST[exchange].format(url=mock.url)
    message = f"answer larger than 256 KiB, not read: {request}"
    assert (shown["status"], shown["error"]) == ("error", message), shown
    assert fault.hits == 1
    assert fault.sent < size // 4  # reading stopped at the cap (plus what socket buffers hold)


# ---------------------------------------------------------------------------- echoed secrets


def escaped_forms(secret: str) -> set[str]:
    """`secret` as an error body may echo it: JSON-escaped (`\\/`, `\\n`), URL-encoded."""
    json_form = json.dumps(secret)[1:-1]
    forms = {secret, json_form, json_form.replace("/", "\\/")}
    for encoded in (quote(secret, safe=""), quote_plus(secret), quote(secret)):
        forms |= {encoded, encoded.lower()}
    return {f for f in forms if len(f) >= 8}


def stored_text(home: Path) -> str:
    """Every file of the store, as Latin-1 text (bytes that are no UTF-8 included)."""
    return "".join(p.read_bytes().decode("latin-1") for p in home.rglob("*") if p.is_file())


def test_an_error_body_echoing_the_secret_in_any_form_is_redacted(
    setup: Setup, mocks: MockThread, isolated_home: Path
) -> None:
    kraken, coinbase = mocks.start("kraken"), mocks.start("coinbase")
    k = setup.add("alice", kraken, ALICE_BALANCES)
    c = setup.add("bob", coinbase, ALICE_BALANCES)
    config = str(setup.write())
    k_secret = k.creds.api_secret or ""
    assert {"/", "+"} & set(k_secret) or "=" in k_secret  # base64: something to encode
    echo = (
        f"EGeneral:Invalid arguments: secret={quote(k_secret, safe='')} or {quote_plus(k_secret)}"
    )
    k.inject("body", text=json.dumps({"error": [echo]}))
    c_key = c.api_key  # organizations/<uuid>/apiKeys/<uuid>: slashes
    echoed = c_key.replace("/", "\\/")
    c_body = json.dumps({"error": "unauthorized", "message": "key ECHO rejected"})
    c_body = c_body.replace("ECHO", echoed)
    c.inject("body", status=401, text=c_body)

    doc = nija("show", "--json", "--config", config).json()
    conns = {x["account"]: x for x in doc["connections"]}
    assert conns["alice"]["status"] == "error" and conns["bob"]["status"] == "auth_failed"
    assert (
        conns["alice"]["error"]
        == 'kraken {"error": ["EGeneral:Invalid arguments: secret=*** or ***"]}'
    )
    assert "key *** rejected" in conns["bob"]["error"], conns["bob"]
    output, store = json.dumps(doc), stored_text(isolated_home)
    for secret in (k.api_key, k_secret, c_key):
        for form in escaped_forms(secret):
            assert form not in output and form not in store, form


def test_a_password_in_a_url_is_never_shown(setup: Setup, mocks: MockThread) -> None:
    mock = mocks.start("kraken")
    conn = setup.add("alice", mock, ALICE_BALANCES)
    host = mock.url.removeprefix("http://")
    for name, url in conn.ccxt["urls"]["api"].items():
        conn.ccxt["urls"]["api"][name] = url.replace(host, f"nija:hunter2pw@{host}")
    config = str(setup.write())
    conn.inject("http503")
    shown = alice(nija("show", "--json", "--config", config).json())
    assert shown["status"] == "unreachable", shown
    assert "hunter2pw" not in shown["error"] and "nija:" not in shown["error"]
    request = REQUEST["kraken"].format(url=mock.url)
    assert (
        shown["error"]
        == f"exchange unreachable: {request} 503 Service Unavailable Service Unavailable"
    )


# ---------------------------------------------------------------------------- logging


def sent_secrets(conn: Any) -> set[str]:
    """What the mock saw of `conn`'s secrets on the wire: key, secret, signatures, bearer
    tokens (and the JWT's signature), nonces."""
    mock = conn.mock
    found = {conn.api_key, conn.creds.api_secret or ""}
    found |= {line for line in (conn.creds.api_secret or "").splitlines() if len(line) >= 12}
    for _, headers, body in mock.received:
        if headers.get("API-Key") != conn.api_key and conn.api_key not in str(headers):
            continue
        if "API-Sign" in headers:
            found.add(headers["API-Sign"])
        token = headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if token:
            found |= {token, token.rsplit(".", 1)[-1]}
        found |= set(re.findall(r"nonce=(\d+)", body.decode()))
    return {f for f in found if f}


def test_nothing_secret_reaches_a_log_record_at_debug(
    setup: Setup, mocks: MockThread, caplog: pytest.LogCaptureFixture
) -> None:
    from nija_balances.api import MultiAccountBrokerManager

    kraken, coinbase = mocks.start("kraken"), mocks.start("coinbase")
    for mock in (kraken, coinbase):
        mocks.call(lambda mock=mock: setattr(mock, "record_requests", True))
    k = setup.add("alice", kraken, ALICE_BALANCES)
    c = setup.add("bob", coinbase, ALICE_BALANCES)
    config = setup.write()
    caplog.set_level(logging.DEBUG)  # the root logger: every record of every library
    balances = MultiAccountBrokerManager(str(config)).get_all_balances_with_status()
    assert balances["users"]["alice"]["connections"]["kraken"]["status"] == "ok"
    assert balances["users"]["bob"]["connections"]["coinbase"]["status"] == "ok"

    secrets = sent_secrets(k) | sent_secrets(c)
    assert any(re.fullmatch(r"\d{13,}", s) for s in secrets)  # a nonce was seen on the wire
    records = caplog.records  # the mocks run in this process too: their records are here
    assert any(r.name.startswith("ccxt") for r in records)  # ccxt did log its requests
    for record in records:
        text = f"{record.getMessage()} {record.exc_text or ''} {record.stack_info or ''}"
        leaked = [s[:12] for s in secrets if s in text]
        assert not leaked, (record.name, leaked, text[:300])


def test_ccxt_verbose_in_the_config_is_refused(setup: Setup, mocks: MockThread) -> None:
    conn = setup.add("alice", mocks.start("kraken"), ALICE_BALANCES)
    conn.ccxt["verbose"] = True
    config = str(setup.write())
    shown = nija("show", "--json", "--config", config)
    assert shown.code == 2 and shown.stdout == ""
    assert "users.alice.kraken.ccxt.verbose: ccxt's verbose mode prints every request" in (
        shown.stderr
    )
    assert conn.api_key not in shown.stdout + shown.stderr


# ---------------------------------------------------------------------------- account types


def coinbase_account(currency: str, available: str, kind: str) -> dict[str, Any]:
    return {
        **_COINBASE_ACCOUNT,
        "name": f"{currency} {kind}",
        "currency": currency,
        "available_balance": {"value": available, "currency": currency},
        "hold": {"value": "0", "currency": currency},
        "type": kind,
    }


def test_coinbase_money_in_accounts_ccxt_does_not_count_is_never_lost_silently(
    setup: Setup, mocks: MockThread
) -> None:
    conn = setup.add("alice", mocks.start("coinbase"), ALICE_BALANCES)
    config = str(setup.write())
    accounts = [
        coinbase_account("USD", "50", "ACCOUNT_TYPE_FIAT"),
        coinbase_account("BTC", "0.25", "ACCOUNT_TYPE_CRYPTO"),
        coinbase_account("BTC", "0.5", "ACCOUNT_TYPE_VAULT"),  # counted: $30,000
        coinbase_account("ETH", "2.0", "ACCOUNT_TYPE_SOMETHING_NEW"),  # named, not counted
        coinbase_account("SOL", "0", "ACCOUNT_TYPE_SOMETHING_NEW"),  # nothing in it: not named
    ]
    conn.inject("body", payload={"accounts": accounts, "has_next": False, "cursor": ""})
    shown = alice(nija("show", "--json", "--config", config).json())
    assert shown["status"] == "ok", shown
    btc = next(a for a in shown["assets"] if a["currency"] == "BTC")
    assert btc["total"] == 0.75 and shown["balance"] == 45050.0  # 50 + 0.75 × 60,000
    assert shown["error"] == "not counted: 2 ETH in an account of type ACCOUNT_TYPE_SOMETHING_NEW"
    table = nija("show", "--refresh", "--config", config)
    assert "not counted: 2 ETH" in " ".join(table.stdout.split()), table


# ---------------------------------------------------------------------------- start-up time

SLOW_IMPORT = """
import sys
import time


class SlowCcxt:
    \"\"\"Importing ccxt.async_support takes {seconds} s longer (a busy machine).\"\"\"

    def find_spec(self, name, path=None, target=None):
        if name == "ccxt.async_support":
            sys.meta_path.remove(self)
            time.sleep({seconds})
        return None


sys.meta_path.insert(0, SlowCcxt())
"""


@pytest.mark.slow
def test_the_timeout_does_not_count_importing_ccxt(
    setup: Setup, mocks: MockThread, tmp_path: Path
) -> None:
    """ccxt's import takes 2.5 s here, the timeout is 1 s, the exchange answers at once: `ok`.

    (The import is made slow by a `sitecustomize` on PYTHONPATH, in a real process.)
    """
    setup.settings["timeout"] = 1
    kraken, coinbase = mocks.start("kraken"), mocks.start("coinbase")
    setup.add("alice", kraken, ALICE_BALANCES)
    setup.add("bob", coinbase, ALICE_BALANCES)
    config = str(setup.write())
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(SLOW_IMPORT.format(seconds=2.5))
    env = {**os.environ, "PYTHONPATH": str(shim)}
    run = nija_process("show", "--json", "--config", config, env=env, timeout=60)
    assert run.code == 0, run
    conns = {c["account"]: c for c in run.json()["connections"]}
    assert (conns["alice"]["status"], conns["alice"]["balance"]) == ("ok", ALICE_VALUE), run
    assert (conns["bob"]["status"], conns["bob"]["balance"]) == ("ok", ALICE_VALUE), run
