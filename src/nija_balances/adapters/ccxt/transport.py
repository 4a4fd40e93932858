"""Plumbing shared by every `CcxtAdapter` that holds no adapter state: the process's one SSL
context, the per-event-loop request slots of each exchange, gather-or-cancel, and cheap
clones of ccxt instances. ccxt and aiohttp are not imported here.
"""

from __future__ import annotations

import asyncio
import copy
import ssl
import weakref
from collections.abc import Awaitable
from functools import cache
from typing import Any

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
    exchange's whole description, then walks `dir()` of the instance); a clone costs ~0.1 ms.
    Every container attribute is copied at its top level, `options` all the way down (ccxt
    writes into it at run time); the nested description (api, urls, fees, ...) is shared
    read-only. The clone gets its own rate limiter.
    """
    clone = copy.copy(template)
    for name, value in vars(template).items():
        if name == "options":
            setattr(clone, name, copy.deepcopy(value))
        elif isinstance(value, (dict, list)):
            setattr(clone, name, copy.copy(value))
    clone.origin = clone.uuid()
    clone.init_throttler()
    return clone


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
