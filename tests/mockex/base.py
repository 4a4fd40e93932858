"""Shared machinery of the mock exchange servers: server lifecycle, accounts, faults, counters.

Each mock is an aiohttp server on 127.0.0.1 (random port) that speaks one exchange's REST
protocol well enough for ccxt's async client. Subclasses declare their routes, how a request
names its API key, how it is authenticated, and the exchange's own error bodies.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any, ClassVar
from urllib.parse import urlsplit

from aiohttp import web

from .history import MockFlow, MockTrade, page_limit

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
#: a pattern route's path parameters: `request[PATH_ARGS]["account_id"]`
PATH_ARGS = web.RequestKey("path_args", dict[str, str])

#: Every fault a mock can inject (see `MockExchange.inject`).
FAULT_KINDS = frozenset(
    {
        "latency",  # answer normally after `seconds`
        "auth",  # the exchange's "invalid key" answer
        "permission",  # the exchange's "key lacks permission" answer
        "http429",  # a bare HTTP 429 with a text body
        "ratelimit",  # the exchange's own rate-limit error body
        "http500",
        "http503",
        "hang",  # sleep `seconds` (bounded by `hang_cap`), longer than the client's timeout
        "malformed_json",  # HTTP 200, JSON content type, body cut in the middle of an object
        "html",  # an HTML error page, HTTP `status` (default 502)
        "truncated",  # declares a Content-Length, sends half the body, closes the connection
        "body",  # HTTP `status` (default 200) with `payload` as JSON, or `text` as it is
        "redirect",  # HTTP `status` (default 302) to `location`
        "huge",  # HTTP 200, `payload` padded to `size` bytes, streamed (see `Fault.sent`)
    }
)


@dataclass
class Position:
    """An Alpaca position: `symbol` as Alpaca writes it (`AAPL`, `BTCUSD`), `qty` and price."""

    symbol: str
    qty: str
    price: str
    asset_class: str = "us_equity"

    @property
    def market_value(self) -> Decimal:
        return Decimal(self.qty) * Decimal(self.price)


@dataclass
class Account:
    """One API key's account on a mock.

    `balances` maps a currency (unified code such as `BTC`, or the exchange's own id) to
    `(available, held)` as decimal strings. Alpaca uses `cash` and `positions` instead.
    `trades` (fills) and `flows` (deposits, withdrawals) are the account's history, in any
    order: each mock renders and pages them its exchange's way.
    """

    secret: str
    balances: dict[str, tuple[str, str]] = field(default_factory=dict)
    passphrase: str | None = None
    cash: str = "0"
    positions: list[Position] = field(default_factory=list)
    trades: list[MockTrade] = field(default_factory=list)
    flows: list[MockFlow] = field(default_factory=list)


@dataclass
class Fault:
    """A fault to inject: which requests it hits and how many times.

    `after=N` lets the first N matching requests through (page 1 of N-page paging passes,
    the next page fails); `passed` counts them, `hits` counts the requests it broke.
    """

    kind: str
    key: str | None = None  # only requests made with this API key (None: every request)
    path: str | None = None  # only paths starting with this prefix (None: every path)
    times: int | None = None  # how many requests it hits (None: until cleared)
    seconds: float = 2.0  # latency / hang duration
    status: int | None = None  # HTTP status of the `html` and `body` faults
    payload: Any = None  # the `body` fault's answer, sent as JSON
    text: str | None = None  # the `body` fault's answer as it is (instead of `payload`)
    location: str | None = None  # where the `redirect` fault sends the client
    size: int = 0  # the `huge` fault's body size in bytes
    declare_length: bool = False  # the `huge` fault says its size (Content-Length), else chunked
    sent: int = 0  # bytes of the `huge` body written before the client stopped reading
    after: int = 0  # matching requests let through before the first hit
    hits: int = 0
    passed: int = 0

    def matches(self, key: str | None, path: str) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.key is not None and self.key != key:
            return False
        return self.path is None or path.startswith(self.path)

    def strikes(self, key: str | None, path: str) -> bool:
        """Whether this request is hit (counting it); a request let through is counted too."""
        if not self.matches(key, path):
            return False
        if self.passed < self.after:
            self.passed += 1
            return False
        self.hits += 1
        return True


def json_response(payload: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, text=json.dumps(payload), content_type="application/json")


def add(available: str, held: str) -> str:
    """`available + held` as a decimal string; a non-numeric `available` is passed through."""
    try:
        return str(Decimal(available) + Decimal(held))
    except InvalidOperation:
        return available


def symbol_parts(symbol: str) -> tuple[str, str]:
    base, quote = symbol.split("/")
    return base, quote


@cache
def _ccxt_api_urls(exchange_id: str) -> dict[str, Any]:
    import ccxt.async_support as ccxt_async

    instance = getattr(ccxt_async, exchange_id)()
    urls: dict[str, Any] = instance.describe()["urls"]["api"]
    return urls


def _rewrite(value: Any, base_url: str) -> Any:
    if isinstance(value, Mapping):
        return {k: _rewrite(v, base_url) for k, v in value.items()}
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        return base_url + urlsplit(value).path
    return value


def ccxt_overrides(exchange_id: str, base_url: str, rate_limit_ms: int = 5) -> dict[str, Any]:
    """The connection's `ccxt` table pointing every ccxt API URL of `exchange_id` at `base_url`.

    Every entry of ccxt's `urls.api` is rewritten (keeping its path), not only the ones the
    mock serves, so an unexpected endpoint hits the mock (404, listed in `unexpected`) and
    never a real host. `rateLimit` (ms between requests of one ccxt instance) is lowered from
    the exchange's real spacing (often 1 s) so tests stay fast; throttling itself still runs.
    """
    return {
        "urls": {"api": _rewrite(_ccxt_api_urls(exchange_id), base_url)},
        "rateLimit": rate_limit_ms,
    }


class MockExchange:
    """Base of the mocks: `async with KrakenMock(accounts=...) as mock: mock.url`."""

    exchange_id: ClassVar[str]
    default_prices: ClassVar[dict[str, str]] = {
        "BTC/USD": "60000.00",
        "ETH/USD": "3000.00",
        "SOL/USDT": "150.00",
        "USDT/USD": "1.0001",
    }
    #: a test's page size for every history endpoint (None: each endpoint's real default/max)
    history_page_size: int | None = None

    def __init__(
        self,
        accounts: Mapping[str, Account] | None = None,
        prices: Mapping[str, str] | None = None,
        *,
        hang_cap: float = 5.0,
    ) -> None:
        self.accounts: dict[str, Account] = dict(accounts or {})
        #: unified symbol -> last price; also the list of markets the mock serves
        self.prices: dict[str, str] = dict(self.default_prices if prices is None else prices)
        self.hang_cap = hang_cap
        self.faults: list[Fault] = []
        #: requests per path, e.g. `mock.requests["/0/private/BalanceEx"]`
        self.requests: Counter[str] = Counter()
        #: requests per API key (public requests are not counted here)
        self.requests_by_key: Counter[str] = Counter()
        #: private requests rejected by the signature / key check
        self.auth_rejections = 0
        self.in_flight = 0
        self.max_in_flight = 0
        #: "METHOD /path" of requests no route serves
        self.unexpected: list[str] = []
        #: every request's headers and body, once a test sets `record_requests`
        self.record_requests = False
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        self.url = ""
        self._runner: web.AppRunner | None = None
        self.routes: dict[tuple[str, str], Handler] = {}
        #: routes with path parameters: (method, compiled pattern, handler)
        self.pattern_routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.setup_routes()

    # ------------------------------------------------------------------ to override

    def setup_routes(self) -> None:
        raise NotImplementedError

    def request_key(self, request: web.Request) -> str | None:
        """The API key a request claims (without checking it), None for public requests."""
        raise NotImplementedError

    def auth_error(self) -> web.StreamResponse:
        raise NotImplementedError

    def permission_error(self) -> web.StreamResponse:
        raise NotImplementedError

    def rate_limit_error(self) -> web.StreamResponse:
        raise NotImplementedError

    # ------------------------------------------------------------------ public API

    def add_account(self, key: str, account: Account) -> None:
        self.accounts[key] = account

    def inject(
        self,
        kind: str,
        *,
        key: str | None = None,
        path: str | None = None,
        times: int | None = None,
        seconds: float = 2.0,
        status: int | None = None,
        after: int = 0,
        payload: Any = None,
        text: str | None = None,
        location: str | None = None,
        size: int = 0,
        declare_length: bool = False,
    ) -> Fault:
        """Inject a fault (see `FAULT_KINDS`) for matching requests; returns it (see `hits`).

        `after=N`: the first N matching requests pass (a fault on page N + 1). `body`: any
        answer, `payload` as JSON or `text` as it is, with HTTP `status` (default 200).
        `redirect`: HTTP `status` (default 302) with `Location: <location>`. `huge`: the
        object `payload` with a `pad` member making it `size` bytes, streamed in 64 kB chunks,
        with a Content-Length if `declare_length`, else chunked; `Fault.sent` counts the bytes
        written before the client went away.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; known: {sorted(FAULT_KINDS)}")
        fault = Fault(
            kind,
            key=key,
            path=path,
            times=times,
            seconds=seconds,
            status=status,
            after=after,
            payload=payload,
            text=text,
            location=location,
            size=size,
            declare_length=declare_length,
        )
        self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        self.faults.clear()

    def count(self, prefix: str = "/") -> int:
        """Requests made to paths starting with `prefix`."""
        return sum(n for path, n in self.requests.items() if path.startswith(prefix))

    def ccxt_overrides(self) -> dict[str, Any]:
        """The connection's `ccxt` table that points ccxt at this mock."""
        return ccxt_overrides(self.exchange_id, self.url)

    async def __aenter__(self) -> MockExchange:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        runner = web.AppRunner(
            app, handler_cancellation=True, shutdown_timeout=0.5, access_log=None
        )
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.base_events.Server)
        port = server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self._runner = runner
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ------------------------------------------------------------------ helpers for subclasses

    def route(self, method: str, path: str, handler: Handler) -> None:
        self.routes[(method, path)] = handler

    def route_pattern(self, method: str, pattern: str, handler: Handler) -> None:
        """A route with `{name}` path parameters, read back as `request[PATH_ARGS]`."""
        regex = re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(pattern))
        self.pattern_routes.append((method, re.compile(regex + "$"), handler))

    def history_limit(self, requested: str | None, default: int, maximum: int | None = None) -> int:
        """One history page's size: the caller's `limit` or `default`, capped at `maximum`.

        `history_page_size` (set by a test) replaces both, so few records make several pages.
        """
        if self.history_page_size is not None:
            default = maximum = self.history_page_size
        return page_limit(requested, default, maximum)

    def reject(self) -> web.StreamResponse:
        self.auth_rejections += 1
        return self.auth_error()

    # ------------------------------------------------------------------ dispatch

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.requests[path] += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.record_requests:
                self.received.append((path, dict(request.headers), await request.read()))
            key = self.request_key(request)
            if key is not None:
                self.requests_by_key[key] += 1
            fault = next((f for f in self.faults if f.strikes(key, path)), None)
            if fault is not None:
                response = await self._apply(fault, request)
                if response is not None:
                    return response
            handler = self.routes.get((request.method, path)) or self._pattern_handler(request)
            if handler is None:
                self.unexpected.append(f"{request.method} {path}")
                return json_response({"error": f"mock: no route {request.method} {path}"}, 404)
            return await handler(request)
        finally:
            self.in_flight -= 1

    def _pattern_handler(self, request: web.Request) -> Handler | None:
        for method, regex, handler in self.pattern_routes:
            found = regex.match(request.path)
            if method == request.method and found is not None:
                request[PATH_ARGS] = found.groupdict()
                return handler
        return None

    async def _apply(self, fault: Fault, request: web.Request) -> web.StreamResponse | None:
        kind = fault.kind
        if kind == "latency":
            await asyncio.sleep(fault.seconds)
            return None
        if kind == "hang":
            await asyncio.sleep(min(fault.seconds, self.hang_cap))
            return None
        if kind == "auth":
            return self.auth_error()
        if kind == "permission":
            return self.permission_error()
        if kind == "ratelimit":
            return self.rate_limit_error()
        if kind == "http429":
            return web.Response(status=429, text="Too Many Requests")
        if kind == "http500":
            return web.Response(status=500, text="Internal Server Error")
        if kind == "http503":
            return web.Response(status=503, text="Service Unavailable")
        if kind == "malformed_json":
            body = '{"result": {"BTC": {"balance": "1.0", "hold'
            return web.Response(status=200, text=body, content_type="application/json")
        if kind == "html":
            status = fault.status or 502
            page = f"<html><head><title>{status} Error</title></head><body>cloudflare</body></html>"
            return web.Response(status=status, text=page, content_type="text/html")
        if kind == "body":
            text = fault.text if fault.text is not None else json.dumps(fault.payload)
            return web.Response(
                status=fault.status or 200, text=text, content_type="application/json"
            )
        if kind == "redirect":
            assert fault.location is not None, "a redirect needs a location"
            return web.Response(
                status=fault.status or 302,
                headers={"Location": fault.location},
                text='{"moved": true}',  # a JSON body: nothing but the status says "redirect"
                content_type="application/json",
            )
        if kind == "huge":
            return await self._stream_huge(fault, request)
        if kind == "truncated":
            body = json.dumps({"result": {"padding": "x" * 200}}).encode()
            response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
            response.content_length = len(body)
            await response.prepare(request)
            await response.write(body[: len(body) // 2])
            if request.transport is not None:
                request.transport.close()
            return response
        raise AssertionError(kind)  # pragma: no cover - guarded by inject()

    async def _stream_huge(self, fault: Fault, request: web.Request) -> web.StreamResponse:
        head = json.dumps(fault.payload or {})[:-1]
        head += (", " if head != "{" else "") + '"pad": "'
        pad = max(0, fault.size - len(head) - 2)
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        if fault.declare_length:
            response.content_length = len(head) + pad + 2
        await response.prepare(request)
        chunk = b"x" * 65536
        try:
            await response.write(head.encode())
            fault.sent += len(head)
            while pad > 0:
                piece = chunk[: min(pad, len(chunk))]
                await response.write(piece)
                fault.sent += len(piece)
                pad -= len(piece)
            await response.write(b'"}')
            fault.sent += 2
            await response.write_eof()
        except ConnectionError:  # the client stopped reading and closed the connection
            pass
        return response
