"""Plumbing shared by every `CcxtAdapter` that holds no adapter state: the process's one SSL
context, the per-event-loop request slots of each exchange, gather-or-cancel, cheap clones of
ccxt instances, `GuardedSession`, the HTTP session every ccxt instance sends through, and
the filter that keeps ccxt's request logging free of secrets. ccxt and aiohttp are not
imported here.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import importlib
import logging
import ssl
import sys
import threading
import weakref
from collections.abc import Awaitable, Mapping
from functools import cache
from types import TracebackType
from typing import Any
from urllib.parse import urljoin, urlsplit

from nija_balances.adapters.interface import AdapterError
from nija_balances.domain.models import Status

_SLOTS: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[tuple[str, int], asyncio.Semaphore]
] = weakref.WeakKeyDictionary()


@cache
def shared_ssl_context() -> ssl.SSLContext:
    """The one SSL context of the process (ccxt's default: certifi's CA bundle)."""
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


def clone_instance(template: Any) -> Any:
    """A copy of a keyless, never-opened ccxt instance, to be given another key.

    ccxt's constructor costs ~1-2 ms CPU and ~100-200 kB per instance (it deep-merges the
    exchange's whole description, then walks `dir()` of the instance); a clone costs a few
    tens of microseconds. Every container attribute is copied at its top level, `options`
    two levels down: ccxt keeps per-key state there (`lastNonce`, `timeDifference`) and
    writes one level into it at most (`options[a][b] = ...`: caches of the exchange's own
    data). A deep copy of `options` (~400 objects) was most of a clone's cost. The nested
    description (api, urls, fees, ...) is shared read-only. The clone gets its own rate
    limiter; it keeps the template's `origin` (an id ccxt sends only through a CORS proxy).
    """
    plan = _CLONE_PLANS.get(template)
    if plan is None:
        plan = _CLONE_PLANS[template] = _clone_plan(template)
    containers, option_containers = plan
    clone = copy.copy(template)
    attributes = vars(clone)
    for name in containers:
        attributes[name] = _copy(attributes[name])
    options = attributes["options"] = _copy(template.options)
    for name in option_containers:
        options[name] = _copy(options[name])
    clone.init_throttler()
    return clone


_CLONE_PLANS: weakref.WeakKeyDictionary[Any, tuple[list[str], list[str]]] = (
    weakref.WeakKeyDictionary()
)


def _clone_plan(template: Any) -> tuple[list[str], list[str]]:
    """The container attributes of `template` (but `options`) and the container options."""
    containers = [
        name
        for name, value in vars(template).items()
        if name != "options" and isinstance(value, (dict, list))
    ]
    options = [k for k, v in template.options.items() if isinstance(v, (dict, list))]
    return containers, options


def _copy(value: Any) -> Any:
    return value.copy() if type(value) in (dict, list) else copy.copy(value)


_frozen = False


def freeze_imports() -> None:
    """Exempt what exists now (ccxt's import: ~100 MB of objects) from the cyclic garbage
    collector, once per process: every collection of the oldest generation walked it again
    (30% of the CPU of a refresh of 1,000 connections). Those objects are still freed by
    reference counting; a cycle among them stays until exit."""
    global _frozen
    if not _frozen:
        import gc

        gc.freeze()
        _frozen = True


async def import_in_thread(module: str) -> None:
    """Import `module` in a daemon thread, the event loop free meanwhile (a daemon thread:
    an interrupted process does not wait for it)."""
    if module in sys.modules:
        freeze_imports()
        return
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def settle(error: BaseException | None) -> None:
        if done.done():
            return
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)

    def run() -> None:
        error: BaseException | None = None
        try:
            importlib.import_module(module)
        except BaseException as exc:
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
            loop.call_soon_threadsafe(settle, error)

    threading.Thread(target=run, name=f"import {module}", daemon=True).start()
    await done
    freeze_imports()


async def gather_or_cancel(*aws: Awaitable[Any]) -> list[Any]:
    """`asyncio.gather`, except that a failure cancels the others: none is left running."""
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def request_slots(exchange: str, limit: int) -> asyncio.Semaphore:
    """The semaphore capping requests in flight to `exchange` in the running event loop."""
    loop = asyncio.get_running_loop()
    per_loop = _SLOTS.setdefault(loop, {})
    key = (exchange, max(1, limit))
    if key not in per_loop:
        per_loop[key] = asyncio.Semaphore(key[1])
    return per_loop[key]


# --------------------------------------------------------------------------- the HTTP session

_REDIRECTS = frozenset({301, 302, 303, 307, 308})

#: The largest answer read, in bytes (after decompression). The largest answers are market
#: lists: Binance's spot `exchangeInfo` is the biggest of the exchanges served here, about
#: 3,000 symbols at 2-5 kB each (filters, permission sets) = some 6-15 MB; OKX's spot
#: instruments, Coinbase's products and Kraken's AssetPairs are 1-3 MB; a balance is
#: kilobytes. 32 MiB is twice the largest estimate, and bounds what one answer costs in memory
#: (the bytes, the text and ccxt's parsed JSON: some 10x the body) to a few hundred MB.
MAX_BODY = 32 * 2**20
_CHUNK = 64 * 1024


def _size(n: int) -> str:
    if n % 2**20 == 0:
        return f"{n // 2**20} MiB"
    if n % 1024 == 0:
        return f"{n // 1024} KiB"
    return f"{n} bytes"


def _origin(url: str) -> str:
    """`scheme://host:port` of `url`: no userinfo, path or query."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}" if parts.scheme and host else "an address without a host"


class _ReadResponse:
    """An answer whose body is already read: what ccxt's `fetch` reads of an aiohttp response
    (`status`, `reason`, `headers`, `text()`), the body held as bytes."""

    def __init__(self, response: Any, body: bytes) -> None:
        self.status: int = response.status
        self.reason: str | None = response.reason
        self.headers: Mapping[str, str] = response.headers
        self.url = response.url
        self.charset: str | None = response.charset
        self.content = body  # ccxt returns `content` for a body it cannot read as text

    async def read(self) -> bytes:
        return self.content

    async def text(self, encoding: str | None = None, errors: str = "strict") -> str:
        return self.content.decode(encoding or self.charset or "utf-8", errors=errors)


class _GuardedRequest:
    """`async with session.get(...) as response` for `GuardedSession`."""

    def __init__(self, guard: GuardedSession, method: str, url: Any, kwargs: dict[str, Any]):
        self._guard, self._method, self._url, self._kwargs = guard, method, url, kwargs
        self._response: Any = None

    async def __aenter__(self) -> _ReadResponse:
        guard = self._guard
        kwargs = {**self._kwargs, "allow_redirects": False}
        response = await guard.session.request(self._method, self._url, **kwargs)
        self._response = response
        try:
            if response.status in _REDIRECTS:
                url = str(self._url)
                target = response.headers.get("Location")
                where = f"redirect to {_origin(urljoin(url, target))}" if target else "redirect"
                raise AdapterError(
                    Status.UNREACHABLE,
                    f"exchange unreachable: {guard.exchange} {self._method} {url} "
                    f"{response.status} {where}, not followed",
                )
            body = await self._read(response)
        except BaseException:
            response.close()
            raise
        return _ReadResponse(response, body)

    async def _read(self, response: Any) -> bytes:
        """The body, read in chunks up to the cap; a larger one fails before it is all read."""
        cap = self._guard.max_body
        declared = response.content_length
        body = bytearray()
        if declared is None or declared <= cap:
            async for chunk in response.content.iter_chunked(_CHUNK):
                body += chunk
                if len(body) > cap:
                    break
        if len(body) > cap or (declared is not None and declared > cap):
            raise AdapterError(
                Status.ERROR,
                f"answer larger than {_size(cap)}, not read: "
                f"{self._guard.exchange} {self._method} {self._url}",
            )
        return bytes(body)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._response is not None:
            self._response.release()


class GuardedSession:
    """The aiohttp session a ccxt instance sends every request through, guarded.

    - A redirect is never followed (aiohttp would follow it with every header ccxt set,
      `API-Key` and `API-Sign` included, and on a 307 re-send the signed body with its unused
      nonce, to whatever host it names): it fails the request, `unreachable`, naming only the
      target's scheme, host and port.
    - A body is read in chunks up to `MAX_BODY` (aiohttp would read any size into memory); a
      larger one fails the request, `error`, and the connection is dropped unread.

    ccxt calls `session.<method>(url, data=, headers=, timeout=, proxy=)` and reads `status`,
    `reason`, `headers` and `text()` of the answer; anything else it reads of the session
    (`headers`, ...) is the wrapped session's.
    """

    def __init__(self, session: Any, exchange: str, max_body: int | None = None) -> None:
        self.session = session
        self.exchange = exchange
        self.max_body = MAX_BODY if max_body is None else max_body

    def __getattr__(self, name: str) -> Any:
        return getattr(self.session, name)

    @property
    def closed(self) -> bool:
        return bool(self.session.closed)

    async def close(self) -> None:
        await self.session.close()

    def request(self, method: str, url: Any, **kwargs: Any) -> _GuardedRequest:
        return _GuardedRequest(self, method.upper(), url, kwargs)

    def get(self, url: Any, **kwargs: Any) -> _GuardedRequest:
        return self.request("GET", url, **kwargs)

    def post(self, url: Any, **kwargs: Any) -> _GuardedRequest:
        return self.request("POST", url, **kwargs)

    def put(self, url: Any, **kwargs: Any) -> _GuardedRequest:
        return self.request("PUT", url, **kwargs)

    def delete(self, url: Any, **kwargs: Any) -> _GuardedRequest:
        return self.request("DELETE", url, **kwargs)

    def patch(self, url: Any, **kwargs: Any) -> _GuardedRequest:
        return self.request("PATCH", url, **kwargs)

    def head(self, url: Any, **kwargs: Any) -> _GuardedRequest:
        return self.request("HEAD", url, **kwargs)

    def options(self, url: Any, **kwargs: Any) -> _GuardedRequest:
        return self.request("OPTIONS", url, **kwargs)


# --------------------------------------------------------------------------- ccxt's logging

#: The loggers ccxt logs through (`Exchange.logger` is `ccxt.base.exchange` by default).
CCXT_LOGGERS = ("ccxt", "ccxt.base.exchange")


def _bare_url(url: str) -> str:
    """`url` without userinfo, query or fragment."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}{parts.path}" if parts.scheme else url.split("?")[0]


class WireLogFilter(logging.Filter):
    """ccxt logs every request at DEBUG with its headers and body (`API-Key`, `API-Sign`, a
    bearer token, the nonce) and every answer with its body (which may echo them): such a
    record keeps the method, the URL without its query or userinfo, and the HTTP status."""

    def filter(self, record: logging.LogRecord) -> bool:
        template = str(record.msg)
        if "Request:" not in template and "Response:" not in template:
            return True
        args = record.args if isinstance(record.args, tuple) else ()
        method = str(args[0]) if args else "?"
        url = _bare_url(str(args[1])) if len(args) > 1 else "?"
        if "Response:" in template:
            status = args[2] if len(args) > 2 else "?"
            record.msg, record.args = "%s %s answered %s", (method, url, status)
        else:
            record.msg, record.args = "%s %s", (method, url)
        return True


def quiet_ccxt_logging() -> logging.Logger:
    """Put `WireLogFilter` on ccxt's loggers (once); the logger to give ccxt instances."""
    for name in CCXT_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, WireLogFilter) for f in logger.filters):
            logger.addFilter(WireLogFilter())
    return logging.getLogger(CCXT_LOGGERS[-1])
