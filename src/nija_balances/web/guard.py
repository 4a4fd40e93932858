"""The rules every request passes before a route sees it, as one ASGI middleware.

- GET and HEAD only: anything else is 405 (there is nothing to change, and no CORS: no
  preflight is ever answered and no `Access-Control-*` header is ever sent).
- Bound to loopback, the `Host` must name loopback too: a page elsewhere cannot rebind its
  own name to 127.0.0.1 and read the dashboard (DNS rebinding).
- With a token: `Authorization: Bearer <token>` or the session cookie of a redeemed login
  link, except on `/healthz`, `/login` and `/static/`. The API answers 401 in JSON, a page
  says how to log in.
- Every answer carries a strict Content-Security-Policy (scripts and styles from this
  origin only, no inline script), `nosniff`, no referrer, no framing, no caching.
"""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie

from starlette.datastructures import Headers
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nija_balances.web.security import COOKIE, Gate, is_loopback

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
PUBLIC = ("/healthz", "/login", "/static/")
MACHINE = ("/api/", "/metrics")  # answered in JSON or text, never a page
LOGIN_HELP = (
    "Open the login link that `nija serve` printed when it started (it works once), or ask "
    "for a new one with the token: curl -H 'Authorization: Bearer <token>' {origin}/api/login-link"
)


def session_cookie(headers: Headers) -> str | None:
    raw = headers.get("cookie")
    if not raw:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except CookieError:
        return None
    morsel = jar.get(COOKIE)
    return None if morsel is None else morsel.value


class Guard:
    """The middleware (see the module's docstring)."""

    def __init__(self, app: ASGIApp, *, gate: Gate, loopback_only: bool) -> None:
        self.app = app
        self.gate = gate
        self.loopback_only = loopback_only

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            await self.app(scope, receive, send)  # lifespan
            return

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                headers = list(message.get("headers", []))
                headers += [h for h in SECURITY_HEADERS if h[0] not in names]
                if b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        refusal = self.refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, secured)
            return
        await self.app(scope, receive, secured)

    def refusal(self, scope: Scope) -> Response | None:
        """The answer to a request that may not go on, or None."""
        path: str = scope["path"]
        machine = path.startswith(MACHINE)
        if scope["method"] not in ("GET", "HEAD"):
            return _error(405, "only GET and HEAD are served", machine, {"Allow": "GET, HEAD"})
        headers = Headers(scope=scope)
        if self.loopback_only and not is_loopback(_hostname(headers.get("host", ""))):
            return _error(421, "this dashboard answers to a loopback address only", machine)
        if not self.gate.required or path.startswith(PUBLIC):
            return None
        if self.gate.bearer_ok(headers.get("authorization")):
            return None
        if self.gate.session_ok(session_cookie(headers)):
            return None
        origin = f"{scope.get('scheme', 'http')}://{headers.get('host', 'HOST')}"
        if machine:
            return JSONResponse(
                {"error": "unauthorized", "hint": LOGIN_HELP.format(origin="<dashboard>")},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="nija"'},
            )
        return login_page(LOGIN_HELP.format(origin=origin), 401)


def _hostname(host: str) -> str:
    """`127.0.0.1:5000` -> `127.0.0.1`, `[::1]:5000` -> `::1`."""
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0] if host.count(":") == 1 else host


def _error(
    status: int, message: str, machine: bool, headers: dict[str, str] | None = None
) -> Response:
    if machine:
        return JSONResponse({"error": message}, status_code=status, headers=headers)
    return PlainTextResponse(message + "\n", status_code=status, headers=headers)


def login_page(message: str, status: int, *, refresh_to: str | None = None) -> HTMLResponse:
    """A small page of its own (no template, nothing of the data): the login help, or the
    link onwards after a login."""
    from html import escape

    meta = f'<meta http-equiv="refresh" content="0;url={escape(refresh_to)}">' if refresh_to else ""
    onward = (
        f'<p><a href="{escape(refresh_to)}">Continue to the dashboard</a></p>' if refresh_to else ""
    )
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"{meta}<title>nija dashboard: log in</title>"
        '<link rel="stylesheet" href="/static/dashboard.css"></head>'
        f'<body><main id="main" class="login"><h1>nija dashboard</h1><p>{escape(message)}</p>'
        f"{onward}</main></body></html>"
    )
    return HTMLResponse(body, status_code=status)
