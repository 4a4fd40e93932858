"""ccxt and signing failures -> `AdapterError` with a connection status, in one place.

Imports ccxt only inside `to_adapter_error`, which only runs after a ccxt call failed.
Messages are short (one line, ~200 characters), without query strings, and redacted.
"""

from __future__ import annotations

import asyncio
import re
import traceback
from collections.abc import Iterable

from nija_balances.adapters.interface import AdapterError
from nija_balances.domain.models import Status
from nija_balances.domain.secrets import redact

MAX_MESSAGE = 200

# Exchange messages that mean "bad key or signature" whatever exception class ccxt picked
# (Binance's -1022 is a BadRequest on its spot URLs, an AuthenticationError elsewhere).
_AUTH_HINTS = (
    "signature for this request is not valid",
    "invalid api-key",
    "api-key format invalid",
    "invalid ok-access",
    "invalid sign",
    "invalid signature",
)

# Functions on the stack when ccxt turns the secret into a signature.
_SIGNING_FRAMES = frozenset(
    {"sign", "hmac", "jwt", "ecdsa", "eddsa", "rsa", "create_auth_token", "base64_to_binary"}
)
_KEY_FRAMES = frozenset({"jwt", "ecdsa", "eddsa", "rsa"})

# ccxt's HTTP status errors read "<id> <METHOD> <url> <status> <reason> <body>"
_HTTP_STATUS = re.compile(r"\s(?:GET|POST|PUT|DELETE|PATCH)\s\S+\s(\d{3})\s")
_URL_QUERY = re.compile(r"(https?://[^\s?]+)\?\S*")
_SPACES = re.compile(r"\s+")
# An HTML error page (a proxy's 502, a maintenance page) quoted in a message: only its title
_HTML_PAGE = re.compile(r"<(?:!doctype\s+html|html|head|body)\b.*", re.IGNORECASE | re.DOTALL)
_HTML_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def _without_html(text: str) -> str:
    page = _HTML_PAGE.search(text)
    if page is None:
        return text
    title = _HTML_TITLE.search(page.group(0))
    shown = re.sub(r"<[^>]*>", "", title[1]).strip() if title else ""
    return text[: page.start()] + (f"(an HTML page: {shown})" if shown else "(an HTML page)")


def clean_message(text: str, secrets: Iterable[str], limit: int = MAX_MESSAGE) -> str:
    """One short line: query strings and HTML pages dropped, secrets redacted, trimmed."""
    text = redact(text, secrets)
    text = _without_html(text)
    text = _URL_QUERY.sub(r"\1", text)
    text = _SPACES.sub(" ", text).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def _frames(exc: BaseException) -> set[str]:
    return {frame.name for frame in traceback.extract_tb(exc.__traceback__)}


def _number_parsing(exc: BaseException) -> bool:
    """Whether ccxt's decimal-string arithmetic raised (an amount that is not a number)."""
    return isinstance(exc, (ValueError, TypeError, ArithmeticError)) and any(
        frame.filename.endswith("precise.py") for frame in traceback.extract_tb(exc.__traceback__)
    )


def credential_problem(exc: BaseException) -> str | None:
    """What is wrong with the key when signing raised a plain Python error, else None."""
    if not isinstance(exc, (ValueError, TypeError)):
        return None
    frames = _frames(exc)
    if not frames & _SIGNING_FRAMES:
        return None
    if frames & _KEY_FRAMES:
        return "API secret is not a valid private key (expected the key's PEM block)"
    if "base64_to_binary" in frames or "b64decode" in frames:
        return "API secret is not valid base64"
    return f"API secret cannot be used to sign requests ({type(exc).__name__})"


def _cause_chain(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 8:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _network_reason(exc: BaseException) -> str | None:
    """Why a connection failed, from the errors ccxt chained (its message has only the URL)."""
    import aiohttp

    chain = _cause_chain(exc)[1:]
    reasons: tuple[tuple[type[BaseException], str], ...] = (
        (ConnectionRefusedError, "connection refused"),
        (ConnectionResetError, "connection reset"),
        (aiohttp.ClientConnectorDNSError, "host name not found"),
        (aiohttp.ClientConnectorCertificateError, "TLS certificate not trusted"),
        (aiohttp.ClientSSLError, "TLS handshake failed"),
        (aiohttp.ServerDisconnectedError, "server closed the connection"),
    )
    for kind, reason in reasons:
        if any(isinstance(cause, kind) for cause in chain):
            return reason
    return None


def to_adapter_error(
    exc: BaseException, exchange: str, secrets: Iterable[str], timeout: float | None = None
) -> AdapterError:
    """Map any failure of a ccxt call to an `AdapterError` whose message holds no secret."""
    secrets = tuple(secrets)
    if isinstance(exc, AdapterError):
        return AdapterError(exc.status, clean_message(exc.message, secrets))

    def fail(status: Status, message: str) -> AdapterError:
        return AdapterError(status, clean_message(message, secrets))

    detail = str(exc) or type(exc).__name__
    problem = credential_problem(exc)
    if problem is not None:
        return fail(Status.AUTH_FAILED, problem)

    from ccxt.base import errors

    if isinstance(exc, errors.PermissionDenied):
        return fail(Status.AUTH_FAILED, f"key lacks permission: {detail}")
    if isinstance(exc, errors.AuthenticationError):
        return fail(Status.AUTH_FAILED, f"key rejected: {detail}")
    status = _HTTP_STATUS.search(detail)
    if isinstance(exc, (errors.DDoSProtection, errors.RateLimitExceeded)) or (
        isinstance(exc, errors.BaseError) and status is not None and status[1] in ("418", "429")
    ):
        return fail(Status.RATE_LIMITED, f"rate limited: {detail}")
    if isinstance(exc, errors.RequestTimeout):
        # the same words as the service's own deadline: which of the two timers fires first
        # (they are set together) must not change the message
        within = f" within {timeout:g} s" if timeout else ""
        return fail(Status.TIMEOUT, f"no answer{within}")
    if isinstance(exc, errors.InvalidNonce):
        hint = "nonce rejected (is this API key used by another program at the same time?)"
        return fail(Status.ERROR, f"{hint}: {detail}")
    if isinstance(exc, errors.NetworkError):
        reason = _network_reason(exc)
        because = f" ({reason})" if reason else ""
        return fail(Status.UNREACHABLE, f"exchange unreachable: {detail}{because}")
    if isinstance(exc, errors.BaseError):
        if any(hint in detail.lower() for hint in _AUTH_HINTS):
            return fail(Status.AUTH_FAILED, f"key rejected: {detail}")
        import aiohttp

        if any(isinstance(e, aiohttp.ClientPayloadError) for e in _cause_chain(exc)):
            return fail(Status.UNREACHABLE, f"response cut short: {detail}")
        if any(isinstance(e, aiohttp.ClientError) for e in _cause_chain(exc)):
            return fail(Status.UNREACHABLE, f"connection failed: {detail}")
        return fail(Status.ERROR, detail)
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        within = f" within {timeout:g} s" if timeout else ""
        return fail(Status.TIMEOUT, f"no answer{within}")
    if _number_parsing(exc):
        return fail(Status.ERROR, f"{exchange} reported a non-numeric amount ({detail})")
    if isinstance(exc, ConnectionError):
        return fail(Status.UNREACHABLE, f"exchange unreachable: {detail}")
    return fail(Status.ERROR, f"unexpected answer from {exchange}: {type(exc).__name__}: {detail}")
