"""The Starlette application: `create_app(dashboard, gate=...)`.

Pages are rendered from the latest View once per refresh and kept (with an ETag, so the
page script's poll costs a 304 until the next refresh); the API answers with the View's
documents, already encoded. The background refresh runs in the app's lifespan, on the
server's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from nija_balances.domain.text import safe_text
from nija_balances.web import charts, pages
from nija_balances.web.guard import LOGIN_HELP, Guard, login_page
from nija_balances.web.security import COOKIE, SESSION_TTL, Gate
from nija_balances.web.state import Dashboard
from nija_balances.web.view import DOCUMENTS, View

HTML = "text/html; charset=utf-8"
MAX_BUCKETS = 10_000  # per account, for /api/history with other spans
JSON = "application/json"


class _Pages:
    """Rendered pages of the current View, by path; dropped when the View changes."""

    def __init__(self) -> None:
        self.generation = -1
        self.bodies: dict[str, bytes] = {}

    def get(self, view: View, path: str, make: Callable[[], bytes]) -> bytes:
        if view.generation != self.generation:
            self.generation, self.bodies = view.generation, {}
        body = self.bodies.get(path)
        if body is None:
            body = self.bodies[path] = make()
        return body


def create_app(
    dashboard: Dashboard,
    *,
    gate: Gate | None = None,
    loopback_only: bool = True,
    poll: float | None = None,
    refresh_in_background: bool = True,
) -> Starlette:
    """The dashboard's ASGI app. `poll`: seconds between the page script's checks for a new
    View (default: a quarter of the refresh interval, 2 to 15 s)."""
    gate = gate or Gate(None)
    every = poll if poll is not None else max(2.0, min(15.0, dashboard.interval / 4))
    cache = _Pages()
    version = _version()

    def context(view: View | None, title: str, current: str, etag: str) -> dict[str, Any]:
        return {
            "view": view,
            "title": title,
            "current": current,
            "etag": etag,
            "poll": f"{every:g}",
            "interval": f"{dashboard.interval:g}",
            "version": version,
            "note": dashboard.config_note,
            "quote": view.portfolio.quote if view else "USD",
            "sparkline": lambda uid: charts.sparkline_svg(
                view.series.get(uid, ()) if view else (), f"Equity of {safe_text(uid)}, 7 days"
            ),
            "chart": lambda uid: charts.equity_chart_svg(
                view.series.get(uid, ()) if view else (),
                view.portfolio.quote if view else "USD",
                f"Equity of {safe_text(uid)}, hourly, 7 days",
            ),
        }

    def page(request: Request, title: str, current: str, template: str, **extra: Any) -> Response:
        view = dashboard.view
        etag = '"loading"' if view is None else f'"v{view.generation}"'
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers={"ETag": etag})
        if view is None:
            body = pages.render("loading.html", **context(None, title, current, etag))
        else:
            body = cache.get(
                view,
                request.url.path,
                lambda: pages.render(template, **context(view, title, current, etag), **extra),
            )
        return Response(body, media_type=HTML, headers={"ETag": etag})

    async def report(request: Request) -> Response:
        return page(request, "Balances", "report", "report.html")

    async def users(request: Request) -> Response:
        return page(request, "Users", "users", "users.html")

    async def user(request: Request) -> Response:
        user_id = request.path_params["user_id"]
        view = dashboard.view
        if view is not None and view.card(user_id) is None:
            body = pages.render(
                "not_found.html", **context(view, "Not found", "", ""), user_id=user_id
            )
            return Response(body, status_code=404, media_type=HTML)
        return page(request, user_id, "users", "user.html", user_id=user_id)

    def api(name: str) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            view = dashboard.view
            if view is None:
                return JSONResponse(
                    {"error": "the first refresh has not finished yet"},
                    status_code=503,
                    headers={"Retry-After": "2"},
                )
            if name == "history" and request.query_params:
                return await history(request, view, dashboard)
            return Response(view.encoded[name], media_type=JSON)

        return endpoint

    async def login(request: Request) -> Response:
        session = gate.redeem(request.query_params.get("code"))
        if session is None:
            origin = f"{request.url.scheme}://{request.url.netloc}"
            text = "This login link was already used, has expired or is not one. "
            return login_page(text + LOGIN_HELP.format(origin=origin), 401)
        response = login_page("Logged in.", 200, refresh_to="/users")
        response.set_cookie(
            COOKIE,
            session,
            max_age=int(SESSION_TTL),
            path="/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    async def login_link(request: Request) -> Response:
        if not gate.required:
            return JSONResponse({"error": "no token is set: this dashboard needs no login"}, 404)
        origin = f"{request.url.scheme}://{request.url.netloc}"
        return JSONResponse({"url": f"{origin}/login?code={gate.new_code()}"})

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "ready": dashboard.view is not None})

    from nija_balances.web.metrics import registry_for

    registry = registry_for(dashboard)

    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    scraped: dict[tuple[int, int, int], bytes] = {}

    async def metrics(request: Request) -> Response:
        # every sample changes only when a refresh ends: one rendering per refresh
        stats = dashboard.stats
        key = (dashboard.view.generation if dashboard.view else 0, stats.refreshes, stats.failures)
        body = scraped.get(key)
        if body is None:
            scraped.clear()
            body = scraped[key] = generate_latest(registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(dashboard.run()) if refresh_in_background else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    routes = [
        Route("/", report),
        Route("/users", users),
        Route("/users/{user_id}", user),
        *(Route(f"/api/{name}", api(name)) for name in DOCUMENTS),
        Route("/api/login-link", login_link),
        Route("/login", login),
        Route("/metrics", metrics),
        Route("/healthz", healthz),
        Mount("/static", StaticFiles(directory=pages.HERE / "static"), name="static"),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(Guard, gate=gate, loopback_only=loopback_only)],
        lifespan=lifespan,
    )


async def history(request: Request, view: View, dashboard: Dashboard) -> Response:
    """`/api/history?since=7d&every=1h&user=ID`: the `nija history --json` document for
    other spans, read from the store in a worker thread."""
    from datetime import UTC, datetime

    from nija_balances.domain.series import default_every, parse_span
    from nija_balances.engine.history import load_history
    from nija_balances.engine.planning import SelectionError, select
    from nija_balances.render.history import history_document

    params = request.query_params
    try:
        since = parse_span(params.get("since", "7d"))
        every = parse_span(params["every"]) if "every" in params else default_every(since)
        config = select(view.config, user=params.get("user"))
    except (ValueError, SelectionError) as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    if since / every > MAX_BUCKETS:
        return JSONResponse({"error": f"too many buckets (at most {MAX_BUCKETS})"}, 400)
    now = datetime.fromtimestamp(dashboard.session.clock(), UTC)
    model = await asyncio.to_thread(
        load_history, config, dashboard.session.store, now=now, since=since, every=every
    )
    return JSONResponse(history_document(model))


def _version() -> str:
    """The installed version (the package root is not imported: it is the API's face)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("nija-balances")
    except PackageNotFoundError:
        return "dev"
