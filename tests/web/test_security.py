"""The dashboard's security rules (DESIGN §12), in-process: token, login link and cookie,
constant-time comparison, GET only, strict CSP, no CORS, loopback Host, escaping of hostile
ids and names, and no secret in any response."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any

import pytest

from conftest import write
from nija_balances.web import security
from nija_balances.web.security import Gate, TokenFileError, load_or_create_token
from web.conftest import client, ready

TOKEN = "t0ken-" + "x" * 30
ROUTES = ["/", "/users", "/users/alice", "/api/users", "/api/portfolio", "/api/status",
          "/api/history", "/api/pnl", "/api/alerts", "/metrics"]  # fmt: skip
PUBLIC = ["/healthz", "/static/dashboard.js", "/static/dashboard.css"]


@pytest.fixture
async def locked(paper: Path) -> Any:
    dashboard, app, gate = await ready(paper, token=TOKEN)
    yield app, gate
    dashboard.session.close()


async def test_with_a_token_every_route_but_health_and_static_needs_it(locked: Any) -> None:
    app, _ = locked
    async with client(app) as http:
        for path in ROUTES:
            response = await http.get(path)
            assert response.status_code == 401, path
            if path.startswith(("/api/", "/metrics")):
                assert response.headers["www-authenticate"] == 'Bearer realm="nija"'
                assert response.json()["error"] == "unauthorized"
            else:
                assert "login link" in response.text
            assert "$" not in response.text  # nothing of the data
        for path in PUBLIC:
            assert (await http.get(path)).status_code == 200, path
        for header in (f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", f"Basic {TOKEN}", TOKEN, ""):
            assert (
                await http.get("/api/users", headers={"Authorization": header})
            ).status_code == 401
    async with client(app, Authorization=f"Bearer {TOKEN}") as http:
        for path in ROUTES:
            assert (await http.get(path)).status_code == 200, path


async def test_a_login_link_works_once_and_sets_a_strict_http_only_cookie(locked: Any) -> None:
    app, gate = locked
    code = gate.new_code()
    async with client(app) as http:
        login = await http.get("/login", params={"code": code})
        assert login.status_code == 200 and 'url=/users"' in login.text
        cookie = login.headers["set-cookie"]
        assert cookie.startswith(f"{security.COOKIE}=")
        parts = {p.strip().split("=")[0].lower() for p in cookie.split(";")}
        assert {"httponly", "samesite", "path", "max-age"} <= parts
        assert "samesite=strict" in cookie.lower() and "path=/" in cookie.lower()
        assert (await http.get("/users")).status_code == 200  # the cookie jar now has it
        assert (await http.get("/api/users")).status_code == 200
        again = await http.get("/login", params={"code": code})  # spent
        assert again.status_code == 401 and "set-cookie" not in again.headers
        http.cookies.clear()
        assert (await http.get("/users")).status_code == 401
        http.cookies.set(security.COOKIE, "forged")
        assert (await http.get("/users")).status_code == 401
        for wrong in ("", "nope", code + "x"):
            assert (await http.get("/login", params={"code": wrong})).status_code == 401


async def test_the_api_mints_login_links_for_the_token_holder(locked: Any) -> None:
    app, _ = locked
    async with client(app, Authorization=f"Bearer {TOKEN}") as http:
        link = (await http.get("/api/login-link")).json()["url"]
    assert link.startswith("http://127.0.0.1/login?code=")
    async with client(app) as http:
        assert (await http.get("/api/login-link")).status_code == 401
        assert (await http.get(link)).status_code == 200
        assert (await http.get("/users")).status_code == 200


def test_codes_expire_and_sessions_too() -> None:
    now = [1000.0]
    gate = Gate(TOKEN, clock=lambda: now[0])
    old = gate.new_code()
    now[0] += security.CODE_TTL + 1
    assert gate.redeem(old) is None
    session = gate.redeem(gate.new_code())
    assert session is not None and gate.session_ok(session)
    now[0] += security.SESSION_TTL + 1
    assert not gate.session_ok(session)


def test_secrets_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every comparison of the token goes through hmac.compare_digest."""
    calls: list[tuple[bytes, bytes]] = []
    real = security.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(security.hmac, "compare_digest", spy)
    gate = Gate(TOKEN)
    assert gate.bearer_ok(f"Bearer {TOKEN}") and not gate.bearer_ok("Bearer nope")
    assert calls == [(TOKEN.encode(), TOKEN.encode()), (b"nope", TOKEN.encode())]


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"])
async def test_only_get_and_head_are_served(paper_app: Any, method: str) -> None:
    _, app = paper_app
    async with client(app) as http:
        for path in [*ROUTES, "/healthz", "/login", "/static/dashboard.js"]:
            response = await http.request(method, path, headers={"Origin": "http://evil.test"})
            assert response.status_code == 405, (method, path)
            assert response.headers["allow"] == "GET, HEAD"
            assert not any(h.lower().startswith("access-control-") for h in response.headers)
        assert (await http.head("/users")).status_code == 200


async def test_every_answer_has_a_strict_csp_and_no_cors(paper_app: Any) -> None:
    _, app = paper_app
    async with client(app, Origin="http://evil.test") as http:
        for path in [*ROUTES, *PUBLIC, "/users/nobody", "/nowhere", "/login"]:
            response = await http.get(path)
            csp = response.headers["content-security-policy"]
            assert "script-src 'self'" in csp and "default-src 'none'" in csp, path
            assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["x-frame-options"] == "DENY"
            assert response.headers["referrer-policy"] == "no-referrer"
            assert not any(h.lower().startswith("access-control-") for h in response.headers)
            if not path.startswith("/static/"):
                assert response.headers["cache-control"] == "no-store", path
            if response.headers.get("content-type", "").startswith("text/html"):
                assert "<script>" not in response.text  # no inline script anywhere
                assert not re.search(r"<[^>]*\son\w+\s*=", response.text)  # no inline handler


async def test_on_loopback_the_host_must_be_loopback_too(paper_app: Any) -> None:
    """DNS rebinding: a page at evil.test that resolves to 127.0.0.1 is refused."""
    _, app = paper_app
    async with client(app) as http:
        for host in ("evil.test", "evil.test:5000", "10.0.0.1", "127.0.0.1.evil.test"):
            response = await http.get("/api/users", headers={"Host": host})
            assert response.status_code == 421, host
        for host in ("127.0.0.1:5000", "localhost:8080", "[::1]:5000", "localhost"):
            assert (await http.get("/api/users", headers={"Host": host})).status_code == 200


HOSTILE = """\
[platform.desk]
exchange = "paper"
balances = { USD = 1 }

[users."<script>alert(1)"]
name = "\\"><img src=x onerror=alert(2)> \\u202eevil"

[users."<script>alert(1)".p]
exchange = "paper"
balances = { USD = 7 }

[users."o'hara \\"q\\" &amp;"]
name = "Zoë \\u2067x\\u200b"

[users."o'hara \\"q\\" &amp;"."<td><b onmouseover=alert(3)>"]
exchange = "paper"
balances = { USD = 3 }
"""


async def test_hostile_ids_and_names_are_escaped_everywhere(tmp_path: Path) -> None:
    cfg = write(tmp_path / "c.toml", HOSTILE)
    dashboard, app, _ = await ready(cfg)
    try:
        async with client(app) as http:
            pages = {p: (await http.get(p)).text for p in ("/", "/users")}
            for user in ("<script>alert(1)", 'o\'hara "q" &amp;'):
                response = await http.get(f"/users/{user}")
                assert response.status_code == 200, user
                pages[user] = response.text
            api = (await http.get("/api/users")).json()
    finally:
        dashboard.session.close()
    for name, html in pages.items():
        assert (
            "<script>alert" not in html
            and "<img" not in html
            and "<td><b onmouseover=alert(3)>" not in html
        ), name
        assert "\u202e" not in html and "\u2067" not in html and "\u200b" not in html, name
    users = pages["/users"]
    assert "&lt;script&gt;alert(1)" in users
    assert "&#34;&gt;&lt;img src=x onerror=alert(2)&gt; \\u202eevil" in users
    assert "o&#39;hara &#34;q&#34; &amp;amp;" in users
    assert 'href="/users/%3Cscript%3Ealert%281%29"' in users
    assert "&lt;TD&gt;&lt;B ONMOUSEOVER=ALERT(3)&gt;" in pages["/"]
    # the JSON keeps them as they are (JSON is not HTML; it is served as application/json)
    assert {c["user_id"] for c in api["users"]} == {"<script>alert(1)", 'o\'hara "q" &amp;'}


async def test_no_secret_reaches_any_response(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Credentials from the environment, inline ones, secret-looking ccxt options and the
    token itself never appear in any route's answer, wherever the connection stands."""
    secrets = {
        "KRAKEN_USER_ALICE_API_KEY": "ak-SECRETKEY-0001",
        "KRAKEN_USER_ALICE_API_SECRET": "c2VjcmV0LXNlY3JldC1zZWNyZXQ=",
        "COINBASE_USER_BOB_API_KEY": "bk-SECRETKEY-0002",
        "COINBASE_USER_BOB_API_SECRET": "-----BEGIN EC PRIVATE KEY-----garbage",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    refused = "http://127.0.0.1:9"  # nothing listens: connection refused
    cfg = write(
        tmp_path / "c.toml",
        f"""\
[users.alice.kraken]
ccxt = {{ urls = {{ api = {{ public = "{refused}", private = "{refused}" }} }} }}

[users.bob.coinbase]
ccxt = {{ urls = {{ api = {{ rest = "{refused}" }} }}, options = {{ secretOption = "opt-SECRET-0003" }} }}

[users.carol.okx]
api_key = "ck-INLINE-0004"
api_secret = "inline-secret-0005"
api_passphrase = "inline-pass-0006"
ccxt = {{ urls = {{ api = {{ rest = "{refused}" }} }} }}

[users.dave.paper]
exchange = "paper"
balances = {{ USD = 1 }}
""",
    )
    os.chmod(cfg, 0o600)
    dashboard, app, gate = await ready(cfg, token=TOKEN)
    code = gate.new_code()
    try:
        bodies: list[str] = []
        async with client(app, Authorization=f"Bearer {TOKEN}") as http:
            for path in [*ROUTES, *(f"/users/{u}" for u in ("bob", "carol", "dave", "zed")),
                         "/api/login-link", "/healthz", f"/login?code={code}", "/login?code=x"]:  # fmt: skip
                response = await http.get(path)
                bodies.append(response.text + str(response.headers))
        async with client(app) as http:
            for path in ROUTES:
                response = await http.get(path)
                bodies.append(response.text + str(response.headers))
    finally:
        dashboard.session.close()
    statuses = {c.connection: c.status.value for c in dashboard.view.portfolio.connections}  # type: ignore[union-attr]
    assert statuses["kraken"] == "unreachable" and statuses["paper"] == "ok", statuses
    everything = "\n".join(bodies)
    for value in [*secrets.values(), "opt-SECRET-0003", "ck-INLINE-0004", "inline-secret-0005",
                  "inline-pass-0006", TOKEN, code]:  # fmt: skip
        assert value not in everything, value
    assert "SECRETKEY" not in everything and "BEGIN EC" not in everything


def test_the_token_file_is_created_600_and_must_stay_private(tmp_path: Path) -> None:
    path = tmp_path / "token"
    token, created = load_or_create_token(path)
    assert created and len(token) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_token(path) == (token, False)
    path.chmod(0o644)
    with pytest.raises(TokenFileError, match=r"readable by others \(mode 644\); run `chmod 600"):
        load_or_create_token(path)
    path.chmod(0o600)
    path.write_text("short\n")
    with pytest.raises(TokenFileError, match="at least 16 printable characters"):
        load_or_create_token(path)
    with pytest.raises(TokenFileError, match="cannot create"):
        load_or_create_token(tmp_path / "missing-dir" / "token")


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("localhost", True), ("::1", True), ("[::1]", True),
     ("127.3.4.5", True), ("0.0.0.0", False), ("::", False), ("192.168.1.9", False),
     ("example.com", False)],
)  # fmt: skip
def test_which_hosts_are_loopback(host: str, loopback: bool) -> None:
    assert security.is_loopback(host) is loopback
